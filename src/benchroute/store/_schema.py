"""The current schema, as SQLAlchemy Core tables used by queries.

The database itself is only ever changed by the append-only migrations in
``_migrations.py``; this module must describe the state after the last of them.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

migrations = Table(
    "migrations",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("applied_at", String(40), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("suites", Text, nullable=False),  # JSON list of suite names
    Column("config", Text, nullable=False),  # JSON snapshot: models, suites with their cases
    Column("package_version", String(40), nullable=False),
    Column("prices", Text, nullable=False),  # JSON snapshot of the prices used
    Column("started_at", String(40), nullable=False),
    Column("finished_at", String(40)),
    Column("status", String(20), nullable=False),  # running, completed, failed, interrupted
    Column("error", Text),
    # m004: provenance and real timestamps (epoch seconds) for the time series.
    Column("trigger", String(20), nullable=False, server_default="manual"),
    Column("git_sha", String(64)),
    Column("branch", String(200)),
    Column("host", String(200)),
    Column("started_ts", Float),
    Column("finished_ts", Float),
    Column("price_snapshot_id", String(16)),
    Column("metrics_ts", Float),  # when run_metrics were computed (NULL: not yet)
    Index("ix_runs_started_ts", "started_ts"),
)

results = Table(
    "results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False, index=True),
    Column("suite", String(200), nullable=False),
    Column("case_id", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("repeat", Integer, nullable=False),
    Column("messages", Text, nullable=False),  # JSON: the request's messages
    Column("output", Text),
    Column("scores", Text, nullable=False),  # JSON list of Score.to_json()
    Column("score", Float),
    Column("passed", Boolean, nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cached_input_tokens", Integer, nullable=False),
    Column("cost_usd", Float),  # NULL (m003): unknown, the model or its judge is unpriced
    Column("latency_ms", Float),
    Column("ttft_ms", Float),
    Column("retries", Integer, nullable=False),
    Column("error", Text),
    Column("error_kind", String(40)),
    Column("served_model", String(200)),
    Column("system_fingerprint", String(200)),
    Column("cached", Boolean, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("details", Text),  # JSON (m002): transcripts, per-turn figures; None for single replies
    Column("e2e_latency_ms", Float),  # m003: what the caller waited, retries and waits included
    # m004
    Column("endpoint_id", String(16)),
    Column("suite_fingerprint", String(64)),
    Column("case_hash", String(64)),
    Column("cache_write_tokens", Integer, nullable=False, server_default="0"),
    Column("reasoning_tokens", Integer, nullable=False, server_default="0"),
    Column("created_ts", Float),
    UniqueConstraint("run_id", "suite", "case_id", "model", "repeat", name="uq_result_key"),
    Index("ix_results_suite_model_time", "suite", "model", "created_ts"),
    Index("ix_results_suite_endpoint_time", "suite", "endpoint_id", "created_ts"),
)

response_cache = Table(
    "response_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("model", String(200), nullable=False),
    Column("completion", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
)

load_samples = Table(
    "load_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False, index=True),
    Column("suite", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("seq", Integer, nullable=False),  # request number within (suite, model)
    Column("scheduled_s", Float, nullable=False),  # when the profile asked for it, from the start
    Column("sent_s", Float),  # when it was sent (after any client-side wait)
    Column("latency_ms", Float),
    Column("ttft_ms", Float),
    Column("outcome", String(20), nullable=False),  # ok, rate_limited, error, timeout, dropped
    Column("error_kind", String(40)),
    Column("retries", Integer, nullable=False),
    UniqueConstraint("run_id", "suite", "model", "seq", name="uq_load_sample"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("suite", String(200), primary_key=True),
    Column("case_id", String(200), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
)


# --- m004_time_series ------------------------------------------------------------------------

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", String(16), primary_key=True),  # ModelSpec.endpoint_id
    Column("provider", String(40), nullable=False),
    Column("base_url", Text),
    Column("model", String(200), nullable=False),
    Column("params", Text, nullable=False),  # JSON
    Column("first_seen_ts", Float, nullable=False),
)

price_snapshots = Table(
    "price_snapshots",
    metadata,
    Column("id", String(16), primary_key=True),  # hash of the prices JSON
    Column("created_ts", Float, nullable=False),
    Column("prices", Text, nullable=False),  # JSON: model name -> how it was priced
)

scores = Table(
    "scores",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("result_id", Integer, nullable=False),
    Column("run_id", String(32), nullable=False),
    Column("suite", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("name", String(200), nullable=False),  # the scorer
    Column("value", Float),
    Column("passed", Boolean),
    Column("refused", Boolean),  # refusal scorers: whether the reply was a refusal
    Column("error", Boolean, nullable=False),  # the scorer (or its judge) failed
    Index("ix_scores_run_suite_model_name", "run_id", "suite", "model", "name"),
    Index("ix_scores_result_id", "result_id"),
)

run_metrics = Table(
    "run_metrics",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("suite", String(200), primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("metric", String(200), primary_key=True),
    Column("endpoint_id", String(16)),
    Column("value", Float),  # NULL: unknown (e.g. a cost with an unpriced result)
    Column("n", Integer, nullable=False),
    Column("served_model", String(200)),
    Column("system_fingerprint", String(200)),
    Column("suite_fingerprint", String(64)),
    Index("ix_run_metrics_suite_model_metric", "suite", "model", "metric"),
    Index("ix_run_metrics_suite_endpoint", "suite", "endpoint_id"),
)

drift_flags = Table(
    "drift_flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_ts", Float, nullable=False),
    Column("run_id", String(32), nullable=False),
    Column("suite", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("endpoint_id", String(16)),
    Column("metric", String(200), nullable=False),
    Column("finding", Text, nullable=False),  # JSON: the DriftFinding
    Index("ix_drift_flags_suite_time", "suite", "created_ts"),
    Index("ix_drift_flags_endpoint", "endpoint_id"),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_ts", Float, nullable=False),
    Column("target", Text, nullable=False),  # scheme://host/…, never the secret path
    Column("kind", String(40), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("status", String(20), nullable=False),  # delivered, dead
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Index("ix_alert_deliveries_status", "status"),
)


# --- m005_gateway (owned by the gateway; tables of earlier migrations stay above) -----------

requests = Table(
    "requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("receipt_id", String(32), nullable=False, unique=True),
    Column("created_ts", Float, nullable=False, index=True),  # epoch seconds
    Column("alias", String(200), nullable=False),  # the model name the client asked for
    Column("endpoint_id", String(16)),  # the endpoint that answered (NULL: none did)
    Column("served_model", String(200)),  # the model the upstream reported
    Column("model", String(200)),  # the benchroute.yaml model name that answered
    Column("key_id", String(32)),  # the gateway key used (NULL: open gateway)
    Column("attempts", Integer, nullable=False),
    Column("status", Integer, nullable=False),  # HTTP status returned to the client
    Column("error_kind", String(40)),
    Column("latency_ms", Float),
    Column("ttft_ms", Float),  # streams only
    Column("input_tokens", Integer),  # NULL: unknown (the upstream reported no usage)
    Column("output_tokens", Integer),
    Column("cached_tokens", Integer),
    Column("cost_usd", Float),  # NULL: unknown (unpriced model or no usage)
    Column("stream", Boolean, nullable=False),
    Column("receipt", Text, nullable=False),  # JSON decision receipt
    Column("request_payload", Text),  # JSON, only when the gateway logs payloads
    Column("response_payload", Text),
    # m006: what routing decided
    Column("task_class", String(100)),  # NULL: an alias request, not routed
    Column("policy_version", Integer),
    Column("arm", String(20)),  # primary | canary | shadow (NULL: no canary)
    Column("first_model", String(200)),  # the model the router put first (its arm's endpoint)
    Index("ix_requests_alias_created", "alias", "created_ts"),
    Index("ix_requests_key_id", "key_id"),
    Index("ix_requests_class_created", "task_class", "created_ts"),
)

gateway_keys = Table(
    "gateway_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("hash", String(128), nullable=False, unique=True),  # of the secret; never the secret
    Column("prefix", String(16), nullable=False),  # the secret's first characters, to show
    Column("created_ts", Float, nullable=False),
    Column("revoked_ts", Float),
    Column("rpm", Integer),
    Column("tpm", Integer),
    Column("budget_usd", Float),
    Column("spent_usd", Float, nullable=False),
    Column("allowed_aliases", Text),  # JSON list; NULL: every alias
)


# --- m006_routing ---------------------------------------------------------------------------

policies = Table(
    "policies",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, index=True),  # SHA-256 of the canonical document
    Column("created_ts", Float, nullable=False),
    Column("source", String(40), nullable=False),  # build, file, promote, rollback, import
    Column("note", Text),
    Column("document", Text, nullable=False),  # JSON: the policy without its version
)

policy_activations = Table(
    "policy_activations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", Integer, nullable=False),
    Column("created_ts", Float, nullable=False),
    Column("reason", Text, nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("request_id", String(32), nullable=False, index=True),
    Column("created_ts", Float, nullable=False, index=True),
    Column("score", Float),  # 0..1 (thumbs up 1, down 0); NULL: a label only
    Column("thumbs", Integer),  # +1 / -1 as given
    Column("label", String(200)),
    Column("source", String(20), nullable=False),  # user | judge
    Column("key_id", String(32)),
)


# --- m007_datasets ---------------------------------------------------------------------------

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, ... per name; a version never changes
    Column("created_ts", Float, nullable=False),
    Column("kind", String(40), nullable=False),  # pool | golden | perturbed | ...
    Column("case_count", Integer, nullable=False),
    Column("digest", String(64), nullable=False),  # SHA-256 of the cases' canonical JSON lines
    Column("parent_version", Integer),  # the version this one was made from (same name)
    Column("provenance", Text, nullable=False),  # JSON: source, date range, filters, seeds, ...
    Column("scrub", Text),  # JSON: the scrub report, or {"skipped": reason} for --no-scrub
    Column("note", Text),
    UniqueConstraint("name", "version", name="uq_datasets_name_version"),
)

dataset_cases = Table(
    "dataset_cases",
    metadata,
    Column("dataset_id", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("case_id", String(300), nullable=False),
    Column("body", Text, nullable=False),  # JSON: the case (benchroute.config.Case fields)
    Index("ix_dataset_cases_case_id", "dataset_id", "case_id"),
)
