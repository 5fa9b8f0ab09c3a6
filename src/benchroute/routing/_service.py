"""Storing, activating, promoting and rolling back policies, and what a gateway polls.

Every change of the active policy goes through the store: ``route build --activate``,
``route activate N``, a policy file the gateway watches, ``route promote|rollback`` and the
automatic canary decisions all store a version (when it is new) and append an activation.
Gateways poll :meth:`PolicyWatcher.poll` (in a thread, every ``routing.reload_s``); it returns
a new :class:`Router` when the active version changed, the watched file changed, or a drift
flag demoted an endpoint — and a rejection (the old router stays) when the new policy cannot
be served.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import BenchrouteError
from ..config import PolicyDocument, RouteEntry, load_policy_file
from ..store import PolicyStore, policy_digest
from ._canary import ArmStats, CanaryCriteria
from ._policy import PolicyError, checked_policy, policy_problems
from ._router import Router

if TYPE_CHECKING:
    from ..config import CanaryCriteriaSpec, ProjectConfig
    from ..store import Store, StoredPolicy


def save_policy(
    store: Store,
    project: ProjectConfig,
    policy: PolicyDocument,
    *,
    source: str,
    note: str | None = None,
    activate: bool = False,
    reason: str | None = None,
    reuse: bool = False,
) -> int:
    """Check, store (a new version unless ``reuse`` finds the same document) and optionally
    activate ``policy``; returns its version."""
    checked_policy(policy, project)
    policies = PolicyStore(store)
    version = policies.add_policy(policy.to_json(), source=source, note=note, reuse=reuse)
    if activate and policies.active_version() != version:
        policies.activate(version, reason or source)
    return version


def activate_policy(store: Store, project: ProjectConfig, version: int, reason: str) -> StoredPolicy:
    """Make a stored version active after checking it can be served."""
    policies = PolicyStore(store)
    stored = policies.policy(version)
    if stored is None:
        latest = policies.latest_version()
        raise PolicyError(
            f"no policy version {version}",
            hint=f"stored versions: 1..{latest}" if latest else "build one: benchroute route build",
        )
    checked_policy(stored.document, project, where=f"policy v{version}")
    policies.activate(version, reason)
    return stored


def active_policy(store: Store) -> StoredPolicy | None:
    return PolicyStore(store).active()


def _require_active(store: Store) -> StoredPolicy:
    stored = active_policy(store)
    if stored is None:
        raise PolicyError("no active policy", hint="benchroute route build --activate")
    return stored


def promote_canary(
    store: Store, project: ProjectConfig, task_class: str, reason: str, *, expected_version: int | None = None
) -> int | None:
    """A new active version in which the class's canary is its primary (the old primary
    becomes the first fallback) and the canary is over. With ``expected_version``: only
    while that version is the active one (else None, nothing activated)."""
    stored = _require_active(store)
    if expected_version is not None and stored.version != expected_version:
        return None
    policy = PolicyDocument.model_validate(stored.document)
    klass = _class_with_canary(policy, task_class, stored.version)
    canary = klass.canary
    assert canary is not None
    evidence = canary.evidence or RouteEntry(model=canary.model, endpoint_id=canary.endpoint_id)
    promoted = evidence.model_copy(update={"role": "primary", "why": f"promoted canary: {reason}"})
    rest = [
        entry.model_copy(update={"role": "fallback"} if entry.role == "primary" else {})
        for entry in klass.route
        if entry.model != canary.model
    ]
    classes = dict(policy.classes)
    classes[task_class] = klass.model_copy(update={"route": [promoted, *rest], "canary": None})
    return _successor(store, project, policy, classes, "promote", f"{task_class}: {reason}", stored.version)


def rollback_canary(
    store: Store, project: ProjectConfig, task_class: str, reason: str, *, expected_version: int | None = None
) -> int | None:
    """A new active version without the class's canary (its route unchanged); with
    ``expected_version`` only while that version is active (else None)."""
    stored = _require_active(store)
    if expected_version is not None and stored.version != expected_version:
        return None
    policy = PolicyDocument.model_validate(stored.document)
    klass = _class_with_canary(policy, task_class, stored.version)
    classes = dict(policy.classes)
    classes[task_class] = klass.model_copy(update={"canary": None})
    return _successor(store, project, policy, classes, "rollback", f"{task_class}: {reason}", stored.version)


def _class_with_canary(policy: PolicyDocument, task_class: str, version: int) -> Any:
    klass = policy.classes.get(task_class)
    if klass is None:
        raise PolicyError(
            f"policy v{version} has no class {task_class!r}", hint="classes: " + ", ".join(policy.classes)
        )
    if klass.canary is None:
        raise PolicyError(f"class {task_class!r} of policy v{version} has no canary")
    return klass


def _successor(
    store: Store,
    project: ProjectConfig,
    policy: PolicyDocument,
    classes: dict[str, Any],
    source: str,
    reason: str,
    replaces: int,
) -> int | None:
    """Store the successor of version ``replaces`` and activate it — only if ``replaces`` is
    still active when the activation is written (checked in the same transaction)."""
    successor = policy.model_copy(
        update={"classes": classes, "version": None, "source": source, "note": reason}
    )
    checked_policy(successor, project)
    policies = PolicyStore(store)
    version = policies.add_policy(successor.to_json(), source=source, note=reason)
    if not policies.activate_if(version, replaces, reason):
        return None
    return version


@dataclass(slots=True)
class PollResult:
    """What changed since the last poll."""

    router: Router | None = None  # a new router to serve with (None: keep the current one)
    rejected: str | None = None  # a policy that could not be served, and why
    demoted: list[tuple[str, str, str]] = field(default_factory=list)  # new (class, model, why)
    loaded_version: int | None = None


class PolicyWatcher:
    """The gateway's view of the active policy (see the module doc). Not thread-safe: one
    poll at a time."""

    def __init__(self, store: Store, project: ProjectConfig) -> None:
        self.store = store
        self.project = project
        self.policies = PolicyStore(store)
        spec = project.routing
        self.file: Path | None = None
        if spec.policy_file:
            path = Path(spec.policy_file)
            self.file = path if path.is_absolute() else project.root / path
        self._file_stamp: tuple[float, int] | None = None
        self.version: int | None = None
        self.policy: PolicyDocument | None = None
        self._demoted: dict[tuple[str, str], str] = {}
        self._rejected_version: int | None = None
        self._since = 0.0

    def poll(self) -> PollResult:
        result = PollResult()
        self._poll_file(result)
        active = self.policies.active_version()
        if active is not None and active != self.version and active != self._rejected_version:
            stored = self.policies.policy(active)
            if stored is not None:
                try:
                    policy = checked_policy(stored.document, self.project, where=f"policy v{active}")
                except BenchrouteError as exc:
                    self._rejected_version = active
                    result.rejected = str(exc)
                else:
                    self.version, self.policy = active, policy
                    # Drift flags count from when the policy was built (a hand-written one:
                    # from when it was stored), never from the beginning of time.
                    self._since = policy.created_ts or stored.created_ts
                    self._demoted = {}
                    result.loaded_version = active
                    result.router = Router(policy, active, self._demoted)
        if self.policy is not None:
            fresh = self._drift_demotions(self.policy)
            if fresh:
                self._demoted.update({(c, m): why for c, m, why in fresh})
                result.demoted = fresh
                result.router = Router(self.policy, self.version, self._demoted)
        return result

    def _poll_file(self, result: PollResult) -> None:
        """A changed policy file is stored (once per content) and activated. The first look
        at the file (a gateway starting) activates it only when its content was never
        stored: a restart must not undo a ``route activate`` or a promotion made since."""
        path = self.file
        if path is None:
            return
        try:
            stat = os.stat(path)
        except OSError:
            return
        stamp = (stat.st_mtime, stat.st_size)
        if stamp == self._file_stamp:
            return
        first = self._file_stamp is None
        self._file_stamp = stamp
        try:
            policy = load_policy_file(path)
            problems = policy_problems(policy, self.project)
            if problems:
                raise PolicyError(f"{path}: " + "; ".join(problems))
            known = self.policies.version_with_digest(policy_digest(policy.to_json()))
            if first and known is not None:
                return
            version = (
                known
                if known is not None
                else self.policies.add_policy(policy.to_json(), source="file", note=str(path))
            )
            if self.policies.active_version() != version:
                self.policies.activate(version, f"file {path.name} changed")
        except BenchrouteError as exc:
            result.rejected = str(exc)

    def _drift_demotions(self, policy: PolicyDocument) -> list[tuple[str, str, str]]:
        """(class, model, why) for route and canary endpoints a drift flag made worse after
        the policy was built (only flags newer than that are read)."""
        since = datetime.fromtimestamp(self._since, UTC)
        found: list[tuple[str, str, str]] = []
        flags_by_suite: dict[str, list[dict[str, Any]]] = {}
        for name, klass in policy.classes.items():
            entries = [(e.model, e.endpoint_id) for e in klass.route]
            if klass.canary is not None:
                entries.append((klass.canary.model, klass.canary.endpoint_id))
            for model, endpoint_id in entries:
                if (name, model) in self._demoted:
                    continue
                flag = None
                for suite in klass.suites:
                    if suite not in flags_by_suite:
                        flags_by_suite[suite] = [
                            f
                            for f in self.store.drift_flags(suite=suite, since=since)
                            if float(f.get("created_ts") or 0) > self._since
                            and f.get("direction") != "better"
                        ]
                    flag = next(
                        (
                            f
                            for f in flags_by_suite[suite]
                            if (endpoint_id is not None and f.get("endpoint_id") == endpoint_id)
                            or f.get("model") == model
                        ),
                        None,
                    )
                    if flag is not None:
                        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(float(flag["created_ts"])))
                        why = (
                            f"drift flagged on {suite} {flag.get('metric')} at run "
                            f"{flag.get('run_id')} ({when} UTC)"
                        )
                        found.append((name, model, why))
                        break
        return found


def canary_criteria(spec: CanaryCriteriaSpec) -> CanaryCriteria:
    """The test's criteria from a policy's ``canary.criteria``."""
    return CanaryCriteria(
        metric=spec.metric,
        min_samples=spec.min_samples,
        alpha=spec.alpha,
        max_error_rate=spec.max_error_rate,
        max_error_rate_increase=spec.max_error_rate_increase,
        max_p95_ms=spec.max_p95_ms,
        guardrail_min_requests=spec.guardrail_min_requests,
    )


# Outcomes that are the endpoint's failure (a client's own 4xx, or leaving early, is not).
_FAILED = frozenset({"stream_cut", "upstream_error", "upstream_timeout", "no_healthy_endpoint"})


def canary_arms(
    store: Store, version: int | None, task_class: str, models: Mapping[str, str] | None = None
) -> dict[str, ArmStats]:
    """Both arms' figures for a class under one policy version, from the request log and
    its feedback: ``primary`` and ``canary`` (a shadow copy counts as the canary's).

    A request is an *error of its arm* when the model the router put first for it (logged as
    ``first_model``; else ``models``: arm -> model, default read from the stored policy) did
    not answer it — it failed, timed out
    or was skipped, and a fallback (or nobody) answered — so a failing candidate shows in its
    error rate even though the client got a reply. A request the client itself got wrong (a
    4xx other than 429) says nothing about the arm and is left out."""
    if models is None:
        stored = PolicyStore(store).policy(version) if version is not None else None
        klass = (
            PolicyDocument.model_validate(stored.document).classes.get(task_class)
            if stored is not None
            else None
        )
        models = {}
        if klass is not None:
            models["primary"] = klass.route[0].model
            if klass.canary is not None:
                models["canary"] = klass.canary.model
    arms = {"primary": ArmStats(), "canary": ArmStats()}
    rows = PolicyStore(store).routed_requests(task_class=task_class, policy_version=version)
    for row in rows:
        name = "canary" if row.get("arm") == "shadow" else (row.get("arm") or "")
        arm = arms.get(name)
        if arm is None:
            continue
        status = int(row["status"])
        expected = row.get("first_model") or models.get(name)
        failed = status >= 500 or status == 429 or row.get("error_kind") in _FAILED
        if 400 <= status < 500 and not failed:
            continue
        error = failed or (expected is not None and row.get("model") != expected)
        latency = None if error else row.get("latency_ms")
        arm.observe(error=error, latency_ms=latency, cost_usd=row.get("cost_usd"))
        if row.get("feedback_score") is not None:
            arm.observe_feedback(float(row["feedback_score"]))
        if row.get("judge_score") is not None:
            arm.observe_judge(float(row["judge_score"]))
    return arms
