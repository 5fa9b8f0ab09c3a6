"""The stress tier: load profiles against models, measured per request.

A stress suite's load runs against each of its models in turn (one at a time, so one
model's load does not take the generator's CPU from another's measurement), after the
run's other suites, on the run's HTTP session, rate limiters and store.

Open-loop profiles are turned into a timetable of arrival times before the first request
(:func:`arrival_times`). One scheduler task walks it: it sleeps until the next arrival is
due and then starts every request that is due, each as its own task, whether or not
earlier requests have been answered. A slow server therefore cannot slow the offered load
down (the flaw of closed-loop generators, "coordinated omission"); if more than
``max_in_flight`` requests are already waiting, an arrival is recorded as ``dropped``
instead of being queued. ``constant_concurrency`` is the closed loop: N workers, each
sending its next request when the previous one is answered.

The hot path is kept lean so that the generator is not what a load test measures: the
requests are built once and sent by the load path's own HTTP/1.1 client (see
``providers._loadpath``), the per-request timeout is one timer handle (:class:`_Deadline`,
not :func:`asyncio.timeout`), nothing is logged per request, each request appends one
tuple to a list, and a background thread writes those samples to the store about once a
second. ``benchroute run`` runs on uvloop when it is installed (``benchroute._eventloop``).
Retries are off unless the suite asks, so 429s are measured rather than hidden; the
model's rpm/tpm apply unless ``respect_limits`` is false.

Every load is bounded: by the profile's duration and request count, and at the end by
the request timeout for replies still in flight (those are recorded as timeouts). When
the run is interrupted, requests in flight are abandoned, and what was measured is stored
and analysed as usual, so an interrupted load test still has its samples and its summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import random
import time
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..config import Case, LoadSpec, ModelSpec, SuiteSpec
from ..providers import (
    FATAL_KINDS,
    CompletionRequest,
    LoadSender,
    PriceBook,
    ProviderError,
    Usage,
    UsageTally,
    close_load_sender,
    prepare_load_sender,
)
from ..scorers import LoadSummary, check_slos, summarize_load
from ..store import LOAD_CASE_ID, LoadSample, Result
from ._estimate import stress_requests
from ._limits import RateLimiter
from ._prompting import estimate_tokens
from ._scoring import Scoring
from ._tiers import ItemEstimate, Tier, WorkItem

if TYPE_CHECKING:
    from ..config import Segment
    from ._context import ExecutionContext
    from ._estimate import RequestCoster
    from ._prompting import PromptBuilder
# Requests due within this much of now start together: the event loop cannot sleep for less
# than about a millisecond anyway.
_DUE_SLACK_S = 0.0005
_FLUSH_INTERVAL_S = 1.0
# After an interrupt, how long requests in flight get to finish before they are abandoned.
_INTERRUPT_GRACE_S = 0.2
_BACKOFF_BASE_S = 0.25


def arrival_times(
    segments: list[Segment], max_requests: int, *, poisson: bool = False, seed: int = 0
) -> array[float]:
    """Arrival times (seconds from the start) for a piecewise-linear rate.

    Uniform arrivals put request k where the expected number of arrivals reaches k, so they
    are evenly spaced at a constant rate and follow a ramp exactly; Poisson arrivals put
    them at the points of a unit-rate Poisson process mapped through the same curve.
    """
    rng = random.Random(seed)
    times: array[float] = array("d")
    target = rng.expovariate(1.0) if poisson else 0.0
    cumulative = offset = 0.0
    for duration, start_rps, end_rps in segments:
        slope = (end_rps - start_rps) / duration
        total = start_rps * duration + slope * duration * duration / 2
        while len(times) < max_requests and target < cumulative + total:
            m = target - cumulative
            # Solve start*t + slope*t^2/2 = m in the form that is stable for any slope sign.
            root = math.sqrt(max(start_rps * start_rps + 2 * slope * m, 0.0))
            denominator = start_rps + root
            times.append(offset + (2 * m / denominator if denominator > 0 else 0.0))
            target += rng.expovariate(1.0) if poisson else 1.0
        cumulative += total
        offset += duration
    return times


class _Deadline:
    """The request timeout: what :func:`asyncio.timeout` does, for a fraction of its CPU (it
    is paid per request). At ``when`` the task is cancelled; :meth:`expired` tells, after a
    :class:`asyncio.CancelledError`, whether that cancellation was this deadline's alone (it
    is then taken back and the caller records a timeout) or also someone else's (an
    interrupt, the end of the load), which must propagate."""

    __slots__ = ("_fired", "_handle")

    def __init__(self, task: asyncio.Task[Any], when: float) -> None:
        self._fired = False
        self._handle = task.get_loop().call_at(when, self._fire, task)

    def _fire(self, task: asyncio.Task[Any]) -> None:
        self._fired = True
        task.cancel()

    def cancel(self) -> None:
        self._handle.cancel()

    def expired(self, task: asyncio.Task[Any]) -> bool:
        self._handle.cancel()
        return self._fired and task.uncancel() == 0


class _Load:
    """One load: one stress suite against one model."""

    def __init__(
        self,
        suite: SuiteSpec,
        model: str,
        sender: LoadSender,
        limiter: RateLimiter | None,
        estimated_tokens: int,
        timeout_s: float,
        flush: Callable[[list[LoadSample]], object],
    ) -> None:
        assert suite.load is not None
        self.spec: LoadSpec = suite.load
        self.suite = suite.name
        self.model = model
        self._sender = sender
        self._limiter = limiter
        self._estimated = estimated_tokens
        self._timeout = timeout_s
        self._flush_sync = flush
        self.samples: list[LoadSample] = []
        self._flushed = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._started = 0.0
        self._clock = time.monotonic
        self._any_ok = False
        self._closing = False  # past the end: a cancelled request counts as a timeout
        self.fatal: ProviderError | None = None

    # the run ------------------------------------------------------------------------------
    async def run(self) -> None:
        profile = self.spec.profile
        times: array[float] = array("d")
        if profile.open_loop:  # the whole timetable before the clock starts
            times = arrival_times(
                profile.segments(),
                profile.max_requests,
                poisson=self.spec.arrivals == "poisson",
                seed=self.spec.seed,
            )
        loop = asyncio.get_running_loop()
        self._clock = loop.time
        self._started = loop.time()
        flusher = asyncio.create_task(self._flush_periodically())
        # Tens of thousands of short-lived request tasks a second would trigger the cyclic
        # garbage collector many times a second, each pass a pause in the schedule. The load's
        # own objects are freed by reference counting; collect once afterwards instead.
        gc_was_enabled = gc.isenabled()
        gc.freeze()
        gc.disable()
        try:
            if profile.open_loop:
                await self._open_loop(times)
            else:
                await self._closed_loop(getattr(profile, "concurrency", 1))
            await self._drain()
        finally:
            if gc_was_enabled:
                gc.enable()
            gc.unfreeze()
            await self._stop(flusher)

    async def _open_loop(self, times: array[float]) -> None:
        clock, started = self._clock, self._started
        limit = self.spec.max_in_flight
        tasks = self._tasks
        create_task = asyncio.get_running_loop().create_task
        count, index = len(times), 0
        while index < count and self.fatal is None:
            now = clock() - started
            due = times[index]
            if due > now + _DUE_SLACK_S:
                await asyncio.sleep(due - now)
                continue
            horizon = now + _DUE_SLACK_S
            while index < count and times[index] <= horizon:
                if self._in_flight >= limit:
                    self.samples.append(
                        LoadSample(
                            self.suite, self.model, index, times[index], None, None, None, "dropped", None, 0
                        )
                    )
                else:
                    self._in_flight += 1  # counted at launch, so a burst cannot overshoot
                    task = create_task(self._request(index, times[index]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                index += 1

    async def _closed_loop(self, concurrency: int) -> None:
        profile = self.spec.profile
        clock, started = self._clock, self._started
        next_seq = 0

        async def user() -> None:
            nonlocal next_seq
            while self.fatal is None:
                now = clock() - started
                if next_seq >= profile.max_requests or now >= profile.duration_s:
                    return
                seq, next_seq = next_seq, next_seq + 1
                self._in_flight += 1
                await self._request(seq, now)

        users = [asyncio.create_task(user()) for _ in range(concurrency)]
        self._tasks.update(users)
        try:
            await asyncio.gather(*users)
        finally:
            self._tasks.difference_update(users)

    async def _drain(self) -> None:
        """Give replies still in flight up to the request timeout, then cut them off."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._timeout + 0.5)
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=1.0)

    async def _stop(self, flusher: asyncio.Task[None]) -> None:
        """Abandon what is in flight (after an interrupt), stop the flusher, store the rest."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=_INTERRUPT_GRACE_S)
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        self._write_pending()

    # one request --------------------------------------------------------------------------
    async def _request(self, seq: int, scheduled: float) -> None:
        """Send request ``seq`` (the caller has counted it in flight) and record its sample."""
        clock, started = self._clock, self._started
        spec = self.spec
        retries = 0
        sent: float | None = None
        task = asyncio.current_task()
        assert task is not None
        try:
            while True:
                if self._limiter is not None:
                    await self._limiter.acquire(self._estimated)
                begun = clock()
                if sent is None:
                    sent = begun - started
                deadline = _Deadline(task, begun + self._timeout)
                try:
                    ttft = await self._sender.send(seq)
                except asyncio.CancelledError:
                    if not deadline.expired(task):
                        raise
                    error = ProviderError("timed out", kind="timeout")
                except ProviderError as exc:
                    deadline.cancel()
                    error = exc
                else:
                    deadline.cancel()
                    latency = (clock() - started - sent) * 1000
                    self._any_ok = True
                    self.samples.append(
                        LoadSample(
                            self.suite, self.model, seq, scheduled, sent, latency, ttft, "ok", None, retries
                        )
                    )
                    return
                if error.kind in FATAL_KINDS and not self._any_ok and self.fatal is None:
                    # The endpoint never answered: stop the load instead of measuring a wall.
                    self.fatal = error
                if error.retryable and retries < spec.retries and self.fatal is None:
                    retries += 1
                    delay = error.retry_after
                    if delay is None:
                        delay = random.uniform(0, _BACKOFF_BASE_S * 2**retries)
                    await asyncio.sleep(delay)
                    continue
                outcome = (
                    "rate_limited"
                    if error.kind == "rate_limited"
                    else "timeout"
                    if error.kind == "timeout"
                    else "error"
                )
                latency = (clock() - started - sent) * 1000
                self.samples.append(
                    LoadSample(
                        self.suite,
                        self.model,
                        seq,
                        scheduled,
                        sent,
                        latency,
                        None,
                        outcome,
                        error.kind,
                        retries,
                    )
                )
                return
        except asyncio.CancelledError:
            if self._closing:  # cut off at the end of the load: it did not answer in time
                cut_ms = None if sent is None else (clock() - started - sent) * 1000
                self.samples.append(
                    LoadSample(
                        self.suite,
                        self.model,
                        seq,
                        scheduled,
                        sent,
                        cut_ms,
                        None,
                        "timeout",
                        "timeout",
                        retries,
                    )
                )
            raise
        finally:
            self._in_flight -= 1

    # storing ------------------------------------------------------------------------------
    def _take_pending(self) -> list[LoadSample]:
        pending = self.samples[self._flushed :]
        self._flushed += len(pending)
        return pending

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(_FLUSH_INTERVAL_S)
            pending = self._take_pending()
            if pending:
                # SQLite releases the GIL while it works; the scheduler keeps its timing.
                await asyncio.to_thread(self._flush_sync, pending)

    def _write_pending(self) -> None:
        pending = self._take_pending()
        if pending:
            self._flush_sync(pending)


def _summary(load: _Load, samples: list[LoadSample]) -> LoadSummary:
    spec = load.spec
    return summarize_load(
        samples,
        suite=load.suite,
        model=load.model,
        window_s=spec.window_s,
        latency_budget_ms=spec.latency_budget_ms,
        error_limit=spec.error_limit,
        sustain_windows=spec.sustain_windows,
        duration_s=_span(load, samples),
    )


def _span(load: _Load, samples: list[LoadSample]) -> float:
    """The profile's duration, or less when it ended early (max_requests, interrupt)."""
    last = max((s.scheduled_s for s in samples), default=0.0)
    duration = load.spec.profile.duration_s
    return duration if last >= duration - load.spec.window_s else max(last, 1e-3)


def _round(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


def load_result(
    ctx: ExecutionContext,
    item: WorkItem,
    load: _Load,
    summary: LoadSummary,
    slo: dict[str, float],
    error: str | None,
) -> Result:
    """The one stored result of a (stress suite, model): its SLO checks as scores, its
    figures and per-window series as details."""
    checks = check_slos(summary, slo)
    scores: list[dict[str, Any]] = [
        {
            "scorer": f"slo:{check.name}",
            "value": 1.0 if check.passed else 0.0,
            "passed": check.passed,
            "reason": check.reason,
        }
        for check in checks
    ]
    passed = all(check.passed for check in checks) and error is None
    figures = {k: _round(v) for k, v in summary.figures().items() if k != "saturation"}
    saturation = summary.saturation
    details: dict[str, Any] = {
        "load": figures,
        "saturation": None
        if saturation is None
        else {
            "offered_rps": round(saturation.offered_rps, 3),
            "at_s": round(saturation.at_s, 3),
            "reason": saturation.reason,
        },
        "profile": load.spec.profile.model_dump(mode="json"),
        "window_s": load.spec.window_s,
        "windows": [
            {k: _round(v) for k, v in zip(_WINDOW_FIELDS, _window_values(w), strict=True)}
            for w in summary.windows
        ],
    }
    value = (sum(s["value"] for s in scores) / len(scores)) if scores else (0.0 if error else 1.0)
    return ctx.result(
        item,
        messages=[],
        scoring=Scoring(scores=scores, value=value, passed=passed),
        error=error,
        error_kind=None if error is None else (load.fatal.kind if load.fatal is not None else None),
        details=details,
    )


def load_cost(prices: PriceBook, model: str, usage: UsageTally, samples: list[LoadSample]) -> dict[str, Any]:
    """What a load cost, from what its replies reported: a compute-rate model by the
    successful requests' generation time; a token-priced one as its replies with usage times
    the price of their mean usage (per request, so a prompt-size price tier is the one an
    average request falls in, not that of the load's total). Replies that reported no usage
    are not priced; their number is given."""
    ok = [s for s in samples if s.outcome == "ok"]
    info = prices.info(model)
    if not prices.is_priced(model):
        return {
            "usd": None,
            "method": "unpriced: no price for this model (set prices: in benchroute.yaml)",
            "priced_replies": 0,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
        }
    cost: dict[str, Any] = {
        "usd": 0.0,
        "priced_replies": usage.replies,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
    }
    if info.usd_per_hour is not None:
        seconds = sum(s.latency_ms or 0.0 for s in ok) / 1000
        cost["usd"] = prices.cost(model, Usage(), seconds * 1000)
        cost["method"] = f"compute rate x {seconds:.1f} s of successful requests"
        cost["priced_replies"] = len(ok)
        return cost
    if usage.replies:
        cost["usd"] = usage.replies * (prices.cost(model, usage.mean(), 0.0) or 0.0)
        cost["method"] = "the usage the replies reported, priced per request"
    else:
        cost["method"] = "no reply reported token usage"
    if len(ok) > usage.replies:
        cost["unpriced_replies"] = len(ok) - usage.replies
    return cost


_WINDOW_FIELDS = (
    "start_s",
    "requests",
    "offered_rps",
    "achieved_rps",
    "goodput_rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "ttft_p95_ms",
    "rate_limited_rate",
    "error_rate",
    "retry_rate",
)


def _window_values(window: Any) -> list[Any]:
    return [getattr(window, name) for name in _WINDOW_FIELDS]


class StressTier(Tier):
    """Load profiles against models, measured per request (see module doc)."""

    # One load at a time, after the other suites: a load must not share the generator's CPU.
    concurrent = False
    failed_result_fails_gate = True

    @classmethod
    def check_field(cls, field: str, value: Any) -> Any:
        # A stress suite has a load profile and no scorers: nothing reads its replies, and
        # slo: states what must hold under load.
        if field == "scorers" and value:
            raise ValueError(
                "a stress suite does not score replies; remove scorers and state what must hold "
                "under load in slo: (e.g. {p95_ms: 800, error_rate: 0.01})"
            )
        if field == "load" and value is None:
            raise ValueError(
                "a stress suite needs a load profile, e.g. load: {profile: {kind: ramp, "
                "start_rps: 10, end_rps: 200, duration_s: 60}} (see docs/stress.md)"
            )
        return value

    @classmethod
    def check_suite(cls, suite: SuiteSpec) -> None:
        if suite.gate is not None:
            raise ValueError(
                "gate: checks scored results; a stress suite states what must hold under load in "
                "slo: (e.g. slo: {p95_ms: 800, error_rate: 0.01}), which fails the run the same way"
            )
        super().check_suite(suite)

    def plan(self, suite: SuiteSpec, models: list[str]) -> list[WorkItem]:
        """One item per model: the whole load, stored as one result."""
        return [WorkItem(suite, Case(id=LOAD_CASE_ID), model, 0) for model in models]

    def cache_request(
        self, builder: PromptBuilder, item: WorkItem, spec: ModelSpec
    ) -> CompletionRequest | None:
        return None  # a load measures the endpoint; a cached reply measures nothing

    def estimate(
        self, coster: RequestCoster, builder: PromptBuilder, item: WorkItem, spec: ModelSpec
    ) -> ItemEstimate:
        cases = item.suite.dataset.cases or []
        if not cases:
            return ItemEstimate(0, 0, 0, 0.0, 0.0, "stress: no requests")
        request = builder.request(cases[0], spec)
        count, how = stress_requests(item.suite, coster, spec, request)
        tokens_in, tokens_out, seconds, cost, method = coster.expected(item.suite.name, spec, request)
        return ItemEstimate(
            count,
            tokens_in * count,
            tokens_out * count,
            (seconds or 0.0) * count,
            None if cost is None else cost * count,
            f"{how}; {method}",
        )

    async def execute(self, ctx: ExecutionContext, item: WorkItem) -> None:
        """Run the suite's load against one model and store its result (see module doc)."""
        suite, model = item.suite, item.model
        load_spec = suite.load
        assert load_spec is not None
        slo = suite.slo.assertions() if suite.slo is not None else {}
        spec = ctx.model(model)
        provider = ctx.provider(model)
        builder = ctx.prompts(suite)
        requests = [builder.request(case, spec) for case in suite.dataset.cases or []]
        limiter: RateLimiter | None = ctx.limiter(model) if load_spec.respect_limits else None
        if limiter is not None and limiter.requests is None and limiter.tokens is None:
            limiter = None
        estimated = estimate_tokens(requests[0]) if limiter is not None and limiter.tokens else 0
        if load_spec.connections is not None:
            connections = load_spec.connections
        elif load_spec.profile.open_loop:
            connections = load_spec.max_in_flight
        else:
            connections = getattr(load_spec.profile, "concurrency", 1)
        await ctx.ensure_connections(connections)
        # --max-cost: a load is reserved whole (its planned requests at the expected cost of
        # one) and skipped when that does not fit; what it spent (the usage its replies
        # reported) replaces the reservation when it ends.
        reservation = await ctx.reserve(item)
        if reservation is None:
            ctx.skip(budget=True)
            return
        sender = prepare_load_sender(provider, requests, connections)
        store, run_id = ctx.store, ctx.run_id
        load = _Load(
            suite,
            model,
            sender,
            limiter,
            estimated,
            load_spec.timeout_s or spec.timeout,
            lambda rows: store.add_load_samples(run_id, rows),
        )
        error: str | None = None
        try:
            await load.run()
        finally:
            close_load_sender(sender)
            if load.fatal is not None:
                error = ctx.mark_broken(model, load.fatal)
            samples = sorted(load.samples, key=lambda s: s.seq)
            summary = _summary(load, samples)
            result = load_result(ctx, item, load, summary, slo, error)
            cost = load_cost(ctx.prices, model, sender.usage, samples)
            result.cost_usd = cost["usd"]
            result.input_tokens = sender.usage.input_tokens
            result.output_tokens = sender.usage.output_tokens
            result.cached_input_tokens = sender.usage.cached_input_tokens
            assert result.details is not None
            result.details["cost"] = cost
            await ctx.settle(reservation, result.cost_usd, billed=True)
            ctx.write(result)
