"""Configuration: project files (models, store), suite files (cases, prompts, scorers).

Loading reports problems as ``file:line: field: what was expected``.
"""

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

__all__ = [
    "PROJECT_FILE",
    "Case",
    "DatasetSpec",
    "ModelSpec",
    "PriceOverride",
    "ProjectConfig",
    "ScorerEntry",
    "ScorerGroup",
    "ScorerSpec",
    "SuiteSpec",
    "Tier",
    "find_project_file",
    "load_cases",
    "load_project",
    "load_suite",
]
