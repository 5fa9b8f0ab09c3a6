"""Runs for the report tests: hand-built records (pure rendering tests) and a real run of three
models against the fake server, through the ``benchroute`` command (CLI and browser tests)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from benchroute.store import Result, RunRecord
from benchroute.testing import FakeServer, Reply
from tests.conftest import run_cli, write_project, write_suite

HOSTILE = '</script><script>alert("pwned")</script><img src="https://evil.example/x.png"> @octocat | x'


def record(run_id: str = "run-abc123", status: str = "completed", **config: Any) -> RunRecord:
    return RunRecord(
        id=run_id,
        suites=["format", "safety"],
        config={
            "project_root": "/home/someone/project",
            "models": {
                "big": {
                    "provider": "openai",
                    "model": "big-1",
                    "base_url": "https://user:hunter2@api.example.com/v1?token=abc",
                    "api_key_env": "BIG_KEY",
                    "headers": {"X-Team": "secret-team"},
                },
                "small": {"provider": "openai", "model": "small-1"},
                "broken": {"provider": "openai", "model": "broken-1"},
            },
            "run_models": ["big", "small", "broken"],
            "suites": [
                {
                    "name": "format",
                    "tier": "unit",
                    "dataset": {"cases": [{}, {}]},
                    "scorers": [{"name": "exact"}],
                },
                {"name": "safety", "tier": "unit", "dataset": {"path": "x.jsonl"}, "scorers": ["refusal"]},
            ],
            **config,
        },
        package_version="0.1.0",
        prices={"big": {"source": "override", "output_per_mtok": 10.0}, "small": {"source": "genai-prices"}},
        started_at="2026-11-29T01:00:00.123456+00:00",
        status=status,
        finished_at="2026-11-29T01:02:00+00:00",
    )


def result(
    model: str,
    case_id: str,
    passed: bool,
    *,
    suite: str = "format",
    repeat: int = 0,
    output: str | None = "ok",
    error: str | None = None,
    latency_ms: float | None = 100.0,
    cost_usd: float = 0.001,
) -> Result:
    scores = (
        []
        if error
        else [
            {
                "scorer": "exact",
                "value": 1.0 if passed else 0.0,
                "passed": passed,
                "reason": "" if passed else f"expected 'ok' for {case_id}",
            },
            {"scorer": "max_length", "value": 1.0, "passed": True, "reason": "short"},
        ]
    )
    return Result(
        run_id="run-abc123",
        suite=suite,
        case_id=case_id,
        model=model,
        repeat=repeat,
        messages=[{"role": "user", "content": f"question {case_id}"}],
        output=None if error else output,
        scores=scores,
        score=None if error else (1.0 if passed else 0.0),
        passed=passed,
        input_tokens=10,
        output_tokens=5,
        cost_usd=cost_usd,
        latency_ms=None if error else latency_ms,
        error=error,
        error_kind="timeout" if error else None,
    )


def mixed_results() -> list[Result]:
    """Three models over two suites: a strong expensive one, a cheap weaker one with a hostile
    output, and one whose every request failed."""
    rows = []
    for i in range(6):
        rows.append(result("big", f"c{i}", True, latency_ms=300 + 10 * i, cost_usd=0.01))
        rows.append(
            result(
                "small",
                f"c{i}",
                i % 2 == 0,
                output=HOSTILE if i == 1 else "ok",
                latency_ms=50 + i,
                cost_usd=0.001,
            )
        )
        rows.append(result("broken", f"c{i}", False, error="request timed out after 60 s"))
    for rep in range(2):
        rows.append(result("big", "refuse", True, suite="safety", repeat=rep, cost_usd=0.01))
        rows.append(result("small", "refuse", rep == 0, suite="safety", repeat=rep))
    return rows


# --- a real run through the command line ---------------------------------------------------

CASES: list[dict[str, object]] = [
    {"id": f"q{i}", "input": f"question {i}", "expected": f"answer {i}"} for i in range(8)
]


def _responder(model: str, messages: list[dict[str, Any]]) -> Reply:
    text = str(messages[-1]["content"])
    number = int(text.split()[-1])
    rng = random.Random(f"{model}-{number}")
    right = f"answer {number}"
    if model == "accurate":  # always right, slow
        return Reply(text=right, delay=rng.uniform(0.03, 0.08))
    if model == "cheap":  # right three times in four, fast
        return Reply(text=right if number % 4 else HOSTILE, delay=rng.uniform(0.005, 0.02))
    return Reply(text=right if number % 2 else "no idea", delay=rng.uniform(0.01, 0.05))  # middling


def cli_run(folder: Path, fake: FakeServer) -> tuple[Path, str]:
    """Run two suites against three models on ``fake`` with ``benchroute run``; returns the
    project file and the run id."""
    fake.responder = _responder
    models: dict[str, dict[str, object]] = {
        name: {
            "provider": "openai",
            "base_url": fake.base_url,
            "model": name,
            "prices": {"input_per_mtok": price, "output_per_mtok": 4 * price},
        }
        for name, price in (("accurate", 30.0), ("cheap", 0.5), ("middling", 5.0))
    }
    project = write_project(folder, models)
    first = write_suite(folder, "lookup", CASES)
    second = write_suite(folder, "recall", CASES[:4], repeats=2)
    summary = folder / "summary.json"
    proc = run_cli(
        "run", str(first), str(second), "--config", str(project), "-j", "4", "--no-cache",
        "--summary-json", str(summary),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run_id: str = json.loads(summary.read_text())["run_id"]
    return project, run_id
