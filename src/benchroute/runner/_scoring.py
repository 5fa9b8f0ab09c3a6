"""Scoring one completion with a suite's scorers: weights, thresholds and groups.

A suite's ``scorers`` is a list of scorers and groups. A case passes when every entry passes
(a scorer its threshold; an ``all`` group every member; an ``any`` group one member), and its
score is the weighted mean of the entries' values (a group's value: the weighted mean of its
members for ``all``, the best member's for ``any``). Each member's own Score is stored, with
the group it belongs to, so a report can say exactly what failed.

A scorer that raises (a bug, a missing optional extra, a judge call that failed) says
nothing about the model: it is not a score of 0 but an error of the measurement. Its entry
is left out of the value and of the pass decision, its message is in ``Scoring.errors``
(the result builder makes the result an error of kind ``SCORER_ERROR_KIND``), and the other
scorers' scores are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Case, ScorerGroup, ScorerSpec, SuiteSpec
from ..providers import Completion
from ..scorers import JudgeFailed, Scorer, ScoringContext, add_cost, build_scorer


@dataclass
class _Entry:
    weight: float
    members: list[tuple[Scorer, ScorerSpec]]
    mode: str = "single"  # single, all, any
    label: str | None = None


@dataclass
class Scoring:
    """The outcome of scoring one completion."""

    scores: list[dict[str, Any]] = field(default_factory=list)
    value: float = 0.0
    passed: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0  # None: a judge it called is unpriced
    # "scorer '<name>' failed: <Type>: <message>" for each scorer that raised.
    errors: list[str] = field(default_factory=list)


class SuiteScorer:
    """All the scorers of one suite, built once and applied to each completion."""

    def __init__(self, suite: SuiteSpec, context: ScoringContext | None = None) -> None:
        where = suite.source or suite.name
        base_dir = Path(suite.source).parent if suite.source else None
        self._entries: list[_Entry] = []
        for entry in suite.scorers:
            if isinstance(entry, ScorerGroup):
                members = [(build_scorer(m, where, base_dir, context), m) for m in entry.members]
                self._entries.append(_Entry(entry.weight, members, entry.mode, entry.label))
            else:
                scorer = build_scorer(entry, where, base_dir, context)
                self._entries.append(_Entry(entry.weight, [(scorer, entry)]))

    async def score(self, completion: Completion, case: Case) -> Scoring:
        outcome = Scoring(passed=True)
        total_weight = weighted = 0.0
        for entry in self._entries:
            values: list[tuple[float, float, bool]] = []  # (weight, value, passed)
            for scorer, spec in entry.members:
                try:
                    score = await scorer(completion, case)
                except Exception as exc:  # the measurement failed, not the model
                    outcome.errors.append(f"scorer {spec.name!r} failed: {type(exc).__name__}: {exc}")
                    if isinstance(exc, JudgeFailed):  # what the judge spent before failing is billed
                        outcome.input_tokens += exc.input_tokens
                        outcome.output_tokens += exc.output_tokens
                        outcome.cost_usd = add_cost(outcome.cost_usd, exc.cost_usd)
                    continue
                record = score.to_json()
                record["scorer"] = record["scorer"] or spec.name
                if spec.weight != 1.0:
                    record["weight"] = spec.weight
                if entry.label is not None:
                    record["group"] = entry.label
                outcome.scores.append(record)
                outcome.input_tokens += score.input_tokens
                outcome.output_tokens += score.output_tokens
                outcome.cost_usd = add_cost(outcome.cost_usd, score.cost_usd)
                values.append((spec.weight, score.value, score.passed))
            if not values:  # every member failed: the entry has no value to weigh
                outcome.passed = False
                continue
            if entry.mode == "any":
                value = max(v for _, v, _ in values)
                passed = any(p for _, _, p in values)
            else:
                member_weight = sum(w for w, _, _ in values)
                value = (
                    sum(w * v for w, v, _ in values) / member_weight
                    if member_weight
                    else sum(v for _, v, _ in values) / len(values)
                )
                passed = all(p for _, _, p in values)
            weight = entry.weight if entry.mode != "single" else entry.members[0][1].weight
            total_weight += weight
            weighted += weight * value
            outcome.passed = outcome.passed and passed
        outcome.value = weighted / total_weight if total_weight else (1.0 if outcome.passed else 0.0)
        return outcome
