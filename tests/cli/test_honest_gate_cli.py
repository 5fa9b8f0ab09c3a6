"""The gate on figures that do not flatter, through ``benchroute run`` against the fake server:
a rerun answered from the response cache is held to the original calls' cost and latency,
and an unpriced model fails a cost threshold as "unpriced" (exit 1), never passing on $0."""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project, write_suite

PRICED = {"provider": "openai", "model": "gpt-4o", "price_provider": "openai"}
CASES = [{"id": f"c{i}", "input": f"answer {i}", "expected": f"answer {i}"} for i in range(3)]


def _failures(stderr: str) -> list[str]:
    return sorted(re.findall(r"gate failed: s · m: (\w+)", stderr))


def test_a_fully_cached_rerun_fails_the_cost_and_latency_gates_of_its_original(
    tmp_path: Path, fake: FakeServer
) -> None:
    fake.latency = 0.3  # every original call is slow
    project = write_project(tmp_path, {"m": {**PRICED, "base_url": fake.base_url}})
    gate = {"max_cost_per_success": 1e-9, "max_total_cost": 1e-9, "max_p95_ms": 100}
    suite = write_suite(tmp_path, "s", CASES, gate=gate)
    first = run_cli("run", str(suite), "--config", str(project))
    assert first.returncode == 1, first.stderr
    expected = ["max_cost_per_success", "max_p95_ms", "max_total_cost"]
    assert _failures(first.stderr) == expected
    sent = len(fake.requests)
    again = run_cli("run", str(suite), "--config", str(project))
    assert len(fake.requests) == sent  # every reply came from the cache
    assert again.returncode == 1, again.stderr  # and the zeros of a cache hit do not pass the gate
    assert _failures(again.stderr) == expected
    assert "3 result(s) from the cache, counted at their original cost and latency" in again.stdout


def test_an_unpriced_model_fails_a_cost_gate_as_unpriced(tmp_path: Path, fake: FakeServer) -> None:
    # A self-hosted endpoint without prices: its cost is unknown, not $0.
    project = write_project(
        tmp_path, {"m": {"provider": "openai", "model": "llama", "base_url": fake.base_url}}
    )
    suite = write_suite(tmp_path, "s", CASES, gate={"max_cost_per_success": 1.0})
    ran = run_cli("run", str(suite), "--config", str(project), "--no-cache")
    assert ran.returncode == 1, ran.stderr
    assert "gate failed: s · m: max_cost_per_success n/a (needs <= 1) — unpriced" in ran.stderr
    assert "unpriced" in ran.stdout and "$0 " not in ran.stdout


def test_a_failing_judge_is_a_scorer_error_in_the_gate_and_in_junit(tmp_path: Path, fake: FakeServer) -> None:
    models = {
        "m": {**PRICED, "base_url": fake.base_url},
        # The fake server answers this model name with 404: every judge call fails.
        "judge": {
            "provider": "openai",
            "model": "does-not-exist",
            "base_url": fake.base_url,
            "max_retries": 0,
        },
    }
    project = write_project(tmp_path, models)
    scorers = ["exact", {"name": "rubric", "args": {"criteria": "polite", "judge_model": "judge"}}]
    suite = write_suite(tmp_path, "s", CASES, scorers=scorers, gate={"max_error_rate": 0.0}, models=["m"])
    summary = tmp_path / "summary.json"
    ran = run_cli("run", str(suite), "--config", str(project), "--no-cache", "--summary-json", str(summary))
    assert ran.returncode == 1, ran.stderr
    assert "gate failed: s · m: max_error_rate 1 (needs <= 0)" in ran.stderr
    (model,) = json.loads(summary.read_text())["models"]
    assert model["errors"] == 3 and model["scorer_errors"] == 3
    run_id = json.loads(summary.read_text())["run_id"]
    junit = run_cli("report", run_id, "--format", "junit", "--config", str(project))
    assert junit.returncode == 0, junit.stderr
    assert junit.stdout.count('type="scorer"') == 3 and "<failure" not in junit.stdout
    assert "scorer &apos;rubric&apos; failed" in junit.stdout or "scorer 'rubric' failed" in junit.stdout
