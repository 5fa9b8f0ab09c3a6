"""Rendering of results: terminal tables and JSON summaries."""

from ._terminal import (
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
    "leaderboard_table",
    "metrics_table",
    "pass_at_k_table",
    "print_run_header",
    "results_table",
    "runs_table",
    "suite_table",
    "summary_json",
    "tier_table",
]
