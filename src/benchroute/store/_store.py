"""The results store: SQLite by default (a file per project), PostgreSQL for teams.

Writes are batched by the runner and committed as they go, so a killed process loses at
most the batch in flight and a resumed run redoes exactly those. The unique key
(run, suite, case, model, repeat) plus insert-or-ignore makes a resume idempotent: a
result is stored once however often it is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine, create_engine, event, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from .._errors import BenchrouteError
from . import _schema
from ._migrations import apply_migrations, iso_to_epoch, prices_id, score_rows
from ._records import Result, ResultKey, RunRecord
from ._samples import LoadSample
from ._series import (
    FINISHED,
    CaseOutcome,
    SeriesPoint,
    case_outcomes_many_query,
    case_outcomes_query,
    compute_run_metrics,
    ensure_run_metrics,
    series_query,
)

_RESULT_COLUMNS = [c.name for c in _schema.results.columns if c.name not in ("id", "created_ts")]
_WRITE_COLUMNS = [*_RESULT_COLUMNS, "created_ts"]


def _sqlite_insert_ignoring_duplicates(table: str, columns: list[str]) -> str:
    """SQL for the driver's ``executemany`` of plain tuples (``columns`` in order)."""
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"


_SQLITE_INSERT_RESULT = _sqlite_insert_ignoring_duplicates(_schema.results.name, _WRITE_COLUMNS)


class StoreError(BenchrouteError):
    exit_code = 3


def _batches(keys: Iterable[str], size: int = 500) -> Iterator[list[str]]:
    """``keys`` without repeats, ``size`` at a time (for ``IN (...)`` lookups)."""
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def _engine_url(url: str) -> tuple[Any, str]:
    """The URL to connect with, and the same URL to show (password hidden).

    ``postgresql://`` and ``postgres://`` mean the psycopg 3 driver (the ``postgres`` extra);
    any other SQLAlchemy URL is used as given."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"store {url!r} is not a database URL",
            hint="use a SQLite path, or a URL such as postgresql://user:password@host/db",
        ) from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed, parsed.render_as_string(hide_password=True)


def _without(exc: BaseException | None, url: Any) -> str:
    """An exception's text with the store's password (if any) masked."""
    text = str(exc)
    password = getattr(url, "password", None)
    return text.replace(password, "***") if password else text


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL + NORMAL survives a killed process (not a power cut) and keeps commits cheap.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    """Runs, results and the response cache in one database."""

    def __init__(self, url: str) -> None:
        target, self.url = _engine_url(url)  # self.url: for messages, never with a password
        shown = self.url
        if url.startswith("sqlite:///"):
            folder = Path(url.removeprefix("sqlite:///")).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"store {shown}: cannot create the folder {folder} ({exc.strerror})",
                    hint="check the 'store:' path in benchroute.yaml",
                ) from None
        try:
            self.engine: Engine = create_engine(target)
        except ImportError as exc:
            raise StoreError(
                f"store {shown}: the database driver is not installed ({exc.name or exc})",
                hint="for PostgreSQL: pip install 'benchroute[postgres]' (the psycopg 3 driver)",
            ) from None
        except Exception as exc:
            raise StoreError(f"store {shown!r}: {_without(exc, target)}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            with self.engine.begin() as conn:
                apply_migrations(conn)
        except (OperationalError, DBAPIError) as exc:
            raise StoreError(
                f"store {shown}: cannot open or migrate the database ({_without(exc.orig, target)})",
                hint="check 'store:' in benchroute.yaml: the path is writable, or the server is "
                "running and the user, password and database are right",
            ) from None

    def close(self) -> None:
        self.engine.dispose()

    def _insert_ignoring_duplicates(self, table: Any) -> Any:
        """INSERT ... ON CONFLICT DO NOTHING in the engine's dialect (a plain INSERT on others).
        Only the dialect in use is imported: the PostgreSQL one alone costs ~25 ms at start."""
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            from sqlalchemy.dialects import sqlite

            return sqlite.insert(table).on_conflict_do_nothing()
        if dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table).on_conflict_do_nothing()
        return table.insert()  # pragma: no cover - other dialects

    # runs -------------------------------------------------------------------------------
    def create_run(self, run: RunRecord) -> None:
        prices = json.dumps(run.prices)
        snapshot = prices_id(prices)
        now = datetime.now(UTC).timestamp()
        with self.engine.begin() as conn:
            conn.execute(
                self._insert_ignoring_duplicates(_schema.price_snapshots).values(
                    id=snapshot, created_ts=now, prices=prices
                )
            )
            endpoints = _endpoint_rows(run.config, now)
            if endpoints:
                conn.execute(self._insert_ignoring_duplicates(_schema.endpoints), endpoints)
            conn.execute(
                _schema.runs.insert().values(
                    id=run.id,
                    suites=json.dumps(run.suites),
                    config=json.dumps(run.config),
                    package_version=run.package_version,
                    prices=prices,
                    started_at=run.started_at,
                    status=run.status,
                    trigger=run.trigger,
                    git_sha=run.git_sha,
                    branch=run.branch,
                    host=run.host,
                    started_ts=iso_to_epoch(run.started_at) or now,
                    price_snapshot_id=snapshot,
                )
            )

    def set_run_status(
        self,
        run_id: str,
        status: str,
        *,
        finished_at: str | None = None,
        error: str | None = None,
        prices: dict[str, Any] | None = None,
    ) -> None:
        """Record how a run ended (and, with ``prices``, replace its price snapshot)."""
        values: dict[str, Any] = {
            "status": status,
            "finished_at": finished_at,
            "error": error,
            "finished_ts": iso_to_epoch(finished_at),
            "metrics_ts": None,
        }
        with self.engine.begin() as conn:
            if prices is not None:
                values["prices"] = json.dumps(prices)
                values["price_snapshot_id"] = prices_id(values["prices"])
                conn.execute(
                    self._insert_ignoring_duplicates(_schema.price_snapshots).values(
                        id=values["price_snapshot_id"],
                        created_ts=datetime.now(UTC).timestamp(),
                        prices=values["prices"],
                    )
                )
            conn.execute(update(_schema.runs).where(_schema.runs.c.id == run_id).values(**values))
            if status in FINISHED:
                # The run's aggregates, in SQL, once: every series and drift check reads these.
                compute_run_metrics(conn, run_id)

    def get_run(self, run_id: str) -> RunRecord:
        """A run by id or unique id prefix."""
        runs = _schema.runs
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(runs).where(runs.c.id.startswith(run_id, autoescape=True)).limit(2)
            ).all()
        if not rows:
            raise BenchrouteError(f"no run {run_id!r} in {self.url}", hint="see: benchroute runs list")
        if len(rows) > 1:
            raise BenchrouteError(f"run id prefix {run_id!r} is ambiguous; give more characters")
        return _run_from_row(rows[0]._mapping)

    def list_runs(self, limit: int = 20) -> list[tuple[RunRecord, int]]:
        """Newest first, each with its number of results."""
        runs, results = _schema.runs, _schema.results
        counts = select(results.c.run_id, func.count().label("n")).group_by(results.c.run_id).subquery()
        query = (
            select(runs, counts.c.n)
            .select_from(runs.outerjoin(counts, counts.c.run_id == runs.c.id))
            .order_by(runs.c.started_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(_run_from_row(row._mapping), row.n or 0) for row in conn.execute(query)]

    # results ----------------------------------------------------------------------------
    def add_results(self, results: Iterable[Result]) -> int:
        """Insert results, ignoring any whose key is already stored. Returns rows given."""
        given = list(results)
        rows = [_result_to_row(r) for r in given]
        if not rows:
            return 0
        table = _schema.results
        with self.engine.begin() as conn:
            before = conn.execute(select(func.max(table.c.id))).scalar() or 0
            if self.engine.dialect.name == "sqlite":
                # The driver binds plain tuples in C: ~15 us of CPU less per result than
                # SQLAlchemy's per-row parameter processing, on the path of every request.
                conn.exec_driver_sql(_SQLITE_INSERT_RESULT, [tuple(row.values()) for row in rows])
            else:
                conn.execute(self._insert_ignoring_duplicates(table), rows)
            # The scores of the rows this call stored (not of duplicates it ignored), queryable.
            by_key = {r.key: r for r in given}
            run_ids = sorted({r.run_id for r in given})
            fresh = conn.execute(
                select(
                    table.c.id, table.c.run_id, table.c.suite, table.c.case_id, table.c.model, table.c.repeat
                ).where(table.c.id > before, table.c.run_id.in_(run_ids))
            ).all()
            score_out: list[dict[str, Any]] = []
            for rid, run_id, suite, case_id, model, repeat in fresh:
                result = by_key.get((suite, case_id, model, repeat))
                if result is not None and result.run_id == run_id:
                    score_out.extend(score_rows(rid, run_id, suite, model, result.scores))
            if score_out:
                conn.execute(_schema.scores.insert(), score_out)
        return len(rows)

    def done_keys(self, run_id: str) -> set[ResultKey]:
        table = _schema.results
        query = select(table.c.suite, table.c.case_id, table.c.model, table.c.repeat).where(
            table.c.run_id == run_id
        )
        with self.engine.connect() as conn:
            return {(r[0], r[1], r[2], r[3]) for r in conn.execute(query)}

    def run_with_results(self, run_id: str) -> tuple[RunRecord, list[Result]]:
        """A run (by id or unique prefix) and its results, in the order they were stored."""
        record = self.get_run(run_id)
        return record, self.results(record.id)

    def results(self, run_id: str) -> list[Result]:
        table = _schema.results
        query = select(table).where(table.c.run_id == run_id).order_by(table.c.id)
        with self.engine.connect() as conn:
            return [_result_from_row(row._mapping) for row in conn.execute(query)]

    # response cache ---------------------------------------------------------------------
    def cache_get(self, key: str) -> dict[str, Any] | None:
        table = _schema.response_cache
        with self.engine.connect() as conn:
            value = conn.execute(select(table.c.completion).where(table.c.key == key)).scalar()
        return json.loads(value) if value else None

    def cached_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` have a stored response: one query per 500 keys, so a run can skip
        the per-request lookup of every response it does not have."""
        table = _schema.response_cache
        found: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in _batches(keys):
                found.update(conn.execute(select(table.c.key).where(table.c.key.in_(chunk))).scalars())
        return found

    def cache_get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored responses among ``keys``, by key (one query per 500 keys)."""
        table = _schema.response_cache
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for chunk in _batches(keys):
                query = select(table.c.key, table.c.completion).where(table.c.key.in_(chunk))
                found.update((key, json.loads(value)) for key, value in conn.execute(query))
        return found

    def cache_put(self, entries: list[tuple[str, str, dict[str, Any], str]]) -> None:
        """Store (key, model, completion JSON, created_at) entries; first write wins."""
        if not entries:
            return
        table = _schema.response_cache
        rows = [
            {"key": k, "model": m, "completion": json.dumps(c), "created_at": t} for k, m, c, t in entries
        ]
        with self.engine.begin() as conn:
            conn.execute(self._insert_ignoring_duplicates(table), rows)

    # quarantine -------------------------------------------------------------------------
    def has_case(self, suite: str, case_id: str) -> bool:
        """Whether any stored run has a result for this suite and case."""
        table = _schema.results
        query = select(table.c.id).where(table.c.suite == suite, table.c.case_id == case_id).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def quarantine(self, suite: str, case_id: str, reason: str, *, created_at: str | None = None) -> bool:
        """Quarantine a case (all models); False when it already was (its entry is kept)."""
        table = _schema.quarantine
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(table.c.suite).where(table.c.suite == suite, table.c.case_id == case_id)
            ).first()
            if exists is not None:
                return False
            conn.execute(
                table.insert().values(
                    suite=suite,
                    case_id=case_id,
                    reason=reason,
                    created_at=created_at or datetime.now(UTC).isoformat(),
                )
            )
        return True

    def unquarantine(self, suite: str, case_id: str) -> bool:
        """Release a case from quarantine; False when it was not quarantined."""
        table = _schema.quarantine
        with self.engine.begin() as conn:
            removed = conn.execute(
                table.delete().where(table.c.suite == suite, table.c.case_id == case_id)
            ).rowcount
        return bool(removed)

    def quarantined(self) -> list[QuarantinedCase]:
        """Every quarantined case, by suite then case id."""
        table = _schema.quarantine
        query = select(table.c.suite, table.c.case_id, table.c.reason, table.c.created_at).order_by(
            table.c.suite, table.c.case_id
        )
        with self.engine.connect() as conn:
            return [QuarantinedCase(*row) for row in conn.execute(query)]

    # load samples (stress tier) ---------------------------------------------------------
    def add_load_samples(self, run_id: str, samples: Iterable[LoadSample]) -> int:
        """Insert a stress run's samples, ignoring any whose (run, suite, model, seq) is
        already stored (SQLite: one ``executemany``; other databases: batches of 5,000 rows
        per statement). Returns rows given."""
        table = _schema.load_samples
        fields = LoadSample._fields
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            # A load test stores over 10,000 samples a second from the generator's process:
            # the driver's executemany binds plain tuples in C, which took 3.7 us of CPU per
            # row here against 8.8 us through SQLAlchemy's per-row parameter processing, and
            # the CPU saved is the load generator's.
            tuples = [(run_id, *sample) for sample in samples]
            if not tuples:
                return 0
            statement = _sqlite_insert_ignoring_duplicates(table.name, ["run_id", *fields])
            with self.engine.begin() as conn:
                conn.exec_driver_sql(statement, tuples)
            return len(tuples)
        rows = [{"run_id": run_id, **dict(zip(fields, sample, strict=True))} for sample in samples]
        if not rows:
            return 0
        statement = self._insert_ignoring_duplicates(table)
        with self.engine.begin() as conn:
            for start in range(0, len(rows), 5000):
                conn.execute(statement, rows[start : start + 5000])
        return len(rows)

    def load_samples(self, run_id: str, suite: str | None = None) -> list[LoadSample]:
        """A run's load samples (optionally one suite's), by suite, model and seq."""
        table = _schema.load_samples
        columns = [table.c[name] for name in LoadSample._fields]
        query = select(*columns).where(table.c.run_id == run_id)
        if suite is not None:
            query = query.where(table.c.suite == suite)
        query = query.order_by(table.c.suite, table.c.model, table.c.seq)
        with self.engine.connect() as conn:
            return [LoadSample(*row) for row in conn.execute(query)]

    # time series (m004) -------------------------------------------------------------------
    def series(
        self,
        suite: str,
        *,
        model: str | None = None,
        metrics: list[str] | None = None,
        since: datetime | None = None,
        branch: str | None = None,
        limit_runs: int | None = None,
    ) -> list[SeriesPoint]:
        """The metrics of ``suite`` per finished run x model, in time order, from the per-run
        aggregates (``run_metrics``): never a scan of the result rows. ``metrics``: names of
        :data:`SERIES_METRICS` or ``score:<scorer>`` (default: every one stored);
        ``limit_runs``: the newest N runs only; ``branch``: runs recorded on that branch."""
        with self.engine.begin() as conn:
            ensure_run_metrics(conn)
            return series_query(
                conn, suite, model=model, metrics=metrics, since=since, branch=branch, limit_runs=limit_runs
            )

    def latest_runs(
        self, suite: str, *, model: str | None = None, n: int = 2, branch: str | None = None
    ) -> list[RunRecord]:
        """The newest ``n`` finished runs with results of ``suite`` (of ``model``), newest first."""
        runs, metrics = _schema.runs, _schema.run_metrics
        having = select(metrics.c.run_id).where(metrics.c.suite == suite)
        if model is not None:
            having = having.where(metrics.c.model == model)
        query = select(runs).where(runs.c.id.in_(having), runs.c.status != "running")
        if branch is not None:
            query = query.where(runs.c.branch == branch)
        query = query.order_by(runs.c.started_ts.desc()).limit(n)
        with self.engine.begin() as conn:
            ensure_run_metrics(conn)
            return [_run_from_row(row._mapping) for row in conn.execute(query)]

    def case_outcomes(self, run_id: str, suite: str, model: str, metric: str = "pass") -> list[CaseOutcome]:
        """Each result's outcome of one run x suite x model, for a paired drift test.
        ``metric``: pass, refusal, latency_ms, tokens_out, cost_usd or score:<scorer>."""
        with self.engine.connect() as conn:
            return case_outcomes_query(conn, run_id, suite, model, metric)

    def case_outcomes_many(
        self, run_id: str, suite: str, wanted: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], list[CaseOutcome]]:
        """:meth:`case_outcomes` of several (model, metric) pairs of one run x suite, read
        with at most two statements (the run's results once, their scores once)."""
        with self.engine.connect() as conn:
            return case_outcomes_many_query(conn, run_id, suite, list(wanted))

    def add_drift_flags(self, rows: list[dict[str, Any]]) -> int:
        """Record flagged drift findings (``DriftFinding.to_json()`` plus ``run_id``)."""
        now = datetime.now(UTC).timestamp()
        values = [
            {
                "created_ts": now,
                "run_id": str(row.get("run_id") or ""),
                "suite": str(row.get("suite") or ""),
                "model": str(row.get("model") or ""),
                "endpoint_id": row.get("endpoint_id"),
                "metric": str(row.get("metric") or ""),
                "finding": json.dumps(row, default=str),
            }
            for row in rows
        ]
        if values:
            with self.engine.begin() as conn:
                conn.execute(_schema.drift_flags.insert(), values)
        return len(values)

    def drift_flags(
        self, *, suite: str | None = None, endpoint_id: str | None = None, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Recorded drift flags, oldest first, each the finding with ``created_ts``."""
        table = _schema.drift_flags
        query = select(table.c.created_ts, table.c.finding).order_by(table.c.created_ts, table.c.id)
        if suite is not None:
            query = query.where(table.c.suite == suite)
        if endpoint_id is not None:
            query = query.where(table.c.endpoint_id == endpoint_id)
        if since is not None:
            query = query.where(table.c.created_ts >= since.timestamp())
        with self.engine.connect() as conn:
            return [json.loads(finding) | {"created_ts": ts} for ts, finding in conn.execute(query)]

    def add_alert_delivery(self, row: dict[str, Any]) -> None:
        """Record one alert delivery (delivered, or dead after its retries)."""
        values = {
            "id": str(row["id"]),
            "created_ts": float(row.get("created_ts") or datetime.now(UTC).timestamp()),
            "target": str(row.get("target") or ""),
            "kind": str(row.get("kind") or ""),
            "payload": json.dumps(row.get("payload"), default=str),
            "status": str(row.get("status") or ""),
            "attempts": int(row.get("attempts") or 0),
            "last_error": row.get("last_error"),
        }
        with self.engine.begin() as conn:
            conn.execute(self._insert_ignoring_duplicates(_schema.alert_deliveries).values(**values))

    def alert_deliveries(self, *, status: str | None = None) -> list[dict[str, Any]]:
        """Recorded alert deliveries, oldest first (``status``: delivered or dead)."""
        table = _schema.alert_deliveries
        query = select(table).order_by(table.c.created_ts)
        if status is not None:
            query = query.where(table.c.status == status)
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        for row in rows:
            row["payload"] = json.loads(row["payload"])
        return rows


def _endpoint_rows(config: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """The endpoints of a run's model snapshot (``config["models"]``), keyed by their id."""
    from ..config import ModelSpec

    models = config.get("models") if isinstance(config, dict) else None
    rows: dict[str, dict[str, Any]] = {}
    for dump in (models or {}).values() if isinstance(models, dict) else []:
        try:
            spec = ModelSpec.model_validate(dump)
        except Exception:  # an old or hand-made snapshot: no endpoint row, the run still stores
            continue
        rows[spec.endpoint_id] = {
            "id": spec.endpoint_id,
            "provider": spec.provider,
            "base_url": spec.base_url,
            "model": spec.model,
            "params": json.dumps(spec.params, sort_keys=True, default=str),
            "first_seen_ts": now,
        }
    return list(rows.values())


def _run_from_row(row: Any) -> RunRecord:
    return RunRecord(
        id=row["id"],
        suites=json.loads(row["suites"]),
        config=json.loads(row["config"]),
        package_version=row["package_version"],
        prices=json.loads(row["prices"]),
        started_at=row["started_at"],
        status=row["status"],
        finished_at=row["finished_at"],
        error=row["error"],
        trigger=row["trigger"] or "manual",
        git_sha=row["git_sha"],
        branch=row["branch"],
        host=row["host"],
    )


def _result_to_row(result: Result) -> dict[str, Any]:
    row = {name: getattr(result, name) for name in _RESULT_COLUMNS}
    row["messages"] = json.dumps(result.messages)
    row["scores"] = json.dumps(result.scores)
    row["details"] = json.dumps(result.details) if result.details is not None else None
    row["created_ts"] = iso_to_epoch(result.created_at) or datetime.now(UTC).timestamp()
    return row


def _result_from_row(row: Any) -> Result:
    values = {name: row[name] for name in _RESULT_COLUMNS}
    values["messages"] = json.loads(values["messages"])
    values["scores"] = json.loads(values["scores"])
    values["details"] = json.loads(values["details"]) if values["details"] else None
    return Result(**values)


class QuarantinedCase(NamedTuple):
    """A case left out of comparisons and gates (its first two fields are the case's key)."""

    suite: str
    case_id: str
    reason: str
    created_at: str
