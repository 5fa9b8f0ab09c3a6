"""The provider contract: the one-call :class:`Provider` protocol, the optional streaming
capability (:class:`StreamingProvider`) and the errors both raise.

The request and reply shapes (:class:`~benchroute.types.Message`, ``CompletionRequest``,
``Completion``, ``Usage``) live in :mod:`benchroute.types`, below both ``config`` and
``providers``; they are re-exported here so the adapters import them from one place. A
provider adapter translates them to and from its wire format and nothing else; retries, rate
limits and caching live in the runner (and the gateway).

Streaming is a capability a kind declares (``supports_streaming = True`` and a ``stream``
method), chosen per request by the caller: the same provider object answers ``complete``
for the runner and ``stream`` for a gateway client that asked for server-sent events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar, Literal, Protocol, runtime_checkable

from .._errors import BenchrouteError
from ..types import Completion, CompletionRequest, Message, Role, StreamChunk, Usage

__all__ = [
    "FATAL_KINDS",
    "RETRYABLE_KINDS",
    "Completion",
    "CompletionRequest",
    "ErrorKind",
    "Message",
    "Provider",
    "ProviderError",
    "Role",
    "StreamChunk",
    "StreamingProvider",
    "Usage",
    "can_stream",
]

ErrorKind = Literal[
    "rate_limited",
    "server_error",
    "timeout",
    "connection",
    "auth",
    "bad_request",
    "not_found",
    "malformed_reply",
]

RETRYABLE_KINDS: frozenset[str] = frozenset({"rate_limited", "server_error", "timeout", "connection"})
# After these, further requests to the same endpoint cannot succeed: stop sending them.
FATAL_KINDS: frozenset[str] = frozenset({"auth", "not_found", "connection"})


class ProviderError(BenchrouteError):
    """A request to a model failed. ``kind`` tells the runner whether to retry."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        status: int | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS


@runtime_checkable
class Provider(Protocol):
    """A model endpoint. The one required call; ``aclose`` is optional."""

    async def complete(self, request: CompletionRequest) -> Completion:
        """Send one request and return the completion, or raise :class:`ProviderError`."""
        ...


@runtime_checkable
class StreamingProvider(Provider, Protocol):
    """A provider that can also stream its reply (see :func:`can_stream`)."""

    supports_streaming: ClassVar[bool]

    def stream(self, request: CompletionRequest) -> AsyncIterator[StreamChunk]:
        """The reply as OpenAI ``chat.completion.chunk`` pieces, in order, the last one
        carrying ``usage``. Errors before the first chunk (HTTP status, connection, timeout)
        and a stream cut before its end marker raise :class:`ProviderError`; so does an
        error event inside the stream. Close the iterator (``aclose``) to abandon the
        request: the upstream connection is dropped."""
        ...


def can_stream(provider: object) -> bool:
    """Whether ``provider`` declares the streaming capability (``supports_streaming``)."""
    return bool(getattr(provider, "supports_streaming", False)) and callable(
        getattr(provider, "stream", None)
    )
