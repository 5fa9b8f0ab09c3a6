"""Provider kinds by registry name, loaded from the ``benchroute.providers`` entry points.

``provider: openai`` in benchroute.yaml looks up the ``openai`` entry point; a third-party
package adds a kind by declaring an entry point of its own. A provider class is built as
``Kind(spec, context)`` and must have an async ``complete(request)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import _entrypoints
from .._errors import ConfigError, did_you_mean
from ._context import ProviderContext
from ._types import Provider

if TYPE_CHECKING:
    from ..config import ModelSpec

ENTRY_POINT_GROUP = "benchroute.providers"

ProviderFactory = Callable[["ModelSpec", ProviderContext], Provider]
_registry: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Register a provider kind in-process (entry points are the usual way)."""
    _registry[name] = factory


def provider_kinds() -> list[str]:
    names = set(_registry) | set(_entrypoints.declared(ENTRY_POINT_GROUP))
    return sorted(names)


def get_provider_factory(name: str) -> ProviderFactory:
    if name in _registry:
        return _registry[name]
    entry = _entrypoints.find(ENTRY_POINT_GROUP, name)
    if entry is not None:
        factory: ProviderFactory = entry.load()
        _registry[name] = factory
        return factory
    raise ConfigError(
        f"unknown provider kind {name!r}{did_you_mean(name, provider_kinds())}",
        hint=f"use one of: {', '.join(provider_kinds())} (or install a plugin that adds it)",
    )


def create_provider(spec: ModelSpec, context: ProviderContext) -> Provider:
    """Build the provider for a model spec."""
    return get_provider_factory(spec.provider)(spec, context)
