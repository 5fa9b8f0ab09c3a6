"""Shared fixtures: the project's fake OpenAI-compatible server and a project around it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchroute.testing import FakeServer
from tests._postgres import TemporaryPostgres

BENCHROUTE = [sys.executable, "-m", "benchroute"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--live", action="store_true", help="also run tests that reach real providers")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--live"):
        return
    skip = pytest.mark.skip(reason="reaches a real provider; run with --live")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    """A real PostgreSQL server for this test session (see tests/_postgres.py)."""
    server = TemporaryPostgres()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: TemporaryPostgres) -> str:
    """The URL of a new, empty PostgreSQL database."""
    return postgres_server.create_database()


def write_project(folder: Path, models: dict[str, dict[str, object]], **extra: object) -> Path:
    """Write a benchroute.yaml with the given models; returns its path."""
    import yaml

    data = {"store": str(folder / "store.db"), "models": models, **extra}
    path = folder / "benchroute.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_suite(folder: Path, name: str, cases: list[dict[str, object]], **extra: object) -> Path:
    import yaml

    data = {"name": name, "tier": "unit", "dataset": {"cases": cases}, "scorers": ["exact"], **extra}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real ``benchroute`` command in a subprocess."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [*BENCHROUTE, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout
    )


def store_graded_run(
    db: Path,
    run_id: str,
    models: list[tuple[str, int, float | None, float]],
    cases: int,
    *,
    latency_step_ms: float = 0.0,
) -> None:
    """Store a completed one-suite run: for each ``(model, passes, cost_usd, latency_ms)``,
    ``cases`` results of which the first ``passes`` pass (latency grows by
    ``latency_step_ms`` a case)."""
    from benchroute.store import Result, RunRecord, Store

    store = Store(f"sqlite:///{db}")
    store.create_run(
        RunRecord(
            id=run_id, suites=["s"], config={"suites": []}, package_version="t", prices={}, started_at="x"
        )
    )
    store.add_results(
        [
            Result(
                run_id=run_id,
                suite="s",
                case_id=f"c{i}",
                model=model,
                repeat=0,
                messages=[],
                output="x",
                scores=[],
                score=float(i < passes),
                passed=i < passes,
                cost_usd=cost,
                latency_ms=latency + i * latency_step_ms,
            )
            for model, passes, cost, latency in models
            for i in range(cases)
        ]
    )
    store.set_run_status(run_id, "completed")
    store.close()
