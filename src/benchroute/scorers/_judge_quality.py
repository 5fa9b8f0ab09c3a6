"""How far a judge can be trusted: which suites judge with the embedded 135M model, and how
well a judge agrees with a labelled calibration set.

Which suites use the embedded judge is read from the scorers themselves: each suite's
scorers are built (nothing is sent: building a scorer never calls a model) with a context
that records the judge every judge-backed scorer asks for (:meth:`ScoringContext.use_judge`).

Calibration. A calibration set is a JSONL file, one labelled answer a line::

    {"id": "cap-1", "question": "What is the capital of France?",
     "criteria": "Names the correct capital city.", "answer": "Paris.", "label": "good"}

(``reference`` is optional; ``label`` is ``good`` or ``bad``). Each answer is graded by the
``rubric`` scorer with its default settings and the judge under test; the judge says "good"
when the rubric passes. Reported: accuracy (share of judged items whose verdict matches the
label), Cohen's kappa (agreement beyond what two raters with these verdict rates would reach
by chance: ``(p_o - p_e) / (1 - p_e)``; 0 is chance, 1 perfect), the confusion counts, and —
separately, never counted as a verdict — the items whose judgement failed (a failed call or a
reply with no score in it).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import BenchrouteError, ConfigError
from ..config import Case, ScorerEntry, ScorerGroup, ScorerSpec
from ..types import Completion
from ._base import build_scorer
from ._context import ScoringContext

if TYPE_CHECKING:
    from ..config import ModelSpec, SuiteSpec

LABELS = ("good", "bad")


async def _never(spec: ModelSpec, request: Any) -> Completion:  # a dry build sends nothing
    raise RuntimeError("a scorer called a model while it was being built")


def embedded_judge_suites(
    suites: list[SuiteSpec], models: dict[str, ModelSpec], judge: str | None = None
) -> list[str]:
    """Names of the suites whose scorers judge with the embedded 135M model (``judge``: the
    project's ``judge:``): the suite's scorers, and its inline cases' assertions, turn
    assertions and simulated users' stop scorers. A suite whose scorers cannot be built is
    skipped: the run itself reports why."""
    found = []
    for suite in suites:
        context = ScoringContext(models, judge_model=suite.judge or judge, caller=_never)
        where = suite.source or suite.name
        base_dir = Path(suite.source).parent if suite.source else None
        entries: list[ScorerEntry] = list(suite.scorers)
        for case in suite.dataset.cases or []:
            entries.extend(case.assertions)
            for turn in case.turns or []:
                entries.extend(turn.assertions)
            if case.simulated_user is not None and case.simulated_user.stop.scorer is not None:
                entries.append(case.simulated_user.stop.scorer)
        specs: list[ScorerSpec] = []
        for entry in entries:
            specs.extend(entry.members if isinstance(entry, ScorerGroup) else [entry])
        try:
            for spec in specs:
                build_scorer(spec, where, base_dir, context)
        except Exception:  # the run builds them again and reports the error properly
            continue
        if context.embedded_judge:
            found.append(suite.name)
    return found


@dataclass(frozen=True, slots=True)
class CalibrationItem:
    """One labelled answer of a calibration set."""

    id: str
    question: str
    criteria: str
    answer: str
    label: str  # "good" or "bad"
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    """A judge's agreement with a calibration set's labels."""

    judge: str
    items: int
    judged: int  # items with a verdict (items - errors)
    true_good: int  # labelled good, judged good
    false_bad: int  # labelled good, judged bad
    false_good: int  # labelled bad, judged good
    true_bad: int  # labelled bad, judged bad
    accuracy: float | None  # over the judged items
    kappa: float | None  # Cohen's kappa over the judged items (None: undefined)
    chance_agreement: float | None  # p_e, the agreement expected by chance
    errors: list[tuple[str, str]] = field(default_factory=list)  # (item id, why)

    def to_json(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "items": self.items,
            "judged": self.judged,
            "confusion": {
                "labelled_good_judged_good": self.true_good,
                "labelled_good_judged_bad": self.false_bad,
                "labelled_bad_judged_good": self.false_good,
                "labelled_bad_judged_bad": self.true_bad,
            },
            "accuracy": self.accuracy,
            "kappa": self.kappa,
            "chance_agreement": self.chance_agreement,
            "errors": [{"id": item, "error": why} for item, why in self.errors],
        }


def load_calibration_set(path: Path) -> list[CalibrationItem]:
    """Read a calibration set (JSONL); a malformed line is a :class:`ConfigError` naming
    the file, line and field."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the calibration set ({exc.strerror})") from None
    items: list[CalibrationItem] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}:{exc.colno}: not JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise ConfigError(f"{path}:{number}: a line must be a JSON object")
        for name in ("question", "criteria", "answer", "label"):
            if not isinstance(row.get(name), str) or not row[name].strip():
                raise ConfigError(f"{path}:{number}: {name}: missing or not a text")
        if row["label"] not in LABELS:
            raise ConfigError(f"{path}:{number}: label: {row['label']!r} is not 'good' or 'bad'")
        reference = row.get("reference")
        items.append(
            CalibrationItem(
                id=str(row.get("id") or number),
                question=row["question"],
                criteria=row["criteria"],
                answer=row["answer"],
                label=row["label"],
                reference=reference if isinstance(reference, str) else None,
            )
        )
    if not items:
        raise ConfigError(f"{path}: the calibration set has no items")
    return items


def agreement(pairs: list[tuple[str, str]]) -> tuple[float | None, float | None, float | None]:
    """(accuracy, Cohen's kappa, chance agreement) of (label, verdict) pairs; None when there
    are no pairs (kappa also when chance agreement is 1: both raters said one thing only)."""
    if not pairs:
        return None, None, None
    n = len(pairs)
    observed = sum(1 for label, verdict in pairs if label == verdict) / n
    chance = sum(
        (sum(1 for label, _ in pairs if label == value) / n)
        * (sum(1 for _, verdict in pairs if verdict == value) / n)
        for value in LABELS
    )
    kappa = (observed - chance) / (1 - chance) if chance < 1 else None
    return observed, kappa, chance


async def _verdict(scorer: Any, item: CalibrationItem) -> str:
    case = Case(id=item.id, input=item.question, expected=item.reference)
    # A failed judgement raises JudgeFailed (rubric gives no verdict it did not get).
    score = await scorer(Completion(text=item.answer), case)
    return "good" if score.passed else "bad"


async def calibrate_judge(
    items: list[CalibrationItem],
    context: ScoringContext,
    *,
    judge_model: str | None = None,
    concurrency: int = 4,
) -> CalibrationReport:
    """Grade every item with the ``rubric`` scorer (defaults) and the judge under test
    (``judge_model``, else the context's judge), and measure agreement with the labels."""
    judge = context.use_judge(judge_model, field="--judge")
    scorers: dict[str, Any] = {}
    for criteria in dict.fromkeys(item.criteria for item in items):
        spec = ScorerSpec(name="rubric", args={"criteria": criteria, "judge_model": judge})
        scorers[criteria] = build_scorer(spec, "calibration set", None, context)
    gate = asyncio.Semaphore(concurrency)

    async def one(item: CalibrationItem) -> str | BaseException:
        async with gate:
            try:
                return await _verdict(scorers[item.criteria], item)
            except BenchrouteError as exc:
                return exc

    verdicts = await asyncio.gather(*(one(item) for item in items))
    pairs: list[tuple[str, str]] = []
    errors: list[tuple[str, str]] = []
    for item, verdict in zip(items, verdicts, strict=True):
        if isinstance(verdict, BaseException):
            errors.append((item.id, str(verdict)))
        else:
            pairs.append((item.label, verdict))
    accuracy, kappa, chance = agreement(pairs)
    return CalibrationReport(
        judge=judge,
        items=len(items),
        judged=len(pairs),
        true_good=sum(1 for label, verdict in pairs if (label, verdict) == ("good", "good")),
        false_bad=sum(1 for label, verdict in pairs if (label, verdict) == ("good", "bad")),
        false_good=sum(1 for label, verdict in pairs if (label, verdict) == ("bad", "good")),
        true_bad=sum(1 for label, verdict in pairs if (label, verdict) == ("bad", "bad")),
        accuracy=accuracy,
        kappa=kappa,
        chance_agreement=chance,
        errors=errors,
    )
