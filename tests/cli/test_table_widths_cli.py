"""Every command's tables fit 100 columns without cutting a model name (``--wide``: all columns)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from benchroute.store import RunRecord, Store
from tests.conftest import run_cli, store_graded_run, write_project

MODELS = ("gpt-4o-mini-2024-07-18-eu", "claude-3-5-sonnet-20241022")  # ~25 characters each


def _store_run(db: Path) -> None:
    graded = [(MODELS[0], 6, 0.001, 200.0), (MODELS[1], 9, 0.01, 900.0)]
    store_graded_run(db, "abc123", graded, 12, latency_step_ms=1.0)


def _check(stdout: str) -> None:
    lines = stdout.splitlines()
    assert max(len(line) for line in lines) <= 100, stdout
    assert "…" not in stdout, stdout
    for model in MODELS:
        assert model in stdout, stdout  # whole, on one line


def test_rank_fits_100_columns(tmp_path: Path) -> None:
    project = write_project(tmp_path, {})
    _store_run(tmp_path / "store.db")
    out = run_cli("rank", "abc", "--config", str(project), env={"COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    _check(out.stdout)
    # the frontier marks stay on one row
    assert any("frontier · " in line or "dominated · " in line for line in out.stdout.splitlines())
    wide = run_cli("rank", "abc", "--config", str(project), "--wide", env={"COLUMNS": "100"})
    assert wide.returncode == 0, wide.stderr
    assert "retry rate" in wide.stdout and "efficiency" in wide.stdout


def test_compare_fits_100_columns(tmp_path: Path) -> None:
    project = write_project(tmp_path, {})
    _store_run(tmp_path / "store.db")
    args = ("compare", "abc", "--models", ",".join(MODELS), "--config", str(project))
    out = run_cli(*args, env={"COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    _check(out.stdout)
    assert "verdict" in out.stdout
    wide = run_cli(*args, "--wide", env={"COLUMNS": "100"})
    assert wide.returncode == 0 and "p-value" in wide.stdout


def _remote_project(tmp_path: Path) -> Path:
    # Unreachable endpoint: these commands send no request.
    spec = {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "price_provider": "openai", "rpm": 500}
    models = {name: {**spec, "model": "gpt-4o-mini"} for name in MODELS}
    return write_project(tmp_path, models)


def test_models_list_fits_100_columns(tmp_path: Path) -> None:
    project = _remote_project(tmp_path)
    out = run_cli("models", "list", "--config", str(project), env={"COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    _check(out.stdout)


def test_estimate_fits_100_columns(tmp_path: Path) -> None:
    from tests.conftest import write_suite

    project = _remote_project(tmp_path)
    suite = write_suite(tmp_path, "s", [{"id": "c1", "input": "q", "expected": "a"}])
    out = run_cli("run", str(suite), "--config", str(project), "--estimate", env={"COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    _check(out.stdout)


def test_runs_list_fits_100_columns(tmp_path: Path) -> None:
    project = write_project(tmp_path, {})
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.create_run(
        RunRecord(
            id="abc123",
            suites=["a-suite-with-a-long-name", "another-suite-named-at-length"],
            config={"suites": [], "run_models": [*MODELS, "gemma-3-270m-instruct-q4km"]},
            package_version="t",
            prices={},
            started_at="2026-01-01T00:00:00",
        )
    )
    store.close()
    out = run_cli("runs", "list", "--config", str(project), env={"COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    _check(out.stdout)


def test_conversation_summary_fits_100_columns() -> None:
    from rich.console import Console

    from benchroute.reports import print_conversation_summary
    from tests.reports.test_conversation_report import RESULTS

    results = [dataclasses.replace(r, model=model) for model in MODELS for r in RESULTS]
    console = Console(width=100, record=True, color_system=None)
    print_conversation_summary(console, results)
    _check(console.export_text())
