"""``benchroute route simulate``: replay logged traffic (or a suite's latest run) through a
policy and against everything on one model — cost, expected quality and p95 per class (see
docs/routing.md and :mod:`benchroute.routing._simulate` for how each figure is computed).

Exit codes: 0 printed, 2 bad usage, an unknown class or version, or nothing to replay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from .._errors import BenchrouteError, did_you_mean
from ._app import ConfigOption, DbOption, WideOption, _open, console, err_console, fail
from ._history import parse_since
from ._route import _policy_arg, route_app

if TYPE_CHECKING:
    from ..routing import SavingsReport

# Least useful first: the per-side quality and latency stay longest after the costs.
# Headers on two lines (side, then figure) keep ten columns within 100.
_COLUMNS = ("class", "requests", "policy\n$", "base\n$", "saved\n$", "saved\n%",
            "policy\nquality", "base\nquality", "policy\np95 ms", "base\np95 ms")  # fmt: skip
_DROP_ORDER = ("saved\n%", "base\np95 ms", "policy\np95 ms", "base\nquality", "policy\nquality", "saved\n$")


@route_app.command("simulate")
def route_simulate(
    policy: Annotated[
        str, typer.Argument(help="A stored version (N, vN), 'active' (default) or a policy file.")
    ] = "active",
    since: Annotated[
        str,
        typer.Option("--since", help="Replay the gateway log from this long ago (7d, 12h) or an ISO date."),
    ] = "7d",
    task_class: Annotated[
        str | None, typer.Option("--class", help="Only the requests of this class.")
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", help="The model everything is sent to (default: the best-scoring primary)."
        ),
    ] = None,
    suite: Annotated[
        str | None, typer.Option("--suite", help="Replay this suite's latest run instead of the log.")
    ] = None,
    log: Annotated[
        Path | None,
        typer.Option(
            "--log",
            help="Replay a JSONL file of logged requests (chat bodies with their usage) instead "
            "of the gateway's log.",
        ),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table | json")] = "table",
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """What the policy would have cost on real traffic, at what expected quality and p95,
    against sending every request to one model."""
    from ..routing import load_replay, policy_models, simulate_savings

    try:
        if output_format not in ("table", "json"):
            raise BenchrouteError(f"--format {output_format!r}: expected table or json")
        project, store = _open(config, db)
        label, document = _policy_arg(store, policy)
        known = {*project.models, *policy_models(document)}
        if baseline is not None and baseline not in known:
            raise BenchrouteError(
                f"--baseline {baseline!r}: no such model{did_you_mean(baseline, known)}",
                hint="models: " + ", ".join(sorted(known)),
            )
        if suite is not None and log is not None:
            raise BenchrouteError("--suite and --log: give one source of requests to replay")
        start = None if suite is not None or log is not None else parse_since(since)
        inputs = load_replay(
            store,
            document,
            since_ts=None if start is None else start.timestamp(),
            suite=suite,
            baseline=baseline,
            model_specs=list(project.models.values()),
            log_path=log,
        )
        if not inputs.requests and suite is not None:
            raise BenchrouteError(f"--suite {suite!r}: {inputs.source} has no answered result to replay")
        if not inputs.requests and log is not None:
            raise BenchrouteError(
                f"--log {log}: no request with token counts to replay"
                + (f" ({inputs.skipped:,} without usage)" if inputs.skipped else ""),
                hint='each line: {"messages": [...], "usage": {"prompt_tokens": N, "completion_tokens": M}}',
            )
        if not inputs.requests:
            raise BenchrouteError(
                f"no answered request in the gateway log for --since {since}"
                + (f" ({inputs.skipped:,} without usage)" if inputs.skipped else ""),
                hint="widen --since, or replay a suite's latest run with --suite SUITE",
            )
        report = simulate_savings(document, inputs, baseline=baseline, task_class=task_class, label=label)
    except BenchrouteError as exc:
        fail(exc)
        return
    if output_format == "json":
        typer.echo(json.dumps({**report.to_json(), "summary": savings_summary(report)}, indent=2))
        return
    print_savings(report, wide=wide)


def format_usd(value: float | None) -> str:
    """``$12.40``, ``$0.004512``; ``unknown`` for None (never ``$0``)."""
    if value is None:
        return "unknown"
    if value == 0:
        return "$0.00"
    sign = "-" if value < 0 else ""
    size = abs(value)
    return f"{sign}${size:,.2f}" if size >= 1 else f"{sign}${size:.4g}"


def format_change(pct: float) -> str:
    """A signed percentage change: ``−75.7 %``, ``+3.0 %``, ``0.0 %``."""
    if round(pct, 1) == 0:
        return "0.0 %"
    return f"{'−' if pct < 0 else '+'}{abs(pct):.1f} %"


def _score(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.3f}"


def _ms(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.0f}"


def savings_summary(report: SavingsReport) -> str:
    """One line: ``policy v3 vs everything on gpt-4o: $12.40 vs $51.10 (−75.7 %), quality
    0.910 vs 0.950, p95 820 vs 1,900 ms over 10,000 requests``."""
    total = report.total
    change = "" if total.saving_pct is None else f" ({format_change(-total.saving_pct)})"
    quality = f"quality {_score(total.policy.quality)} vs {_score(total.baseline.quality)}"
    if total.baseline.quality_requests < total.requests and total.baseline.quality is not None:
        quality += f" (baseline over {total.baseline.quality_requests:,})"
    return (
        f"policy {report.policy} vs everything on {report.baseline}: {format_usd(total.policy.cost_usd)} vs "
        f"{format_usd(total.baseline.cost_usd)}{change}, {quality}, p95 {_ms(total.policy.p95_ms)} vs "
        f"{_ms(total.baseline.p95_ms)} ms over {total.requests:,} requests"
    )


def print_savings(report: SavingsReport, *, wide: bool = False) -> None:
    from ..reports import print_fitted

    console.print(
        f"policy {report.policy} vs everything on {report.baseline} · {report.source}",
        highlight=False,
        markup=False,
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in _COLUMNS:
        table.add_column(column, justify="left" if column == "class" else "right")
    rows = [*report.classes, report.total] if len(report.classes) > 1 else report.classes
    for row in rows:
        pct = row.saving_pct
        table.add_row(
            row.task_class,
            f"{row.requests:,}",
            format_usd(row.policy.cost_usd),
            format_usd(row.baseline.cost_usd),
            format_usd(row.saving_usd),
            "—" if pct is None else f"{pct:.1f} %",
            _score(row.policy.quality),
            _score(row.baseline.quality),
            _ms(row.policy.p95_ms),
            _ms(row.baseline.p95_ms),
            end_section=row is report.classes[-1] and len(rows) > len(report.classes),
        )
    print_fitted(console, table, _DROP_ORDER, wide=wide, keep={"class"})
    console.print(savings_summary(report), highlight=False, markup=False, soft_wrap=True)
    for note in report.notes:
        err_console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
