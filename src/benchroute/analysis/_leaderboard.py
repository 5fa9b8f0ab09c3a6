"""Per-model figures from stored results: the leaderboard a run ends with."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .._stats import percentile as percentile  # analysis.percentile is its public name
from ..scorers import EFFICIENCY, score_kind
from ..store import SCORER_ERROR_KIND, Result, is_load_result


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """What one model achieved in a run.

    Money is None when it is unknown: a result without a price (the model or a judge it used
    is unpriced) makes the model's total, cost per success, cost per 1,000 and wasted cost
    unknown, and ``unpriced`` true — an unknown cost is never summed as $0. Results served
    from the response cache are counted at the cost and latency of the call that produced
    them (``cached`` says how many). Latency percentiles are of single requests, end to end
    (retries, backoff and queueing included; the last attempt's latency for results stored
    without it); whole conversations are summarised apart (``p50_conversation_ms``).

    A scorer error (the scorer or its judge failed) is an error of the measurement, not of
    the model: such a result counts in ``errors`` and the error rate, but not in ``scored``,
    the denominator of the pass rate and the mean score. A request error is the model's
    failure and stays in both.
    """

    model: str
    cases: int
    passed: int
    errors: int  # results that ended in an error: the request's, or a scorer's
    mean_score: float
    total_cost_usd: float | None  # None when any result is unpriced
    cost_per_success_usd: float | None  # None when nothing passed, or unpriced
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    retry_rate: float  # share of results that needed at least one retry
    retries: int
    input_tokens: int
    output_tokens: int
    # Mean value of each scorer over the results that used it (factuality, citation_precision...)
    metrics: dict[str, float] = field(default_factory=dict)
    # From a scorer of the efficiency kind (token_efficiency), when a suite uses one.
    efficiency: float | None = None
    wasted_usd_per_1k: float | None = None
    # Tail latency and its variance, and time to first token.
    p99_latency_ms: float | None = None
    latency_std_ms: float | None = None
    latency_cv: float | None = None  # standard deviation / mean
    p50_ttft_ms: float | None = None
    p95_ttft_ms: float | None = None
    # Money: per 1,000 requests, and what bought nothing (failed results, filler tokens).
    cost_per_1k_usd: float | None = 0.0
    wasted_cost_usd: float | None = 0.0
    # Unknown cost: results without a price (then every money figure above is None).
    unpriced: bool = False
    unpriced_results: int = 0
    # Results served from the response cache, counted at their original cost and latency.
    cached: int = 0
    # Of ``errors``: the scorer (or its judge) failed, not the model's request.
    scorer_errors: int = 0
    # The last attempt's latency (without retries and waits), next to the end-to-end p50.
    p50_last_attempt_ms: float | None = None
    # Whole conversations (conversation tier): their own distribution, never mixed with requests.
    conversations: int = 0
    p50_conversation_ms: float | None = None
    p95_conversation_ms: float | None = None
    # Results the scorers could judge: ``cases`` less scorer errors (None: all of them).
    scored: int | None = None

    @property
    def scored_cases(self) -> int:
        """The pass rate's denominator: every case but those whose scorer failed."""
        return self.cases - self.scorer_errors if self.scored is None else self.scored

    @property
    def pass_rate(self) -> float:
        """Passed over scored cases (a scorer error is neither a pass nor a failure)."""
        scored = self.scored_cases
        return self.passed / scored if scored else 0.0

    @property
    def only_conversations(self) -> bool:
        """Whether every case of this model is a whole conversation (conversation tier)."""
        return self.conversations > 0 and self.conversations == self.cases

    @property
    def limit_p95_ms(self) -> float | None:
        """The p95 a latency limit (``max_p95_ms``) holds: single requests', end to end; for a
        model with only conversations, whole conversations' end to end — what the caller waits
        for the dialogue, every turn and retry included."""
        return self.p95_conversation_ms if self.only_conversations else self.p95_latency_ms

    @property
    def error_rate(self) -> float:
        """Share of results that ended in an error, scorer errors included."""
        return self.errors / self.cases if self.cases else 0.0


def waited_ms(result: Result) -> float | None:
    """What the caller waited for ``result``: end to end when recorded, else (results stored
    before end-to-end latency was) the last attempt's latency."""
    return result.e2e_latency_ms if result.e2e_latency_ms is not None else result.latency_ms


def is_conversation(result: Result) -> bool:
    """Whether a result holds a conversation transcript (its latency is a whole dialogue)."""
    return bool(result.details) and (result.details or {}).get("kind") == "conversation"


def known_cost(results: list[Result]) -> float | None:
    """The summed cost of ``results``; None when any of them is unpriced."""
    total = 0.0
    for result in results:
        if result.cost_usd is None:
            return None
        total += result.cost_usd
    return total


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


def _kind_mean(rows: list[Result], kind: str) -> float | None:
    """Mean value of the scores of a declared kind (whatever their scorers are named)."""
    values = [float(s.get("value", 0.0)) for r in rows for s in r.scores if score_kind(s) == kind]
    return sum(values) / len(values) if values else None


def _wasted_usd(result: Result, output_per_mtok: float | None) -> float | None:
    """What the filler of one reply cost: its wasted output tokens at the output price, or —
    for models priced by compute time — the same share of the request's cost."""
    for score in result.scores:
        if score_kind(score) != EFFICIENCY:
            continue
        details = score.get("details") or {}
        wasted_tokens = details.get("wasted_output_tokens")
        if output_per_mtok is not None and wasted_tokens is not None:
            return float(wasted_tokens) * output_per_mtok / 1_000_000
        fraction = details.get("wasted_fraction")
        if fraction is not None and result.cost_usd is not None:
            return result.cost_usd * float(fraction)
    return None


def leaderboard(results: list[Result], prices: dict[str, Any] | None = None) -> list[ModelSummary]:
    """Models ranked by pass rate, then mean score, then cost per success (an unpriced
    model after every priced one).

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
        # A scorer error says nothing about the model: it stays out of pass rate and mean score.
        scored = [r for r in rows if r.error_kind != SCORER_ERROR_KIND]
        cost = known_cost(rows)
        unpriced = sum(1 for r in rows if r.cost_usd is None)
        requests = [r for r in rows if not is_conversation(r)]
        conversations = [w for r in rows if is_conversation(r) for w in [waited_ms(r)] if w is not None]
        # Cached replies count at the latency of the call that produced them.
        latencies = [w for r in requests for w in [waited_ms(r)] if w is not None]
        last_attempts = [r.latency_ms for r in requests if r.latency_ms is not None]
        metrics = _scorer_means(rows)
        output_price = ((prices or {}).get(model) or {}).get("output_per_mtok")
        wasted = [w for w in (_wasted_usd(r, output_price) for r in rows) if w is not None]
        filler = sum(w for r in rows if r.passed for w in [_wasted_usd(r, output_price)] if w is not None)
        failed_cost = known_cost([r for r in rows if not r.passed])
        ttfts = [r.ttft_ms for r in requests if r.ttft_ms is not None]
        _, std, cv = describe(latencies)
        summaries.append(
            ModelSummary(
                model=model,
                cases=len(rows),
                passed=passed,
                errors=sum(1 for r in rows if r.error),
                mean_score=sum(r.score or 0.0 for r in scored) / len(scored) if scored else 0.0,
                total_cost_usd=cost,
                cost_per_success_usd=cost / passed if passed and cost is not None else None,
                p50_latency_ms=percentile(latencies, 50),
                p95_latency_ms=percentile(latencies, 95),
                retry_rate=sum(1 for r in rows if r.retries) / len(rows),
                retries=sum(r.retries for r in rows),
                input_tokens=sum(r.input_tokens for r in rows),
                output_tokens=sum(r.output_tokens for r in rows),
                metrics=metrics,
                efficiency=_kind_mean(rows, EFFICIENCY),
                wasted_usd_per_1k=1000 * sum(wasted) / len(wasted) if wasted and cost is not None else None,
                p99_latency_ms=percentile(latencies, 99),
                latency_std_ms=std,
                latency_cv=cv,
                p50_ttft_ms=percentile(ttfts, 50),
                p95_ttft_ms=percentile(ttfts, 95),
                cost_per_1k_usd=1000 * cost / len(rows) if cost is not None else None,
                wasted_cost_usd=failed_cost + filler
                if cost is not None and failed_cost is not None
                else None,
                unpriced=unpriced > 0,
                unpriced_results=unpriced,
                cached=sum(1 for r in rows if r.cached),
                scorer_errors=sum(1 for r in rows if r.error_kind == SCORER_ERROR_KIND),
                p50_last_attempt_ms=percentile(last_attempts, 50),
                conversations=sum(1 for r in rows if is_conversation(r)),
                p50_conversation_ms=percentile(conversations, 50),
                p95_conversation_ms=percentile(conversations, 95),
                scored=len(scored),
            )
        )
    summaries.sort(
        key=lambda s: (
            -s.pass_rate,
            -s.mean_score,
            s.cost_per_success_usd if s.cost_per_success_usd is not None else float("inf"),
            s.model,
        )
    )
    return summaries
