"""The store: runs and results over SQLAlchemy (SQLite by default), append-only migrations."""

from ._migrations import MIGRATIONS
from ._records import Result, ResultKey, RunRecord
from ._samples import LoadOutcome, LoadSample
from ._store import QuarantinedCase, Store, StoreError

__all__ = [
    "MIGRATIONS",
    "LoadOutcome",
    "LoadSample",
    "QuarantinedCase",
    "Result",
    "ResultKey",
    "RunRecord",
    "Store",
    "StoreError",
]
