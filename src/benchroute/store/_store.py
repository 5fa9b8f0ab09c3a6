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
from ._migrations import apply_migrations
from ._records import Result, ResultKey, RunRecord
from ._samples import LoadSample

_RESULT_COLUMNS = [c.name for c in _schema.results.columns if c.name != "id"]


def _sqlite_insert_ignoring_duplicates(table: str, columns: list[str]) -> str:
    """SQL for the driver's ``executemany`` of plain tuples (``columns`` in order)."""
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"


_SQLITE_INSERT_RESULT = _sqlite_insert_ignoring_duplicates(_schema.results.name, _RESULT_COLUMNS)


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
        with self.engine.begin() as conn:
            conn.execute(
                _schema.runs.insert().values(
                    id=run.id,
                    suites=json.dumps(run.suites),
                    config=json.dumps(run.config),
                    package_version=run.package_version,
                    prices=json.dumps(run.prices),
                    started_at=run.started_at,
                    status=run.status,
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
        values: dict[str, Any] = {"status": status, "finished_at": finished_at, "error": error}
        if prices is not None:
            values["prices"] = json.dumps(prices)
        with self.engine.begin() as conn:
            conn.execute(update(_schema.runs).where(_schema.runs.c.id == run_id).values(**values))

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
        rows = [_result_to_row(r) for r in results]
        if not rows:
            return 0
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                # The driver binds plain tuples in C: ~15 us of CPU less per result than
                # SQLAlchemy's per-row parameter processing, on the path of every request.
                conn.exec_driver_sql(_SQLITE_INSERT_RESULT, [tuple(row.values()) for row in rows])
            else:
                conn.execute(self._insert_ignoring_duplicates(_schema.results), rows)
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
    )


def _result_to_row(result: Result) -> dict[str, Any]:
    row = {name: getattr(result, name) for name in _RESULT_COLUMNS}
    row["messages"] = json.dumps(result.messages)
    row["scores"] = json.dumps(result.scores)
    row["details"] = json.dumps(result.details) if result.details is not None else None
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
