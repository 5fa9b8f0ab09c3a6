"""``--estimate`` and ``--max-cost`` against the fake server, with a priced model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

from benchroute.config import load_project, load_suite
from benchroute.providers import CompletionRequest, Message
from benchroute.runner import Runner, RunOptions
from benchroute.runner._estimate import MAX_TOKENS_FILL, estimate_run, prompt_tokens
from benchroute.store import Store
from benchroute.testing import FakeServer, Reply
from tests.conftest import write_project, write_suite

PRICED = {"provider": "openai", "model": "gpt-4o", "price_provider": "openai"}
# What every scripted reply reports: a fixed usage, so each request costs the same.
USAGE = {"prompt_tokens": 1_000, "completion_tokens": 500}


def _gpt4o(tokens_in: int, tokens_out: int) -> float:
    usage = PriceUsage(input_tokens=tokens_in, output_tokens=tokens_out)
    return float(calc_price(usage, model_ref="gpt-4o", provider_id="openai").total_price)


REQUEST_COST = _gpt4o(1_000, 500)


def _cases(n: int) -> list[dict[str, object]]:
    return [{"id": f"c{i}", "input": f"answer {i} " + "word " * (i % 7), "expected": "x"} for i in range(n)]


def test_estimate_prices_the_rendered_prompts_and_sends_nothing(tmp_path: Path, fake: FakeServer) -> None:
    project_path = write_project(tmp_path, {"m": {**PRICED, "base_url": fake.base_url}})
    suite_path = write_suite(tmp_path, "s", _cases(12), params={"max_tokens": 100}, repeats=2)
    project = load_project(project_path)
    store = Store(project.store_url())
    suite = load_suite(suite_path)

    estimate = estimate_run(project, [suite], store=store)

    (line,) = estimate.lines
    assert (line.suite, line.model, line.requests, line.cached) == ("s", "m", 24, 0)
    expected = 0.0
    for case in suite.dataset.cases or []:
        request = CompletionRequest(messages=[Message(role="user", content=case.input)])
        expected += 2 * _gpt4o(prompt_tokens(request), round(100 * MAX_TOKENS_FILL))
    assert line.cost_usd == pytest.approx(expected, rel=1e-9)
    assert estimate.total_cost_usd == line.cost_usd
    assert "max_tokens 100" in line.method and line.pricing.startswith("genai-prices")
    assert fake.requests == []  # no request reached the server


def test_estimate_uses_earlier_runs_output_lengths(tmp_path: Path, fake: FakeServer) -> None:
    fake.responder = lambda model, messages: Reply(text="ok", usage={"completion_tokens": 40})
    project_path = write_project(tmp_path, {"m": {**PRICED, "base_url": fake.base_url}})
    suite_path = write_suite(tmp_path, "s", _cases(5), params={"max_tokens": 1000})
    project = load_project(project_path)
    store = Store(project.store_url())
    asyncio.run(Runner(project, store, RunOptions(use_cache=True)).run([load_suite(suite_path)]))
    sent = len(fake.requests)

    (line,) = estimate_run(project, [load_suite(suite_path)], store=store, use_cache=False).lines

    assert line.method.startswith("history (5 earlier results)")
    assert line.output_tokens == 5 * 40
    assert len(fake.requests) == sent
    # With the cache on, the replies that run cached make the same requests free.
    (cached_line,) = estimate_run(project, [load_suite(suite_path)], store=store, use_cache=True).lines
    assert cached_line.cached == 5 and cached_line.cost_usd == 0


def test_max_cost_stops_within_one_request_of_the_cap(tmp_path: Path) -> None:
    cap = 0.5  # ~66 requests of REQUEST_COST (0.0075 USD)
    with FakeServer(latency=0.02) as fake:
        fake.responder = lambda model, messages: Reply(text="x", usage=USAGE)
        project_path = write_project(tmp_path, {"m": {**PRICED, "base_url": fake.base_url}})
        suite_path = write_suite(tmp_path, "s", _cases(300))
        project = load_project(project_path)
        store = Store(project.store_url())
        runner = Runner(project, store, RunOptions(concurrency=32, use_cache=False, max_cost_usd=cap))
        outcome = asyncio.run(runner.run([load_suite(suite_path)]))

        spent = sum(r.cost_usd for r in store.results(outcome.run_id))
        stored = len(store.results(outcome.run_id))
        print(f"cap {cap} spent {spent:.6f} request {REQUEST_COST:.6f} results {stored}")
        assert outcome.status == "budget_stopped"
        assert store.get_run(outcome.run_id).status == "budget_stopped"
        assert spent <= cap + REQUEST_COST
        assert spent > cap - 3 * REQUEST_COST
        assert len(fake.requests) == stored  # every request sent was kept; none after the stop

        # Resuming with a higher cap continues where it stopped.
        resumer = Runner(project, store, RunOptions(concurrency=32, use_cache=False, max_cost_usd=1.0))
        resumed = asyncio.run(resumer.resume(outcome.run_id))
        total = sum(r.cost_usd for r in store.results(outcome.run_id))
        assert resumed.status == "budget_stopped"
        assert 1.0 - 3 * REQUEST_COST < total <= 1.0 + REQUEST_COST
        finisher = Runner(project, store, RunOptions(concurrency=32, use_cache=False, max_cost_usd=10.0))
        finished = asyncio.run(finisher.resume(outcome.run_id))
        assert finished.status == "completed"
        assert len(store.results(outcome.run_id)) == 300 == len(fake.requests)


def test_estimate_sizes_a_stress_suite_by_its_load_profile(tmp_path: Path, fake: FakeServer) -> None:
    import yaml

    project_path = write_project(tmp_path, {"m": {**PRICED, "base_url": fake.base_url}})
    suite_path = tmp_path / "load.yaml"
    suite_path.write_text(
        yaml.safe_dump(
            {
                "name": "load",
                "tier": "stress",
                "params": {"max_tokens": 20},
                "dataset": {"cases": [{"id": "a", "input": "how are you"}]},
                "load": {"profile": {"kind": "ramp", "start_rps": 0, "end_rps": 10, "duration_s": 20}},
            }
        )
    )
    project = load_project(project_path)
    (line,) = estimate_run(project, [load_suite(suite_path)]).lines
    assert line.requests == 100  # the ramp's area: 20 s x 5 rps on average
    request = CompletionRequest(messages=[Message(role="user", content="how are you")])
    assert line.cost_usd == pytest.approx(100 * _gpt4o(prompt_tokens(request), 12), rel=1e-9)
    assert fake.requests == []


def test_a_request_too_dear_for_the_cap_does_not_stop_cheaper_ones() -> None:
    """One (suite, model) that can never fit is out of budget; the others still run."""
    from benchroute.runner._budget import Budget

    async def scenario() -> tuple[float | None, list[float | None]]:
        budget = Budget(cap_usd=0.01)
        dear = await budget.reserve(("s", "dear"), 0.05)
        cheap = []
        for _ in range(3):
            amount = await budget.reserve(("s", "cheap"), 0.002)
            cheap.append(amount)
            if amount is not None:
                await budget.settle(amount, 0.002, ("s", "cheap"), billed=True)
        return dear, cheap

    dear, cheap = asyncio.run(scenario())
    assert dear is None
    assert cheap == [0.002, 0.002, 0.002]
    # Unreserved spending (judges) that reaches the cap stops everything, even free requests.
    charged = Budget(cap_usd=0.01)
    charged.charge(0.004)
    assert asyncio.run(charged.reserve(("s", "free"), 0.0)) == 0.0
    charged.charge(0.006)
    assert asyncio.run(charged.reserve(("s", "free"), 0.0)) is None


def test_max_cost_runs_the_models_that_fit_when_another_never_can(tmp_path: Path, fake: FakeServer) -> None:
    fake.responder = lambda model, messages: Reply(text="x", usage=USAGE)
    cheap = {"provider": "openai", "model": "cheap", "prices": {"input_per_mtok": 1, "output_per_mtok": 1}}
    dear = {"provider": "openai", "model": "dear", "prices": {"input_per_mtok": 900, "output_per_mtok": 900}}
    project_path = write_project(
        tmp_path, {"cheap": {**cheap, "base_url": fake.base_url}, "dear": {**dear, "base_url": fake.base_url}}
    )
    suite_path = write_suite(tmp_path, "s", _cases(10))
    project = load_project(project_path)
    store = Store(project.store_url())
    # cheap: 0.0015 USD a request (0.015 for all ten); dear: ~0.27 expected, never fits 0.05.
    runner = Runner(project, store, RunOptions(concurrency=4, use_cache=False, max_cost_usd=0.05))

    outcome = asyncio.run(runner.run([load_suite(suite_path)]))

    stored = store.results(outcome.run_id)
    assert sorted({r.model for r in stored}) == ["cheap"]
    assert len(stored) == 10
    assert outcome.status == "budget_stopped"
    assert "10 request(s) not sent" in (store.get_run(outcome.run_id).error or "")
