"""Seeded simulations: steps are flagged at or shortly after the true change, noise is not.

The histories come from ``simulate_history`` (cases of differing difficulty, a true rate
that steps at a known run); ``first_alarm`` replays each the way ``benchroute watch`` does,
one drift check after every run with the default settings. ``benchmarks/drift_power.py``
prints the same figures over more suite sizes and effect sizes.
"""

from __future__ import annotations

import statistics

import pytest

from benchroute.analysis import detect_drift, first_alarm, history_inputs, simulate_history
from benchroute.config import DriftSpec

CHANGE_AT = 8
REFUSAL = "refusal_rate"
SEEDS = range(20)


def _alarm_and_named_run(**kwargs: object) -> tuple[int | None, str | None]:
    history = simulate_history(runs=CHANGE_AT + 10, change_at=CHANGE_AT, **kwargs)  # type: ignore[arg-type]
    alarm = first_alarm(history)
    if alarm is None:
        return None, None
    latest, baseline, series = history_inputs(history.runs[: alarm + 1], window=DriftSpec().window)
    report = detect_drift(latest, baseline, series=series)
    named = [f.since_run for f in report.flagged()]
    return alarm, named[0]


@pytest.mark.parametrize(
    ("label", "kwargs", "max_delay", "max_median_delay"),
    [
        (
            "refusal 4% → 19%",
            {"cases": 100, "rate_before": 0.04, "rate_after": 0.19, "metric": REFUSAL},
            1,
            0,
        ),
        ("pass 0.80 → 0.65", {"cases": 100, "rate_before": 0.80, "rate_after": 0.65}, 5, 1),
        ("pass 0.80 → 0.74", {"cases": 1000, "rate_before": 0.80, "rate_after": 0.74}, 4, 1),
    ],
)
def test_step_is_flagged_at_or_shortly_after_the_change(
    label: str, kwargs: dict[str, object], max_delay: int, max_median_delay: int
) -> None:
    outcomes = [_alarm_and_named_run(seed=seed, **kwargs) for seed in SEEDS]
    alarms = [alarm for alarm, _ in outcomes]
    assert all(a is not None for a in alarms), (label, alarms)
    delays = [a - CHANGE_AT for a in alarms if a is not None]
    assert min(delays) >= 0, (label, alarms)  # never before the true change
    assert max(delays) <= max_delay, (label, alarms)
    assert statistics.median(delays) <= max_median_delay, (label, alarms)
    # The run the finding names as the start of the change is the true first changed run
    # in most histories (the latest run when the two-run test flagged alone).
    named = [run for _, run in outcomes]
    assert sum(run == f"run{CHANGE_AT:03d}" for run in named) >= 15, (label, named)


@pytest.mark.parametrize(
    ("label", "kwargs"),
    [
        ("pass 0.80, 100 cases, 20 runs", {"runs": 20, "cases": 100, "rate_before": 0.80}),
        ("pass 0.80, 400 cases, 20 runs", {"runs": 20, "cases": 400, "rate_before": 0.80}),
        # A low base rate estimated from few runs: 3 runs of 50 cases (about 6 refusals).
        (
            "refusal 4%, 50 cases, 4 runs",
            {"runs": 4, "cases": 50, "rate_before": 0.04, "metric": REFUSAL},
        ),
        (
            "refusal 4%, 50 cases, 20 runs",
            {"runs": 20, "cases": 50, "rate_before": 0.04, "metric": REFUSAL},
        ),
    ],
)
def test_noise_only_histories_raise_no_flag(label: str, kwargs: dict[str, object]) -> None:
    flagged = sum(
        first_alarm(simulate_history(seed=10_000 + seed, **kwargs)) is not None  # type: ignore[arg-type]
        for seed in range(100)
    )
    assert flagged <= 5, (label, flagged)


def test_simulation_is_deterministic() -> None:
    a = simulate_history(runs=5, cases=30, rate_before=0.5, seed=3)
    b = simulate_history(runs=5, cases=30, rate_before=0.5, seed=3)
    assert a == b
    assert first_alarm(a) == first_alarm(b)
