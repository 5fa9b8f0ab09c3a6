"""The store: migrations, idempotent result writes, runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from benchroute import BenchrouteError
from benchroute.store import MIGRATIONS, Result, RunRecord, Store


def _result(case: str, repeat: int = 0, output: str = "x") -> Result:
    return Result(
        run_id="r1",
        suite="s",
        case_id=case,
        model="m",
        repeat=repeat,
        messages=[{"role": "user", "content": "hi"}],
        output=output,
        scores=[{"scorer": "exact", "value": 1.0, "passed": True, "reason": ""}],
        score=1.0,
        passed=True,
        created_at="2026-01-01T00:00:00",
    )


def _run(run_id: str = "r1", started: str = "2026-01-01T00:00:00") -> RunRecord:
    return RunRecord(
        id=run_id,
        suites=["s"],
        config={"models": {"m": {}}},
        package_version="0",
        prices={"m": {"source": "override"}},
        started_at=started,
    )


def test_migrations_are_recorded_and_applied_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    Store(url).close()
    Store(url).close()
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        names = [row[0] for row in conn.execute("select name from migrations order by name")]
    assert names == [name for name, _ in MIGRATIONS]
    assert names[0] == "m001_initial"


def test_results_are_stored_once_per_key(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.create_run(_run())
    store.add_results([_result("a"), _result("b")])
    store.add_results([_result("a", output="second write"), _result("a", repeat=1)])
    results = store.results("r1")
    assert [(r.case_id, r.repeat) for r in results] == [("a", 0), ("b", 0), ("a", 1)]
    assert results[0].output == "x"  # the first write wins
    assert results[0].scores[0]["scorer"] == "exact" and results[0].messages[0]["role"] == "user"
    assert store.done_keys("r1") == {("s", "a", "m", 0), ("s", "b", "m", 0), ("s", "a", "m", 1)}


def test_runs_list_show_and_prefixes(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.create_run(_run("abc111", "2026-01-01T00:00:00"))
    store.create_run(_run("abc222", "2026-01-02T00:00:00"))
    store.set_run_status("abc111", "completed", finished_at="2026-01-01T00:01:00")
    listed = store.list_runs()
    assert [run.id for run, _ in listed] == ["abc222", "abc111"]
    assert store.get_run("abc1").status == "completed"
    with pytest.raises(BenchrouteError, match="ambiguous"):
        store.get_run("abc")
    with pytest.raises(BenchrouteError, match="no run"):
        store.get_run("zzz")


def test_unwritable_store_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(BenchrouteError, match="store"):
        Store(f"sqlite:///{blocker / 'sub' / 'db.sqlite'}")


def test_a_corrupt_database_file_is_a_clear_error_and_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"this is not a sqlite database" * 100)
    before = path.read_bytes()
    with pytest.raises(BenchrouteError, match="cannot open or migrate"):
        Store(f"sqlite:///{path}")
    assert path.read_bytes() == before
