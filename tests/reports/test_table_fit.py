"""Wide tables fit the console by dropping their least useful columns; model names stay whole."""

from __future__ import annotations

import pytest
from rich.console import Console

from benchroute.analysis import latency_by_tier, leaderboard
from benchroute.reports import (
    LATENCY_DROP_ORDER,
    LEADERBOARD_DROP_ORDER,
    fit_table,
    latency_table,
    leaderboard_table,
    natural_width,
    suite_table,
)
from benchroute.store import Result

MODELS = ["smollm2-135m-instruct-careful", "smollm2-135m-instruct", "gemma-3-270m-q4-k-m"]


def _results() -> list[Result]:
    out = []
    for model in MODELS:
        for i in range(6):
            passed = i % 2 == 0
            out.append(
                Result(
                    run_id="r",
                    suite="s",
                    case_id=f"c{i}",
                    model=model,
                    repeat=0,
                    messages=[],
                    output="the answer, and this is an important point",
                    score=1.0 if passed else 0.0,
                    passed=passed,
                    latency_ms=100.0 + 30 * i,
                    cost_usd=0.000123,
                    scores=[
                        {"scorer": "exact", "value": 1.0 if passed else 0.0, "passed": passed},
                        {
                            "scorer": "token_efficiency",
                            "value": 0.6,
                            "passed": True,
                            "details": {"answer_tokens": 6, "filler_tokens": 4, "total_tokens": 10},
                        },
                    ],
                )
            )
    return out


def _lines(table: object, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [80, 100, 160])
def test_leaderboard_fits_without_cutting_model_names(width: int) -> None:
    console = Console(width=width)
    table = leaderboard_table(leaderboard(_results(), {}))
    fitted = fit_table(table, console, LEADERBOARD_DROP_ORDER)
    lines = _lines(fitted, width)
    assert max(len(line) for line in lines) <= width
    text = "\n".join(lines)
    assert "…" not in text
    for model in MODELS:
        assert model in text  # whole, on one line
    headers = [str(c.header) for c in fitted.columns]
    assert {"#", "model", "pass rate"} <= set(headers)
    if width >= 100:
        assert "cost / success" in headers and "p50" in headers
    if len(headers) < len(leaderboard_table(leaderboard(_results(), {})).columns):
        assert "--wide" in text


def test_wide_keeps_every_column() -> None:
    console = Console(width=80)
    full = leaderboard_table(leaderboard(_results(), {}))
    count = len(full.columns)
    kept = fit_table(full, console, LEADERBOARD_DROP_ORDER, wide=True)
    assert len(kept.columns) == count
    lines = _lines(kept, natural_width(kept, console))
    assert "…" not in "\n".join(lines) and all(m in "\n".join(lines) for m in MODELS)


def test_low_priority_columns_go_first() -> None:
    table = leaderboard_table(leaderboard(_results(), {}))
    console = Console(width=100)
    fitted = fit_table(table, console, LEADERBOARD_DROP_ORDER)
    headers = [str(c.header) for c in fitted.columns]
    dropped = [h for h in LEADERBOARD_DROP_ORDER if h not in headers]
    # What was dropped is a prefix of the stated order (among the columns the table had).
    present = [
        h for h in LEADERBOARD_DROP_ORDER if h in {str(c.header) for c in table.columns} or h in dropped
    ]
    assert dropped == present[: len(dropped)]


@pytest.mark.parametrize("width", [80, 100])
def test_latency_table_fits(width: int) -> None:
    console = Console(width=width)
    table = latency_table(latency_by_tier(_results(), {"s": "unit"}))
    assert table is not None
    lines = _lines(fit_table(table, console, LATENCY_DROP_ORDER), width)
    assert max(len(line) for line in lines) <= width and "…" not in "\n".join(lines)
    assert all(m in "\n".join(lines) for m in MODELS)


@pytest.mark.parametrize("width", [80, 100])
def test_tables_of_models_wrap_names_instead_of_cutting_them(width: int) -> None:
    results = _results()
    for r in results[:6]:
        r.suite = "other"
    table = fit_table(
        suite_table(results, {"s": "unit", "other": "unit"}), Console(width=width), droppable=False
    )
    assert len(table.columns) == 2 + len(MODELS)  # no model dropped
    lines = _lines(table, width)
    assert max(len(line) for line in lines) <= width and "…" not in "\n".join(lines)
