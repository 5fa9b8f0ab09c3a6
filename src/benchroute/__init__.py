"""benchroute: benchmark LLMs the way production uses them, and route by the results.

The public API is what ``__all__`` lists; everything in a ``_module`` is private. Names are
imported on first use so that ``import benchroute`` (and every CLI command) pays only for
the parts it touches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import BenchrouteError, ConfigError, RunError
from ._lazy import lazy_attributes
from ._version import __version__

if TYPE_CHECKING:
    from .config import Case, ModelSpec, ProjectConfig, ScorerSpec, SuiteSpec, load_project, load_suite
    from .providers import Completion, CompletionRequest, Message, Provider, ProviderError, Usage
    from .runner import Runner, RunOptions, RunOutcome
    from .scorers import Score, Scorer, scorer
    from .store import Result, RunRecord, Store

_LAZY = {
    "Case": "config",
    "ModelSpec": "config",
    "ProjectConfig": "config",
    "ScorerSpec": "config",
    "SuiteSpec": "config",
    "load_project": "config",
    "load_suite": "config",
    "Completion": "providers",
    "CompletionRequest": "providers",
    "Message": "providers",
    "Provider": "providers",
    "ProviderError": "providers",
    "Usage": "providers",
    "Runner": "runner",
    "RunOptions": "runner",
    "RunOutcome": "runner",
    "Score": "scorers",
    "Scorer": "scorers",
    "scorer": "scorers",
    "Result": "store",
    "RunRecord": "store",
    "Store": "store",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


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
