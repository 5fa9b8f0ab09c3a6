"""Configuration: project files (models, store), suite files (cases, prompts, scorers).

Loading reports problems as ``file:line: field: what was expected``.
"""

from ._conversation import SimulatedUser, StopCondition, Turn
from ._gate import GateSpec
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
from ._ranking import RankingLimitsSpec, RankingSpec, RankingWeightsSpec
from ._stress import (
    ConstantConcurrency,
    ConstantRate,
    LoadProfile,
    LoadSpec,
    Ramp,
    SLOSpec,
    Soak,
    Spike,
    Step,
)

__all__ = [
    "PROJECT_FILE",
    "Case",
    "ConstantConcurrency",
    "ConstantRate",
    "DatasetSpec",
    "GateSpec",
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
    "ScorerEntry",
    "ScorerGroup",
    "ScorerSpec",
    "SimulatedUser",
    "Soak",
    "Spike",
    "Step",
    "StopCondition",
    "SuiteSpec",
    "Tier",
    "Turn",
    "find_project_file",
    "load_cases",
    "load_project",
    "load_suite",
]
