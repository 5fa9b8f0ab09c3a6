"""The runner on benchroute.resilience: a refused connection is the endpoint's, judged by its
breaker — a host that comes back within the breaker's probes lets the run finish, one that
stays down stops the run; auth stays fatal at once."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

from benchroute.config import load_project, load_suite
from benchroute.runner import Runner, RunOptions
from benchroute.runner._context import RUN_BREAKER
from benchroute.store import Store
from benchroute.testing import FakeServer
from tests.conftest import write_project, write_suite


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cases(n: int) -> list[dict[str, object]]:
    return [{"id": f"c{i}", "input": f"answer {i}", "expected": f"answer {i}"} for i in range(n)]


def _run(tmp_path: Path, base_url: str, n: int, **spec: object):  # type: ignore[no-untyped-def]
    project = load_project(
        write_project(tmp_path, {"m": {"provider": "openai", "base_url": base_url, "model": "m", **spec}})
    )
    suite = load_suite(write_suite(tmp_path, "s", _cases(n)))
    runner = Runner(project, Store(project.store_url()), RunOptions(concurrency=4, use_cache=False))
    return asyncio.run(runner.run([suite]))


def test_a_host_back_within_the_probes_lets_the_run_finish(tmp_path: Path) -> None:
    port = _free_port()
    server = FakeServer(port=port)
    up = threading.Timer(RUN_BREAKER.open_s * 1.5, server.start)
    up.start()
    try:
        outcome = _run(tmp_path, f"http://127.0.0.1:{port}/v1", 12)
    finally:
        up.join()
        server.stop()
    assert outcome.status == "completed", outcome.errors
    assert len(outcome.results) == 12 and all(r.passed and r.error is None for r in outcome.results)
    assert len(server.requests) == 12  # the waits while the breaker was open sent nothing


def test_a_host_that_stays_down_stops_the_run_in_a_few_probes(tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = _run(tmp_path, f"http://127.0.0.1:{_free_port()}/v1", 40, max_retries=8)
    assert time.monotonic() - started < 8
    assert outcome.status == "failed" and outcome.results == [] and outcome.skipped == 40
    assert len(outcome.errors) == 1 and "cannot connect" in outcome.errors[0]


def test_server_errors_stay_the_items_own_and_do_not_stop_the_run(tmp_path: Path, fake: FakeServer) -> None:
    fake.fault("server_error", rate=1.0)
    outcome = _run(tmp_path, fake.base_url, 8, max_retries=1)
    assert outcome.status == "completed"
    assert len(outcome.results) == 8 and all("HTTP 500" in (r.error or "") for r in outcome.results)
    assert len(fake.requests) == 16


def test_a_wrong_key_is_fatal_for_the_run_at_once(tmp_path: Path) -> None:
    with FakeServer(api_key="sk-right") as fake:
        import os

        os.environ["BR_RESILIENCE_KEY"] = "sk-wrong"
        try:
            outcome = _run(tmp_path, fake.base_url, 10, api_key_env="BR_RESILIENCE_KEY", max_retries=5)
        finally:
            del os.environ["BR_RESILIENCE_KEY"]
        assert len(fake.requests) <= 4  # the items already in flight at concurrency 4, no retries
    assert outcome.status == "failed" and outcome.results == []
    assert len(outcome.errors) == 1 and "401" in outcome.errors[0]
