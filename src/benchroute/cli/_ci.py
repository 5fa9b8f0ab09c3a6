"""``benchroute ci``: run suites for a pipeline (trigger ``ci``, the branch from the CI's
environment), write JUnit XML and a Markdown summary, and test drift against the main
branch's last run. See docs/ci.md.

Exit codes: 0 ran, gates hold, no drift beyond tolerance; 1 a gate failed or a drift was
flagged; 2 bad usage or configuration; 3 the run could not complete; 130 interrupted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from .._errors import BenchrouteError
from ._app import (
    ConfigOption,
    DbOption,
    _check_gate,
    _expand_suites,
    _open,
    app,
    check_model_option,
    console,
    err_console,
    fail,
    load_suites_checked,
    prepare_output,
    write_output,
)

if TYPE_CHECKING:
    from ..config import ProjectConfig
    from ..store import Store

# A pipeline started by the CI's own scheduler is recorded as a scheduled run.
SCHEDULED_ENV = {"GITHUB_EVENT_NAME": "schedule", "CI_PIPELINE_SOURCE": "schedule",
                 "BUILDKITE_SOURCE": "schedule"}  # fmt: skip


def ci_trigger(env: dict[str, str] | None = None) -> str:
    """``schedule`` when the CI's scheduler started the pipeline, else ``ci``."""
    env = dict(os.environ) if env is None else env
    return "schedule" if any(env.get(k) == v for k, v in SCHEDULED_ENV.items()) else "ci"


@app.command()
def ci(
    suites: Annotated[list[Path], typer.Argument(help="Suite files, or directories of them.")],
    models: Annotated[str | None, typer.Option("--models", "-m", help="Comma-separated models.")] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Branch being built (default: from CI variables).")
    ] = None,
    main_branch: Annotated[
        str, typer.Option("--main-branch", help="Drift baseline: this branch's last run.")
    ] = "main",
    junit: Annotated[Path, typer.Option("--junit", help="JUnit XML output.")] = Path("benchroute-junit.xml"),
    summary: Annotated[
        Path | None,
        typer.Option(
            "--summary", help="Markdown summary (default: $GITHUB_STEP_SUMMARY or benchroute-summary.md)."
        ),
    ] = None,
    no_drift: Annotated[bool, typer.Option("--no-drift", help="Skip the drift check.")] = False,
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-j", min=1)] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Run suites for a CI pipeline: JUnit, Markdown summary, gates, drift against main."""
    from .._eventloop import run as run_loop
    from ..reports import render_junit, render_markdown
    from ..runner import Runner, RunOptions, detect_branch
    from ._progress import ProgressDisplay

    env_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    summary_path = summary or (Path(env_summary) if env_summary else Path("benchroute-summary.md"))
    try:
        prepare_output(junit, "JUnit XML")
        prepare_output(summary_path, "Markdown summary")
        files, config = _expand_suites(list(suites), config)
        project, store = _open(config, db)
        name = detect_branch(project.root, branch)
        options = RunOptions(
            concurrency=concurrency or project.concurrency,
            models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
            trigger=ci_trigger(),
            branch=name,
        )
        check_model_option(options.models, project)
        specs = load_suites_checked(files, project)
        display = ProgressDisplay(err_console)
        runner = Runner(project, store, options, on_progress=display.update, on_start=display.start)
        try:
            outcome = run_loop(runner.run(specs))
        except KeyboardInterrupt:
            display.stop()
            err_console.print(f"[yellow]interrupted[/]: resume with benchroute run --resume {display.run_id}")
            raise typer.Exit(130) from None
        finally:
            display.stop()
        record = store.get_run(outcome.run_id)
    except BenchrouteError as exc:
        fail(exc)
        return
    for message in outcome.errors[:10]:
        err_console.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    markdown = render_markdown(record, outcome.results)
    drift_flagged = False
    if not no_drift and outcome.status == "completed":
        section, drift_flagged = _drift_section(
            store, outcome.run_id, [s.name for s in specs], main_branch, project
        )
        markdown += "\n" + section
    try:
        write_output(junit, render_junit(record, outcome.results), "JUnit XML")
        if env_summary and summary is None:  # GitHub appends step summaries
            with open(summary_path, "a", encoding="utf-8") as handle:
                handle.write(markdown)
        else:
            write_output(summary_path, markdown, "Markdown summary")
    except (BenchrouteError, OSError) as exc:
        fail(exc if isinstance(exc, BenchrouteError) else BenchrouteError(f"{summary_path}: {exc}"))
        return
    console.print(f"run {outcome.run_id} ({outcome.status}) on branch {name or 'unknown'}; "
                  f"JUnit: {junit}; summary: {summary_path}", highlight=False)  # fmt: skip
    gate_passed = _check_gate(record, store, outcome.results)
    if outcome.status != "completed":
        raise typer.Exit(3)
    if not gate_passed or drift_flagged:
        raise typer.Exit(1)


def _drift_section(
    store: Store, run_id: str, suites: list[str], main_branch: str, project: ProjectConfig
) -> tuple[str, bool]:
    """Markdown of the drift of each suite's new run against ``main_branch``'s last run."""
    from ..analysis import drift_for_suite
    from ..reports import drift_markdown, drift_summary

    parts = ["## Drift against " + main_branch, ""]
    flagged = False
    for suite in suites:
        on_main = [r for r in store.latest_runs(suite, n=2, branch=main_branch) if r.id != run_id]
        if not on_main:
            note = f"not tested: branch {main_branch!r} has no finished run of this suite yet"
            parts.append(f"- {suite}: {note}")
            err_console.print(f"drift {suite}: {note}", highlight=False, markup=False)
            continue
        try:
            report = drift_for_suite(
                store, suite, baseline="previous", branch=main_branch, settings=project.drift
            )
        except BenchrouteError as exc:
            parts.append(f"- {suite}: not tested ({exc})")
            err_console.print(f"drift {suite}: not tested ({escape(str(exc))})", highlight=False)
            continue
        flagged = flagged or bool(report.flagged())
        parts.append(drift_markdown(report))
        console.print(
            f"drift {suite} against {main_branch} run {on_main[0].id}: {drift_summary(report)}",
            highlight=False,
            markup=False,
        )
    return "\n".join(parts) + "\n", flagged
