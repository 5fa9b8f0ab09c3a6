"""Costs equal genai-prices' own calculation, to the cent, for real models and real usages —
cached input, cache writes and reasoning tokens included — and through the whole run."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

from benchroute.config import ModelSpec, load_project, load_suite
from benchroute.providers import PriceBook, Usage
from benchroute.runner import Runner, RunOptions
from benchroute.store import Store
from benchroute.testing import FakeServer, Reply
from tests.conftest import write_project, write_suite

# (benchroute model spec, genai-prices provider id, model ref)
MODELS = [
    ({"provider": "openai", "model": "gpt-4o"}, "openai", "gpt-4o"),
    ({"provider": "openai", "model": "gpt-4o-mini"}, "openai", "gpt-4o-mini"),
    ({"provider": "anthropic", "model": "claude-sonnet-4-20250514"}, "anthropic", "claude-sonnet-4-20250514"),
    (
        {"provider": "anthropic", "model": "claude-3-5-sonnet-20241022"},
        "anthropic",
        "claude-3-5-sonnet-20241022",
    ),
    # Matched by the endpoint's URL, as a user configures them.
    (
        {"provider": "openai", "model": "deepseek-chat", "base_url": "https://api.deepseek.com/v1"},
        "deepseek",
        "deepseek-chat",
    ),
    (
        {
            "provider": "openai",
            "model": "gemini-2.0-flash",
            "base_url": "https://generativelanguage.googleapis.com/v1beta/openai",
        },
        "google",
        "gemini-2.0-flash",
    ),
    # Named explicitly, as for a proxy in front of the provider.
    (
        {
            "provider": "openai",
            "model": "gemini-2.5-flash",
            "base_url": "http://proxy.internal/v1",
            "price_provider": "google",
        },
        "google",
        "gemini-2.5-flash",
    ),
]

# input (all prompt tokens), cached reads, cache writes, output (all), reasoning (of the output)
USAGES = [
    (1_200, 0, 0, 350, 0),
    (52_000, 48_000, 0, 900, 0),  # a long cached system prompt
    (2_000_000, 1_900_000, 0, 12_000, 0),  # millions of cached tokens (a long agent session)
    (150_000, 90_000, 40_000, 4_000, 2_500),  # cache reads, writes and reasoning together
    (800, 0, 0, 20_000, 18_000),  # a reasoning-heavy reply
]


def _book(spec: dict[str, object]) -> tuple[PriceBook, str]:
    model = ModelSpec.model_validate({"name": "m", **spec})
    return PriceBook([model]), "m"


def _reference(provider: str, model: str, usage: tuple[int, int, int, int, int]) -> Decimal:
    tokens_in, cached, written, tokens_out, reasoning = usage
    return calc_price(
        PriceUsage(
            input_tokens=tokens_in,
            cache_read_tokens=cached or None,
            cache_write_tokens=written or None,
            output_tokens=tokens_out,
            output_reasoning_tokens=reasoning or None,
        ),
        model_ref=model,
        provider_id=provider,
    ).total_price


@pytest.mark.parametrize(("spec", "provider", "model"), MODELS, ids=[m[2] for m in MODELS])
@pytest.mark.parametrize("usage", USAGES, ids=[f"in{u[0]}-cached{u[1]}-out{u[3]}" for u in USAGES])
def test_cost_equals_genai_prices(
    spec: dict[str, object], provider: str, model: str, usage: tuple[int, int, int, int, int]
) -> None:
    book, name = _book(spec)
    tokens_in, cached, written, tokens_out, reasoning = usage
    ours = book.cost(
        name,
        Usage(
            input_tokens=tokens_in,
            cached_input_tokens=cached,
            cache_write_tokens=written,
            output_tokens=tokens_out,
            reasoning_tokens=reasoning,
        ),
        latency_ms=1234.0,
    )
    expected = _reference(provider, model, usage)
    assert round(ours, 2) == round(float(expected), 2)
    assert ours == pytest.approx(float(expected), rel=1e-12, abs=1e-12)


def test_cached_tokens_are_cheaper_and_reasoning_is_not_counted_twice() -> None:
    book, name = _book({"provider": "openai", "model": "gpt-4o"})
    plain = book.cost(name, Usage(input_tokens=1_000_000, output_tokens=1_000_000), 0)
    cached = book.cost(
        name, Usage(input_tokens=1_000_000, cached_input_tokens=1_000_000, output_tokens=1_000_000), 0
    )
    reasoning = book.cost(
        name, Usage(input_tokens=1_000_000, output_tokens=1_000_000, reasoning_tokens=900_000), 0
    )
    assert plain == pytest.approx(2.5 + 10.0)
    assert cached == pytest.approx(1.25 + 10.0)
    assert reasoning == pytest.approx(plain)  # part of the output tokens, at the output price


def test_anthropic_cache_writes_cost_their_own_rate() -> None:
    book, name = _book({"provider": "anthropic", "model": "claude-sonnet-4-20250514"})
    written = book.cost(name, Usage(input_tokens=1_000_000, cache_write_tokens=1_000_000), 0)
    assert written == pytest.approx(3.75)


def test_override_follows_the_same_rules() -> None:
    book, name = _book(
        {
            "provider": "openai",
            "model": "x",
            "base_url": "http://127.0.0.1:9/v1",
            "prices": {
                "input_per_mtok": 2.0,
                "output_per_mtok": 8.0,
                "cached_input_per_mtok": 0.5,
                "cache_write_per_mtok": 2.5,
            },
        }
    )
    usage = Usage(
        input_tokens=1_000_000,
        cached_input_tokens=400_000,
        cache_write_tokens=100_000,
        output_tokens=1_000_000,
        reasoning_tokens=600_000,
    )
    assert book.cost(name, usage, 0) == pytest.approx(0.5 * 2.0 + 0.4 * 0.5 + 0.1 * 2.5 + 8.0)


def test_snapshot_records_every_rate_and_the_package_version() -> None:
    from importlib.metadata import version

    specs = [
        ModelSpec.model_validate(
            {"name": "sonnet", "provider": "anthropic", "model": "claude-sonnet-4-20250514"}
        ),
        ModelSpec.model_validate({"name": "local", "provider": "local", "model": "smollm2"}),
        ModelSpec.model_validate(
            {
                "name": "own",
                "provider": "openai",
                "model": "x",
                "prices": {"input_per_mtok": 1, "output_per_mtok": 2},
            }
        ),
    ]
    snapshot = PriceBook(specs).snapshot()
    sonnet = snapshot["sonnet"]
    assert sonnet["input_per_mtok"] == 3.0 and sonnet["output_per_mtok"] == 15.0
    assert sonnet["cached_input_per_mtok"] == 0.3 and sonnet["cache_write_per_mtok"] == 3.75
    assert sonnet["genai_prices_version"] == version("genai-prices")
    assert sonnet["source"] == f"genai-prices {version('genai-prices')}"
    assert snapshot["local"] == {"source": "compute rate", "usd_per_hour": 0.1}
    assert snapshot["own"] == {"source": "override", "input_per_mtok": 1.0, "output_per_mtok": 2.0}
    json.dumps(snapshot)  # stored as JSON with the run


# --- through the wire and the store --------------------------------------------------------

OPENAI_REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "answer 0"}, "finish_reason": "stop"}
    ],
    "usage": {
        "prompt_tokens": 60_000,
        "completion_tokens": 3_000,
        "total_tokens": 63_000,
        "prompt_tokens_details": {"cached_tokens": 55_000},
        "completion_tokens_details": {"reasoning_tokens": 2_400},
    },
}

ANTHROPIC_REPLY = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-20250514",
    "content": [{"type": "text", "text": "answer 0"}],
    "stop_reason": "end_turn",
    "usage": {
        "input_tokens": 1_000,
        "cache_read_input_tokens": 70_000,
        "cache_creation_input_tokens": 9_000,
        "output_tokens": 5_000,
        "output_tokens_details": {"thinking_tokens": 4_200},
    },
}


def _stored_cost(
    tmp_path: Path, spec: dict[str, object], reply: dict[str, object], fake: FakeServer
) -> float:
    fake.script(str(spec["model"]), [Reply(body=json.dumps(reply))])
    project_path = write_project(tmp_path, {"m": {**spec, "base_url": fake.base_url}})
    suite = write_suite(tmp_path, "s", [{"id": "c0", "input": "answer 0", "expected": "answer 0"}])
    project = load_project(project_path)
    store = Store(project.store_url())
    outcome = asyncio.run(Runner(project, store, RunOptions(use_cache=False)).run([load_suite(suite)]))
    (result,) = store.results(outcome.run_id)
    assert result.passed and result.error is None
    return result.cost_usd


def test_openai_reply_with_cached_and_reasoning_tokens_is_stored_at_genai_prices(
    tmp_path: Path, fake: FakeServer
) -> None:
    spec = {"provider": "openai", "model": "gpt-4o", "price_provider": "openai"}
    cost = _stored_cost(tmp_path, spec, OPENAI_REPLY, fake)
    expected = calc_price(
        PriceUsage(
            input_tokens=60_000, cache_read_tokens=55_000, output_tokens=3_000, output_reasoning_tokens=2_400
        ),
        model_ref="gpt-4o",
        provider_id="openai",
    ).total_price
    assert cost == pytest.approx(float(expected), rel=1e-12)
    assert round(cost, 2) == round(float(expected), 2)


def test_anthropic_reply_with_cache_writes_and_thinking_is_stored_at_genai_prices(
    tmp_path: Path, fake: FakeServer
) -> None:
    spec = {"provider": "anthropic", "model": "claude-sonnet-4-20250514", "price_provider": "anthropic"}
    cost = _stored_cost(tmp_path, spec, ANTHROPIC_REPLY, fake)
    # genai-prices reads the same reply body itself.
    extracted = calc_price(
        PriceUsage(
            input_tokens=80_000,
            cache_read_tokens=70_000,
            cache_write_tokens=9_000,
            output_tokens=5_000,
            output_reasoning_tokens=4_200,
        ),
        model_ref="claude-sonnet-4-20250514",
        provider_id="anthropic",
    ).total_price
    assert cost == pytest.approx(float(extracted), rel=1e-12)


def test_adapters_parse_every_usage_field() -> None:
    from benchroute.providers._anthropic_wire import anthropic_usage
    from benchroute.providers._openai import parse_usage as openai_usage

    assert openai_usage(OPENAI_REPLY["usage"]) == Usage(
        input_tokens=60_000, output_tokens=3_000, cached_input_tokens=55_000, reasoning_tokens=2_400
    )
    assert anthropic_usage(ANTHROPIC_REPLY["usage"]) == Usage(  # type: ignore[arg-type]
        input_tokens=80_000,
        output_tokens=5_000,
        cached_input_tokens=70_000,
        cache_write_tokens=9_000,
        reasoning_tokens=4_200,
    )


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8000/v1", "http://localhost:11434/v1", "http://10.1.2.3/v1", "http://[::1]:8080/v1"],
)
def test_self_hosted_endpoint_is_unknown_with_a_hint(base_url: str) -> None:
    book, name = _book({"provider": "openai", "model": "gpt-4o", "base_url": base_url})
    info = book.info(name)
    assert info.source == "unknown"
    assert "self-hosted" in info.note and "price_provider:" in info.note
    # Unknown, not free: a $0 here would make the model nobody priced the cheapest.
    assert book.cost(name, Usage(input_tokens=1_000, output_tokens=1_000), 5.0) is None
    assert not book.is_priced(name) and not info.priced


def test_self_hosted_proxy_with_price_provider_is_priced_by_genai_prices() -> None:
    spec = {"provider": "openai", "model": "gpt-4o", "base_url": "http://127.0.0.1:4000/v1"}
    book, name = _book({**spec, "price_provider": "openai"})
    usage = Usage(input_tokens=10_000, output_tokens=2_000)
    priced = PriceUsage(input_tokens=10_000, output_tokens=2_000)
    expected = calc_price(priced, "gpt-4o", provider_id="openai")
    assert book.info(name).source.startswith("genai-prices") and book.is_priced(name)
    assert book.cost(name, usage, 5.0) == pytest.approx(float(expected.total_price), abs=1e-12)


def test_public_custom_host_still_asks_genai_prices() -> None:
    book, name = _book(
        {"provider": "openai", "model": "no-such-model-xyz", "base_url": "https://llm.example.com/v1"}
    )
    assert book.info(name).source == "unknown"
    assert "genai-prices has no price" in book.info(name).note


@pytest.mark.parametrize(
    "raw",
    [
        {"prompt_tokens": "abc", "completion_tokens": None},
        {"prompt_tokens": -5, "completion_tokens": True, "prompt_tokens_details": ["x"]},
        {"prompt_tokens": float("nan"), "completion_tokens_details": "?"},
        "not a dict",
    ],
)
def test_openai_usage_that_is_not_numbers_reads_as_zero(raw: object) -> None:
    from benchroute.providers._openai import parse_usage

    assert parse_usage(raw) == Usage()
