"""The runner: concurrent execution of cases x models x repeats with limits, retries,
caching and resume. The cost estimator loads on first use (``run --estimate``, ``--max-cost``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._limits import RateLimiter, TokenBucket
from ._prompting import PromptBuilder, cache_key, estimate_tokens
from ._runner import Progress, Runner, RunOptions, RunOutcome, plan, select_models

if TYPE_CHECKING:
    from ._estimate import EstimateLine, RunEstimate, estimate_run

__getattr__ = lazy_attributes(
    __name__, {"EstimateLine": "_estimate", "RunEstimate": "_estimate", "estimate_run": "_estimate"}
)

__all__ = [
    "EstimateLine",
    "Progress",
    "PromptBuilder",
    "RateLimiter",
    "RunEstimate",
    "RunOptions",
    "RunOutcome",
    "Runner",
    "TokenBucket",
    "cache_key",
    "estimate_run",
    "estimate_tokens",
    "plan",
    "select_models",
]
