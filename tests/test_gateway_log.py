"""The request log: written off the request path, bounded, drained on SIGTERM (every
answered request is a row, every time), payloads only when configured, and provider keys
never in the log, the receipts or the errors."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from benchroute.gateway import RequestLogWriter
from benchroute.store import RequestLog, Store
from benchroute.testing import FakeServer
from tests._gateway import GatewayProcess, openai_model, write_gateway_project

ASK = [{"role": "user", "content": "log this request please"}]


def _rows(folder: Path) -> list[dict[str, Any]]:
    store = Store(f"sqlite:///{folder / 'store.db'}")
    try:
        return RequestLog(store).requests()
    finally:
        store.close()


def _hammer(gw: GatewayProcess, stop_after_s: float, concurrency: int) -> tuple[int, int, list[str]]:
    """Clients send requests until the gateway stops taking them; SIGTERM after
    ``stop_after_s``. Returns (answered with 200, answered with any status, receipt ids)."""
    answered = 0
    any_status = 0
    receipts: list[str] = []

    async def worker(client: httpx.AsyncClient, stream: bool) -> None:
        nonlocal answered, any_status
        body = {"model": "support", "messages": ASK, "stream": stream}
        while True:
            try:
                if stream:
                    async with client.stream(
                        "POST", f"{gw.base_url}/chat/completions", json=body
                    ) as response:
                        payload = await response.aread()
                        done = response.status_code == 200 and payload.endswith(b"data: [DONE]\n\n")
                        status = response.status_code if done or response.status_code != 200 else 0
                        headers = response.headers
                else:
                    response = await client.post(f"{gw.base_url}/chat/completions", json=body)
                    status, headers = response.status_code, response.headers
            except httpx.HTTPError:
                return  # the gateway stopped taking requests
            if status == 0:
                return
            any_status += 1
            if status == 200:
                answered += 1
                receipts.append(headers["x-benchroute-receipt"])

    async def run() -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(timeout=20, limits=limits) as client:
            loop = asyncio.get_running_loop()
            loop.call_later(stop_after_s, gw.terminate)
            await asyncio.gather(*(worker(client, i % 3 == 0) for i in range(concurrency)))

    asyncio.run(run())
    return answered, any_status, receipts


@pytest.mark.parametrize("round_number", range(3))
def test_sigterm_under_load_loses_no_row(tmp_path: Path, round_number: int) -> None:
    with FakeServer(latency=0.005) as upstream:
        models = {"mini": openai_model(upstream.base_url, "gpt-mini")}
        config = write_gateway_project(tmp_path, models, {"aliases": {"support": ["mini"]}})
        gw = GatewayProcess(config).start()
        answered, any_status, receipts = _hammer(gw, stop_after_s=1.0 + 0.3 * round_number, concurrency=24)
        code = gw.stop()
    assert code == 0, gw.stderr
    assert answered > 50
    rows = _rows(tmp_path)
    assert len(rows) == any_status
    assert sum(1 for row in rows if row["status"] == 200) == answered
    assert {row["receipt_id"] for row in rows} >= set(receipts)


def test_rows_carry_the_figures_and_no_payloads_by_default(tmp_path: Path) -> None:
    with FakeServer() as upstream:
        models = {"mini": openai_model(upstream.base_url, "gpt-mini")}
        config = write_gateway_project(tmp_path, models, {"aliases": {"support": ["mini"]}})
        with GatewayProcess(config) as gw:
            gw.client().chat.completions.create(model="support", messages=ASK)
            list(
                gw.client().chat.completions.create(
                    model="support", messages=ASK, stream=True, stream_options={"include_usage": True}
                )
            )
    plain, streamed = _rows(tmp_path)
    assert plain["alias"] == "support" and plain["model"] == "mini" and plain["served_model"] == "gpt-mini"
    assert plain["status"] == 200 and plain["attempts"] == 1 and plain["stream"] is False
    assert plain["input_tokens"] > 0 and plain["output_tokens"] == 4
    assert plain["cost_usd"] is None  # the fake model is priced by nobody: unknown, not $0
    assert plain["latency_ms"] > 0 and plain["ttft_ms"] is None
    assert plain["request_payload"] is None and plain["response_payload"] is None
    assert plain["receipt"]["served"]["model"] == "mini"
    assert streamed["stream"] is True and streamed["ttft_ms"] is not None
    assert streamed["output_tokens"] == 4


def test_payloads_are_logged_when_configured(tmp_path: Path) -> None:
    with FakeServer() as upstream:
        models = {"mini": openai_model(upstream.base_url, "gpt-mini")}
        config = write_gateway_project(
            tmp_path, models, {"aliases": {"support": ["mini"]}, "log_payloads": True}
        )
        with GatewayProcess(config) as gw:
            gw.client().chat.completions.create(model="support", messages=ASK)
    (row,) = _rows(tmp_path)
    assert "log this request please" in row["request_payload"]
    assert '"chat.completion"' in row["response_payload"]


def test_provider_keys_never_reach_the_log_receipts_or_errors(tmp_path: Path) -> None:
    secret = "sk-test-" + "k" * 40
    with FakeServer(api_key=secret) as upstream:
        models = {
            "good": openai_model(upstream.base_url, "gpt-good", api_key_env="GW_TEST_KEY"),
            "bad": openai_model(upstream.base_url, "gpt-bad", api_key_env="GW_TEST_BAD_KEY"),
        }
        config = write_gateway_project(
            tmp_path,
            models,
            {"aliases": {"support": ["bad", "good"], "broken": ["bad"]}, "log_payloads": True},
        )
        env = {"GW_TEST_KEY": secret, "GW_TEST_BAD_KEY": secret[:-4] + "XXXX"}
        with GatewayProcess(config, env=env) as gw:
            raw = gw.client().chat.completions.with_raw_response.create(model="support", messages=ASK)
            assert raw.headers["x-benchroute-model"] == "good"
            receipt = httpx.get(f"{gw.base_url}/receipts/{raw.headers['x-benchroute-receipt']}").text
            with pytest.raises(openai.APIStatusError) as failed:
                gw.client().chat.completions.create(model="broken", messages=ASK)
            error_text = failed.value.response.text
    stored = (tmp_path / "store.db").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("store.db-*")
    )
    for text in (receipt, error_text, gw.stderr):
        assert secret not in text and env["GW_TEST_BAD_KEY"] not in text
    assert secret.encode() not in stored and env["GW_TEST_BAD_KEY"].encode() not in stored
    assert "authentication failed" in error_text


def test_writer_is_bounded_and_loses_nothing_when_the_store_is_slow() -> None:
    written: list[Mapping[str, Any]] = []
    gate = threading.Event()

    def slow_write(rows: list[Mapping[str, Any]]) -> None:
        gate.wait()
        written.extend(rows)

    writer = RequestLogWriter(slow_write, max_queued=10, flush_s=0.01)
    writer.start()

    async def produce() -> float:
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, gate.set)
        for i in range(100):
            await writer.put({"n": i})
            assert writer.depth <= 10
        return time.monotonic() - started

    waited = asyncio.run(produce())
    writer.close()
    assert waited >= 0.25  # the producer waited for room instead of growing the queue
    assert [row["n"] for row in written] == list(range(100))


def test_writer_keeps_rows_through_a_failed_write() -> None:
    written: list[Mapping[str, Any]] = []
    failures = [RuntimeError("database is locked")]

    def flaky(rows: list[Mapping[str, Any]]) -> None:
        if failures:
            raise failures.pop()
        written.extend(rows)

    writer = RequestLogWriter(flaky, flush_s=0.01)
    writer.start()
    for i in range(20):
        assert writer.put_nowait({"n": i})
    writer.close()
    assert [row["n"] for row in written] == list(range(20))
