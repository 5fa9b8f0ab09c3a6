"""``benchroute run`` and ``benchroute runs show`` with a conversation suite (real subprocesses
against the fake server)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import yaml

from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project


def _suite(folder: Path) -> Path:
    data = {
        "name": "chat",
        "tier": "conversation",
        "system": "Be brief.",
        "models": ["m"],
        "scorers": [{"name": "max_total_tokens", "args": {"max": 5000}}],
        "dataset": {
            "cases": [
                {
                    "id": "memory",
                    "turns": [
                        {"user": "My name is Ada."},
                        {
                            "user": "What is my name?",
                            "assert": [{"name": "contains", "args": {"values": ["Ada"]}}],
                        },
                    ],
                    "assertions": [{"name": "remembers", "args": {"fact": "Ada", "given_at": 1, "turn": 2}}],
                },
                {
                    "id": "tourist",
                    "simulated_user": {
                        "model": "sim",
                        "persona": "A tourist.",
                        "goal": "Learn the capital of France.",
                        "stop": {"assistant_regex": "Paris"},
                        "max_turns": 2,
                    },
                    "assertions": ["goal_reached"],
                },
            ]
        },
    }
    path = folder / "chat.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _responder(model: str, messages: list[dict[str, Any]]) -> str:
    if model == "sim":
        return "Which city is the capital of France?"
    last = messages[-1]["content"]
    if last.startswith("What is my name"):
        return "You told me your name is Ada."
    if "capital" in last:
        return "It is Paris."
    return "Noted."


def test_run_then_show_renders_transcripts_turn_by_turn(tmp_path: Path, fake: FakeServer) -> None:
    fake.responder = _responder
    spec = {"provider": "openai", "base_url": fake.base_url}
    project = write_project(tmp_path, {"m": {**spec, "model": "m"}, "sim": {**spec, "model": "sim"}})
    suite = _suite(tmp_path)
    ran = run_cli("run", str(suite), "--config", str(project), "-j", "2")
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr
    assert "Conversations" in ran.stdout and "100% (1/1)" in ran.stdout  # the goal rate
    with sqlite3.connect(tmp_path / "store.db") as conn:
        (run_id,) = conn.execute("select id from runs").fetchone()

    shown = run_cli("runs", "show", run_id, "--config", str(project))
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    # Turn by turn, in order, with the per-turn assertion mark and the conversation-level ones.
    position = out.index("chat · memory · m")
    for text in (
        "My name is Ada.",
        "Noted.",
        "What is my name?",
        "You told me your name is Ada.",
        "✓ contains",
    ):
        position = out.index(text, position + 1)
    assert "conversation: ✓ max_total_tokens · ✓ remembers" in out
    assert "chat · tourist · m" in out and "goal reached in 1 turns" in out
    assert "user (sim)" in out and "simulator sim" in out

    only = run_cli("runs", "show", run_id, "--config", str(project), "--case", "tourist")
    assert "chat · tourist · m" in only.stdout and "chat · memory · m" not in only.stdout
    none = run_cli("runs", "show", run_id, "--config", str(project), "--transcripts", "0")
    assert "user (sim)" not in none.stdout and "Results" in none.stdout


def test_a_bad_conversation_suite_is_one_line_error(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = tmp_path / "bad.yaml"
    suite.write_text(
        "name: bad\ntier: conversation\nscorers: [max_total_tokens]\n"
        "dataset:\n  cases:\n    - id: c\n      simulated_user: {persona: p, goal: g, max_turns: 0}\n"
    )
    proc = run_cli("run", str(suite), "--config", str(project))
    assert proc.returncode == 2
    assert f"{suite}:7: dataset.cases.0.simulated_user.max_turns" in proc.stderr
    assert "Traceback" not in proc.stderr and fake.requests == []
