"""Reports of runs with stress suites, as a user makes them: a real run against the fake
server, then every ``benchroute report`` format and ``benchroute rank``."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project, write_suite


def _stress_suite(folder: Path) -> Path:
    data = {
        "name": "load",
        "tier": "stress",
        "models": ["loaded"],
        "dataset": {"cases": [{"id": "a", "input": "hello"}]},
        "load": {"profile": {"kind": "constant_rate", "rps": 20, "duration_s": 1}, "window_s": 0.5},
        "slo": {"p95_ms": 5000},
    }
    path = folder / "load.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run_id(folder: Path) -> str:
    with sqlite3.connect(folder / "store.db") as conn:
        rows = conn.execute("select id from runs order by started_at desc").fetchall()
    return str(rows[0][0])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A mixed run (a unit suite on two models, a stress suite on one) and a stress-only run."""
    folder = tmp_path_factory.mktemp("stress-reports")
    with FakeServer(latency=0.01) as fake:
        project = write_project(
            folder,
            {
                "loaded": {"provider": "openai", "base_url": fake.base_url, "model": "a"},
                "other": {"provider": "openai", "base_url": fake.base_url, "model": "b"},
            },
        )
        unit = write_suite(
            folder, "unit", [{"id": f"c{i}", "input": f"q{i}", "expected": "q0"} for i in range(4)]
        )
        stress = _stress_suite(folder)
        mixed = run_cli("run", str(unit), str(stress), "--config", str(project))
        assert mixed.returncode == 0, mixed.stderr
        mixed_id = _run_id(folder)
        only = run_cli("run", str(stress), "--config", str(project))
        assert only.returncode == 0, only.stderr
        only_id = _run_id(folder)
    assert only_id != mixed_id
    return project, mixed_id, only_id


def _render(project: Path, run_id: str, fmt: str, tmp_path: Path) -> str:
    out = tmp_path / f"report.{fmt}"
    proc = run_cli("report", run_id, "--format", fmt, "--config", str(project), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return out.read_text(encoding="utf-8")


def test_the_load_result_is_not_a_case_of_the_leaderboard(
    runs: tuple[Path, str, str], tmp_path: Path
) -> None:
    project, mixed, _ = runs
    document = json.loads(_render(project, mixed, "json", tmp_path))
    models = {m["model"]: m for m in document["models"]}
    # Both models answered the same 4 unit cases (1 passes): the load test's SLO verdict must
    # not turn "loaded" into the better model (2/5) nor appear as a case with no latency.
    assert (models["loaded"]["cases"], models["loaded"]["passed"]) == (4, 1)
    assert (models["other"]["cases"], models["other"]["passed"]) == (4, 1)
    assert "slo:p95_ms" not in models["loaded"]["metrics"]
    loads = [r for r in document["results"] if r["case_id"] == "load"]
    assert len(loads) == 1 and loads[0]["details"]["load"]["requests"] == 20  # still reported


def test_markdown_and_html_show_the_load_figures(runs: tuple[Path, str, str], tmp_path: Path) -> None:
    project, mixed, _ = runs
    markdown = _render(project, mixed, "md", tmp_path)
    assert "### Load (stress suites)" in markdown
    (row,) = [line for line in markdown.splitlines() if line.startswith("| load | loaded |")]
    assert "| 20 |" in row and "pass (1)" in row
    assert "| 1 | loaded" in markdown or "| 2 | loaded" in markdown
    assert "(1/4)" in markdown and "(2/5)" not in markdown
    page = _render(project, mixed, "html", tmp_path)
    assert '<section id="load">' in page and "pass (1)" in page


def test_report_table_matches_runs_show(runs: tuple[Path, str, str], tmp_path: Path) -> None:
    project, mixed, _ = runs
    table = _render(project, mixed, "table", tmp_path)
    shown = run_cli("runs", "show", mixed, "--config", str(project))
    assert shown.returncode == 0, shown.stderr
    for title in ("Leaderboard · run", "Latency by tier", f"Load · run {mixed}", "per window"):
        assert title in table and title in shown.stdout, title


def test_a_stress_only_run_renders_in_every_format(runs: tuple[Path, str, str], tmp_path: Path) -> None:
    project, _, only = runs
    markdown = _render(project, only, "md", tmp_path)
    assert "No scored cases: this run has only load tests" in markdown
    assert "### Load (stress suites)" in markdown and "| load | loaded |" in markdown
    page = _render(project, only, "html", tmp_path)
    assert "only load tests" in page and '<section id="load">' in page
    assert 'data-model="loaded"' in page  # the case table still lists the load result
    document = json.loads(_render(project, only, "json", tmp_path))
    assert document["models"] == [] and len(document["results"]) == 1
    suites = ET.fromstring(_render(project, only, "junit", tmp_path))
    assert suites.get("tests") == "1" and suites.get("failures") == "0"
    table = _render(project, only, "table", tmp_path)
    assert f"Load · run {only}" in table and "Leaderboard" not in table


def test_ranking_a_stress_only_run_is_one_clear_line(runs: tuple[Path, str, str]) -> None:
    project, _, only = runs
    proc = run_cli("rank", only, "--config", str(project))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"run {only} has no scored cases to rank (only load tests)" in proc.stderr
