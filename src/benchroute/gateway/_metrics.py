"""Prometheus metrics for ``GET /metrics`` (needs ``prometheus-client``; without it, or with
``gateway.metrics: false``, there are none and the request path pays nothing).

Per request (:meth:`GatewayMetrics.observe_request`, from the request path): a few counter
increments and histogram observations on label children bound once per
(alias, model, status) — no label lookup, no allocation after the first request of a kind.
What changes without requests — each endpoint's breaker state, the request-log queue — is
read when Prometheus scrapes, not kept up to date per request.

Labels are bounded: ``alias`` is a served alias or ``(unknown)`` (a client's typo must not
make a new series), ``model`` is the name in benchroute.yaml of the endpoint that served
(``(none)`` when none did), ``status`` the HTTP status sent. No label or value holds a
provider key, a gateway key or a payload.

| metric | kind | labels |
|---|---|---|
| ``benchroute_gateway_requests_total`` | counter | alias, model, status |
| ``benchroute_gateway_request_duration_seconds`` | histogram | alias, model |
| ``benchroute_gateway_time_to_first_token_seconds`` | histogram (streams) | alias, model |
| ``benchroute_gateway_tokens_total`` | counter | alias, model, kind (input/output) |
| ``benchroute_gateway_cost_usd_total`` | counter (priced requests) | alias, model |
| ``benchroute_gateway_unpriced_requests_total`` | counter (served, cost unknown) | alias, model |
| ``benchroute_gateway_breaker_state`` | gauge, 1 for the current state | model, endpoint_id, state |
| ``benchroute_gateway_breaker_transitions_total`` | counter | model, state (the new one) |
| ``benchroute_gateway_log_queue_depth`` | gauge | |
| ``benchroute_gateway_log_rows_written_total`` | counter | |
| ``benchroute_gateway_log_write_failures`` | gauge (failures in a row now) | |

plus the ``process_*`` metrics (CPU seconds, resident memory, open files) of the process.
With ``--workers N`` each worker keeps its own figures and a scrape reaches one of them:
scrape a single-worker gateway, or one port per worker.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from ._endpoints import Endpoint
    from ._log import RequestLogWriter

__all__ = ["GatewayMetrics"]

_UNKNOWN_ALIAS: Final = "(unknown)"
_NO_MODEL: Final = "(none)"
_STATES: Final = ("closed", "open", "half_open")
# Seconds: a gateway answer spans a cached 5 ms reply to a minute-long generation.
_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_TTFT_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _LiveState(Collector):
    """What is read at scrape time: breaker states and the request-log writer."""

    def __init__(self, endpoints: Sequence[Endpoint], writer: RequestLogWriter | None) -> None:
        self._endpoints = endpoints
        self._writer = writer

    def collect(self) -> Iterator[Metric]:
        breakers = GaugeMetricFamily(
            "benchroute_gateway_breaker_state",
            "Circuit breaker state per endpoint: 1 for the current state, 0 for the others.",
            labels=["model", "endpoint_id", "state"],
        )
        for endpoint in self._endpoints:
            current = endpoint.breaker.state
            for state in _STATES:
                breakers.add_metric([endpoint.name, endpoint.id, state], 1.0 if state == current else 0.0)
        yield breakers
        writer = self._writer
        if writer is None:
            return
        yield GaugeMetricFamily(
            "benchroute_gateway_log_queue_depth",
            "Request-log rows queued in memory and not yet written to the store.",
            value=writer.depth,
        )
        yield CounterMetricFamily(
            "benchroute_gateway_log_rows_written",
            "Request-log rows written to the store.",
            value=writer.written,
        )
        yield GaugeMetricFamily(
            "benchroute_gateway_log_write_failures",
            "Request-log batch writes that failed in a row (0: the store is writable).",
            value=writer.failures,
        )


class GatewayMetrics:
    """The gateway's Prometheus registry (see the module doc). ``aliases`` maps each served
    alias to its endpoints; ``writer`` is the request-log writer (its queue is a gauge)."""

    def __init__(
        self,
        aliases: Mapping[str, Sequence[Endpoint]] | None = None,
        writer: RequestLogWriter | None = None,
    ) -> None:
        aliases = aliases or {}
        self._aliases = frozenset(aliases)
        endpoints = {e.id: e for candidates in aliases.values() for e in candidates}
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "benchroute_gateway_requests",
            "Requests answered, by alias, serving model and HTTP status.",
            ["alias", "model", "status"],
            registry=registry,
        )
        self._latency = Histogram(
            "benchroute_gateway_request_duration_seconds",
            "Time from the request's body to the answer's end (streams: the last byte), seconds.",
            ["alias", "model"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self._ttft = Histogram(
            "benchroute_gateway_time_to_first_token_seconds",
            "Streams: time from the request to the first content chunk, seconds.",
            ["alias", "model"],
            buckets=_TTFT_BUCKETS,
            registry=registry,
        )
        self._tokens = Counter(
            "benchroute_gateway_tokens",
            "Tokens by kind (input: the prompt, output: the completion), from upstream usage.",
            ["alias", "model", "kind"],
            registry=registry,
        )
        self._cost = Counter(
            "benchroute_gateway_cost_usd",
            "Estimated cost of the priced requests, USD.",
            ["alias", "model"],
            registry=registry,
        )
        self._unpriced = Counter(
            "benchroute_gateway_unpriced_requests",
            "Served requests whose cost is unknown (the model has no price).",
            ["alias", "model"],
            registry=registry,
        )
        self._transitions = Counter(
            "benchroute_gateway_breaker_transitions",
            "Circuit breaker state changes seen by requests, by the new state.",
            ["model", "state"],
            registry=registry,
        )
        registry.register(_LiveState(list(endpoints.values()), writer))
        ProcessCollector(registry=registry)
        self._children: dict[tuple[str, str | None, int], tuple[Any, ...]] = {}

    def _bind(self, key: tuple[str, str | None, int]) -> tuple[Any, ...]:
        alias, model, status = key
        alias_label = alias if alias in self._aliases else _UNKNOWN_ALIAS
        model_label = model if model is not None else _NO_MODEL
        children: tuple[Any, ...] = (
            self._requests.labels(alias_label, model_label, str(status)),
            self._latency.labels(alias_label, model_label),
        )
        if model is not None:  # only a served request has tokens, a cost, a first token
            children += (
                self._ttft.labels(alias_label, model_label),
                self._tokens.labels(alias_label, model_label, "input"),
                self._tokens.labels(alias_label, model_label, "output"),
                self._cost.labels(alias_label, model_label),
                self._unpriced.labels(alias_label, model_label),
            )
        if alias_label == alias:  # an unknown alias is not remembered: it must not grow the dict
            self._children[key] = children
        return children

    def observe_request(
        self,
        alias: str,
        model: str | None,
        status: int,
        latency_s: float,
        ttft_s: float | None,
        input_tokens: int | None,
        output_tokens: int | None,
        cost_usd: float | None,
    ) -> None:
        """One answered request (the request path: a handful of increments)."""
        key = (alias, model, status)
        children = self._children.get(key)
        if children is None:
            children = self._bind(key)
        children[0].inc()
        children[1].observe(latency_s)
        if model is None:
            return
        _, _, ttft, tokens_in, tokens_out, cost, unpriced = children
        if ttft_s is not None:
            ttft.observe(ttft_s)
        if input_tokens:
            tokens_in.inc(input_tokens)
        if output_tokens:
            tokens_out.inc(output_tokens)
        if cost_usd is not None:
            cost.inc(cost_usd)
        elif status == 200:
            unpriced.inc()

    def set_breaker(self, model: str, state: str) -> None:
        """A request saw ``model``'s breaker change to ``state`` (the gauge itself is read
        at scrape time)."""
        self._transitions.labels(model, state).inc()

    def set_log_queue(self, depth: int) -> None:
        """Kept for callers of the older interface: the queue depth is read at scrape time."""

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type, for ``GET /metrics``."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
