"""``benchroute rank`` and ``benchroute compare`` name the unpriced models, and never let one
win on cost."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, store_graded_run, write_project


def _store_run(db: Path) -> None:
    # priced: 8/10 at $0.01; selfhosted: 8/10, no price (it would look free at $0).
    store_graded_run(db, "run123", [("priced", 8, 0.01, 100.0), ("selfhosted", 8, None, 100.0)], 10)


def test_rank_says_which_models_are_unpriced_and_ranks_them_last_on_cost(tmp_path: Path) -> None:
    project = write_project(tmp_path, {})
    _store_run(tmp_path / "store.db")
    options = ["--config", str(project), "--weights", "cost=1"]
    ran = run_cli("rank", "run123", *options, "--json")
    assert ran.returncode == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert document["unpriced"] == ["selfhosted"]
    first, second = document["ranking"]
    assert first["model"] == "priced" and first["on_cost_frontier"]
    assert second["model"] == "selfhosted" and second["unpriced"] and not second["on_cost_frontier"]
    table = run_cli("rank", "run123", *options, "--max-cost-per-success", "1")
    assert table.returncode == 0, table.stderr
    assert "unpriced: selfhosted — cost unknown (not $0)" in table.stdout
    row = next(line for line in table.stdout.splitlines() if "selfhosted" in line and "│" in line)
    assert "unpriced" in row and "$0" not in row


def test_compare_says_a_side_is_unpriced_and_does_not_compare_cost(tmp_path: Path) -> None:
    project = write_project(tmp_path, {})
    _store_run(tmp_path / "store.db")
    ran = run_cli("compare", "run123", "--models", "priced,selfhosted", "--config", str(project), "--json")
    assert ran.returncode == 0, ran.stderr
    assert "unpriced: selfhosted has 10 result(s) without a price — cost is not compared" in ran.stderr
    document = json.loads(ran.stdout)
    assert (document["unpriced_a"], document["unpriced_b"]) == (0, 10)
    cost = next(m for m in document["metrics"] if m["metric"].startswith("cost"))
    assert cost["verdict"] == "no data"
