"""Per-model rate limits: requests per minute and tokens per minute as token buckets.

They live in :mod:`benchroute.resilience` (shared with the gateway); the runner keeps its old
names. The request bucket holds a single request, so requests are spaced at least ``60 / RPM``
seconds apart (2% more: ``RPM_HEADROOM``); the token bucket holds one second's worth of
tokens; waiters are served in arrival order (see :class:`benchroute.resilience.TokenBucket`).
"""

from __future__ import annotations

from ..resilience import RPM_HEADROOM, RateLimiter, TokenBucket

__all__ = ["RPM_HEADROOM", "RateLimiter", "TokenBucket"]
