"""Paired comparison: McNemar against statsmodels and textbook figures, the bootstrap against
scipy.stats.bootstrap, and compare_results on hand-built results."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as statsmodels_mcnemar

from benchroute import BenchrouteError
from benchroute.analysis import compare_results, mcnemar, paired_bootstrap_ci
from benchroute.store import Result


def _table(a_only: int, b_only: int) -> list[list[int]]:
    # Rows: A passed / failed; columns: B passed / failed. The diagonal does not enter the test.
    return [[40, a_only], [b_only, 30]]


# --- McNemar -------------------------------------------------------------------------------


@pytest.mark.parametrize(("a_only", "b_only"), [(6, 16), (1, 9), (3, 9), (0, 5), (12, 12), (7, 2)])
def test_exact_mcnemar_matches_statsmodels(a_only: int, b_only: int) -> None:
    ours = mcnemar(a_only, b_only, exact=True)
    reference = statsmodels_mcnemar(_table(a_only, b_only), exact=True)
    assert ours.method == "exact binomial"
    assert ours.statistic == pytest.approx(reference.statistic)
    assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-12)


@pytest.mark.parametrize(("a_only", "b_only"), [(6, 16), (150, 86), (121, 59), (40, 20), (3, 30), (13, 12)])
def test_chi_square_mcnemar_matches_statsmodels(a_only: int, b_only: int) -> None:
    ours = mcnemar(a_only, b_only, exact=False)
    reference = statsmodels_mcnemar(_table(a_only, b_only), exact=False, correction=True)
    assert ours.method == "chi-square (continuity corrected)"
    assert ours.statistic == pytest.approx(reference.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-12)


def test_textbook_examples() -> None:
    # Agresti, Categorical Data Analysis, presidential approval (794, 150 / 86, 570):
    # (|150 - 86| - 1)^2 / 236 = 63^2 / 236.
    agresti = mcnemar(150, 86)
    assert agresti.method == "chi-square (continuity corrected)"  # 236 discordant pairs
    assert agresti.statistic == pytest.approx(63**2 / 236)
    assert agresti.statistic == pytest.approx(16.8178, abs=1e-4)
    assert agresti.p_value == pytest.approx(4.1146e-5, rel=1e-3)
    # Wikipedia's example (b = 121, c = 59): (62 - 1)^2 / 180 = 20.67, p < 0.001.
    wikipedia = mcnemar(121, 59)
    assert wikipedia.statistic == pytest.approx(61**2 / 180)
    assert wikipedia.p_value < 0.001
    # Exact by hand: 1 of 10 discordant pairs went A's way: 2 * (C(10,0) + C(10,1)) / 2^10.
    assert mcnemar(1, 9).p_value == pytest.approx(2 * 11 / 1024)


def test_method_is_chosen_by_discordant_count() -> None:
    assert mcnemar(10, 14).method == "exact binomial"  # 24 discordant
    assert mcnemar(10, 15).method == "chi-square (continuity corrected)"  # 25
    assert mcnemar(10, 15).p_value == pytest.approx(
        statsmodels_mcnemar(_table(10, 15), exact=False).pvalue, rel=1e-12
    )


def test_no_evidence_gives_p_one() -> None:
    assert mcnemar(0, 0).p_value == 1.0
    assert mcnemar(5, 5, exact=True).p_value == 1.0
    # The continuity correction is floored at 0: b == c is no evidence at all.
    assert mcnemar(30, 30).p_value == 1.0
    with pytest.raises(ValueError):
        mcnemar(-1, 2)


# --- bootstrap -----------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "seed", "confidence"), [(40, 7, 0.95), (13, 0, 0.9), (1500, 3, 0.95)])
def test_bootstrap_matches_scipy_percentile_bootstrap(n: int, seed: int, confidence: float) -> None:
    data = np.random.default_rng(100 + n)
    a = data.normal(1.0, 1.0, n)
    b = a + data.normal(0.2, 0.8, n)
    ours = paired_bootstrap_ci(b - a, resamples=10_000, seed=seed, confidence=confidence)
    # n = 1500 draws in chunks (memory bound) — the interval must not change.

    def mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(y, axis=axis) - np.mean(x, axis=axis)  # type: ignore[no-any-return]

    reference = stats.bootstrap(
        (a, b),
        mean_difference,
        paired=True,
        n_resamples=10_000,
        method="percentile",
        confidence_level=confidence,
        rng=np.random.default_rng(seed),
    ).confidence_interval
    assert ours == pytest.approx((reference.low, reference.high), rel=1e-9, abs=1e-12)


def test_bootstrap_is_seeded_and_sensible() -> None:
    differences = np.random.default_rng(5).normal(0.5, 1.0, 400)
    first = paired_bootstrap_ci(differences, seed=11)
    assert first == paired_bootstrap_ci(differences, seed=11)
    assert first != paired_bootstrap_ci(differences, seed=12)
    # Close to the normal-theory interval mean ± 1.96 sd / sqrt(n).
    half = 1.96 * differences.std(ddof=1) / np.sqrt(len(differences))
    assert first[0] == pytest.approx(differences.mean() - half, abs=0.02)
    assert first[1] == pytest.approx(differences.mean() + half, abs=0.02)
    assert paired_bootstrap_ci([0.25], resamples=50) == (0.25, 0.25)
    with pytest.raises(ValueError):
        paired_bootstrap_ci([])


# --- compare_results -----------------------------------------------------------------------


def _result(
    model: str,
    case: str,
    passed: bool,
    *,
    repeat: int = 0,
    suite: str = "s",
    cost: float = 0.001,
    latency: float | None = 100.0,
    cached: bool = False,
    score: float | None = None,
) -> Result:
    return Result(
        run_id="r",
        suite=suite,
        case_id=case,
        model=model,
        repeat=repeat,
        messages=[],
        output="x",
        scores=[],
        score=float(passed) if score is None else score,
        passed=passed,
        cost_usd=cost,
        latency_ms=latency,
        cached=cached,
    )


def _sides(outcomes: list[tuple[bool, bool]]) -> tuple[list[Result], list[Result]]:
    a = [_result("a", f"c{i}", x) for i, (x, _) in enumerate(outcomes)]
    b = [_result("b", f"c{i}", y) for i, (_, y) in enumerate(outcomes)]
    return a, b


def test_pass_rate_row_uses_mcnemar_and_the_bootstrap() -> None:
    # 20 concordant cases, 2 went A's way, 30 went B's way.
    outcomes = [(True, True)] * 12 + [(False, False)] * 8 + [(True, False)] * 2 + [(False, True)] * 30
    a, b = _sides(outcomes)
    comparison = compare_results(a, b, label_a="small", label_b="big", resamples=2000, seed=4)
    assert comparison.cases == 52
    assert (comparison.mcnemar.a_only, comparison.mcnemar.b_only) == (2, 30)
    reference = statsmodels_mcnemar(_table(2, 30), exact=False, correction=True)
    assert comparison.mcnemar.p_value == pytest.approx(reference.pvalue, rel=1e-12)
    row = comparison.metrics[0]
    assert row.metric == "pass rate"
    assert row.a == pytest.approx(14 / 52) and row.b == pytest.approx(42 / 52)
    assert row.difference == pytest.approx(28 / 52)
    differences = [float(y) - float(x) for x, y in outcomes]
    assert (row.ci_low, row.ci_high) == paired_bootstrap_ci(differences, resamples=2000, seed=4)
    assert row.test == "McNemar χ² corrected"
    assert row.significant and row.verdict == "better"
    assert len(comparison.flipped) == 32
    assert [f.direction for f in comparison.flipped[:2]] == ["pass→fail", "pass→fail"]
    # Seen from the other side, the same evidence is a loss.
    reverse = compare_results(b, a, resamples=2000, seed=4)
    assert reverse.metrics[0].verdict == "worse"
    assert reverse.mcnemar.p_value == pytest.approx(comparison.mcnemar.p_value)


def test_significant_needs_both_p_value_and_interval() -> None:
    # 30 ties and 5 cases that all went B's way: the percentile interval excludes 0, but the
    # exact McNemar p-value is 2 / 2^5 = 0.0625 — not significant.
    a, b = _sides([(True, True)] * 30 + [(False, True)] * 5)
    row = compare_results(a, b).metrics[0]
    assert row.p_value == pytest.approx(0.0625)
    assert row.ci_low is not None and row.ci_low > 0
    assert not row.significant and row.verdict == "no significant difference"


def test_score_cost_and_latency_rows() -> None:
    rng = np.random.default_rng(9)
    a, b = [], []
    for i in range(30):
        base = float(rng.uniform(100, 400))
        a.append(_result("a", f"c{i}", True, cost=0.002, latency=base, score=float(rng.uniform(0.4, 0.6))))
        b.append(_result("b", f"c{i}", True, cost=0.001, latency=base + 80 + float(rng.normal(0, 20))))
    a.append(_result("a", "cached", True, latency=5.0, cached=True))
    b.append(_result("b", "cached", True, latency=900.0))
    comparison = compare_results(a, b)
    by_name = {m.metric: m for m in comparison.metrics}
    score = by_name["mean score"]
    score_differences = np.array([y.score - x.score for x, y in zip(a, b, strict=True)])  # type: ignore[operator]
    assert score.p_value == pytest.approx(stats.wilcoxon(score_differences).pvalue)
    assert score.verdict == "better"
    cost = by_name["cost per case (USD)"]
    assert cost.difference == pytest.approx(-0.001 * 30 / 31) and cost.verdict == "better"
    latency = by_name["latency (ms)"]
    assert latency.cases == 31  # the reply from the cache counts at its original call's latency
    assert latency.difference == pytest.approx(
        np.mean([y.latency_ms - x.latency_ms for x, y in zip(a, b, strict=True)])  # type: ignore[operator]
    )
    assert latency.verdict == "worse" and latency.test == "Wilcoxon signed-rank"


def test_identical_sides_are_no_difference() -> None:
    a, b = _sides([(True, True)] * 10 + [(False, False)] * 5)
    comparison = compare_results(a, b)
    assert comparison.mcnemar.p_value == 1.0 and not comparison.flipped
    for row in comparison.metrics:
        assert row.verdict == "no significant difference"
        assert row.difference == 0.0 and row.p_value == 1.0


def test_repeats_are_matched_then_aggregated_per_case() -> None:
    a = [
        # c0: A passes 2 of 3, B 0 of 3 -> pass→fail
        *(_result("a", "c0", p, repeat=i) for i, p in enumerate([True, True, False])),
        *(_result("a", "c1", p, repeat=i) for i, p in enumerate([False, True, False])),
        # a repeat only A has is left out of the pairing
        _result("a", "c1", True, repeat=3),
        _result("a", "only-a", True),
    ]
    b = [
        *(_result("b", "c0", False, repeat=i) for i in range(3)),
        *(_result("b", "c1", True, repeat=i) for i in range(3)),
    ]
    comparison = compare_results(a, b)
    assert comparison.cases == 2 and comparison.only_a == 1 and comparison.only_b == 0
    flipped = {f.case_id: f for f in comparison.flipped}
    assert flipped["c0"].direction == "pass→fail" and (flipped["c0"].a_passed, flipped["c0"].repeats) == (
        2,
        3,
    )
    assert flipped["c1"].direction == "fail→pass" and flipped["c1"].a_passed == 1
    score = comparison.metrics[1]
    assert score.a == pytest.approx((2 / 3 + 1 / 3) / 2) and score.b == pytest.approx(0.5)


def test_errors_a_user_can_cause() -> None:
    a, _ = _sides([(True, True)])
    b = [_result("b", "other", True)]
    with pytest.raises(BenchrouteError, match="no case in common"):
        compare_results(a, b)
    with pytest.raises(BenchrouteError, match="one model per side"):
        compare_results([*a, _result("z", "c0", True)], a)


def test_load_test_summaries_are_not_paired_as_cases() -> None:
    a = [_result("a", "c1", True), _result("a", "c2", True)]
    b = [_result("b", "c1", True), _result("b", "c2", True)]
    # A stress suite's one result per model: an SLO verdict, not an answer to a case.
    load_a = _result("a", "load", True, suite="burst", cost=0.0, latency=None)
    load_b = _result("b", "load", False, suite="burst", cost=0.0, latency=None)
    load_a.details = {"load": {"requests": 100}}
    load_b.details = {"load": {"requests": 100}}

    comparison = compare_results([*a, load_a], [*b, load_b])

    assert comparison.cases == 2 and comparison.flipped == []
    assert comparison.metrics[0].a == comparison.metrics[0].b == 1.0
