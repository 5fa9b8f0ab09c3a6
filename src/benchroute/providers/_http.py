"""HTTP helpers shared by the wire adapters: the POST with its error handling, server-sent
event parsing, error classification and Retry-After."""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import yarl

from .._json import loads as loads_json
from ._types import ErrorKind, ProviderError


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def _kind_for_status(status: int) -> ErrorKind:
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status >= 500 or status in (408, 409):
        return "server_error"
    return "bad_request"


def _provider_message(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        text = raw[:200].decode("utf-8", "replace").strip()
        return text or "(empty body)"
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("type") or error)[:300]
        return str(error)[:300]
    return str(body)[:300]


def http_error(status: int, raw: bytes, headers: Mapping[str, str], where: str) -> ProviderError:
    """A :class:`ProviderError` for a non-2xx reply. Auth errors never echo the provider's
    message, which may quote part of the key."""
    kind = _kind_for_status(status)
    retry_after = parse_retry_after(headers)
    if kind == "auth":
        return ProviderError(
            f"{where}: authentication failed (HTTP {status})",
            kind=kind,
            status=status,
            hint="check that the key in the model's api_key_env variable is valid for this endpoint",
        )
    if kind == "not_found":
        return ProviderError(
            f"{where}: not found (HTTP 404): {_provider_message(raw)}",
            kind=kind,
            status=status,
            hint="check the model id and base_url in benchroute.yaml",
        )
    return ProviderError(
        f"{where}: HTTP {status}: {_provider_message(raw)}",
        kind=kind,
        status=status,
        retry_after=retry_after,
    )


def transport_error(exc: BaseException, where: str) -> ProviderError:
    """Classify an exception raised while talking to an endpoint."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return ProviderError(f"{where}: timed out", kind="timeout")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ProviderError(
            f"{where}: cannot connect ({exc.os_error.strerror or exc.os_error})",
            kind="connection",
            hint="check base_url in benchroute.yaml and that the server is running",
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return ProviderError(
            f"{where}: connection dropped mid-reply ({type(exc).__name__})", kind="server_error"
        )
    if isinstance(exc, aiohttp.ClientError):
        return ProviderError(f"{where}: {type(exc).__name__}: {exc}", kind="server_error")
    return ProviderError(f"{where}: {type(exc).__name__}: {exc}", kind="server_error")


def malformed(where: str, detail: str, raw: bytes | str = b"") -> ProviderError:
    sample = raw if isinstance(raw, str) else raw[:120].decode("utf-8", "replace")
    sample = " ".join(sample.split())[:80]
    suffix = f" (reply began: {sample!r})" if sample else ""
    return ProviderError(f"{where}: malformed reply: {detail}{suffix}", kind="malformed_reply")


def loads_object(raw: bytes, where: str) -> dict[str, Any]:
    try:
        body = loads_json(raw)
    except ValueError:
        try:  # what orjson refuses and json reads: NaN, a lone surrogate escape
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise malformed(where, f"invalid JSON ({exc})", raw) from None
    if not isinstance(body, dict):
        raise malformed(where, "expected a JSON object", raw)
    return body


@functools.lru_cache(maxsize=256)
def _parsed_url(url: str) -> yarl.URL:
    # A provider posts to the same few URLs all run: parse each once, not per request.
    return yarl.URL(url)


@asynccontextmanager
async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    payload: Any,
    headers: Mapping[str, str],
    where: str,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """POST ``payload`` as JSON and yield the 2xx response to read or stream.

    A non-2xx reply raises the classified :class:`ProviderError` (see :func:`http_error`);
    transport errors and timeouts, including those raised while the caller reads the body
    inside the ``async with``, raise one from :func:`transport_error`.
    """
    try:
        target = _parsed_url(url)
        try:
            data = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # text orjson refuses (a lone surrogate): json escapes it as \uXXXX
            data = json.dumps(payload).encode()
        async with session.post(target, data=data, headers=headers) as response:
            if not 200 <= response.status < 300:
                raise http_error(response.status, await response.read(), response.headers, where)
            yield response
    except ProviderError:
        raise
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise transport_error(exc, where) from None


class SSEData:
    """The JSON objects of a server-sent-event stream's ``data:`` lines, in order. Iteration
    stops at ``data: [DONE]`` (then :attr:`done` is true) or at the end of the body; other
    lines (``event:``, comments, blanks) are skipped."""

    def __init__(self, response: aiohttp.ClientResponse, where: str) -> None:
        self._content = response.content
        self._where = where
        self.done = False

    def __aiter__(self) -> SSEData:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if not self.done:
            async for line in self._content:
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    self.done = True
                    break
                return loads_object(data, self._where)
        raise StopAsyncIteration


def iter_sse_data(response: aiohttp.ClientResponse, where: str) -> SSEData:
    """Iterate the parsed ``data:`` objects of a streamed reply (see :class:`SSEData`)."""
    return SSEData(response, where)
