"""The Anthropic Messages API adapter (``POST {base_url}/v1/messages``).

System messages move to the top-level ``system`` field, as the API requires; ``max_tokens``
is mandatory there, so a default applies. Tools given in OpenAI's shape are sent in
Anthropic's, and ``tool_use`` blocks come back as OpenAI-shaped tool calls (arguments as
JSON text), like every other provider's. Streaming reads the event sequence
(message_start ... message_stop) and measures time to first token.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from .._urls import display_url
from ._context import ProviderContext
from ._http import iter_sse_data, loads_object, malformed, post_json
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
        cache_read = int(raw.get("cache_read_input_tokens") or 0)
        cache_creation = int(raw.get("cache_creation_input_tokens") or 0)
        # Anthropic's input_tokens excludes the cache reads and writes; ours includes them.
        usage.input_tokens = int(raw.get("input_tokens") or 0) + cache_read + cache_creation
        usage.cached_input_tokens = cache_read
        usage.cache_write_tokens = cache_creation
    if "output_tokens" in raw:
        # output_tokens already counts extended-thinking tokens; the detail only splits them out.
        usage.output_tokens = int(raw.get("output_tokens") or 0)
        details = raw.get("output_tokens_details")
        if isinstance(details, dict) and details.get("thinking_tokens") is not None:
            usage.reasoning_tokens = int(details.get("thinking_tokens") or 0)
    return usage


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool definition in Anthropic's shape; OpenAI-shaped ones are converted."""
    function = tool.get("function")
    if tool.get("type") != "function" or not isinstance(function, dict):
        return tool
    out: dict[str, Any] = {"name": function.get("name", "")}
    if function.get("description"):
        out["description"] = function["description"]
    out["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return out


def _tool_call(call_id: object, name: object, arguments: str) -> dict[str, Any]:
    """An OpenAI-shaped tool call."""
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name if isinstance(name, str) else "", "arguments": arguments},
    }


class AnthropicProvider:
    """A Claude model through Anthropic's native Messages API."""

    def __init__(self, spec: ModelSpec, context: ProviderContext) -> None:
        self.spec = spec
        self._context = context
        base = (spec.base_url or DEFAULT_BASE_URL).rstrip("/")
        if base.endswith("/v1"):
            base = base[:-3]
        self._url = f"{base}/v1/messages"
        self._where = f"model {spec.name!r} at {display_url(base)}"  # no credentials in errors
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
            body["tools"] = [_tool(tool) for tool in request.tools]
        body.update(request.extra)
        return body

    async def complete(self, request: CompletionRequest) -> Completion:
        body = self._body(request)
        if self.spec.stream:
            body["stream"] = True
        started = time.perf_counter()
        async with post_json(self._context.session, self._url, body, self._headers, self._where) as response:
            if self.spec.stream:
                return await self._read_stream(response, started)
            raw = await response.read()
        reply = loads_object(raw, self._where)
        content = reply.get("content")
        if not isinstance(content, list):
            raise malformed(self._where, "no 'content' list in the reply", raw)
        text = "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
        tool_calls = [
            _tool_call(b.get("id"), b.get("name"), json.dumps(b.get("input") or {}))
            for b in content
            if isinstance(b, dict) and b.get("type") == "tool_use"
        ]
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
        # Tool-use blocks by content index: the start block and its partial JSON pieces.
        tool_blocks: dict[int, tuple[dict[str, Any], list[str]]] = {}
        ttft: float | None = None
        usage = Usage()
        served_model = stop_reason = None
        finished = False
        async for event in iter_sse_data(response, self._where):
            kind = event.get("type")
            if kind == "message_start":
                message = event.get("message") or {}
                served_model = message.get("model")
                usage = _usage(message.get("usage"), usage)
            elif kind == "content_block_start":
                block = event.get("content_block") or {}
                if block.get("type") == "tool_use":
                    if ttft is None:
                        ttft = (time.perf_counter() - started) * 1000
                    tool_blocks[int(event.get("index", len(tool_blocks)))] = (block, [])
            elif kind == "content_block_delta":
                delta = event.get("delta") or {}
                if delta.get("type") == "text_delta":
                    if ttft is None:
                        ttft = (time.perf_counter() - started) * 1000
                    parts.append(delta.get("text", ""))
                elif delta.get("type") == "input_json_delta":
                    slot = tool_blocks.get(int(event.get("index", -1)))
                    if slot is None:
                        raise malformed(self._where, "input_json_delta for a block that is not tool_use")
                    slot[1].append(delta.get("partial_json") or "")
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
        tool_calls = []
        for index in sorted(tool_blocks):
            block, pieces = tool_blocks[index]
            # No input_json_delta (or only empty ones): the start block's input is the input.
            arguments = "".join(pieces) or json.dumps(block.get("input") or {})
            tool_calls.append(_tool_call(block.get("id"), block.get("name"), arguments))
        return Completion(
            text="".join(parts),
            tool_calls=tool_calls,
            finish_reason=stop_reason,
            usage=usage,
            served_model=served_model,
            latency_ms=(time.perf_counter() - started) * 1000,
            ttft_ms=ttft,
        )
