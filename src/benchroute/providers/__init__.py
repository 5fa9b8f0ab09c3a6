"""Providers: the one-call :class:`Provider` protocol, the optional streaming capability
(:class:`StreamingProvider`, :func:`can_stream`, :class:`StreamChunk`), its registry, the
OpenAI-compatible, Anthropic and embedded local adapters, and prices.

The request and reply shapes are defined in :mod:`benchroute.types` and re-exported here. The
load-test send path (``prepare_load_sender`` and its types) loads on first use: only the
stress tier needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._context import ProviderContext, Secrets
from ._media import MediaLimits, check_media, media_limits
from ._prices import PriceBook, PriceInfo
from ._registry import (
    create_provider,
    get_provider_factory,
    provider_kinds,
    provider_settings,
    register_provider,
)
from ._types import (
    FATAL_KINDS,
    RETRYABLE_KINDS,
    Completion,
    CompletionRequest,
    ErrorKind,
    Message,
    Provider,
    ProviderError,
    StreamChunk,
    StreamingProvider,
    Usage,
    can_stream,
)

if TYPE_CHECKING:
    from ._loadpath import LoadSender, UsageTally, close_load_sender, prepare_load_sender

_LOAD_PATH = ("LoadSender", "UsageTally", "close_load_sender", "prepare_load_sender")
__getattr__ = lazy_attributes(__name__, dict.fromkeys(_LOAD_PATH, "_loadpath"))

__all__ = [
    "FATAL_KINDS",
    "RETRYABLE_KINDS",
    "Completion",
    "CompletionRequest",
    "ErrorKind",
    "LoadSender",
    "MediaLimits",
    "Message",
    "PriceBook",
    "PriceInfo",
    "Provider",
    "ProviderContext",
    "ProviderError",
    "Secrets",
    "StreamChunk",
    "StreamingProvider",
    "Usage",
    "UsageTally",
    "can_stream",
    "check_media",
    "close_load_sender",
    "create_provider",
    "get_provider_factory",
    "media_limits",
    "prepare_load_sender",
    "provider_kinds",
    "provider_settings",
    "register_provider",
]
