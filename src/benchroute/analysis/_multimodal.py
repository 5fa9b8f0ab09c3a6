"""Figures of multimodal runs: latency per modality against budgets, robustness curves over
degradation levels, and the POPE and CHAIR summaries per model.

Modality. Each result of the multimodal tier records what it sent (``details.media``:
``image``, ``audio``, ``file``, or ``text`` for a case without files); results of other tiers
are ``text``. :func:`modality_stats` gives, per (modality, model), the latency distribution a
caller waited (end to end, as the leaderboard's; failed requests left out), time to first
token, mean payload bytes and mean input tokens, and checks the suite's ``budgets:`` for that
modality. A budget with nothing measured is unknown (``within_budget`` None), never met.

Degradation. A degraded copy of a case (``<case>#<kind>=<level>``, ``metadata.degradation``
in the run's config, see :mod:`benchroute.runner`) is compared with its original:
:func:`degradation_curves` gives, per (model, kind), the mean score at level "original" and
at each level, over the originals that have a copy at that level (pairs only, so a level's
drop is not a different set of cases), with the mean drop and its count. Scorer errors and
request errors are left out (an error says nothing about robustness).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..scorers import chair_summary, pope_summary
from ..store import Result
from ._leaderboard import percentile, waited_ms

MODALITIES = ("text", "image", "file", "audio")


def result_modality(result: Result) -> str:
    """What ``result`` was sent as: image, file, audio or text."""
    media = (result.details or {}).get("media")
    if isinstance(media, dict) and isinstance(media.get("modality"), str):
        return str(media["modality"])
    return "text"


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    figure: str  # p50_ms | p95_ms | p99_ms | ttft_p95_ms
    limit: float
    actual: float | None

    @property
    def met(self) -> bool | None:
        return None if self.actual is None else self.actual <= self.limit


@dataclass(frozen=True, slots=True)
class ModalityStats:
    """One (suite, modality, model): latency, TTFT, payload, and the budget checks."""

    suite: str
    modality: str
    model: str
    results: int
    measured: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    p50_ttft_ms: float | None
    p95_ttft_ms: float | None
    mean_payload_bytes: float | None
    mean_input_tokens: float | None
    budget: tuple[BudgetCheck, ...] = ()

    @property
    def within_budget(self) -> bool | None:
        """True when every budget is met, False when one is missed, None when there is no
        budget or a budgeted figure was not measured."""
        if not self.budget:
            return None
        verdicts = [check.met for check in self.budget]
        if any(v is False for v in verdicts):
            return False
        return None if any(v is None for v in verdicts) else True


def _budget_figures(budget: Mapping[str, Any]) -> list[tuple[str, float]]:
    return [
        (name, float(budget[name]))
        for name in ("p50_ms", "p95_ms", "p99_ms", "ttft_p95_ms")
        if budget.get(name) is not None
    ]


def modality_stats(
    results: Iterable[Result], budgets: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None
) -> list[ModalityStats]:
    """Per (suite, modality, model) figures, with ``budgets`` (suite -> modality -> budget
    figures, as in a suite's ``budgets:``) checked. Ordered by suite, modality, model."""
    groups: dict[tuple[str, str, str], list[Result]] = defaultdict(list)
    for result in results:
        groups[(result.suite, result_modality(result), result.model)].append(result)
    out: list[ModalityStats] = []
    order = {name: index for index, name in enumerate(MODALITIES)}
    for (suite, modality, model), rows in sorted(
        groups.items(), key=lambda item: (item[0][0], order.get(item[0][1], 99), item[0][1], item[0][2])
    ):
        waited = [w for r in rows if not r.error and (w := waited_ms(r)) is not None]
        ttft = [r.ttft_ms for r in rows if not r.error and r.ttft_ms is not None]
        payloads = [
            float(media["payload_bytes"])
            for r in rows
            if isinstance(media := (r.details or {}).get("media"), dict) and "payload_bytes" in media
        ]
        tokens = [r.input_tokens for r in rows if not r.error and r.input_tokens]
        figures = {
            "p50_ms": percentile(waited, 50),
            "p95_ms": percentile(waited, 95),
            "p99_ms": percentile(waited, 99),
            "ttft_p95_ms": percentile(ttft, 95),
        }
        budget = (budgets or {}).get(suite, {}).get(modality) or {}
        checks = tuple(BudgetCheck(name, limit, figures[name]) for name, limit in _budget_figures(budget))
        out.append(
            ModalityStats(
                suite=suite,
                modality=modality,
                model=model,
                results=len(rows),
                measured=len(waited),
                p50_ms=figures["p50_ms"],
                p95_ms=figures["p95_ms"],
                p99_ms=figures["p99_ms"],
                p50_ttft_ms=percentile(ttft, 50),
                p95_ttft_ms=figures["ttft_p95_ms"],
                mean_payload_bytes=statistics.fmean(payloads) if payloads else None,
                mean_input_tokens=statistics.fmean(tokens) if tokens else None,
                budget=checks,
            )
        )
    return out


def suite_budgets(config: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """suite -> modality -> budget from a run's config snapshot (suites without budgets left out)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for suite in config.get("suites") or []:
        budgets = suite.get("budgets") if isinstance(suite, dict) else None
        if budgets:
            out[str(suite.get("name"))] = {str(k): dict(v) for k, v in budgets.items() if isinstance(v, dict)}
    return out


def has_media(results: Iterable[Result]) -> bool:
    return any(result_modality(r) != "text" for r in results)


# --- degradation curves ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurvePoint:
    level: float
    pairs: int  # originals with a scored copy at this level
    original_mean: float
    degraded_mean: float

    @property
    def drop(self) -> float:
        return self.original_mean - self.degraded_mean


@dataclass(frozen=True, slots=True)
class DegradationCurve:
    """How one model's score falls with one kind of degradation."""

    suite: str
    model: str
    kind: str
    original_mean: float | None  # over every scored original of the suite
    points: tuple[CurvePoint, ...]


def _split_variant(case_id: str) -> tuple[str, str, float] | None:
    original, sep, rest = case_id.rpartition("#")
    if not sep or "=" not in rest:
        return None
    kind, _, level = rest.partition("=")
    try:
        return original, kind, float(level)
    except ValueError:
        return None


def _value(result: Result) -> float | None:
    return None if result.error or result.score is None else float(result.score)


def degradation_curves(results: Iterable[Result]) -> list[DegradationCurve]:
    """Score against degradation level per (suite, model, kind); see the module docstring."""
    originals: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    copies: dict[tuple[str, str, str, float], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        value = _value(result)
        if value is None:
            continue
        variant = _split_variant(result.case_id)
        if variant is None:
            originals[(result.suite, result.model, result.case_id)].append(value)
        else:
            original, kind, level = variant
            copies[(result.suite, result.model, kind, level)][original].append(value)
    curves: dict[tuple[str, str, str], list[CurvePoint]] = defaultdict(list)
    for (suite, model, kind, level), by_original in copies.items():
        pairs = [
            (statistics.fmean(originals[(suite, model, original)]), statistics.fmean(values))
            for original, values in by_original.items()
            if originals.get((suite, model, original))
        ]
        if not pairs:
            continue
        curves[(suite, model, kind)].append(
            CurvePoint(
                level,
                len(pairs),
                statistics.fmean(p[0] for p in pairs),
                statistics.fmean(p[1] for p in pairs),
            )
        )
    out = []
    for (suite, model, kind), points in sorted(curves.items()):
        scored = [statistics.fmean(v) for (s, m, _), v in originals.items() if s == suite and m == model]
        out.append(
            DegradationCurve(
                suite,
                model,
                kind,
                statistics.fmean(scored) if scored else None,
                tuple(sorted(points, key=lambda p: p.level)),
            )
        )
    return out


# --- POPE and CHAIR per model ------------------------------------------------------------------


def hallucination_summaries(results: Iterable[Result]) -> dict[str, dict[str, dict[str, Any]]]:
    """model -> {"pope": pope_summary, "chair": chair_summary} over the run's pope and chair
    scores (only the kinds a run used)."""
    pope: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    chair: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        for score in result.scores:
            details = score.get("details") or {}
            if score.get("scorer") == "pope" and "truth" in details:
                pope[result.model].append((str(details["truth"]), details.get("answer")))
            elif score.get("scorer") == "chair" and "mentioned" in details:
                chair[result.model].append(details)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for model in sorted(set(pope) | set(chair)):
        entry: dict[str, dict[str, Any]] = {}
        if pope.get(model):
            entry["pope"] = pope_summary(pope[model])
        if chair.get(model):
            entry["chair"] = chair_summary(chair[model])
        out[model] = entry
    return out
