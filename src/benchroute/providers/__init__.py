"""Providers: the one-call :class:`Provider` protocol, its registry, the OpenAI-compatible,
Anthropic and embedded local adapters, and prices."""

from ._context import ProviderContext, Secrets
from ._prices import PriceBook, PriceInfo
from ._registry import create_provider, get_provider_factory, provider_kinds, register_provider
from ._types import (
    Completion,
    CompletionRequest,
    ErrorKind,
    Message,
    Provider,
    ProviderError,
    Usage,
)

__all__ = [
    "Completion",
    "CompletionRequest",
    "ErrorKind",
    "Message",
    "PriceBook",
    "PriceInfo",
    "Provider",
    "ProviderContext",
    "ProviderError",
    "Secrets",
    "Usage",
    "create_provider",
    "get_provider_factory",
    "provider_kinds",
    "register_provider",
]
