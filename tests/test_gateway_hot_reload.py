"""Hot reload under load: 50 requests/s for 30 s through the official ``openai`` SDK while
the active policy changes every 5 s. No request fails; each one's receipt names the policy
version it was served under, and that version's primary is the model that answered (an
in-flight request finishes on the policy it started with, never on half of one)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchroute.store import PolicyStore, RequestLog
from benchroute.testing import FakeServer
from tests._gateway import GatewayProcess
from tests.test_gateway_routing import SUMMARY, _cli, _project, _seed

RATE = 50  # requests per second
SECONDS = 30
SWITCH_S = 5


def test_policy_changes_every_5s_under_50_rps_fail_nothing(tmp_path: Path) -> None:
    with FakeServer(latency=0.04) as upstream:  # requests are in flight across each switch
        config = _project(tmp_path, upstream)
        store = _seed(tmp_path, upstream)
        _cli(config, "route", "build", "--activate")  # v1: cheapest -> a serves summaries
        _cli(
            config, "route", "build", "--objective", "best_under_budget", "--max-cost-per-success", "1"
        )  # v2: b
        primaries = {1: "a", 2: "b"}
        policies = PolicyStore(store)
        with GatewayProcess(config).start() as gateway:
            stop = threading.Event()
            switches: list[tuple[float, int]] = []

            def switch() -> None:
                version = 1
                while not stop.wait(SWITCH_S):
                    version = 2 if version == 1 else 1
                    policies.activate(version, "hot reload test")
                    switches.append((time.monotonic(), version))

            switcher = threading.Thread(target=switch, daemon=True)
            switcher.start()
            try:
                outcomes = asyncio.run(_load(gateway))
            finally:
                stop.set()
                switcher.join()
            receipt = httpx.get(f"{gateway.base_url}/receipts/{outcomes[-1]['receipt']}").json()
    failed = [o for o in outcomes if o["error"] is not None or o["status"] != 200]
    assert not failed, failed[:5]
    assert len(outcomes) == RATE * SECONDS
    assert len(switches) >= SECONDS // SWITCH_S - 1
    versions = [o["version"] for o in outcomes]
    assert set(versions) == {1, 2}
    changes = sum(1 for a, b in itertools.pairwise(versions) if a != b)
    assert changes >= len(switches) - 1
    for outcome in outcomes:  # the model that answered is the primary of the version named
        assert outcome["model"] == primaries[outcome["version"]], outcome
    assert receipt["routing"]["policy_version"] == outcomes[-1]["version"]
    rows = {row["id"]: row for row in RequestLog(store).requests()}
    assert len(rows) == len(outcomes)
    for outcome in outcomes:
        row = rows[outcome["receipt"]]
        assert row["policy_version"] == outcome["version"]
        assert row["receipt"]["routing"]["policy_version"] == outcome["version"]
    # after each switch settles (one reload), requests are served under the new version
    last = outcomes[-1]["started"]
    for at, version in switches:
        if at + SWITCH_S - 0.5 > last:
            continue  # the load had ended
        late = [o for o in outcomes if at + 1.0 <= o["started"] <= at + SWITCH_S - 0.5]
        assert late and all(o["version"] == version for o in late), (version, late[:3])


async def _load(gateway: GatewayProcess) -> list[dict[str, Any]]:
    client = gateway.async_client(timeout=10)
    outcomes: list[dict[str, Any]] = []

    async def one() -> None:
        started = time.monotonic()
        outcome: dict[str, Any] = {"started": started, "error": None, "status": 0}
        try:
            raw = await client.chat.completions.with_raw_response.create(model="benchroute", messages=SUMMARY)
            outcome["status"] = raw.status_code
            outcome["version"] = int(raw.headers["x-benchroute-policy"].removeprefix("v"))
            outcome["model"] = raw.headers["x-benchroute-model"]
            outcome["receipt"] = raw.headers["x-benchroute-receipt"]
        except Exception as exc:  # counted as a failure below
            outcome["error"] = f"{type(exc).__name__}: {exc}"
        outcomes.append(outcome)

    begin = time.monotonic()
    tasks = []
    for index in range(RATE * SECONDS):
        delay = begin + index / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one()))
    await asyncio.gather(*tasks)
    await client.close()
    outcomes.sort(key=lambda o: o["started"])
    return outcomes
