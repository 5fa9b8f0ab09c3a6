"""``benchroute ci``: run suites for a pipeline (trigger ``ci``, the branch from the CI's
environment), write JUnit XML and a Markdown summary, and test drift against the main
branch's last run. See docs/ci.md.

Exit codes: 0 ran, gates hold, no drift beyond tolerance; 1 a gate failed or a drift was
flagged; 2 bad usage or configuration; 3 the run could not complete; 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated, Any

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

# Where CI systems name the branch being built (a pull request's source branch first).
BRANCH_ENV = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BUILDKITE_BRANCH",
              "CIRCLE_BRANCH", "GIT_BRANCH", "BRANCH_NAME")  # fmt: skip


def ci_branch(explicit: str | None, env: dict[str, str] | None = None) -> str | None:
    """``--branch``, else the first non-empty CI variable of BRANCH_ENV (``origin/`` cut)."""
    if explicit:
        return explicit
    env = dict(os.environ) if env is None else env
    for name in BRANCH_ENV:
        value = env.get(name, "").strip()
        if value:
            return value.removeprefix("origin/")
    return None


def _options(**fields: Any) -> Any:
    from ..runner import RunOptions

    known = (
        {f.name for f in dataclasses.fields(RunOptions)} if dataclasses.is_dataclass(RunOptions) else set()
    )
    if not known:
        known = set(getattr(RunOptions, "model_fields", {}))
    return RunOptions(**{k: v for k, v in fields.items() if k in known or k not in ("trigger", "branch")})


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
    from ..runner import Runner
    from ._progress import ProgressDisplay

    env_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    summary_path = summary or (Path(env_summary) if env_summary else Path("benchroute-summary.md"))
    try:
        prepare_output(junit, "JUnit XML")
        prepare_output(summary_path, "Markdown summary")
        files, config = _expand_suites(list(suites), config)
        project, store = _open(config, db)
        name = ci_branch(branch)
        options = _options(
            concurrency=concurrency or project.concurrency,
            models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
            trigger="ci",
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
        section, drift_flagged = _drift_section(store, [s.name for s in specs], main_branch, project)
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


def _drift_section(store: Any, suites: list[str], main_branch: str, project: Any) -> tuple[str, bool]:
    """Markdown of the drift of each suite's latest run against ``main_branch``'s last run."""
    from ..analysis import drift_for_suite
    from ..reports import drift_markdown, drift_summary

    parts = ["## Drift against " + main_branch, ""]
    flagged = False
    if not (hasattr(store, "series") and hasattr(store, "latest_runs")):
        note = "not tested: this store has no time-series query API (upgrade benchroute)"
        err_console.print(f"drift: {note}", highlight=False)
        return "\n".join([*parts, f"- {note}"]) + "\n", False
    for suite in suites:
        try:
            report = drift_for_suite(
                store, suite, baseline="previous", branch=main_branch, settings=project.drift
            )
        except BenchrouteError as exc:  # e.g. main has no run of this suite yet
            parts.append(f"- {suite}: not tested ({exc})")
            err_console.print(f"drift {suite}: not tested ({escape(str(exc))})", highlight=False)
            continue
        flagged = flagged or bool(report.flagged())
        parts.append(drift_markdown(report))
        console.print(f"drift {suite}: {drift_summary(report)}", highlight=False, markup=False)
    return "\n".join(parts) + "\n", flagged
