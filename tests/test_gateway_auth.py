"""Gateway API keys through the official ``openai`` SDK against the real gateway: keys
hashed in the store and shown once, required once one exists (``auth: auto``), per-key RPM,
TPM, dollar budgets and aliases enforced before the upstream call, spend settled off the
request path; and the key bookkeeping itself, called directly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from typer.testing import CliRunner

from benchroute.cli import app
from benchroute.config import GatewaySpec
from benchroute.gateway import GatewayError, create_key, list_keys
from benchroute.gateway._auth import Authenticator, hash_secret
from benchroute.store import RequestLog, Store
from benchroute.testing import FakeServer
from tests._gateway import GatewayProcess, openai_model, write_gateway_project

ASK = [{"role": "user", "content": "hello keys"}]
REFRESH_S = 0.2
runner = CliRunner()


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


def _project(folder: Path, upstream: FakeServer, **gateway: Any) -> Path:
    models = {
        "mini": openai_model(upstream.base_url, "gpt-mini"),
        # $1 per token: one request costs dollars, so a budget runs out at once.
        "pricey": openai_model(
            upstream.base_url,
            "gpt-pricey",
            prices={"input_per_mtok": 1_000_000, "output_per_mtok": 1_000_000},
        ),
    }
    spec = {"aliases": {"support": ["mini"], "other": ["mini"], "pricey": ["pricey"]}}
    spec.update({"keys_refresh_s": REFRESH_S, **gateway})
    return write_gateway_project(folder, models, spec)


def _keys(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["gateway", "keys", *args, "--config", str(config)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _create(config: Path, name: str, *options: str) -> str:
    code, out, err = _keys(config, "create", name, *options)
    assert code == 0, err
    (secret,) = out.split()
    return secret


def _client(gw: GatewayProcess, key: str, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=gw.base_url, api_key=key, max_retries=kwargs.pop("max_retries", 0), **kwargs
    )


def _eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.05)


def _refused(client: openai.OpenAI, model: str = "support") -> bool:
    try:
        client.chat.completions.create(model=model, messages=ASK)
    except openai.AuthenticationError:
        return True
    return False


def test_keys_cli_shows_the_secret_once_and_stores_only_its_hash(
    tmp_path: Path, upstream: FakeServer
) -> None:
    config = _project(tmp_path, upstream)
    secret = _create(config, "ci", "--rpm", "60", "--tpm", "10000", "--budget-usd", "5", "--alias", "support")
    assert secret.startswith("br-") and len(secret) == 46
    code, listing, _ = _keys(config, "list")
    assert code == 0
    assert "ci" in listing and secret[:11] in listing and secret not in listing
    assert "$5.0000" in listing and "support" in listing
    code, _, err = _keys(config, "create", "ci")
    assert code == 2 and "a key named 'ci' exists" in err
    code, _, err = _keys(config, "create", "x", "--alias", "nope")
    assert code == 2 and "'nope' is not an alias" in err
    stored = (tmp_path / "store.db").read_bytes()
    assert secret.encode() not in stored and hash_secret(secret).encode() in stored
    code, out, _ = _keys(config, "revoke", "ci")
    assert code == 0 and "revoked ci" in out
    code, _, err = _keys(config, "revoke", "ci")
    assert code == 2 and "no unrevoked key" in err
    code, listing, _ = _keys(config, "list")
    assert "(revoked)" in listing


def test_auto_mode_is_open_until_a_key_exists_and_revoking_closes(
    tmp_path: Path, upstream: FakeServer
) -> None:
    config = _project(tmp_path, upstream)
    with GatewayProcess(config) as gw:
        assert "auth auto: open" in gw.stderr
        anyone = _client(gw, "unused")
        assert anyone.chat.completions.create(model="support", messages=ASK).choices[0].message.content
        secret = _create(config, "app")  # while the gateway runs
        _eventually(lambda: _refused(anyone))
        missing = httpx.post(f"{gw.base_url}/chat/completions", json={"model": "support", "messages": ASK})
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
        assert "no API key" in missing.json()["error"]["message"]
        raw = _client(gw, secret).chat.completions.with_raw_response.create(model="support", messages=ASK)
        assert raw.headers["x-benchroute-model"] == "mini"
        assert _keys(config, "revoke", "app")[0] == 0
        _eventually(lambda: _refused(_client(gw, secret)))
        with pytest.raises(openai.AuthenticationError) as revoked:
            _client(gw, secret).chat.completions.create(model="support", messages=ASK)
        assert "revoked" in revoked.value.message
        # Every key revoked: the gateway stays closed (it does not open again).
        assert _refused(anyone)
    rows = RequestLog(store := Store(f"sqlite:///{tmp_path / 'store.db'}")).requests()
    keys = list_keys(store)
    store.close()
    assert {row["key_id"] for row in rows if row["status"] == 200} == {None, keys[0].id}
    assert {row["status"] for row in rows} == {200, 401}
    logged = (tmp_path / "store.db").read_bytes() + gw.stderr.encode()
    assert secret.encode() not in logged


def test_rate_limits_answer_429_with_retry_after_before_the_upstream(
    tmp_path: Path, upstream: FakeServer
) -> None:
    config = _project(tmp_path, upstream)
    slow = _create(config, "slow", "--rpm", "1")
    thrifty = _create(config, "thrifty", "--tpm", "60")  # a 10 s burst: 10 tokens
    with GatewayProcess(config) as gw:
        before = len(upstream.requests)
        _client(gw, slow).chat.completions.create(model="support", messages=ASK)
        with pytest.raises(openai.RateLimitError) as limited:
            _client(gw, slow).chat.completions.create(model="support", messages=ASK)
        assert limited.value.code == "rate_limit_exceeded"
        assert "requests per minute" in limited.value.message
        assert 1 <= int(limited.value.response.headers["retry-after"]) <= 60
        # A prompt larger than the bucket is admitted once, leaving the key in debt.
        long_ask = [{"role": "user", "content": "many words " * 100}]
        _client(gw, thrifty).chat.completions.create(model="support", messages=long_ask)
        with pytest.raises(openai.RateLimitError) as tokens:
            _client(gw, thrifty).chat.completions.create(model="support", messages=ASK)
        assert "tokens per minute" in tokens.value.message
        assert int(tokens.value.response.headers["retry-after"]) >= 1
        assert len(upstream.requests) - before == 2  # the refused requests never left


def test_budget_refuses_with_insufficient_quota_and_spend_is_stored(
    tmp_path: Path, upstream: FakeServer
) -> None:
    config = _project(tmp_path, upstream)
    secret = _create(config, "capped", "--budget-usd", "1")
    with GatewayProcess(config) as gw:
        # max_retries=2: the SDK must not retry an exhausted budget (x-should-retry: false).
        client = _client(gw, secret, max_retries=2)
        raw = client.chat.completions.with_raw_response.create(model="pricey", messages=ASK)
        assert raw.headers["x-benchroute-model"] == "pricey"
        before = len(upstream.requests)
        with pytest.raises(openai.RateLimitError) as spent:
            client.chat.completions.create(model="pricey", messages=ASK)
        assert spent.value.code == "insufficient_quota"
        assert spent.value.response.headers["x-should-retry"] == "false"
        assert "budget is spent" in spent.value.message
        assert len(upstream.requests) == before
        # Unpriced requests cost nothing known: still refused, the budget is spent.
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="support", messages=ASK)

        def stored_spend() -> float:
            store = Store(f"sqlite:///{tmp_path / 'store.db'}")
            try:
                return list_keys(store)[0].spent_usd
            finally:
                store.close()

        _eventually(lambda: stored_spend() > 1.0)  # settled in the background, not on the request
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    rows = RequestLog(store).requests()
    store.close()
    assert [row["status"] for row in rows] == [200, 429, 429]  # one row per refusal: no SDK retry
    assert stored_spend() == pytest.approx(rows[0]["cost_usd"])


def test_a_key_only_reaches_its_aliases(tmp_path: Path, upstream: FakeServer) -> None:
    config = _project(tmp_path, upstream)
    secret = _create(config, "narrow", "--alias", "support")
    with GatewayProcess(config) as gw:
        _client(gw, secret).chat.completions.create(model="support", messages=ASK)
        with pytest.raises(openai.PermissionDeniedError) as denied:
            _client(gw, secret).chat.completions.create(model="other", messages=ASK)
        assert denied.value.code == "model_not_allowed"
        assert "may use: support" in denied.value.message
        with pytest.raises(openai.NotFoundError):
            _client(gw, secret).chat.completions.create(model="missing", messages=ASK)
        with pytest.raises(openai.PermissionDeniedError):
            _client(gw, secret).embeddings.create(model="other", input="x")


def test_auth_keys_requires_keys_and_auth_none_is_open(tmp_path: Path, upstream: FakeServer) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "none").mkdir()
    strict = _project(tmp_path / "keys", upstream, auth="keys")
    with GatewayProcess(strict) as gw:
        with pytest.raises(openai.AuthenticationError) as none_yet:
            _client(gw, "unused").chat.completions.create(model="support", messages=ASK)
        assert "gateway keys create" in none_yet.value.message
    open_config = _project(tmp_path / "none", upstream, auth="none")
    _create(open_config, "ignored")
    with GatewayProcess(open_config) as gw:
        assert _client(gw, "unused").chat.completions.create(model="support", messages=ASK)
        assert "auth" not in gw.stderr


# -- the bookkeeping, called directly ---------------------------------------------------------


def _headers(secret: str) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"authorization", f"Bearer {secret}".encode())]


def test_spend_is_counted_once_across_refreshes(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    _, secret = create_key(store, "k", budget_usd=10.0)

    async def scenario() -> None:
        auth = Authenticator(GatewaySpec(keys_refresh_s=3600), store)
        await auth.start()
        for _ in range(3):
            admitted = auth.admit(_headers(secret), "support", 10)
            assert admitted is not None
            auth.settle(admitted, 20, 1.5)
        await auth.refresh()  # written, then re-read: 4.5 stored, nothing local
        admitted = auth.admit(_headers(secret), "support", 10)
        assert admitted is not None
        auth.settle(admitted, 20, 2.0)
        await auth.refresh()
        await auth.refresh()  # nothing new: no double count
        assert list_keys(store)[0].spent_usd == pytest.approx(6.5)
        auth.settle(admitted, 0, 4.0)  # 10.5 spent (4.0 not yet written)
        with pytest.raises(GatewayError) as spent:
            auth.admit(_headers(secret), "support", 10)
        assert spent.value.status == 429 and spent.value.code == "insufficient_quota"
        await auth.aclose()  # writes the rest
        assert list_keys(store)[0].spent_usd == pytest.approx(10.5)

    asyncio.run(scenario())
    store.close()


def test_presented_tokens_and_refusals(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")

    async def scenario() -> None:
        auth = Authenticator(GatewaySpec(), store)
        await auth.start()
        assert auth.admit([], "support", 0) is None  # auto with no key: open
        _, secret = create_key(store, "k")
        await auth.refresh()
        assert auth.admit([(b"x-api-key", secret.encode())], "support", 0) is not None
        assert auth.admit([(b"authorization", f"bearer {secret}".encode())], "support", 0) is not None
        provider_key = "sk-live-" + "p" * 40
        for headers in ([], [(b"authorization", b"Basic abc")], _headers(provider_key)):
            with pytest.raises(GatewayError) as refused:
                auth.admit(headers, "support", 0)
            assert refused.value.status == 401
            assert provider_key not in refused.value.message  # a presented token is never echoed
        await auth.aclose()

    asyncio.run(scenario())
    store.close()
