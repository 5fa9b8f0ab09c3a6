"""``benchroute history --last N / --all``: the table shows each model's newest N runs (the
``*`` of the first row shown still compares with the run before it), the chart and CSV the
whole series."""

from __future__ import annotations

from pathlib import Path

from benchroute.testing import FakeServer
from tests.cli.test_history_series_cli import _history_of_a_version_change
from tests.conftest import run_cli


def test_history_last_shows_the_newest_runs_and_all_shows_every_run(tmp_path: Path, fake: FakeServer) -> None:
    project = _history_of_a_version_change(tmp_path, fake, runs_per_version=2)
    env = {"COLUMNS": "100"}
    proc = run_cli("history", "qa", "--last", "2", "--config", str(project), env=env)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 2, proc.stdout
    assert "m-2026-06* " in rows[0] and "m-2026-06 " in rows[1]  # the change is the first shown
    assert "table: 2 of 4 rows (each model's newest 2 runs)" in proc.stderr
    chart = [line for line in proc.stdout.splitlines() if line.startswith("m pass_rate ")]
    assert len(chart) == 1 and chart[0].endswith("100.0% -> 50.0%")  # chart: the whole series

    proc = run_cli("history", "qa", "--last", "1", "--config", str(project), env=env)
    rows = [line for line in proc.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 1 and "m-2026-06 " in rows[0] and "*" not in rows[0], proc.stdout

    proc = run_cli("history", "qa", "--all", "--last", "1", "--config", str(project), env=env)
    rows = [line for line in proc.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 4 and "table:" not in proc.stderr, proc.stdout

    proc = run_cli("history", "qa", "--last", "1", "--format", "csv", "--metric", "pass_rate",
                   "--config", str(project))  # fmt: skip
    assert len(proc.stdout.strip().splitlines()) == 1 + 4  # header + every run

    proc = run_cli("history", "qa", "--last", "0", "--config", str(project))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
