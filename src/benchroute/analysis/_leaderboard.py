"""Per-model figures from stored results: the leaderboard a run ends with."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..store import Result, is_load_result


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """What one model achieved in a run."""

    model: str
    cases: int
    passed: int
    errors: int
    mean_score: float
    total_cost_usd: float
    cost_per_success_usd: float | None  # None when nothing passed
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    retry_rate: float  # share of results that needed at least one retry
    retries: int
    input_tokens: int
    output_tokens: int
    # Mean value of each scorer over the results that used it (factuality, citation_precision...)
    metrics: dict[str, float] = field(default_factory=dict)
    # From the token_efficiency scorer, when a suite uses it.
    efficiency: float | None = None
    wasted_usd_per_1k: float | None = None
    # Tail latency and its variance (replies not served from the cache), and time to first token.
    p99_latency_ms: float | None = None
    latency_std_ms: float | None = None
    latency_cv: float | None = None  # standard deviation / mean
    p50_ttft_ms: float | None = None
    p95_ttft_ms: float | None = None
    # Money: per 1,000 requests, and what bought nothing (failed results, filler tokens).
    cost_per_1k_usd: float = 0.0
    wasted_cost_usd: float = 0.0

    @property
    def pass_rate(self) -> float:
        return self.passed / self.cases if self.cases else 0.0


def percentile(values: list[float], q: float) -> float | None:
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


def describe(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """(mean, sample standard deviation, coefficient of variation) of ``values``."""
    if not values:
        return None, None, None
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None, None
    std = statistics.stdev(values)
    return mean, std, (std / mean if mean else None)


def _scorer_means(rows: list[Result]) -> dict[str, float]:
    sums: dict[str, list[float]] = defaultdict(list)
    for result in rows:
        for score in result.scores:
            name = score.get("scorer")
            if name:
                sums[name].append(float(score.get("value", 0.0)))
    return {name: sum(values) / len(values) for name, values in sorted(sums.items())}


def _wasted_usd(result: Result, output_per_mtok: float | None) -> float | None:
    """What the filler of one reply cost: its wasted output tokens at the output price, or —
    for models priced by compute time — the same share of the request's cost."""
    for score in result.scores:
        if score.get("scorer") != "token_efficiency":
            continue
        details = score.get("details") or {}
        wasted_tokens = details.get("wasted_output_tokens")
        if output_per_mtok is not None and wasted_tokens is not None:
            return float(wasted_tokens) * output_per_mtok / 1_000_000
        fraction = details.get("wasted_fraction")
        if fraction is not None:
            return result.cost_usd * float(fraction)
    return None


def leaderboard(results: list[Result], prices: dict[str, Any] | None = None) -> list[ModelSummary]:
    """Models ranked by pass rate, then mean score, then cost per success.

    ``prices`` is a run's price snapshot (model -> price info); with it, wasted output tokens
    are valued at the model's output price.

    The summary result of a load test (stress tier) is not a case: its pass is an SLO verdict,
    its requests' latency and cost are not on it, so counting it would inflate the pass rate
    and deflate cost per success of the models that were load-tested. The load table shows it.
    """
    by_model: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        if not is_load_result(result):
            by_model[result.model].append(result)
    summaries = []
    for model, rows in by_model.items():
        passed = sum(1 for r in rows if r.passed)
        cost = sum(r.cost_usd for r in rows)
        latencies = [r.latency_ms for r in rows if r.latency_ms is not None and not r.cached]
        metrics = _scorer_means(rows)
        output_price = ((prices or {}).get(model) or {}).get("output_per_mtok")
        wasted = [w for w in (_wasted_usd(r, output_price) for r in rows) if w is not None]
        filler = sum(w for r in rows if r.passed for w in [_wasted_usd(r, output_price)] if w is not None)
        failed_cost = sum(r.cost_usd for r in rows if not r.passed)
        ttfts = [r.ttft_ms for r in rows if r.ttft_ms is not None and not r.cached]
        _, std, cv = describe(latencies)
        summaries.append(
            ModelSummary(
                model=model,
                cases=len(rows),
                passed=passed,
                errors=sum(1 for r in rows if r.error),
                mean_score=sum(r.score or 0.0 for r in rows) / len(rows),
                total_cost_usd=cost,
                cost_per_success_usd=cost / passed if passed else None,
                p50_latency_ms=percentile(latencies, 50),
                p95_latency_ms=percentile(latencies, 95),
                retry_rate=sum(1 for r in rows if r.retries) / len(rows),
                retries=sum(r.retries for r in rows),
                input_tokens=sum(r.input_tokens for r in rows),
                output_tokens=sum(r.output_tokens for r in rows),
                metrics=metrics,
                efficiency=metrics.get("token_efficiency"),
                wasted_usd_per_1k=1000 * sum(wasted) / len(wasted) if wasted else None,
                p99_latency_ms=percentile(latencies, 99),
                latency_std_ms=std,
                latency_cv=cv,
                p50_ttft_ms=percentile(ttfts, 50),
                p95_ttft_ms=percentile(ttfts, 95),
                cost_per_1k_usd=1000 * cost / len(rows),
                wasted_cost_usd=failed_cost + filler,
            )
        )
    summaries.sort(
        key=lambda s: (
            -s.pass_rate,
            -s.mean_score,
            s.cost_per_success_usd if s.cost_per_success_usd is not None else float("inf"),
        )
    )
    return summaries
