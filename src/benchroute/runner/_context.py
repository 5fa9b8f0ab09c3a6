"""The execution context: everything a tier executor may use while a run executes.

One :class:`ExecutionContext` serves one run. It owns the run's state (providers and rate
limiters per model, endpoints found broken, error counts, progress, the cost cap, the
response cache and the batching writer), and offers it to tiers as public calls:

- :meth:`~ExecutionContext.call` — send one request to a model under its RPM/TPM limits,
  timeout and retries (exponential backoff with full jitter, or the server's Retry-After),
  and say how long the caller waited in all (``e2e_latency_ms``);
- :meth:`~ExecutionContext.reserve` / :meth:`~ExecutionContext.settle` /
  :meth:`~ExecutionContext.charge` — spend against ``--max-cost``;
- :meth:`~ExecutionContext.cached` — the stored reply of a request, with the figures of
  the call that produced it;
- :meth:`~ExecutionContext.result` (the one result builder every tier uses) and
  :meth:`~ExecutionContext.write` — store a result, count it and any error in it;
- :meth:`~ExecutionContext.mark_broken` / :meth:`~ExecutionContext.skip` — stop sending to
  an endpoint that cannot answer, count work that was not sent.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._errors import BenchrouteError, ConfigError
from ..config import ModelSpec, ProjectConfig, SuiteSpec
from ..providers import (
    Completion,
    CompletionRequest,
    PriceBook,
    Provider,
    ProviderContext,
    ProviderError,
    Secrets,
    Usage,
    create_provider,
)
from ..scorers import ScoringContext
from ..store import SCORER_ERROR_KIND, Result, Store
from ._limits import RateLimiter
from ._prompting import PromptBuilder, cache_key, estimate_tokens
from ._scoring import Scoring, SuiteScorer

if TYPE_CHECKING:
    from ._budget import Budget
    from ._estimate import RequestCoster
    from ._runner import Progress, RunOptions, _CachedReplies, _Writer
    from ._tiers import Tier, WorkItem

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
# A refused connection or an unknown host rarely heals within a run: retry it briefly, then
# stop sending to that endpoint (the run can be resumed once it is back).
CONNECTION_RETRIES = 2
# The key of a cache entry's figures from the call that produced it (beside the completion).
_ORIGIN = "origin"
# How many distinct error messages a run keeps (each with its count).
_DISTINCT_ERRORS = 20


@dataclass(frozen=True, slots=True)
class ModelCall:
    """The outcome of :meth:`ExecutionContext.call`: the completion or the error, the
    retries it took, and what the caller waited in all (first rate-limiter wait to final
    reply: retries, backoff sleeps and queueing included), in milliseconds."""

    completion: Completion | None
    retries: int
    error: ProviderError | None
    e2e_latency_ms: float


@dataclass(frozen=True, slots=True)
class CachedReply:
    """A stored reply and the figures of the call that produced it (a cache entry written
    before those were stored has its cost recomputed at the run's prices and no e2e)."""

    completion: Completion
    cost_usd: float | None
    e2e_latency_ms: float | None


@dataclass(frozen=True, slots=True)
class Reservation:
    """Budget held for one work item while it runs (see :meth:`ExecutionContext.reserve`)."""

    key: tuple[str, str]
    usd: float


def add_costs(*parts: float | None) -> float | None:
    """The sum of costs, None (unknown) when any part is unknown: an unpriced call must
    not make a result look cheaper than it was."""
    total = 0.0
    for part in parts:
        if part is None:
            return None
        total += part
    return total


def _backoff(attempt: int) -> float:
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))


@dataclass
class _RunState:
    errors: list[str] = field(default_factory=list)  # distinct messages, first seen first
    error_counts: dict[str, int] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # model -> message
    skipped: int = 0
    budget_skipped: int = 0


class ExecutionContext:
    """The public surface a tier executor runs its items through (see module doc)."""

    def __init__(
        self,
        *,
        run_id: str,
        project: ProjectConfig,
        store: Store,
        options: RunOptions,
        secrets: Secrets,
        prices: PriceBook,
        progress: Progress,
        providers: ProviderContext,
        writer: _Writer,
        tiers: dict[str, Tier],
        on_progress: Callable[[Progress], None] | None = None,
        budget: Budget | None = None,
        coster: RequestCoster | None = None,
    ) -> None:
        self.run_id = run_id
        self.project = project
        self.store = store
        self.options = options
        self.prices = prices
        self.progress = progress
        self.budget = budget
        self.coster = coster
        self.secrets = secrets
        self._provider_context = providers
        self._writer = writer
        self._tiers = tiers
        self._on_progress = on_progress
        self._state = _RunState()
        self._providers: dict[str, Provider] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._extra_models: dict[str, ModelSpec] = {}
        self._builders: dict[str, PromptBuilder] = {}
        self._scorers: dict[str, SuiteScorer] = {}
        self._scoring_contexts: dict[str, ScoringContext] = {}
        self._cached: _CachedReplies | None = None

    # models, prompts, scorers -----------------------------------------------------------
    def model(self, name: str) -> ModelSpec:
        """The spec of a project model, or of a helper model added to the run (a judge, a
        simulated user)."""
        spec = self.find_model(name)
        if spec is None:
            raise ConfigError(f"unknown model {name!r}", hint=f"known: {', '.join(self.project.models)}")
        return spec

    def find_model(self, name: str) -> ModelSpec | None:
        """Like :meth:`model`, None when there is no such model."""
        return self.project.models.get(name) or self._extra_models.get(name)

    def add_model(self, spec: ModelSpec) -> None:
        """Make a helper model (not in benchroute.yaml) callable in this run."""
        if spec.name not in self.project.models:
            self._extra_models.setdefault(spec.name, spec)
            self.prices.ensure(spec)

    def provider(self, name: str) -> Provider:
        """The provider of model ``name`` (built on first use, on the run's HTTP session)."""
        provider = self._providers.get(name)
        if provider is None:
            spec = self.model(name)
            provider = self._providers[name] = create_provider(spec, self._provider_context)
            self._limiters[name] = RateLimiter(spec.rpm, spec.tpm)
        return provider

    def limiter(self, name: str) -> RateLimiter:
        """The RPM/TPM limiter of model ``name``, shared by every request to it in this run."""
        self.provider(name)
        return self._limiters[name]

    async def ensure_connections(self, count: int) -> None:
        """Let the run's HTTP session hold at least ``count`` connections per host."""
        await self._provider_context.ensure_connections(count)

    def prompts(self, suite: SuiteSpec) -> PromptBuilder:
        """The suite's prompt builder (templates compiled once per run)."""
        builder = self._builders.get(suite.name)
        if builder is None:
            builder = self._builders[suite.name] = PromptBuilder(suite)
        return builder

    def scoring_context(self, suite: SuiteSpec) -> ScoringContext:
        """Judges and embeddings for a suite's scorers, sharing the run's HTTP session, rate
        limits, retries and price book."""
        context = self._scoring_contexts.get(suite.name)
        if context is None:
            context = ScoringContext(
                self.project.models,
                providers=self._provider_context,
                judge_model=suite.judge or self.project.judge,
                embedding_model=self.project.embedding_model,
                caller=self._call_for_scorer,
                prices=self.prices,
            )
            for name, spec in context.models.items():
                if name not in self.project.models:
                    self._extra_models.setdefault(name, spec)
            self._scoring_contexts[suite.name] = context
        return context

    def scorer(self, suite: SuiteSpec) -> SuiteScorer:
        """The suite's scorers, built once per run (before the run is recorded)."""
        scorer = self._scorers.get(suite.name)
        if scorer is None:
            scorer = self._scorers[suite.name] = SuiteScorer(suite, self.scoring_context(suite))
        return scorer

    def tier(self, suite: SuiteSpec) -> Tier:
        """The executor of the suite's tier in this run."""
        return self._tiers[suite.tier]

    async def _call_for_scorer(self, spec: ModelSpec, request: CompletionRequest) -> Completion:
        self.add_model(spec)
        call = await self.call(spec.name, request)
        if call.error is not None:
            raise call.error
        assert call.completion is not None
        return call.completion

    # calling a model --------------------------------------------------------------------
    async def call(self, model: str, request: CompletionRequest) -> ModelCall:
        """Send ``request`` to ``model`` with the run's limits, timeout and retries."""
        spec = self.model(model)
        provider, limiter = self.provider(model), self._limiters[model]
        estimated = estimate_tokens(request) if limiter.tokens is not None else 0
        attempt = 0
        started = time.perf_counter()
        while True:
            broken = self._state.broken.get(model)
            if broken is not None:
                error = ProviderError(broken, kind="auth")
                return ModelCall(None, attempt, error, (time.perf_counter() - started) * 1000)
            await limiter.acquire(estimated)
            try:
                async with asyncio.timeout(spec.timeout):
                    completion = await provider.complete(request)
                limiter.settle(estimated, completion.usage.total_tokens)
                return ModelCall(completion, attempt, None, (time.perf_counter() - started) * 1000)
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
                return ModelCall(None, attempt, error, (time.perf_counter() - started) * 1000)
            if error.retry_after is not None:
                delay = error.retry_after * random.uniform(1.0, 1.1)
            else:
                delay = _backoff(attempt)
            attempt += 1
            await asyncio.sleep(delay)

    def cost(self, model: str, completion: Completion) -> float | None:
        """What one reply of ``model`` cost at the run's prices (None: unpriced)."""
        return self.prices.cost(model, completion.usage, completion.latency_ms)

    # the response cache -----------------------------------------------------------------
    def cache_key(self, spec: ModelSpec, request: CompletionRequest, repeat: int) -> str | None:
        """The cache key of a request, None when this run does not use the cache."""
        return cache_key(spec, request, repeat) if self.options.use_cache else None

    def cached(self, key: str | None, model: str) -> CachedReply | None:
        """The stored reply for ``key`` (found before the run started), if any."""
        if key is None or self._cached is None or key not in self._cached:
            return None
        hit = self._cached.take(key)
        if hit is None:
            return None
        origin = hit.pop(_ORIGIN, None)
        completion = Completion.model_validate(hit)
        if isinstance(origin, dict):
            cost = origin.get("cost_usd")
            e2e = origin.get("e2e_latency_ms")
            return CachedReply(
                completion,
                float(cost) if isinstance(cost, int | float) else None,
                float(e2e) if isinstance(e2e, int | float) else None,
            )
        # An entry from before the original figures were stored: the same usage at this
        # run's prices is the best figure left.
        return CachedReply(completion, self.cost(model, completion), None)

    def prefetch_cache(self, items: list[WorkItem]) -> None:
        """Find which of ``items`` have a stored response, in batches, before the run: a
        request that has none goes straight to the model instead of querying the store
        first (which cost ~0.2 ms per request), and the stored ones are read in batches
        too. Each item's tier says which request of it the cache may answer."""
        from ._runner import _CachedReplies

        keys: list[str] = []
        for item in items:
            spec = self.model(item.model)
            try:
                request = self.tier(item.suite).cache_request(self.prompts(item.suite), item, spec)
            except BenchrouteError:
                continue  # the item reports this error itself when it runs
            if request is not None:
                keys.append(cache_key(spec, request, item.repeat))
        found = self.store.cached_keys(keys)
        self._cached = _CachedReplies(self.store, [key for key in keys if key in found])

    # the cost cap -----------------------------------------------------------------------
    async def reserve(self, item: WorkItem) -> Reservation | None:
        """Under ``--max-cost``, hold the expected cost of ``item`` (its tier's estimate
        until one of its suite x model has settled) before sending it; None when the cap
        leaves no room for it (the caller then :meth:`skip` s it with ``budget=True``).
        Without a cap, a free reservation."""
        key = (item.suite.name, item.model)
        if self.budget is None or self.coster is None:
            return Reservation(key, 0.0)
        tier = self.tier(item.suite)
        expected = tier.estimate(self.coster, self.prompts(item.suite), item, self.model(item.model))
        amount = await self.budget.reserve(key, expected.cost_usd or 0.0)
        return None if amount is None else Reservation(key, amount)

    async def settle(self, reservation: Reservation, actual_usd: float | None, *, billed: bool) -> None:
        """The item finished: what it cost replaces its reservation. ``billed=False``: it
        failed, and says nothing about what a typical one costs."""
        if self.budget is not None:
            await self.budget.settle(reservation.usd, actual_usd or 0.0, reservation.key, billed=billed)

    def charge(self, usd: float | None) -> None:
        """Count spending that no reservation covered (judge calls while scoring)."""
        if self.budget is not None and usd:
            self.budget.charge(usd)

    # results ----------------------------------------------------------------------------
    def result(
        self,
        item: WorkItem,
        *,
        messages: list[dict[str, Any]],
        completion: Completion | None = None,
        scoring: Scoring | None = None,
        error: ProviderError | str | None = None,
        error_kind: str | None = None,
        cost_usd: float | None = 0.0,
        usage: Usage | None = None,
        retries: int = 0,
        cached: bool = False,
        e2e_latency_ms: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> Result:
        """The one result builder of every tier. ``completion`` gives the output, usage and
        latency (``usage`` overrides its usage, or stands alone for a reply-less load);
        ``scoring`` the scores; a scorer that failed makes it an error of kind
        ``SCORER_ERROR_KIND`` (no score, not passed; the other scorers' scores are kept); a
        provider ``error`` keeps its own kind. ``cost_usd`` None means unknown."""
        from ._runner import now_iso

        result = Result(
            run_id=self.run_id,
            suite=item.suite.name,
            case_id=item.case.id,
            model=item.model,
            repeat=item.repeat,
            messages=messages,
            output=None,
            scores=[],
            score=0.0,
            passed=False,
            cost_usd=cost_usd,
            retries=retries,
            cached=cached,
            created_at=now_iso(),
            details=details,
        )
        if completion is not None:
            result.output = completion.text
            result.latency_ms = completion.latency_ms
            result.e2e_latency_ms = e2e_latency_ms
            result.ttft_ms = completion.ttft_ms
            result.served_model = completion.served_model
            result.system_fingerprint = completion.system_fingerprint
            usage = usage or completion.usage
        if usage is not None:
            result.input_tokens = usage.input_tokens
            result.output_tokens = usage.output_tokens
            result.cached_input_tokens = usage.cached_input_tokens
        if scoring is not None:
            result.scores, result.score, result.passed = scoring.scores, scoring.value, scoring.passed
            if scoring.errors:
                result.error = "; ".join(scoring.errors)
                result.error_kind = SCORER_ERROR_KIND
                result.score, result.passed = None, False
        if error is not None:
            result.error = str(error)
            result.error_kind = error.kind if isinstance(error, ProviderError) else error_kind
            result.passed = False
        return result

    def write(
        self,
        result: Result,
        *,
        spent_usd: float | None = None,
        cache: tuple[str, CachedReply] | None = None,
    ) -> None:
        """Store ``result`` (batched), count it as done and its error, if any. ``spent_usd``
        is what it cost this run (default: its cost; a cached reply's original cost was not
        spent again); ``cache`` a (key, reply) for the response cache."""
        entry = None
        if cache is not None:
            key, reply = cache
            stored = reply.completion.model_dump(mode="json")
            stored[_ORIGIN] = {"cost_usd": reply.cost_usd, "e2e_latency_ms": reply.e2e_latency_ms}
            entry = (key, result.model, stored, result.created_at)
        self._writer.add(result, entry)
        if result.error:
            self.record_error(result.error)
        progress = self.progress
        progress.done += 1
        spent = result.cost_usd if spent_usd is None else spent_usd
        if spent is None:
            progress.unpriced += 1
        else:
            progress.cost_usd += spent
        if self._on_progress is not None:
            self._on_progress(progress)

    def record_error(self, message: str) -> None:
        """Count one error (the run keeps the first distinct messages, each with its count)."""
        state = self._state
        self.progress.errors += 1
        if message in state.error_counts:
            state.error_counts[message] += 1
        elif len(state.error_counts) < _DISTINCT_ERRORS:
            state.error_counts[message] = 1
            if message not in state.errors:
                state.errors.append(message)

    @property
    def errors(self) -> list[str]:
        """The run's distinct error messages, first seen first."""
        return list(self._state.errors)

    @property
    def error_counts(self) -> dict[str, int]:
        """How many results carry each distinct error message."""
        return dict(self._state.error_counts)

    @property
    def skipped(self) -> int:
        """Items not sent because their endpoint could not answer."""
        return self._state.skipped

    @property
    def budget_skipped(self) -> int:
        """Items not sent because the cost cap left no room for them."""
        return self._state.budget_skipped

    @property
    def broken(self) -> dict[str, str]:
        """The models the run stopped sending to, with the reason."""
        return dict(self._state.broken)

    # endpoints that cannot answer, work not sent ----------------------------------------
    def is_broken(self, model: str) -> bool:
        """Whether the run has stopped sending to ``model``."""
        return model in self._state.broken

    def mark_broken(self, model: str, error: BaseException) -> str:
        """Stop sending to ``model`` (a wrong key, an unknown model, an unreachable host):
        its later items are skipped and the run fails with this message, recorded once.
        Returns the message, with keys redacted."""
        message = self.secrets.redact(str(error))
        if model not in self._state.broken:
            self._state.broken[model] = message
            self._state.errors.append(message)
        return message

    def skip(self, *, budget: bool = False) -> None:
        """Count an item that was not sent (its endpoint is broken, or the cost cap left no
        room) so the progress display still reaches its total."""
        if budget:
            self._state.budget_skipped += 1
        else:
            self._state.skipped += 1
        self.progress.done += 1
        self.progress.skipped += 1
        if self._on_progress is not None:
            self._on_progress(self.progress)
