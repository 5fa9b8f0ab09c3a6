"""The rate tests and intervals of a drift check (used by ``_drift`` and ``_changepoint``).

They are written on numpy and the standard library, not scipy: importing ``scipy.stats`` takes
most of a second (``scipy.special`` alone a fifth), more than a whole ``benchroute drift``
check on a 1,000,000-result store should take. tests/analysis/test_drift_stats_fast.py checks every one of
them against its ``scipy.stats`` counterpart (named below).

* McNemar's exact test is the binomial test of the discordant pairs (``scipy.stats.binomtest``);
  Fisher's exact test, Wilson intervals and Benjamini–Hochberg match scipy's
  (``fisher_exact``, ``binomtest(...).proportion_ci(method="wilson")``,
  ``false_discovery_control``).
* Newcombe's hybrid score intervals for a difference of proportions (independent samples,
  and paired with the correlation correction) are not in scipy and are written out here
  (Newcombe 1998, *Statistics in Medicine* 17:873 and 17:2635, method 10 in both). They stay
  inside [-1, 1] and behave at 0 and 1, where a Wald interval of 2 events in 50 does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray


def z_value(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence`` (``scipy.stats.norm.ppf``)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def chi2_1_sf(x: float) -> float:
    """Upper tail of chi-square with 1 degree of freedom (``scipy.stats.chi2.sf(x, 1)``)."""
    return math.erfc(math.sqrt(max(x, 0.0) / 2))


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularized incomplete beta (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < eps:
            break
    return result


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) (``scipy.special.betainc``)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def t_sf(x: float, df: float) -> float:
    """Upper tail of Student's t (``scipy.stats.t.sf``)."""
    if math.isinf(x):
        return 0.0 if x > 0 else 1.0
    tail = 0.5 * betainc(df / 2, 0.5, df / (df + x * x))
    return tail if x >= 0 else 1 - tail


def t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t for q in (0.5, 1) (``scipy.stats.t.ppf``): Newton's method
    from the normal quantile, kept inside a bracket that bisection narrows."""
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    low, high = 0.0, 1e6
    x = NormalDist().inv_cdf(q)
    for _ in range(200):
        gap = (1 - t_sf(x, df)) - q
        if abs(gap) < 1e-15:
            break
        if gap > 0:
            high = x
        else:
            low = x
        density = math.exp(log_norm - (df + 1) / 2 * math.log1p(x * x / df))
        step = x - gap / density
        x = step if low < step < high else (low + high) / 2
        if high - low < 1e-13 * max(1.0, x):
            break
    return x


def welch_interval(
    after: NDArray[np.float64], before: NDArray[np.float64], confidence: float
) -> tuple[float, float]:
    """Welch's interval of mean(after) - mean(before) (as ``scipy.stats.ttest_ind(after,
    before, equal_var=False).confidence_interval``)."""
    var_a, var_b = after.var(ddof=1) / len(after), before.var(ddof=1) / len(before)
    se = math.sqrt(var_a + var_b)
    df = (var_a + var_b) ** 2 / (var_a**2 / (len(after) - 1) + var_b**2 / (len(before) - 1))
    half = t_ppf(0.5 + confidence / 2, df) * se
    difference = float(after.mean() - before.mean())
    return difference - half, difference + half


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the order given
    (``scipy.stats.false_discovery_control(method="bh")``)."""
    if not p_values:
        return []
    ps = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(ps)
    scaled = ps[order] * len(ps) / np.arange(1, len(ps) + 1)
    adjusted = np.empty_like(ps)
    adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return [float(q) for q in adjusted]


def wilson_interval(events: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ((0, 1) when there are no trials)
    (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``)."""
    if trials == 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = events / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if events == 0 else max(0.0, centre - half)
    high = 1.0 if events == trials else min(1.0, centre + half)
    return low, high


def _newcombe(
    p_new: float,
    p_old: float,
    new_interval: tuple[float, float],
    old_interval: tuple[float, float],
    phi: float = 0.0,
) -> tuple[float, float]:
    """Square-and-add of the Wilson limits (phi: the correlation of paired outcomes)."""
    below_new, above_new = p_new - new_interval[0], new_interval[1] - p_new
    below_old, above_old = p_old - old_interval[0], old_interval[1] - p_old
    difference = p_new - p_old
    low = difference - math.sqrt(max(below_new**2 - 2 * phi * below_new * above_old + above_old**2, 0.0))
    high = difference + math.sqrt(max(above_new**2 - 2 * phi * above_new * below_old + below_old**2, 0.0))
    return max(-1.0, low), min(1.0, high)


def newcombe_unpaired(
    events_new: int, trials_new: int, events_old: int, trials_old: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for p_new - p_old, independent samples."""
    return _newcombe(
        events_new / trials_new,
        events_old / trials_old,
        wilson_interval(events_new, trials_new, confidence),
        wilson_interval(events_old, trials_old, confidence),
    )


def newcombe_paired(
    both: int, old_only: int, new_only: int, neither: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's score interval (1998b, method 10) for p_new - p_old on paired outcomes.

    ``old_only``: pairs with the event in the baseline only; ``new_only``: in the latest only.
    """
    n = both + old_only + new_only + neither
    margins = (both + old_only) * (new_only + neither) * (both + new_only) * (old_only + neither)
    cross = both * neither - old_only * new_only
    phi = 0.0
    if margins > 0:  # Newcombe's continuity adjustment of the correlation
        phi = (max(cross - n / 2, 0) if cross > 0 else cross) / math.sqrt(margins)
    return _newcombe(
        (both + new_only) / n,
        (both + old_only) / n,
        wilson_interval(both + new_only, n, confidence),
        wilson_interval(both + old_only, n, confidence),
        phi,
    )


def mcnemar_exact(old_only: int, new_only: int) -> float:
    """Two-sided exact McNemar p-value: the binomial test of the discordant pairs
    (``scipy.stats.binomtest(new_only, discordant, 0.5)``; at p = 1/2 the two tails are
    mirror images, so the p-value is twice the smaller one)."""
    discordant = old_only + new_only
    if discordant == 0 or 2 * new_only == discordant:
        return 1.0
    smaller = min(old_only, new_only)  # P(X <= smaller) = I_(1/2)(n - smaller, smaller + 1)
    return min(1.0, 2 * betainc(discordant - smaller, smaller + 1, 0.5))


def fisher_exact(events_new: int, trials_new: int, events_old: int, trials_old: int) -> float:
    """Two-sided Fisher exact p-value of two proportions (``scipy.stats.fisher_exact``):
    the hypergeometric probability of every table no more likely than the one seen."""
    events = events_new + events_old
    total = trials_new + trials_old
    low, high = max(0, events - trials_old), min(events, trials_new)
    # log P(X = low), then the ratio P(X = x + 1) / P(X = x) of neighbouring tables
    start = _log_choose(trials_new, low) + _log_choose(trials_old, events - low) - _log_choose(total, events)
    x = np.arange(low, high, dtype=np.float64)
    steps = np.log((trials_new - x) * (events - x)) - np.log((x + 1) * (trials_old - events + x + 1))
    log_pmf = start + np.concatenate([[0.0], np.cumsum(steps)])
    observed = log_pmf[events_new - low]
    # "as likely" within a relative 1e-7 (scipy's 2x2 test uses 1e-14; the looser bound
    # absorbs the rounding of the log sums here)
    chosen = log_pmf[log_pmf <= observed + math.log1p(1e-7)]
    return float(min(1.0, np.exp(chosen).sum()))


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def mann_whitney_p(new: NDArray[np.float64], old: NDArray[np.float64]) -> float:
    """Two-sided Mann–Whitney U p-value, as ``scipy.stats.mannwhitneyu(new, old)`` (normal
    approximation with tie and continuity corrections; scipy's exact distribution, through
    scipy.stats, when a sample has at most 8 values and there are no ties)."""
    n1, n2 = len(new), len(old)
    values = np.concatenate([new, old])
    _unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ties = bool((counts > 1).any())
    if (n1 <= 8 or n2 <= 8) and not ties:
        from scipy import stats

        return float(stats.mannwhitneyu(new, old, alternative="two-sided").pvalue)
    upper = np.cumsum(counts)
    ranks = (upper - (counts - 1) / 2.0)[inverse]
    u1 = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    n = n1 + n2
    tie_term = float((counts.astype(np.float64) ** 3 - counts).sum())
    spread = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    if spread == 0:
        return 1.0
    z = (u - n1 * n2 / 2 - 0.5) / spread
    return min(1.0, math.erfc(z / math.sqrt(2)))  # 2 * P(Z > z)


def median(values: NDArray[np.float64]) -> float:
    """The median, as ``np.median`` (which imports ``numpy.ma``, 50 ms, on first use)."""
    ordered = np.sort(values)
    n = len(ordered)
    return float(ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2)


def quantiles(values: NDArray[np.float64], low: float, high: float) -> tuple[float, float]:
    """The ``low`` and ``high`` quantiles, as ``np.quantile`` (linear interpolation), which
    also imports ``numpy.ma`` on first use."""
    ordered = np.sort(values)
    result = []
    for q in (low, high):
        position = (len(ordered) - 1) * q
        below = math.floor(position)
        above = min(below + 1, len(ordered) - 1)
        result.append(float(ordered[below] + (position - below) * (ordered[above] - ordered[below])))
    return result[0], result[1]


def bootstrap_medians(
    values: NDArray[np.float64], resamples: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``resamples`` draws of the median of a bootstrap resample of ``values``, from its exact
    distribution rather than by drawing ``resamples x n`` indices.

    A resample's k-th smallest index is ``floor(n * U_(k))``, with ``U_(k)`` the k-th order
    statistic of n uniforms, which is Beta(k, n + 1 - k); given it, the next one is
    ``U_(k) + (1 - U_(k)) * Beta(1, n - k)``. So a median (the middle order statistic, or
    the mean of the two middle ones when n is even) costs two Beta draws, not a sort of n
    values: the same distribution as ``np.median(values[rng.integers(0, n, (R, n))], 1)``
    (tests/analysis/test_drift_stats_fast.py compares the two).
    """
    ordered = np.sort(values)
    n = len(ordered)
    k = (n + 1) // 2 if n % 2 else n // 2
    low = rng.beta(k, n + 1 - k, resamples)
    first = ordered[np.minimum((n * low).astype(np.int64), n - 1)]
    if n % 2:
        return first
    high = low + (1 - low) * rng.beta(1, n - k, resamples)
    second = ordered[np.minimum((n * high).astype(np.int64), n - 1)]
    result: NDArray[np.float64] = (first + second) / 2
    return result


def bootstrap_means(
    values: NDArray[np.float64], resamples: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``resamples`` draws of the mean of a bootstrap resample of ``values``: how often each
    distinct value is drawn is multinomial, so a resample's mean is those counts times the
    distinct values — the same distribution as ``values[rng.integers(0, n, (R, n))].mean(1)``
    at ``R x distinct`` cost instead of ``R x n`` (token counts repeat a lot;
    tests/analysis/test_drift_stats_fast.py compares the two)."""
    distinct, counts = np.unique(values, return_counts=True)
    n = len(values)
    if len(distinct) == 1:
        return np.full(resamples, float(distinct[0]))
    draws = rng.multinomial(n, counts / n, size=resamples)
    result: NDArray[np.float64] = draws @ distinct / n
    return result
