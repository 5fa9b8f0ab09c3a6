"""Circuit breakers: stop paying for an endpoint that is failing, and find out when it is back.

A :class:`CircuitBreaker` guards one endpoint. **Closed**, every request goes; outcomes are
counted in a sliding window of ``window_s`` seconds (kept as 20 time slices, so memory stays
fixed however many requests pass). It **opens** when either

- ``consecutive_failures`` failures come in a row (each within ``window_s`` of the one before;
  0 turns the rule off), or
- the window holds at least ``min_requests`` outcomes and the share that failed is at least
  ``failure_rate``.

**Open**, :meth:`CircuitBreaker.allow` says no for ``open_s`` seconds (:meth:`retry_in` says
how long is left: a gateway's ``Retry-After``), then the breaker is **half-open**: it admits
``half_open_probes`` requests at a time. That many successes close it (with a fresh window);
one failure opens it again for another ``open_s``. A probe that never reports (its client went
away) gives its slot back after ``open_s``, so a half-open breaker cannot wedge. This applies
to an alias with one endpoint too: failing fast with a ``Retry-After`` is better than paying
the dead endpoint's timeouts and retries on every request.

:meth:`CircuitBreaker.hold_open` opens a breaker until :meth:`reset` (a wrong key: no probe
can succeed). Time comes from an injectable ``clock``. The breaker is not thread-safe; it lives
in one event loop, like everything it guards.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BreakerRegistry", "BreakerSettings", "BreakerState", "CircuitBreaker"]

BreakerState = Literal["closed", "open", "half_open"]

# The sliding window is kept as this many slices (see the module doc).
_SLICES = 20


class BreakerSettings(BaseModel):
    """When a breaker opens and how it closes again (see :class:`CircuitBreaker`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_s: float = Field(default=30.0, gt=0)
    min_requests: int = Field(default=5, ge=1)
    failure_rate: float = Field(default=0.5, gt=0, le=1)
    consecutive_failures: int = Field(default=5, ge=0, description="0: off")
    open_s: float = Field(default=10.0, ge=0, description="cooldown before half-open")
    half_open_probes: int = Field(default=1, ge=1)


class CircuitBreaker:
    """The breaker of one endpoint (see the module doc)."""

    __slots__ = (
        "_clock",
        "_consecutive",
        "_failures",
        "_last_failure_at",
        "_on_change",
        "_opened_at",
        "_probe_leases",
        "_probe_successes",
        "_requests",
        "_slice_s",
        "_slices",
        "_state",
        "held_reason",
        "last_error_kind",
        "name",
        "opened",
        "settings",
    )

    def __init__(
        self,
        name: str,
        settings: BreakerSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        on_change: Callable[[CircuitBreaker, str, str], None] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings = settings or BreakerSettings()
        self._clock = clock
        self._on_change = on_change
        self._state: BreakerState = "closed"
        self._slice_s = settings.window_s / _SLICES
        # [slice start, requests, failures], oldest first; totals kept beside them
        self._slices: deque[list[float]] = deque()
        self._requests = 0
        self._failures = 0
        self._consecutive = 0
        self._last_failure_at = float("-inf")
        self._opened_at = 0.0
        self._probe_leases: list[float] = []
        self._probe_successes = 0
        self.held_reason: str | None = None
        self.last_error_kind: str | None = None
        self.opened = 0  # times it opened

    # state ------------------------------------------------------------------------------
    @property
    def state(self) -> BreakerState:
        """closed, open or half_open (an open breaker past its cooldown is half-open)."""
        if (
            self._state == "open"
            and self.held_reason is None
            and self._clock() - self._opened_at >= self.settings.open_s
        ):
            self._set("half_open")
        return self._state

    def allow(self) -> bool:
        """Whether a request may go now; half-open, this takes one of the probe slots."""
        state = self._state if self._state == "closed" else self.state
        if state == "closed":
            return True
        if state == "open":
            return False
        now = self._clock()
        leases = self._probe_leases
        if leases:
            stale = now - self.settings.open_s
            leases[:] = [t for t in leases if t > stale]
        if len(leases) >= self.settings.half_open_probes:
            return False
        leases.append(now)
        return True

    def release(self) -> None:
        """Give back a probe slot without an outcome (the request was cancelled, or failed
        for a reason that says nothing about the endpoint)."""
        if self._probe_leases:
            self._probe_leases.pop(0)

    def retry_in(self) -> float | None:
        """Seconds until the breaker admits a probe (0.0 when a probe slot is free now, None
        when it is closed or held open until reset)."""
        state = self.state
        if state == "closed" or self.held_reason is not None:
            return None
        if state == "half_open":
            leases = self._probe_leases
            if len(leases) < self.settings.half_open_probes:
                return 0.0
            return max(0.0, leases[0] + self.settings.open_s - self._clock())
        return max(0.0, self._opened_at + self.settings.open_s - self._clock())

    # outcomes ---------------------------------------------------------------------------
    def record_success(self) -> None:
        """The endpoint answered."""
        self._consecutive = 0
        state = self._state
        if state == "closed":
            self._count(self._clock(), failed=False)
        elif state == "half_open":
            if self._probe_leases:
                self._probe_leases.pop(0)
            self._probe_successes += 1
            if self._probe_successes >= self.settings.half_open_probes:
                self._close()
        # open: a request admitted before it opened; it does not close the breaker

    def record_failure(self, kind: str = "error") -> None:
        """The endpoint failed with an error of ``kind`` (count only the endpoint's faults)."""
        now = self._clock()
        self.last_error_kind = kind
        state = self._state
        if state == "half_open":
            self._open(now)
            return
        if state == "open":
            return
        settings = self.settings
        self._consecutive = self._consecutive + 1 if now - self._last_failure_at <= settings.window_s else 1
        self._last_failure_at = now
        self._count(now, failed=True)
        if (settings.consecutive_failures and self._consecutive >= settings.consecutive_failures) or (
            self._requests >= settings.min_requests
            and self._failures >= settings.failure_rate * self._requests
        ):
            self._open(now)

    def hold_open(self, reason: str) -> None:
        """Open the breaker until :meth:`reset`: no probe can succeed (a wrong key)."""
        self.held_reason = reason
        if self._state != "open":
            self._open(self._clock())

    def reset(self) -> None:
        """Close the breaker and forget everything it counted."""
        self.held_reason = None
        self._close()

    # figures ----------------------------------------------------------------------------
    def window(self) -> tuple[int, int]:
        """(requests, failures) in the current window."""
        self._evict(self._clock())
        return self._requests, self._failures

    def snapshot(self) -> dict[str, Any]:
        """The breaker's state and figures, JSON-ready (receipts, metrics, status pages)."""
        requests, failures = self.window()
        return {
            "name": self.name,
            "state": self.state,
            "requests": requests,
            "failures": failures,
            "failure_rate": failures / requests if requests else None,
            "consecutive_failures": self._consecutive,
            "retry_in_s": self.retry_in(),
            "opened": self.opened,
            "last_error_kind": self.last_error_kind,
            "held": self.held_reason,
        }

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, state={self.state!r})"

    # internals --------------------------------------------------------------------------
    def _count(self, now: float, *, failed: bool) -> None:
        slices = self._slices
        if slices and now - slices[-1][0] < self._slice_s:
            last = slices[-1]
        else:
            self._evict(now)
            last = [now, 0, 0]
            slices.append(last)
        last[1] += 1
        self._requests += 1
        if failed:
            last[2] += 1
            self._failures += 1

    def _evict(self, now: float) -> None:
        slices = self._slices
        horizon = now - self.settings.window_s
        while slices and slices[0][0] <= horizon:
            _, requests, failures = slices.popleft()
            self._requests -= int(requests)
            self._failures -= int(failures)

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._probe_leases.clear()
        self._probe_successes = 0
        self.opened += 1
        self._set("open")

    def _close(self) -> None:
        self._slices.clear()
        self._requests = self._failures = self._consecutive = 0
        self._last_failure_at = float("-inf")
        self._probe_leases.clear()
        self._probe_successes = 0
        self._set("closed")

    def _set(self, state: BreakerState) -> None:
        before = self._state
        self._state = state
        if before != state and self._on_change is not None:
            self._on_change(self, before, state)


class BreakerRegistry:
    """One breaker per endpoint key, all with the same settings, made on first use."""

    __slots__ = ("_breakers", "_clock", "_on_change", "settings")

    def __init__(
        self,
        settings: BreakerSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        on_change: Callable[[CircuitBreaker, str, str], None] | None = None,
    ) -> None:
        self.settings = settings or BreakerSettings()
        self._clock = clock
        self._on_change = on_change
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, endpoint_key: str) -> CircuitBreaker:
        """The breaker of ``endpoint_key`` (made, closed, on first use)."""
        breaker = self._breakers.get(endpoint_key)
        if breaker is None:
            breaker = self._breakers[endpoint_key] = CircuitBreaker(
                endpoint_key, self.settings, self._clock, on_change=self._on_change
            )
        return breaker

    def states(self) -> dict[str, BreakerState]:
        """Every breaker's state, by endpoint key."""
        return {key: breaker.state for key, breaker in self._breakers.items()}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every breaker's :meth:`CircuitBreaker.snapshot`, by endpoint key."""
        return {key: breaker.snapshot() for key, breaker in self._breakers.items()}

    def __contains__(self, endpoint_key: object) -> bool:
        return endpoint_key in self._breakers

    def __len__(self) -> int:
        return len(self._breakers)
