"""Routing's tables (migration m006): versioned policy documents, their activations, and
production feedback on logged requests.

``PolicyStore(store)`` wraps an open :class:`Store`. A policy is stored as the JSON document
the routing package built, without its version: the version is the row's number, given on
insert, so a document names its version only once it is stored. Activating a version appends
a row to ``policy_activations``; the active policy is the newest activation, and the history
of activations says which policy served when. Feedback rows tie a score (or a thumbs up or
down, or a label) to a request id of the request log.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from . import _schema

if TYPE_CHECKING:
    from ._store import Store


def policy_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a policy document (its ``version`` left out)."""
    body = {key: value for key, value in document.items() if key != "version"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """One stored policy version."""

    version: int
    digest: str
    created_ts: float
    source: str
    note: str | None
    document: dict[str, Any]  # with "version" set


@dataclass(frozen=True, slots=True)
class Activation:
    version: int
    created_ts: float
    reason: str


class PolicyStore:
    """Policies, activations and feedback of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # -- policies ----------------------------------------------------------------------------

    def add_policy(
        self, document: Mapping[str, Any], *, source: str, note: str | None = None, reuse: bool = False
    ) -> int:
        """Store ``document`` as a new version and return it. ``reuse``: when the newest
        version with the same content exists, return that one instead of a copy."""
        digest = policy_digest(document)
        table = _schema.policies
        body = {key: value for key, value in document.items() if key != "version"}
        with self.engine.begin() as conn:
            if reuse:
                found = conn.execute(
                    select(table.c.version)
                    .where(table.c.digest == digest)
                    .order_by(table.c.version.desc())
                    .limit(1)
                ).scalar_one_or_none()
                if found is not None:
                    return int(found)
            result = conn.execute(
                table.insert().values(
                    digest=digest,
                    created_ts=time.time(),
                    source=source,
                    note=note,
                    document=json.dumps(body, separators=(",", ":"), default=str),
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def version_with_digest(self, digest: str) -> int | None:
        """The newest stored version with this content digest (None: never stored)."""
        table = _schema.policies
        with self.engine.connect() as conn:
            found = conn.execute(
                select(table.c.version)
                .where(table.c.digest == digest)
                .order_by(table.c.version.desc())
                .limit(1)
            ).scalar_one_or_none()
        return None if found is None else int(found)

    def policy(self, version: int) -> StoredPolicy | None:
        table = _schema.policies
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.version == version)).one_or_none()
        return None if row is None else _policy(row)

    def policies(self, *, limit: int | None = None) -> list[StoredPolicy]:
        """Stored versions, newest first."""
        table = _schema.policies
        query = select(table).order_by(table.c.version.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_policy(row) for row in conn.execute(query)]

    def latest_version(self) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(_schema.policies.c.version))).scalar_one_or_none()
        return None if value is None else int(value)

    # -- activations -------------------------------------------------------------------------

    def activate(self, version: int, reason: str) -> Activation:
        """Make ``version`` the active policy (it must be stored)."""
        if self.policy(version) is None:
            raise KeyError(version)
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(
                _schema.policy_activations.insert().values(version=version, created_ts=now, reason=reason)
            )
        return Activation(version, now, reason)

    def activate_if(self, version: int, expected_active: int, reason: str) -> bool:
        """Activate ``version`` only if ``expected_active`` is the active version, read and
        written in one transaction (two workers deciding at once: one wins, the other's
        activation is not written). False when another version is active."""
        table = _schema.policy_activations
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("LOCK TABLE policy_activations IN EXCLUSIVE MODE")
            current = conn.execute(
                select(table.c.version).order_by(table.c.id.desc()).limit(1)
            ).scalar_one_or_none()
            if current != expected_active:
                return False
            conn.execute(table.insert().values(version=version, created_ts=time.time(), reason=reason))
        return True

    def active_version(self) -> int | None:
        """The version of the newest activation (one indexed read: the gateway polls it)."""
        table = _schema.policy_activations
        with self.engine.connect() as conn:
            value = conn.execute(
                select(table.c.version).order_by(table.c.id.desc()).limit(1)
            ).scalar_one_or_none()
        return None if value is None else int(value)

    def active(self) -> StoredPolicy | None:
        version = self.active_version()
        return None if version is None else self.policy(version)

    def activations(self, *, limit: int | None = None) -> list[Activation]:
        """Activations, newest first."""
        table = _schema.policy_activations
        query = select(table).order_by(table.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [
                Activation(int(r.version), float(r.created_ts), str(r.reason)) for r in conn.execute(query)
            ]

    # -- feedback ----------------------------------------------------------------------------

    def add_feedback(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert feedback rows (keys: the ``feedback`` columns) in one transaction."""
        batch = [{column.name: row.get(column.name) for column in _schema.feedback.columns} for row in rows]
        if not batch:
            return 0
        with self.engine.begin() as conn:
            conn.execute(_schema.feedback.insert(), batch)
        return len(batch)

    def feedback(
        self, *, request_ids: Iterable[str] | None = None, since_ts: float | None = None
    ) -> list[dict[str, Any]]:
        """Feedback rows, oldest first."""
        table = _schema.feedback
        query = select(table).order_by(table.c.created_ts, table.c.id)
        if request_ids is not None:
            query = query.where(table.c.request_id.in_(list(request_ids)))
        if since_ts is not None:
            query = query.where(table.c.created_ts >= since_ts)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def routed_requests(
        self,
        *,
        task_class: str | None = None,
        since_ts: float | None = None,
        policy_version: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Routed requests (a task class set), oldest first, each with the mean of its
        feedback scores (``feedback_score``, None: none given) and its count; the receipt and
        payloads are left out (see :meth:`RequestLog.requests` for those)."""
        requests, feedback = _schema.requests, _schema.feedback
        scores = (
            select(
                feedback.c.request_id.label("rid"),
                func.avg(feedback.c.score).label("feedback_score"),
                func.count(feedback.c.score).label("feedback_n"),
            )
            .where(feedback.c.source == "user")
            .group_by(feedback.c.request_id)
            .subquery()
        )
        judged = (
            select(feedback.c.request_id.label("rid"), func.avg(feedback.c.score).label("judge_score"))
            .where(feedback.c.source == "judge")
            .group_by(feedback.c.request_id)
            .subquery()
        )
        columns = [
            c
            for c in requests.columns
            if c.name not in ("receipt", "request_payload", "response_payload", "receipt_id")
        ]
        query = (
            select(*columns, scores.c.feedback_score, scores.c.feedback_n, judged.c.judge_score)
            .select_from(
                requests.outerjoin(scores, scores.c.rid == requests.c.id).outerjoin(
                    judged, judged.c.rid == requests.c.id
                )
            )
            .where(requests.c.task_class.is_not(None))
            .order_by(requests.c.created_ts, requests.c.id)
        )
        if task_class is not None:
            query = query.where(requests.c.task_class == task_class)
        if since_ts is not None:
            query = query.where(requests.c.created_ts >= since_ts)
        if policy_version is not None:
            query = query.where(requests.c.policy_version == policy_version)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def request_exists(self, request_id: str) -> bool:
        return self.request_key(request_id)[0]

    def request_key(self, request_id: str) -> tuple[bool, str | None]:
        """Whether the request is logged, and the gateway key it used (None: open gateway)."""
        table = _schema.requests
        with self.engine.connect() as conn:
            row = conn.execute(select(table.c.key_id).where(table.c.id == request_id)).first()
        return (False, None) if row is None else (True, row[0])

    def spend_since(self, since_ts: float) -> dict[str, float]:
        """Known USD spent per endpoint id since ``since_ts`` (budgets start from this)."""
        table = _schema.requests
        query = (
            select(table.c.endpoint_id, func.sum(table.c.cost_usd))
            .where(table.c.created_ts >= since_ts, table.c.endpoint_id.is_not(None))
            .group_by(table.c.endpoint_id)
        )
        with self.engine.connect() as conn:
            return {str(eid): float(total or 0.0) for eid, total in conn.execute(query)}


def _policy(row: Any) -> StoredPolicy:
    document = json.loads(row.document)
    document["version"] = int(row.version)
    return StoredPolicy(
        version=int(row.version),
        digest=str(row.digest),
        created_ts=float(row.created_ts),
        source=str(row.source),
        note=row.note,
        document=document,
    )
