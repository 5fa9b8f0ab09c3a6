"""Alerts: POST drift and gate events to webhooks, retry with backoff, dead-letter the rest.

An :class:`Alert` is rendered per target as generic JSON (the alert's fields as they are) or
as a Slack-compatible payload (``text`` plus ``blocks``; Slack, Mattermost and most chat
incoming webhooks accept it). A delivery is retried on a connection error, a timeout, a 429
or a 5xx, waiting ``base_delay_s * 2**attempt`` (capped at ``max_delay_s``, a ``Retry-After``
honoured up to that cap); a 4xx other than 429 is final at once. Every delivery is recorded
in the store (``alert_deliveries``: status ``delivered`` or ``dead``, attempts, last error),
so an alert that never arrived can be found and sent again. Webhook URLs often embed a
secret: only their scheme and host ever reach a log line or an error.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from ..config import WebhookSpec

__all__ = ["Alert", "AlertSender", "Delivery", "redact_url", "render_payload"]


@dataclass(frozen=True, slots=True)
class Alert:
    """Something a person should look at. ``kind``: drift | gate | run-failed."""

    kind: str
    title: str
    summary: str
    suite: str | None = None
    model: str | None = None
    run_id: str | None = None
    trigger: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    created_ts: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one alert to one target."""

    id: str
    target: str  # redacted URL
    kind: str
    status: str  # delivered | dead
    attempts: int
    last_error: str | None
    payload: dict[str, Any]
    created_ts: float


def redact_url(url: str) -> str:
    """``scheme://host[:port]/…``: webhook paths and queries often carry the secret."""
    parts = urlsplit(url)
    tail = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{tail}"


def render_payload(alert: Alert, fmt: str) -> dict[str, Any]:
    """The JSON body for a target of format ``json`` or ``slack``."""
    if fmt == "slack":
        where = " · ".join(
            part
            for part in (
                f"suite `{alert.suite}`" if alert.suite else "",
                f"model `{alert.model}`" if alert.model else "",
                f"run `{alert.run_id}`" if alert.run_id else "",
                f"trigger {alert.trigger}" if alert.trigger else "",
            )
            if part
        )
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": alert.summary[:2900]}},
        ]
        if where:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": where}]})
        return {"text": f"{alert.title}: {alert.summary}"[:3000], "blocks": blocks}
    body = asdict(alert)
    body["source"] = "benchroute"
    return body


Sleep = Callable[[float], Awaitable[None]]


class DeliveryLog(Protocol):
    """Where deliveries are recorded: :class:`benchroute.store.Store` (its
    ``alert_deliveries`` table), or anything with the same method."""

    def add_alert_delivery(self, row: dict[str, Any]) -> None: ...


class AlertSender:
    """Delivers alerts to the configured webhooks; records each delivery (delivered or dead)
    with ``store.add_alert_delivery`` (no store: deliveries are only returned and logged)."""

    def __init__(
        self,
        webhooks: list[WebhookSpec],
        store: DeliveryLog | None = None,
        *,
        log: Callable[[str], None] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.webhooks = webhooks
        self.store = store
        self._log = log or (lambda _line: None)
        self._sleep = sleep

    async def send(self, alert: Alert) -> list[Delivery]:
        """Deliver ``alert`` to every webhook subscribed to its kind (concurrently)."""
        targets = [hook for hook in self.webhooks if alert.kind in hook.on]
        if not targets:
            return []
        async with aiohttp.ClientSession() as session:
            deliveries = await asyncio.gather(*(self._deliver(session, hook, alert) for hook in targets))
        for delivery in deliveries:
            self._record(delivery)
        return list(deliveries)

    async def _deliver(self, session: aiohttp.ClientSession, hook: WebhookSpec, alert: Alert) -> Delivery:
        payload = render_payload(alert, hook.format)
        data = json.dumps(payload, default=str).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "benchroute-alerts", **hook.headers}
        target = redact_url(hook.url)
        error: str | None = None
        attempt = 0
        for attempt in range(1, hook.max_attempts + 1):
            retry_after: float | None = None
            try:
                timeout = aiohttp.ClientTimeout(total=hook.timeout_s)
                async with session.post(hook.url, data=data, headers=headers, timeout=timeout) as response:
                    if response.status < 300:
                        return self._delivery(alert, target, "delivered", attempt, None, payload)
                    error = f"HTTP {response.status}"
                    if response.status != 429 and response.status < 500:
                        break  # the receiver refused this payload: retrying sends the same
                    retry_after = _seconds(response.headers.get("Retry-After"))
            except TimeoutError:
                error = f"timed out after {hook.timeout_s:g} s"
            except aiohttp.ClientError as exc:
                error = f"{type(exc).__name__}: {_without_url(str(exc), hook.url)}"
            if attempt < hook.max_attempts:
                delay = min(hook.max_delay_s, hook.base_delay_s * 2 ** (attempt - 1))
                if retry_after is not None:
                    delay = min(hook.max_delay_s, max(delay, retry_after))
                self._log(f"alert {alert.kind} → {target}: {error}; retry {attempt + 1} in {delay:.1f} s")
                await self._sleep(delay)
        self._log(
            f"alert {alert.kind} → {target}: gave up after {attempt} attempt(s) ({error}); dead-lettered"
        )
        return self._delivery(alert, target, "dead", attempt, error, payload)

    @staticmethod
    def _delivery(
        alert: Alert, target: str, status: str, attempts: int, error: str | None, payload: dict[str, Any]
    ) -> Delivery:
        return Delivery(
            uuid.uuid4().hex[:16], target, alert.kind, status, attempts, error, payload, time.time()
        )

    def _record(self, delivery: Delivery) -> None:
        if self.store is None:
            return
        self.store.add_alert_delivery(
            {
                "id": delivery.id,
                "created_ts": delivery.created_ts,
                "target": delivery.target,
                "kind": delivery.kind,
                "payload": delivery.payload,
                "status": delivery.status,
                "attempts": delivery.attempts,
                "last_error": delivery.last_error,
            }
        )


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _without_url(text: str, url: str) -> str:
    return text.replace(url, redact_url(url))
