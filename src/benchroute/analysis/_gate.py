"""The CI gate: a suite's ``gate:`` thresholds checked against stored results.

A pure function over results: each gated suite's results are grouped by model (quarantined
cases left out by the caller, see :func:`evaluate_gates`), summarised exactly as the
leaderboard summarises them, and every threshold that is set is compared with its figure.
Stress-tier results (one result per suite x model, case ``load``) carry their SLO verdicts
as scores; a failed one fails the gate whether or not the suite has a ``gate:`` block,
named by the SLO that failed.

The figures are honest about what is unknown: an unpriced model (a result without a price)
fails every ``max_cost_*`` threshold with the detail "unpriced"; results served from the
response cache count at the cost and latency of the call that produced them, so a rerun
answered from the cache is held to the same cost and latency limits as the run it repeats;
``max_error_rate`` counts scorer errors (a scorer or judge that failed) with request
errors, while the pass rate and mean score leave them out (nothing was measured); and
``max_p95_ms`` of a model with only conversations holds the p95 of whole conversations, end to
end (the gate message says so), since no single request was timed on its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..config import GateSpec
from ..store import LOAD_CASE_ID, Result
from ._leaderboard import ModelSummary, leaderboard


@dataclass(frozen=True, slots=True)
class GateFailure:
    """One threshold a model did not meet on one suite."""

    suite: str
    model: str
    threshold: str  # e.g. "min_pass_rate", "min_metric.factuality", "slo"
    actual: float | None  # None: there was nothing to measure (e.g. nothing passed)
    limit: float | None
    detail: str = ""

    def describe(self) -> str:
        if self.threshold.startswith("slo"):
            return f"{self.suite} · {self.model}: {self.threshold}: {self.detail}"
        actual = "n/a" if self.actual is None else f"{self.actual:.6g}"
        comparison = ">=" if self.threshold.startswith("min") else "<="
        text = f"{self.suite} · {self.model}: {self.threshold} {actual} (needs {comparison} {self.limit:g})"
        return f"{text} — {self.detail}" if self.detail else text


@dataclass(frozen=True, slots=True)
class GateReport:
    """What the gate checked and what failed."""

    checked: int  # (suite, model) pairs checked
    failures: list[GateFailure]
    # Checked results served from the response cache, counted at their original figures.
    cached: int = 0

    @property
    def cached_note(self) -> str:
        """What a report says about cached results ("" when there were none)."""
        if not self.cached:
            return ""
        return f"{self.cached} result(s) from the cache, counted at their original cost and latency"

    @property
    def passed(self) -> bool:
        return not self.failures


def _check(limit: float | None, actual: float | None, at_least: bool) -> bool:
    """Whether the threshold holds (an unset threshold always does)."""
    if limit is None:
        return True
    if actual is None:
        return False
    return actual >= limit if at_least else actual <= limit


def _model_failures(
    suite: str, gate: GateSpec, summary: ModelSummary, *, all_cached: bool = False
) -> list[GateFailure]:
    error_rate = summary.error_rate  # scorer errors included
    unpriced = (
        f"unpriced: {summary.unpriced_results} result(s) without a price; set prices: in benchroute.yaml"
    )
    # A reply from the response cache has no latency of its own: say so, or a rerun that hit
    # the cache fails max_p95_ms with no visible reason.
    no_latency = (
        "no measured latency: every reply came from the response cache and none recorded the "
        "original's (run with --no-cache)"
        if all_cached
        else "no measured latency"
    )
    # name, limit, actual, at least?, detail when it cannot be measured
    checks: list[tuple[str, float | None, float | None, bool, str]] = [
        ("min_pass_rate", gate.min_pass_rate, summary.pass_rate, True, ""),
        ("min_mean_score", gate.min_mean_score, summary.mean_score, True, ""),
        (
            "max_cost_per_success",
            gate.max_cost_per_success,
            summary.cost_per_success_usd,
            False,
            unpriced if summary.unpriced else "nothing passed",
        ),
        ("max_total_cost", gate.max_total_cost, summary.total_cost_usd, False, unpriced),
        ("max_p95_ms", gate.max_p95_ms, summary.limit_p95_ms, False, no_latency),
        ("max_error_rate", gate.max_error_rate, error_rate, False, ""),
    ]
    for scorer, minimum in sorted(gate.min_metric.items()):
        checks.append(
            (
                f"min_metric.{scorer}",
                minimum,
                summary.metrics.get(scorer),
                True,
                f"no result scored by {scorer}",
            )
        )
    # Say which latency a conversation-only model was held to, measured or not.
    conversation_p95 = (
        f"p95 of {summary.conversations} whole conversation(s), end to end"
        if summary.only_conversations
        else ""
    )
    failures = []
    for name, limit, actual, at_least, detail in checks:
        if _check(limit, actual, at_least):
            continue
        shown = detail if actual is None else ""
        if name == "max_p95_ms" and conversation_p95:
            shown = f"{conversation_p95}; {shown}" if shown else conversation_p95
        failures.append(GateFailure(suite, summary.model, name, actual, limit, shown))
    return failures


def _slo_failures(results: Iterable[Result]) -> list[GateFailure]:
    failures = []
    for result in results:
        if result.case_id != LOAD_CASE_ID or result.passed:
            continue
        failed = [s for s in result.scores if not s.get("passed")]
        if result.error:
            failures.append(GateFailure(result.suite, result.model, "slo", None, None, result.error))
        elif not failed:
            failures.append(
                GateFailure(result.suite, result.model, "slo", None, None, "the load test failed")
            )
        for score in failed:
            name = str(score.get("scorer") or "slo")
            reason = str(score.get("reason") or "not met")
            failures.append(
                GateFailure(result.suite, result.model, f"slo.{name}", score.get("value"), None, reason)
            )
    return failures


def _budget_failures(
    suite: str, rows: list[Result], budgets: Mapping[str, Mapping[str, Any]], wanted: set[str] | None
) -> tuple[int, list[GateFailure]]:
    """Per-modality latency budgets: (model x modality pairs checked, failures). A budget of
    a modality the suite never sent checks nothing; one whose figure was not measured fails."""
    from ._multimodal import modality_stats

    checked = 0
    failures: list[GateFailure] = []
    for stats in modality_stats(rows, {suite: budgets}):
        if not stats.budget or (wanted is not None and stats.model not in wanted):
            continue
        checked += 1
        for check in stats.budget:
            if check.met:
                continue
            detail = "" if check.actual is not None else f"no measured latency of {stats.modality} requests"
            failures.append(
                GateFailure(
                    suite,
                    stats.model,
                    f"budget.{stats.modality}.{check.figure}",
                    check.actual,
                    check.limit,
                    detail or f"{stats.measured} {stats.modality} request(s)",
                )
            )
    return checked, failures


def evaluate_gates(
    results: Iterable[Result],
    gates: Mapping[str, GateSpec | None],
    *,
    stress_suites: Iterable[str] = (),
    budgets: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> GateReport:
    """Check each suite's gate against ``results`` (already without quarantined cases).

    ``gates`` maps suite name to its ``gate:`` block (None: no thresholds); a suite in
    ``stress_suites`` also fails on any failed load result (a missed SLO); ``budgets`` maps
    suite name to its per-modality latency budgets (``budgets:`` of the suite file), each
    checked per model and modality (``budget.image.p95_ms``).
    """
    by_suite: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_suite[result.suite].append(result)
    stress = set(stress_suites)
    failures: list[GateFailure] = []
    checked = cached = 0
    for suite, rows in sorted(by_suite.items()):
        if suite in stress:
            failures.extend(_slo_failures(rows))
        gate = gates.get(suite)
        wanted = set(gate.models) if gate is not None and gate.models is not None else None
        if budgets and budgets.get(suite):
            budget_checked, budget_failures = _budget_failures(suite, rows, budgets[suite], wanted)
            checked += budget_checked
            failures.extend(budget_failures)
        if gate is None:
            continue
        for summary in sorted(leaderboard(rows), key=lambda s: s.model):
            if wanted is not None and summary.model not in wanted:
                continue
            checked += 1
            cached += summary.cached
            answered = [r for r in rows if r.model == summary.model and not r.error]
            all_cached = bool(answered) and all(r.cached for r in answered)
            failures.extend(_model_failures(suite, gate, summary, all_cached=all_cached))
    return GateReport(checked, failures, cached)
