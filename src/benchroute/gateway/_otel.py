"""OpenTelemetry spans for gateway requests, exported over OTLP/HTTP when
``gateway.otlp_endpoint`` is set (needs the ``otel`` extra; without either there is no
tracer and the request path pays nothing).

Each answered request is one span of kind SERVER named ``{operation} {alias}`` (``chat
support``), with one child span of kind CLIENT per upstream attempt named ``{operation}
{upstream model}`` — the failed attempts of a failover included, with their ``error.type``.
Attribute names are the OpenTelemetry GenAI semantic conventions':

- ``gen_ai.operation.name``: ``chat`` or ``embeddings``;
- ``gen_ai.request.model``: the alias (server span), the upstream model id (client spans);
- ``gen_ai.response.model``: the model the upstream says answered (when served);
- ``gen_ai.provider.name`` and ``gen_ai.system``: the provider kind (``openai``,
  ``anthropic``, ``local``...);
- ``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``: the upstream's usage;
- ``server.address``, ``server.port`` (client spans): the upstream's host;
- ``error.type`` on a failure: the error kind (``timeout``, ``rate_limited``, ...);
- ``http.response.status_code``: the status the client got (server) or the upstream sent;

and ``benchroute.*``: ``receipt_id`` (``GET /v1/receipts/{id}``), ``policy``, ``attempts``,
``stream``, ``model`` and ``endpoint_id`` (the benchroute.yaml model and its endpoint id),
``cost_usd``, ``ttft_s``, ``breaker`` (client: the breaker's state before the attempt).
``gen_ai.system`` is the older name of ``gen_ai.provider.name``, kept for backends that read
only it. No span holds a prompt, a reply, a provider key or a gateway key.

Off the request path: :meth:`GatewayTracer.record` appends the finished request's receipt
to a bounded queue (one deque append); a thread turns receipts into spans with their real
start and end times, and the SDK's ``BatchSpanProcessor`` exports them in batches from its
own thread. When the collector is slow or down, spans are dropped (counted in
``dropped``), never the request delayed. The standard ``OTEL_EXPORTER_OTLP_*`` environment
variables (headers, certificates, compression) apply to the exporter.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from .._version import __version__
from ._failover import POLICY

if TYPE_CHECKING:
    from ._endpoints import Endpoint
    from ._failover import Receipt

__all__ = ["GatewayTracer", "traces_url"]

_QUEUE: Final = 20_000  # receipts waiting to become spans; past it the oldest are dropped
_WAKE_S: Final = 0.2


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for ``endpoint``: a bare collector address
    (``http://host:4318``) gets ``/v1/traces``; a URL with a path is used as it is."""
    parts = urlsplit(endpoint)
    if parts.path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


def _server_address(base_url: str | None) -> tuple[str | None, int | None]:
    if not base_url:
        return None, None
    try:
        parts = urlsplit(base_url)
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None, None


class GatewayTracer:
    """Spans for the gateway's requests (see the module doc). ``enabled`` is False when no
    endpoint is configured; the OpenTelemetry SDK is imported only when it is."""

    def __init__(
        self,
        endpoint: str | None,
        *,
        service_name: str = "benchroute-gateway",
        endpoints: Mapping[str, Endpoint] | None = None,
        schedule_delay_ms: float = 1000,
    ) -> None:
        self.enabled = endpoint is not None
        self.dropped = 0
        self._queue: deque[tuple[Receipt, float, float | None, str]] = deque()
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._endpoints = dict(endpoints or {})
        if endpoint is None:
            return
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.url = traces_url(endpoint)
        self._provider = TracerProvider(
            resource=Resource.create({"service.name": service_name, "service.version": __version__}),
            shutdown_on_exit=False,
        )
        self._processor = BatchSpanProcessor(
            OTLPSpanExporter(endpoint=self.url, timeout=5),
            schedule_delay_millis=schedule_delay_ms,
        )
        self._provider.add_span_processor(self._processor)
        self._tracer = self._provider.get_tracer("benchroute.gateway", __version__)
        from opentelemetry import trace

        self._in_context = trace.set_span_in_context
        self._server, self._client = trace.SpanKind.SERVER, trace.SpanKind.CLIENT
        self._status, self._error_code = trace.Status, trace.StatusCode.ERROR
        self._thread = threading.Thread(target=self._run, name="benchroute-gateway-spans", daemon=True)
        self._thread.start()

    # -- the request path ----------------------------------------------------------------------

    def record(
        self, receipt: Receipt, latency_ms: float, ttft_ms: float | None, operation: str = "chat"
    ) -> None:
        """Queue a finished request's span (one append; built and exported elsewhere)."""
        queue = self._queue
        if len(queue) >= _QUEUE:
            self.dropped += 1
            return
        queue.append((receipt, latency_ms, ttft_ms, operation))

    def _failed(self, text: str) -> Any:
        return self._status(self._error_code, text)

    # -- the span thread -----------------------------------------------------------------------

    def _run(self) -> None:
        queue = self._queue
        while True:
            self._wake.wait(_WAKE_S)
            self._wake.clear()
            while queue:
                item = queue.popleft()
                try:
                    self._emit(*item)
                except Exception as exc:  # telemetry must never take the gateway down
                    self.dropped += 1
                    if self.dropped == 1:
                        print(
                            f"benchroute gateway: a span could not be built: {type(exc).__name__}",
                            file=sys.stderr,
                            flush=True,
                        )
            if self._closing:
                return

    def _emit(self, receipt: Receipt, latency_ms: float, ttft_ms: float | None, operation: str) -> None:
        start_ns = int(receipt.created_ts * 1e9)
        end_ns = start_ns + int(latency_ms * 1e6)
        served = receipt.served
        usage = receipt.usage
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.request.model": receipt.alias,
            "http.response.status_code": receipt.status,
            "benchroute.receipt_id": receipt.id,
            "benchroute.policy": POLICY,
            "benchroute.attempts": receipt.attempts,
            "benchroute.stream": receipt.stream,
        }
        if served is not None:
            attributes["gen_ai.provider.name"] = served.spec.provider
            attributes["gen_ai.system"] = served.spec.provider
            attributes["benchroute.model"] = served.name
            attributes["benchroute.endpoint_id"] = served.id
        if receipt.served_model:
            attributes["gen_ai.response.model"] = receipt.served_model
        if usage is not None:
            attributes["gen_ai.usage.input_tokens"] = usage.input_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.output_tokens
        if receipt.cost_usd is not None:
            attributes["benchroute.cost_usd"] = receipt.cost_usd
        if ttft_ms is not None:
            attributes["benchroute.ttft_s"] = ttft_ms / 1000
        failed = receipt.status >= 400 or receipt.error_kind is not None
        if failed:
            attributes["error.type"] = receipt.error_kind or str(receipt.status)
        span = self._tracer.start_span(
            f"{operation} {receipt.alias or '(no model)'}",
            kind=self._server,
            attributes=attributes,
            start_time=start_ns,
        )
        if failed:
            span.set_status(self._failed(receipt.error_kind or str(receipt.status)))
        parent = self._in_context(span)
        at = start_ns
        for entry in receipt.candidates:
            outcome = entry.get("outcome")
            if outcome not in ("served", "failed", "cut"):
                continue  # skipped (breaker open, deadline): no request was made
            took_ns = int(float(entry.get("latency_ms") or 0.0) * 1e6)
            child_end = end_ns if outcome != "failed" else min(end_ns, at + took_ns)
            self._attempt(entry, operation, parent, at, child_end, receipt)
            at = min(end_ns, at + took_ns)
        span.end(end_time=end_ns)

    def _attempt(
        self,
        entry: dict[str, Any],
        operation: str,
        parent: Any,
        start_ns: int,
        end_ns: int,
        receipt: Receipt,
    ) -> None:
        name = str(entry.get("model"))
        endpoint = self._endpoints.get(name)
        if endpoint is None and receipt.served is not None and receipt.served.name == name:
            endpoint = receipt.served
        upstream_model = endpoint.spec.model if endpoint is not None else name
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.request.model": upstream_model,
            "benchroute.model": name,
            "benchroute.endpoint_id": str(entry.get("endpoint_id")),
        }
        if entry.get("breaker") is not None:
            attributes["benchroute.breaker"] = str(entry["breaker"])
        if endpoint is not None:
            attributes["gen_ai.provider.name"] = endpoint.spec.provider
            attributes["gen_ai.system"] = endpoint.spec.provider
            host, port = _server_address(endpoint.spec.base_url)
            if host is not None:
                attributes["server.address"] = host
            if port is not None:
                attributes["server.port"] = port
        outcome = entry.get("outcome")
        if outcome == "served" or outcome == "cut":
            if receipt.served_model:
                attributes["gen_ai.response.model"] = receipt.served_model
            if receipt.usage is not None:
                attributes["gen_ai.usage.input_tokens"] = receipt.usage.input_tokens
                attributes["gen_ai.usage.output_tokens"] = receipt.usage.output_tokens
        error_type = entry.get("error_kind") or ("stream_cut" if outcome == "cut" else None)
        if error_type is not None:
            attributes["error.type"] = str(error_type)
        if entry.get("http_status") is not None:
            attributes["http.response.status_code"] = int(entry["http_status"])
        span = self._tracer.start_span(
            f"{operation} {upstream_model}",
            context=parent,
            kind=self._client,
            attributes=attributes,
            start_time=start_ns,
        )
        if error_type is not None:
            span.set_status(self._failed(str(error_type)))
        span.end(end_time=max(start_ns, end_ns))

    # -- shutdown ------------------------------------------------------------------------------

    def close(self, timeout_s: float = 10.0) -> None:
        """Build the queued spans and export them (blocking: the server's shutdown)."""
        if self._thread is None:
            return
        self._closing = True
        self._wake.set()
        self._thread.join(timeout_s)
        self._thread = None
        self._processor.force_flush(int(timeout_s * 1000))
        self._provider.shutdown()

    async def aclose(self) -> None:
        import asyncio

        await asyncio.to_thread(self.close)
