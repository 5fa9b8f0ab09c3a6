"""Per-request samples of stress runs (the ``load_samples`` table, migration m002)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from ._records import Result

# A stress suite stores one result per model under this case id: its SLO checks as scores,
# its figures, saturation point and window series in ``details["load"]`` and siblings.
LOAD_CASE_ID = "load"

LoadOutcome = Literal["ok", "rate_limited", "error", "timeout", "dropped"]


class LoadSample(NamedTuple):
    """One request of a load test. Times are seconds from the start of the (suite, model)
    load; ``latency_ms`` runs from ``sent_s`` to the end of the reply (None when nothing was
    sent: a ``dropped`` arrival found ``max_in_flight`` requests already waiting)."""

    suite: str
    model: str
    seq: int
    scheduled_s: float
    sent_s: float | None
    latency_ms: float | None
    ttft_ms: float | None
    outcome: str
    error_kind: str | None
    retries: int


def is_load_result(result: Result) -> bool:
    """Whether ``result`` is the summary of a load test (not one scored case): its
    ``details`` hold the load figures. A unit case that happens to be called "load" is not."""
    return result.case_id == LOAD_CASE_ID and bool(result.details) and "load" in (result.details or {})
