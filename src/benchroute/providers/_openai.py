"""The OpenAI-compatible chat completions adapter (OpenAI, vLLM, llama.cpp server, Ollama,
OpenRouter, ... — any endpoint that speaks ``POST {base_url}/chat/completions``).

Non-streaming by default; with ``stream: true`` it reads server-sent events and measures
time to first token. Tool calls pass through unchanged; the served model name and
``system_fingerprint`` are recorded so a silent model update shows up in the results.

For a gateway the adapter is a pass-through: request fields it does not know are sent as
given, a completion keeps the reply's bytes (:attr:`Completion.wire_body`) and every choice,
and :meth:`OpenAIProvider.stream` yields each chunk's JSON bytes as received, with the few
figures a gateway acts on (content seen, finish reason, usage) found by a byte search; a
chunk is parsed only when it carries usage or an error, so forwarding a stream costs no
JSON round trip per chunk.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

import aiohttp
from pydantic import BaseModel, ConfigDict

from .._urls import display_url
from ._context import ProviderContext
from ._http import iter_sse_data, loads_object, malformed, post_json
from ._types import Completion, CompletionRequest, ProviderError, StreamChunk, Usage

if TYPE_CHECKING:
    from ..config import ModelSpec
    from ._loadpath import ChatCompletionsSender

DEFAULT_BASE_URL = "https://api.openai.com/v1"

# Found in a chunk's JSON bytes (see StreamChunk on why a key match is exact enough).
_USAGE: Final = re.compile(rb'"usage"\s*:\s*\{')
_FINISH: Final = re.compile(rb'"finish_reason"\s*:\s*"([^"]+)"')
_ERROR: Final = re.compile(rb'"error"\s*:\s*\{')


class OpenAISettings(BaseModel):
    """Settings of the ``openai`` kind: none beyond the common ones (``params`` and
    ``headers`` shape the request)."""

    model_config = ConfigDict(extra="forbid")


def request_body(model: str, request: CompletionRequest, defaults: dict[str, Any]) -> dict[str, Any]:
    """The wire body: model defaults first, then the request's own settings, then the
    OpenAI fields the request model does not name and the native extra fields."""
    body: dict[str, Any] = {"model": model, **defaults}
    body["messages"] = request.wire_messages()
    body.update(request.set_fields())
    if request.__pydantic_extra__:
        body.update(request.__pydantic_extra__)
    body.update(request.extra)
    return body


async def _line_batches(response: aiohttp.ClientResponse) -> AsyncIterator[list[bytes]]:
    """The body's lines, a list per read: each read's complete lines (a line cut by the read
    waits for the next); a last line without its newline comes at the end."""
    pieces: list[bytes] = []  # a line still being received, in pieces (no quadratic joins)
    async for received in response.content.iter_any():
        if b"\n" not in received:
            pieces.append(received)
            continue
        lines = received.split(b"\n")
        if pieces:
            lines[0] = b"".join([*pieces, lines[0]])
            pieces.clear()
        rest = lines.pop()
        if rest:
            pieces.append(rest)
        yield lines
    if pieces:
        yield [b"".join(pieces)]


def _streaming(body: dict[str, Any]) -> dict[str, Any]:
    # Usage is always asked for: a gateway bills and logs from it (and drops the usage chunk
    # for a client that did not ask). Other stream options the defaults set are kept.
    body["stream"] = True
    options = body.get("stream_options")
    body["stream_options"] = (
        {**options, "include_usage": True} if isinstance(options, dict) else {"include_usage": True}
    )
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

    supports_streaming: ClassVar[bool] = True
    settings_model: ClassVar[type[BaseModel]] = OpenAISettings

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
            _streaming(body)
        started = time.perf_counter()
        async with post_json(self._context.session, self._url, body, self._headers, self._where) as response:
            if self.spec.stream:
                return await self._read_stream(response, started)
            raw = await response.read()
        return self._parse(raw, started)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamChunk]:
        """The reply as it streams (see :meth:`StreamingProvider.stream`): each chunk's JSON
        bytes as the endpoint sent them."""
        body = _streaming(request_body(self.spec.model, request, self.spec.params))
        where = self._where
        async with post_json(self._context.session, self._url, body, self._headers, where) as response:
            # Whatever arrived in one read is split into its events here (rather than a
            # readline per event), so the chunks that came together are marked ``pending``
            # and a gateway forwards them in one write.
            async for lines in _line_batches(response):
                events = [line[5:].strip() for line in lines if line.startswith(b"data:")]
                events = [data for data in events if data]
                last = len(events) - 1
                for i, data in enumerate(events):
                    if data == b"[DONE]":
                        return
                    usage = None
                    parsed: dict[str, Any] | None = None
                    if _ERROR.search(data) is not None or _USAGE.search(data) is not None:
                        parsed = loads_object(data, where)
                        _raise_stream_error(parsed, where)
                        raw_usage = parsed.get("usage")
                        if isinstance(raw_usage, dict):
                            usage = parse_usage(raw_usage)
                    finish = _FINISH.search(data)
                    yield StreamChunk(
                        raw=data,
                        data=parsed,
                        finish_reason=finish.group(1).decode() if finish is not None else None,
                        usage=usage,
                        pending=i < last,
                    )
        raise ProviderError(f"{where}: the stream ended before [DONE] (cut mid-reply)", kind="server_error")

    def load_sender(
        self, requests: list[CompletionRequest], max_connections: int | None = None
    ) -> ChatCompletionsSender:
        """A lean sender for load tests: each body serialised once (see ``_loadpath``)."""
        bodies: list[dict[str, Any]] = []
        for request in requests:
            body = request_body(self.spec.model, request, self.spec.params)
            if self.spec.stream:
                _streaming(body)
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

    async def embeddings(self, payload: Mapping[str, Any]) -> tuple[dict[str, Any], bytes]:
        """An OpenAI ``/embeddings`` call as a gateway forwards it: ``payload`` is the
        client's body (its ``model`` replaced by this model's id); returns the parsed reply
        and its bytes as sent."""
        url = self._url.removesuffix("/chat/completions") + "/embeddings"
        body = {**payload, "model": self.spec.model}
        async with post_json(self._context.session, url, body, self._headers, self._where) as response:
            raw = await response.read()
        reply = loads_object(raw, self._where)
        if not isinstance(reply.get("data"), list):
            raise malformed(self._where, "embeddings reply without a 'data' list", raw)
        return reply, raw

    def _parse(self, raw: bytes, started: float) -> Completion:
        body = loads_object(raw, self._where)
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise malformed(self._where, "no 'choices' in the reply", raw)
        first = choices[0]
        message = first.get("message")
        if not isinstance(message, dict):
            raise malformed(self._where, "no 'message' in choices[0]", raw)
        content = message.get("content")
        tool_calls = message.get("tool_calls")
        refusal = message.get("refusal")
        logprobs = first.get("logprobs")
        raw_usage = body.get("usage")
        reply_id = body.get("id")
        created = body.get("created")
        completion = Completion(
            text=content if isinstance(content, str) else "",
            tool_calls=tool_calls if isinstance(tool_calls, list) else [],
            finish_reason=first.get("finish_reason"),
            usage=parse_usage(raw_usage),
            served_model=body.get("model"),
            system_fingerprint=body.get("system_fingerprint"),
            latency_ms=(time.perf_counter() - started) * 1000,
            id=reply_id if isinstance(reply_id, str) else None,
            created=created if isinstance(created, int) else None,
            refusal=refusal if isinstance(refusal, str) else None,
            logprobs=logprobs if isinstance(logprobs, dict) else None,
            raw_usage=raw_usage if isinstance(raw_usage, dict) else None,
            choices=[choice for choice in choices if isinstance(choice, dict)],
        )
        completion._wire = raw
        return completion

    async def _read_stream(self, response: aiohttp.ClientResponse, started: float) -> Completion:
        parts: list[str] = []
        tool_calls: dict[int, dict[str, Any]] = {}
        refusal: list[str] = []
        ttft: float | None = None
        finish_reason = served_model = fingerprint = reply_id = None
        usage = Usage()
        raw_usage: dict[str, Any] | None = None
        created: int | None = None
        chunks = iter_sse_data(response, self._where)
        async for chunk in chunks:
            _raise_stream_error(chunk, self._where)
            served_model = chunk.get("model") or served_model
            fingerprint = chunk.get("system_fingerprint") or fingerprint
            reply_id = reply_id or chunk.get("id")
            if created is None and isinstance(chunk.get("created"), int):
                created = chunk["created"]
            if chunk.get("usage"):
                raw_usage = chunk["usage"] if isinstance(chunk["usage"], dict) else None
                usage = parse_usage(chunk["usage"])
            for choice in chunk.get("choices") or []:
                if choice.get("index", 0) != 0:
                    continue  # the parsed fields are the first choice's
                delta = choice.get("delta") or {}
                if delta.get("refusal"):
                    refusal.append(str(delta["refusal"]))
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
            id=reply_id if isinstance(reply_id, str) else None,
            created=created,
            refusal="".join(refusal) or None,
            raw_usage=raw_usage,
        )


def _raise_stream_error(chunk: dict[str, Any], where: str) -> None:
    """An error event inside a stream (``data: {"error": {...}}``) as a ProviderError."""
    error = chunk.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("type") or error)[:300]
        raise ProviderError(f"{where}: stream error: {message}", kind="server_error")
