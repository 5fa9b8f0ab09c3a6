"""Routing: task classes, policies built from stored results, the router the gateway asks
per request, canaries with sequentially tested promotion, feedback correlation and the
savings simulation (see docs/routing.md).

:func:`build_policy` turns the latest eligible runs into a :class:`~benchroute.config.PolicyDocument`;
:class:`Router` classifies a request and orders its endpoints; :class:`PolicyWatcher` is what
a gateway polls for a new policy or a drift demotion.
"""

from ._build import BuildOptions, Evidence, PolicyBuildError, build_policy, wilson
from ._canary import ArmStats, CanaryCriteria, CanaryVerdict, bucket, evaluate_canary, in_canary
from ._correlate import (
    Agreement,
    BenchmarkScore,
    ClassCorrelation,
    CorrelationError,
    CorrelationReport,
    EndpointOutcome,
    Outcome,
    benchmark_scores,
    correlate_feedback,
    feedback_outcome,
    load_feedback,
    rank_agreement,
)
from ._judge import DEFAULT_CRITERIA, JudgeReport, judge_sample
from ._policy import PolicyError, checked_policy, diff_policies, policy_problems
from ._router import (
    SESSION_HEADER,
    TASK_HEADER,
    USER_HEADER,
    Decision,
    Router,
    RoutingError,
    is_routed,
)
from ._service import (
    PolicyWatcher,
    PollResult,
    activate_policy,
    active_policy,
    canary_arms,
    canary_criteria,
    promote_canary,
    rollback_canary,
    save_policy,
)
from ._simulate import (
    Price,
    ReplayInputs,
    ReplayRequest,
    SavingsReport,
    SavingsRow,
    SideFigures,
    SimulationError,
    default_baseline,
    load_replay,
    policy_models,
    simulate_savings,
)

__all__ = [
    "DEFAULT_CRITERIA",
    "SESSION_HEADER",
    "TASK_HEADER",
    "USER_HEADER",
    "Agreement",
    "ArmStats",
    "BenchmarkScore",
    "BuildOptions",
    "CanaryCriteria",
    "CanaryVerdict",
    "ClassCorrelation",
    "CorrelationError",
    "CorrelationReport",
    "Decision",
    "EndpointOutcome",
    "Evidence",
    "JudgeReport",
    "Outcome",
    "PolicyBuildError",
    "PolicyError",
    "PolicyWatcher",
    "PollResult",
    "Price",
    "ReplayInputs",
    "ReplayRequest",
    "Router",
    "RoutingError",
    "SavingsReport",
    "SavingsRow",
    "SideFigures",
    "SimulationError",
    "activate_policy",
    "active_policy",
    "benchmark_scores",
    "bucket",
    "build_policy",
    "canary_arms",
    "canary_criteria",
    "checked_policy",
    "correlate_feedback",
    "default_baseline",
    "diff_policies",
    "evaluate_canary",
    "feedback_outcome",
    "in_canary",
    "is_routed",
    "judge_sample",
    "load_feedback",
    "load_replay",
    "policy_models",
    "policy_problems",
    "promote_canary",
    "rank_agreement",
    "rollback_canary",
    "save_policy",
    "simulate_savings",
    "wilson",
]
