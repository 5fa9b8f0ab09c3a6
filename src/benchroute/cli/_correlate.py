"""``benchroute correlate``: do the benchmark scores that built the routing policies order the
endpoints the way production feedback does? Per class and overall: Spearman's ρ and the
pairwise agreement, with bootstrap intervals (see docs/routing.md and
:mod:`benchroute.routing._correlate`).

Exit codes: 0 printed, 2 bad usage or no feedback to correlate (one line, no traceback).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, WideOption, _open, app, console, err_console, fail
from ._history import parse_since

if TYPE_CHECKING:
    from ..routing import Agreement, ClassCorrelation, CorrelationReport, Outcome

_DROP_ORDER = ("judge CI", "judge n", "judge", "bench CI", "feedback CI", "requests")


@app.command()
def correlate(
    task_class: Annotated[str | None, typer.Option("--class", help="Only this task class.")] = None,
    since: Annotated[
        str, typer.Option("--since", help="Routed requests from this long ago (30d, 12h) or an ISO date.")
    ] = "30d",
    policy: Annotated[
        str | None, typer.Option("--policy", help="Only requests served under this policy version (N, vN).")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table | json")] = "table",
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """Benchmark scores against production feedback (and judge scores) of the routed
    endpoints: do the benchmarks predict which endpoint users prefer?"""
    from ..routing import CorrelationError, correlate_feedback, load_feedback

    try:
        if output_format not in ("table", "json"):
            raise BenchrouteError(f"--format {output_format!r}: expected table or json")
        version = _version(policy)
        start = parse_since(since)
        _project, store = _open(config, db)
        rows, benchmarks = load_feedback(
            store,
            task_class=task_class,
            since_ts=None if start is None else start.timestamp(),
            policy_version=version,
        )
        try:
            report = correlate_feedback(rows, benchmarks)
        except CorrelationError as exc:
            scope = [f"--since {since}"]
            if task_class is not None:
                scope.append(f"--class {task_class}")
            if version is not None:
                scope.append(f"--policy v{version}")
            raise BenchrouteError(
                exc.message, hint="looked at routed requests for " + " ".join(scope)
            ) from None
    except BenchrouteError as exc:
        fail(exc)
        return
    if output_format == "json":
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    print_correlation(report, wide=wide)


def _version(text: str | None) -> int | None:
    if text is None:
        return None
    bare = text[1:] if text[:1] in ("v", "V") else text
    if not bare.isdigit():
        raise BenchrouteError(f"--policy {text!r}: expected a stored version (N or vN)")
    return int(bare)


def _value(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _ci(ci: tuple[float, float] | None, fmt: str = "{:.2f}") -> str:
    return "—" if ci is None else f"{fmt.format(ci[0])}–{fmt.format(ci[1])}"


def _outcome(found: Outcome | None) -> tuple[str, str, str]:
    if found is None:
        return "—", "—", "0"
    return _value(found.mean), _ci(found.ci), f"{found.n:,}"


def agreement_line(found: Agreement) -> str:
    """``ρ 0.80 [0.40, 1.00] · agreement 0.83 [0.67, 1.00] over 4 endpoints (6 pairs)``."""

    def interval(ci: tuple[float, float] | None) -> str:
        return "" if ci is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]"

    if found.rho is None and found.agreement is None:
        return f"ρ unknown: {found.reason}"
    rho = "ρ unknown" if found.rho is None else f"ρ {found.rho:.2f}{interval(found.rho_ci)}"
    agreement = (
        "agreement unknown"
        if found.agreement is None
        else f"agreement {found.agreement:.2f}{interval(found.agreement_ci)}"
    )
    points = "endpoint" if found.endpoints == 1 else "endpoints"
    pairs = "pair" if found.pairs == 1 else "pairs"
    line = f"{rho} · {agreement} over {found.endpoints} {points} ({found.pairs} {pairs})"
    return line + (f" — {found.reason}" if found.reason else "")


def _class_table(klass: ClassCorrelation) -> Table:
    judged = klass.judge is not None
    table = Table(show_edge=False, pad_edge=False)
    columns = ["model", "requests", "benchmark", "bench CI", "feedback", "feedback CI", "n"]
    if judged:
        columns += ["judge", "judge CI", "judge n"]
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for endpoint in klass.endpoints:
        bench = endpoint.benchmark
        cells = [
            endpoint.model,
            f"{endpoint.requests:,}",
            "—" if bench is None else f"{bench.score:.3f}",
            "—" if bench is None else _ci(bench.ci),
            *_outcome(endpoint.feedback),
        ]
        if judged:
            cells += list(_outcome(endpoint.judge))
        table.add_row(*cells)
    return table


def print_correlation(report: CorrelationReport, *, wide: bool = False) -> None:
    from ..reports import print_fitted

    versions = ", ".join(f"v{v}" for v in report.policy_versions) or "—"
    console.print(
        f"benchmark vs production · {report.requests:,} routed requests · policies {versions} · "
        f"bootstrap {report.draws:,} draws, seed {report.seed}",
        highlight=False,
        markup=False,
    )
    for klass in report.classes:
        console.print(
            f"\nclass {klass.task_class} · {klass.requests:,} routed requests, "
            f"{klass.with_feedback:,} with feedback",
            highlight=False,
            markup=False,
        )
        print_fitted(console, _class_table(klass), _DROP_ORDER, wide=wide, keep={"model"})
        console.print(
            "  feedback: " + agreement_line(klass.feedback), highlight=False, markup=False, soft_wrap=True
        )
        if klass.judge is not None:
            console.print(
                "  judge: " + agreement_line(klass.judge), highlight=False, markup=False, soft_wrap=True
            )
    classes = len(report.classes)
    console.print(
        f"\noverall ({classes} class{'es' if classes != 1 else ''}): feedback "
        + agreement_line(report.overall),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if report.overall_judge is not None:
        console.print(
            "overall: judge " + agreement_line(report.overall_judge),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    for note in report.notes:
        err_console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
