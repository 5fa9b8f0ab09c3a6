"""Circuit breaker state machine, on a fake clock."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from benchroute.resilience import BreakerRegistry, BreakerSettings, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _breaker(clock: Clock, **settings: float) -> CircuitBreaker:
    return CircuitBreaker("ep", BreakerSettings(**settings), clock)


def test_consecutive_failures_open_it_and_a_success_resets_the_streak() -> None:
    clock = Clock()
    breaker = _breaker(clock, consecutive_failures=3, min_requests=100)
    for _ in range(2):
        breaker.record_failure("server_error")
    breaker.record_success()
    breaker.record_failure("server_error")
    breaker.record_failure("server_error")
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure("timeout")
    assert breaker.state == "open" and not breaker.allow()
    assert breaker.retry_in() == pytest.approx(10.0)
    assert breaker.snapshot()["last_error_kind"] == "timeout"


def test_a_streak_with_gaps_longer_than_the_window_does_not_open_it() -> None:
    clock = Clock()
    breaker = _breaker(clock, consecutive_failures=3, min_requests=100, window_s=5)
    for _ in range(5):
        breaker.record_failure("connection")
        clock.advance(6)
    assert breaker.state == "closed"


def test_failure_rate_needs_the_minimum_requests_in_the_window() -> None:
    clock = Clock()
    breaker = _breaker(clock, consecutive_failures=0, min_requests=10, failure_rate=0.5, window_s=30)
    for _ in range(4):  # 4 of 8 failed, below the minimum of 10 requests
        breaker.record_success()
        breaker.record_failure("server_error")
    assert breaker.state == "closed"
    breaker.record_success()
    breaker.record_failure("server_error")  # 5 of 10
    assert breaker.state == "open"


def test_outcomes_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    breaker = _breaker(clock, consecutive_failures=0, min_requests=4, failure_rate=0.5, window_s=10)
    for _ in range(3):
        breaker.record_failure("server_error")
    assert breaker.window() == (3, 3)
    clock.advance(11)
    assert breaker.window() == (0, 0)
    for _ in range(3):
        breaker.record_success()
    breaker.record_failure("server_error")  # 1 of 4 in the window: closed
    assert breaker.state == "closed"


def test_open_then_half_open_probe_success_closes_it() -> None:
    clock = Clock()
    breaker = _breaker(clock, consecutive_failures=2, open_s=5, half_open_probes=1)
    breaker.record_failure("connection")
    breaker.record_failure("connection")
    assert breaker.state == "open"
    clock.advance(4.5)
    assert not breaker.allow() and breaker.retry_in() == pytest.approx(0.5)
    clock.advance(0.5)
    assert breaker.state == "half_open" and breaker.retry_in() == 0.0
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # one probe at a time
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()
    assert breaker.window() == (0, 0)  # a fresh window after closing


def test_a_failed_probe_opens_it_again_for_another_cooldown() -> None:
    clock = Clock()
    breaker = _breaker(clock, consecutive_failures=1, open_s=5)
    breaker.record_failure("server_error")
    clock.advance(5)
    assert breaker.allow()
    breaker.record_failure("server_error")
    assert breaker.state == "open" and breaker.retry_in() == pytest.approx(5.0)
    assert breaker.opened == 2


def test_several_probes_must_all_succeed() -> None:
    clock = Clock()
    breaker = _breaker(clock, consecutive_failures=1, open_s=1, half_open_probes=3)
    breaker.record_failure("server_error")
    clock.advance(1)
    assert [breaker.allow() for _ in range(4)] == [True, True, True, False]
    breaker.record_success()
    breaker.record_success()
    assert breaker.state == "half_open"
    breaker.record_success()
    assert breaker.state == "closed"


def test_a_probe_that_never_reports_gives_its_slot_back() -> None:
    clock = Clock()
    breaker = _breaker(clock, consecutive_failures=1, open_s=2)
    breaker.record_failure("timeout")
    clock.advance(2)
    assert breaker.allow() and not breaker.allow()
    assert breaker.retry_in() == pytest.approx(2.0)
    clock.advance(2)
    assert breaker.allow()  # the lost probe's lease expired
    breaker.release()
    assert breaker.allow()


def test_hold_open_stays_open_until_reset() -> None:
    clock = Clock()
    breaker = _breaker(clock, open_s=1)
    breaker.hold_open("wrong key")
    clock.advance(100)
    assert breaker.state == "open" and not breaker.allow() and breaker.retry_in() is None
    assert breaker.snapshot()["held"] == "wrong key"
    breaker.reset()
    assert breaker.state == "closed" and breaker.allow()


def test_state_changes_are_reported() -> None:
    clock = Clock()
    seen: list[tuple[str, str, str]] = []
    registry = BreakerRegistry(
        BreakerSettings(consecutive_failures=1, open_s=1),
        clock,
        on_change=lambda b, x, y: seen.append((b.name, x, y)),
    )
    breaker = registry.get("a")
    breaker.record_failure("server_error")
    clock.advance(1)
    assert breaker.allow()
    breaker.record_success()
    assert seen == [("a", "closed", "open"), ("a", "open", "half_open"), ("a", "half_open", "closed")]


def test_registry_gives_one_breaker_per_key() -> None:
    clock = Clock()
    registry = BreakerRegistry(BreakerSettings(consecutive_failures=1), clock)
    assert registry.get("a") is registry.get("a")
    registry.get("b").record_failure("connection")
    assert registry.states() == {"a": "closed", "b": "open"}
    assert registry.snapshot()["b"]["failures"] == 1 and len(registry) == 2 and "a" in registry


def test_memory_stays_bounded_under_many_outcomes() -> None:
    clock = Clock()
    breaker = _breaker(clock, window_s=30, consecutive_failures=0, min_requests=10**9)
    for i in range(100_000):
        breaker.record_success() if i % 3 else breaker.record_failure("server_error")
        clock.advance(0.001)
    assert len(breaker._slices) <= 21
    requests, failures = breaker.window()
    assert requests == 30_000 or abs(requests - 30_000) <= 30_000 / 20 + 1
    assert failures == pytest.approx(requests / 3, rel=0.01)


def test_settings_are_validated() -> None:
    with pytest.raises(ValidationError):
        BreakerSettings(failure_rate=0)
    with pytest.raises(ValidationError):
        BreakerSettings(min_requests=0)
    with pytest.raises(ValidationError):
        BreakerSettings(window_s=1, bogus=2)  # type: ignore[call-arg]
