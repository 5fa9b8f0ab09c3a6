"""Latency as a distribution, not a mean: percentiles, spread and time to first token, per
model and per group (tier, suite, or any key of a result).

Latency is what the caller waited (end to end: retries, backoff, rate-limiter waits and
local-model queueing included; the last attempt's latency for results stored without it).
Replies served from the response cache count at the latency of the call that produced them.
Failed requests are left out (their latency is the time to an error).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from ..store import Result
from ._leaderboard import describe, percentile, waited_ms


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """One group's latency distribution, in milliseconds."""

    group: str
    model: str
    samples: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    std_ms: float | None  # sample standard deviation
    cv: float | None  # coefficient of variation: std / mean
    p50_ttft_ms: float | None
    p95_ttft_ms: float | None


def latency_stats(results: list[Result], group_of: Callable[[Result], str]) -> list[LatencyStats]:
    """Latency per (group, model), ordered by group then model."""
    latencies: dict[tuple[str, str], list[float]] = defaultdict(list)
    ttfts: dict[tuple[str, str], list[float]] = defaultdict(list)
    for result in results:
        waited = waited_ms(result)
        if result.error or waited is None:
            continue
        key = (group_of(result), result.model)
        latencies[key].append(waited)
        if result.ttft_ms is not None:
            ttfts[key].append(result.ttft_ms)
    stats = []
    for (group, model), values in sorted(latencies.items()):
        mean, std, cv = describe(values)
        first = ttfts.get((group, model), [])
        stats.append(
            LatencyStats(
                group=group,
                model=model,
                samples=len(values),
                p50_ms=percentile(values, 50),
                p95_ms=percentile(values, 95),
                p99_ms=percentile(values, 99),
                mean_ms=mean,
                std_ms=std,
                cv=cv,
                p50_ttft_ms=percentile(first, 50),
                p95_ttft_ms=percentile(first, 95),
            )
        )
    return stats


def latency_by_tier(results: list[Result], tiers: dict[str, str]) -> list[LatencyStats]:
    """Latency per tier (from a suite -> tier map, e.g. a run's config) and model."""
    return latency_stats(results, lambda r: tiers.get(r.suite, "—"))
