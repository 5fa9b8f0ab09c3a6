"""A run as one JSON document: the run overview, per-model summaries with their ranking, the
generalisation gap (``null`` unless the run has perturbed cases), and every result.

The document is versioned (``format_version``) and meant for machines: CI gates, notebooks,
dashboards. Field names are those of :class:`~benchroute.analysis.ModelSummary` and
:class:`~benchroute.store.Result`; missing figures are ``null``, never NaN.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from ..analysis import ModelSummary
from ..store import Result, RunRecord
from ._common import build_report, failing_reasons, report_notes, run_overview
from ._gap import gap_json
from ._multimodal import multimodal_json

# 2: money is null when unknown (unpriced); cached, scorer-error and end-to-end latency fields.
FORMAT_VERSION = 2


def _finite(value: Any) -> Any:
    """NaN and infinities become null, so every JSON parser can read the document."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _summary(summary: ModelSummary) -> dict[str, Any]:
    data = asdict(summary)
    data["scored"] = summary.scored_cases  # scorer errors are not scored
    data["pass_rate"] = summary.pass_rate
    data["error_rate"] = summary.error_rate  # scorer errors included
    return data


def _result(result: Result) -> dict[str, Any]:
    return {
        "suite": result.suite,
        "case_id": result.case_id,
        "model": result.model,
        "repeat": result.repeat,
        "passed": result.passed,
        "score": result.score,
        "scores": result.scores,
        "failing_reasons": [] if result.passed else failing_reasons(result),
        "output": result.output,
        "error": result.error,
        "error_kind": result.error_kind,
        "messages": result.messages,
        "latency_ms": result.latency_ms,
        "e2e_latency_ms": result.e2e_latency_ms,
        "ttft_ms": result.ttft_ms,
        "cost_usd": result.cost_usd,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "cached_input_tokens": result.cached_input_tokens,
        "retries": result.retries,
        "cached": result.cached,
        "served_model": result.served_model,
        "system_fingerprint": result.system_fingerprint,
        "created_at": result.created_at,
        "details": result.details,
    }


def report_json(run: RunRecord, results: list[Result]) -> dict[str, Any]:
    """The machine-readable report of a run (JSON-able; see :func:`render_json`)."""
    report = build_report(run, results)
    models = []
    for rank, ranked in enumerate(report.ranked, start=1):
        models.append(
            {
                **_summary(ranked.summary),
                "rank": rank,
                "utility": ranked.utility,
                "violations": ranked.violations,
                "on_cost_frontier": ranked.on_cost_frontier,
                "on_latency_frontier": ranked.on_latency_frontier,
            }
        )
    document = {
        "format_version": FORMAT_VERSION,
        "run": run_overview(run),
        "models": models,
        "pareto": {"cost": report.cost_frontier, "latency": report.latency_frontier},
        "unpriced_models": [s.model for s in report.summaries if s.unpriced],
        # Counted at the cost and latency of the calls that produced them.
        "cached_results": sum(1 for r in report.results if r.cached),
        "notes": report_notes(report),
        # Originals vs perturbed copies per model and kind; null without perturbed cases.
        "generalisation_gap": gap_json(report.gap) if report.gap else None,
        # Latency per modality with budgets, score against degradation level, POPE/CHAIR.
        "multimodal": multimodal_json(report.results, run.config),
        "results": [_result(r) for r in report.results],
    }
    finite: dict[str, Any] = _finite(document)
    return finite


def render_json(run: RunRecord, results: list[Result]) -> str:
    """:func:`report_json` as indented JSON text."""
    return json.dumps(report_json(run, results), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
