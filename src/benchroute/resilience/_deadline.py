"""A total time budget shared by every attempt of one request."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Deadline"]


class Deadline:
    """``total_s`` seconds from construction (on ``clock``, monotonic by default).

    Each attempt takes ``min(its own timeout, deadline.remaining())``; once :attr:`expired`,
    nothing more is tried."""

    __slots__ = ("_clock", "ends_at", "started_at", "total_s")

    def __init__(self, total_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.total_s = total_s
        self.started_at = clock()
        self.ends_at = self.started_at + total_s

    def remaining(self) -> float:
        """Seconds left, never negative."""
        left = self.ends_at - self._clock()
        return left if left > 0.0 else 0.0

    def elapsed(self) -> float:
        """Seconds since the deadline started."""
        return self._clock() - self.started_at

    def budget(self, timeout_s: float | None) -> float:
        """An attempt's timeout: its own (None: none) within what is left."""
        left = self.remaining()
        return left if timeout_s is None or timeout_s > left else timeout_s

    @property
    def expired(self) -> bool:
        return self._clock() >= self.ends_at

    def __repr__(self) -> str:
        return f"Deadline(total_s={self.total_s:g}, remaining={self.remaining():.3f})"
