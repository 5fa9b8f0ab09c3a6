"""benchroute: benchmark LLMs the way production uses them, and route by the results.

The public API is what ``__all__`` lists; everything in a ``_module`` is private.
"""

from ._errors import BenchrouteError, ConfigError, RunError
from ._version import __version__
from .config import Case, ModelSpec, ProjectConfig, ScorerSpec, SuiteSpec, load_project, load_suite
from .providers import Completion, CompletionRequest, Message, Provider, ProviderError, Usage
from .runner import Runner, RunOptions, RunOutcome
from .scorers import Score, Scorer, scorer
from .store import Result, RunRecord, Store

__all__ = [
    "BenchrouteError",
    "Case",
    "Completion",
    "CompletionRequest",
    "ConfigError",
    "Message",
    "ModelSpec",
    "ProjectConfig",
    "Provider",
    "ProviderError",
    "Result",
    "RunError",
    "RunOptions",
    "RunOutcome",
    "RunRecord",
    "Runner",
    "Score",
    "Scorer",
    "ScorerSpec",
    "Store",
    "SuiteSpec",
    "Usage",
    "__version__",
    "load_project",
    "load_suite",
    "scorer",
]
