"""The scorer contract and the registry every scorer goes through.

A scorer is an async callable ``(completion, case) -> Score``. Concrete scorers are factory
functions: ``exact(ignore_case=True)`` returns the callable. Factories are registered by name
with the :func:`scorer` decorator or through the ``benchroute.scorers`` entry point group
(built-ins use the entry points, exactly as a third-party package would), and a suite names
them in YAML::

    scorers:
      - name: contains
        args: {values: [Paris], mode: any}
        weight: 2
        threshold: 1.0
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, Protocol

from .. import _entrypoints
from .._errors import ConfigError
from ..config import Case, ScorerSpec
from ..providers._types import Completion
from ._context import ScoringContext

ENTRY_POINT_GROUP = "benchroute.scorers"


@dataclass(frozen=True, slots=True)
class Score:
    """A value in [0, 1], whether it passed its threshold, and why."""

    value: float
    passed: bool
    reason: str = ""
    scorer: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scorer": self.scorer,
            "value": self.value,
            "passed": self.passed,
            "reason": self.reason,
        }
        if self.input_tokens or self.output_tokens or self.cost_usd:
            out.update(
                input_tokens=self.input_tokens,
                output_tokens=self.output_tokens,
                cost_usd=self.cost_usd,
            )
        if self.details:
            out["details"] = self.details
        return out


class Scorer(Protocol):
    """Scores one completion of one case."""

    def __call__(self, completion: Completion, case: Case) -> Awaitable[Score]: ...


ScorerFactory = Callable[..., Scorer]

_registry: dict[str, ScorerFactory] = {}


def scorer(name: str) -> Callable[[ScorerFactory], ScorerFactory]:
    """Register a scorer factory under ``name`` (usable from YAML as ``- name: <name>``)."""

    def register(factory: ScorerFactory) -> ScorerFactory:
        _registry[name] = factory
        factory.scorer_name = name  # type: ignore[attr-defined]
        return factory

    return register


def _entry_points() -> dict[str, EntryPoint]:
    """The declared scorer entry points by name (read once; nothing is imported yet)."""
    global _declared
    if _declared is None:
        _declared = _entrypoints.declared(ENTRY_POINT_GROUP)
    return _declared


def _load(name: str) -> ScorerFactory | None:
    """Import one entry point's factory on first use: a suite pays only for its own scorers
    (the PII scorer alone imports spaCy and Presidio)."""
    if name in _registry:
        return _registry[name]
    # Only the one name: listing every distribution's entry points costs more than a run
    # of a small suite spends on it otherwise.
    entry = _declared.get(name) if _declared is not None else _entrypoints.find(ENTRY_POINT_GROUP, name)
    if entry is None or name in _broken:
        return None
    try:
        factory: ScorerFactory = entry.load()
    except Exception as exc:  # a broken plugin must not break every other scorer
        _broken[name] = f"{entry.value}: {type(exc).__name__}: {exc}"
        return None
    _registry.setdefault(name, factory)
    return _registry[name]


_declared: dict[str, EntryPoint] | None = None
_broken: dict[str, str] = {}


def registered_scorers() -> dict[str, ScorerFactory]:
    """All scorer factories by name (built-ins, plugins, and decorator-registered)."""
    for name in _entry_points():
        _load(name)
    return dict(_registry)


def get_scorer_factory(name: str) -> ScorerFactory:
    factory = _load(name)
    if factory is not None:
        return factory
    if name in _broken:
        raise ConfigError(f"scorer {name!r} failed to load: {_broken[name]}")
    known = ", ".join(sorted(set(_registry) | set(_entry_points())))
    raise ConfigError(
        f"unknown scorer {name!r}",
        hint=f"known scorers: {known}; a custom scorer must be registered with "
        "@benchroute.scorer(...) in a module listed under 'imports:' in benchroute.yaml",
    )


def build_scorer(
    spec: ScorerSpec,
    where: str = "",
    base_dir: Path | None = None,
    context: ScoringContext | None = None,
) -> Scorer:
    """Instantiate the scorer a spec names, checking its arguments against the factory.

    Arguments whose name ends in ``_path`` are file paths: a relative one is resolved against
    ``base_dir`` (the suite file's folder). A factory with a ``context`` parameter gets the
    :class:`ScoringContext` (a default one, judging with the embedded model, if none is given).
    """
    factory = get_scorer_factory(spec.name)
    args = dict(spec.args)
    if "context" in args:
        raise ConfigError(f"{where}: scorer {spec.name!r}: 'context' is not an argument a suite can set")
    if "context" in inspect.signature(factory).parameters:
        args["context"] = context if context is not None else ScoringContext({})
    if base_dir is not None:
        for name, value in args.items():
            if name.endswith("_path") and isinstance(value, str) and not Path(value).is_absolute():
                args[name] = str(base_dir / value)
    if spec.threshold is not None:
        args["threshold"] = spec.threshold
    try:
        inspect.signature(factory).bind(**args)
    except TypeError as exc:
        params = ", ".join(p for p in inspect.signature(factory).parameters if not p.startswith("_"))
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}scorer {spec.name!r}: {exc}", hint=f"its arguments are: {params}"
        ) from None
    try:
        return factory(**args)
    except (ValueError, TypeError) as exc:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}scorer {spec.name!r}: {exc}") from None


def import_plugins(imports: list[str], root: Path) -> None:
    """Import the modules or ``.py`` files a project lists so their decorators run."""
    for item in imports:
        if item.endswith(".py"):
            path = Path(item)
            if not path.is_absolute():
                path = root / path
            if not path.is_file():
                raise ConfigError(f"imports: {item}: file not found (relative to {root})")
            # The path's hash keeps same-named files from different projects apart.
            digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
            module_name = f"benchroute_user_{path.stem}_{digest}"
            if module_name in sys.modules:
                continue
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ConfigError(f"imports: {item}: cannot be imported")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[module_name]
                raise ConfigError(f"imports: {item}: {type(exc).__name__}: {exc}") from None
        else:
            try:
                importlib.import_module(item)
            except ImportError as exc:
                raise ConfigError(f"imports: {item}: {exc}") from None


def threshold_passed(value: float, threshold: float) -> bool:
    return value >= threshold - 1e-12
