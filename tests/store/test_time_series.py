"""The store as a time series, on SQLite and PostgreSQL: the migrated schema is ``_schema.py``,
old databases upgrade without loss, the SQL aggregates equal a plain computation, concurrent
writers lose nothing, and the series / latest-runs / case-outcome queries filter right."""

from __future__ import annotations

import json
import math
import multiprocessing
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import inspect, types

from benchroute.store import MIGRATIONS, Result, RunRecord, Store, _schema

# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _engine(url: str) -> sqlalchemy.Engine:
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return sqlalchemy.create_engine(url)


def _iso(day: int, hour: int = 0) -> str:
    return datetime(2026, 1, day, hour, tzinfo=UTC).isoformat()


def _run(run_id: str, day: int, *, branch: str | None = None, models: tuple[str, ...] = ("m",)) -> RunRecord:
    return RunRecord(
        id=run_id,
        suites=["s"],
        config={"models": {name: {"provider": "openai", "model": name} for name in models}},
        package_version="0",
        prices={name: {"input_per_mtok": 1.0, "output_per_mtok": 2.0} for name in models},
        started_at=_iso(day),
        branch=branch,
    )


def _result(run_id: str, case: str, *, model: str = "m", repeat: int = 0, **fields: Any) -> Result:
    values: dict[str, Any] = {
        "run_id": run_id,
        "suite": "s",
        "case_id": case,
        "model": model,
        "repeat": repeat,
        "messages": [{"role": "user", "content": "hi"}],
        "output": "x",
        "scores": [{"scorer": "exact", "value": 1.0, "passed": True, "reason": ""}],
        "score": 1.0,
        "passed": True,
        "created_at": _iso(1, 1),
        "cost_usd": 0.001,
        "latency_ms": 10.0,
        "output_tokens": 5,
        "case_hash": f"h-{case}",
    }
    return Result(**{**values, **fields})


def _finish(store: Store, run_id: str, day: int, status: str = "completed") -> None:
    store.set_run_status(run_id, status, finished_at=_iso(day, 2))


def _figures(store: Store, run_id: str, model: str = "m") -> dict[str, tuple[float | None, int]]:
    return {p.metric: (p.value, p.n) for p in store.series("s", model=model) if p.run_id == run_id}


def _close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, abs_tol=1e-9))


# --- the migrated database equals _schema.py --------------------------------------------------


def _affinity(kind: Any) -> str:
    if isinstance(kind, types.Boolean):
        return "bool"
    if isinstance(kind, types.Integer):
        return "int"
    if isinstance(kind, types.Float | types.Numeric):
        return "real"
    if isinstance(kind, types.String):
        return "text"
    return type(kind).__name__  # pragma: no cover - a type this test does not know


def _default(value: Any) -> str | None:
    if value is None:
        return None
    text = str(getattr(value, "arg", value))
    if text.startswith("nextval("):  # PostgreSQL's SERIAL: an autoincrement key, not a default
        return None
    return text.split("::", 1)[0].strip("'\"() ")


def _schema_shape(conn: sqlalchemy.Connection) -> dict[str, Any]:
    inspector = inspect(conn)
    shape: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        columns = {
            c["name"]: (_affinity(c["type"]), bool(c["nullable"]), _default(c.get("default")))
            for c in inspector.get_columns(name)
        }
        pk = tuple(inspector.get_pk_constraint(name)["constrained_columns"])
        indexes = {
            (i["name"], tuple(i["column_names"]))
            for i in inspector.get_indexes(name)
            if not i.get("unique") and not i.get("duplicates_constraint")
        }
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)}
        uniques |= {
            tuple(i["column_names"])
            for i in inspector.get_indexes(name)
            if i.get("unique") and not i.get("duplicates_constraint")
        }
        named_uniques = {u["name"] for u in inspector.get_unique_constraints(name) if u.get("name")}
        shape[name] = {
            "columns": columns,
            "pk": pk,
            "indexes": indexes,
            "uniques": uniques,
            "named": named_uniques,
        }
    return shape


def _metadata_shape() -> dict[str, Any]:
    shape: dict[str, Any] = {}
    for name, table in sorted(_schema.metadata.tables.items()):
        columns = {
            c.name: (_affinity(c.type), bool(c.nullable) and not c.primary_key, _default(c.server_default))
            for c in table.columns
        }
        pk = tuple(c.name for c in table.primary_key.columns)
        indexes = {(i.name, tuple(c.name for c in i.columns)) for i in table.indexes if not i.unique}
        uniques = {
            tuple(c.name for c in u.columns)
            for u in table.constraints
            if isinstance(u, sqlalchemy.UniqueConstraint)
        } | {tuple(c.name for c in i.columns) for i in table.indexes if i.unique}
        named = {
            str(u.name)
            for u in table.constraints
            if isinstance(u, sqlalchemy.UniqueConstraint) and isinstance(u.name, str) and u.name
        }
        shape[name] = {"columns": columns, "pk": pk, "indexes": indexes, "uniques": uniques, "named": named}
    return shape


def test_migrated_database_equals_schema(store_url: str) -> None:
    Store(store_url).close()
    engine = _engine(store_url)
    with engine.connect() as conn:
        found = _schema_shape(conn)
    engine.dispose()
    expected = _metadata_shape()
    assert sorted(found) == sorted(expected)
    differences = []
    for name in expected:
        got, want = found[name], expected[name]
        for column in sorted(set(got["columns"]) | set(want["columns"])):
            if got["columns"].get(column) != want["columns"].get(column):
                differences.append((name, column, got["columns"].get(column), want["columns"].get(column)))
        for part in ("pk", "indexes", "uniques"):
            if got[part] != want[part]:
                differences.append((name, part, got[part], want[part]))
        if not want["named"] <= got["named"]:
            differences.append((name, "named", got["named"], want["named"]))
    assert differences == []


# --- an m002 (and an m003) database upgrades without loss ---------------------------------------

_OLD_SCORES = [
    [{"scorer": "exact", "value": 1.0, "passed": True, "reason": ""}],
    [
        {"scorer": "exact", "value": 0.0, "passed": False, "reason": ""},
        {"scorer": "refusal", "value": 1.0, "passed": False, "reason": "", "details": {"refused": True}},
    ],
    [
        {"scorer": "exact", "value": 1.0, "passed": True, "reason": ""},
        {"scorer": "refusal", "value": 0.0, "passed": True, "reason": "", "details": {"refused": False}},
    ],
    [{"scorer": "exact", "value": None, "passed": False, "reason": "judge down", "kind": "error"}],
]


def _old_database(url: str, before: str) -> list[dict[str, Any]]:
    """A database migrated up to (not including) ``before``, with two runs of results."""
    engine = _engine(url)
    has_e2e = before > "m003"
    rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        _schema.migrations.create(conn)
        for name, migrate in MIGRATIONS:
            if name < before:
                migrate(conn)
                conn.execute(_schema.migrations.insert().values(name=name, applied_at=_iso(1)))
        for run_index, run_id in enumerate(("old1", "old2")):
            conn.execute(
                sqlalchemy.text(
                    "INSERT INTO runs (id, suites, config, package_version, prices, started_at, "
                    "finished_at, status) VALUES (:id, '[\"s\"]', '{}', '0', :prices, :started, "
                    ":finished, 'completed')"
                ),
                {
                    "id": run_id,
                    "prices": json.dumps({"m": {"input_per_mtok": 1.0 + run_index}}),
                    "started": _iso(1 + run_index),
                    "finished": _iso(1 + run_index, 1),
                },
            )
            for i, scores in enumerate(_OLD_SCORES):
                unpriced = run_index == 1 and i == 2
                scorer_error = any(s.get("kind") == "error" for s in scores)
                row = {
                    "run_id": run_id,
                    "suite": "s",
                    "case_id": f"c{i}",
                    "model": "m",
                    "repeat": 0,
                    "messages": "[]",
                    "output": "x",
                    "scores": json.dumps(scores),
                    "score": None if scorer_error else scores[0]["value"],
                    "passed": bool(scores[0]["passed"]) and not scorer_error,
                    "input_tokens": 10,
                    "output_tokens": 4 + i,
                    "cached_input_tokens": 0,
                    # m002 cannot store an unknown cost: its unpriced results said 0.
                    "cost_usd": (None if has_e2e else 0.0) if unpriced else 0.001 * (i + 1),
                    "latency_ms": 100.0 + 10 * i,
                    "retries": 0,
                    "error": "judge down" if scorer_error else None,
                    "error_kind": "scorer" if scorer_error else None,
                    "cached": False,
                    "created_at": _iso(1 + run_index, 1),
                    "details": None,
                }
                if has_e2e:
                    row["e2e_latency_ms"] = 150.0 + 10 * i
                conn.execute(
                    sqlalchemy.text(
                        f"INSERT INTO results ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"
                    ),
                    row,
                )
                rows.append(row)
    engine.dispose()
    return rows


@pytest.mark.parametrize("before", ["m003", "m004"])
def test_old_database_upgrades_without_loss(store_url: str, before: str) -> None:
    given = _old_database(store_url, before)
    store = Store(store_url)
    with store.engine.connect() as conn:
        names = list(conn.execute(sqlalchemy.text("SELECT name FROM migrations ORDER BY name")).scalars())
        assert names == sorted(name for name, _ in MIGRATIONS)
        stored = [
            dict(r)
            for r in conn.execute(
                sqlalchemy.text("SELECT * FROM results ORDER BY run_id, case_id")
            ).mappings()
        ]
        scores = conn.execute(
            sqlalchemy.text("SELECT run_id, name, value, passed, refused, error FROM scores ORDER BY id")
        ).all()
        ts = conn.execute(sqlalchemy.text("SELECT id, started_ts, price_snapshot_id FROM runs")).all()
    assert len(stored) == len(given)
    for old, new in zip(given, stored, strict=True):
        for key, value in old.items():
            if isinstance(value, float):
                assert math.isclose(new[key], value), key
            else:
                assert new[key] == value, key
        assert new["created_ts"] == datetime.fromisoformat(old["created_at"]).timestamp()
        assert new["cache_write_tokens"] == 0 and new["reasoning_tokens"] == 0
    assert all(started and snap for _, started, snap in ts)
    expected_scores = [
        (run_id, s["scorer"], s["value"], s["passed"], (s.get("details") or {}).get("refused"), "kind" in s)
        for run_id in ("old1", "old2")
        for row in _OLD_SCORES
        for s in row
    ]
    assert [(r, n, v, p, None if f is None else bool(f), bool(e)) for r, n, v, p, f, e in scores] == [
        (r, n, v, p, f, e) for r, n, v, p, f, e in expected_scores
    ]
    # run_metrics of the old runs are computed on the first query, from the old rows.
    for run_id in ("old1", "old2"):
        got = _figures(store, run_id)
        rows = [g for g in given if g["run_id"] == run_id]
        measured = [g for g in rows if g["error_kind"] != "scorer"]
        passes = sum(g["passed"] for g in measured)
        costs = [g["cost_usd"] for g in rows]
        cost = None if None in costs else sum(costs)
        lat = sorted(g.get("e2e_latency_ms") or g["latency_ms"] for g in rows)
        assert got["pass_rate"] == (passes / len(measured), len(measured))
        assert got["error_rate"] == (0.0, len(rows))
        assert got["refusal_rate"] == (0.5, 2)
        assert _close(got["cost_total"][0], cost)
        assert _close(got["cost_per_success"][0], None if cost is None else cost / passes)
        assert got["p50_ms"] == (lat[(len(lat) * 50 + 99) // 100 - 1], len(lat))
        assert got["p95_ms"] == (lat[(len(lat) * 95 + 99) // 100 - 1], len(lat))
        assert got["tokens_out"] == (sum(g["output_tokens"] for g in rows) / len(rows), len(rows))
        assert got["score:exact"] == (2 / 3, 3) and got["score:refusal"] == (0.5, 2)
    if before == "m004":  # an m003 database can say "unpriced": its cost is unknown, not 0
        assert _figures(store, "old2")["cost_total"][0] is None
    store.close()


# --- the SQL aggregates equal a plain computation -------------------------------------------------


def _random_results(rng: random.Random, run_id: str, model: str, n: int, unpriced: bool) -> list[Result]:
    out = []
    for i in range(n):
        kind = rng.choices(["ok", "provider", "scorer"], [0.8, 0.1, 0.1])[0]
        refused = rng.random() < 0.2
        exact = float(rng.random() < 0.7)
        judged = round(rng.random(), 3)
        scores: list[dict[str, Any]] = [
            {"scorer": "exact", "value": exact, "passed": bool(exact), "reason": ""},
            {
                "scorer": "refusal",
                "value": float(refused),
                "passed": not refused,
                "reason": "",
                "details": {"refused": refused},
            },
        ]
        if kind == "scorer":
            scores.append({"scorer": "judge", "value": None, "passed": False, "reason": "x", "kind": "error"})
        else:
            scores.append({"scorer": "judge", "value": judged, "passed": judged > 0.5, "reason": ""})
        fields: dict[str, Any] = {
            "scores": scores if kind != "provider" else [],
            "passed": kind == "ok" and bool(exact),
            "score": exact if kind == "ok" else None,
            "output_tokens": rng.randint(1, 400),
            "latency_ms": round(rng.uniform(5, 900), 2),
            "e2e_latency_ms": None if rng.random() < 0.3 else round(rng.uniform(5, 1500), 2),
            "cost_usd": None if unpriced and i == n // 2 else round(rng.uniform(0, 0.01), 6),
        }
        if kind == "provider":
            fields.update(error="timed out", error_kind="timeout", output=None, output_tokens=0)
        elif kind == "scorer":
            fields.update(error="judge: x", error_kind="scorer")
        out.append(_result(run_id, f"c{i:03d}", model=model, **fields))
    return out


def _reference(rows: list[Result]) -> dict[str, tuple[float | None, int]]:
    measured = [r for r in rows if r.error_kind != "scorer"]
    passes = sum(r.passed for r in measured)
    provider_errors = [r for r in rows if r.error is not None and r.error_kind != "scorer"]
    answered = [r for r in rows if r.error is None or r.error_kind == "scorer"]
    costs = [r.cost_usd for r in rows]
    cost = None if None in costs else sum(c for c in costs if c is not None)
    lat = sorted(
        r.e2e_latency_ms if r.e2e_latency_ms is not None else r.latency_ms
        for r in answered
        if (r.e2e_latency_ms if r.e2e_latency_ms is not None else r.latency_ms) is not None
    )
    refusal = [s for r in rows for s in r.scores if s["scorer"] == "refusal" and s.get("kind") != "error"]
    out: dict[str, tuple[float | None, int]] = {
        "pass_rate": (passes / len(measured), len(measured)),
        "error_rate": (len(provider_errors) / len(rows), len(rows)),
        "cost_total": (cost, len(rows)),
        "cost_per_success": (None if cost is None or not passes else cost / passes, passes),
        "tokens_out": (sum(r.output_tokens for r in answered) / len(answered), len(answered)),
        "p50_ms": (lat[math.ceil(len(lat) * 0.50) - 1], len(lat)),
        "p95_ms": (lat[math.ceil(len(lat) * 0.95) - 1], len(lat)),
        "refusal_rate": (sum(s["details"]["refused"] for s in refusal) / len(refusal), len(refusal)),
    }
    for name in ("exact", "refusal", "judge"):
        values = [
            s["value"]
            for r in rows
            for s in r.scores
            if s["scorer"] == name and s.get("kind") != "error" and s["value"] is not None
        ]
        out[f"score:{name}"] = (sum(values) / len(values), len(values))
    return out


def test_aggregates_equal_a_plain_computation(store_url: str) -> None:
    rng = random.Random(1234)
    store = Store(store_url)
    store.create_run(_run("rand", 1, models=("a", "b")))
    rows = {
        "a": _random_results(rng, "rand", "a", 73, False),
        "b": _random_results(rng, "rand", "b", 41, True),
    }
    store.add_results([*rows["a"], *rows["b"]])
    _finish(store, "rand", 1)
    for model, given in rows.items():
        got = _figures(store, "rand", model)
        want = _reference(given)
        assert set(got) == set(want), model
        for metric, (value, n) in want.items():
            assert got[metric][1] == n, (model, metric)
            assert _close(got[metric][0], value), (model, metric, got[metric][0], value)
    assert _figures(store, "rand", "b")["cost_total"][0] is None  # one unpriced result
    assert _figures(store, "rand", "b")["cost_per_success"][0] is None
    store.close()


# --- concurrent writers to PostgreSQL ---------------------------------------------------------

_WRITES, _BATCH = 600, 40


def _writer(url: str, run_id: str) -> None:
    store = Store(url)
    store.create_run(_run(run_id, 1))
    for start in range(0, _WRITES, _BATCH):
        batch = [
            _result(
                run_id,
                f"c{i:04d}",
                scores=[
                    {"scorer": "exact", "value": 1.0, "passed": True, "reason": ""},
                    {
                        "scorer": "refusal",
                        "value": 0.0,
                        "passed": True,
                        "reason": "",
                        "details": {"refused": False},
                    },
                ],
            )
            for i in range(start, start + _BATCH)
        ]
        store.add_results(batch)
        store.add_results(batch[: _BATCH // 2])  # a repeated write stores nothing twice
    _finish(store, run_id, 1)
    store.close()


def test_two_concurrent_writers_to_postgresql_lose_no_row(postgres_url: str) -> None:
    Store(postgres_url).close()  # migrated once, before the writers race
    spawn = multiprocessing.get_context("spawn")
    procs = [spawn.Process(target=_writer, args=(postgres_url, f"w{i}")) for i in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(300)
        assert proc.exitcode == 0
    store = Store(postgres_url)
    with store.engine.connect() as conn:
        counts = dict(
            conn.execute(sqlalchemy.text("SELECT run_id, COUNT(*) FROM results GROUP BY run_id")).all()
        )
        score_counts = dict(
            conn.execute(sqlalchemy.text("SELECT run_id, COUNT(*) FROM scores GROUP BY run_id")).all()
        )
        orphans = conn.execute(
            sqlalchemy.text(
                "SELECT COUNT(*) FROM scores s LEFT JOIN results r ON r.id = s.result_id "
                "WHERE r.id IS NULL OR r.run_id <> s.run_id"
            )
        ).scalar()
    assert counts == {"w0": _WRITES, "w1": _WRITES}
    assert score_counts == {"w0": 2 * _WRITES, "w1": 2 * _WRITES} and orphans == 0
    for run_id in ("w0", "w1"):
        assert _figures(store, run_id)["pass_rate"] == (1.0, _WRITES)
    store.close()


# --- filters, latest runs, case outcomes ------------------------------------------------------


def _history(store: Store) -> None:
    """Five runs of suite s on days 1..5 (main, main, dev, main, running), pass rate rising."""
    for day, branch in ((1, "main"), (2, "main"), (3, "dev"), (4, "main"), (5, "main")):
        run_id = f"d{day}"
        store.create_run(_run(run_id, day, branch=branch, models=("m", "n")))
        store.add_results(
            [
                _result(run_id, f"c{i}", model=model, passed=i < day, latency_ms=float(10 * i + day))
                for model in ("m", "n")
                for i in range(5)
            ]
        )
        if day < 5:
            _finish(store, run_id, day)


def test_series_filters(store_url: str) -> None:
    store = Store(store_url)
    _history(store)
    points = store.series("s", model="m", metrics=["pass_rate"])
    assert [(p.run_id, p.value) for p in points] == [("d1", 0.2), ("d2", 0.4), ("d3", 0.6), ("d4", 0.8)]
    assert points[0].started_at == datetime(2026, 1, 1, tzinfo=UTC) and points[0].price_in == 1.0
    assert [p.run_id for p in store.series("s", model="m", metrics=["pass_rate"], limit_runs=2)] == [
        "d3",
        "d4",
    ]
    since = store.series("s", model="m", metrics=["pass_rate"], since=datetime(2026, 1, 2, tzinfo=UTC))
    assert [p.run_id for p in since] == ["d2", "d3", "d4"]
    main = store.series("s", model="m", metrics=["pass_rate"], branch="main", limit_runs=2)
    assert [p.run_id for p in main] == ["d2", "d4"]
    both = store.series("s", metrics=["pass_rate", "p50_ms"], limit_runs=1)
    assert sorted((p.model, p.metric) for p in both) == [
        ("m", "p50_ms"),
        ("m", "pass_rate"),
        ("n", "p50_ms"),
        ("n", "pass_rate"),
    ]
    assert {p.run_id for p in both} == {"d4"}
    assert store.series("other") == [] and store.series("s", model="zz") == []
    store.close()


def test_latest_runs(store_url: str) -> None:
    store = Store(store_url)
    _history(store)
    assert [r.id for r in store.latest_runs("s")] == ["d4", "d3"]  # d5 is still running
    assert [r.id for r in store.latest_runs("s", n=10, branch="main")] == ["d4", "d2", "d1"]
    assert [r.id for r in store.latest_runs("s", model="n", n=1)] == ["d4"]
    assert store.latest_runs("s", model="zz") == [] and store.latest_runs("other") == []
    _finish(store, "d5", 5, status="interrupted")
    latest = store.latest_runs("s", n=1)
    assert [r.id for r in latest] == ["d5"] and latest[0].branch == "main"
    store.close()


def test_case_outcomes_for_each_metric(store_url: str) -> None:
    store = Store(store_url)
    store.create_run(_run("co", 1))
    refusal = {"scorer": "refusal", "value": 1.0, "passed": False, "reason": "", "details": {"refused": True}}
    store.add_results(
        [
            _result(
                "co",
                "a",
                scores=[{"scorer": "exact", "value": 1.0, "passed": True, "reason": ""}],
                output_tokens=7,
                cost_usd=0.002,
                e2e_latency_ms=30.0,
            ),
            _result(
                "co",
                "b",
                passed=False,
                score=0.0,
                output_tokens=3,
                cost_usd=None,
                latency_ms=20.0,
                scores=[{"scorer": "exact", "value": 0.0, "passed": False, "reason": ""}, refusal],
            ),
            _result(
                "co", "c", passed=False, error="timed out", error_kind="timeout", scores=[], output_tokens=0
            ),
            _result(
                "co",
                "d",
                passed=False,
                score=None,
                error="judge: x",
                error_kind="scorer",
                scores=[{"scorer": "exact", "value": None, "passed": False, "reason": "", "kind": "error"}],
            ),
        ]
    )
    _finish(store, "co", 1)

    def get(metric: str) -> list[tuple[str, bool | None, float | None]]:
        return [(o.case_id, o.passed, o.value) for o in store.case_outcomes("co", "s", "m", metric=metric)]

    assert get("pass") == [("a", True, None), ("b", False, None), ("c", None, None), ("d", None, None)]
    assert [o.case_hash for o in store.case_outcomes("co", "s", "m")] == ["h-a", "h-b", "h-c", "h-d"]
    assert get("latency_ms") == [("a", True, 30.0), ("b", False, 20.0), ("c", None, None), ("d", None, 10.0)]
    assert get("tokens_out") == [("a", True, 7.0), ("b", False, 3.0), ("c", None, None), ("d", None, 5.0)]
    assert get("cost_usd") == [("a", True, 0.002), ("b", False, None), ("c", None, None), ("d", None, 0.001)]
    assert get("refusal") == [("b", True, 1.0)]
    assert get("score:exact") == [("a", True, 1.0), ("b", False, 0.0)]
    with pytest.raises(ValueError, match="unknown case metric"):
        store.case_outcomes("co", "s", "m", metric="nope")
    # Read together (one statement over results, one over scores), each pair is what it is alone;
    # a model without results in the run has none.
    metrics = ["pass", "latency_ms", "tokens_out", "cost_usd", "refusal", "score:exact", "score:absent"]
    many = store.case_outcomes_many("co", "s", [("m", x) for x in metrics] + [("other", "pass")])
    assert many[("other", "pass")] == [] and many[("m", "score:absent")] == []
    for metric in metrics:
        assert many[("m", metric)] == store.case_outcomes("co", "s", "m", metric=metric), metric
    store.close()
