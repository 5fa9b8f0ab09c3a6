"""The store: runs and results over SQLAlchemy (SQLite by default), append-only migrations."""

from ._migrations import MIGRATIONS
from ._records import Result, ResultKey, RunRecord
from ._store import Store, StoreError

__all__ = ["MIGRATIONS", "Result", "ResultKey", "RunRecord", "Store", "StoreError"]
