"""Do the benchmarks predict production? (``benchroute correlate``)

For each task class, every endpoint that answered routed requests is given two figures: its
benchmark score on the class — from the policy versions the requests were served under (a
route entry, the canary's evidence or a rejected entry; the newest version that scored it) —
and its production outcome: the mean user feedback score of its requests (each request's
scores averaged first, so a request weighs once) with a 95 % interval (Wilson when every
score is 0 or 1, else a normal interval) and, where a judge scored replies, the mean judge
score likewise.

Across a class's endpoints:

- **rank correlation**: Spearman's ρ between benchmark and production (``scipy.stats.spearmanr``),
  with a percentile bootstrap interval: each endpoint's requests are resampled with
  replacement (the benchmark scores held fixed), ``draws`` times with a fixed seed;
- **pairwise agreement**: the share of endpoint pairs the benchmark and production put in the
  same order (a pair tied in production counts half; a pair tied on the benchmark is left
  out: the benchmark does not order it), with the same bootstrap.

The overall line pools the classes: ρ over every class × endpoint point, agreement over the
pairs within each class. Fewer than two endpoints with both figures leave both unknown
(None), with the reason.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import BenchrouteError
from ..config import PolicyDocument
from ._build import wilson

if TYPE_CHECKING:
    from ..store import Store

DEFAULT_DRAWS = 2000
DEFAULT_SEED = 0
_Z = 1.959964
NO_FEEDBACK = "no feedback yet: POST /v1/feedback {request_id, score|thumbs}"
_ONE_ENDPOINT = "route a canary or a second candidate to compare"
_FEW_DISTINCT = 64  # distinct scores up to which a resample is one multinomial draw
_CELLS_PER_BLOCK = 2_000_000  # resampled values drawn at once (memory stays ~16 MB)


class CorrelationError(BenchrouteError):
    """No routed request has feedback (or a judge score) to correlate."""


@dataclass(frozen=True, slots=True)
class BenchmarkScore:
    """An endpoint's benchmark figure on a class, as a policy recorded it."""

    score: float
    ci: tuple[float, float] | None = None
    n: int | None = None
    policy_version: int | None = None
    runs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "ci": None if self.ci is None else list(self.ci),
            "n": self.n,
            "policy_version": self.policy_version,
            "runs": list(self.runs),
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """A production outcome of one endpoint: the mean over its requests, with a 95 % interval."""

    mean: float
    ci: tuple[float, float] | None  # None: one request, no interval
    n: int
    method: str  # wilson | normal

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": round(self.mean, 4),
            "ci": None if self.ci is None else [round(self.ci[0], 4), round(self.ci[1], 4)],
            "n": self.n,
            "method": self.method,
        }


@dataclass(frozen=True, slots=True)
class EndpointOutcome:
    """One endpoint of a class: benchmark against production."""

    model: str
    endpoint_id: str | None
    requests: int  # routed, answered requests of this class
    benchmark: BenchmarkScore | None  # None: no served policy scored it on this class
    feedback: Outcome | None  # None: no feedback on its requests
    judge: Outcome | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "endpoint_id": self.endpoint_id,
            "requests": self.requests,
            "benchmark": None if self.benchmark is None else self.benchmark.to_json(),
            "feedback": None if self.feedback is None else self.feedback.to_json(),
            "judge": None if self.judge is None else self.judge.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Agreement:
    """How well the benchmark orders endpoints the way one production outcome does."""

    outcome: str  # feedback | judge
    endpoints: int  # points with both figures
    pairs: int  # ordered pairs the agreement is over
    rho: float | None = None
    rho_ci: tuple[float, float] | None = None
    agreement: float | None = None
    agreement_ci: tuple[float, float] | None = None
    reason: str | None = None  # why rho (or the agreement) is unknown

    def to_json(self) -> dict[str, Any]:
        def pair(value: tuple[float, float] | None) -> list[float] | None:
            return None if value is None else [round(value[0], 4), round(value[1], 4)]

        return {
            "outcome": self.outcome,
            "endpoints": self.endpoints,
            "pairs": self.pairs,
            "rho": None if self.rho is None else round(self.rho, 4),
            "rho_ci": pair(self.rho_ci),
            "agreement": None if self.agreement is None else round(self.agreement, 4),
            "agreement_ci": pair(self.agreement_ci),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ClassCorrelation:
    task_class: str
    requests: int  # routed, answered requests of the class
    with_feedback: int
    endpoints: list[EndpointOutcome]
    feedback: Agreement
    judge: Agreement | None  # None: no judge scores in this class

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.task_class,
            "requests": self.requests,
            "with_feedback": self.with_feedback,
            "endpoints": [endpoint.to_json() for endpoint in self.endpoints],
            "feedback": self.feedback.to_json(),
            "judge": None if self.judge is None else self.judge.to_json(),
        }


@dataclass(frozen=True, slots=True)
class CorrelationReport:
    classes: list[ClassCorrelation]
    overall: Agreement
    overall_judge: Agreement | None
    requests: int
    policy_versions: list[int]
    draws: int
    seed: int
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "policy_versions": self.policy_versions,
            "bootstrap": {"draws": self.draws, "seed": self.seed},
            "classes": [klass.to_json() for klass in self.classes],
            "overall": self.overall.to_json(),
            "overall_judge": None if self.overall_judge is None else self.overall_judge.to_json(),
            "notes": list(self.notes),
        }


# -- figures -----------------------------------------------------------------------------------


def feedback_outcome(values: Sequence[float]) -> Outcome | None:
    """The mean of per-request scores with a 95 % interval (Wilson for 0/1 scores)."""
    if not values:
        return None
    n = len(values)
    mean = math.fsum(values) / n
    if all(value in (0.0, 1.0) for value in values):
        return Outcome(mean, wilson(sum(values), n), n, "wilson")
    if n < 2:
        return Outcome(mean, None, n, "normal")
    half = _Z * statistics.stdev(values) / math.sqrt(n)
    return Outcome(mean, (max(0.0, mean - half), min(1.0, mean + half)), n, "normal")


def benchmark_scores(
    policies: Mapping[int, PolicyDocument], served: Iterable[tuple[str, str, int | None]]
) -> dict[tuple[str, str], BenchmarkScore]:
    """(class, model) -> its benchmark score from the newest of the versions it was served
    under (``served``: (class, model, version) of each request) that scored it."""
    versions: dict[tuple[str, str], set[int]] = {}
    for task_class, model, version in served:
        if version is not None:
            versions.setdefault((task_class, model), set()).add(version)
    found: dict[tuple[str, str], BenchmarkScore] = {}
    for (task_class, model), numbers in versions.items():
        for version in sorted(numbers, reverse=True):
            policy = policies.get(version)
            klass = policy.classes.get(task_class) if policy is not None else None
            if klass is None:
                continue
            score = _scored(klass, model, version)
            if score is not None:
                found[(task_class, model)] = score
                break
    return found


def _scored(klass: Any, model: str, version: int) -> BenchmarkScore | None:
    candidates: list[Any] = [entry for entry in klass.route if entry.model == model]
    if klass.canary is not None and klass.canary.model == model and klass.canary.evidence is not None:
        candidates.append(klass.canary.evidence)
    candidates += [entry for entry in klass.rejected if entry.model == model]
    for entry in candidates:
        if entry.score is not None:
            return BenchmarkScore(
                score=float(entry.score),
                ci=getattr(entry, "ci", None),
                n=getattr(entry, "n", None),
                policy_version=version,
                runs=tuple(run.run_id for run in entry.runs),
            )
    return None


@dataclass(slots=True)
class _Point:
    group: str  # the class: agreement pairs stay within one
    benchmark: float
    values: np.ndarray  # per-request production scores


def _resampled_means(values: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    n = len(values)
    if n == 1 or np.all(values == values[0]):
        return np.full(draws, float(values[0]))
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) <= _FEW_DISTINCT:
        # Feedback takes few values (thumbs, a 1-5 scale): a resample is then a multinomial
        # draw of how often each value comes up — the same distribution as drawing n values.
        drawn = rng.multinomial(n, counts / n, size=draws)
        return np.asarray(drawn @ distinct / n)
    block = max(1, _CELLS_PER_BLOCK // n)
    parts = [
        rng.choice(values, size=(min(block, draws - start), n), replace=True).mean(axis=1)
        for start in range(0, draws, block)
    ]
    return np.concatenate(parts)


def _rows_spearman(benchmark: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Spearman's ρ of ``benchmark`` with each row of ``matrix`` (NaN where a row is constant)."""
    from scipy.stats import rankdata

    bench = rankdata(benchmark)
    bench = bench - bench.mean()
    ranks = rankdata(matrix, axis=1)
    ranks = ranks - ranks.mean(axis=1, keepdims=True)
    numerator = ranks @ bench
    denominator = np.sqrt((ranks**2).sum(axis=1) * float((bench**2).sum()))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = numerator / denominator
    rho[denominator == 0] = np.nan
    return np.asarray(rho)


def _pairs(points: Sequence[_Point]) -> list[tuple[int, int, float]]:
    """(i, j, sign of the benchmark's order) of every pair within a group the benchmark orders."""
    out = []
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            if points[i].group != points[j].group:
                continue
            diff = points[i].benchmark - points[j].benchmark
            if diff != 0:
                out.append((i, j, math.copysign(1.0, diff)))
    return out


def _agreements(means: np.ndarray, pairs: Sequence[tuple[int, int, float]]) -> np.ndarray:
    """The pairwise agreement of each row of ``means`` (draws × points)."""
    scores = np.zeros(means.shape[0])
    for i, j, sign in pairs:
        production = np.sign(means[:, i] - means[:, j])
        scores += np.where(production == 0, 0.5, (production == sign).astype(float))
    return np.asarray(scores / len(pairs))


def _interval(values: np.ndarray) -> tuple[float, float] | None:
    kept = values[~np.isnan(values)]
    if len(kept) < max(10, len(values) // 2):  # most draws had no order to correlate
        return None
    low, high = np.percentile(kept, [2.5, 97.5])
    return float(low), float(high)


def rank_agreement(
    points: Sequence[tuple[str, float, Sequence[float]]],
    *,
    outcome_name: str = "feedback",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> Agreement:
    """ρ and pairwise agreement of (group, benchmark score, per-request production scores)
    points, with bootstrap intervals (see the module doc)."""
    kept = [
        _Point(group, float(bench), np.asarray(values, dtype=float))
        for group, bench, values in points
        if values
    ]
    pairs = _pairs(kept)
    if len(kept) < 2:
        endpoints = "no endpoint has" if not kept else "only 1 endpoint has"
        what = "feedback" if outcome_name == "feedback" else "judge scores"
        return Agreement(outcome_name, len(kept), 0, reason=f"{endpoints} {what}: {_ONE_ENDPOINT}")
    from scipy.stats import spearmanr

    bench = np.array([point.benchmark for point in kept])
    means = np.array([float(point.values.mean()) for point in kept])
    reason = None
    rho: float | None = None
    if np.all(bench == bench[0]):
        reason = "every endpoint has the same benchmark score: nothing to rank"
    elif np.all(means == means[0]):
        reason = f"every endpoint has the same mean {outcome_name}: nothing to rank"
    else:
        rho = float(spearmanr(bench, means).statistic)
    rng = np.random.default_rng(seed)
    matrix = np.column_stack([_resampled_means(point.values, draws, rng) for point in kept])
    rho_ci = _interval(_rows_spearman(bench, matrix)) if rho is not None else None
    agreement = agreement_ci = None
    if pairs:
        agreement = float(_agreements(means[np.newaxis, :], pairs)[0])
        agreement_ci = _interval(_agreements(matrix, pairs))
    elif reason is None:
        reason = "no pair of endpoints the benchmark orders"
    return Agreement(outcome_name, len(kept), len(pairs), rho, rho_ci, agreement, agreement_ci, reason)


def correlate_feedback(
    rows: Sequence[Mapping[str, Any]],
    benchmarks: Mapping[tuple[str, str], BenchmarkScore],
    *,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> CorrelationReport:
    """Benchmark against production per class and overall (see the module doc).

    ``rows``: routed requests as :meth:`PolicyStore.routed_requests` gives them (``task_class``,
    ``model``, ``endpoint_id``, ``status``, ``policy_version``, ``feedback_score``,
    ``judge_score``); only answered ones (status 200) count. ``benchmarks``: (class, model) ->
    score, e.g. from :func:`benchmark_scores`. :class:`CorrelationError` when no request has
    feedback nor a judge score."""
    answered = [
        row for row in rows if row.get("status") == 200 and row.get("model") and row.get("task_class")
    ]
    if not any(
        row.get("feedback_score") is not None or row.get("judge_score") is not None for row in answered
    ):
        routed = f" ({len(answered):,} routed requests, none with feedback)" if answered else ""
        raise CorrelationError(NO_FEEDBACK + routed)
    by_class: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for row in answered:
        by_class.setdefault(str(row["task_class"]), {}).setdefault(str(row["model"]), []).append(row)
    classes: list[ClassCorrelation] = []
    pooled: list[tuple[str, float, list[float]]] = []
    pooled_judge: list[tuple[str, float, list[float]]] = []
    notes: list[str] = []
    any_judge = False
    for offset, (name, models) in enumerate(sorted(by_class.items())):
        endpoints: list[EndpointOutcome] = []
        points: list[tuple[str, float, list[float]]] = []
        judge_points: list[tuple[str, float, list[float]]] = []
        has_judge = False
        for model, served in sorted(models.items()):
            feedback = [float(r["feedback_score"]) for r in served if r.get("feedback_score") is not None]
            judged = [float(r["judge_score"]) for r in served if r.get("judge_score") is not None]
            has_judge = has_judge or bool(judged)
            bench = benchmarks.get((name, model))
            endpoint_id = next((r.get("endpoint_id") for r in reversed(served) if r.get("endpoint_id")), None)
            endpoints.append(
                EndpointOutcome(
                    model,
                    endpoint_id,
                    len(served),
                    bench,
                    feedback_outcome(feedback),
                    feedback_outcome(judged),
                )
            )
            if bench is None:
                if feedback or judged:
                    notes.append(
                        f"class {name}: {model} has production scores but no benchmark score in the "
                        "policies that served it: left out of the correlation"
                    )
                continue
            if feedback:
                points.append((name, bench.score, feedback))
            if judged:
                judge_points.append((name, bench.score, judged))
        any_judge = any_judge or has_judge
        class_seed = seed + 1 + offset
        classes.append(
            ClassCorrelation(
                task_class=name,
                requests=sum(len(served) for served in models.values()),
                with_feedback=sum(
                    1 for s in models.values() for r in s if r.get("feedback_score") is not None
                ),
                endpoints=endpoints,
                feedback=rank_agreement(points, outcome_name="feedback", draws=draws, seed=class_seed),
                judge=rank_agreement(judge_points, outcome_name="judge", draws=draws, seed=class_seed)
                if has_judge
                else None,
            )
        )
        pooled += points
        pooled_judge += judge_points
    versions = sorted(
        {int(row["policy_version"]) for row in answered if row.get("policy_version") is not None}
    )
    return CorrelationReport(
        classes=classes,
        overall=rank_agreement(pooled, outcome_name="feedback", draws=draws, seed=seed),
        overall_judge=rank_agreement(pooled_judge, outcome_name="judge", draws=draws, seed=seed)
        if any_judge
        else None,
        requests=len(answered),
        policy_versions=versions,
        draws=draws,
        seed=seed,
        notes=notes,
    )


def load_feedback(
    store: Store,
    *,
    task_class: str | None = None,
    since_ts: float | None = None,
    policy_version: int | None = None,
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], BenchmarkScore]]:
    """The routed requests with their feedback, and the benchmark score of every (class,
    model) they were served by, from the stored policy versions that served them."""
    from ..store import PolicyStore

    policies = PolicyStore(store)
    rows = policies.routed_requests(task_class=task_class, since_ts=since_ts, policy_version=policy_version)
    served = {
        (str(row["task_class"]), str(row["model"]), row.get("policy_version"))
        for row in rows
        if row.get("model") and row.get("task_class")
    }
    documents: dict[int, PolicyDocument] = {}
    for version in sorted({v for _, _, v in served if v is not None}):
        stored = policies.policy(int(version))
        if stored is not None:
            documents[int(version)] = PolicyDocument.model_validate(stored.document)
    return rows, benchmark_scores(documents, served)
