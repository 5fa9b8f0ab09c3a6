"""Off a terminal (CI logs, pipes) a run prints a progress line at least every 10 s and at
every tenth of the run, so a long run is never silent."""

from __future__ import annotations

import io

from rich.console import Console

from benchroute.cli._progress import ProgressDisplay
from benchroute.runner import Progress
from benchroute.store import RunRecord


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record() -> RunRecord:
    return RunRecord(id="abc123", suites=["s"], config={}, package_version="0", prices={}, started_at="")


def _display() -> tuple[ProgressDisplay, io.StringIO, Clock]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    clock = Clock()
    return ProgressDisplay(console, interval_s=10.0, clock=clock), out, clock


def test_non_tty_prints_periodic_lines_with_eta() -> None:
    display, out, clock = _display()
    progress = Progress(total=1000)
    display.start(_record(), progress)
    # Slow progress: 1 result every 2 s for 30 s stays under 10% but passes 10 s three times.
    for _ in range(15):
        clock.now += 2
        progress.done += 1
        display.update(progress)
    lines = out.getvalue().splitlines()
    assert lines[0] == "run abc123: 1000 request(s)"
    periodic = lines[1:]
    assert len(periodic) == 3
    assert periodic[0].startswith("run abc123: 5/1000 (0%) done") and "10s elapsed" in periodic[0]
    assert "ETA 33m10s" in periodic[0]  # 5 done in 10 s: 995 left at 2 s each


def test_non_tty_prints_every_tenth_of_a_fast_run_and_a_closing_line() -> None:
    display, out, clock = _display()
    progress = Progress(total=100)
    display.start(_record(), progress)
    for i in range(100):
        clock.now += 0.01
        progress.done += 1
        progress.errors = 1 if i >= 50 else 0
        progress.cost_usd += 0.001
        display.update(progress)
    display.stop()
    lines = out.getvalue().splitlines()[1:]
    assert [line.split(":", 1)[1].split(" done")[0].strip() for line in lines[:-1]] == [
        f"{n}/100 ({n}%)" for n in range(10, 100, 10)
    ]
    assert "1 error(s)" in lines[5] and "$0.0600" in lines[5] and "ETA" in lines[5]
    assert lines[-1].startswith("run abc123: 100/100 (100%) done") and "ETA" not in lines[-1]


def test_resumed_run_estimates_from_its_own_pace() -> None:
    display, out, clock = _display()
    progress = Progress(total=100, done=50)
    display.start(_record(), progress)
    clock.now += 10
    progress.done = 60
    display.update(progress)
    line = out.getvalue().splitlines()[-1]
    assert "60/100 (60%)" in line and "ETA 40s" in line  # 10 in 10 s; 40 left


def test_terminal_shows_a_bar_not_lines() -> None:
    out = io.StringIO()
    display = ProgressDisplay(Console(file=out, force_terminal=True, width=120))
    progress = Progress(total=4)
    display.start(_record(), progress)
    progress.done = 4
    display.update(progress)
    display.stop()
    assert "request(s)" not in out.getvalue() and "4/4" in out.getvalue()


def test_progress_never_shows_unknown_or_tiny_costs_as_zero() -> None:
    display, out, clock = _display()
    progress = Progress(total=4)
    display.start(_record(), progress)
    clock.now += 11
    progress.done, progress.cost_usd, progress.unpriced = 2, 1.2e-05, 1
    display.update(progress)
    assert "$1.20e-05 + 1 unpriced" in out.getvalue()
    assert "$0.0000" not in out.getvalue()
