"""The OpenAI-compatible chat completions adapter (OpenAI, vLLM, llama.cpp server, Ollama,
OpenRouter, ... — any endpoint that speaks ``POST {base_url}/chat/completions``).

Non-streaming by default; with ``stream: true`` it reads server-sent events and measures
time to first token. Tool calls pass through unchanged; the served model name and
``system_fingerprint`` are recorded so a silent model update shows up in the results.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import aiohttp

from .._urls import display_url
from ._context import ProviderContext
from ._http import iter_sse_data, loads_object, malformed, post_json
from ._types import Completion, CompletionRequest, ProviderError, Usage

if TYPE_CHECKING:
    from ..config import ModelSpec
    from ._loadpath import ChatCompletionsSender

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def request_body(model: str, request: CompletionRequest, defaults: dict[str, Any]) -> dict[str, Any]:
    """The wire body: model defaults first, then the request's own settings."""
    body: dict[str, Any] = {"model": model, **defaults}
    body["messages"] = request.wire_messages()
    body.update(request.set_fields())
    body.update(request.extra)
    return body


def parse_usage(raw: object) -> Usage:
    """An OpenAI-style ``usage`` object as a :class:`Usage`. Usage is bookkeeping, not the
    answer: a missing object, or a count that is not a number, counts as 0."""
    if not isinstance(raw, dict):
        return Usage()
    prompt_details = raw.get("prompt_tokens_details")
    completion_details = raw.get("completion_tokens_details")
    prompt_details = prompt_details if isinstance(prompt_details, dict) else {}
    completion_details = completion_details if isinstance(completion_details, dict) else {}
    return Usage(
        input_tokens=_count(raw.get("prompt_tokens")),
        output_tokens=_count(raw.get("completion_tokens")),
        cached_input_tokens=_count(prompt_details.get("cached_tokens")),
        cache_write_tokens=_count(prompt_details.get("cache_write_tokens")),
        reasoning_tokens=_count(completion_details.get("reasoning_tokens")),
    )


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0
    try:
        return max(0, int(value))
    except (ValueError, OverflowError):  # "abc", NaN, infinity
        return 0


class OpenAIProvider:
    """A model behind an OpenAI-compatible endpoint."""

    def __init__(self, spec: ModelSpec, context: ProviderContext) -> None:
        self.spec = spec
        self._context = context
        base = (spec.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = f"{base}/chat/completions"
        self._where = f"model {spec.name!r} at {display_url(base)}"  # no credentials in errors
        headers = {"Content-Type": "application/json", **spec.headers}
        key = context.secrets.key_for(spec)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._headers = headers

    async def complete(self, request: CompletionRequest) -> Completion:
        body = request_body(self.spec.model, request, self.spec.params)
        if self.spec.stream:
            body["stream"] = True
            body.setdefault("stream_options", {"include_usage": True})
        started = time.perf_counter()
        async with post_json(self._context.session, self._url, body, self._headers, self._where) as response:
            if self.spec.stream:
                return await self._read_stream(response, started)
            raw = await response.read()
        return self._parse(raw, started)

    def load_sender(
        self, requests: list[CompletionRequest], max_connections: int | None = None
    ) -> ChatCompletionsSender:
        """A lean sender for load tests: each body serialised once (see ``_loadpath``)."""
        bodies: list[dict[str, Any]] = []
        for request in requests:
            body = request_body(self.spec.model, request, self.spec.params)
            if self.spec.stream:
                body["stream"] = True
                body.setdefault("stream_options", {"include_usage": True})
            bodies.append(body)
        from ._loadpath import ChatCompletionsSender  # load tests only: httptools stays unloaded

        return ChatCompletionsSender(self._url, self._headers, bodies, self._where, max_connections)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embedding vectors from the endpoint's ``/embeddings`` API, in input order."""
        url = self._url.removesuffix("/chat/completions") + "/embeddings"
        payload = {"model": self.spec.model, "input": texts}
        async with post_json(self._context.session, url, payload, self._headers, self._where) as response:
            raw = await response.read()
        body = loads_object(raw, self._where)
        data = body.get("data")
        if not isinstance(data, list) or len(data) != len(texts):
            raise malformed(self._where, "embeddings reply without one 'data' item per input", raw)
        try:
            ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
            return [[float(x) for x in item["embedding"]] for item in ordered]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise malformed(self._where, "an embedding is not a list of numbers", raw) from None

    def _parse(self, raw: bytes, started: float) -> Completion:
        body = loads_object(raw, self._where)
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise malformed(self._where, "no 'choices' in the reply", raw)
        message = choices[0].get("message")
        if not isinstance(message, dict):
            raise malformed(self._where, "no 'message' in choices[0]", raw)
        content = message.get("content")
        return Completion(
            text=content if isinstance(content, str) else "",
            tool_calls=message.get("tool_calls") or [],
            finish_reason=choices[0].get("finish_reason"),
            usage=parse_usage(body.get("usage")),
            served_model=body.get("model"),
            system_fingerprint=body.get("system_fingerprint"),
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def _read_stream(self, response: aiohttp.ClientResponse, started: float) -> Completion:
        parts: list[str] = []
        tool_calls: dict[int, dict[str, Any]] = {}
        ttft: float | None = None
        finish_reason = served_model = fingerprint = None
        usage = Usage()
        chunks = iter_sse_data(response, self._where)
        async for chunk in chunks:
            served_model = chunk.get("model") or served_model
            fingerprint = chunk.get("system_fingerprint") or fingerprint
            if chunk.get("usage"):
                usage = parse_usage(chunk["usage"])
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                text = delta.get("content")
                if text:
                    if ttft is None:
                        ttft = (time.perf_counter() - started) * 1000
                    parts.append(text)
                for call in delta.get("tool_calls") or []:
                    if ttft is None:
                        ttft = (time.perf_counter() - started) * 1000
                    slot = tool_calls.setdefault(
                        int(call.get("index", 0)),
                        {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                    )
                    slot["id"] = call.get("id") or slot["id"]
                    function = call.get("function") or {}
                    slot["function"]["name"] += function.get("name") or ""
                    slot["function"]["arguments"] += function.get("arguments") or ""
                finish_reason = choice.get("finish_reason") or finish_reason
        if not chunks.done:
            raise ProviderError(
                f"{self._where}: the stream ended before [DONE] (cut mid-reply)",
                kind="server_error",
            )
        return Completion(
            text="".join(parts),
            tool_calls=[tool_calls[i] for i in sorted(tool_calls)],
            finish_reason=finish_reason,
            usage=usage,
            served_model=served_model,
            system_fingerprint=fingerprint,
            latency_ms=(time.perf_counter() - started) * 1000,
            ttft_ms=ttft,
        )
