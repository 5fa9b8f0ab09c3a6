"""Leaderboard figures from results, computed by hand."""

from __future__ import annotations

from benchroute.analysis import leaderboard, percentile
from benchroute.store import Result


def _result(model: str, case: str, passed: bool, cost: float, latency: float, **extra: object) -> Result:
    values: dict[str, object] = {
        "run_id": "r",
        "suite": "s",
        "case_id": case,
        "model": model,
        "repeat": 0,
        "messages": [],
        "output": "x",
        "scores": [],
        "score": 1.0 if passed else 0.0,
        "passed": passed,
        "cost_usd": cost,
        "latency_ms": latency,
    }
    values.update(extra)
    return Result(**values)  # type: ignore[arg-type]


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(1, 101))), 95) == 95.05


def test_cost_per_success_retry_rate_and_ranking() -> None:
    results = [
        _result("cheap", "a", True, 0.001, 100),
        _result("cheap", "b", False, 0.001, 300, retries=2),
        _result("cheap", "c", False, 0.001, 200, error="boom"),
        _result("good", "a", True, 0.01, 50),
        _result("good", "b", True, 0.01, 60),
        _result("good", "c", False, 0.01, 70),
    ]
    good, cheap = leaderboard(results)
    assert good.model == "good" and good.passed == 2 and good.cost_per_success_usd == 0.015
    assert cheap.cost_per_success_usd == 0.003
    assert cheap.retry_rate == 1 / 3 and cheap.retries == 2 and cheap.errors == 1
    assert cheap.p50_latency_ms == 200


def test_nothing_passed_has_no_cost_per_success() -> None:
    (summary,) = leaderboard([_result("m", "a", False, 0.5, 10)])
    assert summary.cost_per_success_usd is None and summary.pass_rate == 0.0


def test_scorer_means_efficiency_and_wasted_dollars() -> None:
    def efficiency(value: float, wasted: int, fraction: float) -> dict[str, object]:
        details = {"wasted_output_tokens": wasted, "wasted_fraction": fraction}
        return {"scorer": "token_efficiency", "value": value, "passed": True, "details": details}

    factual = {"scorer": "factuality", "value": 0.5, "passed": True}
    results = [
        _result("m", "a", True, 0.002, 10, scores=[efficiency(0.8, 100, 0.2), factual]),
        _result("m", "b", True, 0.002, 10, scores=[efficiency(0.6, 300, 0.4)]),
        _result("local", "a", True, 0.004, 10, scores=[efficiency(0.5, 10, 0.5)]),
    ]
    prices = {"m": {"source": "override", "output_per_mtok": 10.0}, "local": {"usd_per_hour": 0.1}}
    by_model = {s.model: s for s in leaderboard(results, prices)}
    m = by_model["m"]
    assert m.metrics == {"factuality": 0.5, "token_efficiency": 0.7}
    assert m.efficiency == 0.7
    # (100 + 300) / 2 wasted tokens per request at $10 / Mtok, per 1,000 requests
    assert abs((m.wasted_usd_per_1k or 0) - 200 * 10 / 1e6 * 1000) < 1e-12
    # compute-priced: the wasted share of each request's cost
    assert abs((by_model["local"].wasted_usd_per_1k or 0) - 0.004 * 0.5 * 1000) < 1e-12


def test_load_test_summaries_are_not_cases() -> None:
    # A stress suite's per-model summary passes or fails on its SLOs, has no latency and
    # none of its requests' cost: counted as a case it would lift "loaded" above "plain".
    load = _result(
        "loaded",
        "load",
        True,
        0.0,
        0.0,
        suite="stress",
        latency_ms=None,
        scores=[{"scorer": "slo:p95_ms", "value": 1.0, "passed": True}],
        details={"load": {"requests": 500}},
    )
    results = [
        _result("loaded", "a", True, 0.01, 100),
        _result("loaded", "b", False, 0.01, 100),
        _result("plain", "a", True, 0.01, 100),
        _result("plain", "b", False, 0.01, 100),
        load,
        # A unit case that happens to be called "load" is a case like any other.
        _result("plain", "load", True, 0.01, 100, details=None),
    ]
    by_model = {s.model: s for s in leaderboard(results)}
    assert (by_model["loaded"].cases, by_model["loaded"].passed) == (2, 1)
    assert by_model["loaded"].cost_per_success_usd == 0.02
    assert "slo:p95_ms" not in by_model["loaded"].metrics
    assert (by_model["plain"].cases, by_model["plain"].passed) == (3, 2)
    assert leaderboard([load]) == []
