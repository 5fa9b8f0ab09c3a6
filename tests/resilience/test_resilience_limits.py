"""Retry policy, token buckets and deadlines, on a fake clock."""

from __future__ import annotations

import asyncio
import random

import pytest

from benchroute.providers import ProviderError
from benchroute.resilience import Deadline, RateLimiter, RetryPolicy, TokenBucket


class Clock:
    """A clock whose sleep advances it (and yields to the loop)."""

    def __init__(self) -> None:
        self.now = 50.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def _error(kind: str, retry_after: float | None = None) -> ProviderError:
    return ProviderError("x", kind=kind, retry_after=retry_after)  # type: ignore[arg-type]


# retry policy ---------------------------------------------------------------------------
def test_final_kinds_and_the_attempt_limit_give_up() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.delay(0, _error("auth")) is None
    assert policy.delay(0, _error("bad_request")) is None
    assert policy.delay(0, _error("server_error")) is not None
    assert policy.delay(1, _error("server_error")) is not None
    assert policy.delay(2, _error("server_error")) is None  # the third attempt was the last


def test_per_kind_attempt_limits() -> None:
    policy = RetryPolicy(max_attempts=10, max_attempts_by_kind={"connection": 2})
    assert policy.delay(0, _error("connection")) is not None
    assert policy.delay(1, _error("connection")) is None
    assert policy.delay(8, _error("timeout")) is not None


def test_backoff_is_exponential_capped_and_jittered() -> None:
    none = RetryPolicy(base_delay_s=0.5, max_delay_s=3, jitter="none")
    assert [none.backoff(a) for a in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    full = RetryPolicy(base_delay_s=0.5, max_delay_s=3, max_attempts=20)
    rng = random.Random(1)
    draws = [full.delay(3, _error("server_error"), rng=rng) for _ in range(500)]
    assert all(d is not None and 0 <= d <= 3.0 for d in draws)
    assert len({round(d or 0, 3) for d in draws}) > 100  # really spread
    equal = RetryPolicy(base_delay_s=1, max_delay_s=8, jitter="equal", max_attempts=9)
    assert all(4 <= (equal.delay(3, _error("timeout"), rng=rng) or 0) <= 8 for _ in range(100))


def test_retry_after_is_honoured_spread_and_capped() -> None:
    policy = RetryPolicy(max_retry_after_s=30)
    rng = random.Random(2)
    waits = [policy.delay(0, _error("rate_limited", 2.0), rng=rng) or 0 for _ in range(200)]
    assert all(2.0 <= w <= 2.2 for w in waits) and max(waits) > 2.1
    assert policy.delay(0, _error("rate_limited", 31.0)) is None  # too long: give up
    assert RetryPolicy(max_retry_after_s=None).delay(0, _error("rate_limited", 3600)) is not None
    ignoring = RetryPolicy(honour_retry_after=False, base_delay_s=0.1, max_delay_s=0.1, jitter="none")
    assert ignoring.delay(0, _error("rate_limited", 5.0)) == 0.1


def test_a_wait_beyond_the_deadline_gives_up() -> None:
    policy = RetryPolicy(jitter="none", base_delay_s=1)
    assert policy.delay(0, _error("server_error"), remaining=0.5) is None
    assert policy.delay(0, _error("server_error"), remaining=1.5) == 1.0


# token buckets --------------------------------------------------------------------------
def test_try_acquire_admits_the_burst_then_says_how_long() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, 3, clock=clock)
    assert [bucket.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_acquire() == pytest.approx(0.5)
    assert bucket.try_acquire() == pytest.approx(0.5)  # taking nothing when refused
    clock.now += 0.5
    assert bucket.try_acquire() == 0.0
    clock.now += 100
    assert bucket.available() == 3  # never more than the burst


def test_an_oversized_request_waits_for_a_full_bucket_and_leaves_debt() -> None:
    clock = Clock()
    bucket = TokenBucket(10.0, 10, clock=clock)
    assert bucket.try_acquire(25) == 0.0  # full bucket: admitted
    assert bucket.available() == -15
    assert bucket.try_acquire(1) == pytest.approx(1.6)


def test_acquire_waits_in_arrival_order() -> None:
    clock = Clock()
    bucket = TokenBucket(1.0, 1, clock=clock, sleep=clock.sleep)
    order: list[int] = []

    async def one(i: int) -> None:
        await bucket.acquire()
        order.append(i)

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(5)))

    start = clock.now
    asyncio.run(main())
    assert order == [0, 1, 2, 3, 4]
    assert clock.now - start == pytest.approx(4.0)


def test_rate_limiter_paces_requests_and_settles_tokens() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=60, tpm=600, clock=clock, sleep=clock.sleep)

    async def main() -> list[float]:
        return [await limiter.acquire(5) for _ in range(3)]

    waits = asyncio.run(main())
    assert waits[0] == 0.0
    assert waits[1] == pytest.approx(1 / 0.98) and waits[2] == pytest.approx(1 / 0.98)
    assert limiter.tokens is not None
    before = limiter.tokens.available()
    limiter.settle(estimated_tokens=5, actual_tokens=2)
    assert limiter.tokens.available() == pytest.approx(min(10, before + 3))


def test_rate_limiter_try_acquire_takes_both_budgets_or_neither() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=600, tpm=6000, request_burst=5, headroom=1.0, clock=clock)
    assert limiter.try_acquire(60) == 0.0  # the token bucket holds 100
    assert limiter.tokens is not None and limiter.requests is not None
    wait = limiter.try_acquire(60)  # requests fine, tokens short by 20 → 0.2 s
    assert wait == pytest.approx(0.2)
    assert limiter.requests.available() == pytest.approx(4)  # no request slot was taken
    assert RateLimiter().try_acquire(10**6) == 0.0  # no limits


# deadlines ------------------------------------------------------------------------------
def test_deadline_counts_down_and_caps_attempt_timeouts() -> None:
    clock = Clock()
    deadline = Deadline(10, clock=clock)
    assert deadline.remaining() == 10 and not deadline.expired
    clock.now += 7
    assert deadline.budget(5) == pytest.approx(3) and deadline.budget(2) == 2
    assert deadline.budget(None) == pytest.approx(3) and deadline.elapsed() == pytest.approx(7)
    clock.now += 4
    assert deadline.remaining() == 0.0 and deadline.expired
