"""The FakeServer's replay fast path: a server that records nothing (``max_recorded=0``, as
``python -m benchroute.testing`` runs) answers a repeated body from memory, and must answer
exactly what the full path would."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from benchroute.testing import FakeServer, Reply

CHAT = "/v1/chat/completions"


def chat_body(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


def post(
    server: FakeServer, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        server.url + CHAT,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def lean() -> Iterator[FakeServer]:
    with FakeServer(max_recorded=0) as server:
        yield server


def _chat(server: FakeServer, body: dict[str, Any], **kw: Any) -> tuple[int, dict[str, Any]]:
    status, raw = post(server, body, **kw)
    return status, json.loads(raw)


def _without_id(reply: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in reply.items() if k not in {"id", "created"}}


def test_a_repeated_body_gets_the_same_answer_with_a_new_id(lean: FakeServer) -> None:
    body = chat_body("hello there world", max_tokens=2)
    replies = [_chat(lean, body)[1] for _ in range(3)]
    assert lean._memo  # the second and third came from memory
    with FakeServer() as full:
        reference = _chat(full, body)[1]
    assert len({r["id"] for r in replies}) == 3
    assert all(isinstance(r["created"], int) for r in replies)
    assert all(_without_id(r) == _without_id(reference) for r in replies)
    assert replies[0]["choices"][0]["message"]["content"] == "hello there"
    assert replies[0]["choices"][0]["finish_reason"] == "length"
    assert lean.stats() == {"requests": 3, "by_status": {"200": 3}, "by_model": {"m": 3}}


def test_whatever_could_change_the_answer_is_honoured(lean: FakeServer) -> None:
    body = chat_body("what is up")
    assert _chat(lean, body)[1]["choices"][0]["message"]["content"] == "what is up"
    assert _chat(lean, body)[1]["choices"][0]["message"]["content"] == "what is up"

    lean.answers({"what is up": "the sky"})
    assert _chat(lean, body)[1]["choices"][0]["message"]["content"] == "the sky"
    lean.script("m", ["scripted"])
    assert _chat(lean, body)[1]["choices"][0]["message"]["content"] == "scripted"
    assert _chat(lean, body)[1]["choices"][0]["message"]["content"] == "the sky"

    lean.fault("server_error", count=1)
    assert _chat(lean, body)[0] == 500
    lean.rate_limit(1000)
    assert _chat(lean, body)[0] == 200
    lean.reset()
    lean.answers({})

    lean.responder = lambda model, messages: Reply(text="from the responder")
    assert _chat(lean, body)[1]["choices"][0]["message"]["content"] == "from the responder"
    lean.responder = FakeServer().responder  # the default again
    lean.served_model_suffix = "-v2"
    assert _chat(lean, body)[1]["model"] == "m-v2"
    lean.latency = 0.2
    started = time.monotonic()
    assert _chat(lean, body)[0] == 200
    assert time.monotonic() - started >= 0.2


def test_the_key_is_still_checked() -> None:
    with FakeServer(max_recorded=0, api_key="k1") as guarded:
        body = chat_body("hi")
        assert _chat(guarded, body, headers={"Authorization": "Bearer k1"})[0] == 200
        assert _chat(guarded, body, headers={"Authorization": "Bearer k1"})[0] == 200
        assert _chat(guarded, body, headers={"Authorization": "Bearer wrong"})[0] == 401
        assert _chat(guarded, body)[0] == 401
        assert guarded.stats()["by_status"] == {"200": 2, "401": 2}
