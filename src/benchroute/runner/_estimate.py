"""What a run will cost, before any request is sent (``benchroute run --estimate``).

For each suite x model the estimate multiplies the planned requests by an expected usage:

- **prompt tokens** from the rendered prompts (the requests the run would send), at ~4
  characters per token plus a few per message;
- **output tokens**, best source first: the mean output of earlier stored results of the same
  suite x model ("history"); else the request's ``max_tokens`` scaled by
  :data:`MAX_TOKENS_FILL` and capped at :data:`TYPICAL_REPLY_TOKENS` ("max_tokens"); else
  :data:`TYPICAL_REPLY_TOKENS` ("default").

Token-priced models cost that usage at the run's prices (genai-prices or the ``prices:``
override). Models priced by compute time (local models) cost their expected generation
time: the mean latency of earlier results of the same suite x model when the store has
them, else ``prompt / PREFILL + output / DECODE`` tokens per second — defaults measured for
the embedded SmolLM2-135M on one CPU thread, rescaled by the model's measured speed in
earlier runs of any suite. Responses already in the response cache cost nothing. Judge
and embedding calls made while scoring are not estimated.

The same expected cost per request reserves budget for in-flight requests under
``--max-cost`` (see :mod:`._budget`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import ModelSpec, ProjectConfig, SuiteSpec
from ..providers import CompletionRequest, Message, PriceBook, Usage
from ..store import Result, Store
from ._prompting import PromptBuilder

if TYPE_CHECKING:
    from ._tiers import ItemEstimate, WorkItem

# A reply under a max_tokens cap stops early more often than not: on the quick start the
# embedded model used 34-97% of its cap (60% over all its replies).
MAX_TOKENS_FILL = 0.6
# A chat reply without a cap (or with a generous one): a few paragraphs.
TYPICAL_REPLY_TOKENS = 300
# Local models' chat templates add their own default system prompt when a request has none
# (SmolLM2's: "You are a helpful AI assistant named SmolLM, trained by Hugging Face").
LOCAL_DEFAULT_SYSTEM_TOKENS = 26
# Embedded SmolLM2-135M-Instruct through llama.cpp, one thread of a 2-core CI machine.
DEFAULT_LOCAL_PREFILL_TPS = 175.0
DEFAULT_LOCAL_DECODE_TPS = 75.0
# A closed-loop load test's request rate depends on the latency; without history, assume this.
DEFAULT_CLOSED_LOOP_LATENCY_S = 1.0
# How many earlier runs the history looks at (newest first).
HISTORY_RUNS = 50


def prompt_tokens(request: CompletionRequest) -> int:
    """Estimated prompt tokens of a request: ~4 characters per token, 4 per message."""
    return sum(len(m.text()) for m in request.messages) // 4 + 4 * len(request.messages)


@dataclass(frozen=True, slots=True)
class EstimateLine:
    """The expected cost of one suite on one model."""

    suite: str
    model: str
    requests: int
    cached: int  # of the requests: already in the response cache (free)
    input_tokens: int
    output_tokens: int
    cost_usd: float
    seconds: float | None  # expected generation time (compute-priced models)
    method: str  # how the output tokens / time were estimated
    pricing: str  # how the cost was priced
    # Of the requests to send: those of an unpriced model, whose cost is unknown and not in
    # ``cost_usd`` (which is then the cost of the priced ones only, never $0 for these).
    unpriced_requests: int = 0

    @property
    def cost_per_request_usd(self) -> float:
        sent = self.requests - self.cached
        return self.cost_usd / sent if sent else 0.0


@dataclass(frozen=True, slots=True)
class RunEstimate:
    """The expected cost of a run, by suite x model."""

    lines: list[EstimateLine]
    notes: list[str] = field(default_factory=list)

    @property
    def total_cost_usd(self) -> float:
        """The expected cost of the priced requests; ``unpriced_requests`` come on top."""
        return sum(line.cost_usd for line in self.lines)

    @property
    def unpriced_requests(self) -> int:
        """Requests whose cost is unknown (their model is unpriced)."""
        return sum(line.unpriced_requests for line in self.lines)

    @property
    def total_text(self) -> str:
        """The total as a sentence fragment: "$0.000014", "$0.000014 + 2 unpriced request(s)",
        or "unknown (4 unpriced request(s))" when nothing is priced — never $0 for an unknown."""
        unpriced = self.unpriced_requests
        if not unpriced:
            return f"${self.total_cost_usd:.6f}"
        priced = any(line.requests - line.cached > line.unpriced_requests for line in self.lines)
        if not priced:
            return f"unknown ({unpriced} unpriced request(s))"
        return f"${self.total_cost_usd:.6f} + {unpriced} unpriced request(s)"

    @property
    def requests(self) -> int:
        return sum(line.requests for line in self.lines)


@dataclass(slots=True)
class _History:
    """Earlier stored results of one suite x model (successful, not served from the cache)."""

    results: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0


class History:
    """What earlier runs in the store say about output lengths and local generation speed."""

    def __init__(self, store: Store | None, runs: int = HISTORY_RUNS, exclude_run: str | None = None) -> None:
        self._pairs: dict[tuple[str, str], _History] = defaultdict(_History)
        # Per model: measured generation time vs the default time model, to rescale the default.
        self._speed: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        if store is None:
            return
        for record, count in store.list_runs(runs):
            if count == 0 or record.id == exclude_run:
                continue
            for result in store.results(record.id):
                self.add(result)

    def add(self, result: Result) -> None:
        # Conversation results and load-test summaries (both with details) sum many
        # requests: not one.
        if result.error or result.cached or result.latency_ms is None or result.details is not None:
            return
        pair = self._pairs[(result.suite, result.model)]
        pair.results += 1
        pair.output_tokens += result.output_tokens
        pair.latency_ms += result.latency_ms
        speed = self._speed[result.model]
        speed[0] += result.latency_ms / 1000
        speed[1] += default_generation_seconds(result.input_tokens, result.output_tokens)

    def pair(self, suite: str, model: str) -> _History | None:
        found = self._pairs.get((suite, model))
        return found if found is not None and found.results else None

    def speed_factor(self, model: str) -> float | None:
        """Measured generation time / default-model time for this model, when measured."""
        measured, predicted = self._speed.get(model, (0.0, 0.0))
        return measured / predicted if predicted > 0 and measured > 0 else None


def default_generation_seconds(input_tokens: float, output_tokens: float) -> float:
    return input_tokens / DEFAULT_LOCAL_PREFILL_TPS + output_tokens / DEFAULT_LOCAL_DECODE_TPS


def expected_output_tokens(request: CompletionRequest, spec: ModelSpec) -> tuple[float, str]:
    """Expected reply length without history, and how it was derived."""
    cap = request.max_tokens or spec.params.get("max_tokens")
    if isinstance(cap, int) and cap > 0:
        return min(cap * MAX_TOKENS_FILL, TYPICAL_REPLY_TOKENS), f"max_tokens {cap} x {MAX_TOKENS_FILL:g}"
    return float(TYPICAL_REPLY_TOKENS), f"default reply {TYPICAL_REPLY_TOKENS} tokens"


class RequestCoster:
    """The expected cost of single requests and of conversations, from prices and history
    (shared by ``--estimate`` and the ``--max-cost`` reservation). ``prices`` must price
    the simulated users' models too: build one with :func:`coster_for`."""

    def __init__(
        self,
        prices: PriceBook,
        history: History | None = None,
        simulators: dict[str | None, ModelSpec] | None = None,
    ) -> None:
        self.prices = prices
        self.history = history or History(None)
        # Simulated-user model by name (None: the default simulator).
        self.simulators = simulators or {None: _default_simulator()}

    def expected(
        self, suite: str, spec: ModelSpec, request: CompletionRequest
    ) -> tuple[int, float, float | None, float | None, str]:
        """(prompt tokens, output tokens, seconds or None, USD or None when the model is
        unpriced, method) for one request."""
        info = self.prices.info(spec.name)
        tokens_in = prompt_tokens(request)
        if spec.provider == "local" and not any(m.role == "system" for m in request.messages):
            tokens_in += LOCAL_DEFAULT_SYSTEM_TOKENS
        earlier = self.history.pair(suite, spec.name)
        if earlier is not None:
            tokens_out = earlier.output_tokens / earlier.results
            method = f"history ({earlier.results} earlier results)"
        else:
            tokens_out, method = expected_output_tokens(request, spec)
        seconds: float | None = None
        if info.usd_per_hour is not None:
            if earlier is not None:
                seconds = earlier.latency_ms / earlier.results / 1000
            else:
                factor = self.history.speed_factor(spec.name)
                seconds = default_generation_seconds(tokens_in, tokens_out) * (factor or 1.0)
                if factor is not None:
                    method += f"; speed measured in earlier runs (x{factor:.2f} the default)"
                else:
                    method += (
                        f"; default speed {DEFAULT_LOCAL_PREFILL_TPS:g}/{DEFAULT_LOCAL_DECODE_TPS:g} "
                        "tok/s (prompt/output)"
                    )
            cost = self.prices.cost(spec.name, Usage(), seconds * 1000)
        else:
            usage = Usage(input_tokens=tokens_in, output_tokens=round(tokens_out))
            cost = self.prices.cost(spec.name, usage, 0.0)
        return tokens_in, tokens_out, seconds, cost, method


def _pricing(prices: PriceBook, model: str) -> str:
    info = prices.info(model)
    if info.usd_per_hour is not None:
        return f"${info.usd_per_hour:g}/h of compute"
    if info.source == "unknown":
        return "unknown price (counted as $0; set prices:)"
    return info.source


def estimate_run(
    project: ProjectConfig,
    suites: list[SuiteSpec],
    *,
    models: list[str] | None = None,
    store: Store | None = None,
    use_cache: bool = True,
) -> RunEstimate:
    """The expected cost of running ``suites`` (narrowed to ``models``); sends no request.
    Each work item is estimated by its tier (a load test by its profile, a conversation by
    its turns); a request the response cache already answers costs nothing."""
    from ._runner import plan
    from ._tiers import tier_for

    tiers = {suite.tier: tier_for(suite.tier) for suite in suites}
    items = plan(project, suites, models, tiers)
    specs = {name: project.models[name] for name in sorted({item.model for item in items})}
    coster = coster_for(project, items, History(store))
    prices = coster.prices
    builders = {suite.name: PromptBuilder(suite) for suite in suites}
    sums: dict[tuple[str, str], list[float]] = {}
    methods: dict[tuple[str, str], str] = {}
    single: list[tuple[list[float], ItemEstimate]] = []
    for item in items:
        spec = specs[item.model]
        key = (item.suite.name, item.model)
        row = sums.setdefault(key, [0, 0, 0, 0, 0.0, 0.0, 0])
        expected = tiers[item.suite.tier].estimate(coster, builders[item.suite.name], item, spec)
        methods[key] = expected.method
        if expected.cache_key is not None:
            single.append((row, expected))
        else:
            _add(row, expected)
    # Requests whose response is already stored cost nothing (looked up in batches).
    cached = (
        store.cached_keys(e.cache_key for _, e in single if e.cache_key is not None)
        if use_cache and store is not None
        else set()
    )
    for row, expected in single:
        if expected.cache_key in cached:
            row[0] += 1
            row[1] += 1
        else:
            _add(row, expected)
    lines = [
        EstimateLine(
            suite=suite,
            model=model,
            requests=int(row[0]),
            cached=int(row[1]),
            input_tokens=int(row[2]),
            output_tokens=round(row[3]),
            cost_usd=row[5],
            seconds=row[4] if prices.info(model).usd_per_hour is not None else None,
            method=methods[(suite, model)],
            pricing=_pricing(prices, model),
            unpriced_requests=int(row[6]),
        )
        for (suite, model), row in sums.items()
    ]
    notes = ["judge and embedding calls made while scoring are not included"]
    unknown = sorted(m for m in specs if not prices.is_priced(m))
    if unknown:
        notes.append(
            f"no price for {', '.join(unknown)}: cost unknown, not in the total "
            "(set prices: in benchroute.yaml)"
        )
    return RunEstimate(lines, notes)


def coster_for(
    project: ProjectConfig,
    items: list[WorkItem],
    history: History | None = None,
    models: list[str] | None = None,
) -> RequestCoster:
    """A :class:`RequestCoster` pricing the models of ``items`` (and of ``models``) and
    their simulated users."""
    names = {item.model for item in items} | set(models or [])
    specs = {name: project.models[name] for name in sorted(names)}
    simulators: dict[str | None, ModelSpec] = {None: _default_simulator()}
    for item in items:
        user = item.case.simulated_user
        if user is not None and user.model is not None and user.model in project.models:
            simulators[user.model] = project.models[user.model]
    prices = PriceBook([*specs.values(), *(s for s in simulators.values() if s.name not in specs)])
    return RequestCoster(prices, history, simulators)


def _add(row: list[float], expected: ItemEstimate) -> None:
    # An unpriced request's cost is unknown: it is counted apart (row[6]), never as $0.
    row[0] += expected.requests
    row[2] += expected.input_tokens
    row[3] += expected.output_tokens
    row[4] += expected.seconds
    if expected.cost_usd is None:
        row[6] += expected.requests
    else:
        row[5] += expected.cost_usd


def _default_simulator() -> ModelSpec:
    """The default simulated-user model: the embedded SmolLM2 (priced by compute time)."""
    return ModelSpec(name="(simulated user)", provider="local", model="smollm2")


def estimate_conversation(coster: RequestCoster, item: WorkItem, spec: ModelSpec) -> ItemEstimate:
    """A multi-turn case: each turn resends the history so far, so prompts grow turn by turn.
    A simulated user costs one simulator call per turn as well (its time and cost, not its
    tokens, are counted)."""
    from ._tiers import ItemEstimate

    case, suite = item.case, item.suite
    system = Message(role="system", content=(spec.system_prompt or "") + (suite.system or ""))
    history: list[Message] = [system]
    if case.turns is not None:
        users = [turn.user for turn in case.turns]
    else:
        assert case.simulated_user is not None
        user = case.simulated_user
        users = ["x" * 4 * round(user.max_tokens * MAX_TOKENS_FILL)] * user.max_turns
    method = ""
    tokens_in_total = tokens_out_total = seconds_total = 0.0
    cost_total: float | None = 0.0
    for text in users:
        history.append(Message(role="user", content=text))
        request = CompletionRequest(messages=list(history), **_request_fields(suite))
        tokens_in, tokens_out, seconds, cost, method = coster.expected(suite.name, spec, request)
        tokens_in_total += tokens_in
        tokens_out_total += tokens_out
        seconds_total += seconds or 0.0
        cost_total = None if cost is None or cost_total is None else cost_total + cost
        history.append(Message(role="assistant", content="x" * 4 * round(tokens_out)))
        if case.simulated_user is not None:
            sim_spec = coster.simulators.get(case.simulated_user.model, coster.simulators[None])
            sim_request = CompletionRequest(messages=list(history), max_tokens=case.simulated_user.max_tokens)
            _, _, sim_seconds, sim_cost, _ = coster.expected(suite.name, sim_spec, sim_request)
            seconds_total += sim_seconds or 0.0
            cost_total = None if sim_cost is None or cost_total is None else cost_total + sim_cost
    if case.turns is not None:
        how = f"conversation: {len(users)} turn(s), growing history; {method}"
    else:
        how = f"simulated conversation: up to {len(users)} turn(s) + simulator calls; {method}"
    return ItemEstimate(len(users), tokens_in_total, tokens_out_total, seconds_total, cost_total, how)


def _request_fields(suite: SuiteSpec) -> dict[str, Any]:
    cap = suite.params.get("max_tokens")
    return {"max_tokens": cap} if isinstance(cap, int) else {}


def stress_requests(
    suite: SuiteSpec, coster: RequestCoster, spec: ModelSpec, request: CompletionRequest
) -> tuple[int, str]:
    """How many requests a stress suite's load profile sends to one model."""
    load: Any = getattr(suite, "load", None)
    if load is None:
        return 0, "stress: no load profile"
    profile = load.profile
    if profile.open_loop:
        offered = sum(duration * (start + end) / 2 for duration, start, end in profile.segments())
        return min(profile.max_requests, round(offered)), "stress: requests of the load profile"
    # Closed loop: each of the concurrent users sends its next request when the last returns.
    seconds = coster.expected(suite.name, spec, request)[2] or DEFAULT_CLOSED_LOOP_LATENCY_S
    offered = profile.concurrency * profile.duration_s / seconds
    return min(profile.max_requests, round(offered)), "stress: concurrency x duration / latency"
