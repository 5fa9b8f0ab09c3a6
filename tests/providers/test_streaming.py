"""The provider contract a gateway uses: per-request streaming, pass-through of unknown
OpenAI fields, lossless completions, and stream faults of the fake server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from benchroute.config import ModelSpec
from benchroute.providers import (
    CompletionRequest,
    ProviderContext,
    ProviderError,
    Secrets,
    StreamChunk,
    can_stream,
    create_provider,
)
from benchroute.testing import FakeServer, Reply

TEXT = "one two three four five six"


def _spec(fake: FakeServer, provider: str = "openai", **fields: Any) -> ModelSpec:
    base = fake.base_url if provider == "openai" else fake.url
    return ModelSpec(name="m", provider=provider, base_url=base, model="model-x", **fields)


def _body(**fields: Any) -> dict[str, Any]:
    return {"model": "alias", "messages": [{"role": "user", "content": TEXT}], **fields}


async def _collect(spec: ModelSpec, request: CompletionRequest) -> tuple[list[StreamChunk], Exception | None]:
    context = ProviderContext(secrets=Secrets({}))
    provider = create_provider(spec, context)
    assert can_stream(provider)
    chunks: list[StreamChunk] = []
    try:
        async for chunk in provider.stream(request):  # type: ignore[attr-defined]
            chunks.append(chunk)
    except ProviderError as exc:
        return chunks, exc
    finally:
        await context.aclose()
    return chunks, None


def test_openai_stream_forwards_the_wire_chunks(fake: FakeServer) -> None:
    request = CompletionRequest.from_openai(_body(user="u7", logprobs=False, stream=True))
    chunks, error = asyncio.run(_collect(_spec(fake), request))
    assert error is None
    assert "".join(chunk.text for chunk in chunks) == TEXT
    assert chunks[0].content is False  # the role frame carries no content byte
    assert all(chunk.content for chunk in chunks[1:7])
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]
    last = chunks[-1]
    assert last.usage is not None and last.usage.output_tokens == 6 and last.data["choices"] == []
    assert all(chunk.sse().startswith(b'data: {"id":"chatcmpl-fake') for chunk in chunks)
    body = fake.requests[0].body
    assert body is not None
    assert body["model"] == "model-x" and body["user"] == "u7" and body["logprobs"] is False
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_stream_cut_before_the_first_content_byte(fake: FakeServer, provider: str) -> None:
    fake.fault("cut_stream", count=1, after_chunks=0)
    request = CompletionRequest.from_openai(_body())
    chunks, error = asyncio.run(_collect(_spec(fake, provider), request))
    assert isinstance(error, ProviderError) and error.kind == "server_error"
    assert not any(chunk.content for chunk in chunks)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_stream_cut_after_content(fake: FakeServer, provider: str) -> None:
    fake.fault("cut_stream", count=1, after_chunks=2)
    chunks, error = asyncio.run(_collect(_spec(fake, provider), CompletionRequest.from_openai(_body())))
    assert isinstance(error, ProviderError)
    assert sum(chunk.content for chunk in chunks) == 2


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_stream_errors_before_any_chunk(fake: FakeServer, provider: str) -> None:
    fake.fault("rate_limit", count=1, retry_after=2.5)
    fake.fault("server_error", count=1)
    request = CompletionRequest.from_openai(_body())
    chunks, error = asyncio.run(_collect(_spec(fake, provider), request))
    assert chunks == [] and isinstance(error, ProviderError)
    assert error.kind == "rate_limited" and error.retry_after == 2.5
    chunks, error = asyncio.run(_collect(_spec(fake, provider), request))
    assert chunks == [] and isinstance(error, ProviderError) and error.status == 500


def test_stream_closed_early_drops_the_upstream(fake: FakeServer) -> None:
    fake.fault("hang", count=1, after_chunks=1, hang_seconds=5)

    async def go() -> int:
        context = ProviderContext(secrets=Secrets({}))
        agen = create_provider(_spec(fake), context).stream(CompletionRequest.from_openai(_body()))  # type: ignore[attr-defined]
        seen = 0
        async for chunk in agen:
            seen += chunk.content
            if seen:
                break
        await agen.aclose()
        # The shared session outlives the abandoned request and serves the next one.
        again = create_provider(_spec(fake), context)
        completion = await again.complete(CompletionRequest.from_openai(_body()))
        await context.aclose()
        assert completion.text == TEXT
        return seen

    assert asyncio.run(asyncio.wait_for(go(), 3)) == 1


def test_openai_completion_keeps_the_whole_reply(fake: FakeServer) -> None:
    reply = {
        "id": "chatcmpl-42",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "model-x-0613",
        "system_fingerprint": "fp_1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."},
                "logprobs": {"content": [{"token": "I", "logprob": -0.1}]},
                "finish_reason": "stop",
            },
            {"index": 1, "message": {"role": "assistant", "content": "second"}, "finish_reason": "stop"},
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12, "service_tier": "x"},
    }
    fake.script("model-x", [Reply(body=json.dumps(reply))])

    async def go() -> Any:
        context = ProviderContext(secrets=Secrets({}))
        try:
            return await create_provider(_spec(fake), context).complete(
                CompletionRequest.from_openai(_body(n=2, logprobs=True))
            )
        finally:
            await context.aclose()

    completion = asyncio.run(go())
    assert completion.id == "chatcmpl-42" and completion.created == 1700000000
    assert len(completion.choices) == 2 and completion.choices[1]["message"]["content"] == "second"
    assert completion.refusal == "I can't help with that."
    assert completion.logprobs == reply["choices"][0]["logprobs"]  # type: ignore[index]
    assert completion.raw_usage == reply["usage"]
    assert json.loads(completion.wire_body) == reply
    assert completion.to_openai()["choices"] == reply["choices"]
    assert "choices" not in completion.model_dump()  # stored replies keep the parsed fields
    body = fake.requests[0].body
    assert body is not None and body["n"] == 2 and body["logprobs"] is True


def test_unknown_fields_pass_through_messages() -> None:
    messages = [{"role": "developer", "content": "terse"}, {"role": "user", "content": "hi", "x_tag": 1}]
    request = CompletionRequest.from_openai({"model": "a", "messages": messages, "stream": True, "seed": 3})
    assert request.wire_messages() is messages
    assert request.messages[1].model_extra == {"x_tag": 1}
    assert request.seed == 3 and request.openai_fields == {}
