"""The CI gate as a pure function over results."""

from __future__ import annotations

from benchroute.analysis._gate import evaluate_gates
from benchroute.config._gate import GateSpec
from benchroute.store import Result


def _result(case_id: str, model: str, passed: bool, **extra: object) -> Result:
    values: dict[str, object] = {
        "run_id": "r",
        "suite": extra.pop("suite", "s"),
        "case_id": case_id,
        "model": model,
        "repeat": 0,
        "messages": [],
        "output": "x",
        "scores": extra.pop("scores", [{"scorer": "exact", "value": float(passed), "passed": passed}]),
        "score": float(passed),
        "passed": passed,
        "latency_ms": 100.0,
        "cost_usd": 0.01,
        **extra,
    }
    return Result(**values)  # type: ignore[arg-type]


def test_each_threshold_fails_with_actual_and_limit() -> None:
    results = [_result("a", "m", True), _result("b", "m", False), _result("c", "m", False, error="boom")]
    gate = GateSpec(
        min_pass_rate=0.5,
        min_mean_score=0.5,
        max_cost_per_success=0.02,
        max_total_cost=0.02,
        max_p95_ms=50,
        max_error_rate=0.1,
        min_metric={"exact": 0.5},
    )
    report = evaluate_gates(results, {"s": gate})
    failed = {f.threshold: (f.actual, f.limit) for f in report.failures}
    assert report.checked == 1 and not report.passed
    assert set(failed) == {
        "min_pass_rate",
        "min_mean_score",
        "max_cost_per_success",
        "max_total_cost",
        "max_p95_ms",
        "max_error_rate",
        "min_metric.exact",
    }
    assert failed["max_cost_per_success"] == (0.03, 0.02)
    assert failed["max_error_rate"][0] == 1 / 3


def test_models_restrict_and_ungated_suites_pass() -> None:
    results = [_result("a", "good", True), _result("a", "bad", False), _result("a", "bad", False, suite="t")]
    report = evaluate_gates(results, {"s": GateSpec(min_pass_rate=1.0, models=["good"]), "t": None})
    assert report.passed and report.checked == 1


def test_a_missed_slo_fails_the_gate_by_name() -> None:
    load = _result(
        "load",
        "m",
        False,
        suite="burst",
        scores=[
            {"scorer": "p95_ms", "value": 0.0, "passed": False, "reason": "p95 1,240 ms > 800 ms"},
            {"scorer": "error_rate", "value": 1.0, "passed": True, "reason": "0.1% <= 1%"},
        ],
    )
    report = evaluate_gates([load], {"burst": None}, stress_suites=["burst"])
    (failure,) = report.failures
    assert failure.threshold == "slo.p95_ms" and "1,240 ms > 800 ms" in failure.describe()
    passing = _result("load", "m", True, suite="burst")
    assert evaluate_gates([passing], {"burst": None}, stress_suites=["burst"]).passed


def test_a_latency_gate_on_cached_replies_without_figures_says_why() -> None:
    results = [
        _result("a", "m", True, cached=True, latency_ms=None),
        _result("b", "m", True, cached=True, latency_ms=None),
    ]
    (failure,) = evaluate_gates(results, {"s": GateSpec(max_p95_ms=500)}).failures
    assert failure.threshold == "max_p95_ms" and failure.actual is None
    assert "response cache" in failure.describe() and "--no-cache" in failure.describe()
    fresh = [_result("a", "m", True, latency_ms=None)]
    (failure,) = evaluate_gates(fresh, {"s": GateSpec(max_p95_ms=500)}).failures
    assert "cache" not in failure.describe()
    errors = [_result("a", "m", False, latency_ms=None, error="boom", cached=False)]
    (failure,) = evaluate_gates(errors, {"s": GateSpec(max_p95_ms=500)}).failures
    assert "cache" not in failure.describe()
