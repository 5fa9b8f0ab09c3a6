"""Versioned datasets (migration m007): pools imported from logs, golden sets, perturbed sets.

``DatasetStore(store)`` wraps an open :class:`Store`. A dataset is a name with numbered
versions; a version is a list of cases (JSON objects with the fields of
:class:`benchroute.config.Case`) plus its provenance (where the cases came from, the date range
and filters, the scrubber's version and report, the sampler's seed) and a digest of its cases.

A version is written in one transaction, streamed in batches, so a pool of millions of cases
never sits in memory and a process killed half-way leaves no half-written version: the
version exists with all its cases or not at all. Versions are never changed; appending cases
makes a new version whose ``parent_version`` names the one it grew from, so a suite pinned to
``version: 3`` keeps running the same cases.

Whatever writes a version is responsible for what the cases hold: the suites package scrubs
personal data before a case reaches :meth:`DatasetStore.add_version`, and ``check`` (called
on each case as it is written) lets it refuse the whole version when one case still holds a
value it should not.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from . import _schema

if TYPE_CHECKING:
    from ._store import Store

_BATCH = 1000


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One stored version of a dataset (its cases are read with :meth:`DatasetStore.cases`)."""

    name: str
    version: int
    created_ts: float
    kind: str
    count: int
    digest: str
    parent_version: int | None
    provenance: dict[str, Any]
    scrub: dict[str, Any] | None
    note: str | None

    @property
    def ref(self) -> str:
        """``name@version``, the form the CLI accepts."""
        return f"{self.name}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "created_ts": self.created_ts,
            "kind": self.kind,
            "count": self.count,
            "digest": self.digest,
            "parent_version": self.parent_version,
            "provenance": self.provenance,
            "scrub": self.scrub,
            "note": self.note,
        }


def case_line(case: Mapping[str, Any]) -> str:
    """The canonical JSON of one case: what is stored and what the digest is taken over."""
    return json.dumps(case, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class DatasetStore:
    """The datasets of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    def add_version(
        self,
        name: str,
        cases: Iterable[Mapping[str, Any]],
        *,
        kind: str,
        provenance: Mapping[str, Any],
        scrub: Mapping[str, Any] | None = None,
        parent_version: int | None = None,
        note: str | None = None,
        check: Callable[[Mapping[str, Any]], None] | None = None,
        provenance_after: Callable[[], Mapping[str, Any]] | None = None,
        scrub_after: Callable[[], Mapping[str, Any] | None] | None = None,
    ) -> DatasetVersion:
        """Write ``cases`` as the next version of ``name`` and return it.

        ``cases`` is consumed once, in batches; ``check(case)`` runs on each before it is
        written and may raise to refuse the version (nothing is kept). ``provenance_after``
        and ``scrub_after`` are read when every case has been consumed, for figures known only
        then (counts of an import, the scrub report). A version with no cases is refused
        (``ValueError``). Case ids must be unique within a version (``ValueError`` naming the
        id and its positions)."""
        if not name or len(name) > 200:
            raise ValueError("a dataset name is 1 to 200 characters")
        for _ in range(3):  # two writers may take the same number: the unique key says who won
            try:
                return self._add(
                    name, cases, kind=kind, provenance=provenance, scrub=scrub, parent_version=parent_version,
                    note=note, check=check, provenance_after=provenance_after, scrub_after=scrub_after,
                )  # fmt: skip
            except IntegrityError:
                if not isinstance(cases, list):
                    raise  # a stream cannot be read twice
        raise RuntimeError(f"could not take a new version number of dataset {name!r}")

    def _add(
        self,
        name: str,
        cases: Iterable[Mapping[str, Any]],
        *,
        kind: str,
        provenance: Mapping[str, Any],
        scrub: Mapping[str, Any] | None,
        parent_version: int | None,
        note: str | None,
        check: Callable[[Mapping[str, Any]], None] | None,
        provenance_after: Callable[[], Mapping[str, Any]] | None,
        scrub_after: Callable[[], Mapping[str, Any] | None] | None,
    ) -> DatasetVersion:
        table, rows = _schema.datasets, _schema.dataset_cases
        created = time.time()
        with self.engine.begin() as conn:
            latest = conn.execute(select(func.max(table.c.version)).where(table.c.name == name)).scalar()
            version = int(latest or 0) + 1
            dataset_id = conn.execute(
                table.insert().values(
                    name=name,
                    version=version,
                    created_ts=created,
                    kind=kind,
                    case_count=0,
                    digest="",
                    parent_version=parent_version,
                    provenance="{}",
                    scrub=None,
                    note=note,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            digest = hashlib.sha256()
            seen: dict[str, int] = {}
            batch: list[dict[str, Any]] = []
            position = 0
            for case in cases:
                if check is not None:
                    check(case)
                case_id = str(case.get("id") or f"case-{position + 1}")
                if case_id in seen:
                    raise ValueError(
                        f"duplicate case id {case_id!r} (cases {seen[case_id] + 1} and {position + 1})"
                    )
                seen[case_id] = position
                line = case_line({**case, "id": case_id})
                digest.update(line.encode())
                digest.update(b"\n")
                batch.append(
                    {"dataset_id": dataset_id, "position": position, "case_id": case_id, "body": line}
                )
                position += 1
                if len(batch) >= _BATCH:
                    conn.execute(rows.insert(), batch)
                    batch = []
            if batch:
                conn.execute(rows.insert(), batch)
            if position == 0:
                raise ValueError(f"dataset {name!r}: no cases to store")
            final_provenance = dict(provenance)
            if provenance_after is not None:
                final_provenance.update(provenance_after())
            final_scrub = scrub_after() if scrub_after is not None else scrub
            conn.execute(
                update(table)
                .where(table.c.id == dataset_id)
                .values(
                    case_count=position,
                    digest=digest.hexdigest(),
                    provenance=json.dumps(final_provenance, sort_keys=True, default=str),
                    scrub=None
                    if final_scrub is None
                    else json.dumps(dict(final_scrub), sort_keys=True, default=str),
                )
            )
        found = self.get(name, version)
        assert found is not None
        return found

    def get(self, name: str, version: int | None = None) -> DatasetVersion | None:
        """Version ``version`` of ``name`` (the newest with None), or None."""
        table = _schema.datasets
        query = select(table).where(table.c.name == name, table.c.case_count > 0)
        query = query.where(table.c.version == version) if version is not None else query
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(table.c.version.desc()).limit(1)).mappings().first()
        return None if row is None else _version(row)

    def versions(self, name: str | None = None) -> list[DatasetVersion]:
        """Every version of ``name`` (of every dataset with None), by name then version."""
        table = _schema.datasets
        query = select(table).where(table.c.case_count > 0)
        if name is not None:
            query = query.where(table.c.name == name)
        with self.engine.connect() as conn:
            found = conn.execute(query.order_by(table.c.name, table.c.version)).mappings().all()
        return [_version(row) for row in found]

    def names(self) -> list[str]:
        """The names of the stored datasets."""
        return sorted({v.name for v in self.versions()})

    def cases(self, name: str, version: int) -> Iterator[dict[str, Any]]:
        """The cases of one version in order, read in batches (a large version is streamed).
        ``KeyError`` when there is no such version."""
        found = self.get(name, version)
        if found is None:
            raise KeyError(f"{name}@{version}")
        table, rows = _schema.datasets, _schema.dataset_cases
        with self.engine.connect() as conn:
            dataset_id = conn.execute(
                select(table.c.id).where(table.c.name == name, table.c.version == version)
            ).scalar_one()
        position = -1
        while True:  # keyset pages: no cursor stays open while the caller works on a case
            with self.engine.connect() as conn:
                page = conn.execute(
                    select(rows.c.position, rows.c.body)
                    .where(rows.c.dataset_id == dataset_id, rows.c.position > position)
                    .order_by(rows.c.position)
                    .limit(_BATCH)
                ).all()
            if not page:
                return
            position = page[-1][0]
            for _, body in page:
                yield json.loads(body)


def _version(row: Any) -> DatasetVersion:
    return DatasetVersion(
        name=row["name"],
        version=int(row["version"]),
        created_ts=float(row["created_ts"]),
        kind=row["kind"],
        count=int(row["case_count"]),
        digest=row["digest"],
        parent_version=row["parent_version"],
        provenance=json.loads(row["provenance"] or "{}"),
        scrub=json.loads(row["scrub"]) if row["scrub"] else None,
        note=row["note"],
    )
