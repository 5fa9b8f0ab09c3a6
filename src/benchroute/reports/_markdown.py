"""A run as GitHub-flavoured Markdown, sized for a pull-request comment.

The leaderboard and the Pareto note always fit; failed cases go in a collapsible
``<details>`` block with outputs and reasons cut short, and rows stop once the comment would
pass ``max_bytes`` (GitHub refuses comments over 65,536 characters), with a line saying how
many were left out.

Everything a model or a user wrote is escaped: HTML (a reply containing ``<img src=...>``
must not load an image in the reviewer's browser), Markdown syntax that would change the
table (``|``, backticks, emphasis, links) and ``@`` (a mention would notify someone).
"""

from __future__ import annotations

import html
import re

from ..store import Result, RunRecord
from ._common import (
    RunReport,
    build_report,
    cost_cell,
    failing_reasons,
    millis,
    p50_cell,
    ratio,
    report_notes,
    suite_pass_rates,
    truncate,
)
from ._gap import gap_cells, gap_notes, shown_rows
from ._load import LOAD_COLUMNS, load_rows
from ._multimodal import multimodal_markdown

_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|~#!"})
# Control characters (what is left after whitespace is folded): invisible in a comment, and a
# NUL can make an API refuse the whole body.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_OUTPUT_CHARS = 160
_REASON_CHARS = 200


def md_text(text: str) -> str:
    """``text`` as inert Markdown on one line: no HTML, no table breaks, no mentions."""
    one_line = _CONTROL.sub("\ufffd", " ".join(text.split()))
    escaped = html.escape(one_line, quote=False).translate(_MARKDOWN_SPECIAL)
    # A zero-width space after @ keeps "@someone" readable without notifying anyone.
    return escaped.replace("@", "@&#8203;")


def _table(header: list[str], rows: list[list[str]], align_right: set[int] | None = None) -> list[str]:
    align_right = align_right or set()
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---:" if i in align_right else "---" for i in range(len(header))) + "|")
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _header(report: RunReport) -> list[str]:
    run = report.run
    lines = [f"## benchroute run `{md_text(run.id)}` — {md_text(run.status)}", ""]
    when = f"started {run.started_at[:19].replace('T', ' ')}"
    if run.finished_at:
        when += f", finished {run.finished_at[:19].replace('T', ' ')}"
    lines.append(
        f"{when} · suites: {', '.join(md_text(s) for s in report.suites) or '—'} · "
        f"models: {', '.join(md_text(m) for m in report.models) or '—'} · "
        f"{len(report.results)} results · benchroute {md_text(run.package_version)}"
    )
    if run.error:
        lines += ["", f"> **error:** {md_text(truncate(run.error, 500))}"]
    notes = report_notes(report)
    if notes:
        lines += ["", *(f"> **note:** {md_text(note)}" for note in notes)]
    return lines


def _leaderboard(report: RunReport) -> list[str]:
    header = [
        "#",
        "model",
        "pass rate",
        "mean score",
        "cases",
        "cost",
        "cost / success",
        "p50",
        "p95",
        "p99",
        "CV",
        "retry rate",
        "errors",
    ]
    rows = []
    for rank, s in enumerate(report.summaries, start=1):
        ranked = report.ranking(s.model)
        marks = ""
        if ranked is not None and (ranked.on_cost_frontier or ranked.on_latency_frontier):
            marks = " ★"
        rows.append(
            [
                str(rank),
                md_text(s.model) + marks,
                f"{s.pass_rate:.1%} ({s.passed}/{s.scored_cases})",
                f"{s.mean_score:.3f}",
                str(s.cases),
                cost_cell(s.total_cost_usd, s.unpriced),
                cost_cell(s.cost_per_success_usd, s.unpriced),
                p50_cell(s),
                millis(s.p95_latency_ms),
                millis(s.p99_latency_ms),
                ratio(s.latency_cv),
                f"{s.retry_rate:.1%}",
                str(s.errors),
            ]
        )
    if not rows:
        why = "only load tests (see below)" if report.results else "no results"
        return ["### Leaderboard", "", f"No scored cases: this run has {why}."]
    return ["### Leaderboard", "", *_table(header, rows, align_right={0, *range(2, len(header))})]


def _pareto_note(report: RunReport) -> list[str]:
    if not report.summaries:
        return []

    def names(models: list[str]) -> str:
        return ", ".join(f"**{md_text(m)}**" for m in models) or "—"

    cost = report.cost_frontier
    latency = report.latency_frontier
    lines = [
        "**Pareto frontier** (★: no other model is at least as accurate and cheaper or faster)",
        "",
        f"- accuracy vs cost per success: {names(cost)}",
        f"- accuracy vs p95 latency: {names(latency)}",
    ]
    dominated = [s.model for s in report.summaries if s.model not in cost and s.model not in latency]
    if dominated:
        lines.append(f"- dominated on both: {', '.join(md_text(m) for m in dominated)}")
    unpriced = [s.model for s in report.summaries if s.unpriced]
    if unpriced:
        lines.append(
            f"- unpriced (not placed on the cost frontier): {', '.join(md_text(m) for m in unpriced)}"
        )
    no_pass = [s.model for s in report.summaries if s.cost_per_success_usd is None and not s.unpriced]
    if no_pass:
        names_without_pass = ", ".join(md_text(m) for m in no_pass)
        lines.append(f"- no successful output (not placed on the cost frontier): {names_without_pass}")
    if all(s.p95_latency_ms is None for s in report.summaries):
        lines.append("- no latency was measured (cached replies only): no latency frontier")
    return lines


def _by_suite(report: RunReport) -> list[str]:
    rows = [[md_text(tier), md_text(suite), *cells] for tier, suite, cells in suite_pass_rates(report)]
    if not rows:
        return []
    header = ["tier", "suite", *(md_text(m) for m in report.models)]
    return ["### Pass rate by suite", "", *_table(header, rows, set(range(2, len(header))))]


def _gap(report: RunReport) -> list[str]:
    """Originals against their perturbed copies, per model and kind (runs with copies only)."""
    if not report.gap:
        return []
    keys = ("model", "kind", "pairs", "original", "perturbed", "gap", "interval", "p", "p_adjusted", "flag")
    header = [*keys[:6], f"{report.gap.confidence:.0%} CI", "p", "p (Holm)", "flag"]
    if report.gap.correction != "holm":
        header[8] = "p adj."
    rows = []
    for row in shown_rows(report.gap):
        cells = gap_cells(row)
        if cells["flag"] == "suspect":
            cells["flag"] = "**suspect**"
        rows.append([cells["flag"] if k == "flag" else md_text(cells[k]) for k in keys])
    notes = [f"- {md_text(note)}" for note in gap_notes(report.gap)]
    return ["### Generalisation gap", "", *_table(header, rows, set(range(2, 9))), "", *notes]


def _load(report: RunReport) -> list[str]:
    rows = load_rows(report.results)
    if not rows:
        return []
    table = [[md_text(truncate(row[key], _REASON_CHARS)) for _, key in LOAD_COLUMNS] for row in rows]
    lines = ["### Load (stress suites)", "", *_table([c for c, _ in LOAD_COLUMNS], table, set(range(2, 13)))]
    saturated = [row for row in rows if row["saturation_reason"]]
    if saturated:
        lines.append("")
        lines.extend(
            f"- {md_text(row['suite'])} · {md_text(row['model'])} saturated at {row['saturation']}: "
            f"{md_text(truncate(row['saturation_reason'], _REASON_CHARS))}"
            for row in saturated
        )
    return lines


def _failure_row(result: Result) -> str:
    reasons = "; ".join(failing_reasons(result)) or "failed"
    output = result.output if result.output is not None else ""
    cells = [
        md_text(result.suite),
        md_text(result.case_id),
        md_text(result.model),
        str(result.repeat),
        "error" if result.error else (f"{result.score:.2f}" if result.score is not None else "—"),
        md_text(truncate(reasons, _REASON_CHARS)),
        md_text(truncate(output, _OUTPUT_CHARS)) if output else "—",
    ]
    return "| " + " | ".join(cells) + " |"


# Room kept after the summary blocks for the failed cases' opening, the "N more" line and
# the closing tags, so that the whole comment stays under max_bytes.
_TAIL_RESERVE = 1_000


def _fit(text: str, max_bytes: int, see_html: str) -> str:
    """``text`` cut at a line so that it stays under ``max_bytes`` (only a run with very many
    models needs it: the leaderboard has a row per model), with a line saying so."""
    if len(text.encode()) <= max_bytes:
        return text
    note = f"\n\n_… cut here to keep this comment short ({see_html})._"
    kept: list[str] = []
    used = len(note.encode())
    for line in text.split("\n"):
        size = len(line.encode()) + 1
        if used + size > max_bytes:
            break
        kept.append(line)
        used += size
    return "\n".join(kept) + note


def render_markdown(run: RunRecord, results: list[Result], *, max_bytes: int = 60_000) -> str:
    """The run as Markdown for a pull-request comment, at most about ``max_bytes`` (UTF-8)."""
    report = build_report(run, results)
    see_html = f"see `benchroute report {md_text(run.id)} --format html`"
    blocks = [_header(report), _leaderboard(report), _pareto_note(report)]
    text = _fit(
        "\n\n".join("\n".join(block) for block in blocks if block), max_bytes - _TAIL_RESERVE, see_html
    )
    # The tables by suite and of loads grow with suites x models: each goes in only if it fits.
    optional = (
        ("pass rate by suite", _by_suite(report)),
        ("generalisation gap", _gap(report)),
        ("multimodal figures", multimodal_markdown(report.results, report.run.config)),
        ("load table", _load(report)),
    )
    for label, block in optional:
        if not block:
            continue
        chunk = "\n\n" + "\n".join(block)
        if len((text + chunk).encode()) > max_bytes - _TAIL_RESERVE:
            chunk = f"\n\n_The {label} is left out to keep this comment short ({see_html})._"
        text += chunk
    text += "\n"
    failed = [r for r in report.results if not r.passed]
    if not failed:
        if report.results:
            text += "\nEvery case passed.\n"
        else:
            text += "\nThis run has no results.\n"
        return text
    opening = [
        "",
        "<details>",
        f"<summary>Failed cases ({len(failed)})</summary>",
        "",
        *_table(["suite", "case", "model", "rep", "score", "why", "output"], [])[:2],
    ]
    closing_reserve = 200  # room for the "N more" line and </details>
    body = "\n".join(opening) + "\n"
    used = len(text.encode()) + len(body.encode()) + closing_reserve
    shown = 0
    rows = []
    for result in failed:
        row = _failure_row(result) + "\n"
        size = len(row.encode())
        if used + size > max_bytes:
            break
        rows.append(row)
        used += size
        shown += 1
    body += "".join(rows)
    if shown < len(failed):
        body += (
            f"\n… and {len(failed) - shown} more failed cases, left out to keep this comment short "
            f"({see_html}).\n"
        )
    return text + body + "\n</details>\n"
