"""Rendering of comparisons and flaky cases: terminal tables and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from ..analysis import NO_DIFFERENCE, Comparison, FlakyCase, MetricComparison

_VERDICT_STYLE = {"better": "bold green", "worse": "bold red"}


def _value(metric: MetricComparison, value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    sign = "+" if signed else ""
    if metric.metric == "pass rate":
        return f"{value:{sign}.1%}"
    if metric.metric.startswith("cost"):
        return f"{value:{sign}.6f}"
    if metric.metric.startswith("latency"):
        return f"{value:{sign},.0f}"
    return f"{value:{sign}.3f}"


def _p_value(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4f}" if value >= 0.0001 else f"{value:.1e}"


def _tests_used(comparison: Comparison) -> str:
    """Each statistical test with the metrics it was applied to, in table order."""
    metrics_by_test: dict[str, list[str]] = {}
    for metric in comparison.metrics:
        metrics_by_test.setdefault(metric.test, []).append(metric.metric)
    return "; ".join(f"{test} ({', '.join(names)})" for test, names in metrics_by_test.items())


def comparison_table(comparison: Comparison) -> Table:
    """Both sides of each figure, the difference (B - A), its interval, p-value and verdict."""
    confidence = 1 - comparison.alpha
    table = Table(
        title=(
            f"{escape(comparison.label_b)} vs {escape(comparison.label_a)} · {comparison.cases} paired cases"
        ),
        title_justify="left",
        caption=(
            f"difference = B - A; {confidence:.0%} paired bootstrap CI "
            f"({comparison.resamples:,} resamples, seed {comparison.seed}); "
            f"significant when p < {comparison.alpha:g} and the CI excludes 0; "
            f"tests: {_tests_used(comparison)}"
        ),
        caption_justify="left",
    )
    table.add_column("metric")
    table.add_column(f"A: {escape(comparison.label_a)}", justify="right")
    table.add_column(f"B: {escape(comparison.label_b)}", justify="right")
    table.add_column("difference", justify="right")
    table.add_column(f"{confidence:.0%} CI", justify="right")
    table.add_column("p-value", justify="right")
    # The test of each metric is named in the caption, and the verdict is never cut, so the
    # table fits 100 columns (the JSON output keeps both per metric).
    table.add_column("verdict", no_wrap=True)
    for metric in comparison.metrics:
        interval = "—"
        if metric.ci_low is not None and metric.ci_high is not None:
            low = _value(metric, metric.ci_low, signed=True)
            high = _value(metric, metric.ci_high, signed=True)
            interval = escape(f"[{low}, {high}]")
        style = _VERDICT_STYLE.get(metric.verdict, "")
        verdict = "not significant" if metric.verdict == NO_DIFFERENCE else metric.verdict
        table.add_row(
            metric.metric,
            _value(metric, metric.a),
            _value(metric, metric.b),
            _value(metric, metric.difference, signed=True),
            interval,
            _p_value(metric.p_value),
            f"[{style}]{verdict}[/]" if style else verdict,
        )
    return table


def flipped_table(comparison: Comparison) -> Table | None:
    """The cases whose outcome changed (pass→fail first); None when none did."""
    if not comparison.flipped:
        return None
    table = Table(
        title=f"Flipped cases ({len(comparison.flipped)} of {comparison.cases})",
        title_justify="left",
    )
    for column in ("suite", "case", "change", "A passed", "B passed"):
        table.add_column(column, overflow="fold")
    for case in comparison.flipped:
        style = "red" if case.direction == "pass→fail" else "green"
        table.add_row(
            escape(case.suite),
            escape(case.case_id),
            f"[{style}]{case.direction}[/]",
            f"{case.a_passed}/{case.repeats}",
            f"{case.b_passed}/{case.repeats}",
        )
    return table


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """The comparison as JSON-able data (``benchroute compare --json``)."""
    test = comparison.mcnemar
    return {
        "a": comparison.label_a,
        "b": comparison.label_b,
        "cases": comparison.cases,
        "only_a": comparison.only_a,
        "only_b": comparison.only_b,
        "unpriced_a": comparison.unpriced_a,
        "unpriced_b": comparison.unpriced_b,
        "alpha": comparison.alpha,
        "confidence": 1 - comparison.alpha,
        "bootstrap": {"resamples": comparison.resamples, "seed": comparison.seed, "method": "percentile"},
        "mcnemar": {
            "a_only": test.a_only,
            "b_only": test.b_only,
            "statistic": test.statistic,
            "p_value": test.p_value,
            "method": test.method,
        },
        "metrics": [
            {
                "metric": m.metric,
                "cases": m.cases,
                "a": m.a,
                "b": m.b,
                "difference": m.difference,
                "ci": None if m.ci_low is None else [m.ci_low, m.ci_high],
                "p_value": m.p_value,
                "test": m.test,
                "higher_is_better": m.higher_is_better,
                "significant": m.significant,
                "verdict": m.verdict,
            }
            for m in comparison.metrics
        ],
        "flipped": [
            {
                "suite": f.suite,
                "case_id": f.case_id,
                "direction": f.direction,
                "a_passed": f.a_passed,
                "b_passed": f.b_passed,
                "repeats": f.repeats,
            }
            for f in comparison.flipped
        ],
    }


def flaky_table(flaky: Sequence[FlakyCase], quarantined: set[tuple[str, str]] | None = None) -> Table:
    """Flaky cases with their pass counts; a column marks the quarantined ones."""
    quarantined = quarantined or set()
    table = Table(title=f"Flaky cases ({len(flaky)})", title_justify="left")
    for column in ("suite", "case", "model", "passed", "errors", "runs", "quarantined"):
        table.add_column(column, overflow="fold")
    for case in flaky:
        table.add_row(
            escape(case.suite),
            escape(case.case_id),
            escape(case.model),
            f"{case.passed}/{case.total}",
            str(case.errors),
            ", ".join(case.run_ids),
            "yes" if (case.suite, case.case_id) in quarantined else "",
        )
    return table


def quarantine_table(entries: Sequence[tuple[str, str, str, str]]) -> Table:
    """Quarantined cases: (suite, case_id, reason, created_at) entries."""
    table = Table(title=f"Quarantined cases ({len(entries)})", title_justify="left")
    for column in ("suite", "case", "reason", "since"):
        table.add_column(column, overflow="fold")
    for suite, case_id, reason, created_at in entries:
        table.add_row(escape(suite), escape(case_id), escape(reason), created_at[:19].replace("T", " "))
    return table
