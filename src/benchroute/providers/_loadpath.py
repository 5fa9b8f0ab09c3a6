"""The send path of load tests: the same requests over and over, as cheaply as possible.

A load generator must not be the bottleneck, so it cannot afford what an eval does per
request (build and validate a pydantic request, serialise it, parse the reply into a
:class:`Completion`), nor a general-purpose HTTP client: measured here, aiohttp's client
alone cost ~0.1 ms of CPU per request, which capped one process near 10,000 requests/s.
A :class:`LoadSender` is prepared once with a stress suite's requests. An adapter that
offers ``load_sender(requests)`` (the OpenAI-compatible one does) gets a
:class:`ChatCompletionsSender`; any other provider gets :class:`CompletionSender`, which
calls its ordinary ``complete()``. Ordinary eval runs never use this module: they keep the
shared aiohttp session.

:class:`ChatCompletionsSender` speaks HTTP/1.1 itself, over a pool of keep-alive
connections, each an :class:`asyncio.Protocol` (plain TCP or TLS) with one request in
flight at a time:

- every request is one pre-built ``bytes`` object (request line, headers, body), written
  with a single ``transport.write``; nothing is formatted per request;
- replies are parsed by ``httptools`` (llhttp, in C), which handles Content-Length and
  chunked bodies; the sender looks only at what a load test needs: the status, the body of
  a non-2xx reply (for the same :func:`http_error` an eval raises, ``Retry-After``
  included), that a 2xx reply is a chat completion (valid JSON with a non-empty
  ``choices`` list), and for streamed replies the time to
  the first token (events are parsed only until it arrives) and the closing ``[DONE]``;
- a failed connect is a ``connection`` error, a connection lost mid-reply a
  ``server_error``, an unparsable reply ``malformed_reply``; a timeout is the caller's
  (the load's ``asyncio.timeout``), and a request cut off by it closes its connection;
- a pooled connection the server closed while idle is noticed before it is reused; if one
  dies in the instant between reuse and reply (no byte of the reply seen), the request is
  sent once more on a fresh connection, which is what browsers and aiohttp's keep-alive
  handling do too.

The key travels in the prepared headers and nowhere else: no error message, repr or log
line built here includes a header value or the request bytes.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import httptools
from multidict import CIMultiDict

from .._version import __version__
from ._http import http_error, loads_object, malformed
from ._openai import parse_usage
from ._types import CompletionRequest, Provider, ProviderError, Usage


class UsageTally:
    """Token usage summed over a load's replies that reported any (see :meth:`add`)."""

    __slots__ = (
        "cache_write_tokens",
        "cached_input_tokens",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "replies",
    )

    def __init__(self) -> None:
        self.replies = 0
        self.input_tokens = self.output_tokens = self.cached_input_tokens = 0
        self.cache_write_tokens = self.reasoning_tokens = 0

    def add(self, usage: Usage) -> None:
        if not usage.input_tokens and not usage.output_tokens:
            return  # the reply reported no usage: it is counted as unpriced, not as free
        self.replies += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cached_input_tokens += usage.cached_input_tokens
        self.cache_write_tokens += usage.cache_write_tokens
        self.reasoning_tokens += usage.reasoning_tokens

    def mean(self) -> Usage:
        """The usage of an average reply (rounded to whole tokens)."""
        n = max(1, self.replies)
        return Usage(
            input_tokens=round(self.input_tokens / n),
            output_tokens=round(self.output_tokens / n),
            cached_input_tokens=round(self.cached_input_tokens / n),
            cache_write_tokens=round(self.cache_write_tokens / n),
            reasoning_tokens=round(self.reasoning_tokens / n),
        )


class LoadSender(Protocol):
    """Sends the prepared requests of a load test; ``usage`` sums what the replies reported."""

    usage: UsageTally

    async def send(self, index: int) -> float | None:
        """Send prepared request ``index`` (modulo their number). Returns the time to first
        token in ms (streamed replies) or None; raises :class:`ProviderError`."""
        ...


class CompletionSender:
    """The fallback: any provider's ``complete()``."""

    def __init__(self, provider: Provider, requests: Sequence[CompletionRequest]) -> None:
        if not requests:
            raise ValueError("a load test needs at least one request")
        self._provider = provider
        self._requests = list(requests)
        self.usage = UsageTally()

    async def send(self, index: int) -> float | None:
        completion = await self._provider.complete(self._requests[index % len(self._requests)])
        self.usage.add(completion.usage)
        return completion.ttft_ms


class _Dropped(Exception):
    """The connection ended before the reply did; ``seen`` tells whether any of it came."""

    def __init__(self, seen: bool, cause: BaseException | None) -> None:
        super().__init__("connection dropped")
        self.seen = seen
        self.cause = cause


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; one exchange at a time (see module doc)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.reusable = False  # set when an exchange finished cleanly on a keep-alive reply
        self.used = False
        self.waiter: asyncio.Future[float | None] | None = None
        self.stream = False
        self.started = 0.0
        self.seen = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.first: float | None = None
        self.pending = b""  # a streamed event line not yet complete
        # The last bytes of a stream (at least _TAIL_BYTES once that much came): the usage
        # event and [DONE] are there. Trimmed only when it doubles: O(1) per byte received.
        self.tail = bytearray()
        self.usage: object = None  # the reply's "usage" object, when it had one

    # asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.seen = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(error=malformed(self.where, f"not an HTTP/1.1 reply ({type(exc).__name__})"))
            self.abort()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if exc is None and self.status and waiter is not None and not waiter.done() and not self._framed():
            self.on_message_complete()  # a reply without Content-Length or chunks ends at EOF
        self.reusable = False
        if waiter is not None and not waiter.done():
            waiter.set_exception(_Dropped(self.seen, exc))

    def _framed(self) -> bool:
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" in names or b"transfer-encoding" in names

    # httptools callbacks ---------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, data: bytes) -> None:
        if self.stream and 200 <= self.status < 300:
            tail = self.tail
            tail += data
            if len(tail) > 2 * _TAIL_BYTES:
                del tail[:-_TAIL_BYTES]
            if self.first is None:
                self._scan_events(data)
        else:
            self.body.append(data)

    def on_message_complete(self) -> None:
        self.reusable = self.parser.should_keep_alive()
        status = self.status
        if not 200 <= status < 300:
            raw = b"".join(self.body)
            headers = CIMultiDict(
                (name.decode("latin-1"), value.decode("latin-1")) for name, value in self.headers
            )
            self._finish(error=http_error(status, raw, headers, self.where))
        elif self.stream:
            if b"[DONE]" in self.tail:
                self.usage = _stream_usage(bytes(self.tail))
                self._finish(self.first)
            else:
                self._finish(
                    error=ProviderError(
                        f"{self.where}: the stream ended before [DONE] (cut mid-reply)", kind="server_error"
                    )
                )
        else:
            raw = self.body[0] if len(self.body) == 1 else b"".join(self.body)
            # The whole body is parsed (~3 us for a short reply): a 200 whose JSON is cut off
            # or has no choice is a malformed reply, not a success.
            try:
                body = loads_object(raw, self.where)
            except ProviderError as exc:
                self._finish(error=exc)
                return
            choices = body.get("choices")
            if isinstance(choices, list) and choices:
                self.usage = body.get("usage")
                self._finish(None)
            else:
                detail = f"no 'choices' in the reply (keys: {sorted(body)[:5]})"
                self._finish(error=malformed(self.where, detail, raw))

    # the exchange ------------------------------------------------------------------------
    def begin(self, request: bytes, stream: bool, waiter: asyncio.Future[float | None]) -> None:
        self.waiter = waiter
        self.stream = stream
        self.started = time.perf_counter()
        self.seen = False
        self.status = 0
        self.reusable = False
        if self.headers:
            self.headers = []
        if self.body:
            self.body = []
        self.first = None
        self.pending = b""
        self.tail = bytearray()
        self.usage = None
        assert self.transport is not None
        self.transport.write(request)

    def _finish(self, result: float | None = None, error: ProviderError | None = None) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(result)

    def _scan_events(self, data: bytes) -> None:
        """Read server-sent events until one carries content (a role-only first event is
        not a token); the time of that one is the TTFT."""
        lines = (self.pending + data).split(b"\n")
        self.pending = lines.pop()
        for line in lines:
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                return
            try:
                chunk = loads_object(payload, self.where)
            except ProviderError as exc:
                self._finish(error=exc)
                self.abort()
                return
            for choice in chunk.get("choices") or []:
                delta = (choice.get("delta") or {}) if isinstance(choice, dict) else {}
                if isinstance(delta, dict) and (delta.get("content") or delta.get("tool_calls")):
                    self.first = (time.perf_counter() - self.started) * 1000
                    self.pending = b""
                    return

    def abort(self) -> None:
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()


# How much of a stream's end is kept: the closing usage event (stream_options.include_usage)
# and [DONE] must fit in it.
_TAIL_BYTES = 4096


def _stream_usage(tail: bytes) -> object:
    """The ``usage`` object of the last event in a stream's tail that has one, else None."""
    at = tail.rfind(b'"usage"')
    if at < 0:
        return None
    start = tail.rfind(b"data:", 0, at)
    end = tail.find(b"\n", at)
    if start < 0 or end < 0:
        return None
    try:
        event = json.loads(tail[start + 5 : end])
    except ValueError:
        return None
    return event.get("usage") if isinstance(event, dict) else None


def _request_bytes(method_target: str, host: str, headers: Mapping[str, str], body: bytes) -> bytes:
    lines = [f"POST {method_target} HTTP/1.1", f"Host: {host}", f"User-Agent: benchroute/{__version__}"]
    for name, value in headers.items():
        if name.lower() in {"host", "content-length", "transfer-encoding", "connection"}:
            continue
        if any(c in name or c in str(value) for c in "\r\n"):
            raise ValueError(f"header {name!r}: a line break is not allowed in an HTTP header")
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ChatCompletionsSender:
    """Prepared bodies POSTed to an OpenAI-compatible ``/chat/completions`` endpoint over
    a pool of keep-alive connections (see module doc)."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        bodies: Sequence[dict[str, object]],
        where: str,
        max_connections: int | None = None,
    ) -> None:
        if not bodies:
            raise ValueError("a load test needs at least one request")
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{where}: a load test needs an http:// or https:// URL")
        secure = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if secure else 80)
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if secure else None
        default_port = parts.port is None or parts.port == (443 if secure else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        authority = host if default_port else f"{host}:{self._port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._requests = [
            _request_bytes(target, authority, headers, json.dumps(body).encode()) for body in bodies
        ]
        self._stream = [body.get("stream") is True for body in bodies]
        self._count = len(self._requests)
        self._where = where
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        # With a cap, a request finding every connection busy waits for one to be handed
        # over (or for a slot to open) instead of opening another: fewer connections keep
        # a fast server's per-request cost low. The wait counts in the request's latency.
        self._max_connections = max_connections
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()
        self._opening = 0  # connections being opened: they count against the cap already
        self.usage = UsageTally()

    async def send(self, index: int) -> float | None:
        slot = index % self._count
        request, stream = self._requests[slot], self._stream[slot]
        idle = self._idle
        conn: _Connection | None = None
        while idle:
            candidate = idle.pop()
            if not candidate.closed:
                conn = candidate
                break
        cap = self._max_connections
        if conn is None and cap is not None and len(self._open) + self._opening >= cap:
            conn = await self._wait_for_connection()
        if conn is None:
            conn = await self._connect()
        try:
            return await self._exchange(conn, request, stream)
        except _Dropped as dropped:
            if dropped.seen or not conn.used:
                raise self._dropped_error(dropped) from None
        # A reused connection died before any of the reply: the server had closed it.
        conn = await self._connect()
        try:
            return await self._exchange(conn, request, stream)
        except _Dropped as dropped:
            raise self._dropped_error(dropped) from None

    async def _exchange(self, conn: _Connection, request: bytes, stream: bool) -> float | None:
        waiter: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        conn.begin(request, stream, waiter)
        try:
            result = await waiter
        except ProviderError:
            self._release(conn)
            raise
        except BaseException:  # cancelled (timeout, interrupt) or dropped: never reused
            conn.abort()
            self._open.discard(conn)
            self._hand_over(None)
            raise
        if conn.usage is not None:
            self.usage.add(parse_usage(conn.usage))
        self._release(conn)
        return result

    async def _wait_for_connection(self) -> _Connection | None:
        """A connection handed over by a finished request, or None: a slot opened, connect."""
        waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed over just as we were cancelled
                handed = waiter.result()
                if handed is not None:
                    self._release(handed)
                else:
                    self._hand_over(None)
            raise

    def _hand_over(self, conn: _Connection | None) -> bool:
        """Give ``conn`` (None: a free slot) to the longest-waiting request, if any."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    def _release(self, conn: _Connection) -> None:
        conn.waiter = None
        if conn.reusable and not conn.closed:
            conn.used = True
            if not self._hand_over(conn):
                self._idle.append(conn)
        else:
            conn.abort()
            self._open.discard(conn)
            self._hand_over(None)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        where = self._where
        self._opening += 1
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(where),
                self._host,
                self._port,
                ssl=self._ssl,
                server_hostname=self._host if self._ssl is not None else None,
            )
        except BaseException as exc:
            self._opening -= 1
            self._hand_over(None)  # the slot is free again: a waiting request may try
            if not isinstance(exc, OSError):
                raise
            raise ProviderError(
                f"{where}: cannot connect ({exc.strerror or exc})",
                kind="connection",
                hint="check base_url in benchroute.yaml and that the server is running",
            ) from None
        self._opening -= 1
        self._open.add(conn)
        return conn

    def _dropped_error(self, dropped: _Dropped) -> ProviderError:
        cause = f": {dropped.cause}" if dropped.cause is not None else ""
        return ProviderError(
            f"{self._where}: connection dropped mid-reply (server disconnected{cause})", kind="server_error"
        )

    def close(self) -> None:
        """Close every connection (the load is over)."""
        for conn in list(self._open):
            conn.abort()
        self._open.clear()
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.cancel()


def prepare_load_sender(
    provider: Provider, requests: Sequence[CompletionRequest], max_connections: int | None = None
) -> LoadSender:
    """The leanest sender ``provider`` offers for ``requests``, with at most
    ``max_connections`` connections when the sender pools its own."""
    factory = getattr(provider, "load_sender", None)
    if callable(factory):
        sender: LoadSender = factory(list(requests), max_connections)
        return sender
    return CompletionSender(provider, requests)


def close_load_sender(sender: LoadSender) -> None:
    """Release what ``sender`` holds (its connections), if it holds anything."""
    close: Any = getattr(sender, "close", None)
    if callable(close):
        close()
