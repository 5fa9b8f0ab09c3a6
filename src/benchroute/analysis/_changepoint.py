"""Change-point detection over a metric's series of runs: has it shifted, and since which run?

Design
------
The series is one figure per run, oldest first (a pass rate with the number of results it
was measured on, or a latency). The detector is a *generalized likelihood-ratio scan*: for
every candidate first run ``t`` of a new regime it compares the runs before ``t`` with the
runs from ``t`` on, and keeps the ``t`` with the largest likelihood ratio. The named run is
that ``t``; the p-value says how often a series with no change at all scans that high. Run
after every new run (``benchroute watch`` does), it is the offline form of a GLR-CUSUM: the
scan restarted on the whole window each time instead of a running sum whose reference level
must be known in advance.

Rates (pass, error, refusal) — binomial scan. Run ``i`` has ``k_i`` events out of ``n_i``.
The log-likelihood ratio of "rate p1 before t, p2 from t" against "one rate" is
``ℓ(K1, N1) + ℓ(K2, N2) - ℓ(K, N)`` with ``ℓ(k, n) = k log(k/n) + (n-k) log(1-k/n)``.
Calibration is *exact and needs no estimate of the base rate*: conditional on the total
number of events, a series without change spreads them over the runs as a multivariate
hypergeometric draw, whatever the rate. The p-value is a Monte Carlo estimate from such
draws (seeded; sequential, after Besag & Clifford: drawing stops once enough draws have
beaten the observed scan, so an unremarkable series costs a few hundred draws). This is what
keeps a 4 % refusal rate estimated from three runs of 50 cases from raising false alarms:
no normal approximation, no plug-in rate. Run-to-run noise beyond binomial (a provider that
is flaky on some days) is estimated from the runs before the change (Pearson's X² over
their degrees of freedom, floored at 1) and divides the statistic, a quasi-likelihood scan.

Continuous figures (latency, tokens, cost, scorer means) — Gaussian scan: the largest
two-sample t statistic over the candidate split, noise estimated from the runs themselves
(pooled within-segment variance), calibrated by permuting the runs' order (exact under
"no change": the runs are then exchangeable). It needs at least ``MIN_CONTINUOUS_RUNS``
runs, below which no split can be told apart from noise by permutation.

Small p-values. A Monte Carlo p-value cannot go below ``1 / (draws + 1)`` (0.0005 with the
default 2000), and a drift check puts every metric × model into one Benjamini–Hochberg
procedure: with a dozen tests that floor alone would keep a real change from ever reaching
``q < 0.003``. When no draw reached the observed scan, the p-value is the smaller of that
floor and the Bonferroni bound over the ``T - 1`` candidate splits (the χ²₁ tail of twice
the log-likelihood ratio, or the t tail of the largest t). That bound is conservative, and
the exact Monte Carlo value is kept whenever a draw did reach the scan, so the test keeps its
level at every alpha.

The effect's interval is Newcombe's hybrid score interval of the two segments' pooled rates
(binomial), or Welch's t interval of the difference of the segments' means (continuous).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from ._drift_stats import chi2_1_sf, newcombe_unpaired, t_sf, welch_interval

# Permutation calibration needs enough orderings to reach small p-values.
MIN_CONTINUOUS_RUNS = 6
# Sequential Monte Carlo: stop once this many draws scanned at least as high as the data.
_ENOUGH_EXCEEDANCES = 25
_CHUNK = 250


@dataclass(frozen=True, slots=True)
class SeriesValue:
    """One run's figure in a series (oldest first when passed to the detector)."""

    run_id: str
    value: float | None  # a rate in 0..1 for binomial series
    n: int = 0  # results it was measured on (binomial series: the trials)
    version: str | None = None  # served model / system fingerprint at that run


@dataclass(frozen=True, slots=True)
class ChangePoint:
    """Where a series shifted: ``run_id`` is the first run of the new regime."""

    run_id: str
    index: int  # position of that run in the series passed in
    before: float  # the figure over the runs before (pooled rate, or mean)
    after: float  # over the runs from the change on
    statistic: float
    p_value: float
    runs_before: int
    runs_after: int
    method: str  # "binomial GLR scan" or "Gaussian scan (permutation)"
    dispersion: float = 1.0  # run-to-run noise over binomial, estimated before the change
    draws: int = 0  # Monte Carlo draws used for the p-value
    effect_ci: tuple[float, float] | None = None  # interval of after - before

    @property
    def effect(self) -> float:
        return self.after - self.before


def _xlogy_rate(k: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
    """ℓ(k, n) elementwise, with 0·log 0 = 0 and ℓ = 0 where n = 0."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / np.where(n > 0, n, 1), 0.0)
        a = np.where(k > 0, k * np.log(np.where(p > 0, p, 1)), 0.0)
        b = np.where(n - k > 0, (n - k) * np.log(np.where(p < 1, 1 - p, 1)), 0.0)
    result: NDArray[np.float64] = a + b
    return result


def _binomial_scan(counts: NDArray[np.float64], trials: NDArray[np.float64]) -> NDArray[np.float64]:
    """Log-likelihood ratio at every split t = 1..T-1 (columns), for each row of counts."""
    k1 = np.cumsum(counts, axis=-1)[..., :-1]
    n1 = np.cumsum(trials)[:-1]
    total_k = counts.sum(axis=-1, keepdims=True)
    total_n = float(trials.sum())
    k2 = total_k - k1
    n2 = total_n - n1
    whole = _xlogy_rate(total_k, np.full_like(total_k, total_n))
    result: NDArray[np.float64] = _xlogy_rate(k1, n1) + _xlogy_rate(k2, n2) - whole
    return result


def _dispersion(counts: NDArray[np.float64], trials: NDArray[np.float64]) -> float:
    """Pearson X² / df of the runs against their pooled rate, floored at 1 (1 with < 3 runs)."""
    if len(counts) < 3 or trials.sum() == 0:
        return 1.0
    rate = counts.sum() / trials.sum()
    if rate <= 0 or rate >= 1:
        return 1.0
    expected = trials * rate
    chi2 = float(np.sum((counts - expected) ** 2 / (expected * (1 - rate))))
    return max(1.0, chi2 / (len(counts) - 1))


class _Draw(Protocol):
    def __call__(self, size: int, rng: np.random.Generator) -> NDArray[np.float64]: ...


def _sequential_p(
    observed: float, draw: _Draw, resamples: int, rng: np.random.Generator, bound: float
) -> tuple[float, int]:
    """Besag–Clifford sequential Monte Carlo p-value, (1 + exceedances) / (1 + draws); when
    no draw reached ``observed``, the smaller of that and ``bound`` (see the module doc)."""
    exceed = 0
    drawn = 0
    tolerance = 1e-9 * max(1.0, abs(observed))
    while drawn < resamples:
        size = min(_CHUNK, resamples - drawn)
        scans = draw(size, rng)
        exceed += int(np.sum(scans >= observed - tolerance))
        drawn += size
        if exceed >= _ENOUGH_EXCEEDANCES:
            return exceed / drawn, drawn
    p_value = (1 + exceed) / (1 + drawn)
    return (min(p_value, bound) if exceed == 0 else p_value), drawn


def _change_point(
    points: Sequence[SeriesValue],
    series: Sequence[SeriesValue],
    split: int,
    segments: tuple[float, float],
    statistic: float,
    p_value: float,
    method: str,
    *,
    draws: int,
    effect_ci: tuple[float, float] | None,
    dispersion: float = 1.0,
) -> ChangePoint:
    return ChangePoint(
        run_id=points[split].run_id,
        index=series.index(points[split]),
        before=segments[0],
        after=segments[1],
        statistic=statistic,
        p_value=p_value,
        runs_before=split,
        runs_after=len(points) - split,
        method=method,
        dispersion=dispersion,
        draws=draws,
        effect_ci=effect_ci,
    )


def binomial_change_point(
    series: Sequence[SeriesValue], *, resamples: int = 2000, seed: int = 0, confidence: float = 0.95
) -> ChangePoint | None:
    """The most likely change in a rate series, with its exact conditional p-value.

    Runs without a figure (``value`` None or ``n`` 0) are left out. None when fewer than two
    runs remain or no run had an event and none lacked one (nothing can have changed).
    """
    points = [p for p in series if p.value is not None and p.n > 0]
    if len(points) < 2:
        return None
    trials = np.array([p.n for p in points], dtype=np.float64)
    counts = np.array([round(float(p.value or 0.0) * p.n) for p in points], dtype=np.float64)
    total = int(counts.sum())
    if total == 0 or total == int(trials.sum()):
        return None
    scan = _binomial_scan(counts, trials)
    split = int(np.argmax(scan)) + 1  # first run of the new regime
    dispersion = _dispersion(counts[:split], trials[:split])
    observed = float(scan[split - 1]) / dispersion
    colors = trials.astype(np.int64)

    def draw(size: int, rng: np.random.Generator) -> NDArray[np.float64]:
        sampled = rng.multivariate_hypergeometric(colors, total, size=size).astype(np.float64)
        result: NDArray[np.float64] = _binomial_scan(sampled, trials).max(axis=1)
        return result

    bound = min(1.0, (len(points) - 1) * chi2_1_sf(2 * observed))
    p_value, drawn = _sequential_p(observed, draw, resamples, np.random.default_rng(seed), bound)
    k_old, n_old = int(counts[:split].sum()), int(trials[:split].sum())
    k_new, n_new = int(counts[split:].sum()), int(trials[split:].sum())
    return _change_point(
        points,
        series,
        split,
        (k_old / n_old, k_new / n_new),
        observed,
        p_value,
        "binomial GLR scan",
        draws=drawn,
        effect_ci=newcombe_unpaired(k_new, n_new, k_old, n_old, confidence),
        dispersion=dispersion,
    )


def _gaussian_scan(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """|t| of the two-segment split at every t = 1..T-1, for each row of values."""
    size = values.shape[-1]
    sizes1 = np.arange(1, size, dtype=np.float64)
    sizes2 = size - sizes1
    csum = np.cumsum(values, axis=-1)[..., :-1]
    csq = np.cumsum(values**2, axis=-1)[..., :-1]
    total = values.sum(axis=-1, keepdims=True)
    total_sq = (values**2).sum(axis=-1, keepdims=True)
    mean1 = csum / sizes1
    mean2 = (total - csum) / sizes2
    within = (csq - sizes1 * mean1**2) + ((total_sq - csq) - sizes2 * mean2**2)
    variance = np.maximum(within, 0) / (size - 2)
    scale = np.sqrt(variance * (1 / sizes1 + 1 / sizes2))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(mean2 - mean1) / scale
    # A split with zero noise and a real gap is infinitely sure; no gap and no noise is 0.
    t = np.where(scale > 0, t, np.where(np.abs(mean2 - mean1) > 0, np.inf, 0.0))
    result: NDArray[np.float64] = t
    return result


def gaussian_change_point(
    series: Sequence[SeriesValue], *, resamples: int = 2000, seed: int = 0, confidence: float = 0.95
) -> ChangePoint | None:
    """The most likely shift in the mean of a continuous series, with a permutation p-value.

    None with fewer than ``MIN_CONTINUOUS_RUNS`` runs that have a figure, or when every run
    has the same figure.
    """
    points = [p for p in series if p.value is not None and math.isfinite(p.value)]
    if len(points) < MIN_CONTINUOUS_RUNS:
        return None
    values = np.array([p.value for p in points], dtype=np.float64)
    if float(np.ptp(values)) == 0.0:
        return None
    scan = _gaussian_scan(values)
    split = int(np.argmax(scan)) + 1
    observed = float(scan[split - 1])

    def draw(size: int, rng: np.random.Generator) -> NDArray[np.float64]:
        shuffled = rng.permuted(np.broadcast_to(values, (size, len(values))), axis=1)
        result: NDArray[np.float64] = _gaussian_scan(shuffled).max(axis=1)
        return result

    bound = min(1.0, (len(points) - 1) * 2 * t_sf(observed, len(points) - 2))
    p_value, drawn = _sequential_p(observed, draw, resamples, np.random.default_rng(seed), bound)
    before, after = values[:split], values[split:]
    effect_ci: tuple[float, float] | None = None
    if len(before) >= 2 and len(after) >= 2 and (np.ptp(before) > 0 or np.ptp(after) > 0):
        effect_ci = welch_interval(after, before, confidence)
    return _change_point(
        points,
        series,
        split,
        (float(before.mean()), float(after.mean())),
        observed,
        p_value,
        "Gaussian scan (permutation)",
        draws=drawn,
        effect_ci=effect_ci,
    )


def find_change_point(
    series: Sequence[SeriesValue],
    *,
    binary: bool = True,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> ChangePoint | None:
    """The run where ``series`` (oldest first) most likely changed regime, or None.

    ``binary``: the values are rates over ``n`` trials (binomial scan, exact conditional
    calibration); otherwise continuous figures (Gaussian scan, permutation calibration).
    Whether the change is real is the caller's call on ``p_value`` (and the effect);
    ``effect_ci`` is the ``confidence`` interval of ``after - before``.
    """
    scan = binomial_change_point if binary else gaussian_change_point
    return scan(series, resamples=resamples, seed=seed, confidence=confidence)
