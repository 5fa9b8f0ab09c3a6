"""Failover, stream integrity, client disconnects and circuit breakers, with the fake
upstream's fault injection, through the official ``openai`` SDK against the real gateway."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from benchroute.testing import FakeServer, Reply
from tests._gateway import GatewayProcess, closed_port_url, openai_model, write_gateway_project

ASK = [{"role": "user", "content": "a question with several words in it"}]


@pytest.fixture
def upstream() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


def _gateway(
    folder: Path, models: dict[str, dict[str, Any]], aliases: dict[str, list[str]], **gateway: Any
) -> GatewayProcess:
    config = write_gateway_project(folder, models, {"aliases": aliases, **gateway})
    return GatewayProcess(config).start()


def _pair(upstream: FakeServer, primary_url: str | None = None, **primary: Any) -> dict[str, dict[str, Any]]:
    return {
        "primary": openai_model(primary_url or upstream.base_url, "gpt-primary", **primary),
        "backup": openai_model(upstream.base_url, "gpt-backup"),
    }


def _receipt(gateway: GatewayProcess, headers: Any) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(
        f"{gateway.base_url}/receipts/{headers['x-benchroute-receipt']}"
    ).json()
    return result


def test_refused_connection_fails_over(upstream: FakeServer, tmp_path: Path) -> None:
    with _gateway(tmp_path, _pair(upstream, closed_port_url()), {"support": ["primary", "backup"]}) as gw:
        raw = gw.client().chat.completions.with_raw_response.create(model="support", messages=ASK)
        assert raw.parse().choices[0].message.content == ASK[0]["content"]
        assert raw.headers["x-benchroute-model"] == "backup"
        assert raw.headers["x-benchroute-attempts"] == "2"
        first = _receipt(gw, raw.headers)["candidates"][0]
        assert first["outcome"] == "failed" and first["error_kind"] == "connection"


def test_hanging_primary_times_out_and_fails_over(upstream: FakeServer, tmp_path: Path) -> None:
    upstream.fault("hang", model="gpt-primary", hang_seconds=10)
    models = _pair(upstream, timeout=0.5)
    with _gateway(tmp_path, models, {"support": ["primary", "backup"]}) as gw:
        started = time.monotonic()
        raw = gw.client().chat.completions.with_raw_response.create(model="support", messages=ASK)
        assert time.monotonic() - started < 5
        assert raw.headers["x-benchroute-model"] == "backup"
        assert _receipt(gw, raw.headers)["candidates"][0]["error_kind"] == "timeout"


def test_server_error_fails_over(upstream: FakeServer, tmp_path: Path) -> None:
    upstream.fault("server_error", model="gpt-primary")
    with _gateway(tmp_path, _pair(upstream), {"support": ["primary", "backup"]}) as gw:
        raw = gw.client().chat.completions.with_raw_response.create(model="support", messages=ASK)
        assert raw.headers["x-benchroute-model"] == "backup"
        assert _receipt(gw, raw.headers)["candidates"][0]["http_status"] == 500


def test_rate_limit_fails_over_and_a_lone_endpoint_passes_retry_after_on(
    upstream: FakeServer, tmp_path: Path
) -> None:
    upstream.fault("rate_limit", model="gpt-primary", retry_after=7)
    aliases = {"support": ["primary", "backup"], "solo": ["primary"]}
    with _gateway(tmp_path, _pair(upstream), aliases) as gw:
        raw = gw.client().chat.completions.with_raw_response.create(model="support", messages=ASK)
        assert raw.headers["x-benchroute-model"] == "backup"
        first = _receipt(gw, raw.headers)["candidates"][0]
        assert first["http_status"] == 429 and first["retry_after_s"] == 7
        with pytest.raises(openai.RateLimitError) as limited:
            gw.client().chat.completions.create(model="solo", messages=ASK)
        assert limited.value.response.headers["retry-after"] == "7"


def test_stream_failing_before_its_first_content_byte_fails_over(
    upstream: FakeServer, tmp_path: Path
) -> None:
    # A 200 whose stream opens (a role chunk) and dies before any content or [DONE].
    opening = (
        'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-primary",'
        '"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
    )
    upstream.script("gpt-primary", [Reply(body=opening)])
    upstream.fault("server_error", model="gpt-primary", count=1)  # the next one: a 500 before the stream
    with _gateway(tmp_path, _pair(upstream), {"support": ["primary", "backup"]}) as gw:
        client = gw.client()
        for _ in range(2):
            raw = client.chat.completions.with_raw_response.create(model="support", messages=ASK, stream=True)
            assert raw.headers["x-benchroute-model"] == "backup"
            chunks = list(raw.parse())
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text == ASK[0]["content"]
            assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_cut_after_content_ends_with_an_error_event_and_no_failover(
    upstream: FakeServer, tmp_path: Path
) -> None:
    upstream.fault("cut_stream", model="gpt-primary")
    with _gateway(tmp_path, _pair(upstream), {"support": ["primary", "backup"]}) as gw:
        raw = gw.client().chat.completions.with_raw_response.create(
            model="support", messages=ASK, stream=True
        )
        assert raw.headers["x-benchroute-model"] == "primary"
        seen: list[Any] = []
        with pytest.raises(openai.APIError) as broken:
            for chunk in raw.parse():
                seen.append(chunk)
        assert "stream" in str(broken.value)
        assert any(c.choices and c.choices[0].delta.content for c in seen)  # content did arrive
        assert seen[-1].choices[0].finish_reason == "error"
        assert upstream.stats()["by_model"].get("gpt-backup", 0) == 0  # never retried after content
        receipt = _receipt(gw, raw.headers)
        assert receipt["error_kind"] == "stream_cut"
        assert receipt["candidates"][0]["outcome"] == "cut"


class _SilentUpstream:
    """A TCP server that reads a request, never answers, and records when the client hangs up."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.accepted = threading.Event()
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        self.accepted.set()
        conn.settimeout(30)
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
        self.closed.set()
        conn.close()


@pytest.mark.parametrize("stream", [False, True])
def test_client_disconnect_cancels_the_upstream_request(tmp_path: Path, stream: bool) -> None:
    silent = _SilentUpstream()
    models = {"slow": openai_model(silent.base_url, "m", timeout=30)}
    with _gateway(tmp_path, models, {"slow": ["slow"]}) as gw:
        with pytest.raises(openai.APITimeoutError):
            gw.client(timeout=1.0).chat.completions.create(model="slow", messages=ASK, stream=stream)
        assert silent.accepted.is_set()
        assert silent.closed.wait(5), "the gateway kept the upstream request open"


def _load(gw: GatewayProcess, seconds: float, rate: float, outcomes: list[tuple[float, int, str]]) -> None:
    """Send ``rate`` requests/s for ``seconds``, each recorded as (time, status, served model)."""

    async def one(client: httpx.AsyncClient) -> None:
        sent = time.monotonic()
        try:
            response = await client.post(
                f"{gw.base_url}/chat/completions", json={"model": "support", "messages": ASK}
            )
            outcomes.append((sent, response.status_code, response.headers.get("x-benchroute-model", "")))
        except httpx.HTTPError:
            outcomes.append((sent, 0, ""))

    async def run() -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            tasks = []
            start = time.monotonic()
            n = 0
            while time.monotonic() - start < seconds:
                tasks.append(asyncio.ensure_future(one(client)))
                n += 1
                await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            await asyncio.gather(*tasks)

    asyncio.run(run())


def test_breaker_opens_skips_the_dead_primary_and_closes_when_it_returns(
    upstream: FakeServer, tmp_path: Path
) -> None:
    upstream.fault("server_error", model="gpt-primary")
    breaker = {
        "window_s": 2.0,
        "min_requests": 5,
        "failure_rate": 0.5,
        "consecutive_failures": 5,
        "open_s": 1.0,
    }
    with _gateway(tmp_path, _pair(upstream), {"support": ["primary", "backup"]}, breaker=breaker) as gw:
        outcomes: list[tuple[float, int, str]] = []
        _load(gw, 3.0, 50, outcomes)
        assert [status for _, status, _ in outcomes if status != 200] == []  # failover hid every failure
        by_model = upstream.stats()["by_model"]
        # Open after ~5 failures, then only one half-open probe per second reaches the primary.
        assert by_model["gpt-primary"] <= 5 + 3 + 1
        assert by_model["gpt-backup"] >= len(outcomes) - 1
        ready = httpx.get(f"{gw.url}/readyz").json()
        assert ready["breakers"]["primary"] in ("open", "half_open")

        upstream.clear_faults()  # the primary is back
        time.sleep(1.2)
        outcomes.clear()
        _load(gw, 1.5, 50, outcomes)
        assert all(status == 200 for _, status, _ in outcomes)
        assert outcomes[-1][2] == "primary"
        assert httpx.get(f"{gw.url}/readyz").json()["breakers"]["primary"] == "closed"


def _paced(gw: GatewayProcess, count: int, rate: float) -> list[tuple[float, int, str, int]]:
    """Send ``count`` requests paced at ``rate``/s (open loop: a slow answer does not delay
    the next send); each recorded as (send time, status, served model, attempts)."""
    outcomes: list[tuple[float, int, str, int]] = []

    async def one(client: httpx.AsyncClient) -> None:
        sent = time.monotonic()
        try:
            response = await client.post(
                f"{gw.base_url}/chat/completions", json={"model": "support", "messages": ASK}
            )
        except httpx.HTTPError:
            outcomes.append((sent, 0, "", 0))
            return
        headers = response.headers
        attempts = int(headers.get("x-benchroute-attempts", "0"))
        outcomes.append((sent, response.status_code, headers.get("x-benchroute-model", ""), attempts))

    async def run() -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            tasks = []
            start = time.monotonic()
            for n in range(count):
                tasks.append(asyncio.ensure_future(one(client)))
                await asyncio.sleep(max(0.0, start + (n + 1) / rate - time.monotonic()))
            await asyncio.gather(*tasks)

    asyncio.run(run())
    return sorted(outcomes)


def test_primary_dead_at_50_rps_for_30_s(upstream: FakeServer, tmp_path: Path) -> None:
    """1500 requests at 50/s with the primary answering 500: no client error at all (the
    backup serves the ones the primary failed, the open breaker skips the primary), the
    breaker opens within its window, half-open probes are the only requests the primary gets
    while it is open, and once the primary is back a probe closes the breaker."""
    upstream.fault("server_error", model="gpt-primary")
    breaker = {
        "window_s": 5.0,
        "min_requests": 5,
        "failure_rate": 0.5,
        "consecutive_failures": 5,
        "open_s": 2.0,
        "half_open_probes": 1,
    }
    with _gateway(tmp_path, _pair(upstream), {"support": ["primary", "backup"]}, breaker=breaker) as gw:
        outcomes = _paced(gw, 1500, 50.0)
        assert len(outcomes) == 1500
        assert [o for o in outcomes if o[1] != 200] == []  # zero client errors
        assert {model for _, _, model, _ in outcomes} == {"backup"}
        # The breaker opened within its window: the first request that skipped the primary
        # (one attempt: the backup) was sent less than window_s after the first one.
        first_skip = next(sent for sent, _, _, attempts in outcomes if attempts == 1)
        assert first_skip - outcomes[0][0] < breaker["window_s"]
        # Before it opened at most consecutive_failures requests paid for the primary; after,
        # only the half-open probes (one per open_s) — never a steady share of the traffic.
        paid = [o for o in outcomes if o[3] == 2]
        elapsed = outcomes[-1][0] - outcomes[0][0]
        probes_max = int(elapsed / breaker["open_s"]) + 2
        assert len(paid) <= breaker["consecutive_failures"] + probes_max
        assert upstream.stats()["by_model"]["gpt-primary"] == len(paid)
        assert httpx.get(f"{gw.url}/readyz").json()["breakers"]["primary"] in ("open", "half_open")

        upstream.clear_faults()  # the primary returns
        back = _paced(gw, int(50 * (breaker["open_s"] + 1.0)), 50.0)
        assert [o for o in back if o[1] != 200] == []
        assert back[-1][2] == "primary"  # a probe succeeded: traffic went back to the primary
        assert httpx.get(f"{gw.url}/readyz").json()["breakers"]["primary"] == "closed"


def test_lone_endpoint_breaker_fails_fast_with_503_and_retry_after(
    upstream: FakeServer, tmp_path: Path
) -> None:
    upstream.fault("server_error", model="gpt-primary")
    breaker = {"window_s": 10.0, "min_requests": 3, "consecutive_failures": 3, "open_s": 5.0}
    models = {"primary": openai_model(upstream.base_url, "gpt-primary")}
    with _gateway(tmp_path, models, {"solo": ["primary"]}, breaker=breaker) as gw:
        statuses = []
        for _ in range(3):
            with pytest.raises(openai.APIStatusError) as failed:
                gw.client().chat.completions.create(model="solo", messages=ASK)
            statuses.append(failed.value.status_code)
        assert statuses == [502, 502, 502]
        started = time.monotonic()
        with pytest.raises(openai.APIStatusError) as fast:
            gw.client().chat.completions.create(model="solo", messages=ASK)
        assert time.monotonic() - started < 0.5
        assert fast.value.status_code == 503
        assert 1 <= int(fast.value.response.headers["retry-after"]) <= 5
        assert upstream.stats()["by_model"]["gpt-primary"] == 3  # the open breaker sent nothing


def test_stream_cut_before_the_first_content_frame_fails_over(upstream: FakeServer, tmp_path: Path) -> None:
    upstream.fault("cut_stream", model="gpt-primary", count=1, after_chunks=0)
    with _gateway(tmp_path, _pair(upstream), {"support": ["primary", "backup"]}) as gw:
        raw = gw.client().chat.completions.with_raw_response.create(
            model="support", messages=ASK, stream=True
        )
        assert raw.headers["x-benchroute-model"] == "backup"
        chunks = list(raw.parse())
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ASK[0]["content"]
        assert _receipt(gw, raw.headers)["candidates"][0]["outcome"] == "failed"


def test_chunks_sent_before_an_upstream_pause_are_not_held_back(upstream: FakeServer, tmp_path: Path) -> None:
    # The gateway writes chunks that arrived together in one write; a chunk must never wait
    # for the upstream's next one. The upstream pauses 2 s after its second content frame:
    # the text before the pause reaches the client long before the pause ends.
    upstream.fault("hang", model="gpt-primary", count=1, after_chunks=2, hang_seconds=2.0)
    models = {"primary": openai_model(upstream.base_url, "gpt-primary", timeout=10)}
    with _gateway(tmp_path, models, {"support": ["primary"]}) as gw:
        started = time.monotonic()
        arrivals: list[tuple[float, str]] = []
        for chunk in gw.client().chat.completions.create(model="support", messages=ASK, stream=True):
            text = chunk.choices[0].delta.content if chunk.choices else None
            if text:
                arrivals.append((time.monotonic() - started, text))
    assert "".join(text for _, text in arrivals) == ASK[0]["content"]
    before = [at for at, _ in arrivals if at < 1.0]
    after = [at for at, _ in arrivals if at >= 2.0]
    assert len(before) >= 2, arrivals  # both frames sent before the pause came through at once
    assert len(before) + len(after) == len(arrivals), arrivals


def test_stream_stalling_after_content_ends_with_an_error(upstream: FakeServer, tmp_path: Path) -> None:
    upstream.fault("hang", model="gpt-primary", count=1, after_chunks=1, hang_seconds=10)
    models = _pair(upstream, timeout=0.5)
    with _gateway(tmp_path, models, {"support": ["primary", "backup"]}) as gw:
        seen: list[Any] = []
        with pytest.raises(openai.APIError):
            for chunk in gw.client().chat.completions.create(model="support", messages=ASK, stream=True):
                seen.append(chunk)
        assert seen[-1].choices[0].finish_reason == "error"
        assert upstream.stats()["by_model"].get("gpt-backup", 0) == 0


def test_disconnect_without_the_server_extension_is_watched_by_a_task(tmp_path: Path) -> None:
    """Under an ASGI server other than the gateway's own (no ``benchroute.disconnect``
    extension in the scope), a watcher task sees ``http.disconnect`` and cancels the call."""
    from benchroute.config import load_project
    from benchroute.gateway import Gateway

    silent = _SilentUpstream()
    config = write_gateway_project(tmp_path, {"slow": openai_model(silent.base_url, "m", timeout=30)})
    gateway = Gateway(load_project(config))
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        await gateway.startup()
        gone = asyncio.Event()
        body = b'{"model": "slow", "messages": [{"role": "user", "content": "hi"}]}'
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}
        call = asyncio.ensure_future(gateway(scope, receive, send))
        await asyncio.to_thread(silent.accepted.wait, 5)
        gone.set()
        await asyncio.wait_for(call, 5)
        await gateway.shutdown()

    asyncio.run(run())
    assert silent.closed.wait(5), "the gateway kept the upstream request open"
    assert sent == []  # nobody to answer: the row says 499


def test_disconnect_with_a_pipelined_request_cancels_the_running_one(tmp_path: Path) -> None:
    """A client that sent a second request behind the first (HTTP pipelining) and hangs up:
    the request being answered is cancelled, not only the one waiting its turn."""
    silent = _SilentUpstream()
    models = {"slow": openai_model(silent.base_url, "m", timeout=30)}
    with _gateway(tmp_path, models, {"slow": ["slow"]}) as gw:
        host, port = gw.base_url.removeprefix("http://").split("/")[0].split(":")
        body = b'{"model": "slow", "messages": [{"role": "user", "content": "hi"}]}'
        first = (
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        with socket.create_connection((host, int(port))) as client:
            client.sendall(first + b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            assert silent.accepted.wait(5)
        assert silent.closed.wait(5), "the gateway kept the running request's upstream call open"
