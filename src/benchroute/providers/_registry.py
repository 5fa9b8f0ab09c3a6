"""Provider kinds by registry name, loaded from the ``benchroute.providers`` entry points.

``provider: openai`` in benchroute.yaml looks up the ``openai`` entry point; a third-party
package adds a kind by declaring an entry point of its own. A provider class is built as
``Kind(spec, context)`` and must have an async ``complete(request)``.

A kind declares the settings it takes (a model's ``settings:`` block) as a pydantic model
in ``settings_model``; :func:`create_provider` validates them before the kind is built, so
a misspelt setting fails with the model, the field and the settings the kind has. A kind
without ``settings_model`` takes none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from .. import _entrypoints
from .._errors import ConfigError, did_you_mean
from ._context import ProviderContext
from ._types import Provider

if TYPE_CHECKING:
    from ..config import ModelSpec

ENTRY_POINT_GROUP = "benchroute.providers"

ProviderFactory = Callable[["ModelSpec", ProviderContext], Provider]
SettingsT = TypeVar("SettingsT", bound=BaseModel)
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


def provider_settings(spec: ModelSpec, model: type[SettingsT]) -> SettingsT:
    """``spec.settings`` validated by a kind's settings model; a bad one raises
    :class:`ConfigError` naming the model, the setting and the settings the kind takes."""
    try:
        return model.model_validate(spec.settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "settings"
        known = ", ".join(model.model_fields) or "none"
        raise ConfigError(
            f"model {spec.name!r}: settings.{field}: {error['msg']}",
            hint=f"settings of provider {spec.provider!r}: {known}",
        ) from None


def create_provider(spec: ModelSpec, context: ProviderContext) -> Provider:
    """Build the provider for a model spec (its ``settings`` checked first)."""
    factory = get_provider_factory(spec.provider)
    model = getattr(factory, "settings_model", None)
    if isinstance(model, type) and issubclass(model, BaseModel):
        provider_settings(spec, model)
    elif spec.settings:
        raise ConfigError(
            f"model {spec.name!r}: provider {spec.provider!r} takes no settings",
            hint="remove the model's settings: block",
        )
    return factory(spec, context)
