"""Small pure statistics shared by the packages that compute figures from samples.

``percentile`` is needed both when a stress run scores its load (``scorers``) and when
analysis summarises stored results; it lives here, below both, so neither imports the
other for it. ``benchroute.analysis.percentile`` is its public name.
"""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in [0, 100]) of unsorted values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
