"""Per-model figures from stored results: the leaderboard a run ends with."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..store import Result


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


def leaderboard(results: list[Result]) -> list[ModelSummary]:
    """Models ranked by pass rate, then mean score, then cost per success."""
    by_model: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_model[result.model].append(result)
    summaries = []
    for model, rows in by_model.items():
        passed = sum(1 for r in rows if r.passed)
        cost = sum(r.cost_usd for r in rows)
        latencies = [r.latency_ms for r in rows if r.latency_ms is not None and not r.cached]
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
