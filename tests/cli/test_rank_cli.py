"""``benchroute rank``: weights and limits from benchroute.yaml or the command line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, store_graded_run, write_project


def _store_run(db: Path) -> str:
    # cheap: 6/10 pass at $0.001 each, 200 ms; pricey: 9/10 at $0.01, 900 ms
    store_graded_run(db, "abc123", [("cheap", 6, 0.001, 200.0), ("pricey", 9, 0.01, 900.0)], 10)
    return "abc123"


def test_rank_uses_project_weights_and_cli_overrides(tmp_path: Path) -> None:
    project = write_project(tmp_path, {}, ranking={"weights": {"accuracy": 1, "cost": 0}})
    _store_run(tmp_path / "store.db")
    by_accuracy = run_cli("rank", "abc", "--config", str(project), "--json")
    assert by_accuracy.returncode == 0, by_accuracy.stderr
    order = [row["model"] for row in json.loads(by_accuracy.stdout)["ranking"]]
    assert order == ["pricey", "cheap"]
    by_cost = run_cli("rank", "abc", "--config", str(project), "--json", "--weights", "accuracy=1,cost=2")
    rows = json.loads(by_cost.stdout)["ranking"]
    assert [row["model"] for row in rows] == ["cheap", "pricey"]
    assert all(row["on_cost_frontier"] for row in rows)  # cheaper vs more accurate: both on it


def test_rank_table_shows_limit_violations(tmp_path: Path) -> None:
    project = write_project(tmp_path, {})
    _store_run(tmp_path / "store.db")
    proc = run_cli("rank", "abc", "--config", str(project), "--max-p95-ms", "500")
    assert proc.returncode == 0, proc.stderr
    assert "p95 900 ms > 500 ms" in proc.stdout
    assert "Ranking" in proc.stdout and "frontier" in proc.stdout


def test_rank_rejects_bad_weights_in_one_line(tmp_path: Path) -> None:
    project = write_project(tmp_path, {})
    _store_run(tmp_path / "store.db")
    proc = run_cli("rank", "abc", "--config", str(project), "--weights", "speed=1")
    assert proc.returncode == 2
    assert "--weights" in proc.stderr and "accuracy" in proc.stderr and "Traceback" not in proc.stderr
    bad_yaml = write_project(tmp_path, {}, ranking={"weights": {"acuracy": 1}})
    proc = run_cli("rank", "abc", "--config", str(bad_yaml))
    assert proc.returncode == 2 and "acuracy" in proc.stderr
