"""Canaries: the sticky split of traffic, each arm's running figures, and the verdict that
promotes the candidate, rolls it back or lets it run on.

The split
---------
:func:`bucket` maps a key to a number in [0, 1) with BLAKE2b of ``salt + "\\x00" + key`` (the
first 8 bytes over 2^64), and :func:`in_canary` sends a key to the candidate when that number
is below ``percent / 100``. It is the same in every process and on every machine, so several
gateway workers agree and a restart changes nothing; Python's ``hash()`` would not (it is
salted per process). The key is what makes the split sticky — a user, a session, a gateway
key — so one user sees one arm throughout. Without a key the gateway passes the request id:
each request then draws anew (not sticky). The salt is drawn when a canary starts, so a new
canary splits independently of the last one and the same users are not always the guinea pigs.

The figures
-----------
:class:`ArmStats` keeps, per arm, O(1) running summaries (:class:`~benchroute.analysis.SummaryStats`)
of latency, cost, user feedback and judge scores, the request and error counts, and the last
``LATENCY_WINDOW`` latencies for a p95. A request without a known cost counts as unpriced: an
unknown cost is never $0, so it is left out of the cost figure, not averaged in as free.

The verdict
-----------
:func:`evaluate_canary` may be called after every batch — the gateway calls it every few
seconds — so every test that can decide is always valid (see
:func:`~benchroute.analysis.sequential_compare`): looking often does not make a false
promotion or rollback more likely. In order:

1. Guardrails, each once the candidate has ``guardrail_min_requests`` requests; any one rolls
   back at once, without waiting for ``min_samples``:

   * ``max_error_rate``: the candidate's true error rate is above the limit by the exact
     always-valid test of :func:`~benchroute.analysis.rate_above_p_value` (p <= alpha). A
     20 % error rate against a 5 % limit is caught at 50 requests two times in three and by
     100 requests nearly always (tests/analysis/test_sequential.py); an observed 6 % in one
     batch from a candidate whose true rate is 4 % is no reason (a plain "observed > limit"
     check, repeated every batch, would roll back a good candidate sooner or later).
   * ``max_error_rate_increase`` (off unless set): the always-valid interval of candidate
     minus primary error rate lies wholly above the allowed increase (0 means any significant
     increase), with ``guardrail_min_requests`` in both arms.
   * ``max_p95_ms``: the p95 of the candidate's last ``LATENCY_WINDOW`` latencies is above the
     limit. This one is a plain check of the recent window, an SLO ceiling: the window slides,
     so it is no sequential sample to test. It can fire by chance for a candidate whose true
     p95 sits just below the limit.

2. The decision metric (``feedback`` and ``judge``: higher is better; ``error_rate``,
   ``latency``, ``cost``: lower is better), once both arms have ``min_samples`` of it:
   :func:`~benchroute.analysis.sequential_compare` at ``alpha``; "better" promotes, "worse"
   rolls back, otherwise the canary continues.

Each test runs at ``alpha``; a candidate that is in truth no different on every figure is
falsely promoted or rolled back with probability at most about the sum of the alphas of the
tests that are on (the decision, plus each guardrail that can fire).
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .._stats import percentile
from ..analysis import SequentialResult, SummaryStats, rate_above_p_value, sequential_compare

# Latencies kept per arm for the p95 guardrail (the most recent ones).
LATENCY_WINDOW = 2000

Metric = Literal["feedback", "judge", "error_rate", "latency", "cost"]
Action = Literal["promote", "rollback", "continue"]

_LOWER_IS_BETTER = frozenset({"error_rate", "latency", "cost"})
_ACTIONS: dict[str, Action] = {"better": "promote", "worse": "rollback", "inconclusive": "continue"}


def bucket(key: str, salt: str) -> float:
    """A number in [0, 1) fixed by ``key`` and ``salt``, the same in every process."""
    digest = hashlib.blake2b(f"{salt}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def in_canary(key: str | None, salt: str, percent: float, *, fallback: str | None = None) -> bool:
    """Whether ``key`` falls in the canary's ``percent`` (0 to 100) of traffic.

    A request without a sticky key (``key`` None) must be given a ``fallback`` key; the
    gateway uses the request id, so such requests are split one by one, not sticky. Raises
    ValueError when there is neither, or ``percent`` is outside [0, 100].
    """
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be between 0 and 100, got {percent}")
    chosen = key if key is not None else fallback
    if chosen is None:
        raise ValueError("no key to split on: pass fallback= (the gateway passes the request id)")
    return bucket(chosen, salt) < percent / 100


def _latency_window() -> deque[float]:
    return deque(maxlen=LATENCY_WINDOW)


@dataclass(slots=True)
class ArmStats:
    """The running figures of one arm of a canary (primary or candidate)."""

    requests: int = 0
    errors: int = 0
    unpriced: int = 0  # requests whose cost is unknown: not in ``cost``
    latency: SummaryStats = field(default_factory=SummaryStats)  # ms
    cost: SummaryStats = field(default_factory=SummaryStats)  # USD per request, known costs only
    feedback: SummaryStats = field(default_factory=SummaryStats)  # user scores in [0, 1]
    judge: SummaryStats = field(default_factory=SummaryStats)  # judge scores
    recent_latencies: deque[float] = field(default_factory=_latency_window)

    def observe(self, *, error: bool, latency_ms: float | None, cost_usd: float | None) -> None:
        """Count one request: whether it failed, its latency and its cost (None: unknown)."""
        if latency_ms is not None and not (math.isfinite(latency_ms) and latency_ms >= 0):
            raise ValueError(f"latency_ms must be a finite number >= 0, got {latency_ms}")
        if cost_usd is not None and not (math.isfinite(cost_usd) and cost_usd >= 0):
            raise ValueError(f"cost_usd must be a finite number >= 0, got {cost_usd}")
        self.requests += 1
        self.errors += bool(error)
        if latency_ms is not None:
            self.latency.add(latency_ms)
            self.recent_latencies.append(float(latency_ms))
        if cost_usd is None:
            self.unpriced += 1
        else:
            self.cost.add(cost_usd)

    def observe_feedback(self, score: float) -> None:
        """Count one user feedback score (0 to 1; thumbs up is 1, down 0)."""
        if not 0 <= score <= 1:
            raise ValueError(f"a feedback score is between 0 and 1, got {score}")
        self.feedback.add(score)

    def observe_judge(self, score: float) -> None:
        """Count one judge score of a reply."""
        self.judge.add(score)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def errors_summary(self) -> SummaryStats:
        """The requests as 0/1 error indicators (for the sequential tests)."""
        return SummaryStats.of_events(self.errors, self.requests)

    @property
    def p95_ms(self) -> float | None:
        """The p95 of the last ``LATENCY_WINDOW`` latencies (None: none yet)."""
        return percentile(list(self.recent_latencies), 95)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "unpriced": self.unpriced,
            "latency": self.latency.to_json(),
            "cost": self.cost.to_json(),
            "feedback": self.feedback.to_json(),
            "judge": self.judge.to_json(),
            "recent_latencies": list(self.recent_latencies),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ArmStats:
        """The arm :meth:`to_json` wrote (ValueError naming the field when it is malformed)."""
        try:
            requests, errors, unpriced = int(data["requests"]), int(data["errors"]), int(data["unpriced"])
            summaries = {
                name: SummaryStats.from_json(data[name]) for name in ("latency", "cost", "feedback", "judge")
            }
            recent = _latency_window()
            recent.extend(float(x) for x in data["recent_latencies"])
        except KeyError as exc:
            raise ValueError(f"arm stats lack the field {exc.args[0]!r}") from exc
        except TypeError as exc:
            raise ValueError(f"arm stats are malformed: {exc}") from exc
        if not 0 <= errors <= requests or not 0 <= unpriced <= requests:
            raise ValueError(
                f"arm stats count {errors} errors and {unpriced} unpriced of {requests} requests"
            )
        return cls(requests, errors, unpriced, recent_latencies=recent, **summaries)


@dataclass(frozen=True, slots=True)
class CanaryCriteria:
    """When a canary is promoted or rolled back (module docstring: the verdict)."""

    metric: Metric = "feedback"
    min_samples: int = 200  # per arm, of the decision metric
    alpha: float = 0.05  # of each test, peeking included
    max_error_rate: float | None = 0.05  # guardrail: the candidate's absolute error rate
    max_error_rate_increase: float | None = None  # guardrail: over the primary's (None: off)
    max_p95_ms: float | None = None  # guardrail: the candidate's recent p95
    guardrail_min_requests: int = 50  # candidate requests before a guardrail can fire

    def __post_init__(self) -> None:
        if self.metric not in ("feedback", "judge", "error_rate", "latency", "cost"):
            raise ValueError(f"unknown canary metric {self.metric!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.min_samples < 2:
            raise ValueError(f"min_samples must be at least 2, got {self.min_samples}")
        if self.guardrail_min_requests < 1:
            raise ValueError(f"guardrail_min_requests must be at least 1, got {self.guardrail_min_requests}")
        if self.max_error_rate is not None and not 0 <= self.max_error_rate <= 1:
            raise ValueError(f"max_error_rate must be between 0 and 1, got {self.max_error_rate}")
        if self.max_error_rate_increase is not None and not 0 <= self.max_error_rate_increase < 1:
            raise ValueError(f"max_error_rate_increase must be in [0, 1), got {self.max_error_rate_increase}")
        if self.max_p95_ms is not None and not self.max_p95_ms > 0:
            raise ValueError(f"max_p95_ms must be positive, got {self.max_p95_ms}")

    @property
    def higher_is_better(self) -> bool:
        return self.metric not in _LOWER_IS_BETTER


@dataclass(frozen=True, slots=True)
class CanaryVerdict:
    """What to do with a canary, and why."""

    action: Action
    reason: str  # one line naming the figures
    comparison: SequentialResult | None  # the test the action rests on (None: the p95 guardrail)
    guardrail: str | None  # the criteria field of the guardrail that fired (None: none did)


def evaluate_canary(primary: ArmStats, candidate: ArmStats, criteria: CanaryCriteria) -> CanaryVerdict:
    """Promote, roll back or continue the canary (``candidate``) against ``primary``.

    Guardrails first, then the decision metric; every test is always valid, so this may be
    called after every batch (module docstring).
    """
    tripped = _guardrail(primary, candidate, criteria)
    if tripped is not None:
        return tripped
    metric = criteria.metric
    first, second = _metric_stats(primary, metric), _metric_stats(candidate, metric)
    result = sequential_compare(
        first,
        second,
        alpha=criteria.alpha,
        higher_is_better=criteria.higher_is_better,
        min_samples=criteria.min_samples,
    )
    unpriced = ""
    if metric == "cost" and (primary.unpriced or candidate.unpriced):
        unpriced = f"; unpriced requests left out: {primary.unpriced} primary, {candidate.unpriced} candidate"
    if result.difference is None:
        reason = (
            f"waiting for {criteria.min_samples} {_NOUNS[metric]} per arm: "
            f"{first.n} primary, {second.n} candidate{unpriced}"
        )
        return CanaryVerdict("continue", reason, result, None)
    action = _ACTIONS[result.decision]
    said = {"better": "better", "worse": "worse", "inconclusive": "no clear difference yet"}[result.decision]
    figures = _describe(metric, first, second, result)
    return CanaryVerdict(action, f"{metric} {said}: {figures}{unpriced}", result, None)


def _guardrail(primary: ArmStats, candidate: ArmStats, criteria: CanaryCriteria) -> CanaryVerdict | None:
    if candidate.requests < criteria.guardrail_min_requests:
        return None
    alpha = criteria.alpha
    rate = candidate.errors / candidate.requests
    limit = criteria.max_error_rate
    if limit is not None:
        p_value = rate_above_p_value(candidate.errors, candidate.requests, limit)
        if p_value <= alpha:
            reason = (
                f"candidate error rate {_pct(rate)} ({candidate.errors}/{candidate.requests}) "
                f"is above the {_pct(limit)} limit (always-valid p={p_value:.2g})"
            )
            return CanaryVerdict("rollback", reason, None, "max_error_rate")
    increase = criteria.max_error_rate_increase
    if increase is not None:
        result = sequential_compare(
            primary.errors_summary,
            candidate.errors_summary,
            alpha=alpha,
            higher_is_better=False,
            min_samples=max(2, criteria.guardrail_min_requests),  # a variance needs two
        )
        if result.low is not None and result.high is not None and result.low > increase:
            reason = (
                f"candidate error rate {_pct(rate)} ({candidate.errors}/{candidate.requests}) vs primary "
                f"{_pct(primary.errors / primary.requests)} ({primary.errors}/{primary.requests}): "
                f"increase {_signed_pct(result.low)}..{_signed_pct(result.high)} "
                f"(always-valid {_level(alpha)}) is above the allowed {_signed_pct(increase)}"
            )
            return CanaryVerdict("rollback", reason, result, "max_error_rate_increase")
    ceiling = criteria.max_p95_ms
    if ceiling is not None and len(candidate.recent_latencies) >= criteria.guardrail_min_requests:
        p95 = candidate.p95_ms
        if p95 is not None and p95 > ceiling:
            reason = (
                f"candidate p95 latency {p95:,.0f} ms (last {len(candidate.recent_latencies)} requests) "
                f"is above the {ceiling:,.0f} ms limit"
            )
            return CanaryVerdict("rollback", reason, None, "max_p95_ms")
    return None


_NOUNS = {
    "feedback": "feedback scores",
    "judge": "judge scores",
    "error_rate": "requests",
    "latency": "latencies",
    "cost": "priced requests",
}


def _metric_stats(arm: ArmStats, metric: Metric) -> SummaryStats:
    if metric == "error_rate":
        return arm.errors_summary
    summary: SummaryStats = getattr(arm, metric)
    return summary


def _describe(metric: Metric, first: SummaryStats, second: SummaryStats, result: SequentialResult) -> str:
    assert result.difference is not None and result.low is not None and result.high is not None
    value, signed = _FORMATS[metric]
    return (
        f"candidate {value(second.mean)} vs primary {value(first.mean)}, difference "
        f"{signed(result.difference)} (always-valid {_level(result.alpha)} interval "
        f"{signed(result.low)}..{signed(result.high)}, p={result.p_value:.2g}, "
        f"n={result.n_candidate}/{result.n_primary})"
    )


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _level(alpha: float) -> str:
    return f"{100 * (1 - alpha):g}%"


def _signed_pct(x: float) -> str:
    return f"{100 * x:+.1f} pts"


def _score(x: float) -> str:
    return f"{x:.3f}"


def _signed_score(x: float) -> str:
    return f"{x:+.3f}"


def _ms(x: float) -> str:
    return f"{x:,.0f} ms"


def _signed_ms(x: float) -> str:
    return f"{x:+,.0f} ms"


def _usd(x: float) -> str:
    return f"${x:.6f}"


def _signed_usd(x: float) -> str:
    return f"{'-' if x < 0 else '+'}${abs(x):.6f}"


_FORMATS: dict[str, tuple[Callable[[float], str], Callable[[float], str]]] = {
    "feedback": (_score, _signed_score),
    "judge": (_score, _signed_score),
    "error_rate": (_pct, _signed_pct),
    "latency": (_ms, _signed_ms),
    "cost": (_usd, _signed_usd),
}
