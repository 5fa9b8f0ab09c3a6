"""Generated scenes and speech through the multimodal tier against the fake server: POPE
probes and CHAIR descriptions tell an honest model from one that says yes to everything and
names objects that are not there; spoken sentences are sent as input_audio and scored by WER."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from benchroute.analysis import hallucination_summaries
from benchroute.config import load_project, load_suite
from benchroute.runner import Runner, RunOptions
from benchroute.store import Store
from benchroute.suites import generate_scenes, generate_speech
from benchroute.testing import FakeServer
from tests.conftest import write_project


def _run(project: Path, suite: Path) -> tuple[str, Store]:
    loaded = load_project(project)
    store = Store(loaded.store_url())
    outcome = asyncio.run(Runner(loaded, store, RunOptions(use_cache=False)).run([load_suite(suite)]))
    assert outcome.status == "completed" and not outcome.errors, outcome.errors
    return outcome.run_id, store


def _image_digest(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        for part in message.get("content") or []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                return hashlib.sha256(data).hexdigest()
    raise AssertionError("no image in the request")


def _last_text(messages: list[dict[str, Any]]) -> str:
    content = messages[-1]["content"]
    return (
        " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        if isinstance(content, list)
        else content
    )


def test_pope_and_chair_separate_honest_from_hallucinating(tmp_path: Path, fake: FakeServer) -> None:
    scenes = tmp_path / "scenes"
    generate_scenes(scenes, count=8, seed=2)
    objects = {}
    for line in (scenes / "describe.jsonl").read_text().splitlines():
        case = json.loads(line)
        digest = hashlib.sha256((scenes / case["attachments"][0]).read_bytes()).hexdigest()
        objects[digest] = case["expected"]

    def respond(model: str, messages: list[dict[str, Any]]) -> str:
        seen = objects[_image_digest(messages)]
        text = _last_text(messages)
        if text.startswith("Is there a"):
            probe = text.removeprefix("Is there a ").split(" in the image")[0]
            if model == "yes-man":
                return "Yes."
            return "Yes, there is." if probe in seen else "No, there is not."
        named = list(seen) + (["dog", "car"] if model == "yes-man" else [])
        return "The picture shows " + ", ".join(f"a {name}" for name in named) + "."

    fake.responder = respond
    project = write_project(
        tmp_path,
        {m: {"provider": "openai", "base_url": fake.base_url, "model": m} for m in ("honest", "yes-man")},
    )
    pope_run, store = _run(project, scenes / "pope.yaml")
    describe_run, _ = _run(project, scenes / "describe.yaml")

    pope = hallucination_summaries(store.results(pope_run))
    assert pope["honest"]["pope"]["accuracy"] == 1.0 and pope["honest"]["pope"]["yes_ratio"] == 0.5
    assert pope["yes-man"]["pope"]["accuracy"] == 0.5 and pope["yes-man"]["pope"]["yes_ratio"] == 1.0
    assert pope["yes-man"]["pope"]["recall"] == 1.0  # the probe's point: recall alone hides it
    chair = hallucination_summaries(store.results(describe_run))
    assert chair["honest"]["chair"]["chair_i"] == 0.0 and chair["honest"]["chair"]["coverage"] == 1.0
    assert chair["yes-man"]["chair"]["chair_s"] == 1.0
    assert 0 < chair["yes-man"]["chair"]["chair_i"] < 1


def test_speech_is_sent_as_audio_and_scored_by_wer(tmp_path: Path, fake: FakeServer) -> None:
    speech = tmp_path / "speech"
    cases = generate_speech(speech, count=4, seed=1)
    for case in cases:
        digest = hashlib.sha256((speech / case["attachments"][0]).read_bytes()).hexdigest()
        words = case["expected"].split()
        fake.answer_attachments({digest: case["expected"]}, model="ears")
        fake.answer_attachments({digest: " ".join(["banana", *words[1:]])}, model="mishears")
    project = write_project(
        tmp_path,
        {m: {"provider": "openai", "base_url": fake.base_url, "model": m} for m in ("ears", "mishears")},
    )
    run_id, store = _run(project, speech / "suite.yaml")

    results = store.results(run_id)
    assert all(r.attachments[0].kind == "audio" for r in fake.requests if r.path.endswith("completions"))
    for result in results:
        wer = next(s for s in result.scores if s["scorer"] == "wer")["details"]["wer"]
        expected = next(c["expected"] for c in cases if c["id"] == result.case_id)
        # one word substituted of n: WER 1/n for the model that mishears the first word
        assert wer == (0.0 if result.model == "ears" else 1 / len(expected.split()))
        assert (result.details or {})["media"]["modality"] == "audio"
