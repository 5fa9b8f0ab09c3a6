"""A fake OpenAI-compatible and Anthropic Messages server that really speaks HTTP.

Tests of HTTP clients are only worth something if the bytes cross a socket: connection
pools, timeouts, SSE parsing and retries all live below any function one could patch. So
:class:`FakeServer` is a real :mod:`aiohttp.web` server bound to loopback on a free port.
It runs its event loop in a daemon thread, which lets synchronous test code start it with
``with FakeServer() as srv:`` and lets asynchronous clients in the test's own event loop
talk to it without the two loops ever sharing anything but the socket.

What the server answers is decided per request, in this order:

1. the request is recorded (so faulted and refused requests are visible to assertions);
2. refusals a real gateway makes before any model runs, answered at once: a wrong API key
   (401), a malformed body (400), the model ``does-not-exist`` (404), the server-side token
   bucket (429), and the ``rate_limit`` and ``auth`` faults;
3. ``latency`` seconds pass (the model "thinks"), then backend faults (500, malformed or
   garbage bodies, cut connections) are answered; a ``hang`` fault sleeps and then falls
   through to a normal answer;
4. the reply comes from the model's script queue, else the reply scripted for an attachment
   the request carries (:meth:`FakeServer.answer_attachments`, by SHA-256 of its bytes;
   malformed attachments were refused with a 400 in step 2), else its active scripted version's
   recorded replies (:meth:`FakeServer.add_version`; the version also sets the reported
   ``model`` and ``system_fingerprint``), else the exact-prompt ``answers`` map, else
   ``responder`` (default: echo the last user message).

State shared with the test thread (scripts, answers, faults, the rate limiter, the record)
sits behind one :class:`threading.Lock` that is held only for dictionary-sized work, never
across an ``await``. The handler is kept lean (no logging, no access log, one
``json.loads`` and one ``json.dumps``) because benchmarks use this server as the far end
and it must not be what they measure. The event loop is uvloop's when it is installed.

A server that records nothing (``max_recorded=0``, as ``python -m benchroute.testing``
runs) also *replays*: a non-streamed OpenAI answer that came from the ``answers`` map or
the default echo responder is a pure function of the request body, so it is remembered by
the exact body bytes, and the same bytes are answered again without parsing or rendering
anything: the remembered reply gets a fresh ``id`` number and ``created`` time spliced in
and the counters move as they would. Replay happens only while nothing else could change
the answer (no latency, faults, rate limit, queued script, custom responder; the same
answers map, suffix and key; the key is still checked); otherwise the full path runs.
A load test repeats a few bodies thousands of times a second, and this took the
server's CPU per request from ~0.07 to ~0.04 ms here.

Each record's ``status`` is written before the response leaves, so once a client holds a
response the matching :class:`RecordedRequest` is complete. A request still in flight, or
one whose client went away before it was answered, shows ``status`` 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self

from aiohttp import web

from .._eventloop import run as run_loop
from ._faults import Fault, SlidingWindow, TokenBucket, format_seconds, pick_fault
from ._media import Attachment, attachment_tokens, check_attachments
from ._wire import (
    ANTHROPIC,
    OPENAI,
    Answer,
    Dialect,
    last_user_text,
    normalise_tool_calls,
    prompt_tokens,
    truncate_words,
    word_count,
)

__all__ = ["FakeServer", "ModelVersion", "RecordedRequest", "Reply", "Responder"]

Responder = Callable[[str, list[dict[str, Any]]], "str | Reply"]
"""``(model, messages) -> reply``; messages are OpenAI-shaped (Anthropic's system first)."""

MISSING_MODEL: Final = "does-not-exist"
_JSON: Final = "application/json"
_SSE_HEADERS: Final = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
# The replay fast path: the start of every OpenAI chat completion as Dialect.render spells
# it, around the two fields that change per request (id number, created).
_MEMO_HEAD: Final = b'{"id":"' + OPENAI.id_prefix.encode()
_MEMO_MIDDLE: Final = b'","object":"chat.completion","created":'
_MEMO_ENTRIES: Final = 4096
_MEMO_MAX_BODY: Final = 64 * 1024
# Long enough for an in-flight answer to finish, short enough that stop() with a hung
# request does not stall a test suite.
_SHUTDOWN_GRACE: Final = 0.25


@dataclass(frozen=True, slots=True)
class Reply:
    """A scripted answer. ``body`` (if set) is sent verbatim with ``status`` and ``headers``;
    a ``status`` >= 400 without ``body`` sends the API's error JSON with ``text`` as message.
    ``usage`` may set ``prompt_tokens``/``input_tokens``, ``completion_tokens``/
    ``output_tokens`` and ``cached_tokens`` instead of the computed counts."""

    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    tool_calls: list[dict[str, Any]] | None = None
    usage: dict[str, Any] | None = None
    body: str | None = None


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One scripted version of a model (see :meth:`FakeServer.add_version`): the ``model``
    and ``system_fingerprint`` its replies report, and the replies recorded for it: an
    exact-prompt ``answers`` map (whitespace-stripped keys), else ``responder``, else the
    server's own answers and responder."""

    name: str
    served_model: str
    system_fingerprint: str
    answers: Mapping[str, str] = field(default_factory=dict)
    responder: Responder | None = None


@dataclass(frozen=True, slots=True)
class _Memo:
    """A non-streamed answer remembered by the exact request body bytes: ``rest`` is the
    rendered reply after its ``created`` value. Valid while the answers map (by identity),
    suffix and key it was made under are still the server's."""

    model: str
    answers: dict[str, str]
    suffix: str
    api_key: str | None
    rest: bytes


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server saw it. Header values are never kept, only whether an
    ``Authorization`` or ``x-api-key`` header was present."""

    time: float
    path: str
    model: str | None
    body: dict[str, Any] | None
    status: int
    authorization: bool
    attachments: tuple[Attachment, ...] = ()  # images, PDFs and audio the request carried


class _Entry:
    """The mutable record behind a :class:`RecordedRequest` while it is being answered."""

    __slots__ = ("attachments", "authorization", "body", "generation", "model", "path", "status", "time")

    def __init__(
        self,
        arrived: float,
        path: str,
        model: str | None,
        body: dict[str, Any] | None,
        authorization: bool,
        generation: int,
    ) -> None:
        self.time = arrived
        self.path = path
        self.model = model
        self.body = body
        self.status = 0
        self.authorization = authorization
        self.generation = generation
        self.attachments: list[Attachment] = []

    def freeze(self) -> RecordedRequest:
        return RecordedRequest(
            self.time,
            self.path,
            self.model,
            self.body,
            self.status,
            self.authorization,
            tuple(self.attachments),
        )


def echo_last_user_message(model: str, messages: list[dict[str, Any]]) -> str:
    """The default responder."""
    return last_user_text(messages)


class FakeServer:
    """A loopback HTTP server speaking the OpenAI and Anthropic chat APIs (see module doc).

    ``max_recorded`` bounds :attr:`requests` to the newest N requests (``None``: keep all;
    the ``/_stats`` counters always count everything), for long benchmark runs.
    """

    def __init__(
        self,
        latency: float = 0.0,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        served_model_suffix: str = "",
        *,
        max_recorded: int | None = None,
    ) -> None:
        self.latency = latency
        self.api_key = api_key
        self.host = host
        self.port = port
        self.served_model_suffix = served_model_suffix
        self.responder: Responder = echo_last_user_message
        self._lock = threading.Lock()
        self._entries: deque[_Entry] = deque(maxlen=max_recorded)
        self._generation = 0
        self._total = 0
        self._by_status: dict[int, int] = {}
        self._by_model: dict[str, int] = {}
        self._seen_models: set[str] = set()
        self._scripts: dict[str, deque[Reply]] = {}
        self._answers: dict[str, str] = {}
        self._attachment_answers: dict[tuple[str | None, str], Reply] = {}  # (model, sha256) -> reply
        self._versions: dict[str, dict[str, ModelVersion]] = {}  # model -> name -> version
        self._active: dict[str, ModelVersion] = {}  # model -> the version it serves now
        self._faults: list[Fault] = []
        self._bucket: TokenBucket | SlidingWindow | None = None
        self._ids = itertools.count(1)
        self._memo: dict[bytes, _Memo] = {}
        self._bound_port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Serve from a daemon thread; returns once the socket is listening."""
        if self._thread is not None:
            raise RuntimeError("FakeServer is already running")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                run_loop(self.serve(on_ready=ready.set))
            except BaseException as exc:  # reported to start(), which re-raises it
                failure.append(exc)
            finally:
                ready.set()

        thread = threading.Thread(target=run, name="benchroute-fake-server", daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._thread = thread
        return self

    def stop(self) -> None:
        """Stop serving (in-flight requests get a short grace period); idempotent.

        Also ends a :meth:`serve` running in some other event loop.
        """
        loop, stop_event = self._loop, self._stop_event
        if loop is not None and stop_event is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop_event.set)
        thread, self._thread = self._thread, None
        # A responder calling stop() runs on the server thread, which cannot join itself.
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def serve(
        self,
        on_ready: Callable[[], None] | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Serve in the running event loop until ``stop`` is set or :meth:`stop` is called.

        :meth:`start` runs this in a thread; async code (and the command line) may await it
        directly to keep the server in its own loop. ``on_ready`` runs once it listens.
        """
        self._loop = asyncio.get_running_loop()
        self._stop_event = stop if stop is not None else asyncio.Event()
        # Prompts for long-context benchmarks exceed aiohttp's 1 MiB default body limit.
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/_stats", self._stats)
        app.router.add_post("/_reset", self._reset)
        # handler_cancellation: a client that gives up on a hung request frees the handler
        # instead of leaving it sleeping until shutdown.
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_GRACE,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
            self._bound_port = int(runner.addresses[0][1])
            self._site: web.TCPSite | None = site
            self._runner = runner
            if on_ready is not None:
                on_ready()
            await self._stop_event.wait()
        finally:
            await runner.cleanup()
            self._bound_port = None
            self._loop = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        if self._bound_port is None:
            raise RuntimeError("FakeServer is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._bound_port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ``http://HOST:PORT/v1``."""
        return self.url + "/v1"

    # -- configuration (any thread) ----------------------------------------------------

    def script(self, model: str, replies: list[str | Reply]) -> None:
        """Queue replies for ``model`` (appended to any already queued), used in order."""
        queued = [r if isinstance(r, Reply) else Reply(text=r) for r in replies]
        with self._lock:
            self._scripts.setdefault(model, deque()).extend(queued)

    def add_version(
        self,
        model: str,
        name: str,
        *,
        served_model: str | None = None,
        system_fingerprint: str | None = None,
        answers: Mapping[str, str] | None = None,
        responder: Responder | None = None,
        active: bool | None = None,
    ) -> ModelVersion:
        """Script a version of ``model``: while it is active, replies report ``served_model``
        (default ``MODEL-NAME``) and ``system_fingerprint`` (default ``fp_NAME``) and answer
        from ``answers`` (exact prompt), else ``responder``, else as without versions.
        The first version added becomes active (or pass ``active``); switch with
        :meth:`use_version`, mid-test from any thread. ``/v1/models`` lists the active
        version's served id beside the model's name."""
        version = ModelVersion(
            name,
            served_model or f"{model}-{name}",
            system_fingerprint or f"fp_{name}",
            {prompt.strip(): reply for prompt, reply in (answers or {}).items()},
            responder,
        )
        with self._lock:
            self._versions.setdefault(model, {})[name] = version
            if active or (active is None and model not in self._active):
                self._active[model] = version
        self._memo.clear()
        return version

    def use_version(self, model: str, name: str) -> None:
        """Make ``name`` the version ``model`` serves from the next request on."""
        with self._lock:
            found = self._versions.get(model, {}).get(name)
            if found is None:
                known = ", ".join(sorted(self._versions.get(model, {}))) or "none"
                raise KeyError(f"model {model!r} has no version {name!r} (versions: {known})")
            self._active[model] = found
        self._memo.clear()

    def active_version(self, model: str) -> ModelVersion | None:
        """The version ``model`` serves now (None: no versions scripted)."""
        with self._lock:
            return self._active.get(model)

    def answer_attachments(self, mapping: Mapping[str, str | Reply], *, model: str | None = None) -> None:
        """Script replies by attachment: the SHA-256 (hex) of an image's, PDF's or audio
        clip's bytes -> the reply to any request that carries it (the first attachment with a
        reply wins; ``model`` limits the entries to one model). Adds to earlier entries."""
        with self._lock:
            for digest, reply in mapping.items():
                self._attachment_answers[(model, digest.lower())] = (
                    reply if isinstance(reply, Reply) else Reply(text=str(reply))
                )

    def answers(self, mapping: Mapping[str, str]) -> None:
        """Replace the exact-prompt map (keys and lookups are whitespace-stripped)."""
        stripped = {prompt.strip(): answer for prompt, answer in mapping.items()}
        with self._lock:
            self._answers = stripped

    def fault(
        self,
        kind: str,
        *,
        rate: float | None = None,
        count: int | None = None,
        model: str | None = None,
        retry_after: float | None = 1.0,
        hang_seconds: float = 30.0,
        seed: int = 0,
        after_chunks: int | None = None,
    ) -> None:
        """Add a fault rule; rules are tried in the order added and the first match wins.

        ``kind`` is one of rate_limit, server_error, hang, malformed, garbage, cut_stream,
        auth, drop (the connection closed with no reply at all). ``rate`` fires with that
        probability (seeded), ``count`` on the next N matching requests, neither on every
        one; ``model`` restricts it to that model. For a streamed request ``after_chunks``
        places the fault inside the stream: ``cut_stream`` cuts after that many content
        frames (0: after the 200 and the opening frames, before the first content byte),
        ``hang`` stalls there for ``hang_seconds`` and then goes on.
        """
        rule = Fault(
            kind,
            rate=rate,
            count=count,
            model=model,
            retry_after=retry_after,
            hang_seconds=hang_seconds,
            seed=seed,
            after_chunks=after_chunks,
        )
        with self._lock:
            self._faults.append(rule)

    def refuse_connections(self) -> None:
        """Stop listening until :meth:`accept_connections`: new connections are refused (what
        a dead upstream looks like) and open keep-alive ones are closed. The URL stays."""
        self._in_loop(self._stop_listening())

    def accept_connections(self) -> None:
        """Listen again on the same port after :meth:`refuse_connections`."""
        self._in_loop(self._listen_again())

    def _in_loop(self, coro: Any) -> None:
        if self._loop is None:
            coro.close()
            raise RuntimeError("FakeServer is not running; call start() first")
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _stop_listening(self) -> None:
        site, self._site = self._site, None
        if site is not None:
            await site.stop()
        server = self._runner.server
        if server is not None:
            for handler in server.connections:
                handler.force_close()

    async def _listen_again(self) -> None:
        if self._site is None:
            self._site = web.TCPSite(self._runner, self.host, self._bound_port)
            await self._site.start()

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def rate_limit(self, rps: float, burst: float | None = None, *, window_s: float | None = None) -> None:
        """Refuse requests beyond a token bucket of ``rps``/s (``burst`` default max(1, rps))
        with 429 and ``Retry-After``. With ``window_s``, the limit is a sliding window
        instead: at most ``rps * window_s`` requests in any trailing ``window_s`` seconds
        (nothing banked, so a rising load meets the limit exactly where it passes ``rps``)."""
        bucket: TokenBucket | SlidingWindow
        if window_s is not None:
            if burst is not None:
                raise ValueError("give burst (token bucket) or window_s (sliding window), not both")
            bucket = SlidingWindow(rps, window_s)
        else:
            bucket = TokenBucket(rps, burst)
        with self._lock:
            self._bucket = bucket

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the recorded requests, oldest first."""
        with self._lock:
            entries = list(self._entries)
        return [entry.freeze() for entry in entries]

    def reset(self) -> None:
        """Forget recorded requests and counters, scripts, versions, faults and the rate limit.

        ``latency``, ``api_key``, ``answers`` and ``responder`` are configuration and stay.
        """
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._total = 0
            self._by_status.clear()
            self._by_model.clear()
            self._seen_models.clear()
            self._scripts.clear()
            self._versions.clear()
            self._active.clear()
            self._faults.clear()
            self._bucket = None
        self._memo.clear()

    def stats(self) -> dict[str, Any]:
        """What ``GET /_stats`` answers."""
        with self._lock:
            return {
                "requests": self._total,
                "by_status": {str(k): v for k, v in sorted(self._by_status.items())},
                "by_model": dict(sorted(self._by_model.items())),
            }

    # -- request handling (event-loop thread) -------------------------------------------

    def _record(self, request: web.Request, body: dict[str, Any] | None) -> _Entry:
        model = body.get("model") if body is not None else None
        if not isinstance(model, str):
            model = None
        headers = request.headers
        has_auth = "Authorization" in headers or "x-api-key" in headers
        with self._lock:
            entry = _Entry(time.monotonic(), request.path, model, body, has_auth, self._generation)
            self._entries.append(entry)
            self._total += 1
            if model is not None:
                self._by_model[model] = self._by_model.get(model, 0) + 1
                if model != MISSING_MODEL:
                    self._seen_models.add(model)
        return entry

    def _answered(self, entry: _Entry, status: int) -> None:
        with self._lock:
            entry.status = status
            if entry.generation == self._generation:
                self._by_status[status] = self._by_status.get(status, 0) + 1

    def _respond(
        self,
        entry: _Entry,
        status: int,
        body: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        self._answered(entry, status)
        return web.Response(status=status, body=body, content_type=_JSON, headers=headers)

    def _retry_headers(self, seconds: float | None) -> dict[str, str]:
        if seconds is None:
            return {}
        return {
            "Retry-After": format_seconds(seconds),
            "retry-after-ms": str(round(seconds * 1000)),
        }

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        return await self._completion(request, OPENAI)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        return await self._completion(request, ANTHROPIC)

    async def _completion(self, request: web.Request, dialect: Dialect) -> web.StreamResponse:
        raw = await request.read()
        memo = self._memo.get(raw)
        if memo is not None:
            fast = self._replay(request, memo)
            if fast is not None:
                return fast
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        body: dict[str, Any] | None = parsed if isinstance(parsed, dict) else None
        entry = self._record(request, body)

        if self.api_key is not None and not dialect.authorized(request.headers, self.api_key):
            return self._respond(entry, 401, dialect.error(401, _bad_key_message(dialect)))
        if body is None:
            return self._respond(entry, 400, dialect.error(400, "the body must be a JSON object"))
        problem = dialect.validate(body)
        if problem is None and any(isinstance(m.get("content"), list) for m in body["messages"]):
            found, problem = check_attachments(body["messages"], dialect.name)
            entry.attachments = found
        if problem is not None:
            return self._respond(entry, 400, dialect.error(400, problem))
        model: str = body["model"]
        if model == MISSING_MODEL:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return self._respond(entry, 404, dialect.error(404, message))
        stream = body.get("stream") is True

        with self._lock:
            wait = self._bucket.take() if self._bucket is not None else None
            fault = pick_fault(self._faults, model) if wait is None else None
        if wait is not None:
            message = f"Rate limit reached for requests. Please try again in {wait:g}s."
            headers = self._retry_headers(wait)
            return self._respond(entry, 429, dialect.error(429, message), headers)
        if fault is not None:
            if fault.kind == "rate_limit":
                message = "Rate limit reached for requests (injected by FakeServer)."
                headers = self._retry_headers(fault.retry_after)
                return self._respond(entry, 429, dialect.error(429, message), headers)
            if fault.kind == "auth":
                return self._respond(entry, 401, dialect.error(401, _bad_key_message(dialect)))
            if fault.kind == "drop":  # the record keeps status 0: nothing was answered
                _cut(request)
                return web.Response(status=200)  # never sent: the transport is closed
            if fault.kind == "hang" and (fault.after_chunks is None or not stream):
                await asyncio.sleep(fault.hang_seconds)
                fault = None

        if fault is not None:
            # A backend fault stands in for the answer, so the script queue is left intact
            # for the client's retry.
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            return await self._backend_fault(request, entry, fault, dialect, body, stream)

        reply, scripted = self._next_reply(model, body, dialect)
        delay = self.latency + reply.delay
        if delay > 0:
            await asyncio.sleep(delay)
        if reply.body is not None:
            self._answered(entry, reply.status)
            return web.Response(
                status=reply.status, text=reply.body, content_type=_JSON, headers=reply.headers
            )
        if reply.status >= 400:
            message = reply.text or f"scripted error {reply.status}"
            return self._respond(entry, reply.status, dialect.error(reply.status, message), reply.headers)

        answer = self._answer(model, body, dialect, reply)
        if not stream:
            rendered = dialect.render(answer)
            if not scripted and dialect is OPENAI:
                self._remember(raw, model, reply, answer, rendered)
            return self._respond(entry, reply.status, rendered, reply.headers)
        frames = dialect.frames(answer, dialect.include_usage(body))
        return await self._stream(request, entry, reply.status, frames, reply.headers)

    def _next_reply(self, model: str, body: dict[str, Any], dialect: Dialect) -> tuple[Reply, bool]:
        """The reply, and whether it came from the script queue."""
        with self._lock:
            queue = self._scripts.get(model)
            if queue:
                return queue.popleft(), True
            answers = self._answers
            version = self._active.get(model)
            by_attachment = self._attachment_answers
        messages = dialect.conversation(body)
        if by_attachment:
            for attachment in check_attachments(messages, dialect.name)[0]:
                scripted = by_attachment.get((model, attachment.sha256)) or by_attachment.get(
                    (None, attachment.sha256)
                )
                if scripted is not None:
                    return scripted, False
        if version is not None:
            recorded = version.answers.get(last_user_text(messages).strip())
            if recorded is not None:
                return Reply(text=recorded), False
            if version.responder is not None:
                return self._respond_with(version.responder, model, messages), False
        if answers:
            found = answers.get(last_user_text(messages).strip())
            if found is not None:
                return Reply(text=found), False
        return self._respond_with(self.responder, model, messages), False

    @staticmethod
    def _respond_with(responder: Responder, model: str, messages: list[dict[str, Any]]) -> Reply:
        try:
            produced = responder(model, messages)
        except Exception as exc:
            # A broken responder is a bug in the test; a 500 naming it beats a dropped socket.
            return Reply(status=500, text=f"FakeServer responder raised {exc!r}")
        return produced if isinstance(produced, Reply) else Reply(text=str(produced))

    # -- the replay fast path (see _Memo) ------------------------------------------------

    def _memo_allowed(self) -> bool:
        """Whether answers may be replayed: nothing is recorded, nothing waits, nothing is
        injected, and the reply is the default responder's (a pure function of the body)."""
        return (
            self._entries.maxlen == 0
            and not self.latency
            and self._bucket is None
            and not self._faults
            and self.responder is echo_last_user_message
            and not self._active
            and not self._attachment_answers
        )

    def _remember(self, raw: bytes, model: str, reply: Reply, answer: Answer, rendered: bytes) -> None:
        if (
            len(raw) > _MEMO_MAX_BODY
            or reply.status != 200
            or reply.headers
            or reply.delay
            or reply.usage is not None
            or reply.tool_calls is not None
            or not self._memo_allowed()
        ):
            return
        head = _MEMO_HEAD + answer.id.removeprefix(OPENAI.id_prefix).encode()
        middle = _MEMO_MIDDLE + str(answer.created).encode()
        if not rendered.startswith(head + middle):
            return
        if len(self._memo) >= _MEMO_ENTRIES:
            self._memo.clear()
        self._memo[raw] = _Memo(
            model, self._answers, self.served_model_suffix, self.api_key, rendered[len(head + middle) :]
        )

    def _replay(self, request: web.Request, memo: _Memo) -> web.Response | None:
        """The remembered answer to these exact body bytes with a fresh id and time, or
        None when anything that could change the answer has changed since."""
        if (
            not self._memo_allowed()
            or memo.answers is not self._answers
            or memo.suffix != self.served_model_suffix
            or memo.api_key != self.api_key
        ):
            return None
        if self.api_key is not None and not OPENAI.authorized(request.headers, self.api_key):
            return None
        model = memo.model
        with self._lock:
            if self._scripts.get(model):
                return None
            # What _record and _answered count for an answered request, in one step: nothing
            # is awaited between them, so no reset can come in between either.
            self._total += 1
            self._by_model[model] = self._by_model.get(model, 0) + 1
            self._seen_models.add(model)
            self._by_status[200] = self._by_status.get(200, 0) + 1
            number = next(self._ids)
        body = b"".join(
            (
                _MEMO_HEAD,
                str(number).encode(),
                _MEMO_MIDDLE,
                str(int(time.time())).encode(),
                memo.rest,
            )
        )
        return web.Response(body=body, content_type=_JSON)

    def _answer(self, model: str, body: dict[str, Any], dialect: Dialect, reply: Reply) -> Answer:
        text = reply.text
        calls = normalise_tool_calls(reply.tool_calls)
        finish = "tool_calls" if calls else "stop"
        limit = dialect.max_tokens(body)
        if limit is not None and word_count(text) > limit:
            text = truncate_words(text, limit)
            finish = "length"
        usage = reply.usage or {}
        prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
        completion = usage.get("completion_tokens", usage.get("output_tokens"))
        if prompt is None:
            messages = dialect.conversation(body)
            prompt = prompt_tokens(messages)
            if any(isinstance(m.get("content"), list) for m in messages):
                prompt += attachment_tokens(messages, dialect.name)  # images and audio, as billed
        if completion is None:
            completion = word_count(text) + sum(word_count(c.arguments) for c in calls)
        with self._lock:
            version = self._active.get(model)
        return Answer(
            id=f"{dialect.id_prefix}{next(self._ids)}",
            model=(version.served_model if version is not None else model) + self.served_model_suffix,
            created=int(time.time()),
            text=text,
            tool_calls=calls,
            finish=finish,
            prompt_tokens=int(prompt),
            completion_tokens=int(completion),
            cached_tokens=int(usage.get("cached_tokens", usage.get("cache_read_input_tokens", 0))),
            system_fingerprint=version.system_fingerprint if version is not None else "fp_fake",
        )

    async def _backend_fault(
        self,
        request: web.Request,
        entry: _Entry,
        fault: Fault,
        dialect: Dialect,
        body: dict[str, Any],
        stream: bool,
    ) -> web.StreamResponse:
        if fault.kind == "server_error":
            message = "The server had an error while processing your request (FakeServer)."
            return self._respond(entry, 500, dialect.error(500, message))
        if fault.kind == "malformed":
            return self._raw(entry, dialect.malformed(stream), stream)
        answer = self._answer(body["model"], body, dialect, Reply(text=_filler(body, dialect)))
        if fault.kind == "garbage":
            return self._raw(entry, dialect.garbage(answer, stream), stream)
        if fault.kind == "hang":  # a stall inside the stream (after_chunks is set)
            frames = dialect.frames(answer, dialect.include_usage(body))
            at = dialect.lead_frames(answer) + (fault.after_chunks or 0)
            return await self._stream(request, entry, 200, frames, {}, stall=(at, fault.hang_seconds))
        # cut_stream: the client has accepted a 200 and part of the body when the peer dies.
        if stream:
            frames = dialect.cut_frames(answer)
            if fault.after_chunks is not None:
                every = dialect.frames(answer, False)
                frames = every[: dialect.lead_frames(answer) + fault.after_chunks]
            return await self._stream(request, entry, 200, frames, {}, True)
        full = dialect.render(answer)
        self._answered(entry, 200)
        response = web.StreamResponse(status=200)
        response.content_type = _JSON
        response.content_length = len(full)
        await response.prepare(request)
        await response.write(full[: len(full) // 2])
        _cut(request)
        return response

    def _raw(self, entry: _Entry, payload: bytes, stream: bool) -> web.Response:
        self._answered(entry, 200)
        if stream:
            return web.Response(status=200, body=payload, headers=_SSE_HEADERS)
        return web.Response(status=200, body=payload, content_type=_JSON)

    async def _stream(
        self,
        request: web.Request,
        entry: _Entry,
        status: int,
        frames: list[bytes],
        headers: Mapping[str, str],
        cut: bool = False,
        stall: tuple[int, float] | None = None,
    ) -> web.StreamResponse:
        self._answered(entry, status)
        response = web.StreamResponse(status=status, headers={**_SSE_HEADERS, **headers})
        await response.prepare(request)
        for index, frame in enumerate(frames):
            if stall is not None and index == stall[0]:
                await asyncio.sleep(stall[1])
            await response.write(frame)
        if cut:
            _cut(request)
        else:
            await response.write_eof()
        return response

    async def _models(self, request: web.Request) -> web.Response:
        entry = self._record(request, None)
        if self.api_key is not None and not OPENAI.authorized(request.headers, self.api_key):
            return self._respond(entry, 401, OPENAI.error(401, _bad_key_message(OPENAI)))
        with self._lock:
            served = {v.served_model + self.served_model_suffix for v in self._active.values()}
            names = sorted(self._seen_models | self._scripts.keys() | self._versions.keys() | served)
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "benchroute-fake"} for name in names
        ]
        return self._respond(entry, 200, json.dumps({"object": "list", "data": data}).encode())

    async def _embeddings(self, request: web.Request) -> web.Response:
        try:
            parsed = json.loads(await request.read())
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
        entry = self._record(request, body)
        if self.api_key is not None and not OPENAI.authorized(request.headers, self.api_key):
            return self._respond(entry, 401, OPENAI.error(401, _bad_key_message(OPENAI)))
        texts = body.get("input") if body is not None else None
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return self._respond(
                entry, 400, OPENAI.error(400, "'input' must be a string or a list of strings")
            )
        if self.latency:
            await asyncio.sleep(self.latency)
        data = [
            {"object": "embedding", "index": i, "embedding": hashed_embedding(text)}
            for i, text in enumerate(texts)
        ]
        tokens = sum(len(t.split()) for t in texts)
        payload = {
            "object": "list",
            "data": data,
            "model": body.get("model") if body is not None else None,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return self._respond(entry, 200, json.dumps(payload).encode())

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"reset": True})


EMBEDDING_DIMENSIONS: Final = 64


def hashed_embedding(text: str) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words have similar embeddings, so
    similarity scorers behave sensibly against the fake server."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in text.lower().split():
        word = word.strip(".,;:!?\"'()[]")
        if word:
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "big") % EMBEDDING_DIMENSIONS] += 1.0
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector] if norm else vector


def _bad_key_message(dialect: Dialect) -> str:
    # Never echo the key that was sent: test logs end up in CI output.
    return "Incorrect API key provided" if dialect is OPENAI else "invalid x-api-key"


def _filler(body: dict[str, Any], dialect: Dialect) -> str:
    """Text for a faulty answer: long enough that a cut stream has something before the cut."""
    text = last_user_text(dialect.conversation(body))
    return text if len(text.split()) >= 4 else "this answer will not arrive in one piece"


def _cut(request: web.Request) -> None:
    # Closing the transport without the terminating chunk (or before Content-Length bytes)
    # is what a dying upstream looks like to the client: a payload error, not a clean EOF.
    transport = request.transport
    if transport is not None:
        transport.close()
