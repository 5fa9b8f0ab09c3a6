"""``benchroute drift``: has a model changed since its baseline, by how much, since when?

Exit codes: 0 no drift beyond tolerance, 1 drift beyond tolerance (a flagged finding),
2 bad usage or an unknown suite / model / run (one line, no traceback).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, WideOption, _open, app, console, err_console, fail


def _baseline(baseline: str, window: int | None) -> tuple[str | None, str | None, int | None]:
    """(mode, pinned run, window) from ``--baseline previous|pinned RUN|window N``."""
    words = baseline.split()
    if not words:
        return None, None, window
    mode = words[0]
    if mode == "previous" and len(words) == 1:
        return "previous", None, window
    if mode == "pinned" and len(words) == 2:
        return "pinned", words[1], window
    if mode == "window" and len(words) in (1, 2):
        if len(words) == 2:
            if not words[1].isdigit() or int(words[1]) < 1:
                raise BenchrouteError(f"--baseline window N: N must be a positive number, got {words[1]!r}")
            return "window", None, int(words[1])
        return "window", None, window
    raise BenchrouteError(
        f"--baseline {baseline!r}: expected 'previous', 'pinned RUN' or 'window N'",
        hint="e.g. --baseline 'window 10'",
    )


@app.command()
def drift(
    suite: Annotated[str, typer.Argument(help="Suite name.")],
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    baseline: Annotated[
        str,
        typer.Option("--baseline", help="previous | 'pinned RUN' | 'window N' (default: drift.baseline)."),
    ] = "",
    pinned: Annotated[
        str | None, typer.Option("--pinned", help="Baseline run (same as --baseline 'pinned RUN').")
    ] = None,
    window: Annotated[
        int | None, typer.Option("--window", min=2, help="Runs in the series / window.")
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="Metric to test (repeatable): pass_rate, refusal_rate, latency_ms, …"),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table | json | markdown")] = "table",
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """Compare the latest run of SUITE with a baseline and scan its series for a change point.
    Exit 1 when a drift beyond tolerance is found. See docs/drift.md."""
    from ..analysis import drift_for_suite

    try:
        if output_format not in ("table", "json", "markdown"):
            raise BenchrouteError(f"--format {output_format!r}: expected table, json or markdown")
        mode, pinned_run, size = _baseline(baseline, window)
        if pinned:
            mode, pinned_run = "pinned", pinned
        project, store = _open(config, db)
        report = drift_for_suite(
            store,
            suite,
            model=model,
            baseline=mode,
            pinned=pinned_run,
            window=size,
            metrics=list(metric) if metric else None,
            settings=project.drift,
        )
    except BenchrouteError as exc:
        fail(exc)
        return
    from ..reports import DRIFT_DROP_ORDER, drift_markdown, drift_notes, drift_table, print_fitted

    if output_format == "json":
        console.print_json(json.dumps(report.to_json()))
    elif output_format == "markdown":
        console.print(drift_markdown(report), markup=False, highlight=False, soft_wrap=True)
    else:
        print_fitted(console, drift_table(report), DRIFT_DROP_ORDER, wide=wide, keep={"verdict", "metric"})
        for line in drift_notes(report):
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)
    if report.flagged():
        raise typer.Exit(1)
