"""Figures that do not flatter: an unknown price is unknown (never $0, never a win), cached
results count at their original cost and latency, latency is what the caller waited, and a
failed scorer is an error."""

from __future__ import annotations

import pytest

from benchroute.analysis import (
    RankingLimits,
    RankingWeights,
    compare_results,
    leaderboard,
    pareto_frontier,
    rank_models,
)
from benchroute.analysis._gate import evaluate_gates
from benchroute.config import GateSpec
from benchroute.store import SCORER_ERROR_KIND, Result


def _result(model: str, case: str, passed: bool = True, **extra: object) -> Result:
    values: dict[str, object] = {
        "run_id": "r",
        "suite": "s",
        "case_id": case,
        "model": model,
        "repeat": 0,
        "messages": [],
        "output": "x",
        "scores": [{"scorer": "exact", "value": float(passed), "passed": passed}],
        "score": float(passed),
        "passed": passed,
        "cost_usd": 0.01,
        "latency_ms": 100.0,
    }
    values.update(extra)
    return Result(**values)  # type: ignore[arg-type]


def _run(model: str, cost: float | None, passes: int = 4, cases: int = 4) -> list[Result]:
    return [_result(model, f"c{i}", i < passes, cost_usd=cost) for i in range(cases)]


def test_an_unpriced_model_has_unknown_money_figures() -> None:
    results = [*_run("priced", 0.01), *_run("unpriced", None)[:3], _result("unpriced", "c3", cost_usd=0.5)]
    by_model = {s.model: s for s in leaderboard(results)}
    unpriced, priced = by_model["unpriced"], by_model["priced"]
    assert unpriced.unpriced and unpriced.unpriced_results == 3
    assert unpriced.total_cost_usd is None and unpriced.cost_per_success_usd is None
    assert unpriced.cost_per_1k_usd is None and unpriced.wasted_cost_usd is None
    assert not priced.unpriced and priced.total_cost_usd == 0.04 and priced.cost_per_success_usd == 0.01
    # Same pass rate and score: the priced model is listed first, not the "free" one.
    assert [s.model for s in leaderboard(results)] == ["priced", "unpriced"]


def test_an_unpriced_model_never_wins_a_cost_ranking_or_the_cost_frontier() -> None:
    summaries = leaderboard([*_run("dear", 0.05), *_run("cheap", 0.01), *_run("nobody-priced", None)])
    for weights in (RankingWeights(accuracy=0, cost=1), RankingWeights(accuracy=1, cost=1)):
        ranked = rank_models(summaries, weights)
        assert ranked[0].summary.model == "cheap"
        unpriced = next(r for r in ranked if r.summary.model == "nobody-priced")
        assert not unpriced.on_cost_frontier and unpriced.utility <= ranked[-1].utility + 1e-12
    frontier = [r.summary.model for r in rank_models(summaries) if r.on_cost_frontier]
    assert frontier == ["cheap"]
    # Even a Pareto set given only the unpriced model and a dearer one keeps the unpriced one off.
    alone = rank_models(leaderboard([*_run("dear", 0.05), *_run("nobody-priced", None)]))
    assert [r.summary.model for r in alone if r.on_cost_frontier] == ["dear"]
    assert pareto_frontier([("a", 1.0, 0.5)]) == {"a"}
    limited = rank_models(summaries, limits=RankingLimits(max_cost_per_success=1.0))
    by_model = {r.summary.model: r for r in limited}
    assert not by_model["nobody-priced"].eligible and "unpriced" in by_model["nobody-priced"].violations[0]
    assert by_model["cheap"].eligible and limited[-1].summary.model == "nobody-priced"


def test_an_unpriced_model_fails_every_cost_gate_as_unpriced() -> None:
    gate = GateSpec(max_cost_per_success=100.0, max_total_cost=100.0)
    report = evaluate_gates([*_run("priced", 0.01), *_run("free?", None)], {"s": gate})
    assert report.checked == 2
    failed = {(f.model, f.threshold): f for f in report.failures}
    assert set(failed) == {("free?", "max_cost_per_success"), ("free?", "max_total_cost")}
    for failure in failed.values():
        assert failure.actual is None and failure.detail.startswith("unpriced")
        assert "unpriced" in failure.describe()


def test_a_fully_cached_rerun_fails_the_cost_and_latency_gates_its_original_failed() -> None:
    # The original run: expensive and slow. The rerun is served from the cache: its results
    # carry the original figures (as the runner stores them) and must fail the same gates.
    original = [
        _result("m", f"c{i}", cost_usd=0.5, latency_ms=3000.0, e2e_latency_ms=4000.0) for i in range(5)
    ]
    rerun = [
        _result("m", f"c{i}", cost_usd=0.5, latency_ms=3000.0, e2e_latency_ms=4000.0, cached=True)
        for i in range(5)
    ]
    gate = GateSpec(max_cost_per_success=0.01, max_total_cost=0.1, max_p95_ms=1000)
    expected = {"max_cost_per_success", "max_total_cost", "max_p95_ms"}
    first = evaluate_gates(original, {"s": gate})
    again = evaluate_gates(rerun, {"s": gate})
    assert {f.threshold for f in first.failures} == expected
    assert {f.threshold for f in again.failures} == expected
    assert [f.actual for f in first.failures] == [f.actual for f in again.failures] == [0.5, 2.5, 4000.0]
    assert first.cached == 0 and again.cached == 5
    assert again.cached_note == "5 result(s) from the cache, counted at their original cost and latency"
    (summary,) = leaderboard(rerun)
    assert summary.cached == 5 and summary.total_cost_usd == 2.5 and summary.p95_latency_ms == 4000.0


def test_latency_is_end_to_end_with_the_last_attempt_beside_it_and_no_conversations() -> None:
    results = [
        _result("m", "a", latency_ms=100.0, e2e_latency_ms=1100.0, retries=1),
        _result("m", "b", latency_ms=200.0, e2e_latency_ms=200.0),
        _result("m", "old", latency_ms=300.0),  # stored before e2e latency: its latency stands in
        _result("m", "talk", latency_ms=60_000.0, details={"kind": "conversation", "turns": 9}),
    ]
    (summary,) = leaderboard(results)
    assert summary.p50_latency_ms == 300.0 and summary.p95_latency_ms == pytest.approx(1020.0)
    assert summary.p50_last_attempt_ms == 200.0
    assert summary.conversations == 1 and summary.p50_conversation_ms == 60_000.0


def test_scorer_errors_count_in_the_error_rate_and_its_gate() -> None:
    failed_scorer = _result(
        "m",
        "b",
        False,
        error="scorer 'pii' failed: ConfigError: needs the scorers extra",
        error_kind=SCORER_ERROR_KIND,
        score=None,
    )
    results = [
        _result("m", "a"),
        failed_scorer,
        _result("m", "c", False, error="timeout", error_kind="timeout"),
    ]
    (summary,) = leaderboard(results)
    assert summary.errors == 2 and summary.scorer_errors == 1 and summary.error_rate == 2 / 3
    report = evaluate_gates(results, {"s": GateSpec(max_error_rate=0.5)})
    (failure,) = report.failures
    assert failure.threshold == "max_error_rate" and failure.actual == 2 / 3
    only_scorer = evaluate_gates([_result("m", "a"), failed_scorer], {"s": GateSpec(max_error_rate=0.4)})
    assert [f.threshold for f in only_scorer.failures] == ["max_error_rate"]


def test_a_crashing_scorer_does_not_lower_the_pass_rate_but_raises_the_error_rate() -> None:
    crashed = _result(
        "m",
        "c3",
        False,
        error="scorer 'rubric' failed: RuntimeError: judge crashed",
        error_kind=SCORER_ERROR_KIND,
        score=None,
    )
    results = [_result("m", f"c{i}") for i in range(3)] + [crashed]
    (summary,) = leaderboard(results)
    assert summary.cases == 4 and summary.scored == 3 and summary.passed == 3
    assert summary.pass_rate == 1.0 and summary.mean_score == 1.0  # the crash is not the model's
    assert summary.errors == 1 and summary.error_rate == 0.25
    gate = GateSpec(min_pass_rate=1.0, min_mean_score=1.0, max_error_rate=0.1)
    report = evaluate_gates(results, {"s": gate})
    assert [f.threshold for f in report.failures] == ["max_error_rate"]
    (ranked,) = rank_models([summary], limits=RankingLimits(min_pass_rate=1.0))
    assert ranked.eligible
    # A provider error is the model's failure: it still lowers the pass rate.
    timed_out = _result("m", "c3", False, error="timeout", error_kind="timeout", score=None)
    (provider,) = leaderboard([_result("m", f"c{i}") for i in range(3)] + [timed_out])
    assert provider.scored == 4 and provider.pass_rate == 0.75 and provider.error_rate == 0.25
    # Compare leaves out a pair whose measurement failed on either side.
    other = [_result("n", f"c{i}") for i in range(4)]
    comparison = compare_results(results, other, resamples=200)
    assert comparison.cases == 3 and comparison.flipped == []


def test_compare_does_not_compare_an_unknown_cost() -> None:
    a = [_result("a", f"c{i}", cost_usd=0.01) for i in range(6)]
    b = [_result("b", f"c{i}", cost_usd=None if i == 0 else 0.001) for i in range(6)]
    comparison = compare_results(a, b, resamples=200)
    cost = next(m for m in comparison.metrics if m.metric.startswith("cost"))
    assert cost.verdict == "no data" and cost.difference is None
    assert (comparison.unpriced_a, comparison.unpriced_b) == (0, 1)
