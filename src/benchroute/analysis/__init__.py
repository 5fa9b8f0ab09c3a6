"""Analysis of stored results: leaderboards, cost per successful output, latency percentiles,
pass@k."""

from ._leaderboard import ModelSummary, leaderboard, percentile
from ._passk import pass_at_k, pass_at_k_by_model

__all__ = ["ModelSummary", "leaderboard", "pass_at_k", "pass_at_k_by_model", "percentile"]
