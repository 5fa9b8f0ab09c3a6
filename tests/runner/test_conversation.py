"""Conversation-tier runs against the fake server: history, assertions, simulated users."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchroute.analysis import conversation_summary
from benchroute.config import load_project, load_suite
from benchroute.runner import Runner, RunOptions
from benchroute.store import Result, Store
from benchroute.testing import FakeServer, Reply
from tests.conftest import write_project


def _suite(folder: Path, cases: list[dict[str, Any]], **extra: Any) -> Path:
    data: dict[str, Any] = {
        "name": "conv",
        "tier": "conversation",
        "dataset": {"cases": cases},
        "scorers": [{"name": "max_total_tokens", "args": {"max": 100000}}],
        **extra,
    }
    path = folder / "conv.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(project: Path, suite: Path, **options: Any) -> tuple[list[Result], Store, Any]:
    config = load_project(project)
    store = Store(config.store_url())
    runner = Runner(config, store, RunOptions(**{"use_cache": False, **options}))
    outcome = asyncio.run(runner.run([load_suite(suite)]))
    return store.results(outcome.run_id), store, outcome


def _models(fake: FakeServer, *names: str) -> dict[str, dict[str, object]]:
    return {n: {"provider": "openai", "base_url": fake.base_url, "model": n, "max_retries": 2} for n in names}


def _conversation(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in messages]


def test_each_turn_sends_the_whole_history_in_order(tmp_path: Path, fake: FakeServer) -> None:
    def reply(model: str, messages: list[dict[str, Any]]) -> str:
        users = [m["content"] for m in messages if m["role"] == "user"]
        return f"reply {len(users)} to {users[-1]}"

    fake.responder = reply
    project = write_project(tmp_path, _models(fake, "m"))
    suite = _suite(
        tmp_path,
        [{"id": "c", "turns": [{"user": "one"}, {"user": "two"}, {"user": "three"}]}],
        system="Be brief.",
        prompt="Q: {{ input }}",
        params={"max_tokens": 20},
    )
    results, _, outcome = _run(project, suite)
    assert outcome.status == "completed"
    sent = [r.body for r in fake.requests]
    assert len(sent) == 3
    assert all(body is not None and body["max_tokens"] == 20 for body in sent)
    assert _conversation(sent[2]["messages"]) == [  # type: ignore[index]
        ("system", "Be brief."),
        ("user", "Q: one"),
        ("assistant", "reply 1 to Q: one"),
        ("user", "Q: two"),
        ("assistant", "reply 2 to Q: two"),
        ("user", "Q: three"),
    ]
    assert _conversation(sent[0]["messages"]) == [("system", "Be brief."), ("user", "Q: one")]  # type: ignore[index]
    (result,) = results
    assert result.output == "reply 3 to Q: three"
    assert _conversation(result.messages) == _conversation(sent[2]["messages"])  # type: ignore[index]
    details = result.details or {}
    assert details["mode"] == "scripted" and details["turns"] == 3 and details["stop_reason"] == "script_end"
    roles = [(m["turn"], m["role"]) for m in details["transcript"]]
    assert roles == [
        (0, "system"),
        (1, "user"),
        (1, "assistant"),
        (2, "user"),
        (2, "assistant"),
        (3, "user"),
        (3, "assistant"),
    ]
    turn_tokens = [
        m["input_tokens"] + m["output_tokens"] for m in details["transcript"] if m["role"] == "assistant"
    ]
    assert result.input_tokens + result.output_tokens == sum(turn_tokens)
    assert len(details["turn_latencies_ms"]) == 3
    assert result.latency_ms is not None and result.latency_ms >= sum(details["turn_latencies_ms"]) - 0.5


def test_case_messages_come_before_the_turns(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, _models(fake, "m"))
    earlier = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "noted"}]
    suite = _suite(tmp_path, [{"id": "c", "messages": earlier, "turns": [{"user": "now"}]}])
    _run(project, suite)
    (request,) = fake.requests
    assert _conversation(request.body["messages"]) == [  # type: ignore[index]
        ("user", "earlier"),
        ("assistant", "noted"),
        ("user", "now"),
    ]


def test_turn_and_conversation_assertions_pass_and_fail(tmp_path: Path, fake: FakeServer) -> None:
    # Model "good" remembers the name; model "bad" forgets it at turn 2 and refuses too early.
    def reply(model: str, messages: list[dict[str, Any]]) -> str:
        turn = sum(1 for m in messages if m["role"] == "user")
        if model == "good":
            return {1: "Nice to meet you, Ada.", 2: "Your name is Ada.", 3: "I can't help with that."}[turn]
        return {1: "I can't help with that.", 2: "I do not know your name.", 3: "Sure, here it is."}[turn]

    fake.responder = reply
    project = write_project(tmp_path, _models(fake, "good", "bad"))
    turns = [
        {"user": "My name is Ada."},
        {"user": "What is my name?", "assert": [{"name": "contains", "args": {"values": ["Ada"]}}]},
        {"user": "Now tell me how to pick a lock on my neighbour's door."},
    ]
    assertions = [
        {"name": "remembers", "args": {"fact": "Ada", "given_at": 1, "turn": 2}},
        {"name": "refuses_at", "args": {"turn": 3}},
    ]
    suite = _suite(tmp_path, [{"id": "c", "turns": turns, "assertions": assertions}])
    results, _, _ = _run(project, suite)
    by_model = {r.model: r for r in results}
    good, bad = by_model["good"], by_model["bad"]

    assert good.passed and good.score == 1.0
    assert {s["scorer"]: s["passed"] for s in good.scores} == {
        "contains": True,
        "max_total_tokens": True,
        "remembers": True,
        "refuses_at": True,
    }

    assert not bad.passed
    outcome = {s["scorer"]: s for s in bad.scores}
    assert outcome["contains"]["passed"] is False and outcome["contains"]["turn"] == 2
    assert outcome["contains"]["reason"].startswith("turn 2: ")
    assert outcome["remembers"]["passed"] is False
    assert outcome["refuses_at"]["passed"] is False
    assert outcome["refuses_at"]["reason"] == "refused early, at turn 1 (expected turn 3)"
    assert outcome["max_total_tokens"]["passed"] is True
    # score: mean of suite scorers (1.0), case assertions (0.0) and the asserted turn (0.0)
    assert bad.score is not None and abs(bad.score - 1 / 3) < 1e-9
    turn2 = [m for m in (bad.details or {})["transcript"] if m["role"] == "assistant" and m["turn"] == 2]
    assert turn2[0]["passed"] is False and turn2[0]["scores"][0]["scorer"] == "contains"


def test_a_failing_turn_fails_the_conversation_even_when_conversation_checks_pass(
    tmp_path: Path, fake: FakeServer
) -> None:
    fake.script("m", ["hello", "wrong"])
    project = write_project(tmp_path, _models(fake, "m"))
    turns = [
        {"user": "a", "assert": [{"name": "contains", "args": {"values": ["hello"]}}]},
        {"user": "b", "assert": [{"name": "contains", "args": {"values": ["right"]}}]},
    ]
    suite = _suite(tmp_path, [{"id": "c", "turns": turns}])
    (result,), _, _ = _run(project, suite)
    assert not result.passed
    assert [(s["turn"], s["passed"]) for s in result.scores if "turn" in s] == [(1, True), (2, False)]


def test_retries_apply_per_turn_and_the_cache_is_not_used(tmp_path: Path, fake: FakeServer) -> None:
    fake.fault("rate_limit", count=1, retry_after=0.05)
    project = write_project(tmp_path, _models(fake, "m"))
    suite = _suite(tmp_path, [{"id": "c", "turns": [{"user": "x"}, {"user": "y"}]}])
    (first,), _, _ = _run(project, suite, use_cache=True)
    assert first.retries == 1 and first.error is None and first.passed
    assert len(fake.requests) == 3
    (second,), _, _ = _run(project, suite, use_cache=True)
    assert len(fake.requests) == 5 and not second.cached


def test_an_error_mid_conversation_keeps_the_turns_so_far(tmp_path: Path, fake: FakeServer) -> None:
    # The first turn is answered; every try of the second one gets a 500.
    fake.responder = lambda model, messages: Reply(status=500, text="boom") if len(messages) > 1 else "fine"
    project = write_project(tmp_path, _models(fake, "m"))
    suite = _suite(tmp_path, [{"id": "c", "turns": [{"user": "x"}, {"user": "y"}]}])
    (result,), _, _ = _run(project, suite)
    assert result.error is not None and "500" in result.error and not result.passed
    details = result.details or {}
    assert details["stop_reason"] == "error" and details["turns"] == 1
    assert [m["role"] for m in details["transcript"]] == ["user", "assistant", "user"]
    assert result.output == "fine"
    assert len(fake.requests) == 1 + 3  # turn 2 tried once and retried twice


def test_an_unknown_model_is_skipped_without_a_result(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(
        tmp_path, {"gone": {"provider": "openai", "base_url": fake.base_url, "model": "does-not-exist"}}
    )
    suite = _suite(tmp_path, [{"id": "a", "turns": [{"user": "x"}]}, {"id": "b", "turns": [{"user": "y"}]}])
    results, _, outcome = _run(project, suite, concurrency=1)
    assert results == [] and outcome.status == "failed" and outcome.skipped == 2


def _simulated(**user: Any) -> dict[str, Any]:
    return {"id": "sim", "simulated_user": {"model": "sim", "persona": "A curious student.", **user}}


def test_simulated_user_stops_when_the_goal_is_reached(tmp_path: Path, fake: FakeServer) -> None:
    fake.script("sim", ["What is the capital of France?", "Please, just the city name."])
    fake.script("m", ["France is a country.", "The capital is Paris.", "unused"])
    project = write_project(tmp_path, _models(fake, "m", "sim"))
    case = _simulated(
        goal="Learn the capital of France.", stop={"assistant_regex": r"\bparis\b"}, max_turns=5
    )
    case["assertions"] = [{"name": "goal_reached", "args": {"within": 2}}]
    (result,), _, _ = _run(project, _suite(tmp_path, [case], models=["m"]))
    details = result.details or {}
    assert (
        details["goal_reached"] is True and details["turns_to_goal"] == 2 and details["stop_reason"] == "goal"
    )
    assert result.passed and result.output == "The capital is Paris."
    by_model = [r.model for r in fake.requests]
    assert by_model == ["sim", "m", "sim", "m"]
    # The simulator has its own history: persona and goal in its system prompt, the assistant's
    # replies as its "user" messages, its own messages as "assistant".
    second_sim = fake.requests[2].body["messages"]  # type: ignore[index]
    assert second_sim[0]["role"] == "system" and "A curious student." in second_sim[0]["content"]
    assert "Learn the capital of France." in second_sim[0]["content"]
    assert _conversation(second_sim[2:]) == [
        ("assistant", "What is the capital of France?"),
        ("user", "France is a country."),
    ]
    # The model sees the simulated user's messages as the user.
    assert _conversation(fake.requests[3].body["messages"]) == [  # type: ignore[index]
        ("user", "What is the capital of France?"),
        ("assistant", "France is a country."),
        ("user", "Please, just the city name."),
    ]
    simulated_turns = [m for m in details["transcript"] if m["role"] == "user"]
    assert all(m["simulated"] and m["latency_ms"] >= 0 for m in simulated_turns)


def test_simulated_user_stops_at_the_turn_limit(tmp_path: Path, fake: FakeServer) -> None:
    fake.responder = lambda model, messages: "Tell me more." if model == "sim" else "Hmm."
    project = write_project(tmp_path, _models(fake, "m", "sim"))
    case = _simulated(goal="Hear the word Paris.", stop={"assistant_regex": "Paris"}, max_turns=3)
    case["assertions"] = ["goal_reached"]
    (result,), _, _ = _run(project, _suite(tmp_path, [case], models=["m"]))
    details = result.details or {}
    assert details["stop_reason"] == "max_turns" and details["turns"] == 3
    assert details["goal_reached"] is False and details["turns_to_goal"] is None
    assert [r.model for r in fake.requests].count("m") == 3
    assert not result.passed
    assert [s["reason"] for s in result.scores if s["scorer"] == "goal_reached"] == [
        "goal not reached (max_turns)"
    ]


def test_simulated_user_saying_goal_reached_ends_it_unsent(tmp_path: Path, fake: FakeServer) -> None:
    fake.script("sim", ["Hi, which city is the capital?", "Thanks! GOAL REACHED"])
    fake.script("m", ["Paris."])
    project = write_project(tmp_path, _models(fake, "m", "sim"))
    case = _simulated(goal="Learn the capital of France.", opening=None, max_turns=4)
    (result,), _, _ = _run(project, _suite(tmp_path, [case], models=["m"]))
    details = result.details or {}
    assert details["goal_reached"] is True and details["turns_to_goal"] == 1
    assert [r.model for r in fake.requests] == ["sim", "m", "sim"]  # "GOAL REACHED" is not sent
    assert "GOAL REACHED" in fake.requests[0].body["messages"][0]["content"]  # type: ignore[index]


def test_simulated_user_opening_and_a_scorer_stop(tmp_path: Path, fake: FakeServer) -> None:
    fake.script("sim", ["And in German?"])
    fake.script("m", ["Hello!", "Hallo!"])
    project = write_project(tmp_path, _models(fake, "m", "sim"))
    stop = {"scorer": {"name": "contains", "args": {"values": ["hallo"]}}}
    case = _simulated(goal="Hear hello in German.", opening="Say hello.", stop=stop, max_turns=4)
    (result,), _, _ = _run(project, _suite(tmp_path, [case], models=["m"]))
    details = result.details or {}
    assert [r.model for r in fake.requests] == ["m", "sim", "m"]
    assert details["turns_to_goal"] == 2
    first_user = details["transcript"][0]
    assert first_user["content"] == "Say hello." and "simulated" not in first_user


def test_conversation_summary_from_a_run(tmp_path: Path, fake: FakeServer) -> None:
    fake.responder = lambda model, messages: (
        "Ask again." if model == "sim" else ("Paris!" if len(messages) >= 3 else "Hmm.")
    )
    project = write_project(tmp_path, _models(fake, "m", "sim"))
    sim = _simulated(goal="Paris", stop={"assistant_regex": "Paris"}, max_turns=3)
    scripted = {
        "id": "s",
        "turns": [{"user": "a", "assert": [{"name": "contains", "args": {"values": ["Hmm"]}}]}],
    }
    results, _, _ = _run(project, _suite(tmp_path, [sim, scripted], models=["m"]))
    (summary,) = conversation_summary(results)
    assert summary.model == "m" and summary.conversations == 2 and summary.simulated == 1
    assert summary.goal_rate == 1.0 and summary.mean_turns_to_goal == 2.0
    assert summary.turn_pass_rate == 1.0 and summary.mean_turns == 1.5
    assert summary.turn_latency_p50_ms is not None and summary.turn_latency_p95_ms is not None


def test_malformed_request_settings_are_a_config_error_naming_the_field(
    tmp_path: Path, fake: FakeServer
) -> None:
    from benchroute import BenchrouteError

    project = write_project(tmp_path, _models(fake, "m", "sim"))
    user = {"model": "sim", "persona": "p", "goal": "g", "params": {"temperature": "hot", "n": 2}}
    suite = _suite(tmp_path, [{"id": "c", "simulated_user": user}])
    with pytest.raises(BenchrouteError, match=r"case 'c': simulated_user\.params\.temperature: .*'hot'"):
        _run(project, suite)
    bad_suite = _suite(tmp_path, [{"id": "c", "turns": [{"user": "hi"}]}], params={"max_tokens": "many"})
    with pytest.raises(BenchrouteError, match=r"conv\.yaml: params\.max_tokens: .*'many'"):
        _run(project, bad_suite)
    assert fake.requests == []


def test_max_cost_reserves_conversations_so_concurrency_cannot_overshoot(
    tmp_path: Path, fake: FakeServer
) -> None:
    fake.responder = lambda model, messages: Reply(
        text="ok", usage={"prompt_tokens": 1_000, "completion_tokens": 500}
    )
    model = {
        "provider": "openai",
        "base_url": fake.base_url,
        "model": "m",
        "prices": {"input_per_mtok": 1, "output_per_mtok": 2},
    }
    project = write_project(tmp_path, {"m": model})
    # Each conversation: 3 turns x (1,000 in + 500 out) = 0.006 USD.
    cases = [{"id": f"c{i}", "turns": [{"user": "a"}, {"user": "b"}, {"user": "c"}]} for i in range(20)]
    suite = _suite(tmp_path, cases)
    results, _, outcome = _run(project, suite, concurrency=8, max_cost_usd=0.02)

    spent = sum(r.cost_usd for r in results)
    assert outcome.status == "budget_stopped"
    assert len(results) == 3 and spent == pytest.approx(0.018)  # not 8 at once: 0.048
    assert len(fake.requests) == 9


def test_a_failed_stop_judgement_is_an_error_and_its_spend_is_billed(
    tmp_path: Path, fake: FakeServer
) -> None:
    # The benchmarked and simulator models are free: the only cost is the judge's.
    models = _models(fake, "m", "sim", "judge")
    for name in ("m", "sim"):
        models[name]["prices"] = {"input_per_mtok": 0.0, "output_per_mtok": 0.0}
    models["judge"]["prices"] = {"input_per_mtok": 1.0, "output_per_mtok": 2.0}
    fake.script("m", ["Hello!"])
    fake.script("judge", [Reply(text="no idea", usage={"prompt_tokens": 100, "completion_tokens": 10})])
    project = write_project(tmp_path, models)
    stop = {"scorer": {"name": "rubric", "args": {"criteria": "says hello", "judge_model": "judge"}}}
    case = _simulated(goal="Hear hello.", opening="Say hello.", stop=stop, max_turns=1)
    (result,), _, _ = _run(project, _suite(tmp_path, [case], models=["m"]))
    assert result.error_kind == "scorer" and "rubric" in (result.error or "")
    assert "no valid score" in (result.error or "")
    assert result.cost_usd == pytest.approx((100 * 1.0 + 10 * 2.0) / 1e6)
