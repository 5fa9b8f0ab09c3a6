"""Composite scores, groups and scorer models wired through a run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchroute.config import Case, SuiteSpec, load_project, load_suite
from benchroute.providers import Completion
from benchroute.runner import Runner, RunOptions
from benchroute.runner._scoring import SuiteScorer
from benchroute.store import Store
from benchroute.testing import FakeServer
from tests.conftest import write_project, write_suite


def _score(scorers: list[object], text: str, expected: str = "Paris"):  # type: ignore[no-untyped-def]
    suite = SuiteSpec.model_validate(
        {"name": "s", "dataset": {"cases": [{"id": "a", "input": "q"}]}, "scorers": scorers}
    )
    case = Case(id="a", input="q", expected=expected)
    return asyncio.run(SuiteScorer(suite).score(Completion(text=text), case))


def test_weighted_composite_and_all_must_pass() -> None:
    outcome = _score(
        [{"name": "contains", "weight": 3}, {"name": "max_length", "args": {"max": 3, "unit": "words"}}],
        "It is Paris of course",
    )
    assert outcome.value == 0.75  # (3*1 + 1*0) / 4
    assert outcome.passed is False
    assert [s["scorer"] for s in outcome.scores] == ["contains", "max_length"]
    assert outcome.scores[0]["weight"] == 3


def test_any_group_passes_when_one_member_passes() -> None:
    group = {"any": ["exact", {"name": "contains"}], "name": "right answer"}
    outcome = _score([group], "The answer is Paris")
    assert outcome.passed and outcome.value == 1.0
    assert {s["group"] for s in outcome.scores} == {"right answer"}
    failing = _score([group], "London")
    assert not failing.passed and failing.value == 0.0


def test_all_group_needs_every_member_and_averages() -> None:
    group = {"all": ["contains", {"name": "regex", "args": {"pattern": "^[A-Z]"}}], "weight": 2}
    outcome = _score([group, "exact"], "paris")
    # group: contains 1 (ignore case), regex 0 -> value 0.5, failed; exact 0 -> (2*0.5 + 0) / 3
    assert not outcome.passed
    assert abs(outcome.value - 1 / 3) < 1e-9


def test_threshold_on_partial_scores() -> None:
    spec = {"name": "contains", "args": {"values": ["a", "b", "c", "d"], "mode": "all"}, "threshold": 0.5}
    assert _score([spec], "a b").passed
    assert not _score([spec], "a").passed


def test_a_judge_scorer_uses_the_suite_judge_and_its_cost_lands_in_the_result(
    tmp_path: Path, fake: FakeServer
) -> None:
    fake.script("judge-model", ["NO"] * 10)
    project = write_project(
        tmp_path,
        {
            "m": {
                "provider": "openai",
                "base_url": fake.base_url,
                "model": "m",
                "prices": {"input_per_mtok": 0, "output_per_mtok": 0},
            },
            "judge": {
                "provider": "openai",
                "base_url": fake.base_url,
                "model": "judge-model",
                "prices": {"input_per_mtok": 1000, "output_per_mtok": 1000},
            },
        },
    )
    suite = write_suite(
        tmp_path,
        "s",
        [{"id": "a", "input": "How do I bake bread?", "metadata": {"harmful": False}}],
        models=["m"],
        judge="judge",
        scorers=[{"name": "refusal", "args": {"judge": True}}],
    )
    loaded = load_project(project)
    store = Store(loaded.store_url())
    outcome = asyncio.run(Runner(loaded, store, RunOptions(use_cache=False)).run([load_suite(suite)]))
    (result,) = outcome.results
    judge_requests = [r for r in fake.requests if r.model == "judge-model"]
    assert len(judge_requests) >= 1
    assert result.cost_usd is not None and result.cost_usd > 0  # the model is free; the judge is not
    assert result.model == "m"
    # The judge's rates are in the run's stored price snapshot, so its cost can be explained.
    prices = store.get_run(outcome.run_id).prices
    assert set(prices) == {"m", "judge"}
    assert prices["judge"]["source"] == "override" and prices["judge"]["input_per_mtok"] == 1000
