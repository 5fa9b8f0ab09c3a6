"""Fault injection and the server-side rate limiter of the fake server.

A fault is a rule "answer the next matching request badly instead". Rules are kept in the
order they were added and the first one that matches a request wins, so a test can stack a
burst of 429s (``count=3``) in front of a background error rate (``rate=0.05``) and reason
about exactly which request gets what. Each rule owns its own ``random.Random(seed)``: the
draws of one rule never depend on how many draws another rule made, which keeps a seeded
error rate reproducible even when other rules are added or exhausted around it. A rule
with neither ``rate`` nor ``count`` fires on every matching request until it is cleared.

The rate limiter is a plain token bucket refilled from ``time.monotonic()``: it starts
full (``burst`` tokens), each request takes one token and a request that finds less than
one token is refused with the time until the next token as its ``Retry-After``.

Nothing here locks: the server calls these objects while holding its own lock, which is
the one place that serialises the test thread against the event-loop thread.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from typing import Final

FAULT_KINDS: Final = frozenset(
    {"rate_limit", "server_error", "hang", "malformed", "garbage", "cut_stream", "auth", "drop"}
)


class Fault:
    """One active fault rule (see :meth:`FakeServer.fault` for the meaning of the fields)."""

    __slots__ = ("after_chunks", "count", "hang_seconds", "kind", "model", "rate", "retry_after", "rng")

    def __init__(
        self,
        kind: str,
        *,
        rate: float | None,
        count: int | None,
        model: str | None,
        retry_after: float | None,
        hang_seconds: float,
        seed: int,
        after_chunks: int | None = None,
    ) -> None:
        if kind not in FAULT_KINDS:
            known = ", ".join(sorted(FAULT_KINDS))
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {known}")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {rate}")
        if count is not None and count < 0:
            raise ValueError(f"fault count must be >= 0, got {count}")
        if retry_after is not None and retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {retry_after}")
        if hang_seconds < 0:
            raise ValueError(f"hang_seconds must be >= 0, got {hang_seconds}")
        if after_chunks is not None and (after_chunks < 0 or kind not in ("cut_stream", "hang")):
            raise ValueError("after_chunks (>= 0) applies to the cut_stream and hang faults only")
        self.after_chunks = after_chunks
        self.kind = kind
        self.rate = rate
        self.count = count
        self.model = model
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.rng = random.Random(seed)

    def fires(self, model: str | None) -> bool:
        """Decide (and account for) whether this rule hits a request for ``model``."""
        if self.model is not None and model != self.model:
            return False
        if self.count is not None and self.count <= 0:
            return False
        # The draw happens only for requests the rule could apply to, so a model-scoped
        # rule's sequence does not shift with traffic to other models.
        if self.rate is not None and self.rng.random() >= self.rate:
            return False
        if self.count is not None:
            self.count -= 1
        return True

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.count <= 0


def pick_fault(faults: list[Fault], model: str | None) -> Fault | None:
    """The first rule that fires for this request; exhausted rules are dropped."""
    for fault in faults:
        if fault.fires(model):
            if fault.exhausted:
                faults.remove(fault)
            return fault
    return None


class TokenBucket:
    """``rps`` tokens per second, at most ``burst`` banked; starts full."""

    __slots__ = ("burst", "rps", "stamp", "tokens")

    def __init__(self, rps: float, burst: float | None = None) -> None:
        if not rps > 0:
            raise ValueError(f"rate limit must be > 0 requests per second, got {rps}")
        burst = max(1.0, rps) if burst is None else burst
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self.rps = rps
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> float | None:
        """Take a token: ``None`` if granted, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rps)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        # Rounded up to the millisecond so a client that waits exactly this long finds a
        # token instead of being refused again by a rounding hair.
        return math.ceil((1.0 - self.tokens) / self.rps * 1000.0) / 1000.0


class SlidingWindow:
    """At most ``rps * window_s`` requests within any trailing ``window_s`` seconds.

    Unlike a token bucket, it banks nothing: a load that rises through the limit is
    refused from the moment the last ``window_s`` seconds hold more than the limit allows,
    while arrivals that come a little early or late (client jitter) below the limit are not
    refused. Load tests use it to find a configured limit precisely.
    """

    __slots__ = ("allowed", "rps", "stamps", "window_s")

    def __init__(self, rps: float, window_s: float) -> None:
        if not rps > 0:
            raise ValueError(f"rate limit must be > 0 requests per second, got {rps}")
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.rps = rps
        self.window_s = window_s
        self.allowed = max(1, int(rps * window_s + 1e-9))
        self.stamps: deque[float] = deque()

    def take(self) -> float | None:
        """Admit a request: ``None`` if granted, else the seconds until one would be."""
        now = time.monotonic()
        stamps = self.stamps
        horizon = now - self.window_s
        while stamps and stamps[0] <= horizon:
            stamps.popleft()
        if len(stamps) < self.allowed:
            stamps.append(now)
            return None
        return math.ceil((stamps[0] - horizon) * 1000.0) / 1000.0


def format_seconds(seconds: float) -> str:
    """A ``Retry-After`` value: an integer when whole, else seconds with up to 3 decimals."""
    if seconds == int(seconds):
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")
