"""``benchroute run`` on stress suites, as a user runs it: a real subprocess, a real server."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from benchroute.testing import FakeServer
from tests.conftest import BENCHROUTE, run_cli, write_project


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _suite(folder: Path, profile: dict[str, Any], **extra: Any) -> Path:
    data = {
        "name": "load",
        "tier": "stress",
        "dataset": {"cases": [{"id": "a", "input": "hello"}]},
        "load": {"profile": profile, "window_s": 0.5, **extra.pop("load", {})},
        **extra,
    }
    path = folder / "load.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_run_prints_load_table_and_series_and_runs_show_repeats_them(tmp_path: Path) -> None:
    with FakeServer(latency=0.01) as fake:
        fake.rate_limit(30, window_s=0.2)
        project = write_project(
            tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}}
        )
        suite = _suite(
            tmp_path,
            {"kind": "step", "start_rps": 10, "step_rps": 30, "step_duration_s": 1, "steps": 2},
            slo={"p95_ms": 2000, "rate_limited_rate": 0.05},
        )
        proc = run_cli("run", str(suite), "--config", str(project))
    # A failed SLO fails the suite: the run's gate exits 1 and names it.
    assert proc.returncode == 1, proc.stderr
    assert "rate limited" in proc.stderr
    out = proc.stdout
    assert "Load · run" in out and "offered rps" in out and "achieved rps" in out
    assert "FAIL: rate limited" in out  # the 429 SLO failed: 40 rps offered against 30
    assert "saturated at" in out and "per window" in out
    ((run_id, status),) = _rows(tmp_path / "store.db", "select id, status from runs")
    assert status == "completed"
    assert _rows(tmp_path / "store.db", "select count(*) from load_samples")[0][0] == 50
    shown = run_cli("runs", "show", run_id, "--config", str(project))
    assert shown.returncode == 0, shown.stderr
    assert "Load · run" in shown.stdout and "saturated at" in shown.stdout and "offered rps" in shown.stdout


def test_bad_profile_is_one_line_with_file_and_field(tmp_path: Path) -> None:
    project = write_project(
        tmp_path, {"m": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}}
    )
    suite = _suite(tmp_path, {"kind": "ramp", "start_rps": 100, "end_rps": 10, "duration_s": 5})
    proc = run_cli("run", str(suite), "--config", str(project))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{suite}:" in proc.stderr and "load.profile.ramp.end_rps" in proc.stderr
    assert "must be above start_rps" in proc.stderr


def test_sigint_stops_within_two_seconds_exits_130_and_keeps_samples(tmp_path: Path) -> None:
    with FakeServer(latency=0.02) as fake:
        project = write_project(
            tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}}
        )
        suite = _suite(tmp_path, {"kind": "constant_rate", "rps": 200, "duration_s": 120})
        db = tmp_path / "store.db"
        process = subprocess.Popen(
            [*BENCHROUTE, "run", str(suite), "--config", str(project)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        stored = 0
        while time.monotonic() < deadline and stored < 200:
            time.sleep(0.2)
            try:
                stored = _rows(db, "select count(*) from load_samples")[0][0] if db.exists() else 0
            except sqlite3.OperationalError:
                continue
        assert stored >= 200, "the load did not start within 60 s"
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        try:
            _, err = process.communicate(timeout=10)
        finally:
            process.kill()
        took = time.monotonic() - interrupted
        sent = fake.stats()["requests"]
    assert process.returncode == 130, err
    assert took < 2.0, took
    assert "Traceback" not in err
    ((status,),) = _rows(db, "select status from runs")
    assert status == "interrupted"
    kept = _rows(db, "select count(*), sum(outcome = 'ok') from load_samples")[0]
    # What was measured is stored: every answered request, nothing invented.
    assert kept[0] >= stored and kept[1] == kept[0] and sent - 20 <= kept[0] <= sent
    ((details,),) = _rows(db, "select details from results where case_id = 'load'")
    assert '"requests": ' in details and '"windows"' in details
