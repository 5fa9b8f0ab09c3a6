"""Append-only schema migrations.

Each migration is a named function applied once, in order, inside a transaction, and
recorded in the ``migrations`` table. Never edit a migration that has shipped: append a new
one (``m002_...``) and update ``_schema.py`` to match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
)

from . import _schema


def m001_initial(conn: Connection) -> None:
    metadata = MetaData()
    Table(
        "runs",
        metadata,
        Column("id", String(32), primary_key=True),
        Column("suites", Text, nullable=False),
        Column("config", Text, nullable=False),
        Column("package_version", String(40), nullable=False),
        Column("prices", Text, nullable=False),
        Column("started_at", String(40), nullable=False),
        Column("finished_at", String(40)),
        Column("status", String(20), nullable=False),
        Column("error", Text),
    )
    Table(
        "results",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", String(32), nullable=False, index=True),
        Column("suite", String(200), nullable=False),
        Column("case_id", String(200), nullable=False),
        Column("model", String(200), nullable=False),
        Column("repeat", Integer, nullable=False),
        Column("messages", Text, nullable=False),
        Column("output", Text),
        Column("scores", Text, nullable=False),
        Column("score", Float),
        Column("passed", Boolean, nullable=False),
        Column("input_tokens", Integer, nullable=False),
        Column("output_tokens", Integer, nullable=False),
        Column("cached_input_tokens", Integer, nullable=False),
        Column("cost_usd", Float, nullable=False),
        Column("latency_ms", Float),
        Column("ttft_ms", Float),
        Column("retries", Integer, nullable=False),
        Column("error", Text),
        Column("error_kind", String(40)),
        Column("served_model", String(200)),
        Column("system_fingerprint", String(200)),
        Column("cached", Boolean, nullable=False),
        Column("created_at", String(40), nullable=False),
        UniqueConstraint("run_id", "suite", "case_id", "model", "repeat", name="uq_result_key"),
    )
    Table(
        "response_cache",
        metadata,
        Column("key", String(64), primary_key=True),
        Column("model", String(200), nullable=False),
        Column("completion", Text, nullable=False),
        Column("created_at", String(40), nullable=False),
    )
    metadata.create_all(conn)


def m002_details_load_quarantine(conn: Connection) -> None:
    """Per-result details (conversation transcripts, per-turn figures), the per-request
    samples of stress runs, and quarantined (flaky) cases.

    Safe to run again after being cut short: SQLite commits an ALTER TABLE at once, outside
    the migration's transaction, so a process killed after it (or a second process opening the
    same old database) would otherwise leave a store that fails with "duplicate column".
    """
    if "details" not in {column["name"] for column in inspect(conn).get_columns("results")}:
        conn.exec_driver_sql("ALTER TABLE results ADD COLUMN details TEXT")
    metadata = MetaData()
    Table(
        "load_samples",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", String(32), nullable=False, index=True),
        Column("suite", String(200), nullable=False),
        Column("model", String(200), nullable=False),
        Column("seq", Integer, nullable=False),
        Column("scheduled_s", Float, nullable=False),
        Column("sent_s", Float),
        Column("latency_ms", Float),
        Column("ttft_ms", Float),
        Column("outcome", String(20), nullable=False),
        Column("error_kind", String(40)),
        Column("retries", Integer, nullable=False),
        UniqueConstraint("run_id", "suite", "model", "seq", name="uq_load_sample"),
    )
    Table(
        "quarantine",
        metadata,
        Column("suite", String(200), primary_key=True),
        Column("case_id", String(200), primary_key=True),
        Column("reason", Text, nullable=False),
        Column("created_at", String(40), nullable=False),
    )
    metadata.create_all(conn)


def _m003_results_table(metadata: MetaData, name: str) -> Table:
    """The results table as m003 leaves it (frozen here: later schema changes append)."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", String(32), nullable=False),
        Column("suite", String(200), nullable=False),
        Column("case_id", String(200), nullable=False),
        Column("model", String(200), nullable=False),
        Column("repeat", Integer, nullable=False),
        Column("messages", Text, nullable=False),
        Column("output", Text),
        Column("scores", Text, nullable=False),
        Column("score", Float),
        Column("passed", Boolean, nullable=False),
        Column("input_tokens", Integer, nullable=False),
        Column("output_tokens", Integer, nullable=False),
        Column("cached_input_tokens", Integer, nullable=False),
        Column("cost_usd", Float),
        Column("latency_ms", Float),
        Column("ttft_ms", Float),
        Column("retries", Integer, nullable=False),
        Column("error", Text),
        Column("error_kind", String(40)),
        Column("served_model", String(200)),
        Column("system_fingerprint", String(200)),
        Column("cached", Boolean, nullable=False),
        Column("created_at", String(40), nullable=False),
        Column("details", Text),
        Column("e2e_latency_ms", Float),
        UniqueConstraint("run_id", "suite", "case_id", "model", "repeat", name="uq_result_key"),
    )


_M003_REBUILT = "results_m003"


def m003_honest_figures(conn: Connection) -> None:
    """An unknown cost is NULL, not 0 (``results.cost_usd`` becomes nullable), and each result
    records the end-to-end latency its caller waited (``e2e_latency_ms``, NULL for old rows).

    PostgreSQL drops the NOT NULL in place. SQLite cannot, so the results table is rebuilt:
    a copy with the new definition, every row copied with its id, the old table dropped and
    the copy renamed. SQLite may commit DDL outside the migration's transaction, so every
    step checks what an earlier, cut-short attempt left: a copy without the original (killed
    after the drop) is renamed; a copy next to the original (killed before the drop) is
    discarded and made again; a table already in the new shape is left as it is.
    """
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql("ALTER TABLE results ALTER COLUMN cost_usd DROP NOT NULL")
        conn.exec_driver_sql("ALTER TABLE results ADD COLUMN IF NOT EXISTS e2e_latency_ms FLOAT")
        return
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    if "results" not in tables and _M003_REBUILT in tables:
        conn.exec_driver_sql(f"ALTER TABLE {_M003_REBUILT} RENAME TO results")
    else:
        columns = {column["name"]: column for column in inspector.get_columns("results")}
        done = "e2e_latency_ms" in columns and columns["cost_usd"]["nullable"]
        if _M003_REBUILT in tables:
            conn.exec_driver_sql(f"DROP TABLE {_M003_REBUILT}")
        if not done:
            rebuilt = _m003_results_table(MetaData(), _M003_REBUILT)
            rebuilt.create(conn)
            # Every column the old table has (details only if m002 added it), by name.
            kept = ", ".join(f'"{c.name}"' for c in rebuilt.columns if c.name in columns)
            conn.exec_driver_sql(f"INSERT INTO {_M003_REBUILT} ({kept}) SELECT {kept} FROM results")
            conn.exec_driver_sql("DROP TABLE results")
            conn.exec_driver_sql(f"ALTER TABLE {_M003_REBUILT} RENAME TO results")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_results_run_id ON results (run_id)")


def _m004_tables(metadata: MetaData) -> list[Table]:
    """The tables m004 adds, frozen here as m004 creates them."""
    return [
        Table(
            "endpoints",
            metadata,
            Column("id", String(16), primary_key=True),
            Column("provider", String(40), nullable=False),
            Column("base_url", Text),
            Column("model", String(200), nullable=False),
            Column("params", Text, nullable=False),
            Column("first_seen_ts", Float, nullable=False),
        ),
        Table(
            "price_snapshots",
            metadata,
            Column("id", String(16), primary_key=True),
            Column("created_ts", Float, nullable=False),
            Column("prices", Text, nullable=False),
        ),
        Table(
            "scores",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("result_id", Integer, nullable=False),
            Column("run_id", String(32), nullable=False),
            Column("suite", String(200), nullable=False),
            Column("model", String(200), nullable=False),
            Column("name", String(200), nullable=False),
            Column("value", Float),
            Column("passed", Boolean),
            Column("refused", Boolean),
            Column("error", Boolean, nullable=False),
        ),
        Table(
            "run_metrics",
            metadata,
            Column("run_id", String(32), primary_key=True),
            Column("suite", String(200), primary_key=True),
            Column("model", String(200), primary_key=True),
            Column("metric", String(200), primary_key=True),
            Column("endpoint_id", String(16)),
            Column("value", Float),
            Column("n", Integer, nullable=False),
            Column("served_model", String(200)),
            Column("system_fingerprint", String(200)),
            Column("suite_fingerprint", String(64)),
        ),
        Table(
            "drift_flags",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("created_ts", Float, nullable=False),
            Column("run_id", String(32), nullable=False),
            Column("suite", String(200), nullable=False),
            Column("model", String(200), nullable=False),
            Column("endpoint_id", String(16)),
            Column("metric", String(200), nullable=False),
            Column("finding", Text, nullable=False),
        ),
        Table(
            "alert_deliveries",
            metadata,
            Column("id", String(32), primary_key=True),
            Column("created_ts", Float, nullable=False),
            Column("target", Text, nullable=False),
            Column("kind", String(40), nullable=False),
            Column("payload", Text, nullable=False),
            Column("status", String(20), nullable=False),
            Column("attempts", Integer, nullable=False),
            Column("last_error", Text),
        ),
    ]


_M004_COLUMNS = {
    "runs": [
        ("trigger", "VARCHAR(20) NOT NULL DEFAULT 'manual'"),
        ("git_sha", "VARCHAR(64)"),
        ("branch", "VARCHAR(200)"),
        ("host", "VARCHAR(200)"),
        ("started_ts", "FLOAT"),
        ("finished_ts", "FLOAT"),
        ("price_snapshot_id", "VARCHAR(16)"),
        ("metrics_ts", "FLOAT"),
    ],
    "results": [
        ("endpoint_id", "VARCHAR(16)"),
        ("suite_fingerprint", "VARCHAR(64)"),
        ("case_hash", "VARCHAR(64)"),
        ("cache_write_tokens", "INTEGER NOT NULL DEFAULT 0"),
        ("reasoning_tokens", "INTEGER NOT NULL DEFAULT 0"),
        ("created_ts", "FLOAT"),
    ],
}

_M004_INDEXES = [
    ("ix_runs_started_ts", "runs", "started_ts"),
    ("ix_results_suite_model_time", "results", "suite, model, created_ts"),
    ("ix_results_suite_endpoint_time", "results", "suite, endpoint_id, created_ts"),
    ("ix_scores_run_suite_model_name", "scores", "run_id, suite, model, name"),
    ("ix_scores_result_id", "scores", "result_id"),
    ("ix_run_metrics_suite_model_metric", "run_metrics", "suite, model, metric"),
    ("ix_run_metrics_suite_endpoint", "run_metrics", "suite, endpoint_id"),
    ("ix_drift_flags_suite_time", "drift_flags", "suite, created_ts"),
    ("ix_drift_flags_endpoint", "drift_flags", "endpoint_id"),
    ("ix_alert_deliveries_status", "alert_deliveries", "status"),
]


def iso_to_epoch(text: str | None) -> float | None:
    """Epoch seconds of a stored ISO timestamp (UTC when it names no zone); None if unreadable."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def score_rows(result_id: int, run_id: str, suite: str, model: str, scores: Any) -> list[dict[str, Any]]:
    """The ``scores`` rows of one result's stored score list (``Score.to_json()`` items)."""
    rows: list[dict[str, Any]] = []
    for item in scores if isinstance(scores, list) else []:
        if not isinstance(item, dict) or not item.get("scorer"):
            continue
        details = item.get("details") if isinstance(item.get("details"), dict) else {}
        refused = details.get("refused") if isinstance(details, dict) else None
        value = item.get("value")
        rows.append(
            {
                "result_id": result_id,
                "run_id": run_id,
                "suite": suite,
                "model": model,
                "name": str(item["scorer"])[:200],
                "value": float(value)
                if isinstance(value, int | float) and not isinstance(value, bool)
                else None,
                "passed": item.get("passed") if isinstance(item.get("passed"), bool) else None,
                "refused": refused if isinstance(refused, bool) else None,
                "error": item.get("kind") == "error",
            }
        )
    return rows


def prices_id(prices_json: str) -> str:
    return hashlib.sha256(prices_json.encode()).hexdigest()[:16]


def m004_time_series(conn: Connection) -> None:
    """The store as a time series: endpoints, versioned price snapshots, queryable scores,
    per-run aggregates (``run_metrics``), drift flags and alert deliveries; runs gain their
    trigger, git SHA, branch, host and epoch timestamps; results their endpoint, suite
    fingerprint, case hash, the rest of the usage and an epoch timestamp; indexes on
    (suite, model/endpoint, time).

    Existing rows are kept and backfilled: epoch times from the ISO strings, one price
    snapshot per distinct price set, the scores table from each result's JSON scores (in
    batches). ``run_metrics`` of old runs are computed on their first query. Idempotent on a
    cut-short state: columns, tables and indexes are added only when missing.
    """
    inspector = inspect(conn)
    for table, columns in _M004_COLUMNS.items():
        have = {c["name"] for c in inspector.get_columns(table)}
        for name, ddl in columns:
            if name not in have:
                conn.exec_driver_sql(f'ALTER TABLE {table} ADD COLUMN "{name}" {ddl}')
    metadata = MetaData()
    fresh_scores = not inspector.has_table("scores")
    for table_def in _m004_tables(metadata):
        table_def.create(conn, checkfirst=True)
    for index, on, keys in _M004_INDEXES:
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {index} ON {on} ({keys})")
    now = datetime.now(UTC).timestamp()
    runs = conn.exec_driver_sql(
        "SELECT id, started_at, finished_at, prices FROM runs WHERE started_ts IS NULL"
    ).all()
    snapshots: set[str] = set(conn.exec_driver_sql("SELECT id FROM price_snapshots").scalars())
    for run_id, started_at, finished_at, prices in runs:
        snapshot = prices_id(prices)
        if snapshot not in snapshots:
            conn.execute(
                insert_stmt("price_snapshots"),
                {"id": snapshot, "created_ts": iso_to_epoch(started_at) or now, "prices": prices},
            )
            snapshots.add(snapshot)
        conn.execute(
            update_run_stmt(),
            {
                "rid": run_id,
                "started_ts": iso_to_epoch(started_at) or now,
                "finished_ts": iso_to_epoch(finished_at),
                "price_snapshot_id": snapshot,
            },
        )
    # Results: each takes its own creation time (its run's start when unreadable).
    rows = conn.exec_driver_sql("SELECT id, created_at FROM results WHERE created_ts IS NULL").all()
    for start in range(0, len(rows), 5000):
        batch = [
            {"rid": rid, "ts": iso_to_epoch(created) or now} for rid, created in rows[start : start + 5000]
        ]
        conn.execute(text("UPDATE results SET created_ts = :ts WHERE id = :rid"), batch)
    if fresh_scores or not conn.exec_driver_sql("SELECT 1 FROM scores LIMIT 1").first():
        last = 0
        while True:
            chunk = conn.exec_driver_sql(
                f"SELECT id, run_id, suite, model, scores FROM results WHERE id > {int(last)} "
                "ORDER BY id LIMIT 5000"
            ).all()
            if not chunk:
                break
            out: list[dict[str, Any]] = []
            for rid, run_id, suite, model, scores in chunk:
                try:
                    parsed = json.loads(scores)
                except (TypeError, ValueError):
                    parsed = []
                out.extend(score_rows(rid, run_id, suite, model, parsed))
            if out:
                conn.execute(insert_stmt("scores"), out)
            last = chunk[-1][0]


def insert_stmt(table: str) -> Any:
    for candidate in _m004_tables(MetaData()):
        if candidate.name == table:
            return candidate.insert()
    raise KeyError(table)


def update_run_stmt() -> Any:
    return text(
        "UPDATE runs SET started_ts = :started_ts, finished_ts = :finished_ts, "
        "price_snapshot_id = :price_snapshot_id WHERE id = :rid"
    )


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("m001_initial", m001_initial),
    ("m002_details_load_quarantine", m002_details_load_quarantine),
    ("m003_honest_figures", m003_honest_figures),
    ("m004_time_series", m004_time_series),
]


def apply_migrations(conn: Connection) -> list[str]:
    """Apply the migrations this database has not seen; return their names."""
    if not inspect(conn).has_table("migrations"):
        _schema.migrations.create(conn)
    applied = set(conn.execute(select(_schema.migrations.c.name)).scalars())
    done: list[str] = []
    for name, migrate in MIGRATIONS:
        if name in applied:
            continue
        migrate(conn)
        conn.execute(_schema.migrations.insert().values(name=name, applied_at=datetime.now(UTC).isoformat()))
        done.append(name)
    return done


# --- m005_gateway (owned by the gateway; store migrations before it stay above) -------------


def _m005_tables(metadata: MetaData) -> list[Table]:
    return [
        Table(
            "requests",
            metadata,
            Column("id", String(32), primary_key=True),
            Column("receipt_id", String(32), nullable=False, unique=True),
            Column("created_ts", Float, nullable=False),
            Column("alias", String(200), nullable=False),
            Column("endpoint_id", String(16)),
            Column("served_model", String(200)),
            Column("model", String(200)),
            Column("key_id", String(32)),
            Column("attempts", Integer, nullable=False),
            Column("status", Integer, nullable=False),
            Column("error_kind", String(40)),
            Column("latency_ms", Float),
            Column("ttft_ms", Float),
            Column("input_tokens", Integer),
            Column("output_tokens", Integer),
            Column("cached_tokens", Integer),
            Column("cost_usd", Float),
            Column("stream", Boolean, nullable=False),
            Column("receipt", Text, nullable=False),
            Column("request_payload", Text),
            Column("response_payload", Text),
        ),
        Table(
            "gateway_keys",
            metadata,
            Column("id", String(32), primary_key=True),
            Column("name", String(200), nullable=False),
            Column("hash", String(128), nullable=False, unique=True),
            Column("prefix", String(16), nullable=False),
            Column("created_ts", Float, nullable=False),
            Column("revoked_ts", Float),
            Column("rpm", Integer),
            Column("tpm", Integer),
            Column("budget_usd", Float),
            Column("spent_usd", Float, nullable=False),
            Column("allowed_aliases", Text),
        ),
    ]


def m005_gateway(conn: Connection) -> None:
    """The gateway's request log (``requests``, one row per answered request, with its
    decision receipt) and its API keys (``gateway_keys``, the secret only as a hash).

    Idempotent on a cut-short state: a table an earlier attempt created is kept, and indexes
    are created only when missing."""
    metadata = MetaData()
    for table in _m005_tables(metadata):
        table.create(conn, checkfirst=True)
    for name, columns in (
        ("ix_requests_created_ts", "created_ts"),
        ("ix_requests_alias_created", "alias, created_ts"),
    ):
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON requests ({columns})")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_requests_key_id ON requests (key_id)")


MIGRATIONS.append(("m005_gateway", m005_gateway))


# --- m006_routing (owned by routing: policies, feedback, the routed request's class) ----------


def _m006_tables(metadata: MetaData) -> list[Table]:
    return [
        Table(
            "policies",
            metadata,
            Column("version", Integer, primary_key=True, autoincrement=True),
            Column("digest", String(64), nullable=False),
            Column("created_ts", Float, nullable=False),
            Column("source", String(40), nullable=False),
            Column("note", Text),
            Column("document", Text, nullable=False),
        ),
        Table(
            "policy_activations",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("version", Integer, nullable=False),
            Column("created_ts", Float, nullable=False),
            Column("reason", Text, nullable=False),
        ),
        Table(
            "feedback",
            metadata,
            Column("id", String(32), primary_key=True),
            Column("request_id", String(32), nullable=False),
            Column("created_ts", Float, nullable=False),
            Column("score", Float),
            Column("thumbs", Integer),
            Column("label", String(200)),
            Column("source", String(20), nullable=False),
            Column("key_id", String(32)),
        ),
    ]


def m006_routing(conn: Connection) -> None:
    """Routing: versioned policy documents (``policies``) and which one is active when
    (``policy_activations``), production feedback per request (``feedback``), and, on each
    logged request, the task class, the policy version it was served under, its canary arm
    and the model the router put first for it. Idempotent on a cut-short state, like m005."""
    metadata = MetaData()
    for table in _m006_tables(metadata):
        table.create(conn, checkfirst=True)
    have = {column["name"] for column in inspect(conn).get_columns("requests")}
    for name, kind in (
        ("task_class", "VARCHAR(100)"),
        ("policy_version", "INTEGER"),
        ("arm", "VARCHAR(20)"),
        ("first_model", "VARCHAR(200)"),
    ):
        if name not in have:
            conn.exec_driver_sql(f"ALTER TABLE requests ADD COLUMN {name} {kind}")
    for name, on, columns in (
        ("ix_policies_digest", "policies", "digest"),
        ("ix_feedback_request_id", "feedback", "request_id"),
        ("ix_feedback_created_ts", "feedback", "created_ts"),
        ("ix_requests_class_created", "requests", "task_class, created_ts"),
    ):
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {on} ({columns})")


MIGRATIONS.append(("m006_routing", m006_routing))


# --- m007_datasets (owned by suites: versioned datasets and golden sets) -----------------------


def _m007_tables(metadata: MetaData) -> list[Table]:
    return [
        Table(
            "datasets",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("name", String(200), nullable=False),
            Column("version", Integer, nullable=False),
            Column("created_ts", Float, nullable=False),
            Column("kind", String(40), nullable=False),
            Column("case_count", Integer, nullable=False),
            Column("digest", String(64), nullable=False),
            Column("parent_version", Integer),
            Column("provenance", Text, nullable=False),
            Column("scrub", Text),
            Column("note", Text),
            UniqueConstraint("name", "version", name="uq_datasets_name_version"),
        ),
        Table(
            "dataset_cases",
            metadata,
            Column("dataset_id", Integer, primary_key=True),
            Column("position", Integer, primary_key=True),
            Column("case_id", String(300), nullable=False),
            Column("body", Text, nullable=False),
        ),
    ]


def m007_datasets(conn: Connection) -> None:
    """Versioned datasets (``datasets``: one row per name and version, with provenance and
    the scrub report) and their cases (``dataset_cases``, in order). A version is written in
    one transaction and never changed: appending makes a new version. Idempotent on a
    cut-short state, like m005."""
    metadata = MetaData()
    for table in _m007_tables(metadata):
        table.create(conn, checkfirst=True)
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_dataset_cases_case_id ON dataset_cases (dataset_id, case_id)"
    )


MIGRATIONS.append(("m007_datasets", m007_datasets))
