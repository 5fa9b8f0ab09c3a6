"""The embedded local model, for real: SmolLM2-135M-Instruct through llama.cpp."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchroute.config import ModelSpec, load_project, load_suite
from benchroute.providers import CompletionRequest, Message, ProviderContext, create_provider
from benchroute.runner import Runner, RunOptions
from benchroute.store import Store

pytest.importorskip("llama_cpp", reason="needs the [local] extra")
pytestmark = pytest.mark.local_model


def test_smollm2_answers_a_question() -> None:
    spec = ModelSpec(name="smollm2", provider="local", model="smollm2", params={"temperature": 0})
    request = CompletionRequest(
        messages=[Message(role="user", content="What is the capital of France? Answer in one word.")],
        max_tokens=24,
    )
    completion = asyncio.run(create_provider(spec, ProviderContext()).complete(request))
    assert "paris" in completion.text.lower()
    assert completion.usage.input_tokens > 5 and 0 < completion.usage.output_tokens <= 24
    assert completion.served_model == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_smollm2_streams_openai_shaped_chunks() -> None:
    spec = ModelSpec(name="smollm2", provider="local", model="smollm2", params={"temperature": 0})
    request = CompletionRequest(
        messages=[Message(role="user", content="What is the capital of France? Answer in one word.")],
        max_tokens=24,
    )

    async def go() -> list[object]:
        provider = create_provider(spec, ProviderContext())
        return [chunk async for chunk in provider.stream(request)]  # type: ignore[attr-defined]

    chunks = asyncio.run(go())
    text = "".join(chunk.text for chunk in chunks)  # type: ignore[attr-defined]
    assert "paris" in text.lower()
    last = chunks[-1]
    assert last.usage is not None and 0 < last.usage.output_tokens <= 24  # type: ignore[attr-defined]


def test_unknown_local_model_names_the_fix() -> None:
    from benchroute import ConfigError

    spec = ModelSpec(name="x", provider="local", model="no-such-model")
    with pytest.raises(ConfigError, match="no such GGUF file"):
        create_provider(spec, ProviderContext())


def test_quickstart_factual_suite_on_the_local_models(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
    project = load_project(root / "benchroute.yaml")
    project.store = str(tmp_path / "store.db")
    suite = load_suite(root / "suites" / "factual.yaml")
    suite.dataset.cases = (suite.dataset.cases or [])[:3]
    store = Store(project.store_url())
    outcome = asyncio.run(Runner(project, store, RunOptions(concurrency=2)).run([suite]))
    assert outcome.status == "completed"
    assert {r.model for r in outcome.results} == {"smollm2", "smollm2-safe", "gemma3"}
    assert all(r.output and r.cost_usd > 0 and r.error is None for r in outcome.results)
    safe = [r for r in outcome.results if r.model == "smollm2-safe"]
    assert all(r.messages[0]["role"] == "system" for r in safe)
