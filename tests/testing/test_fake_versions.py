"""FakeServer's scripted model versions: what a reply reports and answers, switchable mid-test."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from benchroute.testing import FakeServer


def _post(fake: FakeServer, model: str, prompt: str) -> dict[str, Any]:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}]}).encode()
    request = urllib.request.Request(
        fake.base_url + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _models(fake: FakeServer) -> list[str]:
    with urllib.request.urlopen(fake.base_url + "/models", timeout=10) as response:
        return [item["id"] for item in json.loads(response.read())["data"]]


def test_versions_report_their_model_fingerprint_and_recorded_replies(fake: FakeServer) -> None:
    fake.add_version("m", "v1", served_model="m-2026-01", answers={"capital of France?": "Paris"})
    fake.add_version("m", "v2", served_model="m-2026-06", system_fingerprint="fp_new", answers={})
    first = _post(fake, "m", "capital of France?")
    assert first["model"] == "m-2026-01" and first["system_fingerprint"] == "fp_v1"
    assert first["choices"][0]["message"]["content"] == "Paris"
    assert "m-2026-01" in _models(fake) and "m" in _models(fake)

    fake.use_version("m", "v2")  # mid-test, from the test thread
    second = _post(fake, "m", "capital of France?")
    assert second["model"] == "m-2026-06" and second["system_fingerprint"] == "fp_new"
    assert second["choices"][0]["message"]["content"] == "capital of France?"  # falls back to echo
    listed = _models(fake)
    assert "m-2026-06" in listed and "m-2026-01" not in listed
    assert fake.active_version("m") is not None and fake.active_version("m").name == "v2"  # type: ignore[union-attr]


def test_version_responder_and_other_models_untouched(fake: FakeServer) -> None:
    fake.add_version("m", "v1", responder=lambda model, messages: "I can't help with that.")
    assert _post(fake, "m", "hi")["choices"][0]["message"]["content"] == "I can't help with that."
    other = _post(fake, "other", "hi")
    assert other["model"] == "other" and other["system_fingerprint"] == "fp_fake"


def test_unknown_version_is_a_clear_error(fake: FakeServer) -> None:
    fake.add_version("m", "v1")
    with pytest.raises(KeyError, match=r"has no version 'v9'.*v1"):
        fake.use_version("m", "v9")


def test_reset_forgets_versions(fake: FakeServer) -> None:
    fake.add_version("m", "v1")
    fake.reset()
    assert _post(fake, "m", "hi")["model"] == "m"
