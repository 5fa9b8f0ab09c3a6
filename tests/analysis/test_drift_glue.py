"""``drift_for_suite`` against the store's query API (a stub with the contract's shapes) and
``benchroute drift`` on a real store built directly (skipped until the store has the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from benchroute import BenchrouteError
from benchroute.analysis import Outcome, drift_for_suite
from benchroute.cli import app
from benchroute.store import Result, RunRecord, Store


@dataclass(frozen=True)
class _Point:
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


@dataclass(frozen=True)
class _Run:
    id: str


class _StubStore:
    """Runs r0..r9 of suite 'qa', model 'm', 200 cases: pass rate 0.85 until r6, then 0.60
    with a new served version."""

    def __init__(self) -> None:
        self.flags: list[dict[str, Any]] = []
        self.passes = {f"r{i}": (170 if i < 6 else 120) for i in range(10)}

    def latest_runs(
        self, suite: str, *, model: str | None = None, n: int = 2, branch: str | None = None
    ) -> list[_Run]:
        return [] if suite != "qa" else [_Run("r9")]

    def series(
        self, suite: str, *, model: str | None = None, limit_runs: int | None = None, **_: Any
    ) -> list[_Point]:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        return [
            _Point(
                run_id=f"r{i}",
                started_at=start + timedelta(days=i),
                suite=suite,
                model="m",
                endpoint_id="e1",
                metric="pass_rate",
                value=self.passes[f"r{i}"] / 200,
                n=200,
                served_model="m-2026-01" if i < 6 else "m-2026-02",
                system_fingerprint=None,
                suite_fingerprint="fp",
            )
            for i in range(10)
        ]

    def case_outcomes(self, run_id: str, suite: str, model: str, metric: str = "pass") -> list[Outcome]:
        passes = self.passes[run_id]
        return [Outcome(f"c{i}", i < passes, case_hash=f"h{i}") for i in range(200)]

    def case_outcomes_many(
        self, run_id: str, suite: str, wanted: list[tuple[str, str]]
    ) -> dict[tuple[str, str], list[Outcome]]:
        return {(model, metric): self.case_outcomes(run_id, suite, model, metric) for model, metric in wanted}

    def add_drift_flags(self, rows: list[dict[str, Any]]) -> None:
        self.flags.extend(rows)


def test_drift_for_suite_names_the_change_run_and_version() -> None:
    store = _StubStore()
    report = drift_for_suite(store, "qa", baseline="window")
    flagged = report.flagged()
    assert flagged, report.findings
    assert {f.since_run for f in flagged} == {"r6"}
    assert {f.since_version for f in flagged} == {"m-2026-02"}
    assert [(v.run_id, v.after) for v in report.version_changes] == [("r6", "m-2026-02")]
    assert store.flags and store.flags[0]["run_id"] == "r9" and store.flags[0]["metric"] == "pass_rate"


def test_drift_for_suite_unknown_suite_is_one_error() -> None:
    with pytest.raises(BenchrouteError, match="suite 'nope' has no stored run"):
        drift_for_suite(_StubStore(), "nope")


def _result(run: str, case: str, passed: bool) -> Result:
    return Result(
        run_id=run,
        suite="qa",
        case_id=case,
        model="m",
        repeat=0,
        messages=[],
        output="x",
        scores=[],
        score=float(passed),
        passed=passed,
        cost_usd=0.001,
        latency_ms=100.0,
    )


def test_cli_drift_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = Store(f"sqlite:///{path}")
    for index, passing in enumerate((180, 180, 110)):
        run_id = f"run{index}aaaaaaaa"
        store.create_run(
            RunRecord(
                id=run_id,
                suites=["qa"],
                config={},
                package_version="0",
                prices={},
                started_at=f"2026-01-0{index + 1}T00:00:00",
            )
        )
        store.add_results([_result(run_id, f"c{i}", i < passing) for i in range(200)])
        store.set_run_status(run_id, "finished")
    store.close()
    runner = CliRunner()
    result = runner.invoke(app, ["drift", "qa", "--db", str(path)])
    assert result.exit_code == 1, result.stdout
    assert "DRIFT" in result.stdout
    result = runner.invoke(app, ["drift", "nope", "--db", str(path)])
    assert result.exit_code == 2
    assert "suite 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_cli_bad_baseline_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drift", "qa", "--baseline", "bogus", "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 2
    assert "expected 'previous', 'pinned RUN' or 'window N'" in result.stderr
    assert "Traceback" not in result.stderr


def test_drift_table_fits_100_columns() -> None:
    from rich.console import Console

    from benchroute.reports import DRIFT_DROP_ORDER, drift_markdown, drift_table, print_fitted

    report = drift_for_suite(_StubStore(), "qa", baseline="window", record_flags=False)
    console = Console(width=100, record=True, emoji=False)
    print_fitted(console, drift_table(report), DRIFT_DROP_ORDER, keep={"verdict", "metric"})
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "DRIFT (worse)" in text
    assert "| m | pass_rate |" in drift_markdown(report)
