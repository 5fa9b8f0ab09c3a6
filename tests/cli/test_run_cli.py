"""The ``benchroute`` command as a user runs it: a real subprocess against the fake server."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from benchroute.testing import FakeServer
from tests.conftest import BENCHROUTE, run_cli, write_project, write_suite

KEY = "sk-live-0123456789abcdefSECRET"


def _cases(n: int) -> list[dict[str, object]]:
    return [{"id": f"c{i}", "input": f"answer {i}", "expected": f"answer {i}"} for i in range(n)]


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _start_and_wait(suite: Path, project: Path, db: Path, min_results: int) -> subprocess.Popen[str]:
    """Start a run in the background and return once it has stored ``min_results``."""
    process = subprocess.Popen(
        [*BENCHROUTE, "run", str(suite), "--config", str(project), "-j", "4", "--no-cache"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            if db.exists() and _rows(db, "select count(*) from results")[0][0] >= min_results:  # type: ignore[operator]
                return process
        except sqlite3.OperationalError:
            continue
    process.kill()
    raise AssertionError(f"the run stored fewer than {min_results} results within 60 s")


def _no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


def test_run_prints_leaderboard_and_summary(tmp_path: Path, fake: FakeServer) -> None:
    fake.script("m", ["answer 0", "wrong", "answer 2", "answer 3"])
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", _cases(4))
    summary = tmp_path / "summary.json"
    proc = run_cli("run", str(suite), "--config", str(project), "-j", "1", "--summary-json", str(summary))
    assert proc.returncode == 0, proc.stderr
    assert "Leaderboard" in proc.stdout and "75.0%" in proc.stdout
    data = json.loads(summary.read_text())
    assert data["models"][0]["passed"] == 3 and data["models"][0]["cases"] == 4
    listed = run_cli("runs", "list", "--config", str(project))
    assert data["run_id"] in listed.stdout
    shown = run_cli("runs", "show", data["run_id"][:6], "--config", str(project), "--failures")
    assert shown.returncode == 0 and "│ c1 " in shown.stdout and "│ c0 " not in shown.stdout


def test_sigkill_then_resume_gives_exactly_one_result_per_key(tmp_path: Path) -> None:
    with FakeServer(latency=0.05) as fake:
        project = write_project(
            tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}}
        )
        suite = write_suite(tmp_path, "s", _cases(200), repeats=2)
        db = tmp_path / "store.db"
        process = _start_and_wait(suite, project, db, 150)
        process.send_signal(signal.SIGKILL)
        process.wait()
        ((run_id, status),) = _rows(db, "select id, status from runs")
        stored_before = _rows(db, "select count(*) from results")[0][0]
        assert status == "running" and 150 <= stored_before < 400  # type: ignore[operator]

        proc = run_cli("run", "--resume", str(run_id), "--config", str(project), "--no-cache")
        assert proc.returncode == 0, proc.stderr
    rows = _rows(db, "select case_id, model, repeat, count(*) from results group by 1, 2, 3")
    assert len(rows) == 400
    assert all(row[3] == 1 for row in rows)
    assert _rows(db, "select status from runs") == [("completed",)]


def test_malformed_suite_names_file_line_and_field(tmp_path: Path) -> None:
    project = write_project(
        tmp_path, {"m": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}}
    )
    suite = tmp_path / "bad.yaml"
    suite.write_text(
        "name: bad\ndataset:\n  cases:\n    - {id: a, input: x}\n"
        "scorers:\n  - name: exact\n    treshold: 0.5\n"
    )
    proc = run_cli("run", str(suite), "--config", str(project))
    assert proc.returncode == 2
    _no_traceback(proc)
    assert f"{suite}:7: scorers.0.treshold" in proc.stderr


def test_unreachable_endpoint_is_one_line_and_keeps_results(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(
        tmp_path,
        {
            "good": {"provider": "openai", "base_url": fake.base_url, "model": "g"},
            "down": {
                "provider": "openai",
                "base_url": "http://127.0.0.1:9/v1",
                "model": "d",
                "max_retries": 1,
            },
        },
    )
    suite = write_suite(tmp_path, "s", _cases(5))
    proc = run_cli("run", str(suite), "--config", str(project), "--no-cache")
    assert proc.returncode == 3
    _no_traceback(proc)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot connect" in errors[0] and "down" in errors[0]
    db = tmp_path / "store.db"
    assert _rows(db, "select model, count(*) from results group by model") == [("good", 5)]
    assert _rows(db, "select status from runs")[0][0] == "failed"


def test_wrong_key_is_one_line_and_never_shown(tmp_path: Path) -> None:
    with FakeServer(api_key="sk-the-right-key") as fake:
        project = write_project(
            tmp_path,
            {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m", "api_key_env": "BR_KEY"}},
        )
        suite = write_suite(tmp_path, "s", _cases(3))
        proc = run_cli("run", str(suite), "--config", str(project), env={"BR_KEY": KEY})
    assert proc.returncode == 3
    _no_traceback(proc)
    assert "authentication failed (HTTP 401)" in proc.stderr
    assert KEY not in proc.stderr + proc.stdout
    assert KEY.encode() not in (tmp_path / "store.db").read_bytes()


def test_missing_key_variable_says_which(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        {
            "m": {
                "provider": "openai",
                "base_url": "http://127.0.0.1:9/v1",
                "model": "m",
                "api_key_env": "BR_UNSET_KEY",
            }
        },
    )
    suite = write_suite(tmp_path, "s", _cases(1))
    env = {k: v for k, v in os.environ.items() if k != "BR_UNSET_KEY"}
    proc = subprocess.run(
        [*BENCHROUTE, "run", str(suite), "--config", str(project)], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2
    _no_traceback(proc)
    assert "BR_UNSET_KEY is not set" in proc.stderr


def test_malformed_provider_reply_is_one_line(tmp_path: Path, fake: FakeServer) -> None:
    fake.fault("garbage", count=1)
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", _cases(3))
    proc = run_cli("run", str(suite), "--config", str(project), "-j", "1", "--no-cache")
    assert proc.returncode == 0
    _no_traceback(proc)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "malformed reply" in errors[0]
    assert _rows(tmp_path / "store.db", "select count(*) from results") == [(3,)]


def test_key_appears_nowhere(tmp_path: Path) -> None:
    with FakeServer(api_key=KEY) as fake:
        fake.fault("server_error", count=1)
        project = write_project(
            tmp_path,
            {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m", "api_key_env": "BR_KEY"}},
        )
        suite = write_suite(tmp_path, "s", _cases(3))
        proc = run_cli("run", str(suite), "--config", str(project), env={"BR_KEY": KEY})
        assert proc.returncode == 0, proc.stderr
        shown = run_cli("runs", "show", "", "--config", str(project))
    outputs = proc.stdout + proc.stderr + shown.stdout + shown.stderr
    assert KEY not in outputs
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_unknown_model_in_suite(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", _cases(1), models=["nope"])
    proc = run_cli("run", str(suite), "--config", str(project))
    assert proc.returncode == 2
    _no_traceback(proc)
    assert "unknown model 'nope'" in proc.stderr and "m" in proc.stderr


def test_init_scaffolds_a_runnable_project(tmp_path: Path) -> None:
    proc = run_cli("init", str(tmp_path / "p"))
    assert proc.returncode == 0
    listed = run_cli("models", "list", "--config", str(tmp_path / "p" / "benchroute.yaml"))
    assert "smollm2" in listed.stdout and "local" in listed.stdout
    again = run_cli("init", str(tmp_path / "p"))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_ctrl_c_stops_quickly_keeps_results_and_resumes(tmp_path: Path) -> None:
    with FakeServer(latency=0.05) as fake:
        project = write_project(
            tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}}
        )
        suite = write_suite(tmp_path, "s", _cases(300))
        db = tmp_path / "store.db"
        process = _start_and_wait(suite, project, db, 40)
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=10)
        assert time.monotonic() - sent < 2.0
        assert process.returncode == 130
        assert "--resume" in stderr and "Traceback" not in stderr
        ((run_id, status),) = _rows(db, "select id, status from runs")
        assert status == "interrupted"
        kept = _rows(db, "select count(*) from results")[0][0]
        assert kept >= 40  # type: ignore[operator]
        proc = run_cli("run", "--resume", str(run_id), "--config", str(project), "--no-cache")
        assert proc.returncode == 0, proc.stderr
    rows = _rows(db, "select case_id, count(*) from results group by 1")
    assert len(rows) == 300 and all(row[1] == 1 for row in rows)


def test_pass_at_k_is_reported_for_suites_that_ask(tmp_path: Path, fake: FakeServer) -> None:
    # Case c0 passes 1 of 3 samples, c1 passes all 3: pass@1 = (1/3 + 1) / 2, pass@3 = 1.
    fake.script("m", ["answer 0", "no", "no", "answer 1", "answer 1", "answer 1"])
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", _cases(2), repeats=3, pass_at_k=[1, 3])
    proc = run_cli("run", str(suite), "--config", str(project), "-j", "1", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert "pass@1" in proc.stdout and "pass@3" in proc.stdout
    assert "66.7%" in proc.stdout and "100.0%" in proc.stdout
    bad = write_suite(tmp_path, "bad", _cases(1), repeats=2, pass_at_k=[5])
    rejected = run_cli("run", str(bad), "--config", str(project))
    assert rejected.returncode == 2 and "pass_at_k" in rejected.stderr


def test_model_output_is_printed_verbatim_not_as_emoji(tmp_path: Path, fake: FakeServer) -> None:
    fake.script("m", [":thumbs_up: wrong"])
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", _cases(1))
    summary = tmp_path / "summary.json"
    proc = run_cli("run", str(suite), "--config", str(project), "--summary-json", str(summary))
    run_id = json.loads(summary.read_text())["run_id"]
    shown = run_cli("runs", "show", run_id, "--config", str(project), "--failures")
    assert proc.returncode == 0 and shown.returncode == 0, shown.stderr
    assert ":thumbs_up: wrong" in shown.stdout and "\N{THUMBS UP SIGN}" not in shown.stdout
