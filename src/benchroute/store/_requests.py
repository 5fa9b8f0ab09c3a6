"""The gateway's tables (migration m005): the request log and the gateway API keys.

``RequestLog(store)`` wraps an open :class:`Store`. The gateway's background writer calls
:meth:`RequestLog.add_requests` with a batch of rows (plain dicts keyed by the column names of
``requests``), never one row per request; receipts are read back by id for
``GET /v1/receipts/{id}``. Keys keep only a hash of the secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from . import _schema

if TYPE_CHECKING:
    from ._store import Store

REQUEST_COLUMNS: tuple[str, ...] = tuple(c.name for c in _schema.requests.columns)
_DEFAULTS: dict[str, Any] = dict.fromkeys(REQUEST_COLUMNS)
_SQLITE_INSERT = (
    f"INSERT INTO {_schema.requests.name} ({', '.join(REQUEST_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(REQUEST_COLUMNS))})"
)


@dataclass(frozen=True, slots=True)
class GatewayKey:
    """A gateway API key as stored: the hash of the secret, never the secret."""

    id: str
    name: str
    hash: str
    prefix: str
    created_ts: float
    revoked_ts: float | None
    rpm: int | None
    tpm: int | None
    budget_usd: float | None
    spent_usd: float
    allowed_aliases: tuple[str, ...] | None  # None: every alias

    @property
    def revoked(self) -> bool:
        return self.revoked_ts is not None


class RequestLog:
    """The request log and gateway keys of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # -- the request log ---------------------------------------------------------------------

    def add_requests(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert a batch of request rows in one transaction; return how many were given.

        Missing columns are NULL; ``receipt`` may be a dict (stored as JSON)."""
        batch = []
        for row in rows:
            full = {**_DEFAULTS, **row}
            receipt = full["receipt"]
            if not isinstance(receipt, str):
                full["receipt"] = json.dumps(receipt, separators=(",", ":"), default=str)
            for payload in ("request_payload", "response_payload"):
                value = full[payload]
                if value is not None and not isinstance(value, str):
                    full[payload] = json.dumps(value, separators=(",", ":"), default=str)
            batch.append(full)
        if not batch:
            return 0
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # The driver's executemany of plain tuples: the gateway writes every request,
                # and SQLAlchemy's per-row parameter processing would be most of the cost.
                conn.exec_driver_sql(
                    _SQLITE_INSERT, [tuple(row[c] for c in REQUEST_COLUMNS) for row in batch]
                )
            else:
                conn.execute(_schema.requests.insert(), batch)
        return len(batch)

    def receipt(self, receipt_id: str) -> dict[str, Any] | None:
        """The stored decision receipt with this id (the JSON document), or None."""
        table = _schema.requests
        with self.engine.connect() as conn:
            text = conn.execute(
                select(table.c.receipt).where(table.c.receipt_id == receipt_id)
            ).scalar_one_or_none()
        if text is None:
            return None
        loaded: dict[str, Any] = json.loads(text)
        return loaded

    def requests(
        self, *, alias: str | None = None, since_ts: float | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Logged requests, oldest first (``receipt`` decoded)."""
        table = _schema.requests
        query = select(table).order_by(table.c.created_ts, table.c.id)
        if alias is not None:
            query = query.where(table.c.alias == alias)
        if since_ts is not None:
            query = query.where(table.c.created_ts >= since_ts)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        for row in rows:
            row["receipt"] = json.loads(row["receipt"])
        return rows

    def requests_by_id(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        """The logged requests with these ids (``receipt`` decoded), in no set order."""
        wanted = list(ids)
        table = _schema.requests
        rows: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows.extend(
                    dict(row._mapping) for row in conn.execute(select(table).where(table.c.id.in_(chunk)))
                )
        for row in rows:
            row["receipt"] = json.loads(row["receipt"])
        return rows

    def count_requests(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_schema.requests)).scalar_one())

    # -- gateway keys ------------------------------------------------------------------------

    def add_key(self, key: GatewayKey) -> None:
        with self.engine.begin() as conn:
            conn.execute(_schema.gateway_keys.insert().values(**_key_to_row(key)))

    def keys(self, *, include_revoked: bool = True) -> list[GatewayKey]:
        table = _schema.gateway_keys
        query = select(table).order_by(table.c.created_ts, table.c.id)
        if not include_revoked:
            query = query.where(table.c.revoked_ts.is_(None))
        with self.engine.connect() as conn:
            return [_key_from_row(row) for row in conn.execute(query)]

    def revoke_key(self, key_id_or_name: str, *, revoked_ts: float) -> bool:
        """Revoke the key with this id or name; False if there is none (or it was revoked)."""
        table = _schema.gateway_keys
        with self.engine.begin() as conn:
            result = conn.execute(
                update(table)
                .where((table.c.id == key_id_or_name) | (table.c.name == key_id_or_name))
                .where(table.c.revoked_ts.is_(None))
                .values(revoked_ts=revoked_ts)
            )
        return bool(result.rowcount)

    def add_spend(self, spend: Mapping[str, float]) -> None:
        """Add dollars spent per key id, in one transaction (the settling batch)."""
        if not spend:
            return
        table = _schema.gateway_keys
        with self.engine.begin() as conn:
            for key_id, usd in spend.items():
                conn.execute(
                    update(table).where(table.c.id == key_id).values(spent_usd=table.c.spent_usd + usd)
                )


def _key_to_row(key: GatewayKey) -> dict[str, Any]:
    aliases = None if key.allowed_aliases is None else json.dumps(list(key.allowed_aliases))
    return {
        "id": key.id,
        "name": key.name,
        "hash": key.hash,
        "prefix": key.prefix,
        "created_ts": key.created_ts,
        "revoked_ts": key.revoked_ts,
        "rpm": key.rpm,
        "tpm": key.tpm,
        "budget_usd": key.budget_usd,
        "spent_usd": key.spent_usd,
        "allowed_aliases": aliases,
    }


def _key_from_row(row: Any) -> GatewayKey:
    aliases = None if row.allowed_aliases is None else tuple(json.loads(row.allowed_aliases))
    return GatewayKey(
        id=row.id,
        name=row.name,
        hash=row.hash,
        prefix=row.prefix,
        created_ts=row.created_ts,
        revoked_ts=row.revoked_ts,
        rpm=row.rpm,
        tpm=row.tpm,
        budget_usd=row.budget_usd,
        spent_usd=row.spent_usd,
        allowed_aliases=aliases,
    )
