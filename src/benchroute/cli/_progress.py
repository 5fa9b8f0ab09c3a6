"""Progress of a run: a bar with ETA, running cost and error count on a terminal; off a
terminal (CI logs, pipes), one plain line every ``interval_s`` seconds or every tenth of the
run, whichever comes first, so a long run in a log is never silent for minutes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from ..runner import Progress as RunProgress
from ..store import RunRecord

LOG_INTERVAL_S = 10.0
LOG_STEPS = 10  # a line at every 10% of the run, too


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class ProgressDisplay:
    """Shows a run's progress on ``console``: a live bar on a terminal, log lines elsewhere."""

    def __init__(
        self,
        console: Console,
        *,
        interval_s: float = LOG_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._console = console
        self._bar: Any = None
        self._task: Any = None
        self._interval_s = interval_s
        self._clock = clock
        self._started = 0.0
        self._last_line = 0.0
        self._first_done = 0
        self._next_step = 1
        self._last: RunProgress | None = None
        self.run_id: str | None = None

    def start(self, record: RunRecord, progress: RunProgress) -> None:
        self.run_id = record.id
        if not self._console.is_terminal:
            self._started = self._last_line = self._clock()
            self._first_done = progress.done
            self._next_step = self._step_of(progress) + 1
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
            self._log(progress)
            return
        self._bar.update(
            self._task,
            completed=progress.done,
            cost=cost_text(progress),
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
        elif self._last is not None and self._last.done > self._first_done:
            last, self._last = self._last, None
            self._console.print(self.line(last, final=True), highlight=False)

    # off a terminal ---------------------------------------------------------------------
    def _step_of(self, progress: RunProgress) -> int:
        return progress.done * LOG_STEPS // progress.total if progress.total else 0

    def _log(self, progress: RunProgress) -> None:
        if self.run_id is None:
            return
        self._last = progress
        now = self._clock()
        step = self._step_of(progress)
        if now - self._last_line < self._interval_s and step < self._next_step:
            return
        if progress.done >= progress.total:
            return  # the closing line says it (stop)
        self._last_line = now
        self._next_step = step + 1
        self._console.print(self.line(progress), highlight=False)

    def line(self, progress: RunProgress, *, final: bool = False) -> str:
        """One log line: done/total, share, errors, elapsed and the time still expected."""
        elapsed = self._clock() - self._started
        share = f" ({progress.done / progress.total:.0%})" if progress.total else ""
        parts = [f"run {self.run_id}: {progress.done}/{progress.total}{share} done"]
        if progress.errors:
            parts.append(f"{progress.errors} error(s)")
        if progress.skipped:
            parts.append(f"{progress.skipped} not sent")
        if progress.cost_usd or progress.unpriced:
            parts.append(cost_text(progress))
        parts.append(f"{_duration(elapsed)} elapsed")
        finished_here = progress.done - self._first_done
        if not final and finished_here > 0 and progress.total > progress.done:
            remaining = elapsed / finished_here * (progress.total - progress.done)
            parts.append(f"ETA {_duration(remaining)}")
        return " · ".join(parts)


def cost_text(progress: RunProgress) -> str:
    """What the run has cost so far: small sums keep their digits (a local model's $1.2e-05 is
    not "$0.0000"), and results of unknown cost are counted, never added as $0."""
    cost = progress.cost_usd
    text = "$0" if cost == 0 else f"${cost:.4f}" if cost >= 0.01 else f"${cost:.2e}"
    return f"{text} + {progress.unpriced} unpriced" if progress.unpriced else text
