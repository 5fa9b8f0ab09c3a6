"""Rendering of results: terminal tables, JSON summaries, and file reports (Markdown, HTML,
JSON, JUnit XML).

Names are imported on first use: every command loads this package, few need all of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._compare import comparison_json, comparison_table, flaky_table, flipped_table, quarantine_table
    from ._conversation import (
        conversation_table,
        print_conversation_summary,
        print_transcripts,
        transcript_view,
    )
    from ._drift import DRIFT_DROP_ORDER, drift_json, drift_markdown, drift_notes, drift_summary, drift_table
    from ._fit import (
        CONVERSATION_DROP_ORDER,
        ESTIMATE_DROP_ORDER,
        LATENCY_DROP_ORDER,
        LEADERBOARD_DROP_ORDER,
        MODELS_DROP_ORDER,
        RANKING_DROP_ORDER,
        RUNS_DROP_ORDER,
        fit_table,
        natural_width,
        print_fitted,
    )
    from ._gap import GAP_DROP_ORDER, gap_json, gap_sides_table, gap_table, print_generalisation_gap
    from ._gate import estimate_table, gate_table
    from ._history import (
        HISTORY_DROP_ORDER,
        history_chart,
        history_csv,
        history_json,
        history_table,
        openmetrics_text,
    )
    from ._html import render_html
    from ._json import render_json, report_json
    from ._junit import render_junit
    from ._load import load_report, load_series, load_table, sparkline
    from ._markdown import render_markdown
    from ._multimodal import (
        degradation_table,
        hallucination_table,
        modality_table,
        multimodal_figures,
        multimodal_json,
        multimodal_markdown,
        print_multimodal,
    )
    from ._ranking import ranking_json, ranking_table
    from ._terminal import (
        latency_table,
        leaderboard_table,
        metrics_table,
        pass_at_k_table,
        print_run_header,
        results_table,
        runs_table,
        suite_table,
        summary_json,
        tier_table,
    )

_LAZY = {
    "DRIFT_DROP_ORDER": "_drift",
    "drift_json": "_drift",
    "drift_markdown": "_drift",
    "drift_notes": "_drift",
    "drift_summary": "_drift",
    "drift_table": "_drift",
    "comparison_json": "_compare",
    "comparison_table": "_compare",
    "flaky_table": "_compare",
    "flipped_table": "_compare",
    "quarantine_table": "_compare",
    "conversation_table": "_conversation",
    "print_conversation_summary": "_conversation",
    "print_transcripts": "_conversation",
    "transcript_view": "_conversation",
    "LATENCY_DROP_ORDER": "_fit",
    "LEADERBOARD_DROP_ORDER": "_fit",
    "fit_table": "_fit",
    "natural_width": "_fit",
    "print_fitted": "_fit",
    "RANKING_DROP_ORDER": "_fit",
    "ESTIMATE_DROP_ORDER": "_fit",
    "MODELS_DROP_ORDER": "_fit",
    "RUNS_DROP_ORDER": "_fit",
    "CONVERSATION_DROP_ORDER": "_fit",
    "GAP_DROP_ORDER": "_gap",
    "gap_json": "_gap",
    "gap_sides_table": "_gap",
    "gap_table": "_gap",
    "print_generalisation_gap": "_gap",
    "estimate_table": "_gate",
    "gate_table": "_gate",
    "HISTORY_DROP_ORDER": "_history",
    "history_chart": "_history",
    "history_csv": "_history",
    "history_json": "_history",
    "history_table": "_history",
    "openmetrics_text": "_history",
    "render_html": "_html",
    "render_json": "_json",
    "report_json": "_json",
    "render_junit": "_junit",
    "load_report": "_load",
    "load_series": "_load",
    "load_table": "_load",
    "sparkline": "_load",
    "render_markdown": "_markdown",
    "degradation_table": "_multimodal",
    "hallucination_table": "_multimodal",
    "modality_table": "_multimodal",
    "multimodal_figures": "_multimodal",
    "multimodal_json": "_multimodal",
    "multimodal_markdown": "_multimodal",
    "print_multimodal": "_multimodal",
    "ranking_json": "_ranking",
    "ranking_table": "_ranking",
    "latency_table": "_terminal",
    "leaderboard_table": "_terminal",
    "metrics_table": "_terminal",
    "pass_at_k_table": "_terminal",
    "print_run_header": "_terminal",
    "results_table": "_terminal",
    "runs_table": "_terminal",
    "suite_table": "_terminal",
    "summary_json": "_terminal",
    "tier_table": "_terminal",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "CONVERSATION_DROP_ORDER",
    "DRIFT_DROP_ORDER",
    "ESTIMATE_DROP_ORDER",
    "GAP_DROP_ORDER",
    "HISTORY_DROP_ORDER",
    "LATENCY_DROP_ORDER",
    "LEADERBOARD_DROP_ORDER",
    "MODELS_DROP_ORDER",
    "RANKING_DROP_ORDER",
    "RUNS_DROP_ORDER",
    "comparison_json",
    "comparison_table",
    "conversation_table",
    "degradation_table",
    "drift_json",
    "drift_markdown",
    "drift_notes",
    "drift_summary",
    "drift_table",
    "estimate_table",
    "fit_table",
    "flaky_table",
    "flipped_table",
    "gap_json",
    "gap_sides_table",
    "gap_table",
    "gate_table",
    "hallucination_table",
    "history_chart",
    "history_csv",
    "history_json",
    "history_table",
    "latency_table",
    "leaderboard_table",
    "load_report",
    "load_series",
    "load_table",
    "metrics_table",
    "modality_table",
    "multimodal_figures",
    "multimodal_json",
    "multimodal_markdown",
    "natural_width",
    "openmetrics_text",
    "pass_at_k_table",
    "print_conversation_summary",
    "print_fitted",
    "print_generalisation_gap",
    "print_multimodal",
    "print_run_header",
    "print_transcripts",
    "quarantine_table",
    "ranking_json",
    "ranking_table",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "report_json",
    "results_table",
    "runs_table",
    "sparkline",
    "suite_table",
    "summary_json",
    "tier_table",
    "transcript_view",
]
