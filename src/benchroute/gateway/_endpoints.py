"""The endpoints a gateway can send to, and the aliases that order them.

An :class:`Endpoint` is one model of ``benchroute.yaml`` with its provider object (built
once, at startup, over the process's one shared HTTP session), its id, its circuit breaker
and what a request costs there. Its id is the store's endpoint id: the first 16 hex digits of
the SHA-256 of the canonical JSON of ``{provider, base_url, model, params}``, so the request
log and the benchmark results name the same endpoint the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..providers import Usage, can_stream, create_provider
from ..resilience import RateLimiter

if TYPE_CHECKING:
    from ..config import ModelSpec, ProjectConfig
    from ..providers import PriceBook, Provider, ProviderContext
    from ..resilience import BreakerRegistry, CircuitBreaker


def endpoint_id(spec: ModelSpec) -> str:
    """The stable id of a model endpoint (see the module doc)."""
    return spec.endpoint_id


@dataclass(slots=True, eq=False)
class Endpoint:
    """One candidate a request can be sent to."""

    name: str  # the model's name in benchroute.yaml
    spec: ModelSpec
    provider: Provider
    id: str
    breaker: CircuitBreaker
    streams: bool  # the provider streams natively (else a reply is sent as one chunk)
    timeout_s: float  # per attempt
    prices: PriceBook | None = None
    priced: bool = False
    header_value: bytes = field(default=b"")
    limiter: RateLimiter | None = None  # the model's rpm/tpm: over it, the next candidate serves

    def cost(self, usage: Usage, latency_ms: float) -> float | None:
        """USD for one request (None: unpriced or the price lookup failed)."""
        if not self.priced or self.prices is None:
            return None
        try:
            return self.prices.cost(self.name, usage, latency_ms)
        except Exception:  # a price lookup must never fail a request that was served
            return None

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "endpoint_id": self.id, "provider": self.spec.provider}


def build_endpoints(
    project: ProjectConfig,
    context: ProviderContext,
    breakers: BreakerRegistry,
    prices: PriceBook | None,
    names: set[str],
) -> dict[str, Endpoint]:
    """Endpoints for the models named in ``names`` (every alias's candidates)."""
    attempt_timeout = project.gateway.attempt_timeout_s
    endpoints: dict[str, Endpoint] = {}
    for name in sorted(names):
        spec = project.models[name]
        provider = create_provider(spec, context)
        ident = endpoint_id(spec)
        timeout = spec.timeout if attempt_timeout is None else min(spec.timeout, attempt_timeout)
        endpoints[name] = Endpoint(
            name=name,
            spec=spec,
            provider=provider,
            id=ident,
            breaker=breakers.get(ident),
            streams=can_stream(provider),
            timeout_s=timeout,
            prices=prices,
            priced=prices is not None and prices.is_priced(name),
            header_value=ident.encode(),
            # Routed requests skip an endpoint over its rpm/tpm; a burst of 5 s worth.
            limiter=RateLimiter(
                spec.rpm, spec.tpm, request_burst=max(1.0, (spec.rpm or 0) / 12), token_burst_s=5
            )
            if spec.rpm or spec.tpm
            else None,
        )
    return endpoints
