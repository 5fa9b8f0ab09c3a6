"""Configuration: project files (models, store), suite files (cases, prompts, scorers).

Loading reports problems as ``file:line: field: what was expected``.
"""

from ._conversation import GOAL_PHRASE, SimulatedUser, StopCondition, Turn, is_conversation
from ._drift import DriftSpec
from ._gate import GateSpec
from ._gateway import GatewayBreakerSpec, GatewayListenSpec, GatewaySpec
from ._load import PROJECT_FILE, find_project_file, load_cases, load_project, load_suite
from ._models import (
    Case,
    DatasetSpec,
    ModelSpec,
    PriceOverride,
    ProjectConfig,
    ScorerEntry,
    ScorerGroup,
    ScorerSpec,
    SuiteSpec,
    Tier,
)
from ._monitor import AlertsSpec, ScheduleSpec, WatchSpec, WebhookSpec
from ._ranking import RankingLimitsSpec, RankingSpec, RankingWeightsSpec
from ._stress import (
    ConstantConcurrency,
    ConstantRate,
    LoadProfile,
    LoadSpec,
    Ramp,
    Segment,
    SLOSpec,
    Soak,
    Spike,
    Step,
)
from ._tiers import TierRules, find_tier, register_tier, tier_names

__all__ = [
    "GOAL_PHRASE",
    "PROJECT_FILE",
    "AlertsSpec",
    "Case",
    "ConstantConcurrency",
    "ConstantRate",
    "DatasetSpec",
    "DriftSpec",
    "GateSpec",
    "GatewayBreakerSpec",
    "GatewayListenSpec",
    "GatewaySpec",
    "LoadProfile",
    "LoadSpec",
    "ModelSpec",
    "PriceOverride",
    "ProjectConfig",
    "Ramp",
    "RankingLimitsSpec",
    "RankingSpec",
    "RankingWeightsSpec",
    "SLOSpec",
    "ScheduleSpec",
    "ScorerEntry",
    "ScorerGroup",
    "ScorerSpec",
    "Segment",
    "SimulatedUser",
    "Soak",
    "Spike",
    "Step",
    "StopCondition",
    "SuiteSpec",
    "Tier",
    "TierRules",
    "Turn",
    "WatchSpec",
    "WebhookSpec",
    "find_project_file",
    "find_tier",
    "is_conversation",
    "load_cases",
    "load_project",
    "load_suite",
    "register_tier",
    "tier_names",
]
