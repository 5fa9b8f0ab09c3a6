"""The runner: concurrent execution of cases x models x repeats with limits, retries,
caching and resume. The cost estimator loads on first use (``run --estimate``, ``--max-cost``).

Tiers are found by registry name (the ``benchroute.tiers`` entry points): a tier subclasses
:class:`Tier` and writes one async ``execute(ctx, item)`` against the public
:class:`ExecutionContext`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._context import CachedReply, ExecutionContext, ModelCall, Reservation, add_costs
from ._limits import RateLimiter, TokenBucket
from ._prompting import PromptBuilder, cache_key, estimate_tokens
from ._provenance import TRIGGERS, case_hash, detect_branch, detect_git_sha, suite_fingerprint
from ._runner import Progress, Runner, RunOptions, RunOutcome, plan, select_models
from ._scoring import Scoring, SuiteScorer
from ._tiers import ItemEstimate, Tier, TierExecutor, WorkItem, tier_for

if TYPE_CHECKING:
    from ._estimate import EstimateLine, RunEstimate, estimate_run

__getattr__ = lazy_attributes(
    __name__, {"EstimateLine": "_estimate", "RunEstimate": "_estimate", "estimate_run": "_estimate"}
)

__all__ = [
    "TRIGGERS",
    "CachedReply",
    "EstimateLine",
    "ExecutionContext",
    "ItemEstimate",
    "ModelCall",
    "Progress",
    "PromptBuilder",
    "RateLimiter",
    "Reservation",
    "RunEstimate",
    "RunOptions",
    "RunOutcome",
    "Runner",
    "Scoring",
    "SuiteScorer",
    "Tier",
    "TierExecutor",
    "TokenBucket",
    "WorkItem",
    "add_costs",
    "cache_key",
    "case_hash",
    "detect_branch",
    "detect_git_sha",
    "estimate_run",
    "estimate_tokens",
    "plan",
    "select_models",
    "suite_fingerprint",
    "tier_for",
]
