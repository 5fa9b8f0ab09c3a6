"""Drift statistics on hand-made data: exact tests, intervals, BH, suite and version changes."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from benchroute.analysis import (
    Outcome,
    RunOutcomes,
    SeriesValue,
    benjamini_hochberg,
    detect_drift,
    find_change_point,
)
from benchroute.analysis._drift_stats import (
    mcnemar_exact,
    newcombe_paired,
    newcombe_unpaired,
    wilson_interval,
)
from benchroute.config import DriftSpec, ProjectConfig


def _run(
    run_id: str,
    passes: list[bool],
    *,
    fp: str = "spec",
    hashes: list[str] | None = None,
    metric: str = "pass_rate",
    values: list[float] | None = None,
) -> RunOutcomes:
    outcomes = [
        Outcome(
            case_id=f"c{i}",
            passed=p,
            value=None if values is None else values[i],
            case_hash=(hashes[i] if hashes else f"h{i}"),
        )
        for i, p in enumerate(passes)
    ]
    return RunOutcomes(run_id, "m", metric, outcomes, suite="s", suite_fingerprint=fp)


def test_benjamini_hochberg_matches_statsmodels_definition() -> None:
    p = [0.01, 0.04, 0.03, 0.5]
    q = benjamini_hochberg(p)
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert q == pytest.approx(list(stats.false_discovery_control(p)))
    assert benjamini_hochberg([]) == []


def test_mcnemar_exact_is_the_binomial_test() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 9) == pytest.approx(stats.binomtest(1, 10, 0.5).pvalue)


def test_wilson_and_newcombe_intervals() -> None:
    low, high = wilson_interval(0, 50)
    assert low == pytest.approx(0.0) and 0.05 < high < 0.09  # no event: still room above 0
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80.
    assert newcombe_unpaired(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=1e-4)
    low, high = newcombe_unpaired(19, 100, 4, 100)
    assert low > 0 and high < 0.3 and low < 0.15 < high
    # Newcombe (1998b) worked example: a=1,b=1(old only) ... check containment and bounds.
    low, high = newcombe_paired(40, 5, 15, 40)
    assert -1 <= low < 0.1 < high <= 1


def test_paired_drop_is_flagged_with_mcnemar() -> None:
    old = _run("r1", [True] * 90 + [False] * 10)
    new = _run("r2", [True] * 70 + [False] * 30)
    report = detect_drift([new], [old], settings=DriftSpec(change_point="off"))
    (finding,) = report.findings
    assert finding.test == "McNemar exact"
    assert finding.effect == pytest.approx(-0.2)
    assert finding.flagged and finding.direction == "worse"
    assert finding.effect_ci is not None and finding.effect_ci[1] < 0
    assert report.flagged() == [finding]
    assert report.to_json()["drift"] is True


def test_small_difference_is_not_flagged_below_min_effect() -> None:
    old = _run("r1", [True] * 900 + [False] * 100)
    new = _run("r2", [True] * 880 + [False] * 120)
    report = detect_drift(
        [new], [old], settings=DriftSpec(change_point="off", min_effect={"pass_rate": 0.05})
    )
    assert not report.flagged()


def test_window_baseline_uses_fisher_on_pooled_counts() -> None:
    base = [_run(f"r{i}", [True] * 80 + [False] * 20) for i in range(3)]
    new = _run("r9", [True] * 60 + [False] * 40)
    report = detect_drift([new], base, settings=DriftSpec(change_point="off"))
    (finding,) = report.findings
    assert finding.test == "Fisher exact" and finding.n_baseline == 300


def test_changed_case_is_a_suite_change_not_drift() -> None:
    old = _run("r1", [True] * 100)
    # Ten cases were rewritten (new hashes) and now fail: that is the suite, not the model.
    hashes = [f"h{i}" if i >= 10 else f"new{i}" for i in range(100)]
    new = _run("r2", [False] * 10 + [True] * 90, hashes=hashes)
    report = detect_drift([new], [old], settings=DriftSpec(change_point="off"))
    assert not report.flagged()
    (change,) = report.suite_changes
    assert change.kind == "suite-change" and "changed 10" in change.detail


def test_changed_suite_fingerprint_skips_model_tests() -> None:
    old = _run("r1", [True] * 100, fp="A")
    new = _run("r2", [False] * 100, fp="B")
    report = detect_drift([new], [old])
    assert report.findings == [] and report.suite_changes[0].kind == "suite-change"


def test_continuous_metric_relative_effect() -> None:
    old = _run("r1", [True] * 60, metric="latency_ms", values=[100.0 + i for i in range(60)])
    new = _run("r2", [True] * 60, metric="latency_ms", values=[200.0 + i for i in range(60)])
    report = detect_drift([new], [old], settings=DriftSpec(change_point="off"))
    (finding,) = report.findings
    assert finding.test == "Mann–Whitney U" and finding.relative
    assert finding.effect == pytest.approx(229.5 / 129.5 - 1)
    assert finding.flagged and finding.direction == "worse"
    assert finding.effect_ci is not None and finding.effect_ci[0] > 0.25


def test_change_point_names_first_run_and_version() -> None:
    series = [SeriesValue(f"r{i}", 0.8, 200, "v1") for i in range(8)]
    series += [SeriesValue(f"r{i}", 0.6, 200, "v2") for i in range(8, 12)]
    change = find_change_point(series)
    assert change is not None and change.run_id == "r8" and change.p_value < 0.001
    runs = [_run("r10", [True] * 120 + [False] * 80), _run("r11", [True] * 120 + [False] * 80)]
    report = detect_drift([runs[1]], [runs[0]], series={("m", "pass_rate"): series})
    flagged = report.flagged()
    assert [f.test for f in flagged] == ["change point (binomial)"]
    assert flagged[0].since_run == "r8" and flagged[0].since_version == "v2"
    assert [(v.run_id, v.before, v.after) for v in report.version_changes] == [("r8", "v1", "v2")]


def test_change_point_none_without_events_and_gaussian_needs_runs() -> None:
    assert find_change_point([SeriesValue("a", 0.0, 50), SeriesValue("b", 0.0, 50)]) is None
    assert find_change_point([SeriesValue("a", 1.0), SeriesValue("b", 2.0)], binary=False) is None
    values = [100.0, 101, 99, 100, 102, 98, 150, 151, 149]
    change = find_change_point([SeriesValue(f"r{i}", v) for i, v in enumerate(values)], binary=False)
    assert change is not None and change.run_id == "r6" and change.p_value < 0.05


def test_drift_block_in_project_file() -> None:
    project = ProjectConfig.model_validate({"drift": {"alpha": 0.05, "min_effect": {"latency_ms": 0.5}}})
    assert project.drift.effect_threshold("latency_ms") == 0.5
    assert project.drift.effect_threshold("pass_rate") == 0.03
    assert project.drift.effect_threshold("score:factuality") == 0.05
    with pytest.raises(ValueError):
        ProjectConfig.model_validate({"drift": {"alpha": 2}})
    assert not math.isnan(project.drift.alpha)
