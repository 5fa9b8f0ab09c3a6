"""What the runner and the gateway share: retry policy, rate limiters, timeouts, circuit breakers.

- :class:`RetryPolicy` — per-error-kind attempt limits, ``Retry-After`` honoured, jittered
  exponential backoff, deadline-aware;
- :class:`TokenBucket` / :class:`RateLimiter` — RPM and TPM budgets, waiting
  (``acquire``) or not (``try_acquire``: the seconds until admission, for a 429);
- :class:`Deadline` — one total time budget over every attempt of a request;
- :class:`CircuitBreaker` / :class:`BreakerRegistry` / :class:`BreakerSettings` — per-endpoint
  breakers (failure rate or consecutive failures in a window, minimum requests, open →
  half-open probes → closed).

Everything takes an injectable clock; nothing here does I/O. See docs/resilience.md.
"""

from ._breaker import BreakerRegistry, BreakerSettings, BreakerState, CircuitBreaker
from ._deadline import Deadline
from ._limits import RPM_HEADROOM, RateLimiter, TokenBucket
from ._retry import RetryPolicy

__all__ = [
    "RPM_HEADROOM",
    "BreakerRegistry",
    "BreakerSettings",
    "BreakerState",
    "CircuitBreaker",
    "Deadline",
    "RateLimiter",
    "RetryPolicy",
    "TokenBucket",
]
