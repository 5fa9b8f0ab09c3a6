"""code_security on the labelled vulnerable/safe pairs of benchmarks/data/code_security_cases.jsonl:
every vulnerable snippet fails with the default settings and its safe rewrite passes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from benchroute import Case, Completion, ScorerSpec, Usage
from benchroute.scorers import build_scorer

CASES_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "code_security_cases.jsonl"
CASES: list[dict[str, Any]] = [
    json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()
]
CATEGORIES = {
    "sql_injection",
    "hardcoded_secret",
    "shell_injection",
    "unsafe_deserialisation",
    "weak_password_hash",
    "tls_verification_disabled",
    "eval_on_input",
    "insecure_temp_file",
}


def test_the_set_covers_every_category_with_pairs() -> None:
    for category in CATEGORIES:
        variants = {c["variant"] for c in CASES if c["category"] == category}
        assert len(variants) >= 2, category
        for variant in variants:
            labels = sorted(c["label"] for c in CASES if (c["category"], c["variant"]) == (category, variant))
            assert labels == ["safe", "vulnerable"], (category, variant)
    assert {c["category"] for c in CASES} == CATEGORIES


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_default_settings_fail_the_vulnerable_and_pass_the_safe(case: dict[str, Any]) -> None:
    scorer = build_scorer(ScorerSpec(name="code_security"))
    text = f"```python\n{case['code']}```\n"
    result = asyncio.run(scorer(Completion(text=text, usage=Usage()), Case(id=case["id"])))
    if case["label"] == "vulnerable":
        assert (result.value, result.passed) == (0.0, False), result.reason
    else:
        assert (result.value, result.passed) == (1.0, True), result.reason
