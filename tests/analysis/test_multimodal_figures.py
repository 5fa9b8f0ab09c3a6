"""Modality figures, budgets in the gate, and degradation curves, computed by hand."""

from __future__ import annotations

from typing import Any

import pytest

from benchroute.analysis import degradation_curves, evaluate_gates, modality_stats
from benchroute.store import Result


def _result(
    case: str,
    model: str,
    score: float | None,
    *,
    ms: float = 100.0,
    modality: str | None = "image",
    error: str | None = None,
    payload: int = 2048,
) -> Result:
    details: dict[str, Any] | None = (
        {"media": {"modality": modality, "payload_bytes": payload, "parts": []}} if modality else None
    )
    return Result(
        run_id="r",
        suite="s",
        case_id=case,
        model=model,
        repeat=0,
        messages=[],
        output="x",
        scores=[],
        score=score,
        passed=bool(score and score >= 0.5),
        e2e_latency_ms=ms,
        latency_ms=ms,
        error=error,
        details=details,
    )


def test_modality_stats_and_budgets() -> None:
    rows = [_result(f"c{i}", "m", 1.0, ms=100.0 * (i + 1)) for i in range(10)]  # 100..1000 ms
    rows += [_result("t1", "m", 1.0, ms=50.0, modality=None), _result("t2", "m", 1.0, ms=70.0, modality=None)]
    rows.append(_result("bad", "m", None, ms=9999.0, error="timeout"))  # failed: left out
    budgets = {"s": {"image": {"p95_ms": 800, "p50_ms": 600}, "text": {"p95_ms": 100}}}
    stats = {s.modality: s for s in modality_stats(rows, budgets)}
    image, text = stats["image"], stats["text"]
    assert image.results == 11 and image.measured == 10
    assert image.p50_ms == pytest.approx(550.0)  # linear interpolation of 100..1000
    assert image.p95_ms == pytest.approx(955.0)
    assert image.mean_payload_bytes == 2048
    assert image.within_budget is False  # p95 955 > 800 (p50 550 <= 600 is met)
    assert [c.met for c in image.budget] == [True, False]
    assert text.within_budget is True and text.mean_payload_bytes is None

    report = evaluate_gates(rows, {"s": None}, budgets=budgets)
    assert [f.threshold for f in report.failures] == ["budget.image.p95_ms"]
    assert report.failures[0].actual == pytest.approx(955.0) and report.failures[0].limit == 800
    assert report.checked == 2


def test_a_budget_with_nothing_measured_fails_as_unknown() -> None:
    rows = [_result("c1", "m", None, error="boom")]
    report = evaluate_gates(rows, {"s": None}, budgets={"s": {"image": {"p95_ms": 800}}})
    (failure,) = report.failures
    assert failure.actual is None and "no measured latency" in failure.detail


def test_degradation_curves_pair_copies_with_their_originals() -> None:
    rows = [
        _result("a", "m", 1.0),
        _result("b", "m", 0.8),
        _result("c", "m", 0.6),
        _result("a#blur=2", "m", 0.5),
        _result("b#blur=2", "m", 0.4),  # c has no blur=2 copy
        _result("a#blur=4", "m", 0.0),
        _result("b#blur=4", "m", 0.2),
        _result("c#blur=4", "m", 0.3),
        _result("a#blur=8", "m", None, error="timeout"),  # errors say nothing: no point
    ]
    (curve,) = degradation_curves(rows)
    assert curve.kind == "blur" and curve.original_mean == pytest.approx(0.8)
    first, second = curve.points
    # level 2: pairs a, b: originals (1.0 + 0.8)/2 = 0.9, copies (0.5 + 0.4)/2 = 0.45
    assert (first.level, first.pairs) == (2.0, 2)
    assert first.original_mean == pytest.approx(0.9) and first.degraded_mean == pytest.approx(0.45)
    assert first.drop == pytest.approx(0.45)
    # level 4: all three: 0.8 vs (0 + 0.2 + 0.3)/3
    assert second.pairs == 3 and second.degraded_mean == pytest.approx(0.5 / 3)
