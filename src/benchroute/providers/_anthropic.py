"""The Anthropic Messages API adapter (``POST {base_url}/v1/messages``).

Requests and replies are translated to and from OpenAI's shape by ``_anthropic_wire``
(system messages, images, tools, ``tool_choice``, ``response_format``; ``tool_use`` blocks
come back as OpenAI-shaped tool calls, ``stop_reason`` as OpenAI's ``finish_reason``), so a
gateway client using the OpenAI SDK can be answered by Claude. ``max_tokens`` is mandatory
in this API, so a default applies (the kind's ``default_max_tokens`` setting). Streaming
reads the event sequence (message_start ... message_stop) and measures time to first token;
:meth:`AnthropicProvider.stream` yields those events as ``chat.completion.chunk`` pieces.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from .._urls import display_url
from ._anthropic_wire import JsonTool, StreamTranslator, messages_body, parse_message
from ._context import ProviderContext
from ._http import iter_sse_data, loads_object, post_json
from ._registry import provider_settings
from ._types import Completion, CompletionRequest, ProviderError, StreamChunk

if TYPE_CHECKING:
    from ..config import ModelSpec

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024


class AnthropicSettings(BaseModel):
    """Settings of the ``anthropic`` kind (``settings:`` of a model in benchroute.yaml)."""

    model_config = ConfigDict(extra="forbid")

    api_version: str = Field(default=API_VERSION, description="the anthropic-version header")
    default_max_tokens: int = Field(
        default=DEFAULT_MAX_TOKENS, ge=1, description="max_tokens when neither request nor params set it"
    )


class AnthropicProvider:
    """A Claude model through Anthropic's native Messages API."""

    supports_streaming: ClassVar[bool] = True
    settings_model: ClassVar[type[BaseModel]] = AnthropicSettings

    def __init__(self, spec: ModelSpec, context: ProviderContext) -> None:
        self.spec = spec
        self.settings = provider_settings(spec, AnthropicSettings)
        self._context = context
        base = (spec.base_url or DEFAULT_BASE_URL).rstrip("/")
        if base.endswith("/v1"):
            base = base[:-3]
        self._url = f"{base}/v1/messages"
        self._where = f"model {spec.name!r} at {display_url(base)}"  # no credentials in errors
        headers = {
            "Content-Type": "application/json",
            "anthropic-version": self.settings.api_version,
            **spec.headers,
        }
        key = context.secrets.key_for(spec)
        if key:
            headers["x-api-key"] = key
        self._headers = headers

    def _body(self, request: CompletionRequest) -> tuple[dict[str, Any], JsonTool | None]:
        return messages_body(
            request, self.spec.model, self.spec.params, self.settings.default_max_tokens, self._where
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        body, json_tool = self._body(request)
        if self.spec.stream:
            body["stream"] = True
        started = time.perf_counter()
        async with post_json(self._context.session, self._url, body, self._headers, self._where) as response:
            if self.spec.stream:
                return await self._read_stream(response, json_tool, started)
            raw = await response.read()
        completion = parse_message(loads_object(raw, self._where), json_tool, self._where, raw)
        completion.latency_ms = (time.perf_counter() - started) * 1000
        return completion

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamChunk]:
        """The reply as OpenAI ``chat.completion.chunk`` pieces (see
        :meth:`StreamingProvider.stream`), translated event by event."""
        body, json_tool = self._body(request)
        body["stream"] = True
        translator = StreamTranslator(json_tool, self._where, time.perf_counter())
        async with post_json(self._context.session, self._url, body, self._headers, self._where) as response:
            async for event in iter_sse_data(response, self._where):
                chunk = translator.feed(event)
                if chunk is not None:
                    yield chunk
                if translator.finished:
                    return
        raise self._cut()

    async def _read_stream(
        self, response: aiohttp.ClientResponse, json_tool: JsonTool | None, started: float
    ) -> Completion:
        translator = StreamTranslator(json_tool, self._where, started)
        async for event in iter_sse_data(response, self._where):
            translator.feed(event)
            if translator.finished:
                return translator.completion()
        raise self._cut()

    def _cut(self) -> ProviderError:
        return ProviderError(
            f"{self._where}: the stream ended before message_stop (cut mid-reply)", kind="server_error"
        )
