"""``--max-cost``: stop sending requests before a run's spending would pass a cap.

Each request — or conversation, for the conversation tier — reserves its expected cost
before it is sent: the mean actual cost of the results of the same suite x model so far in
this run, or — before the first one — the a-priori estimate of :mod:`._estimate`. An
a-priori estimate can be far off (a reply far longer than expected), so until a suite x
model has one settled result only one of its requests is in flight: a probe, after which
its mean reserves for the rest.

A request is sent only if what was spent plus every in-flight reservation plus its own
stays within the cap; if it does not fit it waits for in-flight requests to settle (their
actual cost replaces their reservation) and tries again. Once it does not fit with nothing
in flight, it never will (spending only grows, and its expected cost changes only when one
of its own requests settles): that suite x model is out of budget and sends nothing more,
while cheaper suite x models that still fit go on. The run then ends ``budget_stopped``;
what ran is kept, and ``--resume`` with a higher cap continues. Judge calls made while
scoring a single request are not reserved; they are charged as they happen.

So the spending ends above ``cap - the dearest request's cost`` and passes the cap only by
what the in-flight requests cost beyond their reservations.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict


class Budget:
    """Spending against a cap (USD) for one run; safe across the run's worker tasks."""

    def __init__(self, cap_usd: float, spent_usd: float = 0.0) -> None:
        self.cap_usd = cap_usd
        self.spent_usd = spent_usd
        self.reserved_usd = 0.0
        self.in_flight = 0
        # The spending reached the cap (a resumed run's earlier results count): nothing more is sent.
        self._stopped = spent_usd >= cap_usd
        self._out_of_budget: set[tuple[str, str]] = set()  # (suite, model)s that cannot fit
        self._observed: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
        self._probing: set[tuple[str, str]] = set()
        self._changed = asyncio.Condition()

    def charge(self, usd: float) -> None:
        """Count spending that was not reserved (judge calls made while scoring)."""
        self.spent_usd += usd
        if self.spent_usd >= self.cap_usd:
            self._stopped = True

    def expected(self, key: tuple[str, str], prior_usd: float) -> float:
        """The cost to reserve for the next request of this (suite, model)."""
        count, total = self._observed.get(key, (0, 0.0))
        return total / count if count else prior_usd

    async def reserve(self, key: tuple[str, str], prior_usd: float) -> float | None:
        """Reserve the expected cost of a request of ``key`` (suite, model) about to be
        sent — ``prior_usd`` until one of its results has settled — and return it; None
        when it can no longer fit (nor will any later request of ``key``)."""
        async with self._changed:
            while True:
                if self._stopped or key in self._out_of_budget:
                    return None
                unobserved = key not in self._observed
                if unobserved and key in self._probing:
                    await self._changed.wait()
                    continue
                amount = self.expected(key, prior_usd)
                if self.spent_usd + self.reserved_usd + amount <= self.cap_usd:
                    self.reserved_usd += amount
                    self.in_flight += 1
                    if unobserved:
                        self._probing.add(key)
                    return amount
                if self.in_flight == 0:
                    # Nothing in flight can free room for it: this suite x model is done,
                    # but others that cost less may still fit.
                    self._out_of_budget.add(key)
                    self._changed.notify_all()
                    return None
                await self._changed.wait()

    async def settle(
        self, reserved_usd: float, actual_usd: float, key: tuple[str, str], *, billed: bool
    ) -> None:
        """A reserved request finished: its actual cost replaces the reservation. A failed
        request (``billed=False``) costs nothing and says nothing about a typical cost."""
        async with self._changed:
            self.reserved_usd = max(0.0, self.reserved_usd - reserved_usd)
            self.in_flight -= 1
            self.spent_usd += actual_usd
            self._probing.discard(key)
            if billed:
                observed = self._observed[key]
                observed[0] += 1
                observed[1] += actual_usd
            self._changed.notify_all()
