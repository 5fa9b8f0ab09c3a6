"""Append-only schema migrations.

Each migration is a named function applied once, in order, inside a transaction, and
recorded in the ``migrations`` table. Never edit a migration that has shipped: append a new
one (``m002_...``) and update ``_schema.py`` to match.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

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


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("m001_initial", m001_initial),
    ("m002_details_load_quarantine", m002_details_load_quarantine),
    ("m003_honest_figures", m003_honest_figures),
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
