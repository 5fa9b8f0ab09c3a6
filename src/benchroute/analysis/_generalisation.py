"""Generalisation gap: does a model score lower on perturbed copies of cases than on the originals?

A model that learnt a benchmark's items (they leaked into its training data) answers them
well and answers a re-worded, re-numbered or re-ordered copy worse; a model that solves the
task scores about the same on both. So a run whose dataset holds originals *and* perturbed
copies (``benchroute dataset perturb``) measures, per model and per perturbation kind, the
gap ``score(original) - score(perturbed)`` with a paired interval, and flags a model whose
gap is significantly above 0 as a *memorisation suspect*. A significantly negative gap (the
model does better on the copies) is reported, never flagged.

Which case is a copy of which. A perturbed case carries ``metadata.original_id`` and
``metadata.perturbation`` (its kind) and its id is ``f"{original_id}~{kind}"``, or
``f"{original_id}~{kind}-{n}"`` for the n-th variant of one kind. Stored results keep the
case id, not the case, so the id is enough: it is split on its *last* ``~`` (an original id
may hold one) and a trailing ``-<digits>`` is the variant number. The run's config snapshot
does keep each suite's cases; given (``config=run.config``), their metadata decides instead,
and a case whose metadata names no original is an original whatever its id.

Pairs. The unit is an original case of one suite, for one model. Its value on each side is
a mean: over the repeats of a case (a case's repeats are not independent cases), and on the
perturbed side over the variants of a kind first (three re-numbered copies of one problem
are one piece of evidence, not three). The ``all`` row averages the kinds' values per
original, so each kind weighs the same whatever its number of variants. An original with no
scored copy of a kind (or a copy without its original) is not a pair: it is counted as
``unpaired`` and left out.

Errors are not failures. A result whose request failed (provider error, timeout), whose
scorer or judge failed, or which has no score, says nothing about memorisation: it is left
out of its case's mean and counted in ``errors``; a case with every repeat errored has no
value. Missing figures are None, never 0.

Statistics, per (model, kind), difference = original - perturbed:

* 0/1 values on both sides of every pair (one repeat, one variant, a pass/fail scorer):
  McNemar's exact test — under "no gap" a discordant pair (right on one side only) is
  equally likely to go either way — and Newcombe's hybrid score interval for a difference of
  paired proportions (1998, method 10). Both are exact enough at small n, where a bootstrap
  of 3 pairs that all went one way would claim an interval of [1, 1].
* any other values (continuous scores, averaged repeats or variants): Student's t interval
  on the mean difference (wide at small n, as it should be) and the Wilcoxon signed-rank
  test (no normality assumed; it cannot reach p < 0.05 below 6 pairs).

A row is *significant* when its Holm-adjusted p-value is below ``alpha`` **and** its
``1 - alpha`` interval excludes 0 — the rule of ``benchroute compare``: the test says there
is a gap, the interval how large it plausibly is. Many models times many kinds are many
tests: with 5 models and 8 kinds, 45 unadjusted tests at 0.05 would flag about two robust
models by chance. Holm's step-down correction over every row of a report (each model's kinds
and its ``all`` row; an ``all`` row that holds exactly one kind's pairs is that kind's test
and counts once) keeps the chance of *any* false flag in a run below ``alpha``, whatever the
dependence between rows (they share originals). Family-wise control rather than a false
discovery rate because a flag accuses a model; Holm rather than Bonferroni because it is
uniformly more powerful at the same guarantee. Intervals are per row, not simultaneous.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..store import Result, is_load_result

ALL_KINDS = "all"
PERTURBATION_SEPARATOR = "~"

SUSPECT = "memorisation suspect"
NEGATIVE_GAP = "better on perturbed"
NO_GAP = "no significant gap"
NO_PAIRS = "no data"

BINARY_TESTS = "McNemar exact · Newcombe interval"
CONTINUOUS_TESTS = "Wilcoxon signed-rank · t interval"

GapMetric = Literal["score", "passed"]
Correction = Literal["holm", "none"]

_VARIANT = re.compile(r"^(?P<kind>.+?)-(?P<n>\d+)$")

# (suite, case_id) -> (original_id, kind) for a perturbed case, None for an original.
PerturbationLinks = Mapping[tuple[str, str], "tuple[str, str] | None"]


def perturbation_of(case_id: str) -> tuple[str, str] | None:
    """``(original_id, kind)`` of a perturbed case id (``orig~kind`` or ``orig~kind-2``), or
    None for an id that names no perturbation."""
    original, separator, tail = case_id.rpartition(PERTURBATION_SEPARATOR)
    if not separator or not original or not tail:
        return None
    variant = _VARIANT.match(tail)
    return original, variant.group("kind") if variant else tail


def perturbation_links(config: Mapping[str, Any] | None) -> dict[tuple[str, str], tuple[str, str] | None]:
    """Which case copies which, from a run's config snapshot (``RunRecord.config``): every
    case of every suite, mapped to ``(original_id, kind)`` when its metadata names an
    original, else to None. Suites stored without their cases contribute nothing (their ids
    are read by the naming convention)."""
    links: dict[tuple[str, str], tuple[str, str] | None] = {}
    for suite in (config or {}).get("suites") or []:
        if not isinstance(suite, Mapping):
            continue
        cases = (suite.get("dataset") or {}).get("cases")
        for case in cases if isinstance(cases, list) else []:
            if not isinstance(case, Mapping) or "id" not in case:
                continue
            case_id = str(case["id"])
            metadata = case.get("metadata") or {}
            original = metadata.get("original_id") if isinstance(metadata, Mapping) else None
            if original is None:
                links[(str(suite.get("name")), case_id)] = None
                continue
            kind = metadata.get("perturbation")
            if not isinstance(kind, str) or not kind:
                parsed = perturbation_of(case_id)
                kind = parsed[1] if parsed else "perturbed"
            links[(str(suite.get("name")), case_id)] = (str(original), kind)
    return links


@dataclass(frozen=True, slots=True)
class GapRow:
    """The generalisation gap of one model on one perturbation kind (or ``all`` of them)."""

    model: str
    kind: str  # a perturbation kind, or ALL_KINDS
    pairs: int  # originals with a scored original and at least one scored copy
    original: float | None  # mean value on the originals of the pairs
    perturbed: float | None  # mean value on their copies (variants averaged per original)
    gap: float | None  # original - perturbed
    ci_low: float | None  # the 1 - alpha interval of the gap (None: too few pairs)
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None  # Holm-adjusted over the report (== p_value without correction)
    test: str  # BINARY_TESTS or CONTINUOUS_TESTS ("" without pairs)
    significant: bool
    errors: int = 0  # results left out: the request, scorer or judge failed, or no score
    unpaired: int = 0  # originals or copies whose counterpart has no scored result
    kinds: tuple[str, ...] = ()  # the kinds the row pools (one, except for ALL_KINDS)

    @property
    def suspect(self) -> bool:
        """Significantly worse on the copies than on the originals."""
        return self.significant and self.gap is not None and self.gap > 0

    @property
    def verdict(self) -> str:
        if self.gap is None:
            return NO_PAIRS
        if not self.significant:
            return NO_GAP
        return SUSPECT if self.gap > 0 else NEGATIVE_GAP


@dataclass(frozen=True, slots=True)
class GapReport:
    """The generalisation gap of every model of a run, per kind and over all kinds."""

    rows: list[GapRow] = field(default_factory=list)  # per model: its kinds (sorted), then "all"
    alpha: float = 0.05
    correction: Correction = "holm"
    metric: GapMetric = "score"
    perturbed_cases: int = 0  # distinct (suite, case) copies among the results
    orphans: int = 0  # copies whose original has no result in the run at all
    tests: int = 0  # distinct hypotheses the correction counted

    @property
    def confidence(self) -> float:
        return 1 - self.alpha

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(row.model for row in self.rows))

    @property
    def kinds(self) -> list[str]:
        """Every perturbation kind measured (sorted), without ``all``."""
        return sorted({row.kind for row in self.rows if row.kind != ALL_KINDS})

    @property
    def suspects(self) -> list[str]:
        """Models with at least one row flagged as a memorisation suspect."""
        return list(dict.fromkeys(row.model for row in self.rows if row.suspect))

    @property
    def errors(self) -> int:
        """Results left out of the report for an error (counted once per model)."""
        return sum(row.errors for row in self.rows if row.kind == ALL_KINDS)

    def row(self, model: str, kind: str = ALL_KINDS) -> GapRow | None:
        """The row of ``model`` for ``kind`` (default: all kinds pooled)."""
        return next((r for r in self.rows if r.model == model and r.kind == kind), None)

    def for_model(self, model: str) -> list[GapRow]:
        return [r for r in self.rows if r.model == model]

    def __bool__(self) -> bool:
        """Whether the run had perturbed cases to report on."""
        return self.perturbed_cases > 0


@dataclass(slots=True)
class _Case:
    """One model's values on one case: the mean over its scored repeats."""

    total: float = 0.0
    scored: int = 0
    errors: int = 0

    @property
    def value(self) -> float | None:
        return self.total / self.scored if self.scored else None


def _value(result: Result, metric: GapMetric) -> float | None:
    """What a result contributes, or None when it was not measured."""
    if result.error is not None or result.error_kind is not None:
        return None
    if metric == "passed":
        return 1.0 if result.passed else 0.0
    if result.score is None or not math.isfinite(result.score):
        return None
    return float(result.score)


def _link(suite: str, case_id: str, links: PerturbationLinks | None) -> tuple[str, str] | None:
    if links is not None and (suite, case_id) in links:
        return links[(suite, case_id)]
    return perturbation_of(case_id)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the i-th smallest p times
    ``m - i + 1``, made monotone and capped at 1
    (``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True, slots=True)
class _Measured:
    original: float
    perturbed: float
    gap: float
    ci: tuple[float, float] | None
    p_value: float
    test: str


def _measure(pairs: list[tuple[float, float]], confidence: float) -> _Measured:
    # Imported here: a run without perturbed cases (most) never needs numpy for this.
    from ._compare import signed_rank_p_value
    from ._drift_stats import mcnemar_exact, newcombe_paired, t_ppf

    n = len(pairs)
    original = math.fsum(o for o, _ in pairs) / n
    perturbed = math.fsum(p for _, p in pairs) / n
    differences = [o - p for o, p in pairs]
    gap = math.fsum(differences) / n
    if all(o in (0.0, 1.0) and p in (0.0, 1.0) for o, p in pairs):
        both = sum(1 for o, p in pairs if o and p)
        original_only = sum(1 for o, p in pairs if o and not p)
        perturbed_only = sum(1 for o, p in pairs if p and not o)
        neither = n - both - original_only - perturbed_only
        # Newcombe's "new" side is the originals: the interval is of original - perturbed.
        interval = newcombe_paired(both, perturbed_only, original_only, neither, confidence)
        return _Measured(
            original,
            perturbed,
            gap,
            interval,
            mcnemar_exact(original_only, perturbed_only),
            BINARY_TESTS,
        )
    ci: tuple[float, float] | None = None
    if n >= 2:
        spread = math.sqrt(math.fsum((d - gap) ** 2 for d in differences) / (n - 1))
        half = t_ppf(0.5 + confidence / 2, n - 1) * spread / math.sqrt(n)
        ci = (gap - half, gap + half)
    return _Measured(original, perturbed, gap, ci, signed_rank_p_value(differences), CONTINUOUS_TESTS)


@dataclass(slots=True)
class _Collected:
    """The results of a run, indexed for pairing."""

    # (model, suite, case_id) -> the case's values
    cases: dict[tuple[str, str, str], _Case] = field(default_factory=lambda: defaultdict(_Case))
    # (model, suite, original_id) -> kind -> the variants' case ids
    copies: dict[tuple[str, str, str], dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    perturbed: dict[tuple[str, str], str] = field(default_factory=dict)  # (suite, copy) -> original
    seen: set[tuple[str, str]] = field(default_factory=set)  # (suite, case_id) with a result
    models: dict[str, None] = field(default_factory=dict)  # in the order results name them


def _collect(results: Iterable[Result], links: PerturbationLinks | None, metric: GapMetric) -> _Collected:
    collected = _Collected()
    for result in results:
        if is_load_result(result):
            continue
        collected.models.setdefault(result.model)
        collected.seen.add((result.suite, result.case_id))
        case = collected.cases[(result.model, result.suite, result.case_id)]
        value = _value(result, metric)
        if value is None:
            case.errors += 1
        else:
            case.total += value
            case.scored += 1
        link = _link(result.suite, result.case_id, links)
        if link is not None:
            collected.perturbed[(result.suite, result.case_id)] = link[0]
            collected.copies[(result.model, result.suite, link[0])][link[1]].add(result.case_id)
    return collected


@dataclass(slots=True)
class _Cell:
    """One (model, kind) before the correction: its pairs and what was left out."""

    model: str
    kind: str
    kinds: tuple[str, ...]
    pairs: list[tuple[float, float]] = field(default_factory=list)
    errors: int = 0
    unpaired: int = 0
    measured: _Measured | None = None


def _cells(collected: _Collected, model: str, confidence: float) -> list[_Cell]:
    """The model's cells: one per kind it was measured on, then ``all``."""
    cases, copies = collected.cases, collected.copies
    originals = sorted((suite, original) for (m, suite, original) in copies if m == model)
    kinds = sorted({kind for (m, _, _), by_kind in copies.items() if m == model for kind in by_kind})
    cells = []
    for kind in [*kinds, ALL_KINDS]:
        cell = _Cell(model, kind, tuple(kinds) if kind == ALL_KINDS else (kind,))
        for suite, original_id in originals:
            by_kind = copies[(model, suite, original_id)]
            chosen = sorted(by_kind) if kind == ALL_KINDS else [kind] if kind in by_kind else []
            if not chosen:
                continue
            source = cases.get((model, suite, original_id))
            cell.errors += source.errors if source is not None else 0
            kind_values = []
            for name in chosen:
                variants = [cases[(model, suite, case_id)] for case_id in sorted(by_kind[name])]
                cell.errors += sum(v.errors for v in variants)
                values = [v.value for v in variants if v.value is not None]
                if values:  # the variants of one kind are one piece of evidence: their mean
                    kind_values.append(math.fsum(values) / len(values))
            left = source.value if source is not None else None
            if left is None or not kind_values:
                cell.unpaired += 1
                continue
            cell.pairs.append((left, math.fsum(kind_values) / len(kind_values)))
        cell.measured = _measure(cell.pairs, confidence) if cell.pairs else None
        cells.append(cell)
    return cells


def _row(cell: _Cell, p_adjusted: float | None, alpha: float) -> GapRow:
    measured = cell.measured
    if measured is None or p_adjusted is None:
        return GapRow(
            model=cell.model,
            kind=cell.kind,
            pairs=0,
            original=None,
            perturbed=None,
            gap=None,
            ci_low=None,
            ci_high=None,
            p_value=None,
            p_adjusted=None,
            test="",
            significant=False,
            errors=cell.errors,
            unpaired=cell.unpaired,
            kinds=cell.kinds,
        )
    low, high = measured.ci if measured.ci is not None else (None, None)
    excludes_zero = low is not None and high is not None and (low > 0 or high < 0)
    return GapRow(
        model=cell.model,
        kind=cell.kind,
        pairs=len(cell.pairs),
        original=measured.original,
        perturbed=measured.perturbed,
        gap=measured.gap,
        ci_low=low,
        ci_high=high,
        p_value=measured.p_value,
        p_adjusted=p_adjusted,
        test=measured.test,
        significant=p_adjusted < alpha and excludes_zero,
        errors=cell.errors,
        unpaired=cell.unpaired,
        kinds=cell.kinds,
    )


def generalisation_gap(
    results: Iterable[Result],
    *,
    config: Mapping[str, Any] | None = None,
    alpha: float = 0.05,
    metric: GapMetric = "score",
    correction: Correction = "holm",
) -> GapReport:
    """The generalisation gap of every model in ``results`` (what ``Store.results(run_id)``
    returns for a run whose suites hold originals and perturbed copies; see the module
    docstring). ``config``: the run's config snapshot (``RunRecord.config``), whose case
    metadata then links copies to originals instead of the id convention. ``metric``:
    ``score`` (the result's score) or ``passed`` (its pass/fail outcome). An empty report
    (falsy) when no result is of a perturbed case."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if correction not in ("holm", "none"):
        raise ValueError(f"correction must be 'holm' or 'none', got {correction!r}")
    collected = _collect(results, perturbation_links(config) if config is not None else None, metric)
    if not collected.perturbed:
        return GapReport(alpha=alpha, correction=correction, metric=metric)
    cells = [cell for model in collected.models for cell in _cells(collected, model, 1 - alpha)]
    # One hypothesis per distinct set of pairs: an "all" row of a single kind is that kind's.
    hypotheses: dict[tuple[str, tuple[str, ...]], float] = {}
    for cell in cells:
        if cell.measured is not None:
            hypotheses.setdefault((cell.model, cell.kinds), cell.measured.p_value)
    raw = list(hypotheses.values())
    adjusted = dict(zip(hypotheses, holm(raw) if correction == "holm" else raw, strict=True))
    return GapReport(
        rows=[_row(cell, adjusted.get((cell.model, cell.kinds)), alpha) for cell in cells],
        alpha=alpha,
        correction=correction,
        metric=metric,
        perturbed_cases=len(collected.perturbed),
        orphans=sum(
            1
            for (suite, _), original_id in collected.perturbed.items()
            if (suite, original_id) not in collected.seen
        ),
        tests=len(hypotheses),
    )
