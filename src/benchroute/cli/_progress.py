"""A progress bar with ETA, running cost and error count (only on a terminal)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from ..runner import Progress as RunProgress
from ..store import RunRecord


class ProgressDisplay:
    def __init__(self, console: Console) -> None:
        self._console = console
        self._bar: Any = None
        self._task: Any = None
        self.run_id: str | None = None

    def start(self, record: RunRecord, progress: RunProgress) -> None:
        self.run_id = record.id
        if not self._console.is_terminal:
            self._console.print(f"run {record.id}: {progress.total} request(s)", highlight=False)
            return
        # Imported here: off a terminal (CI, pipes) there is no bar and no need to load it.
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn(f"run {record.id}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[cost]}"),
            TextColumn("{task.fields[errors]}"),
            console=self._console,
            refresh_per_second=4,
        )
        self._bar.start()
        self._task = self._bar.add_task(
            "run", total=progress.total, completed=progress.done, cost="$0", errors=""
        )

    def update(self, progress: RunProgress) -> None:
        if self._bar is None:
            return
        self._bar.update(
            self._task,
            completed=progress.done,
            cost=f"${progress.cost_usd:.4f}",
            errors=" ".join(
                part
                for part in (
                    f"[red]{progress.errors} errors[/]" if progress.errors else "",
                    f"[yellow]{progress.skipped} not sent[/]" if progress.skipped else "",
                )
                if part
            ),
        )

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
