"""Migration m005_gateway (the request log and gateway keys) and its store API."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, inspect

from benchroute.store import MIGRATIONS, GatewayKey, RequestLog, Store, _schema


def test_m005_and_m006_follow_the_core_and_match_the_schema(tmp_path: Path) -> None:
    names = [name for name, _ in MIGRATIONS]
    assert names.index("m006_routing") == names.index("m005_gateway") + 1
    assert names.index("m005_gateway") > names.index("m003_honest_figures")
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    inspector = inspect(store.engine)
    tables = (
        _schema.requests,
        _schema.gateway_keys,
        _schema.policies,
        _schema.policy_activations,
        _schema.feedback,
    )
    for table in tables:
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert list(columns) == [c.name for c in table.columns]
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, column.name
        indexes = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes(table.name)}
        expected = {ix.name: [c.name for c in ix.columns] for ix in table.indexes}
        assert indexes == expected, table.name
    store.close()


def test_m005_is_idempotent_on_a_cut_short_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    Store(url).close()
    # As if the process died after m005 created its tables but before it was recorded.
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM migrations WHERE name = 'm005_gateway'")
        conn.exec_driver_sql("DROP INDEX ix_requests_key_id")
    engine.dispose()
    store = Store(url)
    assert "ix_requests_key_id" in {ix["name"] for ix in inspect(store.engine).get_indexes("requests")}
    store.close()


def test_request_rows_and_receipts_round_trip(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    log = RequestLog(store)
    now = time.time()
    rows = [
        {
            "id": f"r{i}",
            "receipt_id": f"r{i}",
            "created_ts": now + i,
            "alias": "support",
            "attempts": 1,
            "status": 200,
            "stream": i % 2 == 0,
            "receipt": {"id": f"r{i}", "candidates": []},
            "cost_usd": None,
        }
        for i in range(3)
    ]
    assert log.add_requests(rows) == 3
    assert log.count_requests() == 3
    assert log.receipt("r1") == {"id": "r1", "candidates": []}
    assert log.receipt("missing") is None
    stored = log.requests(alias="support")
    assert [r["id"] for r in stored] == ["r0", "r1", "r2"]
    assert stored[0]["stream"] is True and stored[0]["cost_usd"] is None and stored[0]["input_tokens"] is None
    store.close()


def test_gateway_keys_are_stored_hashed_and_revocable(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    log = RequestLog(store)
    key = GatewayKey(
        id="k1",
        name="ci",
        hash="ab" * 32,
        prefix="brk_abcd",
        created_ts=1.0,
        revoked_ts=None,
        rpm=60,
        tpm=None,
        budget_usd=5.0,
        spent_usd=0.0,
        allowed_aliases=("support",),
    )
    log.add_key(key)
    log.add_spend({"k1": 0.25})
    log.add_spend({"k1": 0.5})
    (stored,) = log.keys()
    assert stored.spent_usd == 0.75 and stored.allowed_aliases == ("support",) and not stored.revoked
    assert log.revoke_key("ci", revoked_ts=2.0)
    assert not log.revoke_key("ci", revoked_ts=3.0)
    assert log.keys(include_revoked=False) == []
    store.close()


def test_the_request_log_on_postgresql(postgres_url: str) -> None:
    store = Store(postgres_url)
    log = RequestLog(store)
    row = {
        "id": "p1",
        "receipt_id": "p1",
        "created_ts": time.time(),
        "alias": "support",
        "attempts": 2,
        "status": 200,
        "stream": True,
        "receipt": {"id": "p1"},
        "cost_usd": 0.5,
    }
    assert log.add_requests([row]) == 1
    assert log.receipt("p1") == {"id": "p1"}
    (stored,) = log.requests()
    assert stored["stream"] is True and stored["attempts"] == 2 and stored["cost_usd"] == 0.5
    store.close()
    Store(postgres_url).close()  # migrating again is a no-op
