"""Executing suites: cases x models x repeats, concurrently, within each model's limits.

A run is planned as a list of work items, snapshotted to the store (models, suites with
their resolved cases, prices), then executed by a fixed pool of worker tasks pulling from a
queue. Each item renders its request, checks the response cache, calls the provider under
the model's RPM/TPM budget with retries (exponential backoff with full jitter, or exactly
the server's Retry-After), scores the completion, and hands the result to a batching
writer that commits every ~0.5 s. Because results are keyed by (suite, case, model,
repeat) and inserted with insert-or-ignore, a resumed run plans only what is missing and
can never store a result twice.

Errors that doom every further request to an endpoint (a wrong key, an unknown model, an
unreachable host) stop that model's work at once with one message; what was already
stored stays, and ``--resume`` finishes the run once the cause is fixed.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import BenchrouteError, ConfigError
from .._version import __version__
from ..config import Case, ModelSpec, ProjectConfig, SuiteSpec
from ..providers import (
    Completion,
    CompletionRequest,
    PriceBook,
    Provider,
    ProviderContext,
    ProviderError,
    Secrets,
    create_provider,
)
from ..providers._types import FATAL_KINDS
from ..scorers import ScoringContext, import_plugins
from ..store import Result, ResultKey, RunRecord, Store
from ._limits import RateLimiter
from ._prompting import PromptBuilder, cache_key, estimate_tokens
from ._scoring import SuiteScorer

if TYPE_CHECKING:  # cost caps only: loaded when --max-cost is given
    from ._budget import Budget
    from ._estimate import RequestCoster

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
# A refused connection or an unknown host rarely heals within a run: retry it briefly, then
# stop sending to that endpoint (the run can be resumed once it is back).
CONNECTION_RETRIES = 2


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


@dataclass
class Progress:
    """What a progress display needs; updated as results arrive."""

    total: int = 0
    done: int = 0
    errors: int = 0
    skipped: int = 0  # not sent: a broken endpoint, or the cost cap
    cost_usd: float = 0.0
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


@dataclass
class _Item:
    suite: SuiteSpec
    case: Case
    model: str
    repeat: int

    @property
    def key(self) -> ResultKey:
        return (self.suite.name, self.case.id, self.model, self.repeat)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _backoff(attempt: int) -> float:
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))


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


def _models_used(
    project: ProjectConfig, suites: list[SuiteSpec], items: list[_Item], only: list[str] | None
) -> list[str]:
    """Every model a run sends to: its items' and its stress suites' (which plan no items)."""
    used = {item.model for item in items}
    for suite in suites:
        if suite.tier == "stress":
            used.update(select_models(project, suite, only))
    return sorted(used)


def plan(project: ProjectConfig, suites: list[SuiteSpec], only: list[str] | None) -> list[_Item]:
    seen: set[str] = set()
    items: list[_Item] = []
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
        if suite.tier == "stress":  # a load, not cases: run by _stress.run_stress
            continue
        for case in suite.dataset.cases or []:
            for model in models:
                for repeat in range(suite.repeats):
                    items.append(_Item(suite, case, model, repeat))
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
        self.secrets = secrets or Secrets()
        self.progress = Progress()
        self._on_progress = on_progress
        self._on_start = on_start
        self._errors: list[str] = []
        self._error_counts: dict[str, int] = {}
        self._broken: dict[str, str] = {}
        self._skipped = 0
        self._provider_context: ProviderContext | None = None
        self._providers: dict[str, Provider] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._extra_models: dict[str, ModelSpec] = {}
        self._budget: Budget | None = None
        self._coster: RequestCoster | None = None
        self._budget_skipped = 0
        self._cached = _CachedReplies(store, [])  # the stored responses of this run's items

    # public entry points ---------------------------------------------------------------
    async def run(self, suites: list[SuiteSpec]) -> RunOutcome:
        """Plan and execute a new run."""
        import_plugins(self.project.imports, self.project.root)
        items = plan(self.project, suites, self.options.models)
        used = _models_used(self.project, suites, items, self.options.models)
        specs = [self.project.models[name] for name in used]
        prices = PriceBook(specs)
        record = RunRecord(
            id=uuid.uuid4().hex[:12],
            suites=[s.name for s in suites],
            config=snapshot(self.project, suites, self.options, used),
            package_version=__version__,
            prices=prices.snapshot(),
            started_at=_now(),
        )
        self.store.create_run(record)
        return await self._execute(record, suites, items, prices, fresh=True)

    async def resume(self, run_id: str) -> RunOutcome:
        """Finish a run: execute only the items that have no stored result yet."""
        record = self.store.get_run(run_id)
        project, suites, options = restore(record.config, self.project)
        self.project = project
        self.options.models = options.get("models")
        import_plugins(project.imports, project.root)
        items = plan(project, suites, self.options.models)
        done = self.store.done_keys(record.id)
        todo = [item for item in items if item.key not in done]
        specs = [project.models[name] for name in _models_used(project, suites, items, self.options.models)]
        prices = PriceBook(specs)
        self.store.set_run_status(record.id, "running")
        self.progress.done = len(items) - len(todo)
        self.progress.total = len(items) - len(todo)
        return await self._execute(record, suites, todo, prices, fresh=False)

    # execution --------------------------------------------------------------------------
    async def _execute(
        self,
        record: RunRecord,
        suites: list[SuiteSpec],
        items: list[_Item],
        prices: PriceBook,
        *,
        fresh: bool,
    ) -> RunOutcome:
        self.progress.total += len(items)
        context = ProviderContext(secrets=self.secrets, connection_limit=self.options.concurrency)
        writer = _Writer(self.store, self.options, self.secrets.redact)
        status, error = "completed", None
        if self.options.max_cost_usd is not None:
            from ._budget import Budget
            from ._estimate import coster_for

            spent = 0.0 if fresh else sum(r.cost_usd for r in self.store.results(record.id))
            self._budget = Budget(self.options.max_cost_usd, spent)
            used = _models_used(self.project, suites, items, self.options.models)
            self._coster = coster_for(self.project, items, models=used)
        try:
            self._provider_context = context
            builders = {s.name: PromptBuilder(s) for s in suites}
            if self.options.use_cache:
                self._cached = self._cached_replies(items, builders)
            scorers = {s.name: SuiteScorer(s, self._scoring_context(s, context, prices)) for s in suites}
            for name in sorted({i.model for i in items}):
                self._provider(name)  # fail fast on a bad provider or a missing key
            if self._on_start is not None:
                self._on_start(record, self.progress)
            queue: asyncio.Queue[_Item] = asyncio.Queue()
            for item in items:
                queue.put_nowait(item)

            async def worker() -> None:
                while True:
                    try:
                        item = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    await self._process(
                        item,
                        builders[item.suite.name],
                        scorers[item.suite.name],
                        prices,
                        writer,
                        record.id,
                    )

            workers = min(self.options.concurrency, max(1, len(items)))
            # A TaskGroup cancels the other workers when one fails, so none keeps writing after
            # the run is marked finished and the shared session is closed.
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(workers):
                        group.create_task(worker())
            except BaseExceptionGroup as failures:
                # Report the first failure as itself (a ConfigError stays a one-line error).
                raise failures.exceptions[0] from None
            stress = [s for s in suites if s.tier == "stress"]
            if stress:  # load tests after the evals, on the same session, limits and store
                from ._stress import run_stress

                await run_stress(self, record.id, stress, writer, prices)
            if self._broken:
                status = "failed"
                error = "; ".join(self._broken.values())
            elif self._budget is not None and self._budget_skipped:
                status = "budget_stopped"
                error = (
                    f"stopped at the cost cap of ${self._budget.cap_usd:g}: spent "
                    f"${self._budget.spent_usd:.6f}; {self._budget_skipped} request(s) not sent "
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
            priced = {**prices.snapshot(), **record.prices}
            self.store.set_run_status(
                record.id,
                status,
                finished_at=_now(),
                error=error,
                prices=priced if priced != record.prices else None,
            )
            await context.aclose()
        # A fresh run's results are all in memory; a resumed one also has older ones stored.
        results = writer.written if fresh else self.store.results(record.id)
        return RunOutcome(record.id, status, results, self._errors, self._skipped, dict(self._error_counts))

    def _cached_replies(self, items: list[_Item], builders: dict[str, PromptBuilder]) -> _CachedReplies:
        """Which of ``items`` have a stored response, looked up in batches before the run: a
        request that has none goes straight to the model instead of querying the store first
        (which cost ~0.2 ms per request), and the stored ones are read in batches too."""
        keys: list[str] = []
        for item in items:
            if item.suite.tier == "conversation":  # each turn is a fresh request, not cached
                continue
            spec = self.project.models[item.model]
            try:
                request = builders[item.suite.name].request(item.case, spec)
            except BenchrouteError:
                continue  # the item reports this error itself when it runs
            keys.append(cache_key(spec, request, item.repeat))
        found = self.store.cached_keys(keys)
        return _CachedReplies(self.store, [key for key in keys if key in found])

    def _provider(self, name: str) -> Provider:
        if name not in self._providers:
            assert self._provider_context is not None
            self._providers[name] = create_provider(self._spec(name), self._provider_context)
            spec = self._spec(name)
            self._limiters[name] = RateLimiter(spec.rpm, spec.tpm)
        return self._providers[name]

    def _spec(self, name: str) -> ModelSpec:
        spec = self.project.models.get(name) or self._extra_models.get(name)
        if spec is None:
            raise ConfigError(f"unknown model {name!r}", hint=f"known: {', '.join(self.project.models)}")
        return spec

    def _scoring_context(
        self, suite: SuiteSpec, context: ProviderContext, prices: PriceBook
    ) -> ScoringContext:
        """Judges and embeddings for a suite's scorers, sharing the run's HTTP session,
        rate limits and retries."""
        judge = suite.judge or self.project.judge
        scoring = ScoringContext(
            self.project.models,
            providers=context,
            judge_model=judge,
            embedding_model=self.project.embedding_model,
            caller=self._call_for_scorer,
            prices=prices,
        )
        self._extra_models.update({k: v for k, v in scoring.models.items() if k not in self.project.models})
        return scoring

    async def _call_for_scorer(self, spec: ModelSpec, request: CompletionRequest) -> Completion:
        provider = self._provider(spec.name)
        completion, _, error = await self._call(provider, spec, request, self._limiters[spec.name])
        if error is not None:
            raise error
        assert completion is not None
        return completion

    async def _process(
        self,
        item: _Item,
        builder: PromptBuilder,
        scorer: SuiteScorer,
        prices: PriceBook,
        writer: _Writer,
        run_id: str,
    ) -> None:
        if item.model in self._broken:
            self._skip()
            return
        if item.suite.tier == "conversation":  # multi-turn: one Result per conversation
            from ._conversation import run_conversation

            await run_conversation(self, item, builder, scorer, prices, writer, run_id)
            return
        spec = self.project.models[item.model]
        provider, limiter = self._provider(item.model), self._limiters[item.model]
        request = builder.request(item.case, spec)
        messages = request.wire_messages()
        key = cache_key(spec, request, item.repeat) if self.options.use_cache else None
        completion: Completion | None = None
        cached = False
        if key is not None and key in self._cached:
            hit = self._cached.take(key)
            if hit is not None:
                completion, cached = Completion.model_validate(hit), True
        retries = 0
        error: ProviderError | None = None
        reserved = None
        if completion is None and self._budget is not None:
            reserved = await self._reserve(item, spec, request)
            if reserved is None:
                self._skip(budget=True)
                return
        if completion is None:
            completion, retries, error = await self._call(provider, spec, request, limiter)
        if reserved is not None:
            await self._settle(item, reserved, completion, prices)
        if error is not None and error.kind in FATAL_KINDS:
            self._mark_broken(item.model, error)
            self._skip()
            return
        result = Result(
            run_id=run_id,
            suite=item.suite.name,
            case_id=item.case.id,
            model=item.model,
            repeat=item.repeat,
            messages=messages,
            output=None,
            scores=[],
            score=0.0,
            passed=False,
            retries=retries,
            cached=cached,
            created_at=_now(),
        )
        cache_entry = None
        if completion is not None:
            scoring = await scorer.score(completion, item.case)
            result.output = completion.text
            result.scores, result.score, result.passed = scoring.scores, scoring.value, scoring.passed
            usage = completion.usage
            result.input_tokens = usage.input_tokens
            result.output_tokens = usage.output_tokens
            result.cached_input_tokens = usage.cached_input_tokens
            result.latency_ms = completion.latency_ms
            result.ttft_ms = completion.ttft_ms
            result.served_model = completion.served_model
            result.system_fingerprint = completion.system_fingerprint
            # Judge calls made while scoring are part of what this result cost.
            result.cost_usd = scoring.cost_usd
            if self._budget is not None:
                self._budget.charge(scoring.cost_usd)
            if not cached:
                result.cost_usd += prices.cost(item.model, usage, completion.latency_ms)
                if key is not None:
                    cache_entry = (
                        key,
                        item.model,
                        completion.model_dump(mode="json"),
                        result.created_at,
                    )
        else:
            assert error is not None
            result.error = str(error)
            result.error_kind = error.kind
            self.progress.errors += 1
            if result.error in self._error_counts:
                self._error_counts[result.error] += 1
            elif len(self._error_counts) < 20:  # distinct messages, each with its count
                self._error_counts[result.error] = 1
                self._errors.append(result.error)
        writer.add(result, cache_entry)
        self.progress.done += 1
        self.progress.cost_usd += result.cost_usd
        if self._on_progress is not None:
            self._on_progress(self.progress)

    def _mark_broken(self, model: str, error: BaseException) -> str:
        """Stop sending to ``model`` (a wrong key, an unknown model, an unreachable host):
        its later items are skipped and the run fails with this message, recorded once.
        Returns the message, with keys redacted."""
        message = self.secrets.redact(str(error))
        if model not in self._broken:
            self._broken[model] = message
            self._errors.append(message)
        return message

    def _skip(self, *, budget: bool = False) -> None:
        """Count an item that was not sent (its endpoint is broken, or the cost cap left no
        room) so the progress display still reaches its total."""
        if budget:
            self._budget_skipped += 1
        else:
            self._skipped += 1
        self.progress.done += 1
        self.progress.skipped += 1
        if self._on_progress is not None:
            self._on_progress(self.progress)

    async def _reserve(self, item: _Item, spec: ModelSpec, request: CompletionRequest | None) -> float | None:
        """Reserve budget for one request (``request``) or one conversation (None); None
        when the cap leaves no room for it."""
        assert self._budget is not None and self._coster is not None
        if request is None:
            prior = self._coster.expected_conversation(item, spec)
        else:
            prior = self._coster.expected(item.suite.name, spec, request)[3]
        return await self._budget.reserve((item.suite.name, item.model), prior)

    async def _settle(
        self, item: _Item, reserved: float, completion: Completion | None, prices: PriceBook
    ) -> None:
        assert self._budget is not None
        key = (item.suite.name, item.model)
        if completion is None:  # failed: nothing billed
            await self._budget.settle(reserved, 0.0, key, billed=False)
            return
        actual = prices.cost(item.model, completion.usage, completion.latency_ms)
        await self._budget.settle(reserved, actual, key, billed=True)

    async def _call(
        self, provider: Provider, spec: ModelSpec, request: Any, limiter: RateLimiter
    ) -> tuple[Completion | None, int, ProviderError | None]:
        estimated = estimate_tokens(request) if limiter.tokens is not None else 0
        attempt = 0
        while True:
            if spec.name in self._broken:
                return None, attempt, ProviderError(self._broken[spec.name], kind="auth")
            await limiter.acquire(estimated)
            try:
                async with asyncio.timeout(spec.timeout):
                    completion = await provider.complete(request)
                limiter.settle(estimated, completion.usage.total_tokens)
                return completion, attempt, None
            except TimeoutError:
                error = ProviderError(
                    f"model {spec.name!r}: no reply within {spec.timeout:g} s",
                    kind="timeout",
                    hint="raise timeout: in benchroute.yaml if the model is just slow",
                )
            except ProviderError as exc:
                error = exc
            limit = (
                min(spec.max_retries, CONNECTION_RETRIES) if error.kind == "connection" else spec.max_retries
            )
            if not error.retryable or attempt >= limit:
                return None, attempt, error
            if error.retry_after is not None:
                delay = error.retry_after * random.uniform(1.0, 1.1)
            else:
                delay = _backoff(attempt)
            attempt += 1
            await asyncio.sleep(delay)


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
        "options": {"models": options.models, "concurrency": options.concurrency},
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
