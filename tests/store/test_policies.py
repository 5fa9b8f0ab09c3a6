"""Routing's tables (m006) on SQLite and PostgreSQL: versions, activations, feedback joined
to the request log, spend per endpoint; a store from before m006 upgrades with its rows."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy

from benchroute.store import PolicyStore, RequestLog, Store, policy_digest


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        return Store(f"sqlite:///{tmp_path / 'store.db'}")
    url: str = request.getfixturevalue("postgres_url")
    return Store(url)


DOC = {"format": "benchroute.policy/1", "classes": {"g": {"route": [{"model": "a"}]}}}


def test_versions_and_activations(store: Store) -> None:
    policies = PolicyStore(store)
    assert policies.active() is None and policies.latest_version() is None
    v1 = policies.add_policy(DOC, source="build", note="first")
    v2 = policies.add_policy({**DOC, "note": "x"}, source="build")
    assert (v1, v2) == (1, 2)
    assert policies.add_policy(DOC, source="file", reuse=True) == v1  # same content: reused
    assert policies.add_policy(DOC, source="file") == 3  # asked for a copy
    policies.activate(v2, "because")
    policies.activate(v1, "back")
    assert policies.active_version() == v1
    stored = policies.active()
    assert stored is not None and stored.document["version"] == 1 and stored.note == "first"
    assert stored.digest == policy_digest(DOC)
    assert [a.version for a in policies.activations()] == [1, 2]
    assert [p.version for p in policies.policies(limit=2)] == [3, 2]
    with pytest.raises(KeyError):
        policies.activate(99, "no such version")


def test_feedback_joins_routed_requests_and_spend(store: Store) -> None:
    now = time.time()
    base = {"alias": "benchroute", "attempts": 1, "status": 200, "stream": False, "receipt": {}}
    RequestLog(store).add_requests(
        [
            {**base, "id": "r1", "receipt_id": "r1", "created_ts": now, "endpoint_id": "e1", "model": "a",
             "cost_usd": 0.5, "task_class": "g", "policy_version": 1, "arm": "primary"},
            {**base, "id": "r2", "receipt_id": "r2", "created_ts": now, "endpoint_id": "e1", "model": "a",
             "cost_usd": None, "task_class": "g", "policy_version": 1, "arm": "canary"},
            {**base, "id": "r3", "receipt_id": "r3", "created_ts": now, "endpoint_id": "e2", "model": "b",
             "cost_usd": 0.25},
        ]
    )  # fmt: skip
    policies = PolicyStore(store)
    policies.add_feedback(
        [
            {"id": "f1", "request_id": "r1", "created_ts": now, "score": 1.0, "thumbs": 1, "source": "user"},
            {"id": "f2", "request_id": "r1", "created_ts": now, "score": 0.0, "source": "user"},
            {"id": "f3", "request_id": "r1", "created_ts": now, "score": 0.8, "source": "judge"},
        ]
    )
    routed = {row["id"]: row for row in policies.routed_requests()}
    assert set(routed) == {"r1", "r2"}  # r3 was an alias request
    assert routed["r1"]["feedback_score"] == pytest.approx(0.5) and routed["r1"]["feedback_n"] == 2
    assert routed["r1"]["judge_score"] == pytest.approx(0.8)
    assert routed["r2"]["feedback_score"] is None
    assert [r["id"] for r in policies.routed_requests(policy_version=1, task_class="g")] == ["r1", "r2"]
    assert policies.request_exists("r3") and not policies.request_exists("zz")
    assert policies.spend_since(now - 1) == {"e1": pytest.approx(0.5), "e2": pytest.approx(0.25)}
    assert [f["id"] for f in policies.feedback(request_ids=["r1"])] == ["f1", "f2", "f3"]


def test_a_store_from_before_m006_upgrades(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = Store(f"sqlite:///{path}")
    RequestLog(store).add_requests(
        [{"id": "r1", "receipt_id": "r1", "created_ts": 1.0, "alias": "x", "attempts": 1, "status": 200,
          "stream": False, "receipt": {}}]
    )  # fmt: skip
    store.close()
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # back to the m005 state: no routing tables or columns
        conn.exec_driver_sql("DELETE FROM migrations WHERE name = 'm006_routing'")
        for table in ("policies", "policy_activations", "feedback"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("DROP INDEX ix_requests_class_created")
        for column in ("task_class", "policy_version", "arm"):
            conn.exec_driver_sql(f"ALTER TABLE requests DROP COLUMN {column}")
    engine.dispose()
    upgraded = Store(f"sqlite:///{path}")
    rows = RequestLog(upgraded).requests()
    assert [r["id"] for r in rows] == ["r1"] and rows[0]["task_class"] is None
    assert PolicyStore(upgraded).add_policy(DOC, source="t") == 1
