"""Per-request samples of stress runs (the ``load_samples`` table, migration m002)."""

from __future__ import annotations

from typing import Literal, NamedTuple

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
