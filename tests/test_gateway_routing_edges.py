"""Routing's edges through the real gateway: alias requests keep the alias behaviour (an
endpoint's rpm does not make them skip it), routed requests do skip an endpoint over its rpm,
feedback is tied to the key that made the request, and a restarted gateway with a watched
policy file does not undo an activation made since."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from typer.testing import CliRunner

from benchroute.cli import app
from benchroute.store import PolicyStore, RequestLog, Store
from benchroute.testing import FakeServer
from tests._gateway import GatewayProcess
from tests._routing import model_entry
from tests.test_gateway_routing import SUMMARY, _cli, _seed


def _write(folder: Path, upstream: FakeServer, routing: dict[str, Any], **gateway: Any) -> Path:
    models = {name: model_entry(upstream.base_url, f"gpt-{name}") for name in ("a", "b", "c")}
    models["a"]["rpm"] = 60
    data = {
        "store": str(folder / "store.db"),
        "models": models,
        "gateway": {"aliases": {"only-a": ["a"]}, **gateway},
        "routing": {"reload_s": 0.2, **routing},
    }
    path = folder / "benchroute.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


ROUTING = {"classes": {"summarise": {"suites": ["summaries"], "min_score": 0.8}}}


def _burst(url: str, model: str, n: int) -> list[httpx.Response]:
    replies: list[httpx.Response] = []

    def one() -> None:
        replies.append(
            httpx.post(f"{url}/chat/completions", json={"model": model, "messages": SUMMARY}, timeout=10)
        )

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def test_rpm_skips_apply_to_routed_requests_only(tmp_path: Path) -> None:
    with FakeServer(latency=0.05) as upstream:
        config = _write(tmp_path, upstream, ROUTING, auth="none")
        _seed(tmp_path, upstream)
        _cli(config, "route", "build", "--activate")  # summarise: a, then b
        with GatewayProcess(config).start() as gateway:
            alias = _burst(gateway.base_url, "only-a", 12)
            assert [r.status_code for r in alias] == [200] * 12  # as before routing existed
            assert {r.headers["x-benchroute-model"] for r in alias} == {"a"}
            routed = _burst(gateway.base_url, "benchroute", 12)
            assert [r.status_code for r in routed] == [200] * 12
            models = [r.headers["x-benchroute-model"] for r in routed]
            # a's 60 rpm allows a burst of 5 s worth (5 requests): the rest go to b
            assert models.count("b") >= 5, models
            over = next(r for r in routed if r.headers["x-benchroute-model"] == "b")
            receipt = httpx.get(f"{gateway.base_url}/receipts/{over.headers['x-benchroute-receipt']}").json()
            assert receipt["candidates"][0]["reason"] == "over_rate"


def test_feedback_belongs_to_the_key_that_asked(tmp_path: Path) -> None:
    runner = CliRunner()
    with FakeServer() as upstream:
        config = _write(tmp_path, upstream, ROUTING, auth="keys", keys_refresh_s=0.2)
        _seed(tmp_path, upstream)
        _cli(config, "route", "build", "--activate")
        secrets = []
        for name in ("team-a", "team-b"):
            result = runner.invoke(app, ["gateway", "keys", "create", name, "--config", str(config)])
            assert result.exit_code == 0, result.output
            secrets.append(result.stdout.split()[0])
        with GatewayProcess(config).start() as gateway:
            asked = httpx.post(
                f"{gateway.base_url}/chat/completions",
                json={"model": "benchroute", "messages": SUMMARY},
                headers={"authorization": f"Bearer {secrets[0]}"},
            )
            assert asked.status_code == 200
            rid = asked.headers["x-benchroute-receipt"]
            body = {"request_id": rid, "thumbs": "up"}
            assert httpx.post(f"{gateway.base_url}/feedback", json=body).status_code == 401
            other = httpx.post(
                f"{gateway.base_url}/feedback", json=body, headers={"authorization": f"Bearer {secrets[1]}"}
            )
            assert other.status_code == 404  # not confirmed to another key
            own = httpx.post(
                f"{gateway.base_url}/feedback", json=body, headers={"authorization": f"Bearer {secrets[0]}"}
            )
            assert own.status_code == 200
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    rows = PolicyStore(store).feedback()
    assert len(rows) == 1 and rows[0]["key_id"] is not None
    assert RequestLog(store).requests()[0]["key_id"] == rows[0]["key_id"]


def test_a_restart_does_not_undo_an_activation_made_since(tmp_path: Path) -> None:
    with FakeServer() as upstream:
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text(
            yaml.safe_dump(
                {"format": "benchroute.policy/1", "classes": {"summarise": {"route": [{"model": "b"}]}}}
            ),
            encoding="utf-8",
        )
        routing = {**ROUTING, "policy_file": str(policy_file)}
        config = _write(tmp_path, upstream, routing, auth="none")
        store = _seed(tmp_path, upstream)
        with GatewayProcess(config).start() as gateway:
            first = httpx.post(
                f"{gateway.base_url}/chat/completions", json={"model": "benchroute", "messages": SUMMARY}
            )
            assert first.headers["x-benchroute-model"] == "b"  # the file's policy, activated
        _cli(config, "route", "build", "--activate")  # an operator moves on: a serves
        active = PolicyStore(store).active_version()
        with GatewayProcess(config).start() as gateway:
            time.sleep(0.6)
            again = httpx.post(
                f"{gateway.base_url}/chat/completions", json={"model": "benchroute", "messages": SUMMARY}
            )
            assert again.headers["x-benchroute-model"] == "a"
        assert PolicyStore(store).active_version() == active
