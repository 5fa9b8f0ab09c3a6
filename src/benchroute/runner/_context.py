"""The execution context: everything a tier executor may use while a run executes.

One :class:`ExecutionContext` serves one run. It owns the run's state (providers and rate
limiters per model, endpoints found broken, error counts, progress, the cost cap, the
response cache and the batching writer), and offers it to tiers as public calls:

- :meth:`~ExecutionContext.call` — send one request to a model under its RPM/TPM limits,
  timeout, retry policy (exponential backoff with full jitter, or the server's Retry-After)
  and circuit breaker, and say how long the caller waited in all (``e2e_latency_ms``);
- :meth:`~ExecutionContext.reserve` / :meth:`~ExecutionContext.settle` /
  :meth:`~ExecutionContext.charge` — spend against ``--max-cost``;
- :meth:`~ExecutionContext.cached` — the stored reply of a request, with the figures of
  the call that produced it;
- :meth:`~ExecutionContext.result` (the one result builder every tier uses) and
  :meth:`~ExecutionContext.write` — store a result, count it and any error in it;
- :meth:`~ExecutionContext.mark_broken` / :meth:`~ExecutionContext.skip` — stop sending to
  an endpoint that cannot answer, count work that was not sent.

Retries, limits and breakers come from :mod:`benchroute.resilience` (shared with the gateway).
A request's own failures (429, 5xx, timeouts) are retried by the model's
:class:`~benchroute.resilience.RetryPolicy` and, when it gives up, stored as the item's error.
A refused connection is the endpoint's failure, not the item's: it is judged by the model's
:class:`~benchroute.resilience.CircuitBreaker`, shared by every item. Three in a row open it;
items then wait (their attempts unspent) while it cools down for ``RUN_BREAKER.open_s`` and
one probe tries again; a probe that connects closes it and the run goes on. After
``RUN_GIVE_UP_OPENS`` openings with no connection in between, the run stops sending to the
endpoint (its later items are skipped, the run fails and ``--resume`` finishes it later).
A wrong key or an unknown model (``auth``, ``not_found``) is fatal for the run at once: the
tier holds the model's breaker open for the rest of the run (:meth:`mark_broken`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._errors import BenchrouteError, ConfigError
from ..config import ModelSpec, ProjectConfig, SuiteSpec
from ..providers import (
    RETRYABLE_KINDS,
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
from ..resilience import BreakerRegistry, BreakerSettings, CircuitBreaker, RetryPolicy
from ..scorers import ScoringContext
from ..store import SCORER_ERROR_KIND, Result, Store
from ._limits import RateLimiter
from ._prompting import PromptBuilder, cache_key, estimate_tokens
from ._provenance import case_hash, endpoint_id, suite_fingerprint
from ._scoring import Scoring, SuiteScorer

if TYPE_CHECKING:
    from ._budget import Budget
    from ._estimate import RequestCoster
    from ._runner import Progress, RunOptions, _CachedReplies, _Writer
    from ._tiers import Tier, WorkItem

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
# The error kinds the model's breaker judges for every item (see the module doc); the others
# are each request's own, retried by its policy.
ENDPOINT_KINDS = frozenset({"connection"})
# A refused connection or an unknown host rarely heals within a run: three in a row open the
# breaker, it probes after a second, and after three openings with no connection in between
# the run stops sending to that endpoint (it can be resumed once the endpoint is back).
RUN_BREAKER = BreakerSettings(
    window_s=30.0, min_requests=10, failure_rate=1.0, consecutive_failures=3, open_s=1.0
)
RUN_GIVE_UP_OPENS = 3
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


def retry_policy(spec: ModelSpec) -> RetryPolicy:
    """The runner's retry policy for ``spec``: ``max_retries`` after the first attempt, full
    jitter, any Retry-After honoured (a run can wait; a gateway would fail over instead)."""
    return RetryPolicy(
        max_attempts=spec.max_retries + 1,
        base_delay_s=BACKOFF_BASE_S,
        max_delay_s=BACKOFF_CAP_S,
        retry_on=RETRYABLE_KINDS - ENDPOINT_KINDS,
        max_retry_after_s=None,
    )


@dataclass
class _RunState:
    errors: list[str] = field(default_factory=list)  # distinct messages, first seen first
    error_counts: dict[str, int] = field(default_factory=dict)
    breakers: BreakerRegistry = field(default_factory=lambda: BreakerRegistry(RUN_BREAKER))
    opens_at_success: dict[str, int] = field(default_factory=dict)  # model -> breaker.opened
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
        self._policies: dict[str, RetryPolicy] = {}
        self._broken: dict[str, str] = {}  # model -> message, as mark_broken reported them
        self._extra_models: dict[str, ModelSpec] = {}
        self._builders: dict[str, PromptBuilder] = {}
        self._scorers: dict[str, SuiteScorer] = {}
        self._scoring_contexts: dict[str, ScoringContext] = {}
        self._cached: _CachedReplies | None = None
        self._fingerprints: dict[str, str] = {}  # suite name -> suite_fingerprint
        self._case_hashes: dict[tuple[str, str], str] = {}  # (suite, case id) -> case_hash

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
            self._policies[name] = retry_policy(spec)
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
        """Send ``request`` to ``model`` with the run's limits, timeout, retry policy and
        circuit breaker (see the module doc)."""
        spec = self.model(model)
        provider, limiter = self.provider(model), self._limiters[model]
        policy, breaker = self._policies[model], self._state.breakers.get(model)
        estimated = estimate_tokens(request) if limiter.tokens is not None else 0
        attempt = retries = 0  # attempts of this request's own failures; all retries
        started = time.perf_counter()
        while True:
            if breaker.held_reason is not None:  # the run stopped sending to this endpoint
                error = ProviderError(breaker.held_reason, kind="auth")
                return ModelCall(None, retries, error, (time.perf_counter() - started) * 1000)
            if not breaker.allow():  # cooling down: wait for its probe, attempts unspent
                await asyncio.sleep(breaker.retry_in() or 0.05)
                continue
            await limiter.acquire(estimated)
            try:
                async with asyncio.timeout(spec.timeout):
                    completion = await provider.complete(request)
                limiter.settle(estimated, completion.usage.total_tokens)
                breaker.record_success()
                self._state.opens_at_success[model] = breaker.opened
                return ModelCall(completion, retries, None, (time.perf_counter() - started) * 1000)
            except TimeoutError:
                error = ProviderError(
                    f"model {spec.name!r}: no reply within {spec.timeout:g} s",
                    kind="timeout",
                    hint="raise timeout: in benchroute.yaml if the model is just slow",
                )
            except ProviderError as exc:
                error = exc
            except BaseException:
                breaker.release()  # cancelled: a probe slot it held goes back
                raise
            if error.kind in ENDPOINT_KINDS:
                delay = self._endpoint_failed(model, breaker, error, retries)
            else:
                breaker.record_success()  # it answered: the endpoint is reachable
                delay = policy.delay(attempt, error)
                attempt += 1
            if delay is None:
                return ModelCall(None, retries, error, (time.perf_counter() - started) * 1000)
            retries += 1
            await asyncio.sleep(delay)

    def _endpoint_failed(
        self, model: str, breaker: CircuitBreaker, error: ProviderError, retries: int
    ) -> float | None:
        """Count a connection failure on the model's breaker; the backoff before trying
        again, or None once the run gives up on the endpoint (the breaker then stays open)."""
        breaker.record_failure(error.kind)
        opens = breaker.opened - self._state.opens_at_success.get(model, 0)
        if breaker.held_reason is not None or opens >= RUN_GIVE_UP_OPENS:
            if breaker.held_reason is None:
                breaker.hold_open(self.secrets.redact(str(error)))
            return None
        return self._policies[model].backoff(min(retries, 3))

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
        provider ``error`` keeps its own kind. ``cost_usd`` None means unknown. The result
        names its endpoint, suite fingerprint and case hash (see ``_provenance``)."""
        from ._runner import now_iso

        suite = item.suite
        fingerprint = self._fingerprints.get(suite.name)
        if fingerprint is None:
            fingerprint = self._fingerprints[suite.name] = suite_fingerprint(suite)
        content = self._case_hashes.get((suite.name, item.case.id))
        if content is None:
            content = self._case_hashes[(suite.name, item.case.id)] = case_hash(item.case)
        spec = self.find_model(item.model)
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
            endpoint_id=endpoint_id(spec) if spec is not None else None,
            suite_fingerprint=fingerprint,
            case_hash=content,
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
            result.cache_write_tokens = usage.cache_write_tokens
            result.reasoning_tokens = usage.reasoning_tokens
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
        return dict(self._broken)

    @property
    def breakers(self) -> BreakerRegistry:
        """The run's circuit breakers, one per model (see the module doc)."""
        return self._state.breakers

    # endpoints that cannot answer, work not sent ----------------------------------------
    def is_broken(self, model: str) -> bool:
        """Whether the run has stopped sending to ``model``."""
        return model in self._broken

    def mark_broken(self, model: str, error: BaseException) -> str:
        """Stop sending to ``model`` (a wrong key, an unknown model, an unreachable host):
        its breaker is held open for the rest of the run, its later items are skipped and the
        run fails with this message, recorded once. Returns the message, with keys redacted."""
        breaker = self._state.breakers.get(model)
        if breaker.held_reason is None:
            breaker.hold_open(self.secrets.redact(str(error)))
        message = breaker.held_reason or ""
        if model not in self._broken:
            self._broken[model] = message
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
