"""OpenAI-shaped requests to Claude and its replies back, both ways, against the fake
Anthropic Messages endpoint: tools, tool_choice, response_format, images, streaming."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from benchroute.config import ModelSpec
from benchroute.providers import (
    Completion,
    CompletionRequest,
    ProviderContext,
    ProviderError,
    Secrets,
    StreamChunk,
    create_provider,
)
from benchroute.testing import FakeServer, Reply

PNG = "data:image/png;base64,iVBORw0KGgo="
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather by city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def _spec(fake: FakeServer, **fields: Any) -> ModelSpec:
    return ModelSpec(name="c", provider="anthropic", base_url=fake.url, model="claude-x", **fields)


def _run(spec: ModelSpec, body: dict[str, Any], stream: bool) -> tuple[Completion | None, list[StreamChunk]]:
    async def go() -> tuple[Completion | None, list[StreamChunk]]:
        context = ProviderContext(secrets=Secrets({}))
        provider = create_provider(spec, context)
        request = CompletionRequest.from_openai(body)
        try:
            if not stream:
                return await provider.complete(request), []
            return None, [chunk async for chunk in provider.stream(request)]  # type: ignore[attr-defined]
        finally:
            await context.aclose()

    return asyncio.run(go())


def test_request_translation(fake: FakeServer) -> None:
    body = {
        "model": "alias",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": "use metric units"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is here?"},
                    {"type": "image_url", "image_url": {"url": PNG}},
                    {"type": "image_url", "image_url": {"url": "https://example.test/a.jpg"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                    },
                    {
                        "id": "t2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "3 C"},
            {"role": "tool", "tool_call_id": "t2", "content": "18 C"},
        ],
        "tools": [WEATHER],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "max_completion_tokens": 77,
        "user": "u1",
        "seed": 5,
        "frequency_penalty": 0.5,
        "stop": "END",
    }
    _run(_spec(fake), body, stream=False)
    sent = fake.requests[0].body
    assert sent is not None
    assert sent["system"] == "be brief\n\nuse metric units"
    assert sent["max_tokens"] == 77 and sent["metadata"] == {"user_id": "u1"}
    assert sent["stop_sequences"] == ["END"]
    assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert sent["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather by city",
            "input_schema": WEATHER["function"]["parameters"],
        }  # type: ignore[index]
    ]
    assert "seed" not in sent and "frequency_penalty" not in sent and "user" not in sent
    user, assistant, results = sent["messages"]
    assert user["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assert user["content"][2] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.test/a.jpg"},
    }
    assert [b["input"] for b in assistant["content"]] == [{"city": "Oslo"}, {"city": "Rome"}]
    assert results == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "3 C"},
            {"type": "tool_result", "tool_use_id": "t2", "content": "18 C"},
        ],
    }


@pytest.mark.parametrize("field", [{"n": 2}, {"logprobs": True}])
def test_fields_claude_cannot_honour_are_refused(fake: FakeServer, field: dict[str, Any]) -> None:
    with pytest.raises(ProviderError) as raised:
        _run(_spec(fake), {"model": "a", "messages": [{"role": "user", "content": "hi"}], **field}, False)
    assert raised.value.kind == "bad_request" and fake.requests == []


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_come_back_openai_shaped(fake: FakeServer, stream: bool) -> None:
    calls = [{"id": "toolu_1", "name": "get_weather", "arguments": {"city": "Oslo"}}]
    fake.script("claude-x", [Reply(text="checking", tool_calls=calls)])
    body = {"model": "a", "messages": [{"role": "user", "content": "weather?"}], "tools": [WEATHER]}
    completion, chunks = _run(_spec(fake), body, stream)
    if stream:
        assert chunks[0].data["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        deltas = [c.data["choices"][0]["delta"] for c in chunks if c.data["choices"]]
        calls_seen = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
        assert calls_seen[0]["id"] == "toolu_1" and calls_seen[0]["function"]["name"] == "get_weather"
        arguments = "".join(c["function"]["arguments"] for c in calls_seen)
        assert json.loads(arguments) == {"city": "Oslo"}
        assert "".join(c.text for c in chunks) == "checking"
        assert [c.finish_reason for c in chunks if c.finish_reason] == ["tool_calls"]
        assert chunks[-1].usage is not None and chunks[-1].data["usage"]["prompt_tokens"] > 0
    else:
        assert completion is not None
        assert completion.finish_reason == "tool_calls" and completion.text == "checking"
        openai = completion.to_openai("alias")
        message = openai["choices"][0]["message"]
        assert message["tool_calls"][0]["function"] == {
            "name": "get_weather",
            "arguments": '{"city": "Oslo"}',
        }
        assert openai["model"] == "alias" and openai["id"].startswith("msg_fake")
        assert openai["usage"]["completion_tokens"] == completion.usage.output_tokens


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "schema", [{"type": "object", "properties": {"a": {"type": "integer"}}}, {"type": "array"}]
)
def test_json_schema_is_a_forced_tool_answered_as_text(
    fake: FakeServer, stream: bool, schema: dict[str, Any]
) -> None:
    wrapped = schema["type"] != "object"
    value: Any = [1, 2] if wrapped else {"a": 1}
    given = {"value": value} if wrapped else value
    fake.script("claude-x", [Reply(tool_calls=[{"id": "toolu_9", "name": "answer", "arguments": given}])])
    body = {
        "model": "a",
        "messages": [{"role": "user", "content": "json please"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
    }
    completion, chunks = _run(_spec(fake), body, stream)
    sent = fake.requests[0].body
    assert sent is not None and sent["tool_choice"] == {"type": "tool", "name": "answer"}
    assert sent["tools"][0]["name"] == "answer"
    if stream:
        text = "".join(c.text for c in chunks)
        finish = [c.finish_reason for c in chunks if c.finish_reason]
        assert not any("tool_calls" in c.data["choices"][0]["delta"] for c in chunks if c.data["choices"])
    else:
        assert completion is not None and completion.tool_calls == []
        text, finish = completion.text, [completion.finish_reason]
    assert json.loads(text) == value and finish == ["stop"]


def test_json_object_is_an_instruction(fake: FakeServer) -> None:
    body = {
        "model": "a",
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_object"},
    }
    _run(_spec(fake), body, False)
    sent = fake.requests[0].body
    assert sent is not None and "JSON object" in sent["system"]


def test_settings_of_the_kind(fake: FakeServer) -> None:
    spec = _spec(fake, settings={"default_max_tokens": 9})
    _run(spec, {"model": "a", "messages": [{"role": "user", "content": "hi"}]}, False)
    assert fake.requests[0].body is not None and fake.requests[0].body["max_tokens"] == 9
    from benchroute._errors import ConfigError

    with pytest.raises(ConfigError, match=r"settings\.max_tokenz"):
        create_provider(_spec(fake, settings={"max_tokenz": 9}), ProviderContext(secrets=Secrets({})))


def test_old_local_keys_load_and_misplaced_ones_name_the_fix() -> None:
    local = ModelSpec(name="t", provider="local", model="smollm2", threads=2)  # type: ignore[call-arg]
    assert local.settings == {"threads": 2}
    snapshot = ModelSpec(name="o", provider="openai", model="x", threads=1, context_size=2048)  # type: ignore[call-arg]
    assert snapshot.settings == {}
    with pytest.raises(ValueError, match="setting of local models"):
        ModelSpec(name="o", provider="openai", model="x", threads=4)  # type: ignore[call-arg]


def test_the_fake_endpoint_refuses_untranslated_openai_shapes(fake: FakeServer) -> None:
    # What makes the translation tests above worth something: OpenAI's spelling is a 400.
    spec = _spec(fake, params={"tool_choice": "auto"})
    with pytest.raises(ProviderError) as raised:
        _run(spec, {"model": "a", "messages": [{"role": "user", "content": "hi"}]}, False)
    assert raised.value.kind == "bad_request" and "tool_choice" in str(raised.value)
    native = _spec(fake, params={"tool_choice": {"type": "auto"}})
    completion, _ = _run(native, {"model": "a", "messages": [{"role": "user", "content": "hi"}]}, False)
    assert completion is not None and completion.text == "hi"
