"""Tests for benchroute.testing.FakeServer: real HTTP against a real socket, nothing patched.

Most tests share one server (starting one costs a thread and a socket) and a fixture puts
it back to a blank state before each test. Tests that need different constructor
arguments (an API key, a suffix, a latency) start their own.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from benchroute.testing import FakeServer, RecordedRequest, Reply

pytestmark = pytest.mark.timeout(60)

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
SRC = Path(__file__).resolve().parents[2] / "src"
DEFAULT_RESPONDER = FakeServer().responder


@pytest.fixture(scope="module")
def shared() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def srv(shared: FakeServer) -> FakeServer:
    shared.reset()
    shared.answers({})
    shared.responder = DEFAULT_RESPONDER
    shared.latency = 0.0
    return shared


def chat_body(text: str = "hello there world", model: str = "m", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def anthropic_body(text: str = "hello there world", **extra: Any) -> dict[str, Any]:
    body = {"model": "claude", "max_tokens": 100, "messages": [{"role": "user", "content": text}]}
    return {**body, **extra}


def post(
    target: FakeServer | str, path: str, body: object, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One blocking request with urllib: status, headers, raw body (errors included)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    base = target if isinstance(target, str) else target.url
    request = urllib.request.Request(
        base + path,
        data=data,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def post_json(target: FakeServer | str, path: str, body: object, **kw: Any) -> tuple[int, Any]:
    status, _, raw = post(target, path, body, **kw)
    return status, json.loads(raw)


def sse_data(raw: bytes) -> list[str]:
    """The ``data:`` payloads of an SSE body, in order."""
    out = []
    for event in raw.decode().split("\n\n"):
        for line in event.splitlines():
            if line.startswith("data: "):
                out.append(line[len("data: ") :])
    return out


def sse_events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) pairs of an Anthropic-style SSE body."""
    out = []
    for event in raw.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in event.splitlines() if ": " in line)
        if fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def many(
    server: FakeServer, n: int, body: dict[str, Any], path: str = CHAT, concurrency: int = 16
) -> list[tuple[int, dict[str, str], bytes]]:
    """``n`` requests over aiohttp, in order of issue; exceptions become status -1."""

    async def run() -> list[tuple[int, dict[str, str], bytes]]:
        limit = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession() as session:

            async def one() -> tuple[int, dict[str, str], bytes]:
                async with limit:
                    try:
                        async with session.post(server.url + path, json=body) as response:
                            return response.status, dict(response.headers), await response.read()
                    except aiohttp.ClientError:
                        return -1, {}, b""

            return await asyncio.gather(*(one() for _ in range(n)))

    return asyncio.run(run())


# -- OpenAI chat completions ----------------------------------------------------------------


def test_non_stream_reply_has_openai_shape_and_usage() -> None:
    with FakeServer(served_model_suffix="-2024-01-01") as server:
        body = chat_body(messages=[{"role": "system", "content": "be brief"}])
        body["messages"].append({"role": "user", "content": "hello there world"})
        status, data = post_json(server, CHAT, body)
    assert status == 200
    assert data["object"] == "chat.completion"
    assert data["id"].startswith("chatcmpl-")
    assert isinstance(data["created"], int)
    assert data["model"] == "m-2024-01-01"
    assert data["system_fingerprint"] == "fp_fake"
    choice = data["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "hello there world"  # echo of the last user message
    assert "tool_calls" not in choice["message"]
    assert choice["finish_reason"] == "stop"
    # 2 + 3 words of messages, plus 3 per message; the reply has 3 words.
    assert data["usage"] == {
        "prompt_tokens": 11,
        "completion_tokens": 3,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def test_stream_reassembles_with_usage_chunk_and_done(srv: FakeServer) -> None:
    text = "the quick  brown fox\njumps over the lazy dog "
    srv.script("m", [text])
    body = chat_body(stream=True, stream_options={"include_usage": True})
    status, headers, raw = post(srv, CHAT, body)
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    payloads = sse_data(raw)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert len([c for c in content if c]) >= 5  # really several chunks, not one
    assert "".join(c or "" for c in content) == text
    finals = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [f["choices"][0]["finish_reason"] for f in finals] == ["stop"]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 9


def test_stream_without_include_usage_sends_no_usage(srv: FakeServer) -> None:
    status, _, raw = post(srv, CHAT, chat_body(stream=True))
    assert status == 200
    chunks = [json.loads(p) for p in sse_data(raw)[:-1]]
    assert all(c["choices"] for c in chunks)
    assert all("usage" not in c for c in chunks)


def test_max_tokens_truncates_with_finish_reason_length(srv: FakeServer) -> None:
    srv.responder = lambda model, messages: "one two three four five"
    status, data = post_json(srv, CHAT, chat_body(max_tokens=2))
    assert status == 200
    assert data["choices"][0]["message"]["content"] == "one two"
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 2

    _, _, raw = post(srv, CHAT, chat_body(stream=True, max_completion_tokens=3))
    chunks = [json.loads(p) for p in sse_data(raw)[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "one two three"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_scripts_are_consumed_in_order_per_model_then_fall_back(srv: FakeServer) -> None:
    srv.script("a", ["a1", Reply(text="a2")])
    srv.script("b", ["b1"])
    srv.script("a", ["a3"])  # appended to a's queue
    srv.answers({"fallback?": "from answers"})
    order = ["a", "b", "a", "b", "a", "a"]
    texts = [
        post_json(srv, CHAT, chat_body("fallback?", model=m))[1]["choices"][0]["message"]["content"]
        for m in order
    ]
    assert texts == ["a1", "b1", "a2", "from answers", "a3", "from answers"]


def test_answers_lookup_is_exact_on_stripped_last_user_text(srv: FakeServer) -> None:
    srv.answers({"  What is 2+2?\n": "4"})
    srv.responder = lambda model, messages: f"{model} saw {len(messages)}"
    messages = [
        {"role": "user", "content": "ignored"},
        {"role": "assistant", "content": "sure"},
        {"role": "user", "content": [{"type": "text", "text": " What is 2+2? "}]},
    ]

    def text(body: dict[str, Any]) -> str:
        return str(post_json(srv, CHAT, body)[1]["choices"][0]["message"]["content"])

    assert text({"model": "m", "messages": messages}) == "4"
    assert text(chat_body("what is 2+2?")) == "m saw 1"  # exact: case matters


def test_reply_fields_status_headers_body_tools_usage_delay(srv: FakeServer) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    srv.script(
        "m",
        [
            Reply(status=503, text="overloaded", headers={"X-Test": "yes"}),
            Reply(body='{"anything": true}', status=202),
            Reply(tool_calls=[call]),
            Reply(text="hi", usage={"prompt_tokens": 1000, "completion_tokens": 7}),
            Reply(text="late", delay=0.2),
        ],
    )
    status, headers, raw = post(srv, CHAT, chat_body())
    assert (status, headers["X-Test"]) == (503, "yes")
    assert json.loads(raw)["error"]["message"] == "overloaded"
    assert post(srv, CHAT, chat_body())[::2] == (202, b'{"anything": true}')
    message = post_json(srv, CHAT, chat_body())[1]["choices"][0]
    assert message["finish_reason"] == "tool_calls"
    assert message["message"]["tool_calls"] == [call]
    assert message["message"]["content"] is None
    usage = post_json(srv, CHAT, chat_body())[1]["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        1000,
        7,
        1007,
    )
    started = time.monotonic()
    assert post_json(srv, CHAT, chat_body())[1]["choices"][0]["message"]["content"] == "late"
    assert time.monotonic() - started >= 0.2


def test_streamed_tool_calls(srv: FakeServer) -> None:
    srv.script("m", [Reply(tool_calls=[{"name": "lookup", "arguments": {"q": "x"}}])])
    chunks = [json.loads(p) for p in sse_data(post(srv, CHAT, chat_body(stream=True))[2])[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    calls = [d["tool_calls"] for d in deltas if "tool_calls" in d]
    assert calls[0][0]["function"] == {"name": "lookup", "arguments": '{"q": "x"}'}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_responder_exception_is_a_500_naming_it(srv: FakeServer) -> None:
    def broken(model: str, messages: list[dict[str, Any]]) -> str:
        raise KeyError("boom")

    srv.responder = broken
    status, data = post_json(srv, CHAT, chat_body())
    assert status == 500
    assert "KeyError" in data["error"]["message"]


def test_latency_delays_every_completion() -> None:
    with FakeServer(latency=0.15) as server:
        started = time.monotonic()
        assert post(server, CHAT, chat_body())[0] == 200
        assert time.monotonic() - started >= 0.15


def test_unknown_model_is_fine_but_does_not_exist_is_404(srv: FakeServer) -> None:
    assert post(srv, CHAT, chat_body(model="whatever-model-v9"))[0] == 200
    status, data = post_json(srv, CHAT, chat_body(model="does-not-exist"))
    assert status == 404
    assert data["error"]["code"] == "model_not_found"
    status, data = post_json(srv, MESSAGES, {**anthropic_body(), "model": "does-not-exist"})
    assert status == 404
    assert data == {"type": "error", "error": {"type": "not_found_error", "message": ANY_STR}}


class _AnyStr:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str)


ANY_STR: Any = _AnyStr()


def test_invalid_requests_get_400(srv: FakeServer) -> None:
    assert post(srv, CHAT, b"{not json")[0] == 400
    assert post(srv, CHAT, {"model": "m"})[0] == 400
    assert post(srv, CHAT, {"messages": []})[0] == 400
    assert post(srv, CHAT, chat_body(max_tokens=0))[0] == 400
    no_max = anthropic_body()
    del no_max["max_tokens"]
    status, data = post_json(srv, MESSAGES, no_max)
    assert (status, data["error"]["type"]) == (400, "invalid_request_error")


# -- faults -----------------------------------------------------------------------------


def test_rate_limit_fault_has_retry_after_and_openai_error(srv: FakeServer) -> None:
    srv.fault("rate_limit", count=1)
    srv.fault("rate_limit", count=1, retry_after=0.25)
    status, headers, raw = post(srv, CHAT, chat_body())
    assert status == 429
    assert headers["Retry-After"] == "1"
    error = json.loads(raw)["error"]
    assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
    status, headers, _ = post(srv, CHAT, chat_body())
    assert (status, headers["Retry-After"], headers["retry-after-ms"]) == (429, "0.25", "250")
    assert post(srv, CHAT, chat_body())[0] == 200


def test_count_fault_hits_exactly_n_then_stops(srv: FakeServer) -> None:
    srv.fault("server_error", count=7)
    statuses = [r[0] for r in many(srv, 30, chat_body(), concurrency=1)]
    assert statuses == [500] * 7 + [200] * 23


def test_rate_fault_is_seeded_and_roughly_that_rate(srv: FakeServer) -> None:
    srv.fault("server_error", rate=0.2, seed=7)
    first = [r[0] for r in many(srv, 500, chat_body(), concurrency=1)]
    assert 70 <= first.count(500) <= 130
    assert set(first) == {200, 500}
    srv.reset()
    srv.fault("server_error", rate=0.2, seed=7)
    assert [r[0] for r in many(srv, 500, chat_body(), concurrency=1)] == first


def test_model_scoped_faults_and_first_match_wins(srv: FakeServer) -> None:
    srv.fault("auth", model="b")
    srv.fault("rate_limit", count=2)
    srv.fault("server_error")
    assert post(srv, CHAT, chat_body(model="b"))[0] == 401
    assert post(srv, CHAT, chat_body(model="a"))[0] == 429
    assert post(srv, CHAT, chat_body(model="b"))[0] == 401  # the model rule comes first
    assert post(srv, CHAT, chat_body(model="a"))[0] == 429
    assert post(srv, CHAT, chat_body(model="a"))[0] == 500
    srv.clear_faults()
    assert post(srv, CHAT, chat_body(model="b"))[0] == 200


def test_fault_leaves_the_script_for_the_retry(srv: FakeServer) -> None:
    srv.script("m", ["scripted"])
    srv.fault("server_error", count=1)
    assert post(srv, CHAT, chat_body())[0] == 500
    assert post_json(srv, CHAT, chat_body())[1]["choices"][0]["message"]["content"] == "scripted"


def test_malformed_and_garbage_faults(srv: FakeServer) -> None:
    srv.fault("malformed", count=1)
    srv.fault("garbage", count=1)
    status, headers, raw = post(srv, CHAT, chat_body())
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    status, data = post_json(srv, CHAT, chat_body())
    assert status == 200
    assert isinstance(data, dict)
    assert "choices" not in data


def test_auth_fault_is_401(srv: FakeServer) -> None:
    srv.fault("auth", count=1)
    status, data = post_json(srv, CHAT, chat_body())
    assert status == 401
    assert data["error"]["code"] == "invalid_api_key"


def test_hang_fault_sleeps_then_answers(srv: FakeServer) -> None:
    srv.fault("hang", count=1, hang_seconds=0.3)
    started = time.monotonic()
    status, data = post_json(srv, CHAT, chat_body("still here"))
    assert time.monotonic() - started >= 0.3
    assert (status, data["choices"][0]["message"]["content"]) == (200, "still here")


def test_client_giving_up_on_a_hang_does_not_block_stop() -> None:
    server = FakeServer().start()
    server.fault("hang", hang_seconds=30)

    async def give_up() -> None:
        timeout = aiohttp.ClientTimeout(total=0.2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            with pytest.raises(asyncio.TimeoutError):
                await session.post(server.url + CHAT, json=chat_body())

    asyncio.run(give_up())
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    assert server.requests[0].status == 0  # never answered


def test_cut_stream_closes_mid_stream_without_done(srv: FakeServer) -> None:
    srv.fault("cut_stream")
    received: list[bytes] = []

    async def read_stream() -> None:
        async with aiohttp.ClientSession() as session:
            body = chat_body("a long enough prompt to be cut", stream=True)
            async with session.post(srv.url + CHAT, json=body) as response:
                assert response.status == 200
                with pytest.raises(aiohttp.ClientPayloadError):
                    async for line in response.content:
                        received.append(line)
            async with session.post(srv.url + CHAT, json=chat_body()) as response:
                assert response.status == 200
                with pytest.raises(aiohttp.ClientPayloadError):
                    await response.read()

    asyncio.run(read_stream())
    data = [line for line in received if line.startswith(b"data: ")]
    assert data  # some chunks arrived first
    assert b"data: [DONE]\n" not in received
    assert [r.status for r in srv.requests] == [200, 200]


def test_fault_arguments_are_validated(srv: FakeServer) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        srv.fault("explode")
    with pytest.raises(ValueError):
        srv.fault("rate_limit", rate=1.5)
    with pytest.raises(ValueError):
        srv.rate_limit(0)


# -- auth -------------------------------------------------------------------------------


def test_api_key_is_required_and_never_echoed() -> None:
    key = "sk-test-secret-123"
    with FakeServer(api_key=key) as server:
        status, raw = post(server, CHAT, chat_body())[::2]
        assert status == 401
        assert json.loads(raw) == {
            "error": {
                "message": "Incorrect API key provided",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        }
        wrong = post(server, CHAT, chat_body(), headers={"Authorization": "Bearer sk-wrong"})
        assert wrong[0] == 401
        assert b"sk-wrong" not in wrong[2]
        good = post(server, CHAT, chat_body(), headers={"Authorization": f"Bearer {key}"})
        assert good[0] == 200
        # Anthropic route: x-api-key, with Anthropic's error shape.
        status, data = post_json(server, MESSAGES, anthropic_body())
        assert (status, data["error"]["type"]) == (401, "authentication_error")
        assert post(server, MESSAGES, anthropic_body(), headers={"x-api-key": key})[0] == 200
        records = server.requests
    assert [(r.status, r.authorization) for r in records] == [
        (401, False),
        (401, True),
        (200, True),
        (401, False),
        (200, True),
    ]
    assert key not in repr(records)


# -- Anthropic Messages -------------------------------------------------------------------


def test_anthropic_non_stream_shape(srv: FakeServer) -> None:
    body = anthropic_body(system=[{"type": "text", "text": "be brief"}], max_tokens=2)
    status, data = post_json(srv, MESSAGES, body)
    assert status == 200
    assert data["type"] == "message"
    assert data["role"] == "assistant"
    assert data["model"] == "claude"
    assert data["content"] == [{"type": "text", "text": "hello there"}]
    assert data["stop_reason"] == "max_tokens"
    assert data["usage"]["input_tokens"] == 11  # system 2+3, user 3+3
    assert data["usage"]["output_tokens"] == 2
    assert data["usage"]["cache_read_input_tokens"] == 0
    _, data = post_json(srv, MESSAGES, anthropic_body())
    assert data["stop_reason"] == "end_turn"


def test_anthropic_stream_event_order(srv: FakeServer) -> None:
    srv.script("claude", ["streamed from the fake anthropic"])
    status, headers, raw = post(srv, MESSAGES, anthropic_body(stream=True))
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    events = sse_events(raw)
    names = [name for name, _ in events]
    assert all(name == data["type"] for name, data in events)
    deltas = names.count("content_block_delta")
    assert deltas >= 3
    assert names == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "streamed from the fake anthropic"
    message_delta = events[-2][1]
    assert message_delta["delta"]["stop_reason"] == "end_turn"
    assert message_delta["usage"]["output_tokens"] == 5


def test_anthropic_errors_use_anthropic_format(srv: FakeServer) -> None:
    srv.fault("rate_limit", count=1)
    srv.fault("server_error", count=1)
    status, headers, raw = post(srv, MESSAGES, anthropic_body())
    assert (status, headers["Retry-After"]) == (429, "1")
    assert json.loads(raw)["error"]["type"] == "rate_limit_error"
    status, data = post_json(srv, MESSAGES, anthropic_body())
    assert status == 500
    assert data == {"type": "error", "error": {"type": "api_error", "message": ANY_STR}}


def test_anthropic_tool_use_blocks(srv: FakeServer) -> None:
    call = {"name": "lookup", "arguments": {"q": "x"}}
    srv.script("claude", [Reply(tool_calls=[call]), Reply(text="let me look", tool_calls=[call])])
    _, data = post_json(srv, MESSAGES, anthropic_body())
    assert data["stop_reason"] == "tool_use"
    assert [b["type"] for b in data["content"]] == ["tool_use"]
    assert (data["content"][0]["name"], data["content"][0]["input"]) == ("lookup", {"q": "x"})
    events = sse_events(post(srv, MESSAGES, anthropic_body(stream=True))[2])
    starts = [d["content_block"]["type"] for n, d in events if n == "content_block_start"]
    assert starts == ["text", "tool_use"]
    partial = [d["delta"] for n, d in events if n == "content_block_delta" and d["index"] == 1]
    assert len(partial) == 3  # in pieces, as the real API streams a tool's input
    assert json.loads("".join(d["partial_json"] for d in partial)) == {"q": "x"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


# -- server-side rate limit, records, control routes -------------------------------------


def test_server_side_rate_limit_refuses_above_the_rate(srv: FakeServer) -> None:
    srv.rate_limit(10, burst=5)
    started = time.monotonic()
    results = many(srv, 40, chat_body(), concurrency=40)
    elapsed = time.monotonic() - started
    statuses = [r[0] for r in results]
    # The burst passes, plus whatever refilled at 10/s while the 40 arrived.
    assert 5 <= statuses.count(200) <= 5 + int(elapsed * 10) + 1
    refused = [r for r in results if r[0] == 429]
    assert refused
    waits = [float(r[1]["Retry-After"]) for r in refused]
    assert all(0 < w <= 0.1 for w in waits)
    time.sleep(max(waits))
    assert post(srv, CHAT, chat_body())[0] == 200


def test_requests_are_recorded_as_snapshots(srv: FakeServer) -> None:
    before = time.monotonic()
    post(srv, CHAT, chat_body(model="x"))
    snapshot = srv.requests
    post(srv, CHAT, chat_body(model="y"))
    assert len(snapshot) == 1
    first = snapshot[0]
    assert isinstance(first, RecordedRequest)
    assert first.path == CHAT
    assert first.model == "x"
    assert first.body == chat_body(model="x")
    assert first.status == 200
    assert first.authorization is False
    assert before <= first.time <= time.monotonic()
    assert [r.model for r in srv.requests] == ["x", "y"]
    with pytest.raises(AttributeError):
        first.status = 500  # type: ignore[misc]


def test_models_stats_and_reset_routes(srv: FakeServer) -> None:
    srv.script("scripted-model", ["x"])
    post(srv, CHAT, chat_body(model="seen"))
    post(srv, CHAT, chat_body(model="does-not-exist"))
    with urllib.request.urlopen(srv.base_url + "/models", timeout=5) as response:
        models = json.load(response)
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["scripted-model", "seen"]
    with urllib.request.urlopen(srv.url + "/_stats", timeout=5) as response:
        stats = json.load(response)
    # GET /v1/models is a request too; the control routes are not.
    assert stats == {
        "requests": 3,
        "by_status": {"200": 2, "404": 1},
        "by_model": {"does-not-exist": 1, "seen": 1},
    }
    assert post(srv, "/_reset", {})[0] == 200
    assert srv.requests == []
    assert srv.stats()["requests"] == 0
    # The script was forgotten too: the reply is the echo again.
    data = post_json(srv, CHAT, chat_body("echo me", model="scripted-model"))[1]
    assert data["choices"][0]["message"]["content"] == "echo me"


def test_lifecycle() -> None:
    server = FakeServer()
    with pytest.raises(RuntimeError):
        _ = server.url
    assert server.start() is server
    assert server.base_url == server.url + "/v1"
    assert server.url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        server.start()
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = server.url


def test_serve_in_the_callers_event_loop() -> None:
    server = FakeServer()

    async def main() -> int:
        ready = asyncio.Event()
        task = asyncio.create_task(server.serve(on_ready=ready.set))
        await ready.wait()
        async with (
            aiohttp.ClientSession() as session,
            session.post(server.base_url + "/chat/completions", json=chat_body()) as response,
        ):
            status = response.status
        server.stop()
        await asyncio.wait_for(task, 5)
        return status

    assert asyncio.run(main()) == 200


# -- command line -----------------------------------------------------------------------


def _cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-m", "benchroute.testing", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_ready_answers_and_stops_on_signal(tmp_path: Path, signum: int) -> None:
    answers = tmp_path / "answers.jsonl"
    rows = [{"prompt": "capital of France?", "answer": "Paris"}, {"prompt": "2+2", "answer": "4"}]
    answers.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    proc = _cli("--answers", str(answers), "--latency", "0.01", "--fault", "server_error:0.0")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY http://127.0.0.1:")
        url = line.split()[1]
        status, data = post_json(url, CHAT, chat_body("capital of France?"))
        assert (status, data["choices"][0]["message"]["content"]) == (200, "Paris")
        status, data = post_json(url, MESSAGES, anthropic_body("2+2"))
        assert (status, data["content"][0]["text"]) == (200, "4")
        with urllib.request.urlopen(url + "/_stats", timeout=5) as response:
            assert json.load(response)["requests"] == 2
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert out == ""  # READY was the only line


def test_cli_accepts_a_json_object_and_rate_limit(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"ping": "pong"}, indent=2))
    proc = _cli("--answers", str(answers), "--rate-limit", "1000", "--api-key", "k")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[1]
        request = urllib.request.Request(
            url + CHAT,
            data=json.dumps(chat_body("ping")).encode(),
            headers={"Authorization": "Bearer k", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response)["choices"][0]["message"]["content"] == "pong"
        proc.terminate()
        proc.communicate(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ('{"prompt": "a", "answer": "b"}\n{"prompt": "c", "answer": \n', 2),
        ('{"prompt": "a", "answer": "b"}\n\n["not", "an", "object"]\n', 3),
        ('{"prompt": "a", "answer": "b"}\n{"prompt": "a", "answer": "other"}\n', 2),
        ('{\n  "a": "b",\n  "c": \n}\n', 4),
    ],
)
def test_cli_bad_answers_file_names_file_and_line(tmp_path: Path, content: str, line: int) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    proc = _cli("--answers", str(bad))
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert f"{bad}:{line}:" in err


def test_cli_missing_answers_file(tmp_path: Path) -> None:
    proc = _cli("--answers", str(tmp_path / "nope.jsonl"))
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "nope.jsonl" in err
