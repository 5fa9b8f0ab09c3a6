"""``max_p95_ms`` on a conversation suite, through ``benchroute run`` and ``benchroute rank``
against the fake server: a model with only conversations is held to the p95 of its whole
conversations, end to end, not failed for want of a single-request latency."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project


def _suite(folder: Path, max_p95_ms: float) -> Path:
    data = {
        "name": "chat",
        "tier": "conversation",
        "models": ["m"],
        "scorers": [{"name": "max_total_tokens", "args": {"max": 5000}}],
        "gate": {"max_p95_ms": max_p95_ms},
        "dataset": {
            "cases": [
                {"id": f"c{i}", "turns": [{"user": "Hello."}, {"user": "And again."}]} for i in range(3)
            ]
        },
    }
    path = folder / "chat.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_conversation_suite_passes_max_p95_ms_on_whole_conversation_latency(
    tmp_path: Path, fake: FakeServer
) -> None:
    fake.latency = 0.1  # two turns: each conversation takes at least 200 ms
    project = write_project(
        tmp_path, {"m": {"provider": "openai", "model": "gpt-4o", "base_url": fake.base_url}}
    )
    summary = tmp_path / "summary.json"
    ran = run_cli(
        "run",
        str(_suite(tmp_path, 60_000)),
        "--config",
        str(project),
        "--no-cache",
        "--summary-json",
        str(summary),
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "no measured latency" not in ran.stderr
    run_id = json.loads(summary.read_text())["run_id"]
    ranked = run_cli("rank", run_id, "--max-p95-ms", "60000", "--json", "--config", str(project))
    assert ranked.returncode == 0, ranked.stderr
    (entry,) = json.loads(ranked.stdout)["ranking"]
    assert entry["violations"] == []


def test_a_conversation_suite_fails_max_p95_ms_when_its_conversations_are_slow(
    tmp_path: Path, fake: FakeServer
) -> None:
    fake.latency = 0.1
    project = write_project(
        tmp_path, {"m": {"provider": "openai", "model": "gpt-4o", "base_url": fake.base_url}}
    )
    summary = tmp_path / "summary.json"
    ran = run_cli(
        "run",
        str(_suite(tmp_path, 150)),
        "--config",
        str(project),
        "--no-cache",
        "--summary-json",
        str(summary),
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "gate failed: chat · m: max_p95_ms" in ran.stderr
    assert "p95 of 3 whole conversation(s), end to end" in ran.stderr
    assert "n/a" not in ran.stderr  # measured, not missing
    run_id = json.loads(summary.read_text())["run_id"]
    ranked = run_cli("rank", run_id, "--max-p95-ms", "150", "--json", "--config", str(project))
    assert ranked.returncode == 0, ranked.stderr
    (entry,) = json.loads(ranked.stdout)["ranking"]
    assert any(v.startswith("p95 per conversation") for v in entry["violations"]), entry
