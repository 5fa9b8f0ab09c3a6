"""Alerts against a local aiohttp receiver: payload formats, retries with backoff, dead letters,
and a gate failure found by `benchroute watch` delivered end to end."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from benchroute.config import WebhookSpec, load_project, load_suite
from benchroute.monitor import Alert, AlertSender, Schedule, Watcher, redact_url, render_payload
from benchroute.store import Store
from benchroute.testing import FakeServer
from tests.conftest import write_project, write_suite


class Receiver:
    """Answers each POST with the next status of ``statuses`` (then 200) and keeps the bodies."""

    def __init__(self, statuses: list[int] | None = None, headers: dict[str, str] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.headers = headers or {}
        self.bodies: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(json.loads(await request.read()))
        self.request_headers.append(dict(request.headers))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok" if status < 300 else "nope", headers=self.headers)


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/hook/{secret}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/hook/T0SECRET"
    finally:
        await runner.cleanup()


class Recorder:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add_alert_delivery(self, row: dict[str, Any]) -> None:
        self.rows.append(row)


ALERT = Alert(
    "drift", "benchroute: drift in safety", "m refusal_rate: 0.04 → 0.19", suite="safety", model="m"
)


def test_generic_json_and_slack_payloads() -> None:
    body = render_payload(ALERT, "json")
    assert body["kind"] == "drift" and body["suite"] == "safety" and body["source"] == "benchroute"
    slack = render_payload(ALERT, "slack")
    assert slack["text"].startswith("benchroute: drift in safety: m refusal_rate")
    assert slack["blocks"][0]["type"] == "header" and slack["blocks"][1]["text"]["type"] == "mrkdwn"
    assert "`safety`" in slack["blocks"][2]["elements"][0]["text"]


def test_retries_with_backoff_then_delivers() -> None:
    async def go() -> None:
        receiver = Receiver([500, 503])
        delays: list[float] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)

        async with receiving(receiver) as url:
            hook = WebhookSpec(url=url, format="slack", base_delay_s=0.5)
            store = Recorder()
            [delivery] = await AlertSender([hook], store, sleep=sleep).send(ALERT)
        assert delivery.status == "delivered" and delivery.attempts == 3
        assert delays == [0.5, 1.0]  # doubling
        assert len(receiver.bodies) == 3 and "blocks" in receiver.bodies[-1]
        assert store.rows[0]["status"] == "delivered" and "T0SECRET" not in store.rows[0]["target"]

    asyncio.run(go())


def test_gives_up_and_dead_letters() -> None:
    async def go() -> None:
        receiver = Receiver([500] * 10, headers={"Retry-After": "2"})
        delays: list[float] = []
        logged: list[str] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)

        async with receiving(receiver) as url:
            hook = WebhookSpec(url=url, max_attempts=3, base_delay_s=0.1, max_delay_s=5)
            store = Recorder()
            [delivery] = await AlertSender([hook], store, sleep=sleep, log=logged.append).send(ALERT)
        assert delivery.status == "dead" and delivery.attempts == 3 and delivery.last_error == "HTTP 500"
        assert delays == [2.0, 2.0]  # Retry-After honoured (above the backoff, under the cap)
        row = store.rows[0]
        assert row["status"] == "dead" and row["attempts"] == 3 and row["payload"]["kind"] == "drift"
        assert all("T0SECRET" not in line for line in logged)

    asyncio.run(go())


def test_a_refused_payload_is_not_retried_and_a_dead_endpoint_is_named_without_its_secret() -> None:
    async def go() -> None:
        receiver = Receiver([400])

        async def sleep(seconds: float) -> None:
            pass

        async with receiving(receiver) as url:
            [refused] = await AlertSender([WebhookSpec(url=url)], sleep=sleep).send(ALERT)
        assert refused.status == "dead" and refused.attempts == 1
        [dead] = await AlertSender([WebhookSpec(url=url, max_attempts=2)], sleep=sleep).send(ALERT)
        assert dead.status == "dead" and dead.attempts == 2 and "T0SECRET" not in (dead.last_error or "")

    asyncio.run(go())


def test_only_subscribed_kinds_are_sent() -> None:
    async def go() -> None:
        receiver = Receiver()
        async with receiving(receiver) as url:
            assert await AlertSender([WebhookSpec(url=url, on=["gate"])]).send(ALERT) == []
        assert receiver.bodies == []

    asyncio.run(go())


def test_redact_url() -> None:
    assert redact_url("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com/…"
    assert redact_url("https://user:pw@example.com") == "https://example.com"


def test_a_due_schedule_runs_uncached_and_its_gate_failure_reaches_the_receiver(
    tmp_path: Path, fake: FakeServer
) -> None:
    cases: list[dict[str, object]] = [
        {"id": f"c{i}", "input": f"q{i}", "expected": f"a{i}"} for i in range(4)
    ]
    fake.answers({"q0": "a0"})  # 1 of 4 passes
    suite_file = write_suite(tmp_path, "s", cases, gate={"min_pass_rate": 0.9})
    lines: list[str] = []

    async def go() -> Receiver:
        receiver = Receiver()
        async with receiving(receiver) as url:
            path = write_project(
                tmp_path,
                {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}},
                schedule={"hourly": {"cron": "0 * * * *", "suites": [suite_file.name]}},
                alerts={"webhooks": [{"url": url, "format": "json", "on": ["gate"]}]},
            )
            project = load_project(path)
            suites = [load_suite(suite_file)]
            store = Store(project.store_url())
            start = time.time()
            calls = iter(range(1_000_000))
            # The first reading (when the next due time is computed) is now; every later one
            # is two hours on, so the schedule is due at the first check.
            clock = lambda: start if next(calls) == 0 else start + 7200  # noqa: E731
            [hook] = project.alerts.webhooks
            watcher = Watcher(
                project,
                store,
                suites=[],
                models=[],
                schedules=[Schedule("hourly", project.schedule["hourly"].cron, suites, None)],
                interval_s=0.05,
                alerts=AlertSender([hook], store),
                max_runs=1,
                emit=lines.append,
                clock=clock,
            )
            result = await watcher.run()
            assert [(t, status) for t, _run, status in result.runs] == [("schedule", "completed")]
        return receiver

    receiver = asyncio.run(go())
    text = "\n".join(lines)
    assert "schedule hourly: due" in text and "gate FAILED" in text
    assert "delivered after 1 attempt(s)" in text
    assert sum(1 for r in fake.requests if r.path.endswith("/chat/completions")) == 4  # not cached
    [body] = receiver.bodies
    assert body["kind"] == "gate" and body["trigger"] == "schedule" and body["suite"] == "s"
    assert body["details"]["failures"][0]["threshold"] == "min_pass_rate"


def test_dead_letter_is_a_row_in_the_store(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")

    async def go() -> None:
        receiver = Receiver([503] * 5)

        async def sleep(seconds: float) -> None:
            pass

        async with receiving(receiver) as url:
            await AlertSender([WebhookSpec(url=url, max_attempts=2)], store, sleep=sleep).send(ALERT)

    asyncio.run(go())
    [row] = store.alert_deliveries(status="dead")  # type: ignore[attr-defined]
    assert row["attempts"] == 2 and row["kind"] == "drift" and "T0SECRET" not in json.dumps(row)
