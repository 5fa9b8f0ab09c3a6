"""Terminal tables render the figures they are given."""

from __future__ import annotations

from rich.console import Console

from benchroute.analysis import leaderboard
from benchroute.reports import leaderboard_table, metrics_table, suite_table, tier_table
from benchroute.store import Result


def _render(table: object) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def _result(suite: str, model: str, passed: bool) -> Result:
    return Result(
        run_id="r",
        suite=suite,
        case_id=f"{suite}-{model}-{passed}",
        model=model,
        repeat=0,
        messages=[],
        output="x",
        score=1.0 if passed else 0.0,
        passed=passed,
        scores=[
            {"scorer": "exact", "value": 1.0 if passed else 0.0, "passed": passed},
            {"scorer": "factuality", "value": 0.5, "passed": True},
        ],
    )


def test_suite_and_tier_tables() -> None:
    results = [_result("fmt", "a", True), _result("fmt", "a", False), _result("chat", "a", True)]
    tiers = {"fmt": "unit", "chat": "conversation"}
    text = _render(suite_table(results, tiers))
    assert "50% (1/2)" in text and "100% (1/1)" in text and "conversation" in text
    by_tier = tier_table(results, tiers)
    assert by_tier is not None and "unit" in _render(by_tier)
    assert tier_table(results, {"fmt": "unit", "chat": "unit"}) is None


def test_leaderboard_and_metrics_tables() -> None:
    results = [_result("fmt", "a", True), _result("fmt", "b", False)]
    summaries = leaderboard(results)
    text = _render(leaderboard_table(summaries))
    assert "100.0%" in text and "0.0%" in text
    metrics = metrics_table(summaries)
    assert metrics is not None
    rendered = _render(metrics)
    assert rendered.index("factuality") < rendered.index("exact")  # featured metrics first
