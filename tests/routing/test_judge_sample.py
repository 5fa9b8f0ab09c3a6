"""Judging sampled production replies: a stratified, seeded sample per class × arm × model,
the judge's verdicts stored as feedback of source judge (read by the canary test), a judge
that fails counted as an error and never stored, and a log without payloads refused."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from benchroute._errors import BenchrouteError
from benchroute.config import ProjectConfig
from benchroute.routing import canary_arms, judge_sample
from benchroute.store import PolicyStore, RequestLog, Store
from benchroute.testing import FakeServer


def _rows(n: int, arm: str, model: str, payloads: bool = True) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        rid = f"{arm}{i:03d}"
        rows.append(
            {
                "id": rid,
                "receipt_id": rid,
                "created_ts": time.time(),
                "alias": "benchroute",
                "model": model,
                "attempts": 1,
                "status": 200,
                "stream": False,
                "receipt": {},
                "task_class": "support",
                "policy_version": 1,
                "arm": arm,
                "latency_ms": 100.0,
                "request_payload": json.dumps({"messages": [{"role": "user", "content": f"question {i}"}]})
                if payloads
                else None,
                "response_payload": json.dumps({"choices": [{"message": {"content": f"answer {i}"}}]})
                if payloads
                else None,
            }
        )
    return rows


def _project(tmp_path: Path, upstream: FakeServer) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "models": {"judge": {"provider": "openai", "model": "judge-1", "base_url": upstream.base_url}},
            "judge": "judge",
            "store": str(tmp_path / "s.db"),
        }
    )


def test_a_stratified_sample_is_judged_and_stored(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    RequestLog(store).add_requests(_rows(30, "primary", "a") + _rows(8, "canary", "c"))
    with FakeServer() as upstream:
        upstream.responder = lambda model, messages: "Reasoning first. Final score: 4"  # type: ignore[assignment]
        report = asyncio.run(judge_sample(store, _project(tmp_path, upstream), sample=10, seed=1))
        judge_calls = len([r for r in upstream.requests if r.model == "judge-1"])
    assert report.judged == 18 and report.failed == 0  # 10 of 30 primary, all 8 canary
    assert judge_calls == 18
    assert {key: len(v) for key, v in report.by_arm.items()} == {
        "support/canary/c": 8,
        "support/primary/a": 10,
    }
    judged = [f for f in PolicyStore(store).feedback() if f["source"] == "judge"]
    assert len(judged) == 18 and {f["score"] for f in judged} == {0.75}  # (4 - 1) / (5 - 1)
    arms = canary_arms(store, 1, "support", {"primary": "a", "canary": "c"})
    assert arms["canary"].judge.n == 8 and arms["primary"].judge.n == 10
    # judged replies are not judged again
    with FakeServer() as upstream:
        upstream.responder = lambda model, messages: "Final score: 2"  # type: ignore[assignment]
        again = asyncio.run(judge_sample(store, _project(tmp_path, upstream), sample=10, seed=1))
    assert again.judged == 10  # 10 of the 20 primary ones left; the canary's are all judged


def test_a_failing_judge_is_an_error_not_a_score(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    RequestLog(store).add_requests(_rows(3, "primary", "a"))
    with FakeServer() as upstream:
        upstream.fault("server_error")
        project = _project(tmp_path, upstream)
        project.models["judge"].max_retries = 0
        report = asyncio.run(judge_sample(store, project, sample=5))
    assert report.judged == 0 and report.failed == 3 and report.errors
    assert [f for f in PolicyStore(store).feedback() if f["source"] == "judge"] == []


def test_without_payloads_the_fix_is_named(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    RequestLog(store).add_requests(_rows(3, "primary", "a", payloads=False))
    with FakeServer() as upstream, pytest.raises(BenchrouteError, match="log_payloads"):
        asyncio.run(judge_sample(store, _project(tmp_path, upstream)))
