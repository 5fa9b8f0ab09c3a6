"""The JSON report: the run overview without secrets or internals, ranked per-model summaries,
every result."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchroute.analysis import leaderboard, pareto_frontier
from benchroute.reports import render_json, report_json
from tests.reports._runs import HOSTILE, mixed_results, record, result


def _strict_loads(text: str) -> Any:
    def reject(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def test_run_overview_is_what_a_reader_needs_and_nothing_secret() -> None:
    text = render_json(record(), mixed_results())
    for secret in ("hunter2", "token=abc", "secret-team", "/home/someone", "BIG_KEY"):
        assert secret not in text
    run = _strict_loads(text)["run"]
    assert run["id"] == "run-abc123" and run["status"] == "completed"
    assert run["started_at"].startswith("2026-11-29T01:00:00")
    assert run["finished_at"] is not None and run["package_version"] == "0.1.0"
    assert [m["name"] for m in run["models"]] == ["big", "small", "broken"]
    assert run["models"][0]["base_url"] == "https://api.example.com/v1"
    assert run["suites"][0] == {
        "name": "format",
        "tier": "unit",
        "description": "",
        "repeats": 1,
        "cases": 2,
        "dataset": None,
        "scorers": ["exact"],
        "source": None,
    }
    assert run["suites"][1]["scorers"] == ["refusal"]
    assert run["prices"]["big"]["source"] == "override"


def test_models_carry_summary_ranking_and_frontiers() -> None:
    results = mixed_results()
    data = report_json(record(), results)
    models = {m["model"]: m for m in data["models"]}
    summaries = {s.model: s for s in leaderboard(results)}
    for name, summary in summaries.items():
        entry = models[name]
        assert entry["pass_rate"] == pytest.approx(summary.pass_rate)
        assert entry["p99_latency_ms"] == summary.p99_latency_ms
        assert entry["latency_cv"] == summary.latency_cv
        assert entry["cost_per_1k_usd"] == pytest.approx(summary.cost_per_1k_usd)
        assert entry["wasted_cost_usd"] == pytest.approx(summary.wasted_cost_usd)
    assert [m["rank"] for m in data["models"]] == [1, 2, 3]
    expected_cost = pareto_frontier(
        [
            (s.model, s.cost_per_success_usd, s.pass_rate)
            for s in summaries.values()
            if s.cost_per_success_usd is not None
        ]
    )
    assert {m["model"] for m in data["models"] if m["on_cost_frontier"]} == expected_cost
    assert set(data["pareto"]["cost"]) == expected_cost
    assert models["broken"]["cost_per_success_usd"] is None
    assert models["broken"]["p95_latency_ms"] is None


def test_every_result_is_there_with_reasons() -> None:
    results = mixed_results()
    data = _strict_loads(render_json(record(), results))
    assert len(data["results"]) == len(results)
    by_key = {(r["suite"], r["case_id"], r["model"], r["repeat"]): r for r in data["results"]}
    hostile = by_key[("format", "c1", "small", 0)]
    assert hostile["output"] == HOSTILE and not hostile["passed"]
    assert hostile["failing_reasons"] == ["exact: expected 'ok' for c1"]
    broken = by_key[("format", "c0", "broken", 0)]
    assert broken["error"] == "request timed out after 60 s"
    assert broken["failing_reasons"] == ["timeout: request timed out after 60 s"]
    assert by_key[("format", "c0", "big", 0)]["failing_reasons"] == []
    assert data["format_version"] == 2


def test_non_finite_numbers_become_null() -> None:
    odd = result("m", "a", True, latency_ms=float("nan"))
    odd.scores[0]["value"] = float("inf")
    data = _strict_loads(render_json(record(), [odd]))
    assert data["results"][0]["latency_ms"] is None
    assert data["results"][0]["scores"][0]["value"] is None


def test_empty_run() -> None:
    data = _strict_loads(render_json(record(status="failed"), []))
    assert data["models"] == [] and data["results"] == [] and data["run"]["status"] == "failed"


def test_params_named_like_credentials_are_redacted() -> None:
    run = record()
    run.config["models"]["small"]["params"] = {
        "temperature": 0,
        "max_tokens": 5,
        "api_key": "sk-in-params",
        "extra_headers": {"Authorization": "Bearer sk-in-headers", "X-Trace": "t1", "x-api-key": "sk-x"},
        "extra_body": [{"access_token": "tok-in-list"}],
    }
    text = render_json(run, mixed_results())
    for secret in ("sk-in-params", "sk-in-headers", "sk-x", "tok-in-list"):
        assert secret not in text
    params = _strict_loads(text)["run"]["models"][1]["params"]
    assert params["temperature"] == 0 and params["max_tokens"] == 5
    assert params["api_key"] == "<redacted>" and params["extra_headers"]["X-Trace"] == "t1"
    assert params["extra_headers"]["Authorization"] == "<redacted>"
