"""The store: runs and results over SQLAlchemy (SQLite by default), append-only migrations."""

from ._migrations import MIGRATIONS
from ._records import SCORER_ERROR_KIND, Result, ResultKey, RunRecord
from ._samples import LOAD_CASE_ID, LoadOutcome, LoadSample, is_load_result
from ._store import QuarantinedCase, Store, StoreError

__all__ = [
    "LOAD_CASE_ID",
    "MIGRATIONS",
    "SCORER_ERROR_KIND",
    "LoadOutcome",
    "LoadSample",
    "QuarantinedCase",
    "Result",
    "ResultKey",
    "RunRecord",
    "Store",
    "StoreError",
    "is_load_result",
]
