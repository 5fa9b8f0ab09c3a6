"""The provider contract: the one-call :class:`Provider` protocol and its errors.

The request and reply shapes (:class:`~benchroute.types.Message`, ``CompletionRequest``,
``Completion``, ``Usage``) live in :mod:`benchroute.types`, below both ``config`` and
``providers``; they are re-exported here so the adapters import them from one place. A
provider adapter translates them to and from its wire format and nothing else; retries, rate
limits and caching live in the runner.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from .._errors import BenchrouteError
from ..types import Completion, CompletionRequest, Message, Role, Usage

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
    "Usage",
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
