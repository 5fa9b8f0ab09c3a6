"""Labelled simulated histories: check what drift settings detect for a given suite size.

A history is a series of runs of one model on one suite whose true rate steps at a known
run (or never). Cases differ in difficulty, as real ones do: each case has its own chance
``p_c`` drawn from a Beta distribution with the stated mean (``concentration`` sets how
different cases are: small = some cases nearly always pass and others nearly never). A step
moves every case's chance so the mean becomes the new rate (a drop scales ``p_c`` down, a
rise moves it toward 1 by the same share), and each run draws each case's outcome afresh.
Optional run-to-run noise (``run_noise``) shifts all cases of a run together on the logit
scale, the way a provider that is flaky on some days does.

``first_alarm`` replays the history the way ``benchroute watch`` sees it: a drift check
after every run, against that run's baseline, and returns the first run that flagged.
``tests/analysis/test_drift_simulation.py`` and ``benchmarks/drift_power.py`` use these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..config import DriftSpec
from ._changepoint import SeriesValue
from ._drift import Outcome, RunOutcomes, detect_drift


@dataclass(frozen=True, slots=True)
class SimulatedHistory:
    """Runs oldest first; ``change_at`` is the index of the first run of the new regime."""

    runs: list[RunOutcomes]
    change_at: int | None
    rate_before: float
    rate_after: float


def simulate_history(
    *,
    runs: int,
    cases: int,
    rate_before: float,
    rate_after: float | None = None,
    change_at: int | None = None,
    metric: str = "pass_rate",
    concentration: float = 4.0,
    run_noise: float = 0.0,
    seed: int = 0,
    model: str = "model",
    suite: str = "suite",
) -> SimulatedHistory:
    """A seeded history of ``runs`` runs of ``cases`` cases (see the module docstring)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    a = rate_before * concentration
    b = (1 - rate_before) * concentration
    chances = rng.beta(max(a, 1e-3), max(b, 1e-3), size=cases)
    after = rate_before if rate_after is None else rate_after
    if after <= rate_before:
        shifted = chances * (after / rate_before if rate_before > 0 else 0.0)
    else:
        share = (after - rate_before) / (1 - rate_before)
        shifted = chances + (1 - chances) * share
    history: list[RunOutcomes] = []
    for index in range(runs):
        base = shifted if change_at is not None and index >= change_at else chances
        if run_noise > 0:
            logit = np.log(np.clip(base, 1e-9, 1 - 1e-9) / np.clip(1 - base, 1e-9, 1))
            base = 1 / (1 + np.exp(-(logit + rng.normal(0, run_noise))))
        events = rng.random(cases) < base
        if metric == "refusal_rate":
            outcomes = [
                Outcome(case_id=f"c{i}", passed=True, value=float(e), case_hash=f"h{i}")
                for i, e in enumerate(events)
            ]
        else:
            outcomes = [
                Outcome(case_id=f"c{i}", passed=bool(e), case_hash=f"h{i}") for i, e in enumerate(events)
            ]
        history.append(
            RunOutcomes(
                run_id=f"run{index:03d}",
                model=model,
                metric=metric,
                outcomes=outcomes,
                suite=suite,
                suite_fingerprint="spec",
            )
        )
    return SimulatedHistory(history, change_at, rate_before, after)


def _rate(run: RunOutcomes) -> SeriesValue:
    if run.metric == "refusal_rate":
        events = [o.value for o in run.outcomes if o.value is not None]
    elif run.metric == "error_rate":
        events = [float(o.passed is None) for o in run.outcomes]
    else:
        events = [float(o.passed is True) for o in run.outcomes]
    rate = sum(events) / len(events) if events else None
    return SeriesValue(run.run_id, rate, len(events), run.version)


def history_inputs(
    runs: Sequence[RunOutcomes], *, baseline: str = "previous", window: int = 20
) -> tuple[list[RunOutcomes], list[RunOutcomes], dict[tuple[str, str], list[SeriesValue]]]:
    """``(latest, baseline, series)`` for :func:`detect_drift` from one model × metric's
    runs (oldest first; the last is the latest), as ``drift_for_suite`` builds them."""
    if len(runs) < 2:
        raise ValueError("a drift check needs a latest run and at least one earlier run")
    latest = runs[-1]
    earlier = list(runs[:-1])
    chosen = earlier[-1:] if baseline == "previous" else earlier[-window:]
    series = [_rate(r) for r in runs[-window:]]
    return [latest], chosen, {(latest.model, latest.metric): series}


def first_alarm(
    history: SimulatedHistory | Sequence[RunOutcomes],
    settings: DriftSpec | None = None,
    *,
    baseline: str | None = None,
    start: int = 1,
) -> int | None:
    """The index of the first run whose drift check flagged, replaying the history run by
    run from ``start`` (each check sees only the runs up to it); None if none did."""
    settings = settings or DriftSpec()
    runs = history.runs if isinstance(history, SimulatedHistory) else list(history)
    mode = baseline or settings.baseline
    for index in range(max(start, 1), len(runs)):
        latest, base, series = history_inputs(runs[: index + 1], baseline=mode, window=settings.window)
        report = detect_drift(latest, base, settings=settings, series=series)
        if report.flagged():
            return index
    return None
