"""Rendering of drift reports: a terminal table (fits 100 columns), Markdown, JSON."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from ..analysis import DriftFinding, DriftReport

# Least useful first when the table must shrink to fit.
DRIFT_DROP_ORDER = ("n", "q", "since version", "CI", "test")
# Short test names for the terminal table (the caption and JSON keep the full names).
_SHORT_TEST = {
    "McNemar exact": "McNemar",
    "Fisher exact": "Fisher",
    "Mann–Whitney U": "M–W U",
    "change point (binomial)": "chg. point",
    "change point (Gaussian)": "chg. point",
}


def _figure(finding: DriftFinding, value: float | None) -> str:
    if value is None:
        return "—"
    if finding.metric.endswith("_rate"):
        return f"{value:.1%}"
    if finding.metric == "cost_usd":
        return f"{value:.6f}"
    if finding.metric in ("latency_ms", "tokens_out"):
        return f"{value:,.0f}"
    return f"{value:.3f}"


def _effect(finding: DriftFinding, value: float | None) -> str:
    if value is None:
        return "—"
    if finding.relative:
        return f"{value:+.1%}"
    if finding.metric.endswith("_rate"):
        return f"{value * 100:+.1f} pt"
    return f"{value:+.3f}"


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4f}" if value >= 0.0001 else f"{value:.1e}"


def _ci(finding: DriftFinding) -> str:
    if finding.effect_ci is None:
        return "—"
    low, high = finding.effect_ci
    return f"[{_effect(finding, low)}, {_effect(finding, high)}]"


def _verdict(finding: DriftFinding) -> str:
    if finding.flagged:
        return f"DRIFT ({finding.direction})"
    if finding.q_value is not None and finding.q_value < 1 and finding.effect is not None:
        return "below tolerance" if abs(finding.effect) < finding.min_effect else "not significant"
    return "no change"


def drift_summary(report: DriftReport) -> str:
    """One line: how many findings are flagged, against what."""
    flagged = report.flagged()
    base = f"{report.baseline} ({', '.join(report.baseline_runs) or 'none'})"
    head = f"drift in {report.suite}: run {report.latest_run} vs {base}"
    if not flagged:
        return f"{head} — no drift beyond tolerance ({len(report.findings)} test(s))"
    return f"{head} — {len(flagged)} finding(s) beyond tolerance"


def drift_table(report: DriftReport) -> Table:
    """Every model finding: figures on both sides, effect with interval, p/q, since when."""
    confidence = 1 - report.alpha
    table = Table(
        title=escape(drift_summary(report)),
        title_justify="left",
        caption=(
            f"flagged when q < {report.alpha:g} (Benjamini–Hochberg over {len(report.findings)} "
            f"tests) and |effect| ≥ the metric's min_effect; CI {confidence:.1%}; pt = points; "
            "chg. point = change-point scan (the run named is where the new regime began)"
        ),
        caption_justify="left",
    )
    table.add_column("model")
    table.add_column("metric")
    table.add_column("test")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    table.add_column("effect", justify="right")
    table.add_column("CI", justify="right")
    table.add_column("q", justify="right")
    table.add_column("since run")
    table.add_column("since version")
    table.add_column("n", justify="right")
    table.add_column("verdict", no_wrap=True)
    for f in report.findings:
        style = "bold red" if f.flagged else ""
        table.add_row(
            escape(f.model),
            escape(f.metric),
            _SHORT_TEST.get(f.test, f.test),
            _figure(f, f.baseline_value),
            _figure(f, f.latest_value),
            _effect(f, f.effect),
            escape(_ci(f)),
            _p(f.q_value),
            escape(f.since_run or "—"),
            escape(f.since_version or "—"),
            f"{f.n_baseline}/{f.n_latest}",
            f"[{style}]{_verdict(f)}[/]" if style else _verdict(f),
        )
    return table


def drift_notes(report: DriftReport) -> list[str]:
    """Suite changes, version changes and notes, one line each."""
    lines = [
        f"suite change for {s.model}" + (f" since run {s.since_run}" if s.since_run else "") + f": {s.detail}"
        for s in report.suite_changes
    ]
    lines += [
        f"model version of {v.model} changed at run {v.run_id}: {v.before or '?'} → {v.after or '?'}"
        for v in report.version_changes
    ]
    return lines + list(report.notes)


def drift_markdown(report: DriftReport) -> str:
    """The report as a Markdown section (for CI summaries and alerts)."""
    lines = [f"### {drift_summary(report)}", ""]
    if report.findings:
        lines += [
            "| model | metric | test | before | after | effect | CI | q | since run | version | verdict |",
            "|---|---|---|---:|---:|---:|---:|---:|---|---|---|",
        ]
        for f in report.findings:
            cells = [
                f.model,
                f.metric,
                f.test,
                _figure(f, f.baseline_value),
                _figure(f, f.latest_value),
                _effect(f, f.effect),
                _ci(f),
                _p(f.q_value),
                f.since_run or "—",
                f.since_version or "—",
                f"**{_verdict(f)}**" if f.flagged else _verdict(f),
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    lines += [f"- {line}" for line in drift_notes(report)]
    return "\n".join(lines).rstrip() + "\n"


def drift_json(report: DriftReport) -> dict[str, Any]:
    return report.to_json()
