"""The runner: concurrent execution of cases x models x repeats with limits, retries,
caching and resume."""

from ._estimate import EstimateLine, RunEstimate, estimate_run
from ._limits import RateLimiter, TokenBucket
from ._prompting import PromptBuilder, cache_key, estimate_tokens
from ._runner import Progress, Runner, RunOptions, RunOutcome, plan, select_models

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
