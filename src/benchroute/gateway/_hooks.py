"""Where the server meets the optional parts: keys and limits (``_auth``), Prometheus metrics
(``_metrics``) and OpenTelemetry spans (``_otel``).

Each part is looked up by its module and name; a part that is not there (or an extra that is
not installed) is off, and the hot path then pays nothing for it (the server checks
``is None`` once per request).
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import GatewaySpec
    from ..store import Store


def _find(module: str, name: str) -> Any:
    try:
        loaded = importlib.import_module(f"benchroute.gateway.{module}")
    except ImportError:
        return None
    return getattr(loaded, name, None)


async def make_auth(spec: GatewaySpec, store: Store) -> Any:
    """The key checker (``Authenticator``), started; None when there is none."""
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


def make_metrics() -> Any:
    factory = _find("_metrics", "GatewayMetrics")
    try:
        return factory() if factory is not None else None
    except ImportError:  # prometheus-client not installed: no metrics
        return None


def make_tracer(endpoint: str | None) -> Any:
    factory = _find("_otel", "GatewayTracer")
    if factory is None:
        return None
    try:
        tracer = factory(endpoint)
    except ImportError:  # the otel extra is not installed
        return None
    return tracer if getattr(tracer, "enabled", endpoint is not None) else None


async def close(part: Any) -> None:
    aclose = getattr(part, "aclose", None)
    if aclose is not None:
        result = aclose()
        if inspect.isawaitable(result):
            await result
