"""Latency distribution per tier and model, checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from benchroute.analysis import latency_by_tier, latency_stats
from benchroute.reports import latency_table
from benchroute.store import Result


def _result(model: str, suite: str, latency: float | None, **extra: object) -> Result:
    values: dict[str, object] = {
        "run_id": "r",
        "suite": suite,
        "case_id": f"c{latency}",
        "model": model,
        "repeat": 0,
        "messages": [],
        "output": "x",
        "scores": [],
        "score": 1.0,
        "passed": True,
        "latency_ms": latency,
    }
    values.update(extra)
    return Result(**values)  # type: ignore[arg-type]


def test_percentiles_spread_and_ttft_match_numpy() -> None:
    values = [120.0, 80.0, 95.0, 400.0, 101.0, 99.0, 87.0, 1500.0, 110.0, 93.0]
    results = [_result("m", "s", v, ttft_ms=v / 4) for v in values]
    [stats] = latency_stats(results, lambda r: r.suite)
    assert stats.samples == 10
    assert stats.p50_ms == pytest.approx(np.percentile(values, 50))
    assert stats.p95_ms == pytest.approx(np.percentile(values, 95))
    assert stats.p99_ms == pytest.approx(np.percentile(values, 99))
    assert stats.std_ms == pytest.approx(np.std(values, ddof=1))
    assert stats.cv == pytest.approx(np.std(values, ddof=1) / np.mean(values))
    assert stats.p95_ttft_ms == pytest.approx(np.percentile(np.array(values) / 4, 95))


def test_failed_replies_are_left_out_cached_ones_counted_and_tiers_grouped() -> None:
    results = [
        _result("a", "fmt", 100.0),
        _result("a", "fmt", 300.0, cached=True),  # counted at its original call's latency
        _result("a", "fmt", 30_000.0, error="timeout"),
        _result("a", "chat", 900.0),
        _result("b", "fmt", None),
    ]
    stats = latency_by_tier(results, {"fmt": "unit", "chat": "conversation"})
    assert [(s.group, s.model, s.samples) for s in stats] == [("conversation", "a", 1), ("unit", "a", 2)]
    unit = stats[1]
    assert unit.p50_ms == 200.0 and unit.std_ms == pytest.approx(141.42135, rel=1e-6)
    assert stats[0].std_ms is None and stats[0].cv is None  # one sample has no spread
    table = latency_table(stats)
    assert table is not None and table.row_count == 2
    assert latency_table([]) is None
