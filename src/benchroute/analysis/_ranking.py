"""Ranking models under user weights and hard limits, and the Pareto frontiers.

A 4% accuracy gap can be worth a 3x price difference, or not: that depends on the team.
``rank_models`` turns each criterion into a 0..1 desirability across the compared models
(min-max scaled, so 1 is the best model on that criterion and 0 the worst), combines them
with the user's weights into one utility, and puts models that break a hard limit after
every model that keeps them. The Pareto frontiers need no weights at all: a model is on the
accuracy-vs-cost frontier when no other model is at least as accurate *and* at least as
cheap per successful output, and strictly better on one of them.

An unpriced model (a result without a price) has an unknown cost, not a low one: it scores
the worst desirability on cost, is never on the cost frontier, breaks a cost limit, and
ranks after the priced models it ties with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ._leaderboard import ModelSummary


@dataclass(frozen=True, slots=True)
class RankingWeights:
    """How much each criterion counts; only the ratios matter. Accuracy is the pass rate."""

    accuracy: float = 1.0
    cost: float = 0.0  # cost per successful output, lower is better
    p95_latency: float = 0.0
    retry_rate: float = 0.0
    efficiency: float = 0.0  # token efficiency, when a suite scores it

    def items(self) -> list[tuple[str, float]]:
        return [
            ("accuracy", self.accuracy),
            ("cost", self.cost),
            ("p95_latency", self.p95_latency),
            ("retry_rate", self.retry_rate),
            ("efficiency", self.efficiency),
        ]


@dataclass(frozen=True, slots=True)
class RankingLimits:
    """Hard limits: a model that breaks one is ranked after every model that keeps them all."""

    max_cost_per_success: float | None = None
    max_p95_ms: float | None = None  # a model with only conversations: per whole conversation
    min_pass_rate: float | None = None


@dataclass(frozen=True, slots=True)
class RankedModel:
    summary: ModelSummary
    utility: float  # 0..1, weighted desirability over the compared models
    violations: list[str] = field(default_factory=list)
    on_cost_frontier: bool = False  # accuracy vs cost per success
    on_latency_frontier: bool = False  # accuracy vs p95 latency

    @property
    def eligible(self) -> bool:
        return not self.violations


def pareto_frontier(points: Sequence[tuple[str, float, float]]) -> set[str]:
    """Names of the non-dominated points among (name, x to minimise, y to maximise).

    A point is dominated when another has x <= its x and y >= its y, one of them strictly.
    Equal points are all kept.
    """
    frontier: set[str] = set()
    for name, x, y in points:
        dominated = any(
            ox <= x and oy >= y and (ox < x or oy > y) for other, ox, oy in points if other != name
        )
        if not dominated:
            frontier.add(name)
    return frontier


def desirability(values: list[float | None], higher_is_better: bool) -> list[float | None]:
    """Each value min–max scaled over ``values`` to 0..1, 1 the best (None stays None: an
    unknown value is the caller's to treat as the worst)."""
    known = [v for v in values if v is not None]
    if not known:
        return [None] * len(values)
    low, high = min(known), max(known)
    scaled: list[float | None] = []
    for value in values:
        if value is None:
            scaled.append(None)
        elif high == low:
            scaled.append(1.0)
        else:
            fraction = (value - low) / (high - low)
            scaled.append(fraction if higher_is_better else 1.0 - fraction)
    return scaled


_CRITERIA: dict[str, tuple[Callable[[ModelSummary], float | None], bool]] = {
    "accuracy": (lambda s: s.pass_rate, True),
    "cost": (lambda s: None if s.unpriced else s.cost_per_success_usd, False),
    "p95_latency": (lambda s: s.p95_latency_ms, False),
    "retry_rate": (lambda s: s.retry_rate, False),
    "efficiency": (lambda s: s.efficiency, True),
}


def _violations(summary: ModelSummary, limits: RankingLimits) -> list[str]:
    found = []
    if limits.min_pass_rate is not None and summary.pass_rate < limits.min_pass_rate:
        found.append(f"pass rate {summary.pass_rate:.1%} < {limits.min_pass_rate:.1%}")
    if limits.max_cost_per_success is not None:
        cost = summary.cost_per_success_usd
        if summary.unpriced:
            found.append(f"unpriced: {summary.unpriced_results} result(s) without a price (cost unknown)")
        elif cost is None:
            found.append("no successful output (cost per success undefined)")
        elif cost > limits.max_cost_per_success:
            found.append(f"cost per success ${cost:.6g} > ${limits.max_cost_per_success:.6g}")
    if limits.max_p95_ms is not None:
        # A model with only conversations is held to its whole conversations' p95, end to end.
        p95 = summary.limit_p95_ms
        what = "p95 per conversation" if summary.only_conversations else "p95"
        if p95 is None:
            found.append(f"no measured latency ({what} undefined)")
        elif p95 > limits.max_p95_ms:
            found.append(f"{what} {p95:,.0f} ms > {limits.max_p95_ms:,.0f} ms")
    return found


def rank_models(
    summaries: list[ModelSummary],
    weights: RankingWeights | None = None,
    limits: RankingLimits | None = None,
) -> list[RankedModel]:
    """Models ordered best first: those within every limit by utility, then the rest.

    A criterion a model has no value for (no latency measured, no efficiency scorer, no
    price) counts as that model's worst case, 0, so missing data never wins a ranking; on a
    tie an unpriced model comes after the priced ones.
    """
    weights = weights or RankingWeights()
    limits = limits or RankingLimits()
    scaled = {
        name: desirability([getter(s) for s in summaries], higher)
        for name, (getter, higher) in _CRITERIA.items()
    }
    total_weight = sum(w for _, w in weights.items())
    cost_frontier = pareto_frontier(
        [
            (s.model, s.cost_per_success_usd, s.pass_rate)
            for s in summaries
            if s.cost_per_success_usd is not None and not s.unpriced
        ]
    )
    latency_frontier = pareto_frontier(
        [(s.model, s.p95_latency_ms, s.pass_rate) for s in summaries if s.p95_latency_ms is not None]
    )
    ranked = []
    for index, summary in enumerate(summaries):
        utility = 0.0
        if total_weight > 0:
            for name, weight in weights.items():
                value = scaled[name][index]
                utility += weight * (value if value is not None else 0.0)
            utility /= total_weight
        ranked.append(
            RankedModel(
                summary=summary,
                utility=utility,
                violations=_violations(summary, limits),
                on_cost_frontier=summary.model in cost_frontier,
                on_latency_frontier=summary.model in latency_frontier,
            )
        )
    ranked.sort(
        key=lambda r: (not r.eligible, -r.utility, -r.summary.pass_rate, r.summary.unpriced, r.summary.model)
    )
    return ranked
