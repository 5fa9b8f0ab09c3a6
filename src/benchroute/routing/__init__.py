"""Routing: task classes, policies built from stored results, the router the gateway asks
per request, canaries with sequentially tested promotion, feedback correlation and the
savings simulation (see docs/routing.md).

:func:`build_policy` turns the latest eligible runs into a :class:`~benchroute.config.PolicyDocument`;
:class:`Router` classifies a request and orders its endpoints; :class:`PolicyWatcher` is what
a gateway polls for a new policy or a drift demotion.
"""

from ._build import BuildOptions, Evidence, PolicyBuildError, build_policy, wilson
from ._canary import ArmStats, CanaryCriteria, CanaryVerdict, bucket, evaluate_canary, in_canary
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

__all__ = [
    "DEFAULT_CRITERIA",
    "SESSION_HEADER",
    "TASK_HEADER",
    "USER_HEADER",
    "ArmStats",
    "BuildOptions",
    "CanaryCriteria",
    "CanaryVerdict",
    "Decision",
    "Evidence",
    "JudgeReport",
    "PolicyBuildError",
    "PolicyError",
    "PolicyWatcher",
    "PollResult",
    "Router",
    "RoutingError",
    "activate_policy",
    "active_policy",
    "bucket",
    "build_policy",
    "canary_arms",
    "canary_criteria",
    "checked_policy",
    "diff_policies",
    "evaluate_canary",
    "in_canary",
    "is_routed",
    "judge_sample",
    "policy_problems",
    "promote_canary",
    "rollback_canary",
    "save_policy",
    "wilson",
]
