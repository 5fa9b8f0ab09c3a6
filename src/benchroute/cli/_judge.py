"""``benchroute judge calibrate``: how well a judge agrees with a labelled calibration set;
and the warning a run prints when a suite judges with the embedded 135M model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .._errors import BenchrouteError, RunError
from ._app import ConfigOption, app, console, fail

judge_app = typer.Typer(help="Judges: how far their verdicts can be trusted.", no_args_is_help=True)
app.add_typer(judge_app, name="judge")


def warn_embedded_judge(project: Any, suites: list[Any], out: Console) -> None:
    """Say, before the first request, which suites judge with the embedded 135M model."""
    from ..scorers import EMBEDDED_JUDGE_WARNING, embedded_judge_suites, import_plugins

    import_plugins(project.imports, project.root)
    names = embedded_judge_suites(suites, project.models, project.judge)
    if names:
        out.print(
            f"[yellow]warning:[/] suite {escape(', '.join(names))}: {escape(EMBEDDED_JUDGE_WARNING)}",
            highlight=False,
            soft_wrap=True,
        )


def _ratio(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


@judge_app.command("calibrate")
def judge_calibrate(
    calibration_set: Annotated[
        Path,
        typer.Option("--set", help="Labelled calibration set (JSONL: question, criteria, answer, label)."),
    ],
    judge: Annotated[
        str | None, typer.Option("--judge", help="Judge model (default: judge: in benchroute.yaml).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Grade a labelled calibration set with a judge (the rubric scorer, defaults) and report
    its agreement with the labels: accuracy, Cohen's kappa, confusion counts, errors apart."""
    from .._eventloop import run as run_loop
    from ..config import load_project
    from ..scorers import ScoringContext, calibrate_judge, load_calibration_set

    try:
        project = load_project(config)
        items = load_calibration_set(calibration_set)
        context = ScoringContext(project.models, judge_model=judge or project.judge)

        async def go() -> Any:
            try:
                return await calibrate_judge(items, context, judge_model=judge)
            finally:
                await context.aclose()

        report = run_loop(go())
    except BenchrouteError as exc:
        fail(exc)
        return
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        _print_report(report, calibration_set)
    if report.judged == 0:  # no verdict at all: a report of nothing must not pass in CI
        fail(
            RunError(
                f"no item of {report.items} was judged ({len(report.errors)} errors)",
                hint="check the judge model (--judge, or judge: in benchroute.yaml)",
            )
        )


def _print_report(report: Any, calibration_set: Path) -> None:
    table = Table(title=f"Judge calibration · {report.judge} · {calibration_set.name}", title_justify="left")
    for column in ("", "judged good", "judged bad"):
        table.add_column(column, justify="right")
    table.add_row("labelled good", str(report.true_good), str(report.false_bad))
    table.add_row("labelled bad", str(report.false_good), str(report.true_bad))
    console.print(table)
    console.print(
        f"items {report.items} · judged {report.judged} · errors {len(report.errors)} · "
        f"accuracy {_ratio(report.accuracy)} · Cohen's kappa {_ratio(report.kappa)} "
        f"(0 = chance, 1 = perfect; chance agreement {_ratio(report.chance_agreement)})",
        highlight=False,
    )
    for item, why in report.errors[:10]:
        console.print(f"[red]error:[/] {escape(item)}: {escape(why)}", highlight=False, soft_wrap=True)
    if len(report.errors) > 10:
        console.print(f"… and {len(report.errors) - 10} more errors", highlight=False)
