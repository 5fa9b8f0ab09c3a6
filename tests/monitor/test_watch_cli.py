"""``benchroute watch`` as a user runs it: a real subprocess against the fake server, whose
model version changes mid-test."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from benchroute.testing import FakeServer
from tests.conftest import BENCHROUTE, run_cli, write_project, write_suite

CASES: list[dict[str, object]] = [
    {"id": f"c{i}", "input": f"question {i}", "expected": f"answer {i}"} for i in range(6)
]
V1 = {f"question {i}": f"answer {i}" for i in range(6)}
V2 = {f"question {i}": (f"answer {i}" if i < 3 else "I can't help with that.") for i in range(6)}


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


class _Lines:
    """Collects a process's stdout lines in a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        stream = process.stdout
        self._thread = threading.Thread(
            target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True
        )
        self._thread.start()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in list(self.lines)):
                return
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r} within {timeout} s; got {self.lines}")


def _setup(tmp_path: Path, fake: FakeServer) -> tuple[Path, Path]:
    fake.add_version("m", "v1", served_model="m-2026-01", answers=V1)
    fake.add_version("m", "v2", served_model="m-2026-06", answers=V2)
    suite = write_suite(tmp_path, "safety", CASES)
    project = write_project(
        tmp_path,
        {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}},
        watch={"suites": [suite.name], "interval_s": 0.2},
    )
    return suite, project


def _watch_through_a_version_change(tmp_path: Path, fake: FakeServer) -> tuple[Path, list[str], str]:
    suite, project = _setup(tmp_path, fake)
    first = run_cli("run", str(suite), "--config", str(project))  # the baseline run, at v1 (cached)
    assert first.returncode == 0, first.stderr
    process = subprocess.Popen(
        [*BENCHROUTE, "watch", "--max-runs", "1", "--interval", "0.2", "--config", str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = _Lines(process)
    try:
        lines.wait_for("(baseline")  # from the stored run, or from the first poll
        time.sleep(0.5)  # a few more polls at v1: no change, no run
        completions_before = sum(1 for r in fake.requests if r.path.endswith("/chat/completions"))
        fake.use_version("m", "v2")
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stderr is not None
    stderr = process.stderr.read()
    time.sleep(0.1)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and not any("Traceback" in line for line in lines.lines)
    completions = sum(1 for r in fake.requests if r.path.endswith("/chat/completions")) - completions_before
    # Every case was sent again (no response cache), plus the probes of the polls after the change.
    assert completions >= len(CASES)
    return project, lines.lines, stderr


def test_version_change_triggers_exactly_one_uncached_run(tmp_path: Path, fake: FakeServer) -> None:
    _project, lines, _ = _watch_through_a_version_change(tmp_path, fake)
    text = "".join(lines)
    assert "m: version m-2026-01/fp_v1 (baseline" in text
    assert "m: version change m-2026-01/fp_v1 → m-2026-06/fp_v2" in text
    assert sum("run (version-change)" in line for line in lines) == 1
    assert "watch stopped: 1 run(s), 1 version change(s)" in text
    db = tmp_path / "store.db"
    runs = _rows(db, "select id, status from runs order by started_at")
    assert len(runs) == 2 and runs[1][1] == "completed"
    latest = runs[1][0]
    served = _rows(
        db, f"select distinct served_model, system_fingerprint, cached from results where run_id = '{latest}'"
    )
    assert served == [("m-2026-06", "fp_v2", 0)]
    columns = {row[1] for row in _rows(db, "pragma table_info(runs)")}
    if "trigger" in columns:  # the store records run triggers (m004)
        assert _rows(db, f"select trigger from runs where id = '{latest}'") == [("version-change",)]


def test_drift_after_the_triggered_run_names_the_new_version(tmp_path: Path, fake: FakeServer) -> None:
    project, lines, _ = _watch_through_a_version_change(tmp_path, fake)
    assert any("model version m-2026-06" in line for line in lines), lines
    report = run_cli("drift", "safety", "--model", "m", "--format", "json", "--config", str(project))
    assert report.returncode in (0, 1), report.stderr
    data = json.loads(report.stdout)
    assert any(change["after"].startswith("m-2026-06") for change in data["version_changes"]), data


def test_watch_without_anything_to_watch_is_one_line(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    proc = run_cli("watch", "--once", "--config", str(project))
    assert proc.returncode == 2
    assert "nothing to watch" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_cron_names_the_line(tmp_path: Path, fake: FakeServer) -> None:
    suite = write_suite(tmp_path, "s", CASES)
    project = write_project(
        tmp_path,
        {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}},
        schedule={"nightly": {"cron": "0 25 * * *", "suites": [suite.name]}},
    )
    proc = run_cli("watch", "--once", "--config", str(project))
    assert proc.returncode == 2
    assert "benchroute.yaml:" in proc.stderr and "schedule.nightly.cron" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_watch_cleanly(tmp_path: Path, fake: FakeServer, signum: int) -> None:
    _suite, project = _setup(tmp_path, fake)
    process = subprocess.Popen(
        [*BENCHROUTE, "watch", "--interval", "30", "--config", str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = _Lines(process)
    try:
        lines.wait_for("(baseline)")
        process.send_signal(signum)
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stderr is not None
    stderr = process.stderr.read()
    time.sleep(0.1)
    text = "".join(lines.lines)
    assert process.returncode == 0, stderr
    assert f"{signal.Signals(signum).name}: stopping" in text and "watch stopped: 0 run(s)" in text
    assert "Traceback" not in stderr + text


def test_a_second_signal_interrupts_a_run_in_progress(tmp_path: Path, fake: FakeServer) -> None:
    _suite, project = _setup(tmp_path, fake)
    process = subprocess.Popen(
        [*BENCHROUTE, "watch", "--interval", "0.2", "--config", str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = _Lines(process)
    try:
        lines.wait_for("(baseline)")
        fake.latency = 1.5  # the triggered run's requests take a while
        fake.use_version("m", "v2")
        lines.wait_for("run (version-change)")
        process.send_signal(signal.SIGTERM)
        lines.wait_for("SIGTERM: stopping")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr + "".join(lines.lines)
