"""Load-test analysis by calling the functions: windows, saturation point, SLO checks."""

from __future__ import annotations

import pytest

from benchroute.analysis import check_slos, load_windows, saturation_point, summarize_load
from benchroute.store import LoadSample


def _sample(
    seq: int,
    at: float,
    latency_ms: float | None = 10.0,
    outcome: str = "ok",
    retries: int = 0,
    ttft_ms: float | None = None,
) -> LoadSample:
    sent = None if outcome == "dropped" else at
    kind = None if outcome == "ok" else outcome
    return LoadSample("s", "m", seq, at, sent, latency_ms, ttft_ms, outcome, kind, retries)


def _steady(rate: int, seconds: int, **kwargs: object) -> list[LoadSample]:
    return [_sample(i, i / rate, **kwargs) for i in range(rate * seconds)]  # type: ignore[arg-type]


def test_windows_count_offered_by_schedule_and_achieved_by_completion() -> None:
    # 10 rps for 2 s; every reply takes 600 ms, so the last 6 complete after the profile.
    samples = _steady(10, 2, latency_ms=600.0)
    first, second = load_windows(samples, window_s=1.0, latency_budget_ms=500, duration_s=2.0)
    assert (first.requests, second.requests) == (10, 10)
    assert first.offered_rps == second.offered_rps == 10
    assert first.achieved_rps == 4  # sent at 0.0-0.3 s, done by 1.0 s
    assert second.achieved_rps == 10
    assert first.goodput_rps == 0 and first.p95_ms == pytest.approx(600)


def test_a_partial_last_window_is_not_understated() -> None:
    samples = _steady(20, 1) + [_sample(20 + i, 1.0 + i / 20) for i in range(5)]  # 0.25 s more
    windows = load_windows(samples, window_s=1.0, duration_s=1.25)
    assert windows[-1].width_s == pytest.approx(0.25) and windows[-1].offered_rps == pytest.approx(20)


def test_rates_percentiles_and_retries_per_window() -> None:
    samples = [
        _sample(0, 0.0, 100.0, ttft_ms=20.0),
        _sample(1, 0.1, 200.0, retries=1),
        _sample(2, 0.2, 5.0, outcome="rate_limited"),
        _sample(3, 0.3, 5000.0, outcome="timeout"),
        _sample(4, 0.4, None, outcome="dropped"),
    ]
    (window,) = load_windows(samples, window_s=1.0, duration_s=1.0)
    assert (window.ok, window.rate_limited, window.errors) == (2, 1, 2)
    assert window.rate_limited_rate == pytest.approx(0.2) and window.error_rate == pytest.approx(0.4)
    assert window.retry_rate == pytest.approx(0.2)
    assert window.p50_ms == pytest.approx(150)  # successes only: a fast 429 is not a fast answer
    assert window.ttft_p50_ms == 20.0


def _ramp_through_limit(limit: float) -> list[LoadSample]:
    """10 -> 100 rps over 9 s, windows of 1 s; beyond ``limit`` the excess is refused."""
    samples: list[LoadSample] = []
    seq = 0
    for second in range(9):
        rate = 10 + 10 * second
        accepted = min(rate, limit)
        for k in range(rate):
            outcome = "ok" if k < accepted else "rate_limited"
            samples.append(_sample(seq, second + k / rate, 10.0, outcome))
            seq += 1
    return samples


def test_saturation_is_the_offered_load_where_errors_pass_their_limit() -> None:
    summary = summarize_load(
        _ramp_through_limit(50), window_s=1.0, error_limit=0.05, sustain_windows=2, duration_s=9
    )
    assert summary.saturation is not None
    assert summary.saturation.offered_rps == 60  # the first window above 50: 1/6 refused
    assert summary.saturation.at_s == 5.0
    assert "429" in summary.saturation.reason
    assert summary.rate_limited == 10 + 20 + 30 + 40
    assert summary.failure_rate == pytest.approx(100 / 450)
    assert summary.error_rate == 0


def test_one_bad_window_is_not_saturation_but_a_sustained_latency_breach_is() -> None:
    samples = _steady(10, 6)
    samples[20] = _sample(20, 2.0, 10.0, "error")  # one error in window 2: 10% > 5%, once
    slow = [_sample(60 + i, 6 + i / 10, 900.0) for i in range(30)]  # 3 s over a 500 ms budget
    windows = load_windows(samples + slow, window_s=1.0, latency_budget_ms=500)
    found = saturation_point(windows, latency_budget_ms=500, error_limit=0.05, sustain=2)
    assert found is not None and found.at_s == 6.0 and "p95 900 ms > budget 500 ms" in found.reason
    assert saturation_point(windows[:6], latency_budget_ms=500, error_limit=0.05, sustain=2) is None


def test_slo_checks_report_each_assertion() -> None:
    summary = summarize_load(
        _ramp_through_limit(50), window_s=1.0, latency_budget_ms=1000, error_limit=0.05, duration_s=9
    )
    checks = {
        c.name: c
        for c in check_slos(
            summary,
            {"p95_ms": 800, "rate_limited_rate": 0.01, "min_goodput_rps": 20, "min_saturation_rps": 80},
        )
    }
    assert checks["p95_ms"].passed and checks["p95_ms"].reason == "p95 10 ms <= 800 ms"
    assert not checks["rate_limited_rate"].passed
    assert checks["rate_limited_rate"].reason == "rate limited rate 22.22% > 1.00%"
    assert checks["min_goodput_rps"].passed  # 350 successes in 9 s
    assert not checks["min_saturation_rps"].passed and checks["min_saturation_rps"].actual == 60
    with pytest.raises(ValueError, match="unknown SLO"):
        check_slos(summary, {"p95": 1})


def test_no_successes_fails_latency_slos_instead_of_passing_them() -> None:
    samples = [_sample(i, i / 10, 5.0, "error") for i in range(10)]
    summary = summarize_load(samples, duration_s=1.0)
    (check,) = check_slos(summary, {"p95_ms": 100})
    assert not check.passed and "no successful requests" in check.reason
    assert summarize_load([], duration_s=1.0).requests == 0
