"""Stored records: a run and its results (one per case x model x repeat)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ResultKey = tuple[str, str, str, int]

# ``Result.error_kind`` of a result whose scorer (or the judge it called) failed: an error of
# the measurement, not of the model. Provider errors keep their own kinds.
SCORER_ERROR_KIND = "scorer"


@dataclass(slots=True)
class Result:
    """The outcome of one case for one model and one repeat."""

    run_id: str
    suite: str
    case_id: str
    model: str
    repeat: int
    messages: list[dict[str, Any]]
    output: str | None
    scores: list[dict[str, Any]]
    score: float | None
    passed: bool
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    # None: the cost is unknown (the model, or a judge it used, has no price), never $0.
    # A reply from the response cache keeps the cost of the call that produced it.
    cost_usd: float | None = 0.0
    # The last attempt's latency; e2e_latency_ms is what the caller waited for the result
    # (retries, backoff, rate-limiter waits and local-model queueing included). Cached: the
    # original call's figures.
    latency_ms: float | None = None
    e2e_latency_ms: float | None = None
    ttft_ms: float | None = None
    retries: int = 0
    error: str | None = None
    error_kind: str | None = None
    served_model: str | None = None
    system_fingerprint: str | None = None
    cached: bool = False  # served from the response cache (figures: the original call's)
    created_at: str = ""
    # Conversation transcripts and other per-result structure (JSON-able); None when unused.
    details: dict[str, Any] | None = None
    # m004: what makes results comparable across runs. endpoint_id: the model's endpoint
    # (``ModelSpec.endpoint_id``: provider kind, base URL, model id, params), so one model
    # under two aliases is one series; suite_fingerprint: the suite spec that shaped the
    # result (cases, scorers, prompt template); case_hash: this case's content, so a changed
    # case is reported as a suite change, not as drift.
    endpoint_id: str | None = None
    suite_fingerprint: str | None = None
    case_hash: str | None = None
    # The rest of the usage (nested in input/output tokens), so old results can be re-priced.
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def key(self) -> ResultKey:
        return (self.suite, self.case_id, self.model, self.repeat)


@dataclass(slots=True)
class RunRecord:
    """A run: what was asked (a config snapshot), with which prices, and how it ended."""

    id: str
    suites: list[str]
    config: dict[str, Any]
    package_version: str
    prices: dict[str, Any]
    started_at: str
    status: str = "running"
    finished_at: str | None = None
    error: str | None = None
    # m004: why the run happened (manual, ci, schedule, version-change) and from where.
    trigger: str = "manual"
    git_sha: str | None = None
    branch: str | None = None
    host: str | None = None
