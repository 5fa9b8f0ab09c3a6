"""The savings report (``benchroute route simulate``): what a policy would have cost, at what
quality and latency, on traffic that was really sent — against sending all of it to one model.

The traffic is the gateway's request log (answered requests; shadow copies left out) or a
suite's latest run (one request per case: its mean input and output tokens over the run's
answered results). :func:`load_replay` reads it from a store with the evidence the figures
need; :func:`simulate_savings` is pure arithmetic over what it is given.

Per request:

- **Class**: the logged ``task_class`` when the policy has it; else the policy's rules over
  the logged request body (:meth:`Router.classify`); else ``benchroute/<class>`` in the
  logged model name; else the default class. A suite's requests take the class whose
  ``suites`` list the suite, else the rules over each case's messages.
- **Endpoint**: the class's primary. A canary takes its percent share as an expected value
  (a request is ``1 − p`` primary and ``p`` canary, the same every time); a shadow canary
  answers nothing but is paid for a copy of every request of its class, as the gateway sends.
- **Cost**: logged input tokens × the input price + logged output tokens × the output price
  (USD per million tokens: the route entry's ``price``, else the model's in another class of
  the policy, else the project's price book). The output tokens are the ones the answering
  model produced, not re-estimated for another model. A compute-rate model (USD per hour)
  costs its rate × its mean benchmark latency. A model nobody priced costs an unknown amount,
  never 0, and any sum that includes it is unknown.
- **Quality**: the endpoint's class score in the policy (a route entry, the canary's evidence,
  or a rejected entry): the benchmark's expectation of the request, not a measurement of it.
  A model the policy has no score of for a class has unknown quality there; a group's quality
  is the mean over its requests whose quality is known (with their count).
- **Latency**: each request draws one latency (seeded, uniform) from the endpoint's per-case
  latencies in its evidence runs (the class's runs, else the model's runs in every class);
  the p95 is the nearest-rank 95th percentile of the draws (a canary's draw weighs its share).
  Unknown when a request's endpoint has no latencies.

The baseline is every request on one model (default: the best-scoring primary of the policy).
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import BenchrouteError
from ..config import ROUTED_MODEL, PolicyClass, PolicyDocument, RouteEntry
from ._router import Router, RoutingError

if TYPE_CHECKING:
    from ..config import ModelSpec
    from ..store import Store

DEFAULT_SEED = 0
_PREFIX = ROUTED_MODEL + "/"


class SimulationError(BenchrouteError):
    """Nothing to replay, an unknown class, or no model to compare against."""


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """One request to replay: its usage and what classifies it."""

    input_tokens: float
    output_tokens: float
    task_class: str | None = None  # as logged (None: classify it)
    payload: Mapping[str, Any] | None = None  # the logged request body, when payloads are logged
    alias: str = ROUTED_MODEL  # the model name the client sent


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million input / output tokens, or a compute rate (USD per hour)."""

    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    usd_per_hour: float | None = None

    @property
    def known(self) -> bool:
        return self.usd_per_hour is not None or (
            self.input_per_mtok is not None and self.output_per_mtok is not None
        )

    def cost(self, input_tokens: float, output_tokens: float, mean_latency_ms: float | None) -> float | None:
        """USD for one request; None when unknown (no price, or a compute rate without a latency)."""
        if self.usd_per_hour is not None:
            return None if mean_latency_ms is None else self.usd_per_hour * mean_latency_ms / 3_600_000
        if self.input_per_mtok is None or self.output_per_mtok is None:
            return None
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1_000_000


@dataclass(slots=True)
class ReplayInputs:
    """What :func:`simulate_savings` replays, as :func:`load_replay` read it."""

    requests: list[ReplayRequest]
    source: str  # e.g. "gateway log since 2026-01-02 10:00 UTC", "suite qa run 3f2a..."
    skipped: int = 0  # answered requests left out: no usage logged
    prices: Mapping[str, Price] = field(default_factory=dict)  # model -> price the policy lacks
    latencies: Mapping[str, Mapping[str, Sequence[float]]] = field(
        default_factory=dict
    )  # model -> class -> ms


@dataclass(frozen=True, slots=True)
class SideFigures:
    """One side (the policy, or the baseline) over a group of requests."""

    cost_usd: float | None  # None: unknown (an unpriced model served part of it)
    quality: float | None  # mean expected score over the requests whose score is known
    quality_requests: int  # how many those are
    p95_ms: float | None  # None: unknown (an endpoint without latencies)

    def to_json(self) -> dict[str, Any]:
        return {
            "cost_usd": _round(self.cost_usd, 8),
            "quality": _round(self.quality, 4),
            "quality_requests": self.quality_requests,
            "p95_ms": _round(self.p95_ms, 1),
        }


@dataclass(frozen=True, slots=True)
class SavingsRow:
    """A class (or the total) of the savings report."""

    task_class: str  # "total" for the total
    requests: int
    policy: SideFigures
    baseline: SideFigures
    endpoints: Mapping[str, float] = field(default_factory=dict)  # model -> expected requests answered

    @property
    def saving_usd(self) -> float | None:
        """Baseline cost minus policy cost (positive: the policy is cheaper)."""
        if self.policy.cost_usd is None or self.baseline.cost_usd is None:
            return None
        return self.baseline.cost_usd - self.policy.cost_usd

    @property
    def saving_pct(self) -> float | None:
        """The saving as a percentage of the baseline cost."""
        saving = self.saving_usd
        if saving is None or not self.baseline.cost_usd:
            return None
        return 100 * saving / self.baseline.cost_usd

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.task_class,
            "requests": self.requests,
            "policy": self.policy.to_json(),
            "baseline": self.baseline.to_json(),
            "saving_usd": _round(self.saving_usd, 8),
            "saving_pct": _round(self.saving_pct, 2),
            "endpoints": {model: round(share, 4) for model, share in self.endpoints.items()},
        }


@dataclass(frozen=True, slots=True)
class SavingsReport:
    """The policy against the baseline, per class and in total (see the module doc)."""

    policy: str  # how the policy was named: "v3", a file path
    baseline: str
    source: str
    classes: list[SavingsRow]
    total: SavingsRow
    notes: list[str]
    skipped: int = 0
    classified_by: Mapping[str, int] = field(default_factory=dict)  # logged | rule | model | default

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "baseline": self.baseline,
            "source": self.source,
            "requests": self.total.requests,
            "skipped_no_usage": self.skipped,
            "classified_by": dict(self.classified_by),
            "classes": [row.to_json() for row in self.classes],
            "total": self.total.to_json(),
            "notes": list(self.notes),
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# -- what the policy says of a model -------------------------------------------------------


def default_baseline(policy: PolicyDocument) -> str:
    """The primary with the highest class score ("everything on the best model"); the first
    class's on a tie. :class:`SimulationError` when no primary has a score."""
    best: tuple[float, str] | None = None
    for klass in policy.classes.values():
        primary = klass.route[0]
        if primary.score is not None and (best is None or primary.score > best[0]):
            best = (primary.score, primary.model)
    if best is None:
        raise SimulationError(
            "no primary of the policy has a score to pick the best model by",
            hint="name one: --baseline MODEL",
        )
    return best[1]


def policy_models(policy: PolicyDocument) -> set[str]:
    """Every model the policy names: routes, canaries, rejected candidates."""
    names: set[str] = set()
    for klass in policy.classes.values():
        names.update(entry.model for entry in klass.route)
        names.update(entry.model for entry in klass.rejected)
        if klass.canary is not None:
            names.add(klass.canary.model)
    return names


def _canary_evidence(klass: PolicyClass, model: str) -> RouteEntry | None:
    canary = klass.canary
    return canary.evidence if canary is not None and canary.model == model else None


def class_score(klass: PolicyClass, model: str) -> float | None:
    """``model``'s score on this class in the policy (route, canary evidence, rejected)."""
    for entry in klass.route:
        if entry.model == model and entry.score is not None:
            return entry.score
    evidence = _canary_evidence(klass, model)
    if evidence is not None and evidence.score is not None:
        return evidence.score
    for rejected in klass.rejected:
        if rejected.model == model and rejected.score is not None:
            return rejected.score
    return None


def _entry_price(raw: Mapping[str, float | None] | None) -> Price | None:
    if not raw:
        return None
    price = Price(raw.get("input_per_mtok"), raw.get("output_per_mtok"))
    return price if price.known else None


def policy_price(policy: PolicyDocument, model: str, task_class: str | None = None) -> Price | None:
    """``model``'s price as the policy recorded it: in ``task_class`` first, then any class."""
    order = [task_class] if task_class in policy.classes else []
    order += [name for name in policy.classes if name != task_class]
    for name in order:
        klass = policy.classes[name]
        for entry in klass.route:
            if entry.model == model and (price := _entry_price(entry.price)) is not None:
                return price
        evidence = _canary_evidence(klass, model)
        if evidence is not None and (price := _entry_price(evidence.price)) is not None:
            return price
    return None


# -- the simulation --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Arm:
    model: str
    weight: float  # share of the class's requests
    answers: bool = True  # False: a shadow copy, paid for and never returned


class _Side:
    """Accumulates one side's figures over a group of requests."""

    def __init__(self) -> None:
        self.cost: float | None = 0.0
        self.quality_sum = 0.0
        self.quality_n = 0
        self.samples: list[tuple[float, float]] | None = []  # (latency, weight); None: unknown
        self.endpoints: dict[str, float] = defaultdict(float)

    def add(
        self, cost: float | None, quality: float | None, samples: list[tuple[float, float]] | None
    ) -> None:
        self.cost = None if self.cost is None or cost is None else self.cost + cost
        if quality is not None:
            self.quality_sum += quality
            self.quality_n += 1
        if self.samples is not None:
            if samples is None:
                self.samples = None
            else:
                self.samples.extend(samples)

    def merge(self, other: _Side) -> None:
        self.cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        self.quality_sum += other.quality_sum
        self.quality_n += other.quality_n
        if self.samples is not None:
            self.samples = None if other.samples is None else self.samples + other.samples
        for model, share in other.endpoints.items():
            self.endpoints[model] += share

    def figures(self) -> SideFigures:
        return SideFigures(
            cost_usd=self.cost,
            quality=self.quality_sum / self.quality_n if self.quality_n else None,
            quality_requests=self.quality_n,
            p95_ms=None if self.samples is None else weighted_percentile(self.samples, 95),
        )


def weighted_percentile(samples: Sequence[tuple[float, float]], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile of (value, weight) samples: the smallest value
    whose cumulative weight reaches ``q`` % of the total (equal weights: the nearest rank)."""
    kept = sorted((value, weight) for value, weight in samples if weight > 0)
    total = sum(weight for _, weight in kept)
    if not kept or total <= 0:
        return None
    target = q / 100 * total
    running = 0.0
    for value, weight in kept:
        running += weight
        if running >= target - 1e-9 * total:
            return value
    return kept[-1][0]


class _Facts:
    """What is known of a model in a class: price, score, latencies."""

    def __init__(self, policy: PolicyDocument, inputs: ReplayInputs) -> None:
        self.policy = policy
        self.inputs = inputs
        self.unpriced: set[str] = set()
        self.no_latency: set[tuple[str, str]] = set()
        self._prices: dict[tuple[str, str], Price | None] = {}
        self._mean_ms: dict[tuple[str, str], float | None] = {}

    def latencies(self, task_class: str, model: str) -> Sequence[float] | None:
        by_class = self.inputs.latencies.get(model) or {}
        values = by_class.get(task_class)
        if not values:
            values = [value for name in sorted(by_class) for value in by_class[name]]
        if not values:
            self.no_latency.add((task_class, model))
            return None
        return values

    def price(self, task_class: str, model: str) -> Price | None:
        key = (task_class, model)
        if key not in self._prices:
            price = policy_price(self.policy, model, task_class) or self.inputs.prices.get(model)
            if price is None or not price.known:
                self.unpriced.add(model)
                price = None
            self._prices[key] = price
        return self._prices[key]

    def mean_ms(self, task_class: str, model: str) -> float | None:
        key = (task_class, model)
        if key not in self._mean_ms:
            values = self.latencies(task_class, model)
            self._mean_ms[key] = math.fsum(values) / len(values) if values else None
        return self._mean_ms[key]

    def cost(self, task_class: str, model: str, request: ReplayRequest) -> float | None:
        price = self.price(task_class, model)
        if price is None:
            return None
        mean_ms = self.mean_ms(task_class, model) if price.usd_per_hour is not None else None
        return price.cost(request.input_tokens, request.output_tokens, mean_ms)


def _replay_side(
    facts: _Facts,
    task_class: str,
    arms: Sequence[_Arm],
    requests: Sequence[ReplayRequest],
    rng: random.Random,
) -> _Side:
    side = _Side()
    klass = facts.policy.classes[task_class]
    scores = {arm.model: class_score(klass, arm.model) for arm in arms}
    latencies = {arm.model: facts.latencies(task_class, arm.model) for arm in arms if arm.answers}
    for request in requests:
        cost: float | None = 0.0
        quality: float | None = 0.0
        samples: list[tuple[float, float]] | None = []
        for arm in arms:
            if arm.weight <= 0:
                continue
            part = facts.cost(task_class, arm.model, request)
            cost = None if cost is None or part is None else cost + arm.weight * part
            if not arm.answers:
                continue
            score = scores[arm.model]
            quality = None if quality is None or score is None else quality + arm.weight * score
            values = latencies[arm.model]
            if samples is not None:
                samples = None if values is None else [*samples, (rng.choice(values), arm.weight)]
            side.endpoints[arm.model] += arm.weight
        side.add(cost, quality, samples)
    return side


def _policy_arms(klass: PolicyClass) -> list[_Arm]:
    primary = klass.route[0].model
    canary = klass.canary
    if canary is None or canary.model == primary:
        return [_Arm(primary, 1.0)]
    if canary.shadow:
        return [_Arm(primary, 1.0), _Arm(canary.model, 1.0, answers=False)]
    share = canary.percent / 100
    return [_Arm(primary, 1.0 - share), _Arm(canary.model, share)]


def classify_requests(policy: PolicyDocument, requests: Sequence[ReplayRequest]) -> list[tuple[str, str]]:
    """Each request's (class, how): ``logged``, ``rule N``, ``model`` or ``default``."""
    router = Router(policy)
    default = policy.fallback_class()
    out: list[tuple[str, str]] = []
    for request in requests:
        if request.task_class is not None and request.task_class in policy.classes:
            out.append((request.task_class, "logged"))
            continue
        named = request.alias[len(_PREFIX) :] if request.alias.startswith(_PREFIX) else ""
        if request.payload is not None:
            try:
                out.append(router.classify(request.alias, request.payload, {}))
            except RoutingError:  # a class this policy does not have: where it would go now
                out.append((default, "default"))
        elif named in policy.classes:
            out.append((named, "model"))
        else:
            out.append((default, "default"))
    return out


def simulate_savings(
    policy: PolicyDocument,
    inputs: ReplayInputs,
    *,
    baseline: str | None = None,
    task_class: str | None = None,
    label: str = "policy",
    seed: int = DEFAULT_SEED,
) -> SavingsReport:
    """Replay ``inputs`` through ``policy`` and through ``baseline`` (see the module doc).

    ``task_class``: only the requests of this class. The draws are seeded per side and class,
    so a class's figures do not change with ``task_class`` or the baseline."""
    if task_class is not None and task_class not in policy.classes:
        raise SimulationError(
            f"--class {task_class!r}: the policy has no such class",
            hint="classes: " + ", ".join(policy.classes),
        )
    if not inputs.requests:
        raise SimulationError(f"no request to replay ({inputs.source})")
    chosen = baseline or default_baseline(policy)
    grouped: dict[str, list[ReplayRequest]] = {name: [] for name in policy.classes}
    how: Counter[str] = Counter()
    for request, (name, found_by) in zip(
        inputs.requests, classify_requests(policy, inputs.requests), strict=True
    ):
        if task_class is not None and name != task_class:
            continue
        grouped[name].append(request)
        how[found_by.split(" ")[0]] += 1
    if not any(grouped.values()):
        raise SimulationError(f"no replayed request is of class {task_class!r} ({inputs.source})")
    facts = _Facts(policy, inputs)
    rows: list[SavingsRow] = []
    policy_total, baseline_total = _Side(), _Side()
    notes: list[str] = []
    for name, requests in grouped.items():
        if not requests:
            continue
        klass = policy.classes[name]
        arms = _policy_arms(klass)
        ours = _replay_side(facts, name, arms, requests, random.Random(f"{seed}:policy:{name}"))
        theirs = _replay_side(
            facts, name, [_Arm(chosen, 1.0)], requests, random.Random(f"{seed}:baseline:{name}")
        )
        rows.append(SavingsRow(name, len(requests), ours.figures(), theirs.figures(), dict(ours.endpoints)))
        policy_total.merge(ours)
        baseline_total.merge(theirs)
        canary = klass.canary
        if canary is not None and canary.model != klass.route[0].model:
            if canary.shadow:
                notes.append(
                    f"class {name}: shadow canary {canary.model} is paid for a copy of every request"
                )
            else:
                notes.append(
                    f"class {name}: canary {canary.model} answers {canary.percent:g} % (expected share)"
                )
        if class_score(klass, chosen) is None:
            notes.append(
                f"class {name}: the policy has no score of {chosen}; baseline quality unknown for its "
                f"{len(requests):,} requests"
            )
    requests_total = sum(row.requests for row in rows)
    total = SavingsRow(
        "total",
        requests_total,
        policy_total.figures(),
        baseline_total.figures(),
        dict(policy_total.endpoints),
    )
    for model in sorted(facts.unpriced):
        notes.append(
            f"{model} has no price: costs it is part of are unknown (set prices: in benchroute.yaml)"
        )
    without: dict[str, list[str]] = defaultdict(list)
    for name, model in sorted(facts.no_latency):
        without[model].append(name)
    for model, names in without.items():
        where = "class " if len(names) == 1 else "classes "
        notes.append(f"no latencies of {model} in its evidence runs ({where}{', '.join(names)}): p95 unknown")
    if inputs.skipped:
        plural = "s" if inputs.skipped != 1 else ""
        notes.append(f"{inputs.skipped:,} answered request{plural} left out: no usage logged")
    return SavingsReport(label, chosen, inputs.source, rows, total, notes, inputs.skipped, dict(how))


# -- reading it from a store -------------------------------------------------------------------


def _payload(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _log_requests(store: Store, since_ts: float | None) -> tuple[list[ReplayRequest], int]:
    from ..store import RequestLog

    requests: list[ReplayRequest] = []
    skipped = 0
    for row in RequestLog(store).requests(since_ts=since_ts):
        if row.get("status") != 200 or row.get("arm") == "shadow":
            continue
        if row.get("input_tokens") is None or row.get("output_tokens") is None:
            skipped += 1
            continue
        requests.append(
            ReplayRequest(
                input_tokens=float(row["input_tokens"]),
                output_tokens=float(row["output_tokens"]),
                task_class=row.get("task_class"),
                payload=_payload(row.get("request_payload")),
                alias=str(row.get("alias") or ROUTED_MODEL),
            )
        )
    return requests, skipped


def _file_requests(path: Path) -> tuple[list[ReplayRequest], int]:
    """Requests from a JSONL file, read line by line: each line a logged request — an OpenAI
    chat body with the reply's ``usage`` beside it (``{"messages": …, "usage": {…}}``), a
    ``{"request": {…}, "response": {…usage…}}`` pair, or a gateway log row (``input_tokens``,
    ``output_tokens``, ``task_class``, ``request_payload``). A line without token counts is
    skipped and counted; a line that is not JSON is an error naming file:line."""
    requests: list[ReplayRequest] = []
    skipped = 0
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise SimulationError(f"--log {path}: cannot read it ({exc.strerror or exc})") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise SimulationError(
                    f"{path}:{number}: not a JSON object ({exc})", hint="one logged request per line"
                ) from None
            if not isinstance(row, dict):
                raise SimulationError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            body: Mapping[str, Any] = row["request"] if isinstance(row.get("request"), dict) else row
            if "request_payload" in row:
                body = _payload(row.get("request_payload")) or {}
            response: Mapping[str, Any] = row["response"] if isinstance(row.get("response"), dict) else row
            usage: Mapping[str, Any] = response["usage"] if isinstance(response.get("usage"), dict) else {}
            tokens_in = row.get("input_tokens", usage.get("prompt_tokens", usage.get("input_tokens")))
            tokens_out = row.get("output_tokens", usage.get("completion_tokens", usage.get("output_tokens")))
            if not isinstance(tokens_in, int | float) or not isinstance(tokens_out, int | float):
                skipped += 1
                continue
            klass = row.get("task_class")
            requests.append(
                ReplayRequest(
                    input_tokens=float(tokens_in),
                    output_tokens=float(tokens_out),
                    task_class=klass if isinstance(klass, str) else None,
                    payload=body if body.get("messages") else None,
                    alias=str(body.get("model") or ROUTED_MODEL),
                )
            )
    return requests, skipped


def _suite_requests(store: Store, policy: PolicyDocument, suite: str) -> tuple[list[ReplayRequest], str]:
    from ..store import SCORER_ERROR_KIND

    runs = store.latest_runs(suite, n=1)
    if not runs:
        raise SimulationError(
            f"--suite {suite!r}: no finished run of it is stored", hint="benchroute run " + suite
        )
    run = runs[0]
    owner = next((name for name, klass in policy.classes.items() if suite in klass.suites), None)
    cases: dict[str, list[Any]] = {}
    for result in store.results(run.id):
        if result.suite != suite or (result.error is not None and result.error_kind != SCORER_ERROR_KIND):
            continue
        cases.setdefault(result.case_id, []).append(result)
    requests = []
    for results in cases.values():
        messages = results[0].messages
        requests.append(
            ReplayRequest(
                input_tokens=math.fsum(r.input_tokens for r in results) / len(results),
                output_tokens=math.fsum(r.output_tokens for r in results) / len(results),
                task_class=owner,
                payload={"messages": messages} if owner is None and messages else None,
            )
        )
    return requests, f"suite {suite} run {run.id}"


def _latencies(store: Store, policy: PolicyDocument, models: set[str]) -> dict[str, dict[str, list[float]]]:
    """model -> class -> per-case latencies of the model's evidence runs in that class."""
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)  # (run_id, suite) -> models
    used: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)  # (model, class) -> runs
    for name, klass in policy.classes.items():
        entries: list[Any] = [*klass.route, *klass.rejected]
        if klass.canary is not None and klass.canary.evidence is not None:
            entries.append(klass.canary.evidence)
        for entry in entries:
            if entry.model not in models:
                continue
            for run in entry.runs:
                key = (run.run_id, run.suite)
                if key in used[(entry.model, name)]:
                    continue
                wanted[key].add(entry.model)
                used[(entry.model, name)].append(key)
    read: dict[tuple[str, str, str], list[float]] = {}
    for (run_id, suite), names in wanted.items():
        found = store.case_outcomes_many(run_id, suite, [(model, "latency_ms") for model in sorted(names)])
        for (model, _metric), outcomes in found.items():
            read[(run_id, suite, model)] = [o.value for o in outcomes if o.value is not None]
    out: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for (model, name), keys in used.items():
        out[model][name] = [value for run_id, suite in keys for value in read.get((run_id, suite, model), [])]
    return dict(out)


def _price_book(specs: Sequence[ModelSpec], models: set[str], policy: PolicyDocument) -> dict[str, Price]:
    """Prices from the project's price book for the models the policy recorded none of."""
    missing = [spec for spec in specs if spec.name in models and policy_price(policy, spec.name) is None]
    if not missing:
        return {}
    from ..providers import PriceBook

    book = PriceBook(list(missing))
    prices: dict[str, Price] = {}
    for spec in missing:
        info = book.info(spec.name)
        if info.priced:
            prices[spec.name] = Price(info.input_per_mtok, info.output_per_mtok, info.usd_per_hour)
    return prices


def load_replay(
    store: Store,
    policy: PolicyDocument,
    *,
    since_ts: float | None = None,
    suite: str | None = None,
    baseline: str | None = None,
    model_specs: Sequence[ModelSpec] = (),
    log_path: str | Path | None = None,
) -> ReplayInputs:
    """The traffic to replay and the evidence to price and time it: the request log since
    ``since_ts`` (or ``suite``'s latest run), the per-case latencies of every policy model's
    evidence runs, and price-book prices (from ``model_specs``) of the models the policy has
    no price of. An empty log gives empty ``requests``."""
    skipped = 0
    if suite is not None:
        requests, source = _suite_requests(store, policy, suite)
    elif log_path is not None:
        requests, skipped = _file_requests(Path(log_path))
        source = f"log file {log_path}"
    else:
        requests, skipped = _log_requests(store, since_ts)
        when = (
            ""
            if since_ts is None
            else " since " + datetime.fromtimestamp(since_ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
        )
        source = "gateway log" + when
    models = policy_models(policy) | ({baseline} if baseline else set())
    return ReplayInputs(
        requests=requests,
        source=source,
        skipped=skipped,
        prices=_price_book(model_specs, models, policy),
        latencies=_latencies(store, policy, models),
    )
