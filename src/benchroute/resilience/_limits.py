"""Rate limits: requests per minute and tokens per minute as token buckets.

A :class:`TokenBucket` refills ``rate_per_s`` tokens per second up to ``burst``. Waiters of
:meth:`TokenBucket.acquire` queue on a lock, so they are served in arrival order and do not
all wake at once; :meth:`TokenBucket.try_acquire` never waits (a gateway answers 429 with
``Retry-After`` instead). A request larger than the bucket waits for a full bucket and leaves
it in debt, so an oversized request is admitted, late, rather than never.

:class:`RateLimiter` pairs an RPM and a TPM bucket. By default the request bucket holds a
single request, so requests are spaced at least ``60 / RPM`` seconds apart (2% more: see
``RPM_HEADROOM``): over any window of T seconds at most ``RPM / 60 * T + 1`` start, and a
provider that enforces its RPM over short windows sees no burst. A gateway key's limit, which
allows a burst, passes ``request_burst=``. The token bucket holds one second's worth of tokens
(``token_burst_s``). Both take an injectable ``clock`` and ``sleep`` (tests).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["RPM_HEADROOM", "RateLimiter", "TokenBucket"]

# Requests are paced this much under the configured RPM: a request's arrival at the provider
# lags its start by a varying network and scheduling delay, and without headroom two lagged
# requests can land in one of the provider's windows beside an on-time one.
RPM_HEADROOM = 0.98


class TokenBucket:
    """A token bucket refilling ``rate_per_s`` tokens per second up to ``burst`` (>= 1)."""

    __slots__ = ("_clock", "_lock", "_sleep", "_tokens", "_updated", "capacity", "rate")

    def __init__(
        self,
        rate_per_s: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.rate = rate_per_s
        self.capacity = max(burst, 1.0)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._lock: asyncio.Lock | None = None  # made on first wait, inside the running loop

    @property
    def rate_per_s(self) -> float:
        return self.rate

    @property
    def burst(self) -> float:
        return self.capacity

    def _refill(self) -> float:
        now = self._clock()
        tokens = self._tokens + (now - self._updated) * self.rate
        self._tokens = tokens if tokens < self.capacity else self.capacity
        self._updated = now
        return self._tokens

    def available(self) -> float:
        """Tokens in the bucket now (negative: in debt)."""
        return self._refill()

    def wait_for(self, amount: float = 1.0) -> float:
        """Seconds until ``amount`` could be taken (0: now), without taking anything."""
        need = amount if amount < self.capacity else self.capacity
        tokens = self._refill()
        return 0.0 if tokens >= need else (need - tokens) / self.rate

    def try_acquire(self, amount: float = 1.0) -> float:
        """Take ``amount`` now if the bucket allows it and return 0.0; else take nothing and
        return the seconds until it would be admitted."""
        wait = self.wait_for(amount)
        if wait == 0.0:
            self._tokens -= amount
        return wait

    async def acquire(self, amount: float = 1.0) -> float:
        """Wait until ``amount`` tokens are available and take them; returns the seconds
        waited. Waiters are served in arrival order."""
        if self._lock is None:
            if self.try_acquire(amount) == 0.0:  # the common case: no lock, no wait
                return 0.0
            self._lock = asyncio.Lock()
        started = self._clock()
        async with self._lock:
            while (wait := self.wait_for(amount)) > 0.0:
                await self._sleep(wait)
            self._tokens -= amount
        return self._clock() - started

    def adjust(self, delta: float) -> None:
        """Give back (positive) or take more (negative) tokens after the fact."""
        self._refill()
        tokens = self._tokens + delta
        self._tokens = tokens if tokens < self.capacity else self.capacity


class RateLimiter:
    """The RPM and TPM budgets of one endpoint (or one gateway key); None: no limit."""

    __slots__ = ("requests", "tokens")

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        request_burst: float = 1.0,
        token_burst_s: float = 1.0,
        headroom: float = RPM_HEADROOM,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.requests = (
            TokenBucket(rpm / 60 * headroom, request_burst, clock=clock, sleep=sleep) if rpm else None
        )
        self.tokens = (
            TokenBucket(tpm / 60, tpm / 60 * token_burst_s, clock=clock, sleep=sleep) if tpm else None
        )

    async def acquire(self, tokens: int = 0) -> float:
        """Wait for one request slot and ``tokens`` (estimated) tokens; returns seconds waited."""
        waited = 0.0
        if self.requests is not None:
            waited += await self.requests.acquire(1)
        if self.tokens is not None and tokens:
            waited += await self.tokens.acquire(tokens)
        return waited

    def try_acquire(self, tokens: int = 0) -> float:
        """Admit one request of ``tokens`` now (0.0, both budgets taken) or take nothing and
        return the seconds until it would be admitted (for a ``Retry-After``)."""
        wait = 0.0
        if self.requests is not None:
            wait = self.requests.wait_for(1)
        if self.tokens is not None and tokens:
            wait = max(wait, self.tokens.wait_for(tokens))
        if wait > 0.0:
            return wait
        if self.requests is not None:
            self.requests.try_acquire(1)
        if self.tokens is not None and tokens:
            self.tokens.try_acquire(tokens)
        return 0.0

    def settle(self, estimated_tokens: int, actual_tokens: int) -> None:
        """Correct the token budget once the real usage is known."""
        if self.tokens is not None and actual_tokens:
            self.tokens.adjust(estimated_tokens - actual_tokens)
