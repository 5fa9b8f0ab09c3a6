"""Executing suites: their work items x models x repeats, concurrently, within each model's limits.

A run is planned as a list of work items — each suite's tier plans its own (by default every
case x model x repeat; a load test one item per model) — snapshotted to the store (models,
suites with their resolved cases, prices), then executed. Before the run is recorded, every
suite's prompts, scorers and tier state and every model's provider are built, so a
configuration error (an unknown scorer, a missing extra, a missing key) stops the run
before it exists and before any request is sent. Items of concurrent tiers are pulled from
one queue by a fixed pool of worker tasks; the others (load tests) run one at a time after
the pool. Each item is executed by its tier through the public
:class:`~benchroute.runner.ExecutionContext` (calls with limits and retries, the response
cache, the cost cap, the one result builder) and its result handed to a batching writer
that commits every ~0.5 s. Because results are keyed by (suite, case, model, repeat) and
inserted with insert-or-ignore, a resumed run plans only what is missing and can never
store a result twice.

Errors that doom every further request to an endpoint (a wrong key, an unknown model, an
unreachable host) stop that model's work at once with one message; what was already
stored stays, and ``--resume`` finishes the run once the cause is fixed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import BenchrouteError, ConfigError
from .._version import __version__
from ..config import ModelSpec, ProjectConfig, SuiteSpec
from ..providers import PriceBook, ProviderContext, Secrets
from ..scorers import import_plugins
from ..store import Result, RunRecord, Store
from ._context import ExecutionContext
from ._provenance import TRIGGERS, detect_branch, detect_git_sha, host_name
from ._tiers import Tier, WorkItem, tier_for

if TYPE_CHECKING:  # cost caps only: loaded when --max-cost is given
    from ._budget import Budget
    from ._estimate import RequestCoster


@dataclass
class RunOptions:
    """How to execute a run."""

    concurrency: int = 8
    use_cache: bool = True
    models: list[str] | None = None
    flush_interval_s: float = 0.5
    flush_batch: int = 256
    # Stop sending requests before the run's cost (a resumed run's earlier results included)
    # would pass this many USD; the run then ends "budget_stopped".
    max_cost_usd: float | None = None
    # Why the run happened: manual | ci | schedule | version-change. Every trigger but
    # manual measures the endpoint as it is now, so it never uses the response cache.
    trigger: str = "manual"
    # The branch being built (default: the CI's variable, else the project's git checkout).
    branch: str | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(
                f"concurrency {self.concurrency}: a run needs at least one worker", hint="-j 1 or more"
            )


@dataclass
class Progress:
    """What a progress display needs; updated as results arrive."""

    total: int = 0
    done: int = 0
    errors: int = 0
    skipped: int = 0  # not sent: a broken endpoint, or the cost cap
    cost_usd: float = 0.0  # of the results whose cost is known
    unpriced: int = 0  # results whose cost is unknown: never shown as $0
    started: float = field(default_factory=time.monotonic)


@dataclass
class RunOutcome:
    run_id: str
    status: str  # completed, failed, interrupted, budget_stopped
    results: list[Result]
    errors: list[str]  # distinct messages, first seen first
    skipped: int = 0
    error_counts: dict[str, int] = field(default_factory=dict)  # message -> how many results

    def __repr__(self) -> str:
        # Short: asyncio formats the finished main task, result included, when it restores
        # the SIGINT handler (twice per run); listing every result there cost ~8 ms a time.
        return (
            f"RunOutcome(run_id={self.run_id!r}, status={self.status!r}, "
            f"results=<{len(self.results)}>, errors=<{len(self.errors)}>, skipped={self.skipped})"
        )


class _CachedReplies:
    """The stored responses of a run's cache hits (their keys in plan order), read from the
    store in batches as the run reaches them: one query per batch instead of one per
    request, and no more than about a batch of replies held in memory at a time."""

    BATCH = 256

    def __init__(self, store: Store, keys: list[str]) -> None:
        self._store = store
        self._keys = keys
        self._position = {key: i for i, key in enumerate(keys)}
        self._loaded: dict[str, dict[str, Any]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._position

    def take(self, key: str) -> dict[str, Any] | None:
        """The stored response for ``key`` (loading it and the next hits of the plan)."""
        if key not in self._loaded:
            start = self._position.get(key)
            if start is None:
                return None
            batch = [k for k in self._keys[start : start + self.BATCH] if k not in self._loaded]
            self._loaded.update(self._store.cache_get_many(batch))
        return self._loaded.pop(key, None)


def now_iso() -> str:
    """The current UTC time as stored in results and runs (milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def select_models(project: ProjectConfig, suite: SuiteSpec, only: list[str] | None) -> list[str]:
    """The models a suite runs on: its own list (or all project models), narrowed by ``only``."""
    names = suite.models if suite.models is not None else list(project.models)
    for name in [*names, *(only or [])]:
        if name not in project.models:
            known = ", ".join(project.models) or "none (no benchroute.yaml found?)"
            raise ConfigError(
                f"{suite.source or suite.name}: unknown model {name!r}",
                hint=f"models defined in benchroute.yaml: {known}",
            )
    if only:
        names = [n for n in names if n in only]
    return names


def tiers_of(suites: list[SuiteSpec]) -> dict[str, Tier]:
    """A fresh executor of each tier the suites use, by tier name (one per run)."""
    return {suite.tier: tier_for(suite.tier) for suite in suites}


def plan(
    project: ProjectConfig,
    suites: list[SuiteSpec],
    only: list[str] | None,
    tiers: dict[str, Tier] | None = None,
) -> list[WorkItem]:
    """Every work item of a run, suite by suite, as each suite's tier plans it."""
    tiers = tiers if tiers is not None else tiers_of(suites)
    seen: set[str] = set()
    items: list[WorkItem] = []
    for suite in suites:
        if suite.name in seen:
            raise ConfigError(f"two suites are named {suite.name!r}; suite names must be unique")
        seen.add(suite.name)
        models = select_models(project, suite, only)
        for name in (suite.gate.models or []) if suite.gate else []:
            if name not in project.models:
                raise ConfigError(
                    f"{suite.source or suite.name}: gate.models: unknown model {name!r}",
                    hint=f"models defined in benchroute.yaml: {', '.join(project.models)}",
                )
        items.extend(tiers[suite.tier].plan(suite, models))
    return items


def _redact_json(value: Any, redact: Callable[[str], str]) -> Any:
    """``value`` (JSON-like) with ``redact`` applied to every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_json(item, redact) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_json(item, redact) for item in value]
    return value


class _Writer:
    """Batches results and commits them; flushes on a timer and at the end."""

    def __init__(self, store: Store, options: RunOptions, redact: Callable[[str], str]) -> None:
        self._store = store
        self._options = options
        self._redact = redact
        self._pending: list[Result] = []
        self.written: list[Result] = []
        self._cache: list[tuple[str, str, dict[str, Any], str]] = []
        self._last_flush = time.monotonic()

    def add(self, result: Result, cache_entry: tuple[str, str, dict[str, Any], str] | None) -> None:
        # One boundary for every text that reaches the store from a provider or a scorer.
        if result.error:
            result.error = self._redact(result.error)
        for score in result.scores:
            if score.get("reason"):
                score["reason"] = self._redact(str(score["reason"]))
        if result.details is not None:  # transcripts repeat the turns' score reasons
            result.details = _redact_json(result.details, self._redact)
        self._pending.append(result)
        if cache_entry is not None:
            self._cache.append(cache_entry)
        if (
            len(self._pending) >= self._options.flush_batch
            or time.monotonic() - self._last_flush >= self._options.flush_interval_s
        ):
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if self._cache:
            entries, self._cache = self._cache, []
            self._store.cache_put(entries)
        if self._pending:
            batch, self._pending = self._pending, []
            self._store.add_results(batch)
            self.written.extend(batch)


class Runner:
    """Runs suites against models and stores the results."""

    def __init__(
        self,
        project: ProjectConfig,
        store: Store,
        options: RunOptions | None = None,
        *,
        secrets: Secrets | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_start: Callable[[RunRecord, Progress], None] | None = None,
    ) -> None:
        self.project = project
        self.store = store
        self.options = options or RunOptions()
        if self.options.trigger not in TRIGGERS:
            raise ConfigError(
                f"unknown run trigger {self.options.trigger!r}",
                hint=f"one of: {', '.join(TRIGGERS)}",
            )
        if self.options.trigger != "manual":
            self.options.use_cache = False  # a triggered run measures the endpoint as it is now
        self.secrets = secrets or Secrets()
        self.progress = Progress()
        self._on_progress = on_progress
        self._on_start = on_start

    # public entry points ---------------------------------------------------------------
    async def run(self, suites: list[SuiteSpec]) -> RunOutcome:
        """Plan and execute a new run."""
        import_plugins(self.project.imports, self.project.root)
        tiers = tiers_of(suites)
        items = plan(self.project, suites, self.options.models, tiers)
        used = sorted({item.model for item in items})
        prices = PriceBook([self.project.models[name] for name in used])
        run_id = uuid.uuid4().hex[:12]
        # Everything that can be wrong in the configuration fails here, before the run exists.
        prepared = await self._prepare(run_id, suites, items, used, prices, tiers, spent_usd=0.0)
        record = RunRecord(
            id=run_id,
            suites=[s.name for s in suites],
            config=snapshot(self.project, suites, self.options, used),
            package_version=__version__,
            prices=prices.snapshot(),
            started_at=now_iso(),
            trigger=self.options.trigger,
            git_sha=detect_git_sha(self.project.root),
            branch=detect_branch(self.project.root, self.options.branch),
            host=host_name(),
        )
        try:
            self.store.create_run(record)
        except BaseException:
            await prepared.providers.aclose()
            raise
        return await self._execute(prepared, record, items, fresh=True)

    async def resume(self, run_id: str) -> RunOutcome:
        """Finish a run: execute only the items that have no stored result yet, with the
        original run's models and cache setting (a resume asked not to use the cache does
        not)."""
        record = self.store.get_run(run_id)
        project, suites, options = restore(record.config, self.project)
        self.project = project
        self.options.models = options.get("models")
        if "use_cache" in options:
            self.options.use_cache = self.options.use_cache and bool(options["use_cache"])
        import_plugins(project.imports, project.root)
        tiers = tiers_of(suites)
        items = plan(project, suites, self.options.models, tiers)
        done = self.store.done_keys(record.id)
        todo = [item for item in items if item.key not in done]
        used = sorted({item.model for item in items})
        prices = PriceBook([project.models[name] for name in used])
        spent = 0.0
        if self.options.max_cost_usd is not None:
            # What the run already spent: replies from the cache were paid for by another run.
            spent = sum(r.cost_usd or 0.0 for r in self.store.results(record.id) if not r.cached)
        prepared = await self._prepare(record.id, suites, todo, used, prices, tiers, spent_usd=spent)
        try:
            self.store.set_run_status(record.id, "running")
        except BaseException:
            await prepared.providers.aclose()
            raise
        self.progress.done = len(items) - len(todo)
        self.progress.total = len(items) - len(todo)
        return await self._execute(prepared, record, todo, fresh=False)

    # preparation ------------------------------------------------------------------------
    async def _prepare(
        self,
        run_id: str,
        suites: list[SuiteSpec],
        items: list[WorkItem],
        used: list[str],
        prices: PriceBook,
        tiers: dict[str, Tier],
        *,
        spent_usd: float,
    ) -> _Prepared:
        """The run's execution context with every suite's prompts, scorers and tier state
        and every model's provider built (a bad provider or a missing key fails here)."""
        budget: Budget | None = None
        coster: RequestCoster | None = None
        if self.options.max_cost_usd is not None:
            from ._budget import Budget
            from ._estimate import coster_for

            coster = coster_for(self.project, items, models=used)
            _check_priced(coster.prices, used)
            budget = Budget(self.options.max_cost_usd, spent_usd)
        providers = ProviderContext(secrets=self.secrets, connection_limit=self.options.concurrency)
        writer = _Writer(self.store, self.options, self.secrets.redact)
        ctx = ExecutionContext(
            run_id=run_id,
            project=self.project,
            store=self.store,
            options=self.options,
            secrets=self.secrets,
            prices=prices,
            progress=self.progress,
            providers=providers,
            writer=writer,
            tiers=tiers,
            on_progress=self._on_progress,
            budget=budget,
            coster=coster,
        )
        try:
            for suite in suites:
                ctx.prompts(suite)
                ctx.scorer(suite)
                ctx.tier(suite).prepare(ctx, suite)
            if coster is not None:
                # The judges are known once the scorers are built: a cap must price them too,
                # or what they spend would be counted as $0.
                _check_priced(coster.prices, used, judges=_judges(ctx, suites))
            for name in used:
                ctx.provider(name)
        except BaseException:
            await providers.aclose()
            raise
        return _Prepared(ctx, providers, writer)

    # execution --------------------------------------------------------------------------
    async def _execute(
        self, prepared: _Prepared, record: RunRecord, items: list[WorkItem], *, fresh: bool
    ) -> RunOutcome:
        ctx, writer = prepared.ctx, prepared.writer
        self.progress.total += len(items)
        status, error = "completed", None
        try:
            if self.options.use_cache:
                ctx.prefetch_cache(items)
            if self._on_start is not None:
                self._on_start(record, self.progress)
            pooled = [item for item in items if ctx.tier(item.suite).concurrent]
            queue: asyncio.Queue[WorkItem] = asyncio.Queue()
            for item in pooled:
                queue.put_nowait(item)

            async def worker() -> None:
                while True:
                    try:
                        item = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    await _run_item(ctx, item)

            workers = min(self.options.concurrency, max(1, len(pooled)))
            # A TaskGroup cancels the other workers when one fails, so none keeps writing after
            # the run is marked finished and the shared session is closed.
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(workers):
                        group.create_task(worker())
            except BaseExceptionGroup as failures:
                # Report the first failure as itself (a ConfigError stays a one-line error).
                raise failures.exceptions[0] from None
            if not queue.empty():
                # The workers return only on an empty queue: work left means they were
                # cancelled (Ctrl-C) and the cancellation did not reach this task. Never
                # record such a run as completed.
                raise asyncio.CancelledError("the run's workers stopped with work left")
            # Then the tiers measured alone (load tests), on the same session, limits and store.
            for item in items:
                if not ctx.tier(item.suite).concurrent:
                    await _run_item(ctx, item)
            budget = ctx.budget
            if ctx.broken:
                status = "failed"
                error = "; ".join(ctx.broken.values())
            elif budget is not None and ctx.budget_skipped:
                status = "budget_stopped"
                error = (
                    f"stopped at the cost cap of ${budget.cap_usd:g}: spent "
                    f"${budget.spent_usd:.6f}; {ctx.budget_skipped} request(s) not sent "
                    "(resume with a higher --max-cost)"
                )
        except (asyncio.CancelledError, KeyboardInterrupt):
            status, error = "interrupted", "interrupted by the user"
            raise
        except BenchrouteError as exc:
            status, error = "failed", self.secrets.redact(str(exc))
            raise
        except BaseException as exc:  # a bug or a store failure: never record it as completed
            status, error = "failed", self.secrets.redact(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            writer.flush()
            # Judges and simulators priced while scoring join the stored snapshot (entries
            # already stored, e.g. by the run a resume continues, are kept as they were).
            priced = {**ctx.prices.snapshot(), **record.prices}
            self.store.set_run_status(
                record.id,
                status,
                finished_at=now_iso(),
                error=error,
                prices=priced if priced != record.prices else None,
            )
            await prepared.providers.aclose()
        # A fresh run's results are all in memory; a resumed one also has older ones stored.
        results = writer.written if fresh else self.store.results(record.id)
        return RunOutcome(record.id, status, results, ctx.errors, ctx.skipped, ctx.error_counts)


@dataclass(slots=True)
class _Prepared:
    ctx: ExecutionContext
    providers: ProviderContext
    writer: _Writer


async def _run_item(ctx: ExecutionContext, item: WorkItem) -> None:
    if ctx.is_broken(item.model):  # its endpoint cannot answer: nothing is sent
        ctx.skip()
        return
    await ctx.tier(item.suite).execute(ctx, item)


def _judges(ctx: ExecutionContext, suites: list[SuiteSpec]) -> list[ModelSpec]:
    """The judge models the suites' (built) scorers will ask."""
    specs: dict[str, ModelSpec] = {}
    for suite in suites:
        context = ctx.scoring_context(suite)
        for name in sorted(context.judges):
            specs.setdefault(name, context.models[name])
    return list(specs.values())


def _check_priced(prices: PriceBook, models: list[str], judges: Sequence[ModelSpec] = ()) -> None:
    """``--max-cost`` needs a price for every model it sends to (the simulated users' and,
    once the scorers are built, the judges' included): a cap cannot hold spending it
    cannot count."""
    for spec in judges:
        prices.ensure(spec)
    unpriced = list(dict.fromkeys(n for n in [*models, *prices.snapshot()] if not prices.is_priced(n)))
    if unpriced:
        judged = {spec.name for spec in judges}
        names = ", ".join(f"{name} (judge)" if name in judged else name for name in unpriced)
        leave_out = (
            "or judge with a priced model (judge: in benchroute.yaml or the suite)"
            if judged.issuperset(unpriced)
            else "or leave it out of the run with -m"
        )
        raise ConfigError(
            f"--max-cost: no price for {names}: a cost cap cannot limit what it cannot price",
            hint="set prices: (input_per_mtok, output_per_mtok) or compute_usd_per_hour: for it in "
            f"benchroute.yaml, {leave_out}",
        )


def snapshot(
    project: ProjectConfig, suites: list[SuiteSpec], options: RunOptions, used: list[str]
) -> dict[str, Any]:
    """Everything needed to rerun or resume: models (never keys), suites with their cases."""
    return {
        "project_root": str(project.root),
        "imports": project.imports,
        "judge": project.judge,
        "embedding_model": project.embedding_model,
        "models": {name: spec.model_dump(mode="json") for name, spec in project.models.items()},
        "run_models": used,
        "suites": [s.model_dump(mode="json") for s in suites],
        "options": {
            "models": options.models,
            "concurrency": options.concurrency,
            "use_cache": options.use_cache,
        },
    }


def restore(
    config: dict[str, Any], current: ProjectConfig
) -> tuple[ProjectConfig, list[SuiteSpec], dict[str, Any]]:
    """Rebuild a run's project and suites from its snapshot."""
    project = ProjectConfig.model_validate(
        {
            "models": config["models"],
            "imports": config.get("imports", []),
            "judge": config.get("judge"),
            "embedding_model": config.get("embedding_model"),
            "store": current.store,
            "root": Path(config.get("project_root", current.root)),
        }
    )
    suites = [SuiteSpec.model_validate(s) for s in config["suites"]]
    return project, suites, config.get("options", {})
