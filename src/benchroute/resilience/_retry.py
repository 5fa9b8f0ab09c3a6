"""When to try a failed request again, and after how long.

A :class:`RetryPolicy` is a small settings object with one decision, :meth:`RetryPolicy.delay`:
given the attempt that just failed and its :class:`~benchroute.providers.ProviderError`, the
seconds to wait before the next attempt, or None to give up. The rules, in order:

1. an error kind not in ``retry_on`` is final (a wrong key or a bad request does not heal);
2. each kind may have its own attempt limit (``max_attempts_by_kind``: a refused connection
   rarely heals within seconds, a 429 usually does), else ``max_attempts``;
3. a server's ``Retry-After`` is honoured (waited up to 10% longer, so the clients it throttled
   together do not all return in the same instant); one longer than ``max_retry_after_s`` gives
   up instead of sleeping through it (a gateway then fails over; None: no cap);
4. otherwise exponential backoff ``base_delay_s * 2**attempt`` capped at ``max_delay_s``, with
   ``full`` jitter (uniform in [0, backoff]), ``equal`` jitter (half fixed, half random) or none;
5. a delay longer than what is left of a deadline (``remaining=``) gives up.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..providers import RETRYABLE_KINDS

if TYPE_CHECKING:
    from ..providers import ProviderError

__all__ = ["RetryPolicy"]

# Retry-After is waited up to this fraction longer (see the module doc, rule 3).
RETRY_AFTER_SPREAD = 0.1


class RetryPolicy(BaseModel):
    """How many attempts a request gets and how long to wait between them (module doc)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=3, ge=1, description="attempts in all, the first included")
    base_delay_s: float = Field(default=0.5, ge=0)
    max_delay_s: float = Field(default=20.0, ge=0)
    jitter: Literal["full", "equal", "none"] = "full"
    retry_on: frozenset[str] = RETRYABLE_KINDS
    max_attempts_by_kind: dict[str, int] = Field(default_factory=dict)
    honour_retry_after: bool = True
    max_retry_after_s: float | None = 60.0

    def attempts_for(self, kind: str) -> int:
        """The attempt limit for errors of ``kind``."""
        return self.max_attempts_by_kind.get(kind, self.max_attempts)

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The jittered exponential backoff after failed attempt number ``attempt`` (0-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(attempt, 62))
        if self.jitter == "none":
            return ceiling
        draw = (rng or random).random()
        if self.jitter == "equal":
            return ceiling / 2 + draw * ceiling / 2
        return draw * ceiling

    def delay(
        self,
        attempt: int,
        error: ProviderError,
        *,
        remaining: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before retrying after attempt ``attempt`` (0-based: 0 is the first
        try) failed with ``error``; None: give up. ``remaining``: seconds left of a deadline."""
        if error.kind not in self.retry_on or attempt + 1 >= self.attempts_for(error.kind):
            return None
        retry_after = error.retry_after
        if self.honour_retry_after and retry_after is not None and retry_after >= 0:
            if self.max_retry_after_s is not None and retry_after > self.max_retry_after_s:
                return None
            wait = retry_after * (1.0 + RETRY_AFTER_SPREAD * (rng or random).random())
        else:
            wait = self.backoff(attempt, rng)
        if remaining is not None and wait >= remaining:
            return None
        return wait
