"""Ranking under weights and limits, and Pareto frontiers, checked against hand-worked figures."""

from __future__ import annotations

import pytest

from benchroute.analysis import ModelSummary, RankingLimits, RankingWeights, pareto_frontier, rank_models


def _summary(
    model: str, passed: int, cost_per_success: float | None, p95: float | None, **extra: object
) -> ModelSummary:
    values: dict[str, object] = {
        "model": model,
        "cases": 100,
        "passed": passed,
        "errors": 0,
        "mean_score": passed / 100,
        "total_cost_usd": (cost_per_success or 0.0) * passed,
        "cost_per_success_usd": cost_per_success,
        "p50_latency_ms": p95,
        "p95_latency_ms": p95,
        "retry_rate": 0.0,
        "retries": 0,
        "input_tokens": 0,
        "output_tokens": 0,
    }
    values.update(extra)
    return ModelSummary(**values)  # type: ignore[arg-type]


def test_pareto_frontier_keeps_only_non_dominated_points() -> None:
    points = [
        ("cheap", 1.0, 0.70),
        ("mid", 2.0, 0.80),
        ("dominated", 2.5, 0.75),  # mid is cheaper and more accurate
        ("best", 5.0, 0.90),
        ("tie-cost-worse", 1.0, 0.60),  # same cost as cheap, less accurate
    ]
    assert pareto_frontier(points) == {"cheap", "mid", "best"}


def test_pareto_keeps_identical_points_and_single_point() -> None:
    assert pareto_frontier([("a", 1.0, 0.5), ("b", 1.0, 0.5)]) == {"a", "b"}
    assert pareto_frontier([("only", 3.0, 0.1)]) == {"only"}
    assert pareto_frontier([]) == set()


def test_accuracy_only_ranks_by_pass_rate() -> None:
    ranked = rank_models([_summary("a", 70, 0.01, 100), _summary("b", 90, 0.05, 900)])
    assert [r.summary.model for r in ranked] == ["b", "a"]
    assert ranked[0].utility == pytest.approx(1.0) and ranked[1].utility == pytest.approx(0.0)


def test_cost_weight_can_flip_the_ranking() -> None:
    # a: 4 points less accurate, 3x cheaper per success.
    summaries = [_summary("a", 86, 0.01, 400), _summary("b", 90, 0.03, 400), _summary("c", 80, 0.02, 400)]
    by_accuracy = rank_models(summaries)
    assert by_accuracy[0].summary.model == "b"
    weighted = rank_models(summaries, RankingWeights(accuracy=1.0, cost=1.0))
    # desirability: accuracy a=0.6, b=1, c=0; cost a=1, b=0, c=0.5 -> a=0.8, b=0.5, c=0.25
    assert [r.summary.model for r in weighted] == ["a", "b", "c"]
    assert [round(r.utility, 6) for r in weighted] == [0.8, 0.5, 0.25]


def test_limits_push_violators_last_and_name_the_limit() -> None:
    summaries = [_summary("fast", 80, 0.01, 300), _summary("slow", 95, 0.01, 2500)]
    ranked = rank_models(summaries, limits=RankingLimits(max_p95_ms=1000, min_pass_rate=0.5))
    assert [r.summary.model for r in ranked] == ["fast", "slow"]
    assert ranked[1].violations == ["p95 2,500 ms > 1,000 ms"]
    assert ranked[0].eligible and not ranked[1].eligible


def test_missing_values_never_win_and_frontiers_are_marked() -> None:
    summaries = [
        _summary("none-passed", 0, None, None),
        _summary("ok", 60, 0.02, 500),
        _summary("better", 70, 0.01, 400),
    ]
    ranked = rank_models(
        summaries,
        RankingWeights(accuracy=0, cost=1),
        RankingLimits(max_cost_per_success=1.0),
    )
    assert ranked[-1].summary.model == "none-passed"
    assert ranked[-1].violations == ["no successful output (cost per success undefined)"]
    marks = {r.summary.model: (r.on_cost_frontier, r.on_latency_frontier) for r in ranked}
    assert marks == {"better": (True, True), "ok": (False, False), "none-passed": (False, False)}
