"""``benchroute history``, ``metrics`` and ``ci`` as real subprocesses, on runs made by the
runner against the fake server."""

from __future__ import annotations

from pathlib import Path

from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project, write_suite

PRICED = {"provider": "openai", "model": "gpt-4o", "price_provider": "openai"}


def _setup(tmp_path: Path, fake: FakeServer) -> tuple[Path, Path]:
    project = write_project(tmp_path, {"m": {**PRICED, "base_url": fake.base_url}})
    cases = [{"id": f"c{i}", "input": f"answer {i}", "expected": f"answer {i}"} for i in range(4)]
    return project, write_suite(tmp_path, "s", cases)


def test_ci_writes_junit_and_summary(tmp_path: Path, fake: FakeServer) -> None:
    project, suite = _setup(tmp_path, fake)
    junit, summary = tmp_path / "out" / "junit.xml", tmp_path / "out" / "summary.md"
    env = {"GITHUB_HEAD_REF": "feature-x", "GITHUB_STEP_SUMMARY": ""}
    proc = run_cli("ci", str(suite), "--config", str(project), "--junit", str(junit),
                   "--summary", str(summary), env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "on branch feature-x" in proc.stdout
    assert "<testsuites" in junit.read_text()
    text = summary.read_text()
    assert "## Drift against main" in text
    assert "Traceback" not in proc.stderr


def test_ci_bad_suite_is_one_line(tmp_path: Path, fake: FakeServer) -> None:
    project, _suite = _setup(tmp_path, fake)
    proc = run_cli("ci", str(tmp_path / "nope.yaml"), "--config", str(project))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


def test_history_bad_since_and_format(tmp_path: Path, fake: FakeServer) -> None:
    project, _suite = _setup(tmp_path, fake)
    proc = run_cli("history", "s", "--config", str(project), "--since", "yesterday")
    assert proc.returncode == 2 and "--since" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("history", "s", "--config", str(project), "--format", "xml")
    assert proc.returncode == 2 and "expected table, json or csv" in proc.stderr


def test_history_and_metrics_after_two_runs(tmp_path: Path, fake: FakeServer) -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    project, suite = _setup(tmp_path, fake)
    for _ in range(2):
        assert run_cli("run", str(suite), "--config", str(project), "--no-cache").returncode == 0
    proc = run_cli("history", "s", "--config", str(project), env={"COLUMNS": "100"})
    assert proc.returncode == 0, proc.stderr
    assert all(len(line) <= 100 for line in proc.stdout.splitlines())
    assert "pass_rate" in proc.stdout and "100.0%" in proc.stdout
    proc = run_cli("history", "s", "--config", str(project), "--format", "csv")
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) >= 3
    proc = run_cli("metrics", "--config", str(project))
    assert proc.returncode == 0, proc.stderr
    names = {f.name for f in text_string_to_metric_families(proc.stdout)}
    assert "benchroute_pass_rate" in names
