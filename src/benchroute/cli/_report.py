"""``benchroute report RUN``: a stored run as a terminal table, Markdown, HTML, JSON or JUnit XML.

The file formats are plain text; without ``--output`` they go to standard output, except
HTML (several megabytes with plotly.js inlined) which is written to ``report-RUN.html``.
"""

from __future__ import annotations

import enum
import io
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, _open, _render_run, app, console, fail, write_output


class ReportFormat(enum.StrEnum):
    table = "table"
    md = "md"
    html = "html"
    json = "json"
    junit = "junit"


def _table_text(record: Any, results: list[Any], out: Console) -> None:
    # The same tables as `benchroute runs show`, then the failed cases.
    from ..reports import print_run_header, results_table

    print_run_header(out, record)
    _render_run(record, results, out)
    if any(not r.passed for r in results):
        out.print(results_table(results, failures_only=True))


def _render(fmt: ReportFormat, record: Any, results: list[Any]) -> str:
    from ..reports import render_html, render_json, render_junit, render_markdown

    renderers = {
        ReportFormat.md: render_markdown,
        ReportFormat.html: render_html,
        ReportFormat.json: render_json,
        ReportFormat.junit: render_junit,
    }
    text: str = renderers[fmt](record, results)
    return text


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="table, md (PR comment), html, json, junit (CI)."),
    ] = ReportFormat.table,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here (default: stdout; html: report-RUN.html)."),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Render a stored run as a report: a table, Markdown, self-contained HTML, JSON or JUnit XML."""
    try:
        _, store = _open(config, db)
        record, results = store.run_with_results(run_id)
        if fmt is ReportFormat.table:
            if output is None:
                _table_text(record, results, console)
                return
            buffer = io.StringIO()
            _table_text(record, results, Console(file=buffer, width=160, color_system=None, emoji=False))
            text = buffer.getvalue()
        else:
            text = _render(fmt, record, results)
        if output is None and fmt is ReportFormat.html:
            output = Path(f"report-{record.id}.html")
        if output is None:
            typer.echo(text, nl=False)
            return
        write_output(output, text, "report")
    except BenchrouteError as exc:
        fail(exc)
        return
    console.print(f"wrote {output} ({fmt.value}, {len(results)} results)", highlight=False)
