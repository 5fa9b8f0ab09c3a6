"""The router: classification by model name, header, each rule condition and the default;
route order with demotions; canary arms by sticky key; policy checks."""

from __future__ import annotations

from typing import Any

import pytest

from benchroute._errors import ConfigError
from benchroute.config import PolicyDocument, ProjectConfig, parse_policy
from benchroute.routing import Router, RoutingError, checked_policy, is_routed, policy_problems


def _policy(**extra: Any) -> PolicyDocument:
    data: dict[str, Any] = {
        "format": "benchroute.policy/1",
        "version": 7,
        "default_class": "general",
        "rules": [
            {"class": "code", "regex": "```|\\bdef\\b"},
            {"class": "summarise", "keywords": ["summarise", "tl;dr"]},
            {"class": "extract", "json_mode": True},
            {"class": "vision", "images": True},
            {"class": "agent", "tools": True},
            {"class": "long", "min_prompt_chars": 200},
        ],
        "classes": {
            name: {"route": [{"model": "a"}, {"model": "b"}, {"model": "c"}]}
            for name in ("general", "code", "summarise", "extract", "vision", "agent", "long")
        },
    }
    data.update(extra)
    return parse_policy(data)


def _ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "benchroute", "messages": [{"role": "user", "content": text}], **extra}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (_ask("hello there"), ("general", "default")),
        (_ask("why does\ndef f(): fail"), ("code", "rule 0")),
        (_ask("Please SUMMARISE this"), ("summarise", "rule 1")),
        (_ask("summarisation is not a keyword"), ("general", "default")),
        (_ask("give me fields", response_format={"type": "json_object"}), ("extract", "rule 2")),
        (_ask("give me fields", response_format={"type": "text"}), ("general", "default")),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "what is this"},
                            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                        ],
                    }
                ]
            },
            ("vision", "rule 3"),
        ),
        (_ask("book it", tools=[{"type": "function", "function": {"name": "book"}}]), ("agent", "rule 4")),
        (_ask("x" * 250), ("long", "rule 5")),
    ],
)
def test_rules_in_order(payload: dict[str, Any], expected: tuple[str, str]) -> None:
    assert Router(_policy()).classify("benchroute", payload, {}) == expected


def test_the_last_user_message_is_what_rules_read() -> None:
    payload = {
        "messages": [
            {"role": "user", "content": "def f(): pass"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "thanks"},
        ]
    }
    assert Router(_policy()).classify("benchroute", payload, {}) == ("general", "default")


def test_model_name_then_header_then_rules() -> None:
    router = Router(_policy())
    code = _ask("def f(): pass")
    assert router.classify("benchroute/extract", code, {"x-benchroute-task": "vision"}) == (
        "extract",
        "model",
    )
    assert router.classify("benchroute", code, {"x-benchroute-task": "vision"}) == ("vision", "header")
    assert router.classify("benchroute/auto", code, {}) == ("code", "rule 0")
    with pytest.raises(RoutingError, match="no task class 'nope'"):
        router.classify("benchroute/nope", code, {})
    with pytest.raises(RoutingError, match="x-benchroute-task"):
        router.classify("benchroute", code, {"x-benchroute-task": "nope"})
    assert is_routed("benchroute") and is_routed("benchroute/x") and not is_routed("benchroutex")


def test_all_conditions_of_a_rule_must_hold() -> None:
    policy = _policy(rules=[{"class": "code", "regex": "def", "tools": False, "max_prompt_chars": 50}])
    router = Router(policy)
    assert router.classify("benchroute", _ask("def f"), {})[0] == "code"
    assert router.classify("benchroute", _ask("def f", tools=[{"type": "function"}]), {})[0] == "general"
    assert router.classify("benchroute", _ask("def " + "y" * 60), {})[0] == "general"


def test_demoted_endpoints_go_last_only_in_their_class() -> None:
    router = Router(_policy(), demoted={("code", "a"): "drift"})
    code = router.decide("benchroute/code", _ask("x"), {}, request_id="r1")
    assert code.route == ("b", "c", "a")
    assert code.receipt["demoted"] == [{"model": "a", "reason": "drift"}]
    general = router.decide("benchroute", _ask("x"), {}, request_id="r2")
    assert general.route == ("a", "b", "c") and general.receipt["demoted"] == []
    assert general.policy_version == 7


def _canary_policy(sticky: str, percent: float = 50, shadow: bool = False) -> PolicyDocument:
    return parse_policy(
        {
            "format": "benchroute.policy/1",
            "classes": {
                "general": {
                    "route": [{"model": "a"}, {"model": "b"}],
                    "canary": {
                        "model": "c",
                        "percent": percent,
                        "sticky": sticky,
                        "salt": "s1",
                        "shadow": shadow,
                    },
                }
            },
        }
    )


def test_sticky_keys() -> None:
    user = Router(_canary_policy("user"))
    picks = {user.decide("benchroute", _ask("x", user="u1"), {}, request_id=f"r{i}").arm for i in range(20)}
    assert len(picks) == 1  # the same user, whatever the request
    by_header = {
        user.decide("benchroute", _ask("x"), {"x-benchroute-user": "u1"}, request_id=f"r{i}").arm
        for i in range(20)
    }
    assert by_header == picks  # the header names the same user
    session = Router(_canary_policy("session"))
    arms = [
        session.decide("benchroute", _ask("x"), {"x-benchroute-session": f"s{i}"}, request_id="r").arm
        for i in range(200)
    ]
    assert 60 <= arms.count("canary") <= 140
    key = Router(_canary_policy("key"))
    assert (
        len({key.decide("benchroute", _ask("x"), {}, request_id=f"r{i}", key_id="k1").arm for i in range(20)})
        == 1
    )
    # no key at hand: per request (not sticky), still the right share
    per_request = [user.decide("benchroute", _ask("x"), {}, request_id=f"q{i}").arm for i in range(400)]
    assert 150 <= per_request.count("canary") <= 250


def test_canary_arm_routes_to_the_candidate_first() -> None:
    router = Router(_canary_policy("request", percent=100))
    decision = router.decide("benchroute", _ask("x"), {}, request_id="r")
    assert decision.arm == "canary" and decision.route == ("c", "a", "b")
    shadow = Router(_canary_policy("user", shadow=True)).decide("benchroute", _ask("x"), {}, request_id="r")
    assert shadow.arm == "primary" and shadow.route == ("a", "b") and shadow.shadow == "c"
    assert Router(_canary_policy("user")).models() == {"a", "b", "c"}


def test_policy_checks_name_the_field() -> None:
    project = ProjectConfig.model_validate(
        {"models": {"a": {"provider": "openai", "model": "gpt-a", "base_url": "http://127.0.0.1:9/v1"}}}
    )
    good = parse_policy({"format": "benchroute.policy/1", "classes": {"g": {"route": [{"model": "a"}]}}})
    assert policy_problems(good, project) == []
    ghost = parse_policy(
        {"format": "benchroute.policy/1", "classes": {"g": {"route": [{"model": "a"}, {"model": "z"}]}}}
    )
    assert policy_problems(ghost, project) == ["classes.g.route[1]: model 'z' is not defined under models:"]
    with pytest.raises(ConfigError, match=r"classes\.g\.route: List should have at least 1 item"):
        parse_policy({"format": "benchroute.policy/1", "classes": {"g": {"route": []}}})
    with pytest.raises(ConfigError, match="format"):
        parse_policy({"format": "other/2", "classes": {"g": {"route": [{"model": "a"}]}}})
    with pytest.raises(ConfigError, match="route lists a model twice"):
        parse_policy(
            {"format": "benchroute.policy/1", "classes": {"g": {"route": [{"model": "a"}, {"model": "a"}]}}}
        )
    with pytest.raises(ConfigError, match=r"rules\[0\]\.class 'x' is not one of classes"):
        parse_policy(
            {
                "format": "benchroute.policy/1",
                "rules": [{"class": "x", "regex": "a"}],
                "classes": {"g": {"route": [{"model": "a"}]}},
            }
        )
    from benchroute.routing import PolicyError

    with pytest.raises(PolicyError, match="model 'z'"):
        checked_policy(ghost, project)
