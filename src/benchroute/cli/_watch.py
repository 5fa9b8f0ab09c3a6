"""``benchroute watch``: run suites when a model's version changes and on cron schedules.

Long-running: one timestamped line per event (fit for a terminal and a CI log alike). The
first SIGINT / SIGTERM stops after the step in progress; a second one interrupts a run
(resumable with ``benchroute run --resume RUN``). Exit codes: 0 stopped or bounded by
``--once`` / ``--max-runs``, 2 bad usage or configuration, 130 interrupted mid-run.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .._errors import BenchrouteError, ConfigError
from ._app import ConfigOption, DbOption, _open, app, err_console, fail, load_suites_checked


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _suite_files(project: Any, paths: list[str], where: str) -> list[Path]:
    files: list[Path] = []
    for index, name in enumerate(paths):
        path = Path(name)
        if not path.is_absolute():
            path = project.root / path
        if not path.is_file():
            raise ConfigError(
                f"benchroute.yaml: {where}[{index}]: no suite file {str(path)!r}",
                hint="suite paths are relative to the project file",
            )
        files.append(path)
    return files


def _check_models(project: Any, names: list[str] | None, where: str) -> None:
    from .._errors import did_you_mean

    for index, name in enumerate(names or []):
        if name not in project.models:
            raise ConfigError(
                f"benchroute.yaml: {where}[{index}]: unknown model {name!r}"
                f"{did_you_mean(name, list(project.models))}",
                hint="name a model defined under 'models:'",
            )


def build_watcher(
    project: Any, store: Any, *, interval: float | None, once: bool, max_runs: int | None
) -> Any:
    """The :class:`~benchroute.monitor.Watcher` the project file describes."""
    from ..monitor import AlertSender, Schedule, Watcher

    spec = project.watch
    _check_models(project, spec.models, "watch.models")
    watch_suites = load_suites_checked(_suite_files(project, spec.suites, "watch.suites"), project)
    schedules = []
    if project.schedule:
        try:
            import croniter  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
        except ImportError:
            raise BenchrouteError(
                "schedule: needs croniter, which is not installed",
                hint="pip install 'benchroute[monitor]'",
            ) from None
    for name, sched in project.schedule.items():
        _check_models(project, sched.models, f"schedule.{name}.models")
        files = _suite_files(project, sched.suites, f"schedule.{name}.suites")
        schedules.append(Schedule(name, sched.cron, load_suites_checked(files, project), sched.models))
    models = spec.models if spec.models is not None else [n for n, m in project.models.items() if m.base_url]
    if not watch_suites and not schedules:
        raise BenchrouteError(
            "nothing to watch: the project file has no watch.suites and no schedule:",
            hint="add e.g. `watch: {suites: [suites/safety.yaml]}` to benchroute.yaml (see docs/watch.md)",
        )
    alerts = AlertSender(project.alerts.webhooks, store, log=_emit) if project.alerts.webhooks else None
    return Watcher(
        project,
        store,
        suites=watch_suites,
        models=models if watch_suites else [],
        schedules=schedules,
        interval_s=interval if interval is not None else spec.interval_s,
        probe=spec.probe,
        alerts=alerts,
        max_runs=max_runs,
        once=once,
        emit=_emit,
    )


async def _main(watcher: Any) -> Any:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    signals = 0

    def on_signal(signum: int) -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            _emit(f"{signal.Signals(signum).name}: stopping after the current step (again to interrupt now)")
            watcher.stop()
        elif task is not None:
            task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        return await watcher.run()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


@app.command()
def watch(
    once: Annotated[bool, typer.Option("--once", help="Poll once (and run what is due), then exit.")] = False,
    max_runs: Annotated[
        int | None,
        typer.Option("--max-runs", min=1, help="Exit after this many triggered or scheduled runs."),
    ] = None,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval", min=0.01, metavar="S", help="Seconds between polls (default: watch.interval_s)."
        ),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Run the watch suites when a model's version changes, and the cron schedules; check drift.

    Polls each endpoint's /v1/models and the model / system_fingerprint of a one-token probe.
    Triggered and scheduled runs never use the response cache. See docs/watch.md.
    """
    from .._eventloop import run as run_loop

    try:
        project, store = _open(config, db)
        watcher = build_watcher(project, store, interval=interval, once=once, max_runs=max_runs)
        names = ", ".join(watcher.models) or "none"
        _emit(
            f"watching {names}; {len(watcher.schedules)} schedule(s); "
            f"every {watcher.interval_s:g} s{' (once)' if once else ''}"
        )
        try:
            result = run_loop(_main(watcher))
        except (KeyboardInterrupt, asyncio.CancelledError):
            err_console.print(
                "[yellow]interrupted[/]: results so far are stored; finish a cut-short run with "
                "[bold]benchroute run --resume RUN_ID[/] (see `benchroute runs list`)"
            )
            raise typer.Exit(130) from None
    except BenchrouteError as exc:
        fail(exc)
        return
    _emit(f"watch stopped: {len(result.runs)} run(s), {len(result.changes)} version change(s)")
