"""The store: runs and results over SQLAlchemy (SQLite by default), append-only migrations;
the gateway's request log, routing policies and versioned datasets."""

from ._datasets import DatasetStore, DatasetVersion, case_line
from ._migrations import MIGRATIONS
from ._policies import Activation, PolicyStore, StoredPolicy, policy_digest
from ._records import SCORER_ERROR_KIND, Result, ResultKey, RunRecord
from ._requests import REQUEST_COLUMNS, GatewayKey, RequestLog
from ._samples import LOAD_CASE_ID, LoadOutcome, LoadSample, is_load_result
from ._series import CASE_METRICS, SERIES_METRICS, CaseOutcome, SeriesPoint
from ._store import QuarantinedCase, Store, StoreError

__all__ = [
    "CASE_METRICS",
    "LOAD_CASE_ID",
    "MIGRATIONS",
    "REQUEST_COLUMNS",
    "SCORER_ERROR_KIND",
    "SERIES_METRICS",
    "Activation",
    "CaseOutcome",
    "DatasetStore",
    "DatasetVersion",
    "GatewayKey",
    "LoadOutcome",
    "LoadSample",
    "PolicyStore",
    "QuarantinedCase",
    "RequestLog",
    "Result",
    "ResultKey",
    "RunRecord",
    "SeriesPoint",
    "Store",
    "StoreError",
    "StoredPolicy",
    "case_line",
    "is_load_result",
    "policy_digest",
]
