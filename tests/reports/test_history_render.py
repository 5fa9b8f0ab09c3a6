"""History rendering on SeriesPoint-shaped rows: table width, unknown figures, chart, CSV,
and OpenMetrics text validated by prometheus_client's own parser."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rich.console import Console

from benchroute.reports import history_chart, history_csv, history_table, openmetrics_text, print_fitted


@dataclass(frozen=True)
class Point:  # the fields of benchroute.store.SeriesPoint
    run_id: str
    started_at: datetime
    suite: str
    model: str
    endpoint_id: str | None
    metric: str
    value: float | None
    n: int
    served_model: str | None
    system_fingerprint: str | None
    suite_fingerprint: str | None
    price_in: float | None
    price_out: float | None
    trigger: str | None
    git_sha: str | None


def _points() -> list[Point]:
    t0 = datetime(2026, 11, 1, 6, tzinfo=UTC)
    out = []
    for i in range(20):
        version = "gpt-x-2026-10" if i < 12 else "gpt-x-2026-11"
        out.append(
            Point(
                f"run{i:04d}abcdef",
                t0 + timedelta(days=i),
                "qa",
                "gpt-x",
                "e1" * 8,
                "pass_rate",
                0.8 if i < 12 else 0.65,
                50,
                version,
                f"fp_{i // 12}",
                "sf",
                2.5,
                10.0,
                "ci",
                "abc",
            )
        )
        out.append(
            Point(
                f"run{i:04d}abcdef",
                t0 + timedelta(days=i),
                "qa",
                "gpt-x",
                "e1" * 8,
                "cost_per_success",
                None,
                50,
                version,
                None,
                "sf",
                None,
                None,
                "ci",
                None,
            )
        )
    return out  # fmt: skip


def test_table_fits_100_columns_and_shows_unknown() -> None:
    console = Console(width=100, record=True)
    print_fitted(console, history_table(_points()), ())
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "unknown" in text and "$0" not in text
    assert "gpt-x-2026-11*" in text  # the version change is marked at its run


def test_chart_lines_fit_and_mark_the_version_change() -> None:
    lines = history_chart(_points(), width=100)
    assert all(len(line) <= 100 for line in lines)
    assert any("pass_rate" in line and "80.0% -> 65.0%" in line for line in lines)
    assert any("served model changed" in line for line in lines)
    assert any("unknown -> unknown" in line for line in lines)


def test_csv_keeps_unknown_empty() -> None:
    rows = history_csv(_points()).splitlines()
    assert rows[0].startswith("run_id,started_at,suite,model")
    cost = [r for r in rows if "cost_per_success" in r]
    assert cost and all(",0," not in r and ",0.0," not in r for r in cost)


def test_openmetrics_parses_with_prometheus_client() -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    text = openmetrics_text(_points())
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert "benchroute_pass_rate" in families
    (sample,) = families["benchroute_pass_rate"].samples
    assert sample.value == 0.65
    assert sample.labels["served_model"] == "gpt-x-2026-11"
    assert sample.timestamp is not None
    assert "benchroute_cost_per_success" not in families  # unknown: absent, never 0
