"""Building a routing policy from stored results (``benchroute route build``).

Per task class, for every candidate endpoint (a model of ``benchroute.yaml``: the same model
at two providers is two endpoints, each with its own results):

1. **Evidence.** For each of the class's suites, the newest *completed* run with results of
   that endpoint, started within ``freshness_days``. Its figures come from the store's per-run
   aggregates: the class metric (``pass_rate`` or ``score:<scorer>``) with a 95 % interval
   (Wilson for a pass rate, a normal interval of the per-case values for a scorer mean), cost
   per successful output, p95 latency (what the caller waited), error rate, mean cost per
   request. Over several suites: the metric and error rate are weighted by results, cost per
   success is total cost over total successes, p95 is the worst suite's (a class promises
   its p95 on each of its benchmarks).
2. **Eligibility.** An endpoint is rejected — with every reason recorded — when a suite has
   no fresh completed run of it, when its results were measured on another endpoint id (its
   model entry changed since: the scores no longer describe it), when a drift check flagged
   that run (or a run started after it) worse, or when it breaks a constraint (``min_score``,
   ``max_cost_per_success``, ``max_p95_ms``, ``max_error_rate``). An unknown cost (an
   unpriced model) breaks a cost limit and is never the cheapest.
3. **Choice.** Among the eligible, the objective picks the primary:
   ``cheapest`` (lowest cost per success; unknown cost last; ties by higher score),
   ``best_under_budget`` (highest score; the budget is ``max_cost_per_success``),
   ``weighted`` (min–max scaled quality, cost and p95 combined with ``weights``), or
   ``pareto`` (the point at ``pareto_point`` along the cost-vs-quality frontier, 0 its
   cheapest end, 1 its best). The fallbacks are the other eligible endpoints by quality
   (higher score first, cheaper on a tie): the same limits hold for every endpoint a request
   can land on. Pinned models go first, in their order, whatever their figures.

A class no endpoint satisfies is an error here, at build time, naming each candidate's
reasons — never at request time.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .._errors import BenchrouteError
from ..analysis import desirability, pareto_frontier
from ..config import (
    OBJECTIVES,
    CanaryEntry,
    EvidenceRun,
    PolicyClass,
    PolicyDocument,
    RejectedEntry,
    RouteEntry,
    RoutingConstraints,
    RoutingWeights,
)

if TYPE_CHECKING:
    from ..config import ProjectConfig, TaskClassSpec
    from ..store import SeriesPoint, Store

_FIGURES = ("pass_rate", "cost_per_success", "cost_total", "p95_ms", "error_rate", "tokens_out")


class PolicyBuildError(BenchrouteError):
    """No endpoint satisfies a class (or the request to build is wrong)."""


@dataclass(slots=True)
class Evidence:
    """One endpoint's figures on one class (see the module doc)."""

    model: str
    endpoint_id: str | None
    score: float | None = None
    ci: tuple[float, float] | None = None
    n: int = 0
    cost_per_success: float | None = None
    cost_per_request: float | None = None
    p95_ms: float | None = None
    error_rate: float | None = None
    tokens_out: float | None = None
    price: dict[str, float | None] | None = None
    runs: list[EvidenceRun] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def entry(self, role: str, why: str) -> RouteEntry:
        return RouteEntry(
            model=self.model,
            endpoint_id=self.endpoint_id,
            role=role,  # type: ignore[arg-type]
            score=_round(self.score),
            ci=None if self.ci is None else (round(self.ci[0], 4), round(self.ci[1], 4)),
            n=self.n or None,
            cost_per_success=self.cost_per_success,
            cost_per_request=self.cost_per_request,
            p95_ms=_round(self.p95_ms, 1),
            error_rate=_round(self.error_rate),
            tokens_out=_round(self.tokens_out, 1),
            price=self.price,
            runs=self.runs,
            why=why,
        )

    def rejected(self) -> RejectedEntry:
        return RejectedEntry(
            model=self.model,
            endpoint_id=self.endpoint_id,
            reasons=self.reasons,
            score=_round(self.score),
            cost_per_success=self.cost_per_success,
            p95_ms=_round(self.p95_ms, 1),
            error_rate=_round(self.error_rate),
            runs=self.runs,
        )


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What ``route build`` was asked; None leaves the project file's setting."""

    classes: tuple[str, ...] = ()
    suite: str | None = None  # build one ad-hoc class over this suite
    constraints: RoutingConstraints = field(default_factory=RoutingConstraints)
    objective: str | None = None
    weights: RoutingWeights | None = None
    pareto_point: float | None = None
    freshness_days: float | None = None
    note: str | None = None
    now: float | None = None  # tests
    # With ``classes``: the policy whose other classes the build keeps (the active one).
    base: PolicyDocument | None = None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def wilson(events: float, trials: int, z: float = 1.959964) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95 % by default)."""
    if trials <= 0:
        return None
    p = events / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _mean_interval(values: Sequence[float], z: float = 1.959964) -> tuple[float, float] | None:
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    half = z * statistics.stdev(values) / math.sqrt(len(values))
    return mean - half, mean + half


def build_policy(store: Store, project: ProjectConfig, options: BuildOptions | None = None) -> PolicyDocument:
    """The policy for the project's task classes from the stored results (module doc);
    :class:`PolicyBuildError` when a class has no eligible endpoint."""
    options = options or BuildOptions()
    spec = project.routing
    now = options.now if options.now is not None else time.time()
    classes: dict[str, TaskClassSpec] = {}
    if options.suite is not None:
        from ..config import TaskClassSpec as _TaskClassSpec

        name = options.classes[0] if options.classes else options.suite
        base = spec.classes.get(name)
        classes[name] = (
            base.model_copy(update={"suites": [options.suite]})
            if base is not None
            else _TaskClassSpec(suites=[options.suite])
        )
    else:
        if not spec.classes:
            raise PolicyBuildError(
                "benchroute.yaml defines no task classes to build a policy for",
                hint="add routing: {classes: {NAME: {suites: [SUITE]}}}, or pass --suite SUITE",
            )
        wanted = options.classes or tuple(spec.classes)
        for name in wanted:
            if name not in spec.classes:
                known = ", ".join(spec.classes)
                raise PolicyBuildError(f"no task class {name!r}", hint=f"classes: {known}")
            classes[name] = spec.classes[name]
    objective = options.objective or spec.objective
    if objective not in OBJECTIVES:
        raise PolicyBuildError(f"unknown objective {objective!r}", hint="one of " + ", ".join(OBJECTIVES))
    if options.pareto_point is not None and not 0 <= options.pareto_point <= 1:
        raise PolicyBuildError(
            f"--pareto-point {options.pareto_point:g}: expected 0 (the cheapest end) to 1 (the best)"
        )
    freshness = options.freshness_days if options.freshness_days is not None else spec.freshness_days
    weights = options.weights or spec.weights
    pareto_point = options.pareto_point if options.pareto_point is not None else spec.pareto_point
    since = datetime.fromtimestamp(now, UTC) - timedelta(days=freshness)
    reader = _Reader(store, since)
    built: dict[str, PolicyClass] = {}
    failures: list[str] = []
    for name, klass in classes.items():
        base_constraints = spec.class_constraints(name) if name in spec.classes else spec.limits()
        constraints = base_constraints.merged(options.constraints)
        class_objective = options.objective or klass.objective or objective
        if class_objective == "best_under_budget" and constraints.max_cost_per_success is None:
            raise PolicyBuildError(
                f"class {name!r}: best_under_budget needs a budget",
                hint="give --max-cost-per-success USD (or max_cost_per_success in routing:)",
            )
        evidence = [
            _evidence(reader, project, klass, model, constraints, freshness)
            for model in _candidates(reader, project, klass)
        ]
        eligible = [e for e in evidence if not e.reasons]
        # Pinned models are served first whatever their figures; what they break is recorded.
        pinned = [_evidence(reader, project, klass, m, constraints, freshness) for m in klass.pin]
        if not eligible and not pinned:
            detail = "; ".join(f"{e.model}: {', '.join(e.reasons)}" for e in evidence) or (
                "no endpoint has results of " + ", ".join(klass.suites)
            )
            failures.append(f"class {name!r}: no endpoint meets {_describe(constraints)} ({detail})")
            continue
        ordered = _order(eligible, class_objective, weights, pareto_point)
        route: list[RouteEntry] = []
        for e in pinned:
            why = "pinned in benchroute.yaml (routing.classes.*.pin)"
            if e.reasons:
                why += "; would be rejected: " + "; ".join(e.reasons)
            route.append(e.entry("pinned", why))
        pinned_names = {e.model for e in pinned}
        for index, (e, why) in enumerate(ordered):
            if e.model in pinned_names:
                continue
            role = "primary" if index == 0 and not pinned else "fallback"
            route.append(e.entry(role, why))
        canary = None
        if klass.canary is not None and klass.canary.model == route[0].model:
            failures.append(
                f"class {name!r}: canary {klass.canary.model} is already the class's primary "
                "(nothing to compare it with: remove the canary, or exclude or pin another primary)"
            )
            continue
        if klass.canary is not None:
            model = klass.canary.model
            candidate = next((e for e in evidence if e.model == model), None)
            if candidate is None and model in project.models:
                candidate = _evidence(reader, project, klass, model, constraints, freshness)
            canary = CanaryEntry(
                model=model,
                endpoint_id=project.models[model].endpoint_id if model in project.models else None,
                percent=klass.canary.percent,
                sticky=klass.canary.sticky,
                shadow=klass.canary.shadow,
                auto=klass.canary.auto,
                criteria=klass.canary.criteria,
                salt=f"{name}:{model}:{int(now)}",
                started_ts=now,
                evidence=None if candidate is None else candidate.entry("fallback", "canary candidate"),
            )
        built[name] = PolicyClass(
            suites=list(klass.suites),
            metric=klass.metric,
            objective=class_objective,
            constraints=constraints,
            route=route,
            rejected=[e.rejected() for e in evidence if e.reasons and e.model not in pinned_names],
            canary=canary,
        )
    if failures:
        raise PolicyBuildError(
            "no policy: " + " | ".join(failures),
            hint="relax a constraint (--min-score, --max-cost-per-success, --max-p95-ms, "
            "--max-error-rate), run the suites again, or pin a model",
        )
    if options.base is not None and options.classes and options.suite is None:
        # A build of some classes replaces those in the base policy and keeps the others.
        kept = {name: klass for name, klass in options.base.classes.items() if name not in built}
        built = {**kept, **built}
    default_class = spec.fallback_class() if options.suite is None else next(iter(built))
    if default_class not in built:
        default_class = next(iter(built))
    rules = [rule for rule in spec.rules if rule.class_ in built]
    return PolicyDocument(
        created_ts=now,
        source="route build",
        note=options.note,
        freshness_days=freshness,
        objective=objective,
        default_class=default_class,
        rules=rules,
        classes=built,
    )


def _describe(constraints: RoutingConstraints) -> str:
    parts = [f"{k} {v:g}" for k, v in constraints.model_dump(exclude_none=True).items()]
    return "the constraints (" + ", ".join(parts) + ")" if parts else "the class's evidence requirements"


class _Reader:
    """Series points, runs and drift flags, each read once per build."""

    def __init__(self, store: Store, since: datetime) -> None:
        self.store = store
        self.since = since
        self._points: dict[tuple[str, str], list[SeriesPoint]] = {}
        self._status: dict[str, tuple[str, float]] = {}
        self._flags: dict[str, list[dict[str, Any]]] = {}

    def points(self, suite: str, metric: str) -> dict[str, list[SeriesPoint]]:
        """The suite's points of the class metric and the figures, per model, oldest first."""
        key = (suite, metric)
        if key not in self._points:
            metrics = list(dict.fromkeys([metric, *_FIGURES]))
            self._points[key] = self.store.series(suite, metrics=metrics, since=self.since)
        by_model: dict[str, list[SeriesPoint]] = defaultdict(list)
        for point in self._points[key]:
            by_model[point.model].append(point)
        return by_model

    def _run(self, run_id: str) -> tuple[str, float]:
        if run_id not in self._status:
            try:
                run = self.store.get_run(run_id)
            except Exception:  # a flag of a run no longer stored
                self._status[run_id] = ("gone", 0.0)
            else:
                started = datetime.fromisoformat(run.started_at)
                if started.tzinfo is None:
                    started = started.replace(tzinfo=UTC)
                self._status[run_id] = (run.status, started.timestamp())
        return self._status[run_id]

    def completed(self, run_id: str) -> bool:
        return self._run(run_id)[0] == "completed"

    def started(self, run_id: str) -> float:
        """When a run started (epoch seconds; 0 when it is not stored)."""
        return self._run(run_id)[1]

    def flags(self, suite: str) -> list[dict[str, Any]]:
        if suite not in self._flags:
            self._flags[suite] = self.store.drift_flags(suite=suite)
        return self._flags[suite]


def _candidates(reader: _Reader, project: ProjectConfig, klass: TaskClassSpec) -> list[str]:
    """The class's ``candidates``, else every model of the project: those with fresh results
    first, the others after (each is then rejected with the reason, not left out unseen)."""
    if klass.candidates is not None:
        names = list(klass.candidates)
    else:
        seen: dict[str, None] = {}
        for suite in klass.suites:
            for model in reader.points(suite, klass.metric):
                if model in project.models:
                    seen[model] = None
        names = [*seen, *(name for name in project.models if name not in seen)]
    excluded = set(klass.exclude)
    return [name for name in names if name not in excluded and name not in klass.pin]


def _evidence(
    reader: _Reader,
    project: ProjectConfig,
    klass: TaskClassSpec,
    model: str,
    constraints: RoutingConstraints,
    freshness: float,
) -> Evidence:
    spec = project.models[model]
    evidence = Evidence(model=model, endpoint_id=spec.endpoint_id)
    per_suite: list[dict[str, Any]] = []
    for suite in klass.suites:
        points = reader.points(suite, klass.metric).get(model, [])
        runs: dict[str, dict[str, SeriesPoint]] = defaultdict(dict)
        for point in points:
            runs[point.run_id][point.metric] = point
        chosen = None
        unmeasured = None  # the newest completed run without the class metric
        for run_id in sorted(runs, key=lambda r: next(iter(runs[r].values())).started_at, reverse=True):
            if not reader.completed(run_id):
                continue
            if klass.metric in runs[run_id]:
                chosen = run_id
                break
            unmeasured = unmeasured or run_id
        if chosen is None:
            evidence.reasons.append(
                f"no measured {klass.metric} on {suite} (run {unmeasured})"
                if unmeasured is not None
                else f"no completed run of {suite} in the last {freshness:g} days"
            )
            continue
        figures = runs[chosen]
        first = figures[klass.metric]
        evidence.runs.append(
            EvidenceRun(suite=suite, run_id=chosen, started_ts=first.started_at.timestamp(), n=first.n)
        )
        if first.endpoint_id is not None and first.endpoint_id != spec.endpoint_id:
            evidence.reasons.append(
                f"run {chosen} of {suite} measured endpoint {first.endpoint_id}; {model} is now "
                f"{spec.endpoint_id} (its settings changed: run the suite again)"
            )
        for flag in reader.flags(suite):
            if flag.get("direction") == "better":
                continue
            same = flag.get("endpoint_id") == spec.endpoint_id or (
                flag.get("endpoint_id") is None and flag.get("model") == model
            )
            if same and (
                flag.get("run_id") == chosen
                or reader.started(str(flag.get("run_id"))) >= first.started_at.timestamp()
            ):
                evidence.reasons.append(
                    f"drift flagged on {suite} {flag.get('metric')} at run {flag.get('run_id')}"
                )
                break
        per_suite.append(figures)
        if evidence.price is None:
            evidence.price = {"input_per_mtok": first.price_in, "output_per_mtok": first.price_out}
    if per_suite:
        _combine(reader, evidence, per_suite, klass.metric)
    evidence.reasons.extend(_violations(evidence, constraints))
    return evidence


def _combine(reader: _Reader, evidence: Evidence, per_suite: list[dict[str, Any]], metric: str) -> None:
    total_n = 0
    weighted = 0.0
    values: list[float] = []
    passes = 0.0
    measured = 0
    cost_total: float | None = 0.0
    requests = 0
    errors = 0.0
    p95s: list[float] = []
    tokens = 0.0
    tokens_n = 0
    for figures in per_suite:
        point = figures[metric]
        if point.value is None:
            evidence.reasons.append(f"no measured {metric} on {point.suite} (run {point.run_id})")
            continue
        total_n += point.n
        weighted += point.value * point.n
        if metric != "pass_rate":
            outcomes = reader.store.case_outcomes(point.run_id, point.suite, point.model, metric)
            values.extend(o.value for o in outcomes if o.value is not None)
        rate = figures.get("pass_rate")
        if rate is not None and rate.value is not None:
            passes += rate.value * rate.n
            measured += rate.n
        error = figures.get("error_rate")
        if error is not None and error.value is not None:
            errors += error.value * error.n
            requests += error.n
        cost = figures.get("cost_total")
        if cost_total is not None:
            cost_total = None if cost is None or cost.value is None else cost_total + cost.value
        p95 = figures.get("p95_ms")
        if p95 is not None and p95.value is not None:
            p95s.append(p95.value)
        out = figures.get("tokens_out")
        if out is not None and out.value is not None and out.n:
            tokens += out.value * out.n
            tokens_n += out.n
    if total_n:
        evidence.score = weighted / total_n
        evidence.n = total_n
        evidence.ci = wilson(weighted, total_n) if metric == "pass_rate" else _mean_interval(values)
    evidence.error_rate = errors / requests if requests else None
    evidence.p95_ms = max(p95s) if p95s else None
    evidence.tokens_out = tokens / tokens_n if tokens_n else None
    if cost_total is not None:
        successes = round(passes)
        evidence.cost_per_success = cost_total / successes if successes else None
        evidence.cost_per_request = cost_total / requests if requests else None


def _violations(evidence: Evidence, constraints: RoutingConstraints) -> list[str]:
    found: list[str] = []
    if evidence.runs and evidence.score is None:
        found.append("no measured value of the class metric")
    if (
        constraints.min_score is not None
        and evidence.score is not None
        and evidence.score < constraints.min_score
    ):
        found.append(f"score {evidence.score:.3f} < min_score {constraints.min_score:g}")
    if constraints.max_cost_per_success is not None and evidence.runs:
        if evidence.cost_per_success is None:
            found.append("cost per success unknown (unpriced, or nothing passed)")
        elif evidence.cost_per_success > constraints.max_cost_per_success:
            found.append(
                f"cost per success ${evidence.cost_per_success:.4g} > ${constraints.max_cost_per_success:.4g}"
            )
    if constraints.max_p95_ms is not None and evidence.runs:
        if evidence.p95_ms is None:
            found.append("p95 unknown (no answered request)")
        elif evidence.p95_ms > constraints.max_p95_ms:
            found.append(f"p95 {evidence.p95_ms:,.0f} ms > max_p95_ms {constraints.max_p95_ms:,.0f}")
    if constraints.max_error_rate is not None and evidence.runs:
        if evidence.error_rate is None:
            found.append("error rate unknown")
        elif evidence.error_rate > constraints.max_error_rate:
            found.append(
                f"error rate {evidence.error_rate:.3f} > max_error_rate {constraints.max_error_rate:g}"
            )
    return found


def _by_quality(evidence: list[Evidence]) -> list[Evidence]:
    return sorted(
        evidence,
        key=lambda e: (
            -(e.score or 0.0),
            e.cost_per_success is None,
            e.cost_per_success or 0.0,
            e.model,
        ),
    )


def _order(
    eligible: list[Evidence], objective: str, weights: RoutingWeights, pareto_point: float
) -> list[tuple[Evidence, str]]:
    """The eligible endpoints in route order, each with why it is where it is."""
    if not eligible:
        return []
    if objective == "cheapest":
        primary = min(
            eligible,
            key=lambda e: (e.cost_per_success is None, e.cost_per_success or 0.0, -(e.score or 0.0), e.model),
        )
        why = (
            f"cheapest passing: ${primary.cost_per_success:.4g} per success"
            if primary.cost_per_success is not None
            else "passing; no candidate has a known cost per success"
        )
    elif objective == "best_under_budget":
        primary = _by_quality(eligible)[0]
        why = f"best under budget: score {primary.score:.3f}"
    elif objective == "weighted":
        primary, utility = _weighted(eligible, weights)
        why = (
            f"best weighted utility {utility:.3f} "
            f"(quality {weights.quality:g}, cost {weights.cost:g}, p95 {weights.p95:g})"
        )
    else:
        frontier = _frontier(eligible)
        if frontier:
            index = round(pareto_point * (len(frontier) - 1))
            primary = frontier[index]
            why = (
                f"Pareto point {pareto_point:g}: {index + 1} of {len(frontier)} on the cost-vs-score frontier"
            )
        else:
            primary = _by_quality(eligible)[0]
            why = "no priced candidate for a frontier: best score"
    rest = [
        (e, f"fallback by quality: score {e.score:.3f}") for e in _by_quality(eligible) if e is not primary
    ]
    return [(primary, why), *rest]


def _weighted(eligible: list[Evidence], weights: RoutingWeights) -> tuple[Evidence, float]:
    def scale(values: list[float | None], higher: bool) -> list[float]:
        # unknown is the worst, never a win
        return [0.0 if v is None else v for v in desirability(values, higher)]

    quality = scale([e.score for e in eligible], True)
    cost = scale([e.cost_per_success for e in eligible], False)
    p95 = scale([e.p95_ms for e in eligible], False)
    total = weights.quality + weights.cost + weights.p95 or 1.0
    utilities = [
        (weights.quality * q + weights.cost * c + weights.p95 * lat) / total
        for q, c, lat in zip(quality, cost, p95, strict=True)
    ]

    # An unknown cost is never a win: with cost weighted, unpriced endpoints come after
    # every priced one, whatever their utility.
    def rank(i: int) -> tuple[bool, float, float, int]:
        unknown = weights.cost > 0 and eligible[i].cost_per_success is None
        return (not unknown, utilities[i], eligible[i].score or 0.0, -i)

    best = max(range(len(eligible)), key=rank)
    return eligible[best], utilities[best]


def _frontier(eligible: list[Evidence]) -> list[Evidence]:
    """The non-dominated priced endpoints (cost per success down, score up), cheapest first."""
    priced = [e for e in eligible if e.cost_per_success is not None and e.score is not None]
    names = pareto_frontier([(e.model, e.cost_per_success or 0.0, e.score or 0.0) for e in priced])
    frontier = [e for e in priced if e.model in names]
    return sorted(frontier, key=lambda e: (e.cost_per_success or 0.0, -(e.score or 0.0), e.model))
