"""``benchroute ci`` end to end: real subprocesses against the fake server on a real SQLite
store; JUnit, the Markdown summary, drift against the main branch's last run, exit codes."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project, write_suite

N = 30
CASES: list[dict[str, object]] = [
    {"id": f"c{i}", "input": f"question {i}", "expected": f"answer {i}"} for i in range(N)
]
V1 = {f"question {i}": f"answer {i}" for i in range(N)}
V2 = {f"question {i}": (f"answer {i}" if i < N // 2 else "I can't help with that.") for i in range(N)}


def _env(branch: str, **extra: str) -> dict[str, str]:
    # The branch as GitHub names it on a push; no pull-request branch, no step summary.
    return {"GITHUB_REF_NAME": branch, "GITHUB_HEAD_REF": "", "GITHUB_STEP_SUMMARY": "",
            "GITHUB_SHA": f"sha-{branch}", "GITHUB_EVENT_NAME": "push", **extra}  # fmt: skip


def _completions(fake: FakeServer) -> int:
    return sum(1 for r in fake.requests if r.path.endswith("/chat/completions"))


def _setup(tmp_path: Path, fake: FakeServer) -> tuple[Path, Path]:
    fake.add_version("m", "v1", served_model="m-2026-01", answers=V1)
    fake.add_version("m", "v2", served_model="m-2026-06", answers=V2)
    # The fake server answers in about a millisecond, so its latency is the loaded test
    # machine's noise (2 ms against 6 ms is a 3x "drift"): these tests are about which run is
    # the baseline, so only a change in what the model answers counts here.
    project = write_project(
        tmp_path,
        {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}},
        drift={"min_effect": {"latency_ms": 1000.0}},
    )
    return project, write_suite(tmp_path, "qa", CASES)


def _ci(
    tmp_path: Path, project: Path, suite: Path, branch: str, tag: str, **env: str
) -> tuple[int, str, str]:
    junit, summary = tmp_path / tag / "junit.xml", tmp_path / tag / "summary.md"
    proc = run_cli("ci", str(suite), "--config", str(project), "--junit", str(junit),
                   "--summary", str(summary), env=_env(branch, **env))  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    text = summary.read_text() if summary.exists() else ""
    if proc.returncode in (0, 1):
        root = ET.parse(junit).getroot()
        assert root.tag == "testsuites" and int(root.get("tests", "0")) >= N
    return proc.returncode, proc.stdout + proc.stderr, text


def test_ci_compares_with_mains_last_run_not_the_latest_run(tmp_path: Path, fake: FakeServer) -> None:
    project, suite = _setup(tmp_path, fake)
    # 1. main's first CI run: nothing to compare with yet, which is said, not passed off as a pass.
    code, out, summary = _ci(tmp_path, project, suite, "main", "first")
    assert code == 0, out
    assert "## Drift against main" in summary and "not tested: branch 'main' has no finished run" in summary
    # 2. main again: uncached (every case sent again), compared with main's first run, no drift.
    before = _completions(fake)
    code, out, summary = _ci(tmp_path, project, suite, "main", "second")
    assert code == 0, out
    assert _completions(fake) - before == N
    assert "no drift beyond tolerance" in summary
    # 3. The model changes; a manual run on another branch sees it first.
    fake.use_version("m", "v2")
    assert run_cli("run", str(suite), "--config", str(project), env=_env("other")).returncode == 0
    # 4. A feature branch's CI run: compared with main's last run (v1), not with the newer
    #    manual run (already v2), so the drop is flagged: exit 1.
    code, out, summary = _ci(tmp_path, project, suite, "feature-x", "feature")
    assert code == 1, out
    assert "on branch feature-x" in out
    assert "beyond tolerance" in summary and "pass_rate" in summary and "m-2026-06" in summary
    with sqlite3.connect(tmp_path / "store.db") as conn:
        runs = conn.execute("select trigger, branch, git_sha from runs order by started_at").fetchall()
    assert runs == [
        ("ci", "main", "sha-main"),
        ("ci", "main", "sha-main"),
        ("manual", "other", "sha-other"),
        ("ci", "feature-x", "sha-feature-x"),
    ]


def test_ci_appends_to_the_github_step_summary_and_a_schedule_is_recorded_as_such(
    tmp_path: Path, fake: FakeServer
) -> None:
    project, suite = _setup(tmp_path, fake)
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("earlier step\n")
    env = {**_env("main"), "GITHUB_STEP_SUMMARY": str(step_summary), "GITHUB_EVENT_NAME": "schedule"}
    proc = run_cli("ci", str(suite), "--config", str(project), "--junit", str(tmp_path / "j.xml"), env=env)
    assert proc.returncode == 0, proc.stderr
    text = step_summary.read_text()
    assert text.startswith("earlier step\n") and "## Drift against main" in text
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("select trigger from runs").fetchall() == [("schedule",)]


def test_ci_gate_failure_is_exit_1_and_an_unreachable_endpoint_exit_3(
    tmp_path: Path, fake: FakeServer
) -> None:
    project, _suite = _setup(tmp_path, fake)
    gated = write_suite(tmp_path, "gated", CASES, gate={"min_pass_rate": 0.9})
    fake.use_version("m", "v2")
    code, out, summary = _ci(tmp_path, project, gated, "main", "gate")
    assert code == 1 and "min_pass_rate" in out, out
    assert summary  # written before the exit code is decided
    (tmp_path / "dead").mkdir()
    dead = write_project(
        tmp_path / "dead",
        {"m": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "max_retries": 0}},
    )
    code, out, _ = _ci(tmp_path, dead, gated, "main", "dead")
    assert code == 3, out
