"""A failure repeated over many cases prints once, with its count."""

from __future__ import annotations

from pathlib import Path

from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project, write_suite


def test_repeated_errors_print_once_with_their_count(tmp_path: Path, fake: FakeServer) -> None:
    fake.fault("server_error")  # every request: 500
    project = write_project(
        tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m", "max_retries": 0}}
    )
    suite = write_suite(tmp_path, "s", [{"id": f"c{i}", "input": f"q{i}", "expected": "x"} for i in range(6)])
    proc = run_cli("run", str(suite), "--config", str(project), "--no-cache", "-j", "2")
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, proc.stderr
    assert "(×6)" in error_lines[0] and "500" in error_lines[0]
