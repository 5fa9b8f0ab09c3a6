"""The change point's p-value floor (analysis/_changepoint.py): with no Monte Carlo draw
reaching the observed scan, the p-value is the Bonferroni bound over the splits, not
1 / (draws + 1). A real step must survive Benjamini–Hochberg in a multi-metric check."""

from __future__ import annotations

import random

from benchroute.analysis import Outcome, RunOutcomes, SeriesValue, detect_drift
from benchroute.analysis._changepoint import binomial_change_point
from benchroute.config import DriftSpec

RUNS, CASES, STEP_AT = 20, 200, 12
MODELS, METRICS = ("m0", "m1", "m2"), ("pass_rate", "refusal_rate")


def _rate(model: str, metric: str, run: int) -> float:
    if (model, metric) == ("m0", "pass_rate"):
        return 0.85 if run < STEP_AT else 0.60
    return 0.80 if metric == "pass_rate" else 0.05


def _history() -> tuple[list[RunOutcomes], dict[tuple[str, str], list[SeriesValue]]]:
    rng = random.Random(12)
    runs: list[RunOutcomes] = []
    series: dict[tuple[str, str], list[SeriesValue]] = {}
    for model in MODELS:
        for metric in METRICS:
            points = []
            for run in range(RUNS):
                passed = [rng.random() < _rate(model, metric, run) for _ in range(CASES)]
                outcomes = [
                    Outcome(
                        f"c{i}",
                        p if metric == "pass_rate" else not p,
                        None if metric == "pass_rate" else float(p),
                    )
                    for i, p in enumerate(passed)
                ]
                runs.append(RunOutcomes(run_id=f"r{run:02d}", model=model, metric=metric, outcomes=outcomes))
                points.append(SeriesValue(f"r{run:02d}", sum(passed) / CASES, CASES))
            series[(model, metric)] = points
    return runs, series


def test_a_clear_step_gets_a_p_value_below_the_monte_carlo_floor() -> None:
    _runs, series = _history()
    change = binomial_change_point(series[("m0", "pass_rate")], resamples=2000)
    assert change is not None and change.run_id == f"r{STEP_AT:02d}"
    assert change.p_value < 1 / (2000 + 1) / 10  # the old floor could not go below 1/2001


def test_a_real_step_survives_benjamini_hochberg_over_every_metric_and_model() -> None:
    runs, series = _history()
    latest = [r for r in runs if r.run_id == f"r{RUNS - 1:02d}"]
    baseline = [r for r in runs if r.run_id == f"r{RUNS - 2:02d}"]
    report = detect_drift(latest, baseline, settings=DriftSpec(), series=series, suite="qa")
    tested = [f for f in report.findings if f.p_value is not None]
    # 3 models x 2 metrics, each a latest-vs-previous test and a change-point scan: with the
    # old floor (1/2001) the smallest q could be no less than 12 / 2001 = 0.006 > alpha 0.003
    assert len(tested) >= 12
    assert 1 / 2001 * len(tested) > DriftSpec().alpha
    flagged = report.flagged()
    assert [(f.model, f.metric, f.since_run) for f in flagged] == [("m0", "pass_rate", f"r{STEP_AT:02d}")]
    assert flagged[0].q_value is not None and flagged[0].q_value < DriftSpec().alpha
