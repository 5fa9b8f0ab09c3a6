"""The store: migrations, idempotent result writes, runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from benchroute import BenchrouteError
from benchroute.store import MIGRATIONS, Result, RunRecord, Store


def _result(case: str, repeat: int = 0, output: str = "x", **fields: Any) -> Result:
    values: dict[str, Any] = {
        "run_id": "r1",
        "suite": "s",
        "case_id": case,
        "model": "m",
        "repeat": repeat,
        "messages": [{"role": "user", "content": "hi"}],
        "output": output,
        "scores": [{"scorer": "exact", "value": 1.0, "passed": True, "reason": ""}],
        "score": 1.0,
        "passed": True,
        "created_at": "2026-01-01T00:00:00",
    }
    return Result(**{**values, **fields})


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


# The schema an m001-only release created (SQLAlchemy's DDL for m001_initial), frozen here so
# that a later edit of the migrations cannot silently change what "an old database" means.
_M001_SQL = """
CREATE TABLE migrations (name VARCHAR(100) NOT NULL, applied_at VARCHAR(40) NOT NULL, PRIMARY KEY (name));
CREATE TABLE runs (
    id VARCHAR(32) NOT NULL, suites TEXT NOT NULL, config TEXT NOT NULL,
    package_version VARCHAR(40) NOT NULL, prices TEXT NOT NULL, started_at VARCHAR(40) NOT NULL,
    finished_at VARCHAR(40), status VARCHAR(20) NOT NULL, error TEXT, PRIMARY KEY (id)
);
CREATE TABLE results (
    id INTEGER NOT NULL, run_id VARCHAR(32) NOT NULL, suite VARCHAR(200) NOT NULL,
    case_id VARCHAR(200) NOT NULL, model VARCHAR(200) NOT NULL, repeat INTEGER NOT NULL,
    messages TEXT NOT NULL, output TEXT, scores TEXT NOT NULL, score FLOAT, passed BOOLEAN NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL, cost_usd FLOAT NOT NULL, latency_ms FLOAT, ttft_ms FLOAT,
    retries INTEGER NOT NULL, error TEXT, error_kind VARCHAR(40), served_model VARCHAR(200),
    system_fingerprint VARCHAR(200), cached BOOLEAN NOT NULL, created_at VARCHAR(40) NOT NULL,
    PRIMARY KEY (id), CONSTRAINT uq_result_key UNIQUE (run_id, suite, case_id, model, repeat)
);
CREATE INDEX ix_results_run_id ON results (run_id);
CREATE TABLE response_cache (
    "key" VARCHAR(64) NOT NULL, model VARCHAR(200) NOT NULL, completion TEXT NOT NULL,
    created_at VARCHAR(40) NOT NULL, PRIMARY KEY ("key")
);
INSERT INTO migrations VALUES ('m001_initial', '2026-01-01T00:00:00+00:00');
INSERT INTO runs VALUES ('r1', '["s"]', '{"models": {"m": {}}}', '0.0.9', '{"m": {"source": "override"}}',
    '2026-01-01T00:00:00', '2026-01-01T00:01:00', 'completed', NULL);
INSERT INTO results (run_id, suite, case_id, model, repeat, messages, output, scores, score, passed,
    input_tokens, output_tokens, cached_input_tokens, cost_usd, latency_ms, ttft_ms, retries, error,
    error_kind, served_model, system_fingerprint, cached, created_at)
VALUES ('r1', 's', 'c1', 'm', 0, '[{"role": "user", "content": "hi"}]', 'héllo',
    '[{"scorer": "exact", "value": 1.0, "passed": true, "reason": ""}]', 1.0, 1, 12, 3, 0, 0.25,
    123.5, 40.0, 1, NULL, NULL, 'm-2026', 'fp', 0, '2026-01-01T00:00:30');
INSERT INTO response_cache VALUES ('k1', 'm', '{"text": "cached"}', '2026-01-01T00:00:10');
"""


def test_an_m001_database_upgrades_without_losing_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(_M001_SQL)
    store = Store(f"sqlite:///{path}")
    try:
        run = store.get_run("r1")
        assert (run.status, run.finished_at, run.package_version) == (
            "completed",
            "2026-01-01T00:01:00",
            "0.0.9",
        )
        assert run.prices == {"m": {"source": "override"}}
        (result,) = store.results("r1")
        assert result.output == "héllo" and result.passed and result.score == 1.0
        assert (result.input_tokens, result.output_tokens, result.cost_usd) == (12, 3, 0.25)
        assert (result.latency_ms, result.ttft_ms, result.retries) == (123.5, 40.0, 1)
        assert (result.served_model, result.system_fingerprint) == ("m-2026", "fp")
        assert result.messages == [{"role": "user", "content": "hi"}]
        assert result.details is None  # the new column, empty for old rows
        # The new tables work, and new results with details sit next to the old ones.
        assert store.load_samples("r1") == [] and store.quarantined() == []
        assert store.quarantine("s", "c1", "flaky")
        new = _result("c2")
        new.details = {"turns": [1, 2]}
        store.add_results([new])
        assert {r.case_id: r.details for r in store.results("r1")} == {"c1": None, "c2": {"turns": [1, 2]}}
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        names = [row[0] for row in conn.execute("select name from migrations order by name")]
        cache = conn.execute("select key, completion from response_cache").fetchall()
    assert names == [name for name, _ in MIGRATIONS]
    assert cache == [("k1", '{"text": "cached"}')]
    Store(f"sqlite:///{path}").close()  # opening again applies nothing twice


def test_a_half_applied_m002_is_finished_on_the_next_open(tmp_path: Path) -> None:
    # SQLite runs ALTER TABLE outside the migration's transaction: a process killed (or a
    # second process racing it) after the ALTER must not leave a database no Store can open.
    path = tmp_path / "half.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(_M001_SQL)
        conn.execute("ALTER TABLE results ADD COLUMN details TEXT")
    store = Store(f"sqlite:///{path}")
    try:
        assert [r.case_id for r in store.results("r1")] == ["c1"]
        assert store.load_samples("r1") == []
    finally:
        store.close()


def test_cached_keys_finds_the_stored_responses_among_many_keys(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    stored = [f"k{i}" for i in range(1200)]  # more than one 500-key batch
    store.cache_put([(k, "m", {"text": k}, "2026-01-01T00:00:00") for k in stored])
    asked = [*stored[::-1], *[f"missing{i}" for i in range(100)], "k1", "k1"]
    assert store.cached_keys(asked) == set(stored)
    assert store.cached_keys([]) == set()
    assert store.cache_get("k7") == {"text": "k7"}


def test_cache_get_many_returns_the_stored_replies_by_key(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    store.cache_put([(f"k{i}", "m", {"text": f"t{i}"}, "2026-01-01T00:00:00") for i in range(700)])
    got = store.cache_get_many([f"k{i}" for i in range(699, -1, -1)] + ["missing", "k3"])
    assert len(got) == 700 and got["k3"] == {"text": "t3"} and "missing" not in got


# What an m002 release left: the m001 tables, results.details, load samples and quarantine
# (frozen SQL, like _M001_SQL, so the upgrade is tested against a fixed old database).
_M002_SQL = (
    _M001_SQL
    + """
ALTER TABLE results ADD COLUMN details TEXT;
CREATE TABLE load_samples (
    id INTEGER NOT NULL, run_id VARCHAR(32) NOT NULL, suite VARCHAR(200) NOT NULL,
    model VARCHAR(200) NOT NULL, seq INTEGER NOT NULL, scheduled_s FLOAT NOT NULL, sent_s FLOAT,
    latency_ms FLOAT, ttft_ms FLOAT, outcome VARCHAR(20) NOT NULL, error_kind VARCHAR(40),
    retries INTEGER NOT NULL, PRIMARY KEY (id),
    CONSTRAINT uq_load_sample UNIQUE (run_id, suite, model, seq)
);
CREATE INDEX ix_load_samples_run_id ON load_samples (run_id);
CREATE TABLE quarantine (
    suite VARCHAR(200) NOT NULL, case_id VARCHAR(200) NOT NULL, reason TEXT NOT NULL,
    created_at VARCHAR(40) NOT NULL, PRIMARY KEY (suite, case_id)
);
INSERT INTO migrations VALUES ('m002_details_load_quarantine', '2026-01-02T00:00:00+00:00');
INSERT INTO results (run_id, suite, case_id, model, repeat, messages, output, scores, score, passed,
    input_tokens, output_tokens, cached_input_tokens, cost_usd, latency_ms, ttft_ms, retries, error,
    error_kind, served_model, system_fingerprint, cached, created_at, details)
VALUES ('r1', 's', 'c2', 'm', 0, '[]', 'turns', '[]', 0.5, 0, 5, 6, 1, 0.125, 80.0, NULL, 0,
    'boom', 'server', NULL, NULL, 1, '2026-01-01T00:00:40', '{"turns": [{"n": 1}]}');
INSERT INTO load_samples (run_id, suite, model, seq, scheduled_s, sent_s, latency_ms, ttft_ms,
    outcome, error_kind, retries) VALUES ('r1', 's', 'm', 0, 0.0, 0.01, 20.0, NULL, 'ok', NULL, 0);
INSERT INTO quarantine VALUES ('s', 'c1', 'flaky', '2026-01-01T00:00:50');
"""
)


def _results_columns(path: Path) -> dict[str, tuple[int, int]]:
    """Column name -> (NOT NULL flag, position) of the results table."""
    with sqlite3.connect(path) as conn:
        return {row[1]: (row[3], row[0]) for row in conn.execute("PRAGMA table_info(results)")}


def test_an_m002_database_upgrades_to_unknown_costs_without_losing_data(tmp_path: Path) -> None:
    path = tmp_path / "m002.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(_M002_SQL)
    store = Store(f"sqlite:///{path}")
    try:
        old = {r.case_id: r for r in store.results("r1")}
        assert list(old) == ["c1", "c2"]
        first, second = old["c1"], old["c2"]
        assert (first.output, first.cost_usd, first.latency_ms, first.retries) == ("héllo", 0.25, 123.5, 1)
        assert (first.served_model, first.system_fingerprint, first.details) == ("m-2026", "fp", None)
        assert (second.error, second.error_kind, second.cached, second.passed) == (
            "boom",
            "server",
            True,
            False,
        )
        assert second.details == {"turns": [{"n": 1}]} and second.cached_input_tokens == 1
        assert first.e2e_latency_ms is None and second.e2e_latency_ms is None  # not measured then
        assert [q.case_id for q in store.quarantined()] == ["c1"] and len(store.load_samples("r1")) == 1
        # An unpriced result stores NULL, the new latency is kept, and ids keep growing.
        store.add_results([_result("c3", cost_usd=None, latency_ms=10.0, e2e_latency_ms=2510.0)])
        new = store.results("r1")[-1]
        assert (new.case_id, new.cost_usd, new.latency_ms, new.e2e_latency_ms) == ("c3", None, 10.0, 2510.0)
        store.add_results([_result("c1", output="again")])  # the unique key survived the rebuild
        assert [r.case_id for r in store.results("r1")] == ["c1", "c2", "c3"]
    finally:
        store.close()
    columns = _results_columns(path)
    assert columns["cost_usd"][0] == 0 and "e2e_latency_ms" in columns
    with sqlite3.connect(path) as conn:
        names = [row[0] for row in conn.execute("select name from migrations order by name")]
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(results)")}
    assert names == [name for name, _ in MIGRATIONS] and "m003_honest_figures" in names
    assert "ix_results_run_id" in indexes
    Store(f"sqlite:///{path}").close()  # opening again applies nothing twice


# The rebuilt table as m003 creates it, for the states a cut-short rebuild leaves behind.
_M003_COPY = """
CREATE TABLE results_m003 (
    id INTEGER NOT NULL, run_id VARCHAR(32) NOT NULL, suite VARCHAR(200) NOT NULL,
    case_id VARCHAR(200) NOT NULL, model VARCHAR(200) NOT NULL, repeat INTEGER NOT NULL,
    messages TEXT NOT NULL, output TEXT, scores TEXT NOT NULL, score FLOAT, passed BOOLEAN NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL, cost_usd FLOAT, latency_ms FLOAT, ttft_ms FLOAT,
    retries INTEGER NOT NULL, error TEXT, error_kind VARCHAR(40), served_model VARCHAR(200),
    system_fingerprint VARCHAR(200), cached BOOLEAN NOT NULL, created_at VARCHAR(40) NOT NULL,
    details TEXT, e2e_latency_ms FLOAT,
    PRIMARY KEY (id), CONSTRAINT uq_result_key UNIQUE (run_id, suite, case_id, model, repeat)
)
"""


@pytest.mark.parametrize("cut", ["after the copy", "after the drop", "after the rename"])
def test_a_cut_short_m003_is_finished_on_the_next_open(tmp_path: Path, cut: str) -> None:
    # SQLite may commit each DDL statement at once: a process killed between the rebuild's
    # steps leaves one of these states, and the next open must finish without losing a row.
    path = tmp_path / "cut.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(_M002_SQL)
        conn.execute(_M003_COPY)
        conn.execute("INSERT INTO results_m003 SELECT *, NULL FROM results")
        if cut != "after the copy":
            conn.execute("DROP TABLE results")
        if cut == "after the rename":
            conn.execute("ALTER TABLE results_m003 RENAME TO results")
    store = Store(f"sqlite:///{path}")
    try:
        assert [r.case_id for r in store.results("r1")] == ["c1", "c2"]
        store.add_results([_result("c3", cost_usd=None), _result("c1", output="again")])
        assert [r.case_id for r in store.results("r1")] == ["c1", "c2", "c3"]  # still one per key
        assert store.results("r1")[-1].cost_usd is None and store.results("r1")[0].output == "héllo"
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    assert "results_m003" not in tables
