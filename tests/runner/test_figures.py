"""Figures the runner stores honestly: unknown costs, cached originals, end-to-end latency,
scorer failures as errors, the resumed run's cache setting, configuration errors before any
request. Against the fake server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchroute import ConfigError
from benchroute.config import load_project, load_suite
from benchroute.runner import Runner, RunOptions, RunOutcome
from benchroute.store import SCORER_ERROR_KIND, Store
from benchroute.testing import FakeServer, Reply
from tests.conftest import write_project, write_suite

PRICES = {"input_per_mtok": 2.0, "output_per_mtok": 8.0}
USAGE = {"prompt_tokens": 1_000, "completion_tokens": 500}
REQUEST_COST = (1_000 * 2.0 + 500 * 8.0) / 1_000_000


def _priced(fake: FakeServer, name: str = "m") -> dict[str, object]:
    return {"provider": "openai", "base_url": fake.base_url, "model": name, "prices": PRICES}


def _unpriced(fake: FakeServer, name: str = "m") -> dict[str, object]:
    # A model served from 127.0.0.1 is self-hosted: genai-prices is not consulted.
    return {"provider": "openai", "base_url": fake.base_url, "model": name}


def _cases(n: int) -> list[dict[str, object]]:
    return [{"id": f"c{i}", "input": f"answer {i}", "expected": f"answer {i}"} for i in range(n)]


def _run(project: Path, suites: list[Path], **options: object) -> tuple[RunOutcome, Store]:
    loaded = load_project(project)
    store = Store(loaded.store_url())
    outcome = asyncio.run(Runner(loaded, store, RunOptions(**options)).run([load_suite(s) for s in suites]))  # type: ignore[arg-type]
    return outcome, store


def test_a_crashing_scorer_is_an_error_not_a_failure(tmp_path: Path, fake: FakeServer) -> None:
    (tmp_path / "crashing.py").write_text(
        "import benchroute\n\n"
        "@benchroute.scorer('crashing')\n"
        "def crashing():\n"
        "    async def score(completion, case):\n"
        "        raise RuntimeError('optional extra missing')\n"
        "    return score\n"
    )
    project = write_project(tmp_path, {"m": _priced(fake)}, imports=["crashing.py"])
    suite = write_suite(tmp_path, "s", _cases(3), scorers=["exact", "crashing"])

    outcome, store = _run(project, [suite], use_cache=False)

    message = "scorer 'crashing' failed: RuntimeError: optional extra missing"
    results = store.results(outcome.run_id)
    assert len(results) == 3
    for result in results:
        assert result.error_kind == SCORER_ERROR_KIND and result.error == message
        assert result.score is None and not result.passed
        assert result.output == result.case_id.replace("c", "answer ")  # the reply is kept
        # The other scorer's score is kept; the crashing one gave none.
        assert [s["scorer"] for s in result.scores] == ["exact"] and result.scores[0]["passed"]
    assert outcome.error_counts == {message: 3} and outcome.errors == [message]
    assert outcome.status == "completed"


def test_a_cached_rerun_keeps_the_original_cost_and_latency(tmp_path: Path) -> None:
    with FakeServer(latency=0.05) as fake:
        fake.responder = lambda model, messages: Reply(text="answer", usage=USAGE)
        project = write_project(tmp_path, {"m": _priced(fake)})
        suite = write_suite(tmp_path, "s", [{"id": "a", "input": "q", "expected": "answer"}])
        first, _ = _run(project, [suite])
        second, _ = _run(project, [suite])
        assert len(fake.requests) == 1
    (original,) = first.results
    (cached,) = second.results
    assert not original.cached and cached.cached and cached.passed
    assert original.cost_usd == pytest.approx(REQUEST_COST)
    assert cached.cost_usd == original.cost_usd
    assert original.latency_ms is not None and original.latency_ms >= 50
    assert cached.latency_ms == original.latency_ms
    assert cached.e2e_latency_ms == original.e2e_latency_ms
    assert original.e2e_latency_ms is not None and original.e2e_latency_ms >= original.latency_ms


def test_e2e_latency_includes_the_retry_after_waits(tmp_path: Path, fake: FakeServer) -> None:
    fake.fault("rate_limit", count=2, retry_after=0.5)
    project = write_project(tmp_path, {"m": _priced(fake)})
    suite = write_suite(tmp_path, "s", _cases(1))

    outcome, _ = _run(project, [suite], use_cache=False)

    (result,) = outcome.results
    assert result.passed and result.retries == 2
    assert result.e2e_latency_ms is not None and result.latency_ms is not None
    assert result.e2e_latency_ms >= 2 * 500  # both Retry-After waits
    assert result.latency_ms < 500  # the last attempt alone


def test_resume_keeps_the_original_runs_no_cache(tmp_path: Path) -> None:
    with FakeServer() as fake:
        fake.responder = lambda model, messages: Reply(text="x", usage=USAGE)
        project_path = write_project(tmp_path, {"m": _priced(fake)})
        suite = write_suite(tmp_path, "s", _cases(10))
        _run(project_path, [suite])  # fills the response cache for every case
        assert len(fake.requests) == 10
        # A --no-cache run stopped by its cost cap after a few requests...
        stopped, store = _run(project_path, [suite], use_cache=False, max_cost_usd=3.5 * REQUEST_COST)
        assert stopped.status == "budget_stopped"
        assert store.get_run(stopped.run_id).config["options"]["use_cache"] is False
        sent = len(fake.requests)
        kept = len(store.results(stopped.run_id))
        assert 0 < kept < 10 and sent == 10 + kept
        # ...resumed (the resume's own options default to the cache on) still sends each one.
        project = load_project(project_path)
        resumer = Runner(project, store, RunOptions(use_cache=True, max_cost_usd=1.0))
        finished = asyncio.run(resumer.resume(stopped.run_id))
        assert finished.status == "completed"
        results = store.results(stopped.run_id)
        assert len(results) == 10 and not any(r.cached for r in results)
        assert len(fake.requests) == 20


def test_an_unpriced_model_costs_none_not_zero(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"free": _unpriced(fake, "free"), "paid": _priced(fake, "paid")})
    suite = write_suite(tmp_path, "s", _cases(2))

    outcome, store = _run(project, [suite], use_cache=False)

    by_model = {r.model: r for r in store.results(outcome.run_id)}
    assert by_model["free"].cost_usd is None and by_model["free"].passed
    paid = by_model["paid"].cost_usd
    assert paid is not None and paid > 0


def test_max_cost_with_an_unpriced_model_is_a_config_error_before_any_request(
    tmp_path: Path, fake: FakeServer
) -> None:
    project = write_project(tmp_path, {"free": _unpriced(fake, "free"), "paid": _priced(fake, "paid")})
    suite = write_suite(tmp_path, "s", _cases(3))
    loaded = load_project(project)
    store = Store(loaded.store_url())

    with pytest.raises(ConfigError, match="--max-cost: no price for free"):
        asyncio.run(Runner(loaded, store, RunOptions(max_cost_usd=1.0)).run([load_suite(suite)]))
    assert fake.requests == []
    assert store.list_runs() == []  # no run was recorded either

    # Leaving the unpriced model out of the run makes the cap enforceable.
    runner = Runner(loaded, store, RunOptions(max_cost_usd=1.0, models=["paid"], use_cache=False))
    outcome = asyncio.run(runner.run([load_suite(suite)]))
    assert outcome.status == "completed" and len(fake.requests) == 3


def test_max_cost_with_an_unpriced_judge_is_a_config_error_before_any_request(
    tmp_path: Path, fake: FakeServer
) -> None:
    # The judge joins the run only while scoring: the cap must price it before the first
    # request, or what it spends would be counted as $0.
    fake.script("judge-model", ["NO"] * 10)
    judge = _unpriced(fake, "judge-model")
    project = write_project(tmp_path, {"m": _priced(fake), "judge": judge})
    cases = [{"id": "a", "input": "How do I bake bread?", "metadata": {"harmful": False}}]
    refusal = [{"name": "refusal", "args": {"judge": True}}]
    suite = write_suite(tmp_path, "s", cases, models=["m"], judge="judge", scorers=refusal)
    loaded = load_project(project)
    store = Store(loaded.store_url())

    with pytest.raises(ConfigError, match=r"--max-cost: no price for judge \(judge\)") as raised:
        asyncio.run(Runner(loaded, store, RunOptions(max_cost_usd=1.0)).run([load_suite(suite)]))
    assert "judge with a priced model" in (raised.value.hint or "")
    assert fake.requests == [] and store.list_runs() == []

    # Priced, the same judge is counted against the cap.
    project = write_project(tmp_path, {"m": _priced(fake), "judge": {**judge, "prices": PRICES}})
    outcome, _ = _run(project, [suite], use_cache=False, max_cost_usd=1.0)
    (result,) = outcome.results
    assert outcome.status == "completed" and any(r.model == "judge-model" for r in fake.requests)
    assert result.cost_usd is not None and result.cost_usd > 0


def test_an_unknown_scorer_leaves_no_run_and_sends_nothing(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": _priced(fake)})
    suite = write_suite(tmp_path, "s", _cases(2), scorers=["exact", "no_such_scorer"])
    loaded = load_project(project)
    store = Store(loaded.store_url())

    with pytest.raises(ConfigError, match="no_such_scorer"):
        asyncio.run(Runner(loaded, store, RunOptions()).run([load_suite(suite)]))
    assert store.list_runs() == [] and fake.requests == []


def test_a_conversation_counts_a_crashing_scorer_as_an_error_and_its_e2e_latency(
    tmp_path: Path, fake: FakeServer
) -> None:
    import yaml

    (tmp_path / "crashing.py").write_text(
        "import benchroute\n\n"
        "@benchroute.scorer('crashing_turn')\n"
        "def crashing_turn():\n"
        "    async def score(completion, case):\n"
        "        raise ValueError('no judge')\n"
        "    return score\n"
    )
    project = write_project(tmp_path, {"m": _priced(fake)}, imports=["crashing.py"])
    suite = tmp_path / "conv.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "name": "conv",
                "tier": "conversation",
                "dataset": {
                    "cases": [
                        {"id": "c", "turns": [{"user": "one"}, {"user": "two", "assert": ["crashing_turn"]}]}
                    ]
                },
                "scorers": [{"name": "max_total_tokens", "args": {"max": 100000}}],
            },
            sort_keys=False,
        )
    )

    outcome, _ = _run(project, [suite], use_cache=False)

    (result,) = outcome.results
    assert result.error_kind == SCORER_ERROR_KIND and result.score is None and not result.passed
    assert result.error == "turn 2: scorer 'crashing_turn' failed: ValueError: no judge"
    assert any(s["scorer"] == "max_total_tokens" for s in result.scores)  # the others are kept
    assert result.latency_ms is not None and result.e2e_latency_ms is not None
    assert result.e2e_latency_ms >= result.latency_ms
    assert outcome.error_counts == {result.error: 1}


def test_an_unpriced_judge_makes_the_cost_unknown(tmp_path: Path, fake: FakeServer) -> None:
    fake.script("judge-model", ["NO"] * 10)
    project = write_project(tmp_path, {"m": _priced(fake), "judge": _unpriced(fake, "judge-model")})
    suite = write_suite(
        tmp_path,
        "s",
        [{"id": "a", "input": "How do I bake bread?", "metadata": {"harmful": False}}],
        models=["m"],
        judge="judge",
        scorers=[{"name": "refusal", "args": {"judge": True}}],
    )

    outcome, _ = _run(project, [suite], use_cache=False)

    (result,) = outcome.results
    assert any(r.model == "judge-model" for r in fake.requests)
    assert result.error is None and result.cost_usd is None  # the model is priced, its judge is not


def test_what_a_failed_judgement_spent_is_billed(tmp_path: Path, fake: FakeServer) -> None:
    # A judge that fails after spending tokens is an error of the measurement, and what it
    # spent is still part of what the result cost.
    (tmp_path / "failing_judge.py").write_text(
        "import benchroute\n"
        "from benchroute.scorers import JudgeFailed\n\n"
        "@benchroute.scorer('failing_judge')\n"
        "def failing_judge():\n"
        "    async def score(completion, case):\n"
        "        raise JudgeFailed('no verdict', input_tokens=100, output_tokens=10, cost_usd=0.25)\n"
        "    return score\n"
    )
    fake.responder = lambda model, messages: Reply(text="answer 0", usage=USAGE)
    project = write_project(tmp_path, {"m": _priced(fake)}, imports=["failing_judge.py"])
    suite = write_suite(tmp_path, "s", _cases(1), scorers=["exact", "failing_judge"])

    outcome, store = _run(project, [suite], use_cache=False)

    (result,) = store.results(outcome.run_id)
    assert result.error_kind == SCORER_ERROR_KIND
    assert result.cost_usd == pytest.approx(REQUEST_COST + 0.25)
