"""The Anthropic Messages API adapter (``POST {base_url}/v1/messages``).

System messages move to the top-level ``system`` field, as the API requires; ``max_tokens``
is mandatory there, so a default applies. Streaming reads the event sequence
(message_start ... message_stop) and measures time to first token.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from ._context import ProviderContext
from ._http import http_error, loads_object, malformed, transport_error
from ._types import Completion, CompletionRequest, ProviderError, Usage

if TYPE_CHECKING:
    from ..config import ModelSpec

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024


def _usage(raw: dict[str, Any] | None, previous: Usage | None = None) -> Usage:
    usage = previous.model_copy() if previous else Usage()
    if not isinstance(raw, dict):
        return usage
    if "input_tokens" in raw:
        usage.input_tokens = int(raw.get("input_tokens") or 0) + int(raw.get("cache_read_input_tokens") or 0)
        usage.cached_input_tokens = int(raw.get("cache_read_input_tokens") or 0)
    if "output_tokens" in raw:
        usage.output_tokens = int(raw.get("output_tokens") or 0)
    return usage


class AnthropicProvider:
    """A Claude model through Anthropic's native Messages API."""

    def __init__(self, spec: ModelSpec, context: ProviderContext) -> None:
        self.spec = spec
        self._context = context
        base = (spec.base_url or DEFAULT_BASE_URL).rstrip("/")
        if base.endswith("/v1"):
            base = base[:-3]
        self._url = f"{base}/v1/messages"
        self._where = f"model {spec.name!r} at {base}"
        headers = {
            "Content-Type": "application/json",
            "anthropic-version": API_VERSION,
            **spec.headers,
        }
        key = context.secrets.key_for(spec)
        if key:
            headers["x-api-key"] = key
        self._headers = headers

    def _body(self, request: CompletionRequest) -> dict[str, Any]:
        system = [m.text() for m in request.messages if m.role == "system"]
        messages = []
        for m in request.messages:
            if m.role == "system":
                continue
            role = "assistant" if m.role == "assistant" else "user"
            messages.append({"role": role, "content": m.content if m.content is not None else ""})
        body: dict[str, Any] = {"model": self.spec.model, **self.spec.params}
        body["messages"] = messages
        if system:
            body["system"] = "\n\n".join(system)
        body["max_tokens"] = request.max_tokens or body.get("max_tokens") or DEFAULT_MAX_TOKENS
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop_sequences"] = request.stop
        if request.tools:
            body["tools"] = request.tools
        body.update(request.extra)
        return body

    async def complete(self, request: CompletionRequest) -> Completion:
        body = self._body(request)
        if self.spec.stream:
            body["stream"] = True
        started = time.perf_counter()
        try:
            async with self._context.session.post(
                self._url, data=json.dumps(body).encode(), headers=self._headers
            ) as response:
                if response.status != 200:
                    raise http_error(response.status, await response.read(), response.headers, self._where)
                if self.spec.stream:
                    return await self._read_stream(response, started)
                raw = await response.read()
        except ProviderError:
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error(exc, self._where) from None
        reply = loads_object(raw, self._where)
        content = reply.get("content")
        if not isinstance(content, list):
            raise malformed(self._where, "no 'content' list in the reply", raw)
        text = "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
        tool_calls = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_use"]
        return Completion(
            text=text,
            tool_calls=tool_calls,
            finish_reason=reply.get("stop_reason"),
            usage=_usage(reply.get("usage")),
            served_model=reply.get("model"),
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def _read_stream(self, response: aiohttp.ClientResponse, started: float) -> Completion:
        parts: list[str] = []
        ttft: float | None = None
        usage = Usage()
        served_model = stop_reason = None
        finished = False
        async for line in response.content:
            if not line.startswith(b"data:"):
                continue
            event = loads_object(line[5:].strip(), self._where)
            kind = event.get("type")
            if kind == "message_start":
                message = event.get("message") or {}
                served_model = message.get("model")
                usage = _usage(message.get("usage"), usage)
            elif kind == "content_block_delta":
                delta = event.get("delta") or {}
                if delta.get("type") == "text_delta":
                    if ttft is None:
                        ttft = (time.perf_counter() - started) * 1000
                    parts.append(delta.get("text", ""))
            elif kind == "message_delta":
                stop_reason = (event.get("delta") or {}).get("stop_reason") or stop_reason
                usage = _usage(event.get("usage"), usage)
            elif kind == "message_stop":
                finished = True
                break
            elif kind == "error":
                error = event.get("error") or {}
                raise ProviderError(
                    f"{self._where}: stream error: {error.get('message', error)}",
                    kind="server_error",
                )
        if not finished:
            raise ProviderError(
                f"{self._where}: the stream ended before message_stop (cut mid-reply)",
                kind="server_error",
            )
        return Completion(
            text="".join(parts),
            finish_reason=stop_reason,
            usage=usage,
            served_model=served_model,
            latency_ms=(time.perf_counter() - started) * 1000,
            ttft_ms=ttft,
        )
