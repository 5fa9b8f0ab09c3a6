"""The watch loop in-process: what counts as a version change, listing-only polls, --once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchroute.config import load_project, load_suite
from benchroute.monitor import VersionSeen, Watcher
from benchroute.store import Store
from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project, write_suite

CASES: list[dict[str, object]] = [{"id": f"c{i}", "input": f"q{i}", "expected": f"a{i}"} for i in range(3)]


def test_only_a_field_seen_both_times_can_change() -> None:
    before = VersionSeen(("m", "m-1"), "m-1", "fp_a")
    assert VersionSeen(("m", "m-1"), "m-1", "fp_b").changed_from(before)
    assert VersionSeen(("m", "m-2"), None, None).changed_from(before)  # listing alone
    assert not VersionSeen(None, None, None).changed_from(before)  # a failed poll is no evidence
    assert not VersionSeen(None, "m-1", "fp_a").changed_from(before)
    assert VersionSeen(None, "m-1", None).merged(before) == before


def _watcher(tmp_path: Path, fake: FakeServer, lines: list[str], *, probe: bool, once: bool) -> Watcher:
    suite_file = write_suite(tmp_path, "s", CASES)
    path = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    project = load_project(path)
    return Watcher(
        project,
        Store(project.store_url()),
        suites=[load_suite(suite_file)],
        models=["m"],
        schedules=[],
        interval_s=0.05,
        probe=probe,
        max_runs=1,
        once=once,
        emit=lines.append,
    )


def test_listing_only_poll_sees_the_new_dated_id_and_sends_no_probe(tmp_path: Path, fake: FakeServer) -> None:
    fake.add_version("m", "v1", served_model="m-2026-01")
    fake.add_version("m", "v2", served_model="m-2026-06")
    lines: list[str] = []

    def emit(line: str) -> None:
        lines.append(line)
        if "(baseline)" in line:
            fake.use_version("m", "v2")

    watcher = _watcher(tmp_path, fake, lines, probe=False, once=False)
    watcher.emit = emit
    result = asyncio.run(watcher.run())
    assert result.changes == [("m", "m,m-2026-01", "m,m-2026-06")]
    assert [trigger for trigger, _run, _status in result.runs] == ["version-change"]
    completions = [r for r in fake.requests if r.path.endswith("/chat/completions")]
    assert len(completions) == len(CASES)  # the run's requests only: no probe


def test_once_polls_once_and_runs_nothing(tmp_path: Path, fake: FakeServer) -> None:
    lines: list[str] = []
    watcher = _watcher(tmp_path, fake, lines, probe=True, once=True)
    result = asyncio.run(watcher.run())
    assert result.runs == [] and result.changes == []
    assert any("m: version m/fp_fake (baseline)" in line for line in lines), lines
    assert sum(1 for r in fake.requests if r.path.endswith("/models")) == 1


def test_watch_once_cli(tmp_path: Path, fake: FakeServer) -> None:
    suite = write_suite(tmp_path, "s", CASES)
    path = write_project(
        tmp_path,
        {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}},
        watch={"suites": [suite.name]},
    )
    proc = run_cli("watch", "--once", "--config", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "(baseline)" in proc.stdout and "watch stopped: 0 run(s), 0 version change(s)" in proc.stdout
