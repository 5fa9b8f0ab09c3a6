"""Gateway API keys: who may call the gateway, how fast, for how many dollars, which aliases.

**Keys.** A key's secret is ``br-`` followed by 43 URL-safe characters from
:func:`secrets.token_urlsafe` (256 random bits); the store keeps only its SHA-256 (hex) and
the first characters (``prefix``) to recognise it in ``keys list``. A plain SHA-256 is the
right hash for a secret of that entropy: slow password hashes (bcrypt, scrypt) and a pepper
exist to protect guessable secrets, and a 256-bit random token cannot be guessed, while a
fast hash keeps the check per request well under a microsecond. The secret is printed once,
by ``benchroute gateway keys create``, and is nowhere else. A presented token is never echoed
back (it might be a provider key sent to the wrong place).

**When keys are required** (``gateway.auth``): ``none`` — never (the gateway is open, and
this module costs nothing); ``keys`` — always (with no key in the store every request is
refused with a hint to create one); ``auto`` (the default) — as soon as the store holds any
key, revoked ones included, so revoking the last key never opens the gateway again. A key
created or revoked while the gateway runs takes effect within ``keys_refresh_s``.

**Per request** (:meth:`Authenticator.admit`, before any upstream call; all in memory):
the ``Authorization: Bearer`` (or ``x-api-key``) token is hashed and looked up → 401
``invalid_api_key``; an alias outside the key's ``allowed_aliases`` → 403
``model_not_allowed``; spend at or over ``budget_usd`` → 429 ``insufficient_quota`` with
``x-should-retry: false`` (what the OpenAI API answers for an exhausted quota, so the
``openai`` SDK raises ``RateLimitError`` at once instead of retrying); over ``rpm`` or
``tpm`` (token buckets, a burst of 10 seconds' worth) → 429 ``rate_limit_exceeded`` with
``Retry-After`` (the SDK waits and retries). The token budget takes the prompt estimate at
admission and is corrected with the real usage after the reply.

**Spend** (:meth:`Authenticator.settle`, after the reply) is added in memory and written in
one batch every ``keys_refresh_s`` by a background task, in a thread, together with the
re-read of the keys — the request path never touches the database. A budget is checked
against the stored spend plus what this process has not written yet; several processes
sharing a store see each other's spend within ``keys_refresh_s`` (a budget may be exceeded by
what is in flight meanwhile: it is a soft cap). Requests whose cost is unknown (an unpriced
model) add nothing to a key's spend. Rate limits are per gateway process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import math
import secrets
import sys
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

from .._errors import BenchrouteError
from ..resilience import RateLimiter
from ..store import GatewayKey, RequestLog
from ._errors import GatewayError

if TYPE_CHECKING:
    from ..config import GatewaySpec
    from ..store import Store

__all__ = [
    "Authenticator",
    "create_key",
    "hash_secret",
    "list_keys",
    "revoke_key",
]

SECRET_PREFIX: Final = "br-"
_SHOWN_PREFIX: Final = 11  # "br-" and 8 characters of the secret: enough to tell keys apart
_BURST_S: Final = 10.0  # a key's RPM/TPM bucket holds this many seconds' worth

# -- managing keys (the CLI) ---------------------------------------------------------------------


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret: its SHA-256, hex (see the module doc)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(
    store: Store,
    name: str,
    *,
    rpm: int | None = None,
    tpm: int | None = None,
    budget_usd: float | None = None,
    aliases: Sequence[str] | None = None,
) -> tuple[GatewayKey, str]:
    """Store a new key and return it with its secret — the only time the secret exists
    outside the client that will hold it."""
    name = name.strip()
    if not name:
        raise BenchrouteError("a key needs a name", hint="benchroute gateway keys create NAME")
    log = RequestLog(store)
    stored = log.keys(include_revoked=False)
    if any(key.name == name for key in stored):
        raise BenchrouteError(
            f"a key named {name!r} exists", hint="choose another name or revoke that key first"
        )
    for label, value in (("--rpm", rpm), ("--tpm", tpm)):
        if value is not None and value <= 0:
            raise BenchrouteError(f"{label} must be a positive number, not {value}")
    if budget_usd is not None and not (budget_usd >= 0 and math.isfinite(budget_usd)):
        raise BenchrouteError(f"--budget-usd must be 0 or more, not {budget_usd}")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    key = GatewayKey(
        id="key_" + secrets.token_hex(8),
        name=name,
        hash=hash_secret(secret),
        prefix=secret[:_SHOWN_PREFIX],
        created_ts=time.time(),
        revoked_ts=None,
        rpm=rpm,
        tpm=tpm,
        budget_usd=budget_usd,
        spent_usd=0.0,
        allowed_aliases=None if not aliases else tuple(dict.fromkeys(aliases)),
    )
    log.add_key(key)
    return key, secret


def list_keys(store: Store, *, include_revoked: bool = True) -> list[GatewayKey]:
    """The stored keys, oldest first (hashes and prefixes: never a secret)."""
    return RequestLog(store).keys(include_revoked=include_revoked)


def revoke_key(store: Store, key_id_or_name: str) -> bool:
    """Revoke the key with this id or name; False when no unrevoked key matches."""
    return RequestLog(store).revoke_key(key_id_or_name, revoked_ts=time.time())


# -- checking requests (the gateway) -------------------------------------------------------------


class _KeyState:
    """A key as the gateway holds it: the stored row, its limiter, unwritten spend."""

    __slots__ = ("key", "limiter", "local_usd")

    def __init__(self, key: GatewayKey, limiter: RateLimiter | None, local_usd: float = 0.0) -> None:
        self.key = key
        self.limiter = limiter
        self.local_usd = local_usd  # spent in this process and not yet in key.spent_usd

    @property
    def spent_usd(self) -> float:
        return self.key.spent_usd + self.local_usd


class Admitted:
    """What :meth:`Authenticator.admit` hands the request (``key_id`` goes into the log row)."""

    __slots__ = ("estimated_tokens", "key_id", "state")

    def __init__(self, state: _KeyState, estimated_tokens: int) -> None:
        self.state = state
        self.key_id = state.key.id
        self.estimated_tokens = estimated_tokens


def _limiter(key: GatewayKey) -> RateLimiter | None:
    if key.rpm is None and key.tpm is None:
        return None
    return RateLimiter(
        key.rpm,
        key.tpm,
        request_burst=max(1.0, (key.rpm or 0) / 60 * _BURST_S),
        token_burst_s=_BURST_S,
        headroom=1.0,
    )


def _presented_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The token of ``Authorization: Bearer ...`` (the OpenAI SDK) or ``x-api-key`` (the
    Anthropic SDK); ASGI header names are lower case."""
    for name, value in headers:
        if name == b"authorization":
            text = value.decode("latin-1").strip()
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key":
            token = value.decode("latin-1").strip()
            if token:
                return token
    return None


# The refusals that carry no detail of the request (fresh exceptions each time: a raised
# exception keeps its traceback, which must not pin a finished request's frames).
_REFUSALS: Final = {
    "missing": "no API key: send a gateway key as 'Authorization: Bearer br-...' "
    "(OpenAI(api_key=...)); keys come from `benchroute gateway keys create`",
    "unknown": "the API key is not a valid gateway key (it is not shown here); "
    "`benchroute gateway keys list` shows the prefixes of the valid ones",
    "revoked": "this gateway key was revoked; ask for a new one (`benchroute gateway keys create`)",
    "no_keys": "this gateway requires keys (gateway.auth: keys) and none exists yet: "
    "create one with `benchroute gateway keys create NAME`",
}


def _refused(why: str) -> GatewayError:
    return GatewayError(401, "invalid_api_key", _REFUSALS[why])


class Authenticator:
    """Gateway keys, limits and spend for one gateway process (see the module doc).

    :meth:`start` loads the keys and starts the refresh task; :meth:`admit` and
    :meth:`settle` are synchronous and touch memory only; :meth:`aclose` writes the last
    spend."""

    def __init__(self, spec: GatewaySpec, store: Store) -> None:
        self.mode = spec.auth
        self.refresh_s = spec.keys_refresh_s
        self._log = RequestLog(store)
        self._by_hash: dict[str, _KeyState] = {}
        self._by_id: dict[str, _KeyState] = {}
        self._pending: dict[str, float] = {}  # key id -> USD settled and not yet written
        self.required = self.mode == "keys"
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.failures = 0

    @property
    def key_count(self) -> int:
        return len(self._by_id)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        keys = await asyncio.to_thread(self._log.keys)
        self._install(keys, written={})
        state = "keys required" if self.required else "open (no gateway key exists)"
        print(
            f"benchroute gateway: auth {self.mode}: {state}; {self.key_count} keys",
            file=sys.stderr,
            flush=True,
        )
        self._task = asyncio.create_task(self._refresh_loop(), name="benchroute-gateway-keys")

    async def aclose(self) -> None:
        """Stop refreshing and write the spend still held in memory."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._pending:
            await self.refresh()

    async def _refresh_loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.refresh_s)
            if self._stop.is_set():
                return
            await self.refresh()

    async def refresh(self) -> None:
        """Write the settled spend and re-read the keys (one thread hop, off the request
        path); on a store error both are kept and tried again next time."""
        written, self._pending = self._pending, {}
        try:
            keys = await asyncio.to_thread(self._write_and_read, written)
        except Exception as exc:
            for key_id, usd in written.items():
                self._pending[key_id] = self._pending.get(key_id, 0.0) + usd
            if self.failures == 0:
                print(
                    f"benchroute gateway: reading keys / writing spend failed (kept, retried): "
                    f"{type(exc).__name__}: {str(exc)[:200]}",
                    file=sys.stderr,
                    flush=True,
                )
            self.failures += 1
            return
        self.failures = 0
        self._install(keys, written)

    def _write_and_read(self, spend: dict[str, float]) -> list[GatewayKey]:
        if spend:
            self._log.add_spend(spend)
        return self._log.keys()

    def _install(self, keys: list[GatewayKey], written: dict[str, float]) -> None:
        """Swap in freshly read keys, keeping each key's limiter (its buckets) and the spend
        not yet in the store (everything in ``written`` now is)."""
        by_hash: dict[str, _KeyState] = {}
        by_id: dict[str, _KeyState] = {}
        for key in keys:
            old = self._by_id.get(key.id)
            if old is not None:
                same_limits = (old.key.rpm, old.key.tpm) == (key.rpm, key.tpm)
                limiter = old.limiter if same_limits else _limiter(key)
                local = max(0.0, old.local_usd - written.get(key.id, 0.0))
            else:
                limiter, local = _limiter(key), 0.0
            state = _KeyState(key, limiter, local)
            by_hash[key.hash] = state
            by_id[key.id] = state
        self._by_hash, self._by_id = by_hash, by_id
        if self.mode == "auto":
            self.required = bool(by_id)

    # -- per request -------------------------------------------------------------------------

    def admit(
        self, headers: Iterable[tuple[bytes, bytes]], alias: str, estimated_tokens: int
    ) -> Admitted | None:
        """Check a request before any upstream call; raises :class:`GatewayError` (401, 403,
        429) or returns what :meth:`settle` needs (None: the gateway is open)."""
        if not self.required:
            return None
        state = self._state(headers)
        key = state.key
        allowed = key.allowed_aliases
        if allowed is not None and alias not in allowed:
            raise GatewayError(
                403,
                "model_not_allowed",
                f"this key may not use model {alias!r}; it may use: {', '.join(allowed)}",
            )
        budget = key.budget_usd
        if budget is not None and state.spent_usd >= budget:
            raise GatewayError(
                429,
                "insufficient_quota",
                f"this key's budget is spent: ${state.spent_usd:.4f} of ${budget:.4f}; "
                "raise it with a new key (`benchroute gateway keys create --budget-usd`)",
                headers={"x-should-retry": "false"},
            )
        limiter = state.limiter
        if limiter is not None:
            wait = limiter.try_acquire(estimated_tokens)
            if wait > 0.0:
                retry = max(1, math.ceil(wait))
                if limiter.requests is not None and limiter.requests.wait_for(1) > 0:
                    which = f"requests per minute limit ({key.rpm})"
                else:
                    which = f"tokens per minute limit ({key.tpm})"
                raise GatewayError(
                    429,
                    "rate_limit_exceeded",
                    f"this key's {which} is reached; retry in {retry} s",
                    headers={"retry-after": str(retry)},
                )
        return Admitted(state, estimated_tokens)

    def _state(self, headers: Iterable[tuple[bytes, bytes]]) -> _KeyState:
        token = _presented_token(headers)
        if token is None:
            raise _refused("missing")
        digest = hash_secret(token)
        state = self._by_hash.get(digest)
        if state is None or not hmac.compare_digest(state.key.hash, digest):
            raise _refused("no_keys" if not self._by_id else "unknown")
        if state.key.revoked_ts is not None:
            raise _refused("revoked")
        return state

    def identify(self, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The id of the valid key a request presents (None: the gateway is open); raises
        :class:`GatewayError` (401) like :meth:`admit`, without touching limits."""
        if not self.required:
            return None
        return self._state(headers).key.id

    def settle(self, admitted: Admitted, tokens: int, cost_usd: float | None) -> None:
        """After the reply: correct the token budget with the real usage, add the cost."""
        # The key's current state: a refresh may have swapped it in since admission.
        state = self._by_id.get(admitted.key_id, admitted.state)
        limiter = state.limiter
        if limiter is not None:
            limiter.settle(admitted.estimated_tokens, tokens)
        if cost_usd:
            state.local_usd += cost_usd
            pending = self._pending
            pending[admitted.key_id] = pending.get(admitted.key_id, 0.0) + cost_usd
