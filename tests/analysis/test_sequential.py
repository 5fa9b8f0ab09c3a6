"""Always-valid sequential tests: the closed forms against numerical mixtures (scipy), the
summaries against the statistics of the values, the edge cases, and seeded simulations that
peek after every batch — the mSPRT keeps its false-positive rate under alpha where a
fixed-sample z-test peeked the same way does not."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import integrate, special, stats

from benchroute.analysis import SequentialResult, SummaryStats, rate_above_p_value, sequential_compare

SEEDS = 200
BATCH = 50


def _mixture_ratio(difference: float, variance: float, tau: float) -> float:
    """Lambda(0) by integrating the normal likelihood ratio over theta ~ N(0, tau^2)."""

    def integrand(theta: float) -> float:
        ratio = math.exp((theta * difference - theta * theta / 2) / variance)
        return ratio * math.exp(-theta * theta / (2 * tau * tau)) / (tau * math.sqrt(2 * math.pi))

    value, _ = integrate.quad(integrand, -12 * tau, 12 * tau, points=[0.0, difference], limit=200)
    return float(value)


def _summary(values: NDArray[np.float64]) -> SummaryStats:
    return SummaryStats(len(values), float(values.mean()), float(((values - values.mean()) ** 2).sum()))


# --- the closed forms -----------------------------------------------------------------------


@pytest.mark.parametrize(("shift", "tau"), [(0.05, 0.1), (0.2, 0.1), (-0.3, 0.5), (0.0, 0.2), (0.12, 0.03)])
def test_p_value_is_the_inverse_of_the_numerical_mixture(shift: float, tau: float) -> None:
    rng = np.random.default_rng(7)
    primary = rng.normal(1.0, 0.8, 300)
    candidate = rng.normal(1.0 + shift, 1.1, 250)
    result = sequential_compare(primary.tolist(), candidate.tolist(), tau=tau)
    variance = primary.var(ddof=1) / 300 + candidate.var(ddof=1) / 250
    difference = candidate.mean() - primary.mean()
    expected = min(1.0, 1 / _mixture_ratio(float(difference), float(variance), tau))
    assert result.difference == pytest.approx(difference, rel=1e-12)
    assert result.p_value == pytest.approx(expected, rel=1e-6)
    assert (result.n_primary, result.n_candidate, result.tau) == (300, 250, tau)


def test_interval_is_where_the_mixture_stays_below_one_over_alpha() -> None:
    rng = np.random.default_rng(3)
    primary, candidate = rng.normal(0.0, 1.0, 400), rng.normal(0.25, 1.0, 400)
    result = sequential_compare(primary.tolist(), candidate.tolist(), tau=0.2, alpha=0.1)
    assert result.low is not None and result.high is not None and result.difference is not None
    variance = float(primary.var(ddof=1) / 400 + candidate.var(ddof=1) / 400)
    # At each end of the interval the mixture ratio for that theta_0 is exactly 1 / alpha.
    for end in (result.low, result.high):
        assert _mixture_ratio(result.difference - end, variance, 0.2) == pytest.approx(10.0, rel=1e-6)
    inside = (result.low + result.high) / 2
    assert _mixture_ratio(result.difference - inside, variance, 0.2) < 10.0


@pytest.mark.parametrize("seed", range(12))
def test_interval_excludes_zero_exactly_when_p_is_below_alpha(seed: int) -> None:
    rng = np.random.default_rng(seed)
    result = sequential_compare(
        rng.binomial(1, 0.5, 500).astype(float).tolist(), rng.binomial(1, 0.56, 500).astype(float).tolist()
    )
    assert result.low is not None and result.high is not None
    excludes_zero = result.low > 0 or result.high < 0
    assert excludes_zero == (result.p_value <= 0.05), result
    assert (result.decision != "inconclusive") == excludes_zero


def test_the_default_tau_is_a_fifth_of_the_pooled_standard_deviation() -> None:
    primary, candidate = [0.0, 1.0] * 50, [0.0, 1.0, 1.0, 1.0] * 25
    result = sequential_compare(primary, candidate)
    pooled = (statistics.variance(primary) * 99 + statistics.variance(candidate) * 99) / 198
    assert result.tau == pytest.approx(0.2 * math.sqrt(pooled))
    explicit = sequential_compare(primary, candidate, tau=result.tau)
    assert explicit.p_value == pytest.approx(result.p_value)


# --- edge cases -----------------------------------------------------------------------------


def test_fewer_than_min_samples_is_inconclusive_without_an_interval() -> None:
    result = sequential_compare([0.0] * 29, [1.0] * 100)  # a huge difference, but 29 < 30 samples
    assert result == SequentialResult(None, None, None, 1.0, 29, 100, "inconclusive", True, 0.05, None)
    at_least = sequential_compare([0.0, 0.1] * 15, [1.0, 0.9] * 15)  # 30 each: decided
    assert at_least.decision == "better"
    assert at_least.low is not None and at_least.low > 0
    assert sequential_compare([0.0, 0.1] * 15, [1.0, 0.9] * 15, min_samples=31).difference is None


def test_zero_variance_arms_are_taken_at_face_value() -> None:
    same = sequential_compare([0.0] * 50, [0.0] * 50)
    assert (same.difference, same.low, same.high, same.p_value, same.decision) == (
        0.0,
        0.0,
        0.0,
        1.0,
        "inconclusive",
    )
    apart = sequential_compare([0.0] * 50, [1.0] * 50)
    assert (apart.difference, apart.low, apart.high, apart.p_value, apart.decision) == (
        1.0,
        1.0,
        1.0,
        0.0,
        "better",
    )
    assert sequential_compare([0.0] * 50, [1.0] * 50, higher_is_better=False).decision == "worse"
    # One constant arm: the other's spread is enough for a finite interval.
    one = sequential_compare([0.0] * 200, [0.0] * 198 + [1.0, 1.0])
    assert one.low is not None and one.high is not None
    assert one.low < 0 < one.high and one.decision == "inconclusive"
    assert math.isfinite(one.p_value) and 0 < one.p_value <= 1


def test_lower_is_better_flips_the_decision_not_the_interval() -> None:
    rng = np.random.default_rng(11)
    primary, candidate = rng.normal(100, 10, 300).tolist(), rng.normal(110, 10, 300).tolist()
    higher = sequential_compare(primary, candidate)
    lower = sequential_compare(primary, candidate, higher_is_better=False)
    assert higher.decision == "better" and lower.decision == "worse"
    assert (lower.low, lower.high, lower.p_value) == (higher.low, higher.high, higher.p_value)
    assert not lower.higher_is_better
    faster = sequential_compare(candidate, primary, higher_is_better=False)
    assert faster.decision == "better"
    assert faster.high is not None and faster.high < 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"tau": 0.0}, "tau"),
        ({"min_samples": 1}, "min_samples"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sequential_compare([0.0, 1.0] * 20, [0.0, 1.0] * 20, **kwargs)  # type: ignore[arg-type]


def test_summaries_passed_in_are_not_changed() -> None:
    primary, candidate = SummaryStats.of([1.0, 2.0] * 20), SummaryStats.of([2.0, 3.0] * 20)
    before = (primary.copy(), candidate.copy())
    sequential_compare(primary, candidate)
    assert (primary, candidate) == before


# --- running summaries ----------------------------------------------------------------------


@pytest.mark.parametrize("cut", [0, 1, 137, 499, 500])
def test_merge_equals_the_statistics_of_the_concatenated_values(cut: int) -> None:
    rng = np.random.default_rng(cut)
    values = rng.lognormal(6.0, 1.0, 500)  # latency-like: skewed, far from 0
    left, right = SummaryStats.of(values[:cut]), SummaryStats.of(values[cut:])
    left.merge(right)
    assert left.n == 500
    assert left.mean == pytest.approx(float(values.mean()), rel=1e-12)
    assert left.variance == pytest.approx(float(values.var(ddof=1)), rel=1e-10)
    assert left.m2 == pytest.approx(float(((values - values.mean()) ** 2).sum()), rel=1e-10)


def test_add_is_welford_and_agrees_with_the_statistics_module() -> None:
    rng = np.random.default_rng(5)
    values = (1e6 + rng.normal(0, 1, 1000)).tolist()  # a large offset: naive sums of squares fail here
    running = SummaryStats()
    for x in values:
        running.add(x)
    assert running.n == 1000
    assert running.mean == pytest.approx(statistics.fmean(values), rel=1e-14)
    assert running.variance == pytest.approx(statistics.variance(values), rel=1e-8)
    batch = SummaryStats.of(values)
    assert batch.mean == pytest.approx(running.mean, rel=1e-14)
    assert batch.m2 == pytest.approx(running.m2, rel=1e-8)
    assert sequential_compare(values, values).p_value == sequential_compare(running, running).p_value


def test_event_counts_summarise_like_their_zero_one_values() -> None:
    counted = SummaryStats.of_events(37, 120)
    listed = SummaryStats.of([1.0] * 37 + [0.0] * 83)
    assert counted.n == listed.n
    assert counted.mean == pytest.approx(listed.mean)
    assert counted.m2 == pytest.approx(listed.m2)
    assert SummaryStats.of_events(0, 0) == SummaryStats()
    with pytest.raises(ValueError, match="events"):
        SummaryStats.of_events(5, 4)


def test_summaries_refuse_values_that_would_poison_them() -> None:
    running = SummaryStats()
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="finite"):
            running.add(bad)
    assert running == SummaryStats()
    with pytest.raises(ValueError):
        SummaryStats(3, 1.0, -0.5)
    with pytest.raises(ValueError):
        SummaryStats.of([1.0, math.nan])


def test_summary_json_round_trip() -> None:
    summary = SummaryStats.of([0.25, 0.5, 1.0])
    assert SummaryStats.from_json(json.loads(json.dumps(summary.to_json()))) == summary
    with pytest.raises(ValueError, match="m2"):
        SummaryStats.from_json({"n": 3, "mean": 0.5})


# --- the exact rate test --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "trials", "limit"), [(10, 50, 0.05), (3, 50, 0.05), (40, 400, 0.08), (1, 5, 0.5)]
)
def test_rate_test_matches_the_numerical_mixture(events: int, trials: int, limit: float) -> None:
    def ratio(q: float) -> float:
        return float((q / limit) ** events * ((1 - q) / (1 - limit)) ** (trials - events))

    mixture = integrate.quad(ratio, limit, 1, limit=200, points=[events / trials])[0] / (1 - limit)
    assert rate_above_p_value(events, trials, limit) == pytest.approx(min(1.0, 1 / mixture), rel=1e-6)
    # The same closed form with scipy's incomplete beta.
    log_mixture = (
        special.betaln(events + 1, trials - events + 1)
        + math.log(special.betaincc(events + 1, trials - events + 1, limit))
        - math.log1p(-limit) * (trials - events + 1)
        - events * math.log(limit)
    )
    assert rate_above_p_value(events, trials, limit) == pytest.approx(
        min(1.0, math.exp(-log_mixture)), rel=1e-9
    )


def test_rate_test_edges() -> None:
    assert rate_above_p_value(0, 1000, 0.05) == 1.0  # no event: no evidence of any rate
    assert rate_above_p_value(0, 0, 0.05) == 1.0
    assert rate_above_p_value(50, 50, 1.0) == 1.0  # nothing is above a rate of 1
    assert rate_above_p_value(1, 50, 0.0) == 0.0  # one event disproves a rate of 0
    assert rate_above_p_value(0, 50, 0.0) == 1.0
    assert rate_above_p_value(50, 50, 0.05) < 1e-50
    with pytest.raises(ValueError):
        rate_above_p_value(6, 5, 0.1)
    with pytest.raises(ValueError):
        rate_above_p_value(1, 5, 1.5)


# --- peeking: seeded simulations ------------------------------------------------------------


def _peeks(horizon: int) -> range:
    return range(BATCH, horizon + 1, BATCH)


def _first_decisions(
    primary: NDArray[np.float64], candidate: NDArray[np.float64], *, higher_is_better: bool = True
) -> list[str]:
    """For each seed (row), the first non-inconclusive decision over the peeks (or "none")."""
    sums_p, sums_c = np.cumsum(primary, axis=1), np.cumsum(candidate, axis=1)
    squares_p, squares_c = np.cumsum(primary**2, axis=1), np.cumsum(candidate**2, axis=1)
    found = []
    for row in range(primary.shape[0]):
        decision = "none"
        for n in _peeks(primary.shape[1]):
            arms = [
                SummaryStats(n, s[row, n - 1] / n, max(0.0, q[row, n - 1] - s[row, n - 1] ** 2 / n))
                for s, q in ((sums_p, squares_p), (sums_c, squares_c))
            ]
            result = sequential_compare(arms[0], arms[1], higher_is_better=higher_is_better, min_samples=200)
            if result.decision != "inconclusive":
                decision = result.decision
                break
        found.append(decision)
    return found


def _naive_peeking_false_positives(primary: NDArray[np.float64], candidate: NDArray[np.float64]) -> int:
    """Seeds where a fixed-sample two-sided z-test at 5 % rejects at any peek (vectorised)."""
    ns = np.array(list(_peeks(primary.shape[1])))
    mean_p, mean_c = np.cumsum(primary, axis=1)[:, ns - 1] / ns, np.cumsum(candidate, axis=1)[:, ns - 1] / ns
    var_p = (np.cumsum(primary**2, axis=1)[:, ns - 1] - ns * mean_p**2) / (ns - 1)
    var_c = (np.cumsum(candidate**2, axis=1)[:, ns - 1] - ns * mean_c**2) / (ns - 1)
    z = (mean_c - mean_p) / np.sqrt((var_p + var_c) / ns)
    rejected = np.abs(z) > stats.norm.ppf(0.975)
    return int(rejected[:, ns >= 200].any(axis=1).sum())


def test_peeking_after_every_batch_keeps_false_positives_under_alpha() -> None:
    # Latency-like figures (lognormal, mean ~1,100 ms), both arms the same, 4,000 per arm.
    rng = np.random.default_rng(2024)
    primary = rng.lognormal(6.8, 0.6, (SEEDS, 4000))
    candidate = rng.lognormal(6.8, 0.6, (SEEDS, 4000))
    decisions = _first_decisions(primary, candidate, higher_is_better=False)
    false = sum(d != "none" for d in decisions)
    naive = _naive_peeking_false_positives(primary, candidate)
    print(f"no true difference, {SEEDS} seeds: mSPRT decided {false}, naive z-test peeking {naive}")
    assert false <= 0.05 * SEEDS, f"mSPRT decided in {false}/{SEEDS} seeds (naive peeking: {naive})"
    # The contrast that makes the test worth having: peeking breaks the fixed-sample test.
    assert naive >= 0.15 * SEEDS, f"naive peeking rejected in only {naive}/{SEEDS} seeds"


def test_a_real_latency_change_is_found() -> None:
    # The candidate is 10 % slower (lognormal: the mean scales with exp(mu)).
    rng = np.random.default_rng(99)
    primary = rng.lognormal(6.8, 0.6, (SEEDS, 4000))
    candidate = rng.lognormal(6.8 + math.log(1.1), 0.6, (SEEDS, 4000))
    slower = _first_decisions(primary, candidate, higher_is_better=False)
    counts = {d: slower.count(d) for d in ("better", "worse", "none")}
    print(f"candidate 10 % slower, {SEEDS} seeds, peeks of {BATCH} up to 4,000 per arm: {counts}")
    assert counts["worse"] >= 0.95 * SEEDS, counts
    assert counts["better"] == 0, counts


def test_rate_test_under_peeking_keeps_false_alarms_under_alpha() -> None:
    # True error rate exactly at the 5 % limit: every alarm is false. 6,000 requests, peeks of 50.
    rng = np.random.default_rng(1)
    events = np.cumsum(rng.random((SEEDS, 6000)) < 0.05, axis=1)
    alarms = 0
    for row in range(SEEDS):
        if any(rate_above_p_value(int(events[row, n - 1]), n, 0.05) <= 0.05 for n in _peeks(6000)):
            alarms += 1
    print(f"error rate at the limit, {SEEDS} seeds: {alarms} false alarms")
    assert alarms <= 0.05 * SEEDS, f"{alarms}/{SEEDS} false alarms"
    # A rate four times the limit is found within a few peeks: the first peek whose p <= 5 %.
    bad = np.cumsum(rng.random((SEEDS, 1000)) < 0.2, axis=1)
    found = [
        next((n for n in _peeks(1000) if rate_above_p_value(int(bad[row, n - 1]), n, 0.05) <= 0.05), None)
        for row in range(SEEDS)
    ]
    by = {n: sum(f is not None and f <= n for f in found) for n in (50, 100, 200)}
    print(f"20 % errors against a 5 % limit, {SEEDS} seeds: caught by n requests {by}")
    assert by[50] >= 0.6 * SEEDS and by[100] >= 0.9 * SEEDS and by[200] >= 0.99 * SEEDS, by
