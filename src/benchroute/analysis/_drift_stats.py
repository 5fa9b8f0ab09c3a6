"""The rate tests and intervals of a drift check (used by ``_drift`` and ``_changepoint``),
scipy's wherever scipy has them.

* McNemar's exact test is the binomial test of the discordant pairs (``scipy.stats.binomtest``);
  Fisher's exact test, Wilson intervals and Benjamini–Hochberg are scipy's own
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

import numpy as np


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the order given."""
    if not p_values:
        return []
    from scipy import stats

    adjusted = stats.false_discovery_control(np.asarray(p_values, dtype=np.float64), method="bh")
    return [float(q) for q in adjusted]


def wilson_interval(events: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ((0, 1) when there are no trials)."""
    if trials == 0:
        return 0.0, 1.0
    from scipy import stats

    interval = stats.binomtest(events, trials).proportion_ci(confidence, method="wilson")
    return float(interval.low), float(interval.high)


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
    """Two-sided exact McNemar p-value: the binomial test of the discordant pairs."""
    discordant = old_only + new_only
    if discordant == 0:
        return 1.0
    from scipy import stats

    return float(stats.binomtest(new_only, discordant, 0.5).pvalue)


def fisher_exact(events_new: int, trials_new: int, events_old: int, trials_old: int) -> float:
    """Two-sided Fisher exact p-value of two proportions."""
    from scipy import stats

    table = [[events_new, trials_new - events_new], [events_old, trials_old - events_old]]
    return float(stats.fisher_exact(table).pvalue)
