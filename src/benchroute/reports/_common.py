"""What every file report shares: the figures of one run, and a safe overview of the run.

The reports (Markdown, HTML, JSON, JUnit XML) only render; the figures come from
:mod:`benchroute.analysis` (the leaderboard, the ranking and its Pareto frontiers) and are
computed once here, in :func:`build_report`, so every format shows the same numbers.

A run record's config snapshot holds whatever was needed to resume the run (model endpoints,
suites with their cases, options). Keys never reach it, but a report is shared further than
the store, so :func:`run_overview` picks the fields a reader needs — suites, models, prices,
status, times — instead of dumping the snapshot: a base URL loses any user:password part and
query string, model headers are left out, request parameters named like a credential are
redacted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .._urls import display_url
from ..analysis import (
    GapReport,
    ModelSummary,
    RankedModel,
    generalisation_gap,
    judge_notes,
    leaderboard,
    rank_models,
)
from ..store import SCORER_ERROR_KIND, Result, RunRecord


@dataclass(frozen=True, slots=True)
class RunReport:
    """A run with its results and the figures every report format shows."""

    run: RunRecord
    results: list[Result]
    summaries: list[ModelSummary]  # leaderboard order
    ranked: list[RankedModel]  # rank_models order (default weights: accuracy)
    judge_notes: list[str] = field(default_factory=list)  # e.g. the embedded judge's warning
    # Originals vs perturbed copies (falsy when the run has no perturbed case).
    gap: GapReport = field(default_factory=GapReport)

    @property
    def models(self) -> list[str]:
        """Leaderboard order, then models with load results only (stress suites)."""
        seen = dict.fromkeys(s.model for s in self.summaries)
        seen.update(dict.fromkeys(r.model for r in self.results))
        return list(seen)

    @property
    def suites(self) -> list[str]:
        seen = dict.fromkeys(self.run.suites)
        seen.update(dict.fromkeys(r.suite for r in self.results))
        return list(seen)

    def ranking(self, model: str) -> RankedModel | None:
        return next((r for r in self.ranked if r.summary.model == model), None)

    @property
    def cost_frontier(self) -> list[str]:
        return [r.summary.model for r in self.ranked if r.on_cost_frontier]

    @property
    def latency_frontier(self) -> list[str]:
        return [r.summary.model for r in self.ranked if r.on_latency_frontier]


def build_report(run: RunRecord, results: list[Result]) -> RunReport:
    """The leaderboard and ranking of ``results`` (all of them from ``run``)."""
    summaries = leaderboard(results, run.prices)
    return RunReport(
        run=run,
        results=results,
        summaries=summaries,
        ranked=rank_models(summaries),
        judge_notes=judge_notes(run),
        gap=generalisation_gap(results, config=run.config),
    )


# A request parameter whose name says it holds a credential ("api_key", "x-api-key",
# "Authorization" inside extra_headers, ...). Keys never belong in params, but the config
# validator only guards the model's own fields and headers: a report must not repeat one.
_SECRET_NAME = re.compile(
    r"(?:^|[_\-.])(?:api[_\-]?key|key|token|secret|password|passwd|authorization|auth|cookie|credentials?)$",
    re.IGNORECASE,
)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            name: "<redacted>" if _SECRET_NAME.search(str(name)) else _scrub(item)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def _model_overview(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "provider": spec.get("provider"),
        "model": spec.get("model"),
        "base_url": display_url(spec["base_url"]) if spec.get("base_url") else None,
        "params": _scrub(spec.get("params") or {}),
        "stream": spec.get("stream", False),
    }


def _suite_overview(spec: dict[str, Any]) -> dict[str, Any]:
    dataset = spec.get("dataset") or {}
    cases = dataset.get("cases")
    return {
        "name": spec.get("name"),
        "tier": spec.get("tier"),
        "description": spec.get("description", ""),
        "repeats": spec.get("repeats", 1),
        "cases": len(cases) if isinstance(cases, list) else None,
        "dataset": dataset.get("path"),
        "scorers": [
            entry.get("name") if isinstance(entry, dict) else str(entry) for entry in spec.get("scorers", [])
        ],
        "source": spec.get("source"),
    }


def run_overview(run: RunRecord) -> dict[str, Any]:
    """The run record without its config snapshot's internals: what a report reader needs."""
    config = run.config or {}
    all_models: dict[str, Any] = config.get("models") or {}
    used = config.get("run_models") or list(all_models)
    return {
        "id": run.id,
        "status": run.status,
        "error": run.error,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "package_version": run.package_version,
        "suites": [_suite_overview(s) for s in config.get("suites", [])]
        or [{"name": name} for name in run.suites],
        "models": [_model_overview(name, all_models.get(name) or {}) for name in used],
        "prices": run.prices,
    }


def suite_tiers(run: RunRecord) -> dict[str, str]:
    return {s["name"]: s.get("tier", "") for s in (run.config or {}).get("suites", []) if "name" in s}


def suite_pass_rates(report: RunReport) -> list[tuple[str, str, list[str]]]:
    """(tier, suite, one "pass% (passed/total)" cell per model of the report) per suite,
    ordered by tier then suite; empty when the run has fewer than two suites."""
    suites = sorted({r.suite for r in report.results})
    if len(suites) < 2:
        return []
    tiers = suite_tiers(report.run)
    counts: dict[tuple[str, str], list[int]] = {}
    for r in report.results:
        cell = counts.setdefault((r.suite, r.model), [0, 0])
        cell[0] += 1 if r.passed else 0
        cell[1] += int(r.error_kind != SCORER_ERROR_KIND)  # a scorer error is not scored
    rows = []
    for suite in sorted(suites, key=lambda name: (tiers.get(name, ""), name)):
        cells = []
        for model in report.models:
            passed, total = counts.get((suite, model), [0, 0])
            cells.append(f"{passed / total:.0%} ({passed}/{total})" if total else "—")
        rows.append((tiers.get(suite) or "—", suite, cells))
    return rows


def failing_reasons(result: Result) -> list[str]:
    """``scorer: reason`` of each scorer that failed (the request's error if it had one)."""
    if result.error:
        return [f"{result.error_kind or 'error'}: {result.error}"]
    return [
        f"{s.get('scorer', '?')}: {s.get('reason') or 'failed'}" for s in result.scores if not s.get("passed")
    ]


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


UNPRICED = "unpriced"


def cost_cell(value: float | None, unpriced: bool = False) -> str:
    """A money figure, or "unpriced" when a price was missing: an unknown cost is never
    shown as $0 or left blank."""
    return UNPRICED if unpriced else money(value)


def result_cost(result: Result) -> str:
    """One result's cost: "unpriced" when it has none."""
    return UNPRICED if result.cost_usd is None else money(result.cost_usd)


def report_notes(report: RunReport) -> list[str]:
    """What a reader must know to trust the figures: unpriced models, results served from
    the cache (counted at their original cost and latency), scorer errors, a weak judge."""
    notes = []
    unpriced = [s.model for s in report.summaries if s.unpriced]
    if unpriced:
        notes.append(
            f"unpriced: {', '.join(unpriced)} — cost unknown (not $0), left out of cost rankings "
            "and the cost frontier; set prices: in benchroute.yaml"
        )
    cached = sum(1 for r in report.results if r.cached)
    if cached:
        notes.append(f"{cached} result(s) from the cache, counted at their original cost and latency")
    scorer_errors = sum(s.scorer_errors for s in report.summaries)
    if scorer_errors:
        notes.append(f"{scorer_errors} scorer error(s): counted as errors, not as model failures")
    notes.extend(report.judge_notes)
    return notes


def p50_cell(summary: ModelSummary) -> str:
    """End-to-end p50, with the last attempt's p50 beside it when retries or waits made them
    differ."""
    text = millis(summary.p50_latency_ms)
    last = summary.p50_last_attempt_ms
    if (
        last is not None
        and summary.p50_latency_ms is not None
        and round(last) != round(summary.p50_latency_ms)
    ):
        text += f" (last try {millis(last)})"
    return text


def money(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "$0"
    return f"${value:.4f}" if value >= 0.0001 else f"${value:.2e}"


def millis(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"
