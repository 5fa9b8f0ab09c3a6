"""``benchroute run`` as a CI step: gate thresholds, budgets and their exit codes, run as a
real subprocess against the fake server.

0 everything ran and every threshold holds · 1 a threshold failed · 2 usage/config error ·
3 the run did not complete (failed, or stopped by --max-cost) · 130 interrupted.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from benchroute.store import Store
from benchroute.testing import FakeServer, Reply
from tests.conftest import BENCHROUTE, run_cli, write_project, write_suite

PRICED = {"provider": "openai", "model": "gpt-4o", "price_provider": "openai"}


def _cases(n: int) -> list[dict[str, object]]:
    return [{"id": f"c{i}", "input": f"answer {i}", "expected": f"answer {i}"} for i in range(n)]


def _project(tmp_path: Path, fake: FakeServer, **extra: object) -> Path:
    return write_project(tmp_path, {"m": {**PRICED, "base_url": fake.base_url, **extra}})


def test_all_thresholds_hold_exit_0(tmp_path: Path, fake: FakeServer) -> None:
    project = _project(tmp_path, fake)
    gate = {"min_pass_rate": 1.0, "min_mean_score": 0.99, "max_error_rate": 0, "max_total_cost": 1.0}
    suite = write_suite(tmp_path, "s", _cases(4), gate={**gate, "min_metric": {"exact": 1.0}})
    proc = run_cli("run", str(suite), "--config", str(project), "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert "CI gate: passed" in proc.stdout


def test_failing_thresholds_exit_1_and_name_each(tmp_path: Path, fake: FakeServer) -> None:
    fake.script("gpt-4o", ["answer 0", "wrong", "answer 2", "answer 3"])
    project = _project(tmp_path, fake)
    gate = {
        "min_pass_rate": 0.9,
        "max_cost_per_success": 1e-9,
        "max_p95_ms": 60_000,  # holds
        "min_metric": {"exact": 0.8, "no_such_scorer": 0.5},
    }
    suite = write_suite(tmp_path, "s", _cases(4), gate=gate)
    proc = run_cli("run", str(suite), "--config", str(project), "--no-cache", "-j", "1")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "gate failed: s · m: min_pass_rate 0.75 (needs >= 0.9)" in proc.stderr
    assert "max_cost_per_success" in proc.stderr and "min_metric.exact 0.75" in proc.stderr
    assert "min_metric.no_such_scorer n/a" in proc.stderr
    assert "max_p95_ms" not in proc.stderr
    assert "4 threshold(s) failed" in proc.stdout


def test_gate_models_restricts_the_check(tmp_path: Path, fake: FakeServer) -> None:
    fake.script("bad", ["wrong"] * 3)
    project = write_project(
        tmp_path,
        {
            "good": {**PRICED, "base_url": fake.base_url},
            "bad": {"provider": "openai", "model": "bad", "base_url": fake.base_url},
        },
    )
    suite = write_suite(tmp_path, "s", _cases(3), gate={"min_pass_rate": 1.0, "models": ["good"]})
    proc = run_cli("run", str(suite), "--config", str(project), "--no-cache")
    assert proc.returncode == 0, proc.stderr


def test_quarantined_cases_are_left_out_of_the_gate(tmp_path: Path, fake: FakeServer) -> None:
    fake.script("gpt-4o", ["answer 0", "wrong", "answer 2"])
    project = _project(tmp_path, fake)
    Store(f"sqlite:///{tmp_path / 'store.db'}").quarantine("s", "c1", "flaky")
    suite = write_suite(tmp_path, "s", _cases(3), gate={"min_pass_rate": 1.0})
    proc = run_cli("run", str(suite), "--config", str(project), "--no-cache", "-j", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bad_gate_block_is_a_config_error_exit_2(tmp_path: Path, fake: FakeServer) -> None:
    project = _project(tmp_path, fake)
    suite = write_suite(tmp_path, "s", _cases(1), gate={"min_pass_rat": 0.9})
    proc = run_cli("run", str(suite), "--config", str(project))
    assert proc.returncode == 2
    assert "gate.min_pass_rat" in proc.stderr and "Traceback" not in proc.stderr
    assert fake.requests == []
    negative = run_cli("run", str(suite), "--config", str(project), "--max-cost", "-1")
    assert negative.returncode == 2


def test_run_that_cannot_complete_exits_3(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        {"down": {"provider": "openai", "model": "d", "base_url": "http://127.0.0.1:9/v1", "max_retries": 0}},
    )
    suite = write_suite(tmp_path, "s", _cases(2), gate={"min_pass_rate": 0.0})
    proc = run_cli("run", str(suite), "--config", str(project), "--no-cache")
    assert proc.returncode == 3


def test_budget_stopped_exits_3_and_resume_with_a_higher_cap_finishes(
    tmp_path: Path, fake: FakeServer
) -> None:
    fake.responder = lambda model, messages: Reply(
        text="x", usage={"prompt_tokens": 1000, "completion_tokens": 500}
    )
    project = _project(tmp_path, fake)
    suite = write_suite(tmp_path, "s", _cases(20))
    proc = run_cli("run", str(suite), "--config", str(project), "--no-cache", "--max-cost", "0.05")
    assert proc.returncode == 3, proc.stderr
    assert "budget stopped" in proc.stderr
    with sqlite3.connect(tmp_path / "store.db") as conn:
        ((run_id, status),) = conn.execute("select id, status from runs").fetchall()
        stored = conn.execute("select count(*), sum(cost_usd) from results").fetchone()
    assert status == "budget_stopped"
    assert 0 < stored[0] < 20 and stored[1] <= 0.05 + 0.0075
    listed = run_cli("runs", "list", "--config", str(project))
    assert "budget_stopped" in listed.stdout
    shown = run_cli("runs", "show", run_id, "--config", str(project))
    assert "budget_stopped" in shown.stdout

    resumed = run_cli("run", "--resume", run_id, "--config", str(project), "--no-cache", "--max-cost", "1")
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("select status from runs").fetchall() == [("completed",)]
        assert conn.execute("select count(*) from results").fetchone() == (20,)


def test_estimate_exits_0_without_any_request(tmp_path: Path, fake: FakeServer) -> None:
    project = _project(tmp_path, fake)
    suite = write_suite(tmp_path, "s", _cases(10), params={"max_tokens": 50})
    proc = run_cli("run", str(suite), "--config", str(project), "--estimate")
    assert proc.returncode == 0, proc.stderr
    assert "Estimated cost" in proc.stdout and "estimated total: $" in proc.stdout
    assert "max_tokens 50 x 0.6" in proc.stdout
    assert fake.requests == []


def test_interrupted_run_exits_130(tmp_path: Path) -> None:
    with FakeServer(latency=0.2) as fake:
        project = _project(tmp_path, fake)
        suite = write_suite(tmp_path, "s", _cases(200), gate={"min_pass_rate": 1.0})
        process = subprocess.Popen(
            [*BENCHROUTE, "run", str(suite), "--config", str(project), "--no-cache", "-j", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not fake.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        assert process.returncode == 130
