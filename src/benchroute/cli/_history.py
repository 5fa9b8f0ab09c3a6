"""``benchroute history`` (a suite's series per model x metric, as a table and a terminal
chart) and ``benchroute metrics`` (the latest points as OpenMetrics text, or served on a port
for Prometheus). See docs/history.md.

Exit codes: 0 printed, 2 bad usage or an unknown suite (one line, no traceback).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, WideOption, _open, app, console, err_console, fail

if TYPE_CHECKING:
    from ..store import Store

DEFAULT_METRICS = ("pass_rate", "cost_per_success", "p95_ms")
DEFAULT_LAST = 20  # table rows per model by default (a 1,000-run table is not read; --all)
# The run_metrics aggregates every run has (a scorer's mean value is ``score:<scorer>``).
RUN_METRICS = ("pass_rate", "error_rate", "refusal_rate", "cost_per_success", "cost_total",
               "p50_ms", "p95_ms", "tokens_out")  # fmt: skip


def metric_name(text: str) -> str:
    """A ``--metric`` as stored: a run metric, ``score:<scorer>``, or a bare scorer name."""
    return text if text in RUN_METRICS or text.startswith("score:") else f"score:{text}"


def _check_metrics(store: Any, suite: str, model: str | None, asked: list[str], points: list[Any]) -> None:
    """One line naming a ``--metric`` the suite's runs have no figure of, with the ones they
    have (read only when something is missing)."""
    found = {point.metric for point in points}
    missing = [text for text in asked if metric_name(text) not in found]
    if not missing:
        return
    stored = sorted({point.metric for point in store.series(suite, model=model, limit_runs=1)})
    if not stored:
        return  # no run at all: the caller says so
    what = ", ".join(repr(text) for text in missing)
    message = f"suite {suite!r} has no figure of {what}"
    if found:  # print the others, say what is missing
        err_console.print(f"note: {message}", highlight=False, markup=False)
        return
    if any(metric_name(text) in stored for text in missing):
        return  # stored, only not in the --since range: the caller says so
    raise BenchrouteError(message, hint="stored metrics: " + ", ".join(stored))


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``7d``, ``12h``, ``30m``, ``2w`` ago, or an ISO date/time (UTC when it names no zone)."""
    if not text:
        return None
    now = now or datetime.now(UTC)
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if text[:-1].isdigit() and text[-1] in units:
        return now - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BenchrouteError(
            f"--since {text!r}: expected a duration (7d, 12h, 30m, 2w) or an ISO date",
            hint="e.g. --since 14d or --since 2026-11-01",
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command()
def history(
    suite: Annotated[str, typer.Argument(help="Suite name.")],
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            help="Metric (repeatable): pass_rate, refusal_rate, cost_per_success, p95_ms, "
            "tokens_out, score:<scorer>, … (default: pass_rate, cost_per_success, p95_ms)",
        ),
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="7d, 12h, 2w or an ISO date.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
    last: Annotated[
        int,
        typer.Option(
            "--last",
            min=1,
            help="Table rows: each model's newest N runs (the chart, json "
            "and csv always cover the whole series).",
        ),
    ] = DEFAULT_LAST,
    show_all: Annotated[bool, typer.Option("--all", help="A table row for every run.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """The series of SUITE per model and metric, with the served model version and price at
    each run, as a table and a small chart."""
    try:
        if output_format not in ("table", "json", "csv"):
            raise BenchrouteError(f"--format {output_format!r}: expected table, json or csv")
        start = parse_since(since)
        _project, store = _open(config, db)
        asked = list(metric or DEFAULT_METRICS)
        points = store.series(suite, model=model, metrics=[metric_name(m) for m in asked], since=start)
        if metric:
            _check_metrics(store, suite, model, asked, points)
        if not points:
            raise BenchrouteError(
                f"no stored runs of suite {suite!r}"
                + (f" for model {model!r}" if model else "")
                + (f" since {since}" if since else ""),
                hint="run it first (benchroute run …), or check the names with benchroute runs list",
            )
    except BenchrouteError as exc:
        fail(exc)
        return
    from ..reports import (
        HISTORY_DROP_ORDER,
        history_chart,
        history_csv,
        history_json,
        history_table,
        print_fitted,
    )

    if output_format == "json":
        typer.echo(json.dumps(history_json(points), indent=2))
    elif output_format == "csv":
        typer.echo(history_csv(points), nl=False)
    else:
        keep = {"run", "started", *(point.metric for point in points)}
        shown = None if show_all else last
        table = history_table(points, last=shown)
        print_fitted(console, table, HISTORY_DROP_ORDER, wide=wide, keep=keep)
        for line in history_chart(points, width=min(100, console.width)):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        err_console.print("* = served model changed since the previous run", highlight=False)
        runs = len({(point.model, point.run_id) for point in points})
        if shown is not None and table.row_count < runs:
            err_console.print(
                f"table: {table.row_count} of {runs} rows (each model's newest {shown} runs); "
                "--all or --last N for more",
                highlight=False,
            )


@app.command()
def metrics(
    suite: Annotated[
        list[str] | None, typer.Option("--suite", help="Only this suite (repeatable; default: all).")
    ] = None,
    serve: Annotated[
        int | None, typer.Option("--serve", min=1, max=65535, help="Serve /metrics on this port.")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on with --serve.")] = "127.0.0.1",
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """The latest figure of every suite x model x metric as OpenMetrics text (for Prometheus);
    with --serve PORT, answered on GET /metrics until interrupted."""
    from ..reports import openmetrics_text

    try:
        _project, store = _open(config, db)
        names = list(suite) if suite else _suite_names(store)

        def render() -> str:
            return openmetrics_text([point for name in names for point in store.series(name)])

        text = render()
    except BenchrouteError as exc:
        fail(exc)
        return
    if serve is None:
        typer.echo(text, nl=False)
        return
    _serve(host, serve, render)


def _suite_names(store: Store) -> list[str]:
    names: list[str] = []
    for run, _count in store.list_runs(limit=1000):
        for name in run.suites:
            if name not in names:
                names.append(name)
    return names


def _serve(host: str, port: int, render: Any) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404, "only /metrics is served")
                return
            body = render().encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        fail(
            BenchrouteError(
                f"--serve {port}: cannot listen on {host}:{port} ({exc.strerror})", hint="choose another port"
            )
        )
        return
    err_console.print(f"serving OpenMetrics on http://{host}:{port}/metrics (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
