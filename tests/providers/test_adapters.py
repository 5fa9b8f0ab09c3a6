"""The wire adapters against the fake server: request shape, replies, streaming, errors."""

from __future__ import annotations

import asyncio
import json

import pytest

from benchroute.config import ModelSpec
from benchroute.providers import (
    Completion,
    CompletionRequest,
    Message,
    ProviderContext,
    ProviderError,
    Secrets,
    create_provider,
)
from benchroute.testing import FakeServer, Reply


def _complete(
    spec: ModelSpec, request: CompletionRequest, environ: dict[str, str] | None = None
) -> Completion:
    async def go() -> Completion:
        context = ProviderContext(secrets=Secrets(environ or {}))
        try:
            return await create_provider(spec, context).complete(request)
        finally:
            await context.aclose()

    return asyncio.run(go())


def _request(text: str = "hello there", **fields: object) -> CompletionRequest:
    return CompletionRequest(
        messages=[Message(role="system", content="be brief"), Message(role="user", content=text)],
        **fields,  # type: ignore[arg-type]
    )


def test_openai_request_body_and_reply(fake: FakeServer) -> None:
    spec = ModelSpec(name="m", provider="openai", base_url=fake.base_url, model="gpt-x", params={"seed": 3})
    completion = _complete(spec, _request(max_tokens=20, temperature=0.0, extra={"user": "u1"}))
    assert completion.text == "hello there"
    assert completion.usage.input_tokens > 0 and completion.usage.output_tokens == 2
    (recorded,) = fake.requests
    assert recorded.body is not None
    assert recorded.body["model"] == "gpt-x" and recorded.body["seed"] == 3
    assert recorded.body["max_tokens"] == 20 and recorded.body["user"] == "u1"
    assert [m["role"] for m in recorded.body["messages"]] == ["system", "user"]


def test_openai_tool_calls_pass_through(fake: FakeServer) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
    }
    fake.script("m", [Reply(tool_calls=[call])])
    spec = ModelSpec(name="m", provider="openai", base_url=fake.base_url, model="m")
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    completion = _complete(spec, _request(tools=tools))
    assert completion.tool_calls == [call]
    assert completion.finish_reason == "tool_calls"
    assert fake.requests[0].body is not None and fake.requests[0].body["tools"] == tools


def test_openai_stream_reassembles_text_and_usage(fake: FakeServer) -> None:
    fake.script("m", ["one two three four"])
    spec = ModelSpec(name="m", provider="openai", base_url=fake.base_url, model="m", stream=True)
    completion = _complete(spec, _request())
    assert completion.text == "one two three four"
    assert completion.ttft_ms is not None
    assert completion.usage.output_tokens == 4


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("rate_limit", "rate_limited"),
        ("server_error", "server_error"),
        ("malformed", "malformed_reply"),
        ("garbage", "malformed_reply"),
        ("auth", "auth"),
    ],
)
def test_openai_errors_are_classified(fake: FakeServer, fault: str, kind: str) -> None:
    fake.fault(fault, count=1, retry_after=2)
    spec = ModelSpec(name="m", provider="openai", base_url=fake.base_url, model="m")
    with pytest.raises(ProviderError) as info:
        _complete(spec, _request())
    assert info.value.kind == kind
    if kind == "rate_limited":
        assert info.value.retry_after == 2


def test_unknown_model_is_not_found(fake: FakeServer) -> None:
    spec = ModelSpec(name="m", provider="openai", base_url=fake.base_url, model="does-not-exist")
    with pytest.raises(ProviderError) as info:
        _complete(spec, _request())
    assert info.value.kind == "not_found" and "model id" in str(info.value)


def test_anthropic_adapter(fake: FakeServer) -> None:
    fake.script("claude-x", ["bonjour le monde"])
    spec = ModelSpec(name="c", provider="anthropic", base_url=fake.url, model="claude-x", api_key_env="AK")
    with FakeServer(api_key="sk-ant") as guarded:
        guarded.script("claude-x", ["bonjour le monde"])
        guarded_spec = spec.model_copy(update={"base_url": guarded.url})
        completion = _complete(guarded_spec, _request(max_tokens=50), {"AK": "sk-ant"})
        body = guarded.requests[0].body
    assert completion.text == "bonjour le monde"
    assert completion.finish_reason == "stop"  # OpenAI vocabulary, like every provider
    assert completion.usage.input_tokens > 0 and completion.usage.output_tokens == 3
    assert body is not None and body["system"] == "be brief" and body["max_tokens"] == 50
    assert [m["role"] for m in body["messages"]] == ["user"]

    streamed = _complete(spec.model_copy(update={"stream": True}), _request(), {"AK": "k"})
    assert streamed.text == "bonjour le monde" and streamed.ttft_ms is not None


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_tool_calls_are_openai_shaped(fake: FakeServer, stream: bool) -> None:
    calls = [
        {"id": "toolu_1", "name": "get_weather", "arguments": {"city": "Oslo", "days": 2}},
        {"id": "toolu_2", "name": "get_time", "arguments": {}},
    ]
    fake.script("claude-x", [Reply(text="let me look", tool_calls=calls)])
    spec = ModelSpec(name="c", provider="anthropic", base_url=fake.url, model="claude-x", stream=stream)
    openai_tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather by city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    anthropic_tool = {"name": "get_time", "input_schema": {"type": "object"}}
    completion = _complete(spec, _request(tools=[openai_tool, anthropic_tool]))

    assert completion.text == "let me look"
    assert completion.finish_reason == "tool_calls"
    assert [c["id"] for c in completion.tool_calls] == ["toolu_1", "toolu_2"]
    for got, want in zip(completion.tool_calls, calls, strict=True):
        assert set(got) == {"id", "type", "function"} and got["type"] == "function"
        assert got["function"]["name"] == want["name"]
        assert isinstance(got["function"]["arguments"], str)
        assert json.loads(got["function"]["arguments"]) == want["arguments"]
    if stream:
        assert completion.ttft_ms is not None

    body = fake.requests[0].body
    assert body is not None
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather by city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
        anthropic_tool,
    ]


def test_anthropic_counts_cache_creation_tokens(fake: FakeServer) -> None:
    reply = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 10,
            "output_tokens": 1,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 30,
        },
    }
    fake.script("claude-x", [Reply(body=json.dumps(reply))])
    spec = ModelSpec(name="c", provider="anthropic", base_url=fake.url, model="claude-x")
    completion = _complete(spec, _request())
    assert completion.usage.input_tokens == 140
    assert completion.usage.cached_input_tokens == 30
    assert completion.usage.output_tokens == 1


def test_anthropic_wrong_key(fake: FakeServer) -> None:
    with FakeServer(api_key="sk-right") as guarded:
        spec = ModelSpec(name="c", provider="anthropic", base_url=guarded.url, model="c", api_key_env="AK")
        with pytest.raises(ProviderError) as info:
            _complete(spec, _request(), {"AK": "sk-wrong-value"})
    assert info.value.kind == "auth" and "sk-wrong-value" not in str(info.value)


def test_prices_from_genai_prices_and_overrides() -> None:
    from genai_prices import Usage as PriceUsage
    from genai_prices import calc_price

    from benchroute.config import PriceOverride
    from benchroute.providers import PriceBook, Usage

    remote = ModelSpec(name="mini", provider="openai", model="gpt-4o-mini")
    override = ModelSpec(
        name="own",
        provider="openai",
        model="x",
        base_url="http://127.0.0.1:9/v1",
        prices=PriceOverride(input_per_mtok=1.0, output_per_mtok=2.0, cached_input_per_mtok=0.5),
    )
    local = ModelSpec(name="local", provider="local", model="smollm2", compute_usd_per_hour=3.6)
    book = PriceBook([remote, override, local])
    usage = Usage(input_tokens=1000, output_tokens=500, cached_input_tokens=200)
    expected = calc_price(
        PriceUsage(input_tokens=1000, output_tokens=500, cache_read_tokens=200),
        "gpt-4o-mini",
        provider_id="openai",
    )
    assert book.cost("mini", usage, 10) == pytest.approx(float(expected.total_price))
    assert book.cost("own", usage, 10) == pytest.approx((800 * 1.0 + 200 * 0.5 + 500 * 2.0) / 1e6)
    assert book.cost("local", usage, 1000) == pytest.approx(0.001)
    assert book.snapshot()["mini"]["source"].startswith("genai-prices")
    assert book.snapshot()["own"]["source"] == "override"


def test_openai_embeddings_and_the_scoring_context(fake: FakeServer) -> None:
    from benchroute.scorers import ScoringContext
    from benchroute.scorers._embeddings import cosine

    spec = ModelSpec(name="emb", provider="openai", base_url=fake.base_url, model="text-embedding-x")

    async def go() -> list[list[float]]:
        context = ScoringContext({"emb": spec}, embedding_model="emb")
        try:
            return await context.embed(["the cat sat", "the cat sat down", "stock prices fell"])
        finally:
            await context.aclose()

    a, b, c = asyncio.run(go())
    assert abs(sum(x * x for x in a) - 1.0) < 1e-9
    assert cosine(a, b) > cosine(a, c)
    assert fake.requests[0].path == "/v1/embeddings"
    assert fake.requests[0].body is not None and fake.requests[0].body["model"] == "text-embedding-x"
