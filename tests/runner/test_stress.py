"""The stress tier against the fake server: open-loop profiles, saturation, SLOs, storage."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

from benchroute.config import load_project, load_suite
from benchroute.runner import Runner, RunOptions, RunOutcome
from benchroute.runner._stress import arrival_times
from benchroute.store import Result, Store
from benchroute.testing import FakeServer, Reply
from tests.conftest import write_project


def _stress_suite(folder: Path, load: dict[str, Any], **extra: Any) -> Path:
    data = {
        "name": "load",
        "tier": "stress",
        "dataset": {"cases": [{"id": "a", "input": "how are you"}, {"id": "b", "input": "hello"}]},
        "load": load,
        **extra,
    }
    path = folder / "load.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(
    tmp_path: Path, fake: FakeServer, load: dict[str, Any], model: dict[str, Any] | None = None, **extra: Any
) -> tuple[RunOutcome, Result, Store]:
    project_path = write_project(
        tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m", **(model or {})}}
    )
    project = load_project(project_path)
    store = Store(project.store_url())
    runner = Runner(project, store, RunOptions(use_cache=False))
    outcome = asyncio.run(runner.run([load_suite(_stress_suite(tmp_path, load, **extra))]))
    (result,) = [r for r in outcome.results if r.case_id == "load"]
    return outcome, result, store


def _windows(result: Result) -> list[dict[str, Any]]:
    assert result.details is not None
    windows: list[dict[str, Any]] = result.details["windows"]
    return windows


def test_arrival_timetable_follows_the_profile() -> None:
    steady = arrival_times([(2.0, 10.0, 10.0)], 1000)
    assert len(steady) == 20 and steady[0] == 0.0 and abs(steady[1] - 0.1) < 1e-9
    ramp = arrival_times([(10.0, 0.0, 20.0)], 10_000)
    # 0 -> 20 rps over 10 s is 100 arrivals; half of them in the last 2.93 s (sqrt(1/2) of the time).
    assert len(ramp) == 100
    assert abs(ramp[50] - 10 * 0.5**0.5) < 0.01
    assert len(arrival_times([(10.0, 100.0, 100.0)], 25)) == 25  # max_requests bounds it
    poisson = arrival_times([(100.0, 10.0, 10.0)], 10_000, poisson=True, seed=3)
    assert 900 < len(poisson) < 1100 and list(poisson) == sorted(poisson)


def test_ramp_finds_the_server_rate_limit_within_ten_percent(tmp_path: Path) -> None:
    limit = 50.0
    with FakeServer(max_recorded=None) as fake:
        fake.rate_limit(limit, window_s=0.2)
        load = {
            "profile": {"kind": "ramp", "start_rps": 10, "end_rps": 200, "duration_s": 20},
            "window_s": 0.25,
            "sustain_windows": 2,
            "error_limit": 0.05,
            "latency_budget_ms": 500,
            "respect_limits": False,
        }
        outcome, result, store = _run(tmp_path, fake, load, slo={"p95_ms": 500, "rate_limited_rate": 0.01})
        served = fake.stats()
    assert outcome.status == "completed"
    details = result.details
    assert details is not None
    saturation = details["saturation"]
    assert saturation is not None, details["load"]
    assert abs(saturation["offered_rps"] - limit) <= 0.1 * limit, saturation
    assert "429" in saturation["reason"]
    windows = _windows(result)
    below = [w for w in windows if w["offered_rps"] < 0.8 * limit]
    above = [w for w in windows if w["offered_rps"] > 1.5 * limit]
    assert below and above
    assert sum(w["rate_limited_rate"] for w in below) / len(below) < 0.02
    for window in above:
        # Beyond the limit the server refuses the excess: 1 - limit/offered of the requests.
        expected = 1 - limit / window["offered_rps"]
        assert abs(window["rate_limited_rate"] - expected) < 0.15, window
        assert window["achieved_rps"] < 1.3 * limit
    figures = details["load"]
    assert figures["requests"] == served["requests"] == figures["ok"] + figures["rate_limited"]
    assert figures["rate_limited"] == served["by_status"]["429"]
    assert 1900 <= figures["requests"] <= 2200  # (10 + 200) / 2 * 20 s
    # The SLOs are the suite's verdict: p95 held, the 429 share did not.
    by_name = {s["scorer"]: s for s in result.scores}
    assert by_name["slo:p95_ms"]["passed"] is True
    assert by_name["slo:rate_limited_rate"]["passed"] is False
    assert "rate limited" in by_name["slo:rate_limited_rate"]["reason"]
    assert result.passed is False
    samples = store.load_samples(outcome.run_id)
    assert len(samples) == figures["requests"]
    assert {s.outcome for s in samples} == {"ok", "rate_limited"}
    assert store.results(outcome.run_id)[0].details == details


def test_open_loop_is_not_slowed_by_a_slow_server(tmp_path: Path) -> None:
    with FakeServer(latency=0.4) as fake:
        load = {"profile": {"kind": "constant_rate", "rps": 40, "duration_s": 1}, "window_s": 0.5}
        outcome, result, store = _run(tmp_path, fake, load)
    samples = store.load_samples(outcome.run_id)
    assert len(samples) == 40 and all(s.outcome == "ok" for s in samples)
    # Every request left on schedule although each took 0.4 s: 16 were in flight at once.
    assert max(s.sent_s - s.scheduled_s for s in samples if s.sent_s is not None) < 0.05
    assert all(380 <= (s.latency_ms or 0) < 1000 for s in samples)
    assert result.details is not None and abs(result.details["load"]["offered_rps"] - 40) < 1


def test_max_in_flight_drops_instead_of_queueing(tmp_path: Path) -> None:
    with FakeServer(latency=0.5) as fake:
        load = {
            "profile": {"kind": "constant_rate", "rps": 40, "duration_s": 0.5},
            "max_in_flight": 5,
        }
        _, result, _ = _run(tmp_path, fake, load)
        served = fake.stats()["requests"]
    figures = result.details["load"] if result.details else {}
    assert figures["requests"] == 20 and figures["dropped"] == 15 and figures["ok"] == 5 == served
    assert abs(figures["error_rate"] - 0.75) < 1e-9


def test_constant_concurrency_is_a_closed_loop_bounded_by_requests(tmp_path: Path) -> None:
    with FakeServer(latency=0.05) as fake:
        load = {
            "profile": {"kind": "constant_concurrency", "concurrency": 4, "duration_s": 5, "max_requests": 24}
        }
        outcome, _, store = _run(tmp_path, fake, load)
        served = fake.stats()["requests"]
    samples = store.load_samples(outcome.run_id)
    assert len(samples) == 24 == served
    # Four users, 50 ms per request: six rounds, about 0.3 s, never more than four at once.
    assert max(s.scheduled_s for s in samples) < 1.0
    starts = sorted(s.sent_s or 0 for s in samples)
    assert all(b - a > 0.03 for a, b in zip(starts[:-4], starts[4:], strict=True))


def test_retries_are_counted_and_429s_measured(tmp_path: Path) -> None:
    with FakeServer() as fake:
        fake.fault("rate_limit", count=6, retry_after=0.01)
        load = {"profile": {"kind": "constant_rate", "rps": 20, "duration_s": 1}, "retries": 1}
        outcome, result, store = _run(tmp_path, fake, load)
    samples = store.load_samples(outcome.run_id)
    retried = [s for s in samples if s.retries]
    limited = [s for s in samples if s.outcome == "rate_limited"]
    # The first requests met 429s: each retried once, and those that met two are measured as 429s.
    assert retried and len(retried) <= 6
    assert len(limited) + len(retried) >= 3
    figures = result.details["load"] if result.details else {}
    assert figures["retry_rate"] == len(retried) / 20


def test_model_rate_limits_apply_unless_the_suite_opts_out(tmp_path: Path) -> None:
    with FakeServer() as fake:
        load = {"profile": {"kind": "constant_rate", "rps": 40, "duration_s": 0.5}, "timeout_s": 2}
        outcome, _, store = _run(tmp_path, fake, load, model={"rpm": 600})
    sent = sorted(s.sent_s or 0 for s in store.load_samples(outcome.run_id))
    assert len(sent) == 20
    # 600 rpm is one request per 0.1 s, whatever the profile offers.
    assert sent[-1] - sent[0] >= 1.7


def test_an_unreachable_endpoint_stops_the_load_and_fails_the_run(tmp_path: Path) -> None:
    project_path = write_project(
        tmp_path, {"down": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "d"}}
    )
    project = load_project(project_path)
    store = Store(project.store_url())
    load = {"profile": {"kind": "constant_rate", "rps": 100, "duration_s": 30}}
    suite = load_suite(_stress_suite(tmp_path, load))
    outcome = asyncio.run(Runner(project, store, RunOptions()).run([suite]))
    assert outcome.status == "failed"
    (result,) = outcome.results
    assert result.passed is False and result.error is not None and "cannot connect" in result.error
    assert result.details is not None and result.details["load"]["requests"] < 100  # stopped at once


def test_streaming_models_get_time_to_first_token(tmp_path: Path) -> None:
    with FakeServer() as fake:
        load = {"profile": {"kind": "constant_rate", "rps": 20, "duration_s": 0.5}}
        outcome, result, store = _run(tmp_path, fake, load, model={"stream": True})
        bodies = [r.body for r in fake.requests]
    assert all(b is not None and b.get("stream") is True for b in bodies)
    samples = store.load_samples(outcome.run_id)
    assert len(samples) == 10 and all(s.outcome == "ok" for s in samples)
    assert all(s.ttft_ms is not None and 0 < s.ttft_ms <= (s.latency_ms or 0) for s in samples)
    assert result.details is not None and result.details["load"]["ttft_p95_ms"] is not None


def _priced_load(
    tmp_path: Path, spec: dict[str, Any], load: dict[str, Any], cap: float | None = None, **extra: Any
) -> RunOutcome:
    """A stress suite's load against model ``m`` (``spec``), priced; ``cap``: --max-cost."""
    project = load_project(write_project(tmp_path, {"m": spec}))
    suite = load_suite(_stress_suite(tmp_path, load, **extra))
    runner = Runner(project, Store(project.store_url()), RunOptions(use_cache=False, max_cost_usd=cap))
    return asyncio.run(runner.run([suite]))


def _gpt_4o(fake: FakeServer, **fields: Any) -> dict[str, Any]:
    return {
        "provider": "openai",
        "base_url": fake.base_url,
        "model": "gpt-4o",
        "price_provider": "openai",
        **fields,
    }


def _closed_loop(users: int, requests: int) -> dict[str, Any]:
    return {
        "profile": {
            "kind": "constant_concurrency",
            "concurrency": users,
            "max_requests": requests,
            "duration_s": 30,
        }
    }


def _budget_run(tmp_path: Path, fake: FakeServer, cap: float) -> RunOutcome:
    load = {"profile": {"kind": "constant_rate", "rps": 50, "duration_s": 1}, "window_s": 0.5}
    return _priced_load(tmp_path, _gpt_4o(fake), load, cap, params={"max_tokens": 100})


def test_max_cost_skips_a_load_that_does_not_fit(tmp_path: Path, fake: FakeServer) -> None:
    # 50 requests of gpt-4o at ~60 output tokens each cost ~$0.03: a cent does not cover it.
    outcome = _budget_run(tmp_path, fake, cap=0.01)
    assert outcome.status == "budget_stopped"
    assert fake.requests == [] and outcome.results == []


def test_max_cost_reserves_a_load_whole_and_records_its_cost(tmp_path: Path, fake: FakeServer) -> None:
    outcome = _budget_run(tmp_path, fake, cap=1.0)
    assert outcome.status == "completed"
    (result,) = outcome.results
    assert result.details is not None and result.details["load"]["ok"] == 50
    per_request = result.cost_usd / 50
    assert 0 < per_request < 0.002  # gpt-4o: $2.5/M in, $10/M out, a few tokens each
    assert result.details["cost"]["method"] == "the usage the replies reported, priced per request"
    assert result.details["cost"]["priced_replies"] == 50 and result.input_tokens > 0
    assert len(fake.requests) == 50


@pytest.mark.parametrize("stream", [False, True])
def test_a_load_costs_what_its_replies_report(tmp_path: Path, fake: FakeServer, stream: bool) -> None:
    usage = {"prompt_tokens": 1_000, "completion_tokens": 200, "cached_tokens": 400}
    fake.script("gpt-4o", [Reply(text="fine, thanks", usage=usage)] * 40)
    outcome = _priced_load(tmp_path, _gpt_4o(fake, stream=stream), _closed_loop(4, 40))
    (result,) = outcome.results
    one = calc_price(
        PriceUsage(input_tokens=1_000, cache_read_tokens=400, output_tokens=200),
        "gpt-4o",
        provider_id="openai",
    )
    assert result.details is not None and result.details["load"]["ok"] == 40
    cost = result.details["cost"]
    assert cost["priced_replies"] == 40 and "unpriced_replies" not in cost
    assert result.cost_usd == pytest.approx(40 * float(one.total_price), rel=1e-9)
    assert (result.input_tokens, result.output_tokens, result.cached_input_tokens) == (40_000, 8_000, 16_000)


def test_replies_without_usage_are_counted_as_unpriced(tmp_path: Path, fake: FakeServer) -> None:
    fake.script("gpt-4o", [Reply(text="ok", usage={"prompt_tokens": 0, "completion_tokens": 0})] * 10)
    (result,) = _priced_load(tmp_path, _gpt_4o(fake), _closed_loop(2, 10)).results
    assert result.cost_usd == 0.0 and result.details is not None
    assert result.details["cost"]["unpriced_replies"] == 10
    assert result.details["cost"]["method"] == "no reply reported token usage"


def test_a_load_on_another_adapter_costs_what_its_completions_report(
    tmp_path: Path, fake: FakeServer
) -> None:
    # The Anthropic adapter has no lean load sender: its load goes through complete().
    model = "claude-sonnet-4-20250514"
    fake.script(model, [Reply(text="fine", usage={"input_tokens": 500, "output_tokens": 100})] * 12)
    base_url = fake.base_url.removesuffix("/v1")
    spec = {"provider": "anthropic", "base_url": base_url, "model": model, "price_provider": "anthropic"}
    (result,) = _priced_load(tmp_path, spec, _closed_loop(3, 12)).results
    one = calc_price(PriceUsage(input_tokens=500, output_tokens=100), model, provider_id="anthropic")
    assert result.details is not None and result.details["load"]["ok"] == 12
    assert result.cost_usd == pytest.approx(12 * float(one.total_price), rel=1e-9)
