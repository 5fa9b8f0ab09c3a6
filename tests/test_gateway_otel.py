"""OpenTelemetry spans of the real gateway, received by a local OTLP/HTTP collector (a small
aiohttp server decoding the protobuf): one SERVER span per request and one CLIENT span per
upstream attempt, with the GenAI semantic-convention attribute names."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from aiohttp import web

# The `otel` extra (opentelemetry-sdk, -exporter-otlp-proto-http, which brings -proto).
pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason="the otel extra is not installed")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from benchroute.gateway._hooks import make_tracer
from benchroute.gateway._otel import traces_url
from benchroute.testing import FakeServer
from tests._gateway import GatewayProcess, closed_port_url, openai_model, write_gateway_project

ASK = [{"role": "user", "content": "trace me"}]


class Collector:
    """An OTLP/HTTP trace receiver on a free loopback port (``POST /v1/traces``)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.requests: list[ExportTraceServiceRequest] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _traces(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.bodies.append(body)
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        self.requests.append(message)
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(), content_type="application/x-protobuf"
        )

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/traces", self._traces)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._started.set()
        self._loop.run_forever()

    def __enter__(self) -> Collector:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def spans(self) -> list[tuple[dict[str, Any], Span]]:
        """(resource attributes, span) for every span received."""
        found = []
        for message in self.requests:
            for resource_spans in message.resource_spans:
                resource = _attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    found.extend((resource, span) for span in scope_spans.spans)
        return found


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind is not None else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


def test_spans_carry_genai_attributes_and_each_attempt(tmp_path: Path, collector: Collector) -> None:
    secret = "sk-otel-" + "o" * 40
    with FakeServer(api_key=secret) as upstream:
        models = {
            "dead": openai_model(closed_port_url(), "gpt-dead", api_key_env="GW_OTEL_KEY"),
            "mini": openai_model(upstream.base_url, "gpt-mini", api_key_env="GW_OTEL_KEY"),
        }
        gateway = {"aliases": {"support": ["dead", "mini"]}, "otlp_endpoint": collector.url}
        config = write_gateway_project(tmp_path, models, gateway)
        with GatewayProcess(config, env={"GW_OTEL_KEY": secret}) as gw:
            raw = gw.client().chat.completions.with_raw_response.create(model="support", messages=ASK)
            receipt_id = raw.headers["x-benchroute-receipt"]
            usage = raw.parse().usage
            chunks = list(
                gw.client().chat.completions.create(
                    model="support", messages=ASK, stream=True, stream_options={"include_usage": True}
                )
            )
            assert chunks[-1].usage is not None
            with pytest.raises(openai.NotFoundError):
                gw.client().chat.completions.create(model="nope", messages=ASK)
        # SIGTERM drained the span queue: every span arrived before the process exited.
    assert usage is not None
    spans = collector.spans()
    resource = spans[0][0]
    assert resource["service.name"] == "benchroute-gateway"
    servers = [span for _, span in spans if span.kind == Span.SPAN_KIND_SERVER]
    clients = [span for _, span in spans if span.kind == Span.SPAN_KIND_CLIENT]
    assert [span.name for span in servers] == ["chat support", "chat support", "chat nope"]
    plain = servers[0]
    attributes = _attributes(plain.attributes)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "support"
    assert attributes["gen_ai.response.model"] == "gpt-mini"
    assert attributes["gen_ai.provider.name"] == "openai" and attributes["gen_ai.system"] == "openai"
    assert attributes["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert attributes["benchroute.receipt_id"] == receipt_id
    assert attributes["benchroute.attempts"] == 2
    assert attributes["benchroute.model"] == "mini"
    assert attributes["http.response.status_code"] == 200
    assert plain.end_time_unix_nano > plain.start_time_unix_nano
    children = [span for span in clients if span.parent_span_id == plain.span_id]
    assert [span.name for span in children] == ["chat gpt-dead", "chat gpt-mini"]
    assert all(span.trace_id == plain.trace_id for span in children)
    failed, served = (_attributes(span.attributes) for span in children)
    assert failed["error.type"] == "connection" and failed["gen_ai.request.model"] == "gpt-dead"
    assert children[0].status.code == children[0].status.STATUS_CODE_ERROR
    assert served["gen_ai.response.model"] == "gpt-mini" and served["server.address"] == "127.0.0.1"
    assert served["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert "error.type" not in served
    for child in children:
        assert plain.start_time_unix_nano <= child.start_time_unix_nano <= child.end_time_unix_nano
        assert child.end_time_unix_nano <= plain.end_time_unix_nano
    streamed = _attributes(servers[1].attributes)
    assert streamed["benchroute.stream"] is True and "benchroute.ttft_s" in streamed
    missing = _attributes(servers[2].attributes)
    assert missing["error.type"] == "model_not_found" and missing["http.response.status_code"] == 404
    assert not [span for span in clients if span.parent_span_id == servers[2].span_id]
    received = b"".join(collector.bodies)
    assert secret.encode() not in received and b"trace me" not in received  # no key, no prompt


def test_a_dead_collector_costs_the_requests_nothing(tmp_path: Path) -> None:
    with FakeServer() as upstream:
        models = {"mini": openai_model(upstream.base_url, "gpt-mini")}
        gateway = {"otlp_endpoint": closed_port_url().removesuffix("/v1")}
        config = write_gateway_project(tmp_path, models, gateway)
        gw = GatewayProcess(config).start()
        for _ in range(5):
            assert gw.client().chat.completions.create(model="mini", messages=ASK).choices
        assert httpx.get(f"{gw.url}/readyz").status_code == 200
        assert gw.stop() == 0


def test_no_endpoint_no_tracer() -> None:
    assert make_tracer(None) is None
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert traces_url("https://otel.example/api/v1/traces") == "https://otel.example/api/v1/traces"
