"""Analysis of stored results: leaderboards, cost per successful output, latency percentiles."""

from ._leaderboard import ModelSummary, leaderboard, percentile

__all__ = ["ModelSummary", "leaderboard", "percentile"]
