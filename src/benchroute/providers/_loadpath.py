"""The send path of load tests: the same requests over and over, as cheaply as possible.

A load generator must not be the bottleneck, so it cannot afford what an eval does per
request (build and validate a pydantic request, serialise it, parse the reply into a
:class:`Completion`). A :class:`LoadSender` is prepared once with a stress suite's
requests: an adapter that offers ``load_sender(requests)`` (the OpenAI-compatible one
does) serialises every body once and, per request, only sends the bytes, checks the
status, and checks that the reply is a chat completion (streamed replies: reads the
events, noting the first token). Any other provider gets :class:`CompletionSender`, which
calls its ordinary ``complete()``.

Errors are the adapters' own :class:`ProviderError` kinds, so a load test classifies a
429, a 5xx or a malformed reply exactly as an eval run does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import aiohttp

from ._http import http_error, loads_object, malformed, transport_error
from ._types import CompletionRequest, Provider, ProviderError

if TYPE_CHECKING:
    from ._context import ProviderContext


class LoadSender(Protocol):
    """Sends the prepared requests of a load test."""

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

    async def send(self, index: int) -> float | None:
        completion = await self._provider.complete(self._requests[index % len(self._requests)])
        return completion.ttft_ms


class ChatCompletionsSender:
    """Prepared bodies POSTed to an OpenAI-compatible ``/chat/completions`` endpoint."""

    def __init__(
        self,
        context: ProviderContext,
        url: str,
        headers: Mapping[str, str],
        bodies: Sequence[dict[str, object]],
        where: str,
    ) -> None:
        if not bodies:
            raise ValueError("a load test needs at least one request")
        self._context = context
        self._url = url
        self._headers = dict(headers)
        self._bodies = [json.dumps(body).encode() for body in bodies]
        self._stream = [body.get("stream") is True for body in bodies]
        self._where = where

    async def send(self, index: int) -> float | None:
        slot = index % len(self._bodies)
        started = time.perf_counter()
        try:
            async with self._context.session.post(
                self._url, data=self._bodies[slot], headers=self._headers
            ) as response:
                if not 200 <= response.status < 300:
                    raise http_error(response.status, await response.read(), response.headers, self._where)
                if self._stream[slot]:
                    return await self._read_stream(response, started)
                raw = await response.read()
        except ProviderError:
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error(exc, self._where) from None
        # The cheap check first; a reply that fails it gets the adapter's full diagnosis.
        if b'"choices"' not in raw:
            body = loads_object(raw, self._where)
            raise malformed(self._where, f"no 'choices' in the reply (keys: {sorted(body)[:5]})", raw)
        return None

    async def _read_stream(self, response: aiohttp.ClientResponse, started: float) -> float | None:
        first: float | None = None
        async for line in response.content:
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                return first
            if first is None:
                # Parsed only until the first token arrives: a role-only first event is not one.
                chunk = loads_object(data, self._where)
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    if delta.get("content") or delta.get("tool_calls"):
                        first = (time.perf_counter() - started) * 1000
                        break
        raise ProviderError(
            f"{self._where}: the stream ended before [DONE] (cut mid-reply)", kind="server_error"
        )


def prepare_load_sender(provider: Provider, requests: Sequence[CompletionRequest]) -> LoadSender:
    """The leanest sender ``provider`` offers for ``requests``."""
    factory = getattr(provider, "load_sender", None)
    if callable(factory):
        sender: LoadSender = factory(list(requests))
        return sender
    return CompletionSender(provider, requests)
