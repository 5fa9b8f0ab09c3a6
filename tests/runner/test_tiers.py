"""Tiers by registry name: built-ins through entry points, a new tier as one class, an
unknown name as a configuration error with its place and the closest name."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from benchroute import ConfigError, _entrypoints
from benchroute.config import _tiers as tier_registry
from benchroute.config import find_tier, load_project, load_suite, register_tier, tier_names
from benchroute.runner import ExecutionContext, Runner, RunOptions, Tier, WorkItem, tier_for
from benchroute.store import Store
from benchroute.testing import FakeServer
from tests.conftest import write_project, write_suite


def test_the_builtin_tiers_are_entry_points_of_benchroute_itself() -> None:
    for name in ("unit", "code", "conversation", "stress"):
        entry = _entrypoints.find(tier_registry.ENTRY_POINT_GROUP, name)
        assert entry is not None and entry.value.startswith("benchroute.runner.")
        assert isinstance(tier_for(name), Tier)
    assert {"unit", "code", "conversation", "stress"} <= set(tier_names())


def test_an_unknown_tier_names_its_line_and_the_closest_tier(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump(
            {"name": "s", "tier": "stres", "dataset": {"cases": [{"id": "a", "input": "x"}]}},
            sort_keys=False,
        )
    )
    with pytest.raises(ConfigError) as raised:
        load_suite(path)
    message = str(raised.value)
    assert f"{path}:2" in message and "tier" in message
    assert "unknown tier 'stres'" in message and "stress" in message
    with pytest.raises(ConfigError, match="did you mean `unit`"):
        find_tier("unti")


class EchoTier(Tier):
    """A tier written the way a plugin writes one: only execute(), through the context."""

    async def execute(self, ctx: ExecutionContext, item: WorkItem) -> None:
        request = ctx.prompts(item.suite).request(item.case, ctx.model(item.model))
        call = await ctx.call(item.model, request)
        result = ctx.result(
            item,
            messages=request.wire_messages(),
            completion=call.completion,
            scoring=None
            if call.completion is None
            else await ctx.scorer(item.suite).score(call.completion, item.case),
            error=call.error,
            retries=call.retries,
            e2e_latency_ms=call.e2e_latency_ms,
        )
        ctx.write(result)


def test_a_new_tier_is_one_class_and_one_registration(
    tmp_path: Path, fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tier_registry, "_loaded", dict(tier_registry._loaded))
    register_tier("echo", EchoTier)
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(
        tmp_path, "s", [{"id": "a", "input": "hello", "expected": "hello"}], tier="echo", repeats=2
    )
    loaded = load_project(project)
    store = Store(loaded.store_url())

    outcome = asyncio.run(Runner(loaded, store, RunOptions()).run([load_suite(suite)]))

    assert outcome.status == "completed"
    assert sorted((r.case_id, r.repeat, r.passed) for r in outcome.results) == [
        ("a", 0, True),
        ("a", 1, True),
    ]
    assert all(r.e2e_latency_ms is not None for r in outcome.results)
    assert len(fake.requests) == 2  # this tier never asked the response cache


def test_a_tier_class_without_an_executor_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchroute.config import TierRules

    monkeypatch.setattr(tier_registry, "_loaded", dict(tier_registry._loaded))
    register_tier("rules_only", TierRules)
    with pytest.raises(ConfigError, match="no executor"):
        tier_for("rules_only")
