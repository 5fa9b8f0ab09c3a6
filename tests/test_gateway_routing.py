"""Benchmark-driven routing through the real gateway, with the official ``openai`` SDK as
client: requests of two task classes reach their policy's endpoints, the receipt names the
run, score and constraint behind the choice, a drift flag moves a class to its next candidate
within one reload, a bad policy is refused while the old one serves, canaries are sticky,
shadow copies are logged, and feedback is stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from benchroute.cli import app
from benchroute.store import PolicyStore, RequestLog, Store
from benchroute.testing import FakeServer
from tests._gateway import GatewayProcess
from tests._routing import Figures, model_entry, seed_run

SUMMARY = [{"role": "user", "content": "please summarise this support ticket for me"}]
CODE = [{"role": "user", "content": "fix this:\n```python\ndef f(): return 1/0\n```"}]


@pytest.fixture
def upstream() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


def _project(folder: Path, upstream: FakeServer, routing: dict[str, Any] | None = None) -> Path:
    models = {name: model_entry(upstream.base_url, f"gpt-{name}") for name in ("a", "b", "c")}
    data = {
        "store": str(folder / "store.db"),
        "models": models,
        "gateway": {"auth": "none"},
        "routing": routing
        or {
            "classes": {
                "summarise": {"suites": ["summaries"], "min_score": 0.8},
                "code": {"suites": ["coding"], "min_score": 0.8},
            },
            "rules": [{"class": "code", "regex": "```|\\bdef\\b"}],
            "default_class": "summarise",
            "reload_s": 0.25,
        },
    }
    path = folder / "benchroute.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _seed(folder: Path, upstream: FakeServer) -> Store:
    """summaries: a passes cheaply, b passes dearer, c fails; coding: c passes cheaply,
    b dearer, a fails."""
    store = Store(f"sqlite:///{folder / 'store.db'}")
    entry = {name: model_entry(upstream.base_url, f"gpt-{name}") for name in ("a", "b", "c")}
    seed_run(
        store,
        "run-sum",
        "summaries",
        {
            "a": (entry["a"], Figures(passes=18, cost=0.001)),
            "b": (entry["b"], Figures(passes=19, cost=0.005)),
            "c": (entry["c"], Figures(passes=8, cost=0.0005)),
        },
    )
    seed_run(
        store,
        "run-code",
        "coding",
        {
            "a": (entry["a"], Figures(passes=5, cost=0.001)),
            "b": (entry["b"], Figures(passes=19, cost=0.005)),
            "c": (entry["c"], Figures(passes=18, cost=0.002)),
        },
    )
    return store


def _cli(config: Path, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result.output


def _receipt(gateway: GatewayProcess, rid: str) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{gateway.base_url}/receipts/{rid}").json()
    return found


def test_two_classes_route_to_their_policy_and_drift_moves_one(upstream: FakeServer, tmp_path: Path) -> None:
    config = _project(tmp_path, upstream)
    store = _seed(tmp_path, upstream)
    _cli(config, "route", "build", "--activate")
    with GatewayProcess(config).start() as gateway:
        client = gateway.client()
        raw = client.chat.completions.with_raw_response.create(model="benchroute", messages=SUMMARY)
        assert raw.parse().choices[0].message.content == SUMMARY[0]["content"]
        assert raw.headers["x-benchroute-model"] == "a"
        assert raw.headers["x-benchroute-class"] == "summarise"
        assert raw.headers["x-benchroute-policy"] == "v1"
        code = client.chat.completions.with_raw_response.create(model="benchroute", messages=CODE)
        assert code.headers["x-benchroute-model"] == "c"
        assert code.headers["x-benchroute-class"] == "code"
        named = client.chat.completions.with_raw_response.create(model="benchroute/code", messages=SUMMARY)
        assert named.headers["x-benchroute-model"] == "c"
        by_header = client.chat.completions.with_raw_response.create(
            model="benchroute", messages=SUMMARY, extra_headers={"x-benchroute-task": "code"}
        )
        assert by_header.headers["x-benchroute-model"] == "c"
        assert {m.id for m in client.models.list().data} >= {
            "benchroute",
            "benchroute/summarise",
            "benchroute/code",
        }

        receipt = _receipt(gateway, raw.headers["x-benchroute-receipt"])
        routing = receipt["routing"]
        assert routing["class"] == "summarise" and routing["classified_by"] == "default"
        assert routing["policy_version"] == 1
        assert routing["chosen_by"]["model"] == "a"
        assert routing["chosen_by"]["runs"] == ["run-sum"]
        assert routing["chosen_by"]["score"] == pytest.approx(0.9)
        assert routing["constraints"] == {"min_score": 0.8}
        assert routing["route"] == ["a", "b"]
        assert receipt["policy"] == "benchmark-routed v1"
        code_receipt = _receipt(gateway, code.headers["x-benchroute-receipt"])
        assert code_receipt["routing"]["classified_by"] == "rule 0"

        # A drift flag lands for a on the summaries suite: within one reload, b serves.
        a_id = raw.headers["x-benchroute-endpoint"]
        store.add_drift_flags(
            [
                {
                    "run_id": "run-later",
                    "suite": "summaries",
                    "model": "a",
                    "endpoint_id": a_id,
                    "metric": "pass_rate",
                    "direction": "worse",
                }
            ]
        )
        flagged = time.monotonic()
        served = "a"
        while served == "a" and time.monotonic() - flagged < 5:
            moved = client.chat.completions.with_raw_response.create(model="benchroute", messages=SUMMARY)
            served = moved.headers["x-benchroute-model"]
            time.sleep(0.05)
        elapsed = time.monotonic() - flagged
        assert served == "b"
        assert elapsed < 0.25 * 2 + 0.5, f"moved after {elapsed:.2f} s (reload every 0.25 s)"
        demoted = _receipt(gateway, moved.headers["x-benchroute-receipt"])["routing"]
        assert demoted["route"] == ["b", "a"]
        assert demoted["demoted"][0]["model"] == "a"
        assert "drift flagged on summaries pass_rate at run run-later" in demoted["demoted"][0]["reason"]
        # the code class does not use a: unchanged
        again = client.chat.completions.with_raw_response.create(model="benchroute", messages=CODE)
        assert again.headers["x-benchroute-model"] == "c"
        ready = httpx.get(gateway.url + "/readyz").json()
        assert ready["routing"]["demoted"] == ["summarise:a"]
    assert "demoted a in class summarise" in gateway.stderr
    rows = RequestLog(store).requests()
    assert {row["task_class"] for row in rows} == {"summarise", "code"}
    assert all(row["policy_version"] == 1 for row in rows)


def test_an_unknown_class_is_a_404_and_no_policy_a_503(upstream: FakeServer, tmp_path: Path) -> None:
    config = _project(tmp_path, upstream)
    _seed(tmp_path, upstream)
    with GatewayProcess(config).start() as gateway:
        response = httpx.post(
            f"{gateway.base_url}/chat/completions", json={"model": "benchroute", "messages": SUMMARY}
        )
        assert response.status_code == 503
        assert "benchroute route build --activate" in response.json()["error"]["message"]
        _cli(config, "route", "build", "--activate")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            response = httpx.post(
                f"{gateway.base_url}/chat/completions", json={"model": "benchroute/nope", "messages": SUMMARY}
            )
            if response.status_code != 503:
                break
            time.sleep(0.1)
        assert response.status_code == 404
        assert "no task class 'nope'" in response.json()["error"]["message"]
        # aliases still work beside the router
        plain = httpx.post(f"{gateway.base_url}/chat/completions", json={"model": "b", "messages": SUMMARY})
        assert plain.status_code == 200 and plain.headers["x-benchroute-model"] == "b"


def test_a_bad_policy_is_refused_and_the_old_one_serves(upstream: FakeServer, tmp_path: Path) -> None:
    config = _project(tmp_path, upstream)
    store = _seed(tmp_path, upstream)
    _cli(config, "route", "build", "--activate")
    with GatewayProcess(config).start() as gateway:
        client = gateway.client()
        first = client.chat.completions.with_raw_response.create(model="benchroute", messages=SUMMARY)
        assert first.headers["x-benchroute-policy"] == "v1"
        # Stored behind the CLI's back: a route naming a model the project lacks.
        policies = PolicyStore(store)
        document = policies.policy(1).document  # type: ignore[union-attr]
        document["classes"]["summarise"]["route"][0]["model"] = "ghost"
        bad = policies.add_policy(document, source="test")
        policies.activate(bad, "test")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            ready = httpx.get(gateway.url + "/readyz").json()
            if ready["routing"]["policy_rejected"]:
                break
            time.sleep(0.1)
        assert "ghost" in ready["routing"]["policy_rejected"]
        after = client.chat.completions.with_raw_response.create(model="benchroute", messages=SUMMARY)
        assert after.headers["x-benchroute-policy"] == "v1"
        assert after.headers["x-benchroute-model"] == "a"
    assert "policy rejected, the active one stays" in gateway.stderr
    # the CLI refuses the same policy outright
    result = CliRunner().invoke(app, ["route", "activate", str(bad), "--config", str(config)])
    assert result.exit_code == 2 and "ghost" in result.output


def test_canary_is_sticky_per_user_and_shadow_copies_are_logged(upstream: FakeServer, tmp_path: Path) -> None:
    routing = {
        "classes": {
            "summarise": {
                "suites": ["summaries"],
                "min_score": 0.8,
                "canary": {"model": "c", "percent": 30, "sticky": "user"},
            },
            "code": {
                "suites": ["coding"],
                "min_score": 0.8,
                "canary": {"model": "b", "percent": 50, "shadow": True, "criteria": {"metric": "error_rate"}},
            },
        },
        "reload_s": 0.25,
    }
    config = _project(tmp_path, upstream, routing)
    store = _seed(tmp_path, upstream)
    _cli(config, "route", "build", "--activate")
    with GatewayProcess(config).start() as gateway:
        client = gateway.client()
        arms: dict[str, set[str]] = {}
        for user in range(40):
            for _ in range(2):
                raw = client.chat.completions.with_raw_response.create(
                    model="benchroute/summarise", messages=SUMMARY, user=f"user-{user}"
                )
                arms.setdefault(f"user-{user}", set()).add(raw.headers["x-benchroute-model"])
        assert all(len(models) == 1 for models in arms.values()), arms  # sticky
        canary_users = sum(1 for models in arms.values() if models == {"c"})
        assert 3 <= canary_users <= 25, canary_users  # 30 % of 40, loosely
        shadowed = client.chat.completions.with_raw_response.create(model="benchroute/code", messages=CODE)
        assert shadowed.headers["x-benchroute-model"] == "c"  # the primary answers
    rows = RequestLog(store).requests()
    shadows = [row for row in rows if row["arm"] == "shadow"]
    assert len(shadows) == 1 and shadows[0]["model"] == "b" and shadows[0]["status"] == 200
    arms_logged = {row["arm"] for row in rows if row["task_class"] == "summarise"}
    assert arms_logged == {"primary", "canary"}
    served_b = [r for r in upstream.requests if r.model == "gpt-b"]
    assert len(served_b) == 1  # the shadow copy reached b


def test_feedback_is_stored_and_checked(upstream: FakeServer, tmp_path: Path) -> None:
    config = _project(tmp_path, upstream)
    store = _seed(tmp_path, upstream)
    _cli(config, "route", "build", "--activate")
    with GatewayProcess(config).start() as gateway:
        raw = gateway.client().chat.completions.with_raw_response.create(model="benchroute", messages=SUMMARY)
        rid = raw.headers["x-benchroute-receipt"]
        ok = httpx.post(
            f"{gateway.base_url}/feedback", json={"request_id": rid, "thumbs": "up", "label": "solved"}
        )
        assert ok.status_code == 200 and ok.json()["score"] == 1.0
        scored = httpx.post(f"{gateway.base_url}/feedback", json={"request_id": rid, "score": 0.5})
        assert scored.status_code == 200
        bad = httpx.post(f"{gateway.base_url}/feedback", json={"request_id": rid, "score": 7})
        assert bad.status_code == 400 and "score" in bad.json()["error"]["message"]
        missing = httpx.post(f"{gateway.base_url}/feedback", json={"request_id": "nope", "score": 1})
        assert missing.status_code == 404
        unknown_field = httpx.post(f"{gateway.base_url}/feedback", json={"request_id": rid, "stars": 5})
        assert unknown_field.status_code == 400 and "stars" in unknown_field.json()["error"]["message"]
    rows = PolicyStore(store).feedback()
    assert [(r["request_id"], r["score"], r["thumbs"], r["label"]) for r in rows] == [
        (rid, 1.0, 1, "solved"),
        (rid, 0.5, None, None),
    ]
    routed = PolicyStore(store).routed_requests()
    assert routed[0]["feedback_score"] == pytest.approx(0.75)


def test_a_watched_policy_file_is_served_on_change(upstream: FakeServer, tmp_path: Path) -> None:
    store = _seed(tmp_path, upstream)
    policy_file = tmp_path / "policy.yaml"
    routing = {
        "classes": {"summarise": {"suites": ["summaries"]}},
        "policy_file": str(policy_file),
        "reload_s": 0.2,
    }
    config = _project(tmp_path, upstream, routing)
    policy_file.write_text(
        yaml.safe_dump(
            {"format": "benchroute.policy/1", "classes": {"summarise": {"route": [{"model": "b"}]}}}
        ),
        encoding="utf-8",
    )
    with GatewayProcess(config).start() as gateway:
        client = gateway.client()
        first = client.chat.completions.with_raw_response.create(model="benchroute", messages=SUMMARY)
        assert first.headers["x-benchroute-model"] == "b"
        policy_file.write_text(
            yaml.safe_dump(
                {"format": "benchroute.policy/1", "classes": {"summarise": {"route": [{"model": "c"}]}}}
            ),
            encoding="utf-8",
        )
        deadline = time.monotonic() + 5
        served = "b"
        while served == "b" and time.monotonic() < deadline:
            served = client.chat.completions.with_raw_response.create(
                model="benchroute", messages=SUMMARY
            ).headers["x-benchroute-model"]
            time.sleep(0.05)
        assert served == "c"
        # a broken file is refused; c keeps serving
        policy_file.write_text(
            "format: benchroute.policy/1\nclasses: {summarise: {route: []}}\n", encoding="utf-8"
        )
        time.sleep(0.8)
        still = client.chat.completions.with_raw_response.create(model="benchroute", messages=SUMMARY)
        assert still.headers["x-benchroute-model"] == "c"
        assert "route" in httpx.get(gateway.url + "/readyz").json()["routing"]["policy_rejected"]
    assert [a.reason for a in PolicyStore(store).activations()][-1].startswith("file")
