"""The store behaves the same on SQLite and on PostgreSQL (a real server, tests/_postgres.py):
migrations, idempotent writes, runs, the response cache, quarantine, load samples, and a
whole run through the runner and the CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import sqlalchemy

from benchroute import BenchrouteError
from benchroute.config import load_project, load_suite
from benchroute.runner import Runner, RunOptions
from benchroute.store import MIGRATIONS, LoadSample, Result, Store
from benchroute.testing import FakeServer
from tests._postgres import TemporaryPostgres
from tests.conftest import run_cli, write_project, write_suite
from tests.store.test_store import _result as stored_result
from tests.store.test_store import _run


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _result(case: str, repeat: int = 0, output: str = "x", run_id: str = "r1") -> Result:
    return stored_result(
        case,
        repeat,
        output,
        run_id=run_id,
        messages=[{"role": "user", "content": "hi ünïcode"}],
        latency_ms=12.5,
        cost_usd=0.000125,
        details={"turns": [{"n": 1}]} if case == "b" else None,
    )


def test_migrations_are_applied_once(store_url: str) -> None:
    Store(store_url).close()
    store = Store(store_url)  # a second open applies nothing again
    with store.engine.connect() as conn:
        names = list(conn.execute(sqlalchemy.text("select name from migrations order by name")).scalars())
    assert names == [name for name, _ in MIGRATIONS]


def test_results_runs_and_statuses(store_url: str) -> None:
    store = Store(store_url)
    store.create_run(_run("abc111", "2026-01-01T00:00:00"))
    store.create_run(_run("abc222", "2026-01-02T00:00:00"))
    store.add_results([_result("a", run_id="abc111"), _result("b", run_id="abc111")])
    store.add_results([_result("a", output="second", run_id="abc111"), _result("a", 1, run_id="abc111")])
    record, results = store.run_with_results("abc1")
    assert record.id == "abc111"
    assert [(r.case_id, r.repeat) for r in results] == [("a", 0), ("b", 0), ("a", 1)]
    first = results[0]
    assert first.output == "x" and first.passed is True and first.latency_ms == 12.5  # first write wins
    assert first.messages[0]["content"] == "hi ünïcode" and results[1].details == {"turns": [{"n": 1}]}
    assert store.done_keys("abc111") == {("s", "a", "m", 0), ("s", "b", "m", 0), ("s", "a", "m", 1)}
    store.set_run_status("abc111", "completed", finished_at="2026-01-01T00:01:00", prices={"m": {"x": 1}})
    assert store.get_run("abc111").prices == {"m": {"x": 1}}
    assert [(run.id, n) for run, n in store.list_runs()] == [("abc222", 0), ("abc111", 3)]
    with pytest.raises(BenchrouteError, match="ambiguous"):
        store.get_run("abc")


def test_cache_quarantine_and_load_samples(store_url: str) -> None:
    store = Store(store_url)
    stored = [f"k{i:04d}" for i in range(1100)]
    store.cache_put([(k, "m", {"text": k}, "2026-01-01T00:00:00") for k in stored])
    store.cache_put([("k0001", "m", {"text": "later"}, "2026-01-02T00:00:00")])  # first write wins
    assert store.cached_keys([*stored, "nope"]) == set(stored)
    assert store.cache_get("k0001") == {"text": "k0001"} and store.cache_get("nope") is None

    store.create_run(_run())
    store.add_results([_result("a")])
    assert store.has_case("s", "a") and not store.has_case("s", "zz")
    assert store.quarantine("s", "a", "flaky") and not store.quarantine("s", "a", "again")
    assert [(q.suite, q.case_id, q.reason) for q in store.quarantined()] == [("s", "a", "flaky")]
    assert store.unquarantine("s", "a") and store.quarantined() == []

    samples = [LoadSample("s", "m", i, i * 0.01, i * 0.01, 20.0, None, "ok", None, 0) for i in range(300)]
    assert store.add_load_samples("r1", samples) == 300
    store.add_load_samples("r1", samples[:10])  # already stored: ignored
    assert store.load_samples("r1") == samples


def test_a_run_through_the_runner_and_its_resume(store_url: str, tmp_path: Path, fake: FakeServer) -> None:
    project_path = write_project(
        tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}}, store=store_url
    )
    cases = [{"id": f"c{i}", "input": f"answer {i}", "expected": f"answer {i}"} for i in range(20)]
    suite = load_suite(write_suite(tmp_path, "s", cases))
    project = load_project(project_path)
    store = Store(project.store_url())
    outcome = asyncio.run(Runner(project, store, RunOptions(concurrency=8)).run([suite]))
    assert outcome.status == "completed" and len(outcome.results) == 20
    again = asyncio.run(Runner(project, store, RunOptions(concurrency=8)).resume(outcome.run_id))
    assert len(again.results) == 20 and len(fake.requests) == 20  # nothing left to send
    rerun = asyncio.run(Runner(project, store, RunOptions(concurrency=8)).run([suite]))
    assert all(r.cached for r in rerun.results) and len(fake.requests) == 20  # the cache answered


def test_the_cli_runs_against_postgresql(postgres_url: str, tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", [{"id": "c0", "input": "answer 0", "expected": "answer 0"}])
    summary = tmp_path / "summary.json"
    options = ["--config", str(project), "--db", postgres_url]
    ran = run_cli("run", str(suite), *options, "--summary-json", str(summary))
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(summary.read_text())["run_id"]
    listed = run_cli("runs", "list", *options)
    assert run_id in listed.stdout


def test_a_bad_postgresql_store_is_one_line_without_the_password(
    postgres_server: TemporaryPostgres, tmp_path: Path, fake: FakeServer
) -> None:
    url = postgres_server.url("no_such_database", password="s3cret-pw")
    with pytest.raises(BenchrouteError) as info:
        Store(url)
    message = str(info.value)
    assert "no_such_database" in message and "s3cret-pw" not in message and "***" in message
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", [{"id": "c0", "input": "a", "expected": "a"}])
    ran = run_cli("run", str(suite), "--config", str(project), "--db", url)
    assert ran.returncode == 3 and "Traceback" not in ran.stderr
    assert "s3cret-pw" not in ran.stdout + ran.stderr and "does not exist" in ran.stderr


def test_a_missing_driver_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(BenchrouteError, match="driver is not installed") as info:
        Store("mysql+pymysql://user:hunter2@127.0.0.1/db")  # pymysql is not a dependency
    assert "hunter2" not in str(info.value)
    with pytest.raises(BenchrouteError, match="not a database URL"):
        Store("::not a url::")


def test_an_m002_database_upgrades_to_nullable_costs(store_url: str) -> None:
    # The database an m002 release made, made by the shipped migrations themselves.
    from benchroute.store._schema import migrations as migrations_table

    engine = sqlalchemy.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://", 1))
    old = [(name, migrate) for name, migrate in MIGRATIONS if name < "m003"]
    with engine.begin() as conn:
        migrations_table.create(conn)
        for name, migrate in old:
            migrate(conn)
            conn.execute(migrations_table.insert().values(name=name, applied_at="2026-01-01T00:00:00"))
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO results (run_id, suite, case_id, model, repeat, messages, output, scores,"
                " score, passed, input_tokens, output_tokens, cached_input_tokens, cost_usd, latency_ms,"
                " retries, cached, created_at, details) VALUES ('r1', 's', 'a', 'm', 0, '[]', 'old',"
                " '[]', 1.0, true, 3, 4, 0, 0.5, 12.5, 2, false, '2026-01-01T00:00:00', '{\"n\": 1}')"
            )
        )
    engine.dispose()
    store = Store(store_url)
    try:
        (kept,) = store.results("r1")
        assert (kept.output, kept.cost_usd, kept.latency_ms, kept.retries) == ("old", 0.5, 12.5, 2)
        assert kept.details == {"n": 1} and kept.e2e_latency_ms is None
        store.add_results([_result("b", run_id="r1"), stored_result("c", cost_usd=None, e2e_latency_ms=99.0)])
        by_case = {r.case_id: r for r in store.results("r1")}
        assert by_case["c"].cost_usd is None and by_case["c"].e2e_latency_ms == 99.0
        assert by_case["b"].cost_usd == 0.000125
    finally:
        store.close()
