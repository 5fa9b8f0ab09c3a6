"""Analysis of stored results: leaderboards, cost per successful output, latency percentiles,
pass@k, sequential canary comparison.

Names are imported on first use: every command loads this package, few need all of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._changepoint import ChangePoint, SeriesValue, find_change_point
    from ._compare import (
        NO_DIFFERENCE,
        Comparison,
        FlippedCase,
        McNemarResult,
        MetricComparison,
        compare_results,
        mcnemar,
        paired_bootstrap_ci,
    )
    from ._conversation import ConversationSummary, conversation_summary, is_conversation, turn_latencies
    from ._drift import (
        DriftFinding,
        DriftReport,
        Outcome,
        RunOutcomes,
        VersionChange,
        detect_drift,
    )
    from ._drift_sim import SimulatedHistory, first_alarm, history_inputs, simulate_history
    from ._drift_stats import benjamini_hochberg
    from ._drift_store import drift_for_suite
    from ._flaky import FlakyCase, exclude_quarantined, flaky_cases
    from ._gate import GateFailure, GateReport, evaluate_gates
    from ._generalisation import (
        ALL_KINDS,
        GapReport,
        GapRow,
        generalisation_gap,
        perturbation_links,
        perturbation_of,
    )
    from ._judging import judge_notes
    from ._latency import LatencyStats, latency_by_tier, latency_stats
    from ._leaderboard import ModelSummary, leaderboard, percentile, waited_ms
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
    from ._ranking import (
        RankedModel,
        RankingLimits,
        RankingWeights,
        desirability,
        pareto_frontier,
        rank_models,
    )
    from ._sequential import SequentialResult, SummaryStats, rate_above_p_value, sequential_compare

_LAZY = {
    "ChangePoint": "_changepoint",
    "SeriesValue": "_changepoint",
    "find_change_point": "_changepoint",
    "DriftFinding": "_drift",
    "DriftReport": "_drift",
    "Outcome": "_drift",
    "RunOutcomes": "_drift",
    "VersionChange": "_drift",
    "benjamini_hochberg": "_drift_stats",
    "detect_drift": "_drift",
    "SimulatedHistory": "_drift_sim",
    "first_alarm": "_drift_sim",
    "history_inputs": "_drift_sim",
    "simulate_history": "_drift_sim",
    "drift_for_suite": "_drift_store",
    "Comparison": "_compare",
    "FlippedCase": "_compare",
    "McNemarResult": "_compare",
    "MetricComparison": "_compare",
    "NO_DIFFERENCE": "_compare",
    "compare_results": "_compare",
    "mcnemar": "_compare",
    "paired_bootstrap_ci": "_compare",
    "ConversationSummary": "_conversation",
    "conversation_summary": "_conversation",
    "is_conversation": "_conversation",
    "turn_latencies": "_conversation",
    "FlakyCase": "_flaky",
    "exclude_quarantined": "_flaky",
    "flaky_cases": "_flaky",
    "GateFailure": "_gate",
    "GateReport": "_gate",
    "evaluate_gates": "_gate",
    "ALL_KINDS": "_generalisation",
    "GapReport": "_generalisation",
    "GapRow": "_generalisation",
    "generalisation_gap": "_generalisation",
    "perturbation_links": "_generalisation",
    "perturbation_of": "_generalisation",
    "judge_notes": "_judging",
    "LatencyStats": "_latency",
    "latency_by_tier": "_latency",
    "latency_stats": "_latency",
    "ModelSummary": "_leaderboard",
    "leaderboard": "_leaderboard",
    "percentile": "_leaderboard",
    "waited_ms": "_leaderboard",
    "LoadSummary": "_load",
    "LoadWindow": "_load",
    "Saturation": "_load",
    "SLOCheck": "_load",
    "check_slos": "_load",
    "load_windows": "_load",
    "saturation_point": "_load",
    "summarize_load": "_load",
    "pass_at_k": "_passk",
    "pass_at_k_by_model": "_passk",
    "RankedModel": "_ranking",
    "RankingLimits": "_ranking",
    "RankingWeights": "_ranking",
    "pareto_frontier": "_ranking",
    "desirability": "_ranking",
    "rank_models": "_ranking",
    "SequentialResult": "_sequential",
    "SummaryStats": "_sequential",
    "rate_above_p_value": "_sequential",
    "sequential_compare": "_sequential",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "ALL_KINDS",
    "NO_DIFFERENCE",
    "ChangePoint",
    "Comparison",
    "ConversationSummary",
    "DriftFinding",
    "DriftReport",
    "FlakyCase",
    "FlippedCase",
    "GapReport",
    "GapRow",
    "GateFailure",
    "GateReport",
    "LatencyStats",
    "LoadSummary",
    "LoadWindow",
    "McNemarResult",
    "MetricComparison",
    "ModelSummary",
    "Outcome",
    "RankedModel",
    "RankingLimits",
    "RankingWeights",
    "RunOutcomes",
    "SLOCheck",
    "Saturation",
    "SequentialResult",
    "SeriesValue",
    "SimulatedHistory",
    "SummaryStats",
    "VersionChange",
    "benjamini_hochberg",
    "check_slos",
    "compare_results",
    "conversation_summary",
    "desirability",
    "detect_drift",
    "drift_for_suite",
    "evaluate_gates",
    "exclude_quarantined",
    "find_change_point",
    "first_alarm",
    "flaky_cases",
    "generalisation_gap",
    "history_inputs",
    "is_conversation",
    "judge_notes",
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
    "perturbation_links",
    "perturbation_of",
    "rank_models",
    "rate_above_p_value",
    "saturation_point",
    "sequential_compare",
    "simulate_history",
    "summarize_load",
    "turn_latencies",
    "waited_ms",
]
