"""The whole loop in-process on a real SQLite store: a baseline run, the fake server's model
version changes, the watcher runs the suite once (uncached, trigger version-change), drift
flags the drop and names the new version, and the alert reaches a local receiver after a
retry while a second, broken receiver's delivery is dead-lettered as a store row."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from benchroute.config import load_project, load_suite
from benchroute.monitor import AlertSender, Watcher
from benchroute.runner import Runner, RunOptions
from benchroute.store import Store
from benchroute.testing import FakeServer
from tests.conftest import write_project, write_suite
from tests.monitor._receiver import Receiver, receiving

N = 30
# Until the store's m004 time-series API lands (S1), these cannot run.

CASES: list[dict[str, object]] = [
    {"id": f"c{i}", "input": f"question {i}", "expected": f"answer {i}"} for i in range(N)
]
V1 = {f"question {i}": f"answer {i}" for i in range(N)}
V2 = {f"question {i}": (f"answer {i}" if i < N // 2 else "I can't help with that.") for i in range(N)}


def test_version_change_run_drift_and_alerts(tmp_path: Path, fake: FakeServer) -> None:
    fake.add_version("m", "v1", served_model="m-2026-01", answers=V1)
    fake.add_version("m", "v2", served_model="m-2026-06", answers=V2)
    suite_file = write_suite(tmp_path, "qa", CASES)
    good, broken = Receiver([503]), Receiver([500] * 10)
    lines: list[str] = []
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def go() -> tuple[Store, list[tuple[str, str, str]]]:
        async with receiving(good, broken) as (good_url, broken_url):
            path = write_project(
                tmp_path,
                {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}},
                watch={"suites": [suite_file.name], "interval_s": 0.05},
                alerts={
                    "webhooks": [
                        {"url": good_url, "format": "slack", "on": ["drift"]},
                        {"url": broken_url, "format": "json", "on": ["drift"], "max_attempts": 2},
                    ]
                },
            )
            project = load_project(path)
            suites = [load_suite(suite_file)]
            store = Store(project.store_url())
            baseline = await Runner(project, store, RunOptions()).run(suites)
            assert baseline.status == "completed"

            def emit(line: str) -> None:
                lines.append(line)
                if "(baseline" in line:
                    fake.use_version("m", "v2")

            watcher = Watcher(
                project,
                store,
                suites=suites,
                models=["m"],
                schedules=[],
                interval_s=0.05,
                alerts=AlertSender(project.alerts.webhooks, store, sleep=sleep),
                max_runs=1,
                emit=emit,
            )
            before = sum(1 for r in fake.requests if r.path.endswith("/chat/completions"))
            result = await watcher.run()
            sent = sum(1 for r in fake.requests if r.path.endswith("/chat/completions")) - before
            assert sent >= N  # every case again (no cache), plus the probes
        return store, result.runs

    store, runs = asyncio.run(go())
    text = "\n".join(lines)
    assert [trigger for trigger, _run, status in runs if status == "completed"] == ["version-change"]
    assert "(baseline, from run " in text  # the stored run's version is the baseline
    assert "version change m-2026-01/fp_v1 → m-2026-06/fp_v2" in text
    assert "model version m-2026-06" in text and "FLAGGED m pass_rate" in text
    # Delivered to the good receiver on the second attempt, in Slack format.
    assert len(good.bodies) == 2 and good.bodies[-1]["text"].startswith("benchroute: drift in qa")
    assert "m-2026-06" in good.bodies[-1]["text"]
    assert slept == [1.0, 1.0]  # each receiver's first retry after base_delay_s
    delivered = store.alert_deliveries(status="delivered")
    dead = store.alert_deliveries(status="dead")
    assert [(d["attempts"], d["kind"]) for d in delivered] == [(2, "drift")]
    assert [(d["attempts"], d["last_error"]) for d in dead] == [(2, "HTTP 500")]
    assert dead[0]["payload"]["kind"] == "drift" and dead[0]["payload"]["trigger"] == "version-change"
    assert "T0SECRET" not in json.dumps(delivered + dead, default=str) + text
    flags = store.drift_flags(suite="qa")
    assert flags and {flag["metric"] for flag in flags} >= {"pass_rate"}
    [record] = [store.get_run(run_id) for trigger, run_id, _ in runs]
    assert record.trigger == "version-change" and record.host
    results = store.results(record.id)
    assert {r.served_model for r in results} == {"m-2026-06"} and not any(r.cached for r in results)
    assert len({r.suite_fingerprint for r in results}) == 1 and all(r.endpoint_id for r in results)
    store.close()
