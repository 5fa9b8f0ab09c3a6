"""Conversation-tier suite files: turns, simulated users, and clear errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchroute import ConfigError
from benchroute.config import ScorerSpec, SimulatedUser, SuiteSpec, Turn, load_suite

HEADER = """\
name: conv
tier: conversation
scorers: [max_total_tokens]
dataset:
  cases:
"""


def _write(tmp_path: Path, cases: str, header: str = HEADER) -> Path:
    path = tmp_path / "conv.yaml"
    path.write_text(header + cases)
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_suite(path)
    return str(caught.value)


def test_scripted_and_simulated_cases_load(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
    - id: memory
      turns:
        - user: "My name is Ada."
        - user: "What is my name?"
          assert:
            - name: contains
              args: {values: [Ada]}
            - any: [exact, {name: regex, args: {pattern: Ada}}]
      assertions:
        - name: remembers
          args: {fact: Ada, turn: 2}
    - id: tourist
      simulated_user:
        persona: A tourist.
        goal: Learn the capital of France.
        stop: {assistant_regex: Paris}
        max_turns: 3
""",
    )
    suite = load_suite(path)
    memory, tourist = suite.dataset.cases or []
    assert memory.turns is not None and [t.user for t in memory.turns] == [
        "My name is Ada.",
        "What is my name?",
    ]
    assert memory.turns[0].assertions == []
    second = memory.turns[1].assertions
    assert isinstance(second[0], ScorerSpec) and second[0].args == {"values": ["Ada"]}
    assert [s.name for s in memory.assertions if isinstance(s, ScorerSpec)] == ["remembers"]
    user = tourist.simulated_user
    assert isinstance(user, SimulatedUser)
    assert user.model is None and user.max_turns == 3 and user.stop.assistant_regex == "Paris"
    assert user.user_stop_pattern() is None  # an explicit stop replaces the GOAL REACHED phrase


def test_a_suite_survives_the_run_snapshot(tmp_path: Path) -> None:
    suite = SuiteSpec(
        name="conv",
        tier="conversation",
        scorers=[ScorerSpec(name="max_total_tokens", args={"max": 10})],
        dataset={"cases": [{"id": "c", "turns": [Turn(user="hi", assertions=[ScorerSpec(name="exact")])]}]},  # type: ignore[arg-type]
    )
    again = SuiteSpec.model_validate(suite.model_dump(mode="json"))
    assert again == suite
    assert again.fingerprint() == suite.fingerprint()
    default = SimulatedUser(persona="p", goal="g")
    assert default.max_turns == 4 and default.user_stop_pattern() == r"\bGOAL[ _]REACHED\b"


def test_a_turn_without_text_names_the_field_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
    - id: c
      turns:
        - user: hello
        - user: "  "
""",
    )
    message = _error(path)
    assert f"{path}:9: dataset.cases.0.turns.1.user:" in message
    assert "write 'user: <message>'" in message


def test_a_turn_missing_user_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, "    - id: c\n      turns:\n        - assert: [exact]\n")
    message = _error(path)
    assert "dataset.cases.0.turns.0.user: required field is missing" in message


def test_a_misspelt_turn_field_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, "    - id: c\n      turns:\n        - user: hi\n          asert: [exact]\n")
    assert "dataset.cases.0.turns.0.asert: unknown field" in _error(path)


def test_max_turns_below_one_is_reported(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "    - id: c\n      simulated_user: {persona: p, goal: g, max_turns: 0}\n",
    )
    message = _error(path)
    assert "dataset.cases.0.simulated_user.max_turns:" in message
    assert "greater than or equal to 1" in message and "(got 0)" in message


def test_a_bad_stop_pattern_is_reported(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "    - id: c\n      simulated_user: {persona: p, goal: g, stop: {assistant_regex: '(unclosed'}}\n",
    )
    message = _error(path)
    assert "simulated_user.stop.assistant_regex" in message and "invalid regular expression" in message


def test_a_conversation_case_needs_turns_or_a_simulated_user(tmp_path: Path) -> None:
    path = _write(tmp_path, "    - id: plain\n      input: hi\n")
    message = _error(path)
    assert str(path) in message
    assert "dataset.cases.0 (id 'plain'): a conversation-tier case needs 'turns'" in message


def test_turns_need_a_conversation_suite(tmp_path: Path) -> None:
    header = HEADER.replace("tier: conversation", "tier: unit")
    path = _write(tmp_path, "    - id: c\n      turns: [{user: hi}]\n", header)
    assert "'turns' needs a conversation suite: set 'tier: conversation'" in _error(path)


def test_turns_and_a_simulated_user_together_are_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "    - id: c\n      turns: [{user: hi}]\n      simulated_user: {persona: p, goal: g}\n",
    )
    assert "give 'turns' (a script) or 'simulated_user', not both" in _error(path)


def test_empty_turns_and_input_with_turns_are_refused(tmp_path: Path) -> None:
    assert "give at least one turn" in _error(_write(tmp_path, "    - id: c\n      turns: []\n"))
    message = _error(_write(tmp_path, "    - id: c\n      input: hi\n      turns: [{user: hi}]\n"))
    assert "a conversation case has no 'input'" in message
