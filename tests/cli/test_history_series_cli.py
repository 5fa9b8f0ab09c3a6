"""``benchroute history`` and ``benchroute metrics`` end to end: runs made by the real command
against the fake server, whose model version changes between runs, read back from a real
SQLite store as a table, a chart, JSON, CSV and OpenMetrics text."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project, write_suite

# Until the store's m004 time-series API lands (S1), these cannot run.

CASES: list[dict[str, object]] = [
    {"id": f"c{i}", "input": f"question {i}", "expected": f"answer {i}"} for i in range(4)
]
V1 = {f"question {i}": f"answer {i}" for i in range(4)}
V2 = {f"question {i}": (f"answer {i}" if i < 2 else "something else") for i in range(4)}
PRICES = {"input_per_mtok": 2.5, "output_per_mtok": 10.0}


def _history_of_a_version_change(tmp_path: Path, fake: FakeServer, runs_per_version: int = 2) -> Path:
    fake.add_version("m", "v1", served_model="m-2026-01", answers=V1)
    fake.add_version("m", "v2", served_model="m-2026-06", answers=V2)
    project = write_project(
        tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m", "prices": PRICES}}
    )
    suite = write_suite(tmp_path, "qa", CASES)
    for version in ("v1", "v2"):
        fake.use_version("m", version)
        for _ in range(runs_per_version):
            proc = run_cli("run", str(suite), "--config", str(project), "--no-cache")
            assert proc.returncode == 0, proc.stderr
    return project


def test_history_table_names_version_and_price_per_point_and_fits_100_columns(
    tmp_path: Path, fake: FakeServer
) -> None:
    project = _history_of_a_version_change(tmp_path, fake)
    proc = run_cli("history", "qa", "--config", str(project), env={"COLUMNS": "100"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100, proc.stdout
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == 4, proc.stdout  # one per run, a column per metric
    assert all("100.0%" in row and "m-2026-01 " in row for row in rows[:2])
    assert all("50.0%" in row for row in rows[2:])
    assert "m-2026-06* " in rows[2] and "m-2026-06 " in rows[3]  # * marks the change
    assert all("$2.5/10" in row for row in rows), proc.stdout
    assert "$0.0000" in rows[0] and "e-0" not in proc.stdout
    # The chart: one line per model x metric, the first and last figure, the version mark.
    chart = [line for line in lines if line.startswith("m pass_rate ")]
    assert len(chart) == 1 and chart[0].endswith("100.0% -> 50.0%")
    assert any("(^ served model changed)" in line for line in lines)
    assert "Traceback" not in proc.stderr


def test_history_json_and_csv_carry_every_point(tmp_path: Path, fake: FakeServer) -> None:
    project = _history_of_a_version_change(tmp_path, fake, runs_per_version=1)
    proc = run_cli("history", "qa", "--metric", "pass_rate", "--config", str(project), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    points = json.loads(proc.stdout)
    assert [(p["value"], p["served_model"], p["system_fingerprint"]) for p in points] == [
        (1.0, "m-2026-01", "fp_v1"),
        (0.5, "m-2026-06", "fp_v2"),
    ]
    assert all(p["price_in"] == 2.5 and p["price_out"] == 10.0 and p["n"] == 4 for p in points)
    assert all(p["trigger"] == "manual" and p["endpoint_id"] and p["suite_fingerprint"] for p in points)
    assert points[0]["suite_fingerprint"] == points[1]["suite_fingerprint"]
    proc = run_cli("history", "qa", "--config", str(project), "--format", "csv", "--metric", "p95_ms")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [row["metric"] for row in rows] == ["p95_ms", "p95_ms"]
    assert all(float(row["value"]) >= 0 and row["served_model"].startswith("m-2026-") for row in rows)


def test_history_of_a_bare_scorer_name_and_unknown_metric(tmp_path: Path, fake: FakeServer) -> None:
    project = _history_of_a_version_change(tmp_path, fake, runs_per_version=1)
    proc = run_cli("history", "qa", "--metric", "exact", "--config", str(project), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert [p["metric"] for p in json.loads(proc.stdout)] == ["score:exact", "score:exact"]
    proc = run_cli("history", "qa", "--metric", "bogus_rate", "--config", str(project))
    assert proc.returncode == 2
    assert "bogus_rate" in proc.stderr and "pass_rate" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_history_unknown_suite_and_since(tmp_path: Path, fake: FakeServer) -> None:
    project = _history_of_a_version_change(tmp_path, fake, runs_per_version=1)
    proc = run_cli("history", "nope", "--config", str(project))
    assert proc.returncode == 2 and "no stored runs of suite 'nope'" in proc.stderr
    proc = run_cli("history", "qa", "--since", "2099-01-01", "--config", str(project))
    assert proc.returncode == 2 and "since 2099-01-01" in proc.stderr
    proc = run_cli("history", "qa", "--since", "1d", "--config", str(project), "--format", "json")
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) == 6  # 3 metrics x 2 runs


def test_metrics_is_valid_openmetrics_with_the_latest_point(tmp_path: Path, fake: FakeServer) -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    project = _history_of_a_version_change(tmp_path, fake, runs_per_version=1)
    proc = run_cli("metrics", "--config", str(project))
    assert proc.returncode == 0, proc.stderr
    families = {f.name: f for f in text_string_to_metric_families(proc.stdout)}
    assert {"benchroute_pass_rate", "benchroute_p95_ms", "benchroute_cost_total"} <= set(families)
    [sample] = families["benchroute_pass_rate"].samples
    assert sample.value == 0.5
    assert sample.labels["suite"] == "qa" and sample.labels["model"] == "m"
    assert sample.labels["served_model"] == "m-2026-06" and sample.labels["system_fingerprint"] == "fp_v2"
    assert sample.timestamp is not None
    proc = run_cli("metrics", "--suite", "qa", "--config", str(project))
    assert proc.returncode == 0 and proc.stdout.endswith("# EOF\n")


def test_runs_record_trigger_git_and_host(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "qa", CASES)
    env = {"GITHUB_SHA": "0123abc", "GITHUB_REF_NAME": "release-1", "GITHUB_HEAD_REF": ""}
    assert run_cli("run", str(suite), "--config", str(project), env=env).returncode == 0
    with sqlite3.connect(tmp_path / "store.db") as conn:
        [(trigger, sha, branch, host)] = conn.execute("select trigger, git_sha, branch, host from runs")
    assert (trigger, sha, branch) == ("manual", "0123abc", "release-1") and host
