"""Stress-suite configuration: load profiles, SLOs, and the errors bad input gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchroute import ConfigError, load_suite
from benchroute.config import ConstantConcurrency, LoadSpec, Ramp, SLOSpec, Spike, Step

CASES = "dataset:\n  cases:\n    - {id: a, input: hello}\n"


def _suite(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "load.yaml"
    path.write_text("name: load\ntier: stress\n" + CASES + body)
    return path


def test_a_stress_suite_loads_with_its_profile_and_slos(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        "load:\n  profile: {kind: ramp, start_rps: 10, end_rps: 200, duration_s: 60}\n"
        "  latency_budget_ms: 800\n  window_s: 0.5\n"
        "slo:\n  p95_ms: 800\n  error_rate: 0.01\n",
    )
    suite = load_suite(path)
    assert suite.tier == "stress" and suite.scorers == []
    assert isinstance(suite.load, LoadSpec) and isinstance(suite.load.profile, Ramp)
    assert suite.load.profile.segments() == [(60.0, 10.0, 200.0)]
    assert suite.load.retries == 0 and suite.load.respect_limits is True
    assert suite.slo is not None and suite.slo.assertions() == {"p95_ms": 800.0, "error_rate": 0.01}


def test_every_profile_kind_is_bounded_in_time_and_requests() -> None:
    step = Step(kind="step", start_rps=10, step_rps=5, step_duration_s=2, steps=3)
    assert step.duration_s == 6 and step.segments() == [(2, 10, 10), (2, 15, 15), (2, 20, 20)]
    spike = Spike(kind="spike", base_rps=5, spike_rps=50, spike_start_s=2, spike_duration_s=1, duration_s=5)
    assert spike.segments() == [(2, 5, 5), (1, 50, 50), (2, 5, 5)]
    closed = ConstantConcurrency(kind="constant_concurrency", concurrency=4, duration_s=3)
    assert not closed.open_loop and closed.max_requests == 100_000


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (
            "{kind: ramp, start_rps: 50, end_rps: 10, duration_s: 5}",
            ":7: load.profile.ramp.end_rps: Value error, end_rps (10) must be above start_rps (50)",
        ),
        ("{kind: constant_rate, rps: 5}", "the profile is unbounded: give duration_s"),
        ("{kind: soak, rps: 5, duration_s: 100000}", "load.profile.soak.duration_s"),
        ("{kind: constant_rate, rps: 5, duration_s: 1, max_requests: 0}", "max_requests"),
        ("{kind: sawtooth, rps: 5, duration_s: 1}", "load.profile"),
        (
            "{kind: spike, base_rps: 5, spike_rps: 50, spike_start_s: 4, spike_duration_s: 3, duration_s: 5}",
            "the spike ends at 7 s, after duration_s (5 s)",
        ),
        (
            "{kind: step, start_rps: 10, step_rps: -5, step_duration_s: 1, steps: 4}",
            "the last step's rate would be -5 rps",
        ),
    ],
)
def test_bad_profiles_name_file_line_field_and_fix(tmp_path: Path, profile: str, expected: str) -> None:
    path = _suite(tmp_path, f"load:\n  profile: {profile}\n")
    with pytest.raises(ConfigError) as caught:
        load_suite(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_tier_and_load_must_agree(tmp_path: Path) -> None:
    missing = _suite(tmp_path, "")
    with pytest.raises(ConfigError, match="load: Value error, a stress suite needs a load profile"):
        load_suite(missing)
    unit = tmp_path / "unit.yaml"
    unit.write_text(
        "name: u\n" + CASES + "scorers: [exact]\n"
        "load:\n  profile: {kind: constant_rate, rps: 1, duration_s: 1}\n"
    )
    with pytest.raises(ConfigError, match="load: is only for stress suites; set tier: stress"):
        load_suite(unit)
    slo_only = tmp_path / "slo.yaml"
    slo_only.write_text("name: u\n" + CASES + "scorers: [exact]\nslo: {p95_ms: 100}\n")
    with pytest.raises(ConfigError, match="slo: is only for stress suites"):
        load_suite(slo_only)


def test_scorers_stay_required_except_for_stress(tmp_path: Path) -> None:
    unit = tmp_path / "unit.yaml"
    unit.write_text("name: u\n" + CASES)
    with pytest.raises(ConfigError, match="scorers: required field is missing"):
        load_suite(unit)
    scored = _suite(
        tmp_path, "scorers: [exact]\nload:\n  profile: {kind: constant_rate, rps: 1, duration_s: 1}\n"
    )
    with pytest.raises(ConfigError, match="a stress suite does not score replies"):
        load_suite(scored)


def test_unknown_slo_is_rejected(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        "load:\n  profile: {kind: constant_rate, rps: 1, duration_s: 1}\nslo:\n  p95: 800\n",
    )
    with pytest.raises(ConfigError, match=r"load.yaml:9: slo.p95: unknown field"):
        load_suite(path)
    assert SLOSpec(p95_ms=1).assertions() == {"p95_ms": 1.0}
