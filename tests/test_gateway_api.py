"""The gateway's OpenAI-compatible API, through the official ``openai`` SDK, against the real
server (a subprocess) in front of the fake upstream (OpenAI and Anthropic dialects)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from benchroute.testing import FakeServer, Reply
from tests._gateway import BENCHROUTE, GatewayProcess, openai_model, write_gateway_project

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture(scope="module")
def gateway(upstream: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    folder = tmp_path_factory.mktemp("gateway")
    models = {
        "mini": openai_model(upstream.base_url, "gpt-mini"),
        "claude": {"provider": "anthropic", "model": "claude-fake", "base_url": upstream.url},
    }
    config = write_gateway_project(
        folder, models, {"aliases": {"support": ["mini", "claude"], "claude": ["claude"]}}
    )
    with GatewayProcess(config) as process:
        yield process


def test_plain_completion_with_receipt_headers(gateway: GatewayProcess) -> None:
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="support", messages=[{"role": "user", "content": "hello gateway"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "hello gateway"
    assert completion.usage is not None and completion.usage.prompt_tokens > 0
    assert raw.headers["x-benchroute-model"] == "mini"
    assert len(raw.headers["x-benchroute-endpoint"]) == 16
    assert raw.headers["x-benchroute-attempts"] == "1"
    assert raw.headers["x-benchroute-policy"] == "static-failover"
    receipt = httpx.get(f"{gateway.base_url}/receipts/{raw.headers['x-benchroute-receipt']}").json()
    assert receipt["served"]["model"] == "mini"
    assert [c["outcome"] for c in receipt["candidates"]] == ["served", "not_needed"]
    assert receipt["breakers"][raw.headers["x-benchroute-endpoint"]]["state"] == "closed"


def test_unknown_openai_fields_pass_through(gateway: GatewayProcess, upstream: FakeServer) -> None:
    gateway.client().chat.completions.create(
        model="support",
        messages=[{"role": "user", "content": "pass me through"}],
        user="user-42",
        temperature=0.2,
        extra_body={"custom_field": {"a": 1}},
    )
    sent = next(r for r in reversed(upstream.requests) if r.body and r.body.get("user") == "user-42")
    assert sent.body is not None
    assert sent.body["model"] == "gpt-mini"
    assert sent.body["custom_field"] == {"a": 1}
    assert sent.body["temperature"] == 0.2


def test_streaming_with_usage(gateway: GatewayProcess) -> None:
    stream = gateway.client().chat.completions.create(
        model="support",
        messages=[{"role": "user", "content": "one two three four"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]


def test_streaming_without_usage_drops_the_usage_chunk(gateway: GatewayProcess) -> None:
    chunks = list(
        gateway.client().chat.completions.create(
            model="support", messages=[{"role": "user", "content": "no usage please"}], stream=True
        )
    )
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_tool_call(gateway: GatewayProcess, upstream: FakeServer) -> None:
    upstream.script(
        "gpt-mini",
        [Reply(tool_calls=[{"name": "get_weather", "arguments": json.dumps({"city": "Oslo"})}])],
    )
    completion = gateway.client().chat.completions.create(
        model="support", messages=[{"role": "user", "content": "weather in Oslo?"}], tools=[WEATHER_TOOL]
    )
    call = completion.choices[0].message.tool_calls[0]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Oslo"}


def test_streamed_tool_call(gateway: GatewayProcess, upstream: FakeServer) -> None:
    upstream.script(
        "gpt-mini",
        [Reply(tool_calls=[{"name": "get_weather", "arguments": json.dumps({"city": "Rome"})}])],
    )
    stream = gateway.client().chat.completions.create(
        model="support",
        messages=[{"role": "user", "content": "weather in Rome?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    arguments = ""
    name = ""
    for chunk in stream:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            name += call.function.name or ""
            arguments += call.function.arguments or ""
    assert name == "get_weather"
    assert json.loads(arguments) == {"city": "Rome"}


def test_embeddings(gateway: GatewayProcess) -> None:
    raw = gateway.client().embeddings.with_raw_response.create(model="support", input=["red apple", "green"])
    reply = raw.parse()
    assert [item.index for item in reply.data] == [0, 1]
    assert len(reply.data[0].embedding) == 64
    assert raw.headers["x-benchroute-model"] == "mini"


def test_models_lists_the_aliases(gateway: GatewayProcess) -> None:
    assert sorted(m.id for m in gateway.client().models.list()) == ["claude", "support"]


def test_anthropic_upstream_through_the_openai_sdk(gateway: GatewayProcess) -> None:
    client = gateway.client()
    completion = client.chat.completions.create(
        model="claude",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello claude"}],
    )
    assert completion.choices[0].message.content == "hello claude"
    assert completion.usage is not None and completion.usage.completion_tokens == 2
    chunks = list(
        client.chat.completions.create(
            model="claude",
            messages=[{"role": "user", "content": "stream from claude"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "stream from claude"
    assert chunks[-1].usage is not None


def test_anthropic_tool_call(gateway: GatewayProcess, upstream: FakeServer) -> None:
    upstream.script(
        "claude-fake",
        [Reply(tool_calls=[{"name": "get_weather", "arguments": json.dumps({"city": "Lima"})}])],
    )
    completion = gateway.client().chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "weather in Lima?"}], tools=[WEATHER_TOOL]
    )
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Lima"}


def test_errors_are_openai_shaped(gateway: GatewayProcess) -> None:
    client = gateway.client()
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert "support" in str(missing.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="support", messages=[{"role": "robot", "content": "x"}])
    bad = httpx.post(f"{gateway.base_url}/chat/completions", content=b"{not json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"


def test_health_and_readiness(gateway: GatewayProcess) -> None:
    assert httpx.get(f"{gateway.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{gateway.url}/readyz").json()
    assert ready["status"] == "ready" and ready["aliases"] == 2
    assert httpx.get(f"{gateway.base_url}/receipts/doesnotexist").status_code == 404


def test_alias_naming_an_unknown_model_is_a_config_error(tmp_path: Path) -> None:
    import subprocess

    config = write_gateway_project(
        tmp_path,
        {"mini": openai_model("http://127.0.0.1:9/v1", "m")},
        {"aliases": {"support": ["mini", "mnii"]}},
    )
    done = subprocess.run(
        [*BENCHROUTE, "gateway", "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "benchroute.yaml:" in done.stderr and "gateway.aliases.support[1]" in done.stderr
    assert "Traceback" not in done.stderr
