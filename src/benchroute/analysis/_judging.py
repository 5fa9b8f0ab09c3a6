"""What a run's judge is worth: the notes a report carries when a suite judged with the
embedded 135M model (its verdicts measured no better than chance, see
``benchmarks/judge_agreement.py``)."""

from __future__ import annotations

from pydantic import ValidationError

from ..config import ModelSpec, SuiteSpec
from ..scorers import EMBEDDED_JUDGE_WARNING, embedded_judge_suites
from ..store import RunRecord


def judge_notes(run: RunRecord) -> list[str]:
    """One line naming the suites of ``run`` that judged with the embedded model (read from
    the run's config snapshot), or nothing."""
    config = run.config or {}
    models = {}
    for name, spec in (config.get("models") or {}).items():
        try:
            models[name] = ModelSpec.model_validate({**spec, "name": name})
        except ValidationError:  # not one this release can read: it cannot be the judge asked
            continue
    suites = []
    for spec in config.get("suites") or []:
        try:
            suites.append(SuiteSpec.model_validate(spec))
        except ValidationError:  # a snapshot of another release: say nothing rather than guess
            continue
    names = embedded_judge_suites(suites, models, config.get("judge"))
    if not names:
        return []
    return [f"suite {', '.join(names)}: {EMBEDDED_JUDGE_WARNING}"]
