"""Analysis of stored results: leaderboards, cost per successful output, latency percentiles,
pass@k."""

from ._compare import (
    Comparison,
    FlippedCase,
    McNemarResult,
    MetricComparison,
    compare_results,
    mcnemar,
    paired_bootstrap_ci,
)
from ._conversation import ConversationSummary, conversation_summary, turn_latencies
from ._flaky import FlakyCase, exclude_quarantined, flaky_cases
from ._gate import GateFailure, GateReport, evaluate_gates
from ._latency import LatencyStats, latency_by_tier, latency_stats
from ._leaderboard import ModelSummary, leaderboard, percentile
from ._load import (
    LoadSummary,
    LoadWindow,
    Saturation,
    SLOCheck,
    check_slos,
    load_windows,
    saturation_point,
    summarize_load,
)
from ._passk import pass_at_k, pass_at_k_by_model
from ._ranking import RankedModel, RankingLimits, RankingWeights, pareto_frontier, rank_models

__all__ = [
    "Comparison",
    "ConversationSummary",
    "FlakyCase",
    "FlippedCase",
    "GateFailure",
    "GateReport",
    "LatencyStats",
    "LoadSummary",
    "LoadWindow",
    "McNemarResult",
    "MetricComparison",
    "ModelSummary",
    "RankedModel",
    "RankingLimits",
    "RankingWeights",
    "SLOCheck",
    "Saturation",
    "check_slos",
    "compare_results",
    "conversation_summary",
    "evaluate_gates",
    "exclude_quarantined",
    "flaky_cases",
    "latency_by_tier",
    "latency_stats",
    "leaderboard",
    "load_windows",
    "mcnemar",
    "paired_bootstrap_ci",
    "pareto_frontier",
    "pass_at_k",
    "pass_at_k_by_model",
    "percentile",
    "rank_models",
    "saturation_point",
    "summarize_load",
    "turn_latencies",
]
