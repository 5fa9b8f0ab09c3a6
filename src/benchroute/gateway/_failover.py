"""Failover across an alias's candidates, with per-endpoint circuit breakers and one total
deadline, and the decision receipt that records every choice.

For each candidate, in order: a candidate whose breaker is open is *skipped* (no request is
paid for); otherwise it is *tried* with a per-attempt timeout (the model's, capped by what is
left of the deadline). A connection error, a timeout, a 429, a 5xx, a malformed reply — and,
for a stream, any of those before the first content byte — moves on to the next candidate;
a 400 goes back to the client at once (the request itself is wrong, another model would
refuse it too). Once a stream has sent content, nothing is retried.

The receipt (:class:`Receipt`) holds, per candidate: tried or skipped and why, the error
kind and HTTP status, the breaker's state before the choice, and the attempt's latency.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

from ..providers import ProviderError
from ._errors import GatewayError

if TYPE_CHECKING:
    from ..providers import Usage
    from ..routing import Decision
    from ._endpoints import Endpoint

POLICY: Final = "static-failover"

# ProviderError kinds after which the next candidate is tried (everything but bad_request).
FAILOVER_KINDS: Final = frozenset(
    {"rate_limited", "server_error", "timeout", "connection", "malformed_reply", "auth", "not_found"}
)
# What a breaker counts as the endpoint failing (a 4xx about the request is not its fault).
BREAKER_KINDS: Final = frozenset({"rate_limited", "server_error", "timeout", "connection", "malformed_reply"})


class Receipt:
    """The decision record of one request (see the module doc); built as the request goes."""

    __slots__ = (
        "alias",
        "arm",
        "attempts",
        "candidates",
        "cost_usd",
        "created_ts",
        "deadline_s",
        "decision",
        "error_kind",
        "estimated_tokens",
        "id",
        "served",
        "served_model",
        "started",
        "status",
        "stream",
        "usage",
    )

    def __init__(self, rid: str, alias: str, stream: bool, deadline_s: float) -> None:
        self.id = rid
        self.alias = alias
        self.stream = stream
        self.deadline_s = deadline_s
        self.created_ts = time.time()
        self.started = time.perf_counter()
        self.candidates: list[dict[str, Any]] = []
        self.attempts = 0
        self.served: Endpoint | None = None
        self.served_model: str | None = None
        self.status = 0
        self.error_kind: str | None = None
        self.usage: Usage | None = None
        self.cost_usd: float | None = None
        self.decision: Decision | None = None  # routed requests: what the router chose
        self.arm: str | None = None  # set for a shadow copy
        self.estimated_tokens = 0  # routed requests: for an endpoint's tpm

    def skipped(self, endpoint: Endpoint, reason: str, **extra: Any) -> None:
        self.candidates.append(
            {
                "model": endpoint.name,
                "endpoint_id": endpoint.id,
                "outcome": "skipped",
                "reason": reason,
                **extra,
            }
        )

    def tried(
        self,
        endpoint: Endpoint,
        breaker_state: str,
        started: float,
        error: ProviderError | None = None,
        outcome: str | None = None,
    ) -> None:
        self.attempts += 1
        entry: dict[str, Any] = {
            "model": endpoint.name,
            "endpoint_id": endpoint.id,
            "outcome": outcome or ("failed" if error is not None else "served"),
            "breaker": breaker_state,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        if error is not None:
            entry["error_kind"] = error.kind
            if error.status is not None:
                entry["http_status"] = error.status
            if error.retry_after is not None:
                entry["retry_after_s"] = error.retry_after
            entry["reason"] = str(error)[:300]
        self.candidates.append(entry)

    def to_json(self, endpoints: list[Endpoint]) -> dict[str, Any]:
        served = self.served
        usage = self.usage
        seen = {entry["endpoint_id"] for entry in self.candidates}
        remaining = [
            {"model": e.name, "endpoint_id": e.id, "outcome": "not_needed"}
            for e in endpoints
            if e.id not in seen
        ]
        decision = self.decision
        document = {
            "id": self.id,
            "created_ts": self.created_ts,
            "alias": self.alias,
            "policy": POLICY if decision is None else f"benchmark-routed v{decision.policy_version}",
            "stream": self.stream,
            "status": self.status,
            "error_kind": self.error_kind,
            "deadline_s": self.deadline_s,
            "attempts": self.attempts,
            "candidates": self.candidates + remaining,
            "served": None
            if served is None
            else {"model": served.name, "endpoint_id": served.id, "served_model": self.served_model},
            "breakers": {e.id: e.breaker.snapshot() for e in endpoints},
            "usage": None
            if usage is None
            else {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cached_input_tokens": usage.cached_input_tokens,
            },
            "cost_estimate_usd": self.cost_usd,
        }
        if decision is not None:
            routing = decision.to_json()  # shared by the requests of one class and arm
            if self.arm is not None:
                routing = {**routing, "arm": self.arm}
            document["routing"] = routing
        return document


def no_candidate_left(receipt: Receipt, errors: list[ProviderError], retry_in: list[float]) -> GatewayError:
    """The error for a request no candidate served: the last upstream failure's status (429
    with the soonest Retry-After, 504 for a timeout, 502 otherwise), or 503 when every
    breaker was open (Retry-After: when the first one half-opens)."""
    if not errors:
        wait = max(1, round(min(retry_in))) if retry_in else 1
        return GatewayError(
            503,
            "no_healthy_endpoint",
            f"model {receipt.alias!r}: every endpoint's circuit breaker is open; retry in {wait} s",
            headers={"retry-after": str(wait)},
        )
    last = errors[-1]
    kinds = {e.kind for e in errors}
    summary = ", ".join(e.kind for e in errors) + f"; last: {str(last)[:300]}"
    if kinds == {"rate_limited"}:
        waits = [e.retry_after for e in errors if e.retry_after is not None] + retry_in
        headers = {"retry-after": str(max(1, round(min(waits))))} if waits else {}
        return GatewayError(
            429, "rate_limited", f"model {receipt.alias!r}: every endpoint is rate limited", headers=headers
        )
    if last.kind == "timeout":
        return GatewayError(
            504, "upstream_timeout", f"model {receipt.alias!r}: no endpoint answered in time ({summary})"
        )
    return GatewayError(
        502, "upstream_error", f"model {receipt.alias!r}: no endpoint could answer ({summary})"
    )
