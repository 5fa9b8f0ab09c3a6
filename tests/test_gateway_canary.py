"""Automatic canaries through the real gateway: a failing candidate trips the error-rate
guardrail and is rolled back at once (a new active version without it, an alert sent); a
candidate users like better is promoted on feedback; `route canary` shows the same test."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import yaml
from typer.testing import CliRunner

from benchroute.cli import app
from benchroute.config import PolicyDocument
from benchroute.store import PolicyStore
from benchroute.testing import FakeServer
from tests._gateway import GatewayProcess
from tests._routing import model_entry
from tests.test_gateway_routing import SUMMARY, _cli, _seed


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def _project(folder: Path, upstream: FakeServer, canary: dict[str, Any], hook: str | None = None) -> Path:
    models = {name: model_entry(upstream.base_url, f"gpt-{name}") for name in ("a", "b", "c")}
    data: dict[str, Any] = {
        "store": str(folder / "store.db"),
        "models": models,
        "gateway": {"auth": "none"},
        "routing": {
            "classes": {"summarise": {"suites": ["summaries"], "min_score": 0.8, "canary": canary}},
            "reload_s": 0.2,
            "canary_check_s": 0.3,
        },
    }
    if hook:
        data["alerts"] = {"webhooks": [{"url": hook, "on": ["routing"], "max_attempts": 1}]}
    path = folder / "benchroute.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _wait_for_version(store_path: Path, version: int, timeout_s: float = 10) -> bool:
    from benchroute.store import Store

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if PolicyStore(Store(f"sqlite:///{store_path}")).active_version() == version:
            return True
        time.sleep(0.1)
    return False


def test_a_failing_candidate_is_rolled_back_by_the_guardrail(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    _Hook.received = []
    with FakeServer() as upstream:
        upstream.fault("server_error", model="gpt-c", rate=0.5, seed=3)
        canary = {
            "model": "c",
            "percent": 50,
            "sticky": "user",
            "auto": True,
            "criteria": {"max_error_rate": 0.1, "guardrail_min_requests": 20, "min_samples": 50},
        }
        config = _project(tmp_path, upstream, canary, hook)
        store = _seed(tmp_path, upstream)
        _cli(config, "route", "build", "--activate")
        with GatewayProcess(config).start() as gateway:
            client = gateway.client()
            statuses = []
            for user in range(120):
                raw = client.chat.completions.with_raw_response.create(
                    model="benchroute", messages=SUMMARY, user=f"u{user}"
                )
                statuses.append(raw.status_code)
            assert set(statuses) == {200}  # the primary took over each failed canary attempt
            assert _wait_for_version(tmp_path / "store.db", 2)
            deadline = time.monotonic() + 3
            served: set[str] = set()
            while time.monotonic() < deadline:
                raw = client.chat.completions.with_raw_response.create(
                    model="benchroute", messages=SUMMARY, user="u1"
                )
                if raw.headers["x-benchroute-policy"] == "v2":
                    break
                time.sleep(0.05)
            for user in range(60):
                raw = client.chat.completions.with_raw_response.create(
                    model="benchroute", messages=SUMMARY, user=f"u{user}"
                )
                served.add(raw.headers["x-benchroute-model"])
            assert served == {"a"}  # no canary any more
            for _ in range(30):
                if _Hook.received:
                    break
                time.sleep(0.1)
        assert "canary rollback in class summarise" in gateway.stderr
    server.shutdown()
    policies = PolicyStore(store)
    v2 = policies.policy(2)
    assert v2 is not None and v2.source == "rollback"
    assert PolicyDocument.model_validate(v2.document).classes["summarise"].canary is None
    assert "error rate" in (v2.note or "")
    assert any(alert["kind"] == "routing" and "rollback" in alert["title"] for alert in _Hook.received)


def test_a_candidate_users_prefer_is_promoted_on_feedback(tmp_path: Path) -> None:
    with FakeServer() as upstream:
        canary = {
            "model": "b",
            "percent": 50,
            "sticky": "user",
            "auto": True,
            "criteria": {"metric": "feedback", "min_samples": 40, "max_error_rate": 0.2},
        }
        config = _project(tmp_path, upstream, canary)
        store = _seed(tmp_path, upstream)
        _cli(config, "route", "build", "--activate")
        with GatewayProcess(config).start() as gateway:
            client = gateway.client()
            for user in range(300):
                raw = client.chat.completions.with_raw_response.create(
                    model="benchroute", messages=SUMMARY, user=f"u{user}"
                )
                model = raw.headers["x-benchroute-model"]
                # b's users are pleased 90 % of the time, a's 40 %
                good = (user % 10) < (9 if model == "b" else 4)
                feedback = {
                    "request_id": raw.headers["x-benchroute-receipt"],
                    "thumbs": "up" if good else "down",
                }
                assert httpx.post(f"{gateway.base_url}/feedback", json=feedback).status_code == 200
                if PolicyStore(store).active_version() == 2:
                    break
            if not _wait_for_version(tmp_path / "store.db", 2):
                status = CliRunner().invoke(app, ["route", "canary", "summarise", "--config", str(config)])
                raise AssertionError(status.output)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                raw = client.chat.completions.with_raw_response.create(
                    model="benchroute", messages=SUMMARY, user="x"
                )
                if raw.headers["x-benchroute-policy"] == "v2":
                    break
                time.sleep(0.05)
            assert raw.headers["x-benchroute-model"] == "b"
        assert "canary promote in class summarise" in gateway.stderr
    promoted = PolicyDocument.model_validate(PolicyStore(store).policy(2).document)  # type: ignore[union-attr]
    route = promoted.classes["summarise"].route
    assert [e.model for e in route][:2] == ["b", "a"] and route[0].role == "primary"
    assert promoted.classes["summarise"].canary is None
    # the CLI reads the same evidence for v1
    output = (
        CliRunner()
        .invoke(app, ["route", "canary", "summarise", "--policy", "1", "--config", str(config)])
        .output
    )
    assert "verdict: promote" in output
