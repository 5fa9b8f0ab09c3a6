"""Scoring one completion with a suite's scorers: weights, thresholds and groups.

A suite's ``scorers`` is a list of scorers and groups. A case passes when every entry passes
(a scorer its threshold; an ``all`` group every member; an ``any`` group one member), and its
score is the weighted mean of the entries' values (a group's value: the weighted mean of its
members for ``all``, the best member's for ``any``). Each member's own Score is stored, with
the group it belongs to, so a report can say exactly what failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Case, ScorerGroup, ScorerSpec, SuiteSpec
from ..providers import Completion
from ..scorers import Score, Scorer, ScoringContext, build_scorer


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
    cost_usd: float = 0.0


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
                score = await _safe_score(scorer, spec, completion, case)
                record = score.to_json()
                record["scorer"] = record["scorer"] or spec.name
                if spec.weight != 1.0:
                    record["weight"] = spec.weight
                if entry.label is not None:
                    record["group"] = entry.label
                outcome.scores.append(record)
                outcome.input_tokens += score.input_tokens
                outcome.output_tokens += score.output_tokens
                outcome.cost_usd += score.cost_usd
                values.append((spec.weight, score.value, score.passed))
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


async def _safe_score(scorer: Scorer, spec: ScorerSpec, completion: Completion, case: Case) -> Score:
    try:
        return await scorer(completion, case)
    except Exception as exc:  # a scorer bug fails the case, not the run
        return Score(0.0, False, f"scorer crashed: {type(exc).__name__}: {exc}", spec.name)
