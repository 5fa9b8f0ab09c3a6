"""The ``gateway:`` block of the project file: what ``benchroute gateway serve`` serves.

.. code-block:: yaml

    gateway:
      aliases:                      # the model names clients ask for -> ordered candidates
        support: [gpt-4o-mini, claude, smollm2]
      deadline_s: 30                # total time for one request, every failover included
      attempt_timeout_s: 10         # per candidate (and the model's own `timeout`, if shorter)
      breaker: {window_s: 30, failure_rate: 0.5, min_requests: 5, open_s: 10}
      log_payloads: false           # store request and response bodies in the request log
      listen: {host: 127.0.0.1, port: 8000}
      auth: auto                    # auto: keys required once any key exists; keys; none
      keys_refresh_s: 2             # how often keys and spend are re-read from the store
      metrics: true                 # GET /metrics (Prometheus; needs prometheus-client)
      otlp_endpoint: null           # e.g. http://127.0.0.1:4318: OpenTelemetry spans (otel extra)

The candidates are model names defined under ``models:``; an alias is tried in order, the
next candidate taking over on a connection error, a timeout, a 429, a 5xx or a stream that
fails before its first content byte. With no ``aliases`` every model is an alias of itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

_AliasName = Annotated[str, Field(min_length=1, max_length=200)]


class GatewayBreakerSpec(BaseModel):
    """Per-endpoint circuit breaker: it opens after ``consecutive_failures`` failures in a
    row, or a ``failure_rate`` over at least ``min_requests`` requests in ``window_s``; after
    ``open_s`` it lets ``half_open_probes`` requests through to see if the endpoint is back."""

    model_config = ConfigDict(extra="forbid")

    window_s: float = Field(default=30.0, gt=0)
    min_requests: int = Field(default=5, ge=1)
    failure_rate: float = Field(default=0.5, gt=0, le=1)
    consecutive_failures: int = Field(default=5, ge=1)
    open_s: float = Field(default=10.0, gt=0)
    half_open_probes: int = Field(default=1, ge=1)


class GatewayListenSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)


class GatewaySpec(BaseModel):
    """``gateway:`` in benchroute.yaml (see the module doc)."""

    model_config = ConfigDict(extra="forbid")

    aliases: dict[_AliasName, list[str]] = Field(
        default_factory=dict, description="alias -> ordered candidate model names"
    )
    deadline_s: float = Field(default=30.0, gt=0, description="total seconds per request, failover included")
    attempt_timeout_s: float | None = Field(
        default=None, gt=0, description="seconds per candidate (default: the model's timeout)"
    )
    breaker: GatewayBreakerSpec = Field(default_factory=GatewayBreakerSpec)
    log_payloads: bool = Field(default=False, description="keep request/response bodies in the log")
    log_queue: int = Field(
        default=10_000, ge=1, description="request-log rows held in memory before requests wait"
    )
    listen: GatewayListenSpec = Field(default_factory=GatewayListenSpec)
    auth: Literal["auto", "keys", "none"] = Field(
        default="auto",
        description="auto: keys required once the store holds any key (revoked ones too); "
        "keys: always required; none: open",
    )
    keys_refresh_s: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="seconds between re-reading keys (new, revoked) and settling spend in the store",
    )
    metrics: bool = Field(default=True, description="serve Prometheus metrics on GET /metrics")
    otlp_endpoint: str | None = Field(
        default=None,
        description="OpenTelemetry collector (OTLP/HTTP, e.g. http://127.0.0.1:4318) for spans; "
        "none: no tracing",
    )
    otlp_service_name: str = Field(
        default="benchroute-gateway", min_length=1, description="the spans' service.name"
    )

    def candidates(self, model_names: list[str]) -> dict[str, list[str]]:
        """The alias table served: the configured one, or every model as its own alias."""
        if self.aliases:
            return {alias: list(names) for alias, names in self.aliases.items()}
        return {name: [name] for name in model_names}
