"""Per-model rate limits: requests per minute and tokens per minute as token buckets.

The request bucket holds a single request, so requests are spaced at least ``60 / RPM``
seconds apart (2% more: see ``RPM_HEADROOM``): over any window of T seconds at most
``RPM / 60 * T + 1`` start, and a provider that enforces its RPM over short windows sees no
burst. The token bucket holds one
second's worth of tokens; a request larger than that waits for a full bucket and leaves it
in debt. Waiters queue on a lock, so they are
served in arrival order and do not wake all at once.
"""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """An async token bucket refilling ``rate`` tokens per second up to ``capacity``."""

    def __init__(self, rate: float, capacity: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self, amount: float = 1.0) -> None:
        """Wait until ``amount`` tokens are available and take them. A request larger than
        the bucket waits for a full bucket and leaves it in debt."""
        async with self._lock:
            need = min(amount, self.capacity)
            self._refill()
            while self._tokens < need:
                await asyncio.sleep((need - self._tokens) / self.rate)
                self._refill()
            self._tokens -= amount

    def adjust(self, delta: float) -> None:
        """Give back (positive) or take more (negative) tokens after the fact."""
        self._refill()
        self._tokens = min(self.capacity, self._tokens + delta)


# Requests are paced this much under the configured RPM: a request's arrival at the provider
# lags its start by a varying network and scheduling delay, and without headroom two lagged
# requests can land in one of the provider's windows beside an on-time one.
RPM_HEADROOM = 0.98


class RateLimiter:
    """The RPM and TPM budgets of one model endpoint."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.requests = TokenBucket(rpm / 60 * RPM_HEADROOM, 1.0) if rpm else None
        self.tokens = TokenBucket(tpm / 60, tpm / 60) if tpm else None

    async def acquire(self, estimated_tokens: int) -> None:
        if self.requests is not None:
            await self.requests.acquire(1)
        if self.tokens is not None:
            await self.tokens.acquire(estimated_tokens)

    def settle(self, estimated_tokens: int, actual_tokens: int) -> None:
        """Correct the token budget once the real usage is known."""
        if self.tokens is not None and actual_tokens:
            self.tokens.adjust(estimated_tokens - actual_tokens)
