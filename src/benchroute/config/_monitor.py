"""The ``watch:``, ``schedule:`` and ``alerts:`` blocks of the project file (`benchroute watch`).

.. code-block:: yaml

    watch:
      suites: [suites/safety.yaml]   # run when a model's version changes (paths from this file)
      models: [gpt]                  # default: every model with an HTTP endpoint
      interval_s: 300                # seconds between polls of /v1/models and the probe
      probe: true                    # also send one tiny request to read model/fingerprint
    schedule:
      weekly-safety: {cron: "0 6 * * 1", suites: [suites/safety.yaml]}
    alerts:
      webhooks:
        - {url: "https://hooks.slack.com/services/...", format: slack, on: [drift, gate]}
        - {url: "https://ops.example/benchroute", format: json, headers: {X-Team: evals}}

Cron expressions are checked when the file loads (five fields, UTC); a bad one names its
line. Webhook URLs may hold a secret (Slack's do): they are never printed in full.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

AlertEvent = Literal["drift", "gate", "run-failed", "routing"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WatchSpec(_Strict):
    """What `benchroute watch` runs when an endpoint's model version changes."""

    suites: list[str] = Field(default_factory=list, description="suite files, relative to the project file")
    models: list[str] | None = Field(default=None, description="models to watch (default: all with a URL)")
    interval_s: float = Field(default=300.0, gt=0, description="seconds between polls")
    probe: bool = Field(
        default=True,
        description="send one max_tokens=1 request per poll to read the reply's model / system_fingerprint",
    )


class ScheduleSpec(_Strict):
    """One cron schedule: the suites it runs (trigger ``schedule``, never from the cache)."""

    cron: str = Field(description='five-field cron expression in UTC, e.g. "0 6 * * 1"')
    suites: list[str] = Field(min_length=1, description="suite files, relative to the project file")
    models: list[str] | None = Field(default=None, description="models to run (default: each suite's)")

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        text = value.strip()
        if len(text.split()) != 5:
            raise ValueError(f'{value!r} is not a five-field cron expression; write e.g. "0 6 * * 1"')
        try:
            from croniter import croniter  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            return text  # checked again (with the install hint) when `benchroute watch` starts
        if not croniter.is_valid(text):
            raise ValueError(f'{value!r} is not a valid cron expression; write e.g. "0 6 * * 1"')
        return text


class WebhookSpec(_Strict):
    """A webhook an alert is POSTed to."""

    url: str = Field(description="http(s) URL; POSTed JSON")
    format: Literal["json", "slack"] = Field(default="json", description="generic JSON or Slack-compatible")
    on: list[AlertEvent] = Field(default_factory=lambda: list[AlertEvent](["drift", "gate"]), min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    max_attempts: int = Field(default=5, ge=1, le=20)
    base_delay_s: float = Field(default=1.0, ge=0, description="first retry delay; doubles per attempt")
    max_delay_s: float = Field(default=60.0, ge=0)
    timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("a webhook url starts with http:// or https://")
        return value


class AlertsSpec(_Strict):
    """Where alerts go."""

    webhooks: list[WebhookSpec] = Field(default_factory=list)
