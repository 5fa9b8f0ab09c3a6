"""What a request costs.

Remote models are priced by ``genai-prices`` (offline price data, versioned with the
package) unless the model's ``prices:`` override applies; local models by a compute rate
(USD per hour of generation time, ``compute_usd_per_hour``). The prices a run used are
snapshotted with it, so a stored cost can always be explained.

A request's :class:`Usage` is handed to genai-prices as the provider reported it: prompt
tokens (with the cache reads and cache writes among them), output tokens (with the reasoning
tokens among them). genai-prices prices each part at its own rate, falling back to the
parent's rate (a cache write without a cache-write price costs an input token), so the cost
is exactly genai-prices' own figure and no token is counted twice. The ``prices:`` override
follows the same rules.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._types import Usage

if TYPE_CHECKING:
    from ..config import ModelSpec

DEFAULT_LOCAL_USD_PER_HOUR = 0.10
# The price source of a model nobody priced: its requests cost an unknown amount.
UNPRICED = "unknown"
_PROVIDER_IDS = {"openai": "openai", "anthropic": "anthropic"}


@dataclass(frozen=True, slots=True)
class PriceInfo:
    """How one model is priced in a run."""

    source: str  # "override", "genai-prices <version>", "compute rate", "unknown"
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    usd_per_hour: float | None = None
    note: str = ""
    # Prices that change with the prompt's size: the per-Mtok figures above are the base tier.
    tiered: bool = False
    genai_prices_version: str | None = None

    @property
    def priced(self) -> bool:
        """False when nothing prices this model (its cost is unknown, not zero)."""
        return self.source != UNPRICED

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "", False)}


class PriceBook:
    """Prices for the models of one run; computes each request's cost."""

    def __init__(self, specs: list[ModelSpec], local_kinds: frozenset[str] = frozenset({"local"})):
        self._specs = {s.name: s for s in specs}
        self._local_kinds = local_kinds
        self._info: dict[str, PriceInfo] = {}
        for spec in specs:
            self._info[spec.name] = self._resolve(spec)

    def _resolve(self, spec: ModelSpec) -> PriceInfo:
        if spec.prices is not None:
            return PriceInfo(
                "override",
                spec.prices.input_per_mtok,
                spec.prices.output_per_mtok,
                spec.prices.cached_input_per_mtok,
                spec.prices.cache_write_per_mtok,
            )
        if spec.provider in self._local_kinds or spec.compute_usd_per_hour is not None:
            rate = spec.compute_usd_per_hour
            return PriceInfo(
                "compute rate", usd_per_hour=DEFAULT_LOCAL_USD_PER_HOUR if rate is None else rate
            )
        host = _self_hosted_host(spec) if spec.price_provider is None else None
        if host is not None:
            # genai-prices names a custom endpoint's provider by its public API host; a
            # loopback or private address never matches one, so it is not consulted (its
            # price data takes ~50 ms to load).
            return PriceInfo(
                UNPRICED,
                note=(
                    f"{spec.model!r} is served from {host}, a self-hosted endpoint; set prices: "
                    "or compute_usd_per_hour: (or price_provider: for a proxy) in benchroute.yaml"
                ),
            )
        calculation = self._genai_prices(spec, Usage(input_tokens=1_000_000, output_tokens=1_000_000))
        if calculation is None:
            return PriceInfo(
                UNPRICED,
                note=f"genai-prices has no price for {spec.model!r}; set prices: in benchroute.yaml",
                genai_prices_version=_genai_prices_version(),
            )
        price = calculation.model_price
        raw = [
            getattr(price, key, None)
            for key in ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")
        ]
        input_rate, output_rate, cached_rate, write_rate = (_per_mtok(value) for value in raw)
        return PriceInfo(
            f"genai-prices {_genai_prices_version()}",
            input_rate,
            output_rate,
            cached_rate,
            write_rate,
            note=f"{calculation.provider.id}/{calculation.model.id}",
            tiered=any(hasattr(value, "tiers") for value in raw),
            genai_prices_version=_genai_prices_version(),
        )

    def _genai_prices(self, spec: ModelSpec, usage: Usage) -> Any:
        from genai_prices import Usage as PriceUsage
        from genai_prices import calc_price

        provider_id = spec.price_provider
        if provider_id is None and spec.base_url is None:
            provider_id = _PROVIDER_IDS.get(spec.provider)
        # Parts never exceed their whole (a provider reporting otherwise would make
        # genai-prices charge a negative remainder).
        cached = min(usage.cached_input_tokens, usage.input_tokens)
        written = min(usage.cache_write_tokens, usage.input_tokens - cached)
        price_usage = PriceUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=cached or None,
            cache_write_tokens=written or None,
            output_reasoning_tokens=min(usage.reasoning_tokens, usage.output_tokens) or None,
        )
        try:
            if provider_id is not None:
                return calc_price(price_usage, spec.model, provider_id=provider_id)
            # A custom endpoint: genai-prices matches the provider by its API URL.
            return calc_price(price_usage, spec.model, provider_api_url=spec.base_url)
        except LookupError:
            return None

    def ensure(self, spec: ModelSpec) -> None:
        """Price ``spec`` too (a judge or simulator a scorer called during the run), so its
        rates join the run's snapshot; a model already in the book is kept as it is."""
        if spec.name not in self._info:
            self._specs[spec.name] = spec
            self._info[spec.name] = self._resolve(spec)

    def info(self, model: str) -> PriceInfo:
        return self._info[model]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Model name -> how it is priced (rates per Mtok incl. cached input and cache writes,
        or the compute rate; the source with the genai-prices version): stored with a run."""
        return {name: info.to_json() for name, info in self._info.items()}

    def is_priced(self, model: str) -> bool:
        """Whether the book can price ``model``'s requests (False: its price is unknown, so
        its cost is unknown too, never $0)."""
        info = self._info.get(model)
        return info is not None and info.source != UNPRICED

    def cost(self, model: str, usage: Usage, latency_ms: float) -> float | None:
        """USD for one request with this usage (and, for local models, this latency); None
        when the model is unpriced. An unknown price is not a price of zero: a caller that
        summed a 0 here would make the model nobody priced look like the cheapest."""
        info = self._info[model]
        if info.source == UNPRICED:
            return None
        if info.usd_per_hour is not None:
            return info.usd_per_hour * latency_ms / 3_600_000
        if info.source == "override":
            input_rate = info.input_per_mtok or 0.0
            cached = min(usage.cached_input_tokens, usage.input_tokens)
            written = min(usage.cache_write_tokens, usage.input_tokens - cached)
            cached_rate = input_rate if info.cached_input_per_mtok is None else info.cached_input_per_mtok
            write_rate = input_rate if info.cache_write_per_mtok is None else info.cache_write_per_mtok
            # Reasoning tokens are among the output tokens, at the output rate.
            return (
                (usage.input_tokens - cached - written) * input_rate
                + cached * cached_rate
                + written * write_rate
                + usage.output_tokens * (info.output_per_mtok or 0.0)
            ) / 1_000_000
        calculation = self._genai_prices(self._specs[model], usage)
        return float(calculation.total_price) if calculation is not None else None


def _self_hosted_host(spec: ModelSpec) -> str | None:
    """The host of ``base_url`` when it is ``localhost`` or a loopback, private or link-local
    IP address (a self-hosted server, or a proxy that needs ``price_provider:``); else None."""
    if spec.base_url is None:
        return None
    host = urlsplit(spec.base_url).hostname
    if host is None:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return host if address.is_loopback or address.is_private or address.is_link_local else None


def _per_mtok(value: Any) -> float | None:
    if value is None:
        return None
    if hasattr(value, "tiers"):
        value = value.base  # tiered: the base tier; each request's calculation picks its tier
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _genai_prices_version() -> str:
    try:
        return version("genai-prices")
    except PackageNotFoundError:
        return "?"
