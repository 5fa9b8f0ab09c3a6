"""The drift tests written on scipy.special / the standard library (analysis/_drift_stats.py)
give scipy.stats' own figures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from benchroute.analysis import _drift_stats as ds

RTOL = 1e-6


@pytest.mark.parametrize(
    ("a", "n", "b", "m"),
    [(0, 10, 0, 10), (3, 10, 7, 10), (40, 1000, 190, 1000), (800, 1000, 650, 1000), (5, 7, 1, 30),
     (2, 50, 2, 50), (1, 1, 0, 1), (590, 1000, 6860, 10000)],
)  # fmt: skip
def test_fisher_matches_scipy(a: int, n: int, b: int, m: int) -> None:
    expected = stats.fisher_exact([[a, n - a], [b, m - b]]).pvalue
    assert ds.fisher_exact(a, n, b, m) == pytest.approx(expected, rel=RTOL, abs=1e-300)


@pytest.mark.parametrize(("old", "new"), [(0, 0), (0, 1), (3, 3), (4, 11), (30, 70), (1, 300), (250, 240)])
def test_mcnemar_matches_scipy_binomtest(old: int, new: int) -> None:
    expected = 1.0 if old + new == 0 else stats.binomtest(new, old + new, 0.5).pvalue
    assert ds.mcnemar_exact(old, new) == pytest.approx(expected, rel=RTOL)


@pytest.mark.parametrize(("k", "n"), [(0, 5), (5, 5), (1, 50), (40, 1000), (500, 1000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(k: int, n: int, confidence: float) -> None:
    ci = stats.binomtest(k, n).proportion_ci(confidence, method="wilson")
    assert ds.wilson_interval(k, n, confidence) == pytest.approx((ci.low, ci.high), rel=RTOL, abs=1e-12)


def test_benjamini_hochberg_matches_scipy() -> None:
    ps = np.random.default_rng(3).uniform(0, 0.2, 40) ** 2
    ps[[4, 9]] = ps[7]  # ties
    assert ds.benjamini_hochberg(list(ps)) == pytest.approx(list(stats.false_discovery_control(ps)), rel=RTOL)


@pytest.mark.parametrize("case", ["continuous", "ties", "small", "shifted"])
def test_mann_whitney_matches_scipy(case: str) -> None:
    rng = np.random.default_rng(7)
    new, old = rng.lognormal(5.5, 0.4, 300), rng.lognormal(5.5, 0.4, 900)
    if case == "ties":
        new, old = np.round(new, -1), np.round(old, -1)
    elif case == "small":
        new, old = new[:6], old[:7]
    elif case == "shifted":
        new = new * 1.08
    expected = stats.mannwhitneyu(new, old, alternative="two-sided").pvalue
    assert ds.mann_whitney_p(new, old) == pytest.approx(expected, rel=RTOL)


def test_distribution_tails_and_welch_match_scipy() -> None:
    for x in (0.0, 0.5, 3.0, 25.0, 80.0):
        assert ds.chi2_1_sf(x) == pytest.approx(stats.chi2.sf(x, 1), rel=RTOL, abs=1e-300)
        assert ds.t_sf(x, 7) == pytest.approx(stats.t.sf(x, 7), rel=RTOL, abs=1e-300)
    assert ds.z_value(0.95) == pytest.approx(stats.norm.ppf(0.975), rel=1e-9)
    rng = np.random.default_rng(1)
    after, before = rng.normal(1.2, 2.0, 9), rng.normal(1.0, 0.5, 30)
    welch = stats.ttest_ind(after, before, equal_var=False).confidence_interval(0.9)
    assert ds.welch_interval(after, before, 0.9) == pytest.approx((welch.low, welch.high), rel=RTOL)


@pytest.mark.parametrize("n", [2, 11, 12, 400])
def test_bootstrap_medians_have_the_resampled_medians_distribution(n: int) -> None:
    values = np.random.default_rng(n).lognormal(5.5, 0.4, n)
    values[: n // 4] = values[0]  # ties, as latencies in ms have
    draws = 20_000
    direct = np.median(values[np.random.default_rng(1).integers(0, n, (draws, n))], axis=1)
    exact = ds.bootstrap_medians(values, draws, np.random.default_rng(2))
    assert stats.ks_2samp(direct, exact).pvalue > 0.001
    # a wrong order statistic (one place off) is told apart at this many draws
    if n > 2:
        shifted = np.sort(values)[np.minimum(np.searchsorted(np.sort(values), exact) + 1, n - 1)]
        assert stats.ks_2samp(direct, shifted).pvalue < 0.001


@pytest.mark.parametrize("n", [2, 9, 400])
def test_bootstrap_means_have_the_resampled_means_distribution(n: int) -> None:
    values = np.round(np.random.default_rng(n).lognormal(2.5, 0.6, n))  # token counts repeat
    draws = 20_000
    direct = values[np.random.default_rng(1).integers(0, n, (draws, n))].mean(axis=1)
    exact = ds.bootstrap_means(values, draws, np.random.default_rng(2))
    assert stats.ks_2samp(direct, exact).pvalue > 0.001
    # resampling from the wrong weights (each distinct value alike) is told apart
    distinct = np.unique(values)
    if len(distinct) > 2:
        even = np.random.default_rng(3).multinomial(n, np.full(len(distinct), 1 / len(distinct)), draws)
        assert stats.ks_2samp(direct, even @ distinct / n).pvalue < 0.001


@pytest.mark.parametrize("df", [1.0, 2.5, 7.0, 48.3, 2000.0])
def test_t_quantile_and_incomplete_beta_match_scipy(df: float) -> None:
    from scipy import special

    for q in (0.6, 0.95, 0.975, 0.995):
        assert ds.t_ppf(q, df) == pytest.approx(stats.t.ppf(q, df), rel=RTOL)
    for a, b, x in ((0.5, df / 2, 0.3), (df, 3.0, 0.9), (150.0, 151.0, 0.5)):
        assert ds.betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=RTOL, abs=1e-300)


@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_median_matches_numpy(n: int) -> None:
    values = np.random.default_rng(n).lognormal(5.5, 0.4, n)
    assert ds.median(values) == float(np.median(values))


@pytest.mark.parametrize("n", [1, 2, 9, 2000])
def test_quantiles_match_numpy(n: int) -> None:
    values = np.random.default_rng(n).normal(0.0, 1.0, n)
    expected = (float(np.quantile(values, 0.0015)), float(np.quantile(values, 0.9985)))
    assert ds.quantiles(values, 0.0015, 0.9985) == pytest.approx(expected, rel=1e-12, abs=1e-15)
