"""Continuous benchmarking: watch endpoints for model-version changes, run schedules, deliver alerts.

:class:`Watcher` is the loop behind ``benchroute watch``; :class:`AlertSender` posts
:class:`Alert` s to webhooks (generic JSON or Slack-compatible) with retries and records each
delivery (a dead letter when it never arrived).
"""

from ._alerts import Alert, AlertSender, Delivery, DeliveryLog, redact_url, render_payload
from ._watch import Schedule, VersionSeen, Watcher, WatchResult, observe_version

__all__ = [
    "Alert",
    "AlertSender",
    "Delivery",
    "DeliveryLog",
    "Schedule",
    "VersionSeen",
    "WatchResult",
    "Watcher",
    "observe_version",
    "redact_url",
    "render_payload",
]
