"""Tier executors: how the work of one tier is planned, executed, cached and estimated.

A tier is one class registered under the ``benchroute.tiers`` entry point group (see
:mod:`benchroute.config._tiers`; the built-ins ``unit``, ``code``, ``conversation`` and
``stress`` are registered the same way a plugin's tier is). The class subclasses
:class:`Tier`, which adds to the suite rules of :class:`~benchroute.config.TierRules` the
one method a tier must write,

    async def execute(self, ctx: ExecutionContext, item: WorkItem) -> None

which runs one work item through the public :class:`~benchroute.runner.ExecutionContext`
(call a model with the run's limits and retries, reserve and settle budget, build and write
the result, record an error, skip), and hooks with defaults for everything else: how a
suite's work is planned (cases x models x repeats; a stress suite plans one item per
model), whether its items share the run's worker pool or run one at a time after it, which
request of an item the response cache may answer, what an item is expected to cost.

The runner never asks which tier a suite is: it looks the class up by name
(:func:`tier_for`) and calls these hooks, so a new tier is a new module and an entry point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from .._errors import ConfigError
from ..config import Case, SuiteSpec, TierRules, find_tier
from ..store import ResultKey

if TYPE_CHECKING:
    from ..config import ModelSpec
    from ..providers import CompletionRequest
    from ._context import ExecutionContext
    from ._estimate import RequestCoster
    from ._prompting import PromptBuilder


@dataclass(slots=True)
class WorkItem:
    """One unit of a run's work: a case of a suite for one model and one repeat (for a load
    test, the whole load against one model). Its key is the stored result's."""

    suite: SuiteSpec
    case: Case
    model: str
    repeat: int

    @property
    def key(self) -> ResultKey:
        return (self.suite.name, self.case.id, self.model, self.repeat)


@dataclass(frozen=True, slots=True)
class ItemEstimate:
    """What one work item is expected to send and cost (``run --estimate``, ``--max-cost``).

    ``cost_usd`` is None when a model it calls is unpriced. ``cache_key`` is set when the
    item is one request the response cache may answer (it then costs nothing)."""

    requests: float
    input_tokens: float
    output_tokens: float
    seconds: float
    cost_usd: float | None
    method: str
    cache_key: str | None = None


@runtime_checkable
class TierExecutor(Protocol):
    """The one method a tier must provide: run one work item to its stored result."""

    async def execute(self, ctx: ExecutionContext, item: WorkItem) -> None: ...


class Tier(TierRules):
    """Base class of a tier: suite rules and execution hooks with defaults; subclasses
    write :meth:`execute`. One instance serves one run (it may keep per-run state)."""

    #: Items share the run's pool of worker tasks with other suites' items. False: they run
    #: one at a time after the pool is done (a load test is measured alone).
    concurrent: ClassVar[bool] = True

    def plan(self, suite: SuiteSpec, models: list[str]) -> list[WorkItem]:
        """The suite's work for its models: by default every case x model x repeat."""
        return [
            WorkItem(suite, case, model, repeat)
            for case in suite.dataset.cases or []
            for model in models
            for repeat in range(suite.repeats)
        ]

    def prepare(self, ctx: ExecutionContext, suite: SuiteSpec) -> None:
        """Build what the suite's items need (scorers, helper models) before the run is
        recorded, so a configuration error stops the run before it exists. By default
        nothing beyond the suite scorer the context builds for every suite."""

    def cache_request(
        self, builder: PromptBuilder, item: WorkItem, spec: ModelSpec
    ) -> CompletionRequest | None:
        """The request whose reply the response cache may serve for ``item``; None when the
        item is never answered from the cache. By default its one rendered request."""
        return builder.request(item.case, spec)

    def estimate(
        self, coster: RequestCoster, builder: PromptBuilder, item: WorkItem, spec: ModelSpec
    ) -> ItemEstimate:
        """What ``item`` is expected to cost, sending nothing. By default one request."""
        from ._prompting import cache_key

        request = builder.request(item.case, spec)
        tokens_in, tokens_out, seconds, cost, method = coster.expected(item.suite.name, spec, request)
        key = cache_key(spec, request, item.repeat) if self.cache_request(builder, item, spec) else None
        return ItemEstimate(1, tokens_in, tokens_out, seconds or 0.0, cost, method, key)

    async def execute(self, ctx: ExecutionContext, item: WorkItem) -> None:
        """Run ``item``: write its result through ``ctx`` (or skip it)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement execute()")


def tier_for(name: str) -> Tier:
    """A new executor of the tier registered as ``name`` (one per run)."""
    found = find_tier(name)
    if not issubclass(found, Tier):
        raise ConfigError(
            f"tier {name!r}: {found.__module__}.{found.__qualname__} declares suite rules but no executor",
            hint="a tier class subclasses benchroute.runner.Tier",
        )
    return found()
