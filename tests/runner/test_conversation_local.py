"""The quick start's conversation suite on the embedded SmolLM2 model (one short case)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchroute.config import load_project, load_suite
from benchroute.runner import Runner, RunOptions
from benchroute.store import Store

pytest.importorskip("llama_cpp", reason="needs the [local] extra")
pytestmark = pytest.mark.local_model


def test_quickstart_conversation_on_the_local_model(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
    project = load_project(root / "benchroute.yaml")
    project.store = str(tmp_path / "store.db")
    suite = load_suite(root / "suites" / "conversation.yaml")
    assert len(suite.dataset.cases or []) == 3
    suite.dataset.cases = [c for c in suite.dataset.cases or [] if c.id == "remember-name"]
    store = Store(project.store_url())
    options = RunOptions(concurrency=1, models=["smollm2"], use_cache=False)
    outcome = asyncio.run(Runner(project, store, options).run([suite]))
    assert outcome.status == "completed"
    (result,) = outcome.results
    details = result.details or {}
    assert details["turns"] == 2 and result.error is None and result.output
    sent = [(m["role"], m["content"]) for m in result.messages]
    assert sent[1] == ("user", "Hi! My name is Alice and I live in Lyon.")
    assert sent[2][0] == "assistant" and sent[2][1] == details["transcript"][2]["content"]
    assert {s["scorer"] for s in result.scores} == {"contains", "remembers", "max_total_tokens"}
    assert result.cost_usd > 0
