"""Rendering of the generalisation gap (see :mod:`benchroute.analysis._generalisation`): a
terminal table model x kind, Markdown lines, HTML rows, JSON, and the two sides of a compare.

A model with a single perturbation kind shows one row: its ``all`` row is the same pairs and
the same test. Errors are never shown as failures: they are counted under the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..analysis import ALL_KINDS, GapReport, GapRow, generalisation_gap
from ..store import Result
from ._compare import _p_value

# Least useful first: the two sides (the gap is their difference), then the pair count.
GAP_DROP_ORDER = ("pert", "orig", "pairs")
GAP_KEEP = frozenset({"kind", "gap", "flag"})
_FLAG_STYLE = {"suspect": "bold red", "negative": "yellow"}


def flag(row: GapRow) -> str:
    """A row's short verdict: ``suspect`` (memorisation suspect), ``negative`` (significantly
    better on the copies; not a suspect), ``—`` without pairs, else empty."""
    if row.gap is None:
        return "—"
    if not row.significant:
        return ""
    return "suspect" if row.gap > 0 else "negative"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def _plain(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def interval(row: GapRow) -> str:
    """``[low, high]`` of the gap, or ``—`` when too few pairs give none."""
    if row.ci_low is None or row.ci_high is None:
        return "—"
    return f"[{row.ci_low:+.2f}, {row.ci_high:+.2f}]"


def shown_rows(report: GapReport) -> list[GapRow]:
    """The rows a reader needs: per model its kinds, then ``all`` when it pools several."""
    return [row for row in report.rows if row.kind != ALL_KINDS or len(row.kinds) > 1]


def gap_notes(report: GapReport) -> list[str]:
    """What the gap table needs beside it: how it was tested, and what was left out."""
    correction = "Holm-adjusted over the run" if report.correction == "holm" else "not adjusted"
    notes = [
        f"gap = {report.metric} on originals − on their perturbed copies (variants averaged per "
        f"original); {report.confidence:.0%} paired interval; p {correction} ({report.tests} tests); "
        f"suspect: memorisation suspect (p < {report.alpha:g} and the interval above 0); "
        "negative: significantly better on the copies (not a suspect)"
    ]
    tests = sorted({row.test for row in report.rows if row.test})
    if tests:
        notes.append(f"tests: {'; '.join(tests)}")
    if report.errors:
        notes.append(f"{report.errors} errored result(s) left out (not scored as failures)")
    unpaired = [f"{row.model} · {row.kind} {row.unpaired}" for row in shown_rows(report) if row.unpaired]
    if unpaired:
        more = f" and {len(unpaired) - 5} more" if len(unpaired) > 5 else ""
        notes.append(f"originals left out, one side without a scored result: {', '.join(unpaired[:5])}{more}")
    if report.orphans:
        notes.append(f"{report.orphans} perturbed case(s) without their original in the run: left out")
    return notes


def gap_table(report: GapReport, *, title: str = "Generalisation gap") -> Table:
    """Model x perturbation kind: pairs, the two sides, the gap, its interval, the adjusted
    p-value and the flag (the raw p-value is in the JSON, Markdown and HTML reports: at 100
    columns the adjusted one, which decides, is the one to keep)."""
    table = Table(title=title, title_justify="left")
    table.add_column("model")
    table.add_column("kind")
    for column in ("pairs", "orig", "pert", "gap", f"{report.confidence:.0%} CI"):
        table.add_column(column, justify="right")
    table.add_column("p (Holm)" if report.correction == "holm" else "p", justify="right")
    table.add_column("flag", no_wrap=True)
    for row in shown_rows(report):
        mark = flag(row)
        style = _FLAG_STYLE.get(mark)
        table.add_row(
            escape(row.model),
            escape(row.kind),
            str(row.pairs),
            _plain(row.original),
            _plain(row.perturbed),
            _signed(row.gap),
            interval(row),
            _p_value(row.p_adjusted),
            f"[{style}]{mark}[/]" if style else mark,
        )
    table.caption = "\n".join(escape(note) for note in gap_notes(report))
    table.caption_justify = "left"
    return table


def print_generalisation_gap(
    console: Console,
    results: Sequence[Result],
    config: Mapping[str, Any] | None = None,
    *,
    title: str = "Generalisation gap",
    wide: bool = False,
) -> GapReport:
    """Print the gap table of ``results`` when some of them are of perturbed cases (nothing
    otherwise); ``config``: the run's config snapshot, whose case metadata links copies to
    originals. Returns the report (falsy without perturbed cases)."""
    from ._fit import print_fitted

    report = generalisation_gap(results, config=config)
    if report:
        print_fitted(console, gap_table(report, title=title), GAP_DROP_ORDER, wide=wide, keep=GAP_KEEP)
    return report


def gap_sides_table(sides: Sequence[tuple[str, GapReport]]) -> Table:
    """The gap of each side of a comparison (``benchroute compare``), per kind."""
    first = sides[0][1]
    table = Table(title="Generalisation gap of each side", title_justify="left")
    table.add_column("side")
    table.add_column("kind")
    for column in ("pairs", "gap", f"{first.confidence:.0%} CI", "p (Holm)"):
        table.add_column(column, justify="right")
    table.add_column("flag", no_wrap=True)
    for label, report in sides:
        for row in shown_rows(report):
            mark = flag(row)
            style = _FLAG_STYLE.get(mark)
            table.add_row(
                escape(label),
                escape(row.kind),
                str(row.pairs),
                _signed(row.gap),
                interval(row),
                _p_value(row.p_adjusted),
                f"[{style}]{mark}[/]" if style else mark,
            )
    table.caption = (
        f"gap = {first.metric} on originals − on perturbed copies (variants averaged per "
        f"original); {first.confidence:.0%} paired interval; p Holm-adjusted within each side; "
        f"suspect: memorisation suspect (p < {first.alpha:g} and the interval above 0)"
    )
    table.caption_justify = "left"
    return table


def gap_row_json(row: GapRow) -> dict[str, Any]:
    return {
        "model": row.model,
        "kind": row.kind,
        "kinds": list(row.kinds),
        "pairs": row.pairs,
        "original": row.original,
        "perturbed": row.perturbed,
        "gap": row.gap,
        "ci": None if row.ci_low is None else [row.ci_low, row.ci_high],
        "p_value": row.p_value,
        "p_adjusted": row.p_adjusted,
        "test": row.test or None,
        "significant": row.significant,
        "suspect": row.suspect,
        "verdict": row.verdict,
        "errors": row.errors,
        "unpaired": row.unpaired,
    }


def gap_json(report: GapReport) -> dict[str, Any]:
    """The gap as JSON-able data (every row, ``all`` rows included)."""
    return {
        "metric": report.metric,
        "alpha": report.alpha,
        "confidence": report.confidence,
        "correction": report.correction,
        "tests": report.tests,
        "perturbed_cases": report.perturbed_cases,
        "orphans": report.orphans,
        "errors": report.errors,
        "suspects": report.suspects,
        "rows": [gap_row_json(row) for row in report.rows],
    }


def gap_cells(row: GapRow) -> dict[str, str]:
    """One row's cells as text (Markdown and HTML escape them themselves)."""
    return {
        "model": row.model,
        "kind": row.kind,
        "pairs": str(row.pairs),
        "original": _plain(row.original),
        "perturbed": _plain(row.perturbed),
        "gap": _signed(row.gap),
        "interval": interval(row),
        "p": _p_value(row.p_value),
        "p_adjusted": _p_value(row.p_adjusted),
        "flag": flag(row),
    }
