"""Where the server meets the optional parts: keys and limits (``_auth``), Prometheus metrics
(``_metrics``) and OpenTelemetry spans (``_otel``).

Each part is looked up by its module and name; a part that is not there, is switched off in
the ``gateway:`` block, or needs an extra that is not installed is None, and the hot path
then pays nothing for it (the server checks ``is None`` once per request):

- auth: None with ``auth: none``; otherwise an ``Authenticator`` (in ``auto`` mode it admits
  everyone with one attribute check until a key exists);
- metrics: None with ``metrics: false`` or without ``prometheus-client``;
- tracer: None without ``otlp_endpoint`` or without the ``otel`` extra (a configured endpoint
  with the extra missing prints one line saying so at start).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import GatewaySpec
    from ..store import Store
    from ._endpoints import Endpoint
    from ._log import RequestLogWriter


def _find(module: str, name: str) -> Any:
    try:
        loaded = importlib.import_module(f"benchroute.gateway.{module}")
    except ImportError:
        return None
    return getattr(loaded, name, None)


async def make_auth(spec: GatewaySpec, store: Store) -> Any:
    """The key checker (``Authenticator``), started; None when the gateway is open by
    configuration (``auth: none``) or there is no checker."""
    if spec.auth == "none":
        return None
    factory = _find("_auth", "Authenticator")
    if factory is None:
        return None
    auth = factory(spec, store)
    start = getattr(auth, "start", None)
    if start is not None:
        result = start()
        if inspect.isawaitable(result):
            await result
    return auth


def make_metrics(
    spec: GatewaySpec | None = None,
    aliases: Mapping[str, Sequence[Endpoint]] | None = None,
    writer: RequestLogWriter | None = None,
) -> Any:
    """The Prometheus registry behind ``GET /metrics``; None when off or not installed."""
    if spec is not None and not spec.metrics:
        return None
    try:
        factory = _find("_metrics", "GatewayMetrics")  # imports prometheus_client
        return factory(aliases, writer) if factory is not None else None
    except ImportError:  # prometheus-client not installed: no metrics
        return None


def make_tracer(spec: GatewaySpec | str | None, endpoints: Mapping[str, Endpoint] | None = None) -> Any:
    """The span exporter; None without an OTLP endpoint (or without the otel extra)."""
    if spec is None or isinstance(spec, str):
        endpoint, service = spec, "benchroute-gateway"
    else:
        endpoint, service = spec.otlp_endpoint, spec.otlp_service_name
    if endpoint is None:
        return None
    factory = _find("_otel", "GatewayTracer")
    if factory is None:
        return None
    try:
        tracer = factory(endpoint, service_name=service, endpoints=endpoints)
    except ImportError as exc:  # the otel extra is not installed
        print(
            f"benchroute gateway: gateway.otlp_endpoint is set but {exc.name or 'OpenTelemetry'} "
            "is not installed: no spans (pip install 'benchroute[otel]')",
            file=sys.stderr,
            flush=True,
        )
        return None
    return tracer if getattr(tracer, "enabled", True) else None


async def close(part: Any) -> None:
    aclose = getattr(part, "aclose", None)
    if aclose is not None:
        result = aclose()
        if inspect.isawaitable(result):
            await result
