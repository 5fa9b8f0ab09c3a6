"""Rendering of results: terminal tables, JSON summaries, and file reports (Markdown, HTML,
JSON, JUnit XML)."""

from ._compare import comparison_json, comparison_table, flaky_table, flipped_table, quarantine_table
from ._conversation import (
    conversation_table,
    print_conversation_summary,
    print_transcripts,
    transcript_view,
)
from ._gate import estimate_table, gate_table
from ._html import render_html
from ._json import render_json, report_json
from ._junit import render_junit
from ._load import load_report, load_series, load_table, sparkline
from ._markdown import render_markdown
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

__all__ = [
    "comparison_json",
    "comparison_table",
    "conversation_table",
    "estimate_table",
    "flaky_table",
    "flipped_table",
    "gate_table",
    "latency_table",
    "leaderboard_table",
    "load_report",
    "load_series",
    "load_table",
    "metrics_table",
    "pass_at_k_table",
    "print_conversation_summary",
    "print_run_header",
    "print_transcripts",
    "quarantine_table",
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
