"""The unit tier: one request per case x model x repeat, its reply scored by the suite.

An item renders its request, takes the reply from the response cache when the run has one
for it (keeping the cost and latency of the call that produced it, marked cached), else
reserves budget under ``--max-cost`` and calls the model through the execution context
(limits, timeout, retries). The reply is scored and stored with its figures: tokens, the
last attempt's latency, the end-to-end latency the caller waited (retries and backoff
included), and its cost (the reply's plus the judges' while scoring; None when either is
unpriced). An endpoint that cannot answer (wrong key, unknown model, unreachable host)
stores nothing for the item: the run stops sending to it and ``--resume`` finishes later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..providers import FATAL_KINDS
from ._context import CachedReply, add_costs
from ._tiers import Tier

if TYPE_CHECKING:
    from ..config import ModelSpec
    from ..providers import CompletionRequest
    from ._context import ExecutionContext
    from ._tiers import WorkItem


class UnitTier(Tier):
    """Single requests, scored one by one (format, safety, reference answers, ...)."""

    async def build(
        self, ctx: ExecutionContext, item: WorkItem, spec: ModelSpec
    ) -> tuple[CompletionRequest, list[dict[str, Any]], dict[str, Any] | None]:
        """The item's request, the messages stored with its result, and result details
        (a subclass adds attachments here)."""
        request = ctx.prompts(item.suite).request(item.case, spec)
        return request, request.wire_messages(), None

    async def execute(self, ctx: ExecutionContext, item: WorkItem) -> None:
        spec = ctx.model(item.model)
        request, messages, details = await self.build(ctx, item, spec)
        key = ctx.cache_key(spec, request, item.repeat)
        reply = ctx.cached(key, item.model)
        cached = reply is not None
        retries = 0
        error = None
        if reply is None:
            reservation = await ctx.reserve(item)
            if reservation is None:
                ctx.skip(budget=True)
                return
            call = await ctx.call(item.model, request)
            retries, error = call.retries, call.error
            cost = ctx.cost(item.model, call.completion) if call.completion is not None else 0.0
            await ctx.settle(reservation, cost, billed=call.completion is not None)
            if error is not None and error.kind in FATAL_KINDS:
                ctx.mark_broken(item.model, error)
                ctx.skip()
                return
            if call.completion is not None:
                reply = CachedReply(call.completion, cost, call.e2e_latency_ms)
        if reply is None:
            assert error is not None
            ctx.write(ctx.result(item, messages=messages, error=error, retries=retries, details=details))
            return
        scoring = await ctx.scorer(item.suite).score(reply.completion, item.case)
        ctx.charge(scoring.cost_usd)
        result = ctx.result(
            item,
            messages=messages,
            completion=reply.completion,
            scoring=scoring,
            # Judge calls made while scoring are part of what this result cost.
            cost_usd=add_costs(reply.cost_usd, scoring.cost_usd),
            retries=retries,
            cached=cached,
            e2e_latency_ms=reply.e2e_latency_ms,
            details=details,
        )
        ctx.write(
            result,
            spent_usd=scoring.cost_usd if cached else result.cost_usd,
            cache=(key, reply) if key is not None and not cached else None,
        )
