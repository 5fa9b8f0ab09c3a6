"""The gateway's side of routing: the current :class:`~benchroute.routing.Router`, swapped
whole when a new policy is loaded, the reload and canary loops, endpoint budgets, shadow
copies and the feedback endpoint's queue.

Hot reload: a loop polls the store (and the watched policy file) every ``routing.reload_s``
in a thread; a new router replaces the old one in one assignment. A request takes the router
it starts with and keeps it: in-flight requests finish on the policy they started under, and
no request ever sees half a policy. A policy that cannot be served is rejected with its
reason (printed, kept in ``/readyz``) and the old one stays active.

Canaries with ``auto: true`` are checked every ``routing.canary_check_s``: both arms' figures
are read from the request log and feedback of the active version (so several workers and a
restart see the same evidence), tested with :func:`~benchroute.routing.evaluate_canary`, and a
promotion or rollback stores and activates the next version, which the reload loop serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..routing import (
    PolicyWatcher,
    Router,
    canary_arms,
    canary_criteria,
    evaluate_canary,
    promote_canary,
    rollback_canary,
)
from ..store import PolicyStore

if TYPE_CHECKING:
    from ..config import ProjectConfig
    from ..store import Store
    from ._endpoints import Endpoint


def _say(line: str) -> None:
    print(f"benchroute gateway: {line}", file=sys.stderr, flush=True)


class EndpointBudgets:
    """USD per UTC day per endpoint (``routing.budgets``); spend counted from the request
    log at startup and from each served request after."""

    def __init__(self, budgets: Mapping[str, float]) -> None:
        self.limits = dict(budgets)
        self.day = _day()
        self.spent: dict[str, float] = {}

    def over(self, name: str) -> float | None:
        """The day's spend when ``name`` is over its budget, else None."""
        limit = self.limits.get(name)
        if limit is None:
            return None
        self._roll()
        spent = self.spent.get(name, 0.0)
        return spent if spent >= limit else None

    def add(self, name: str, usd: float | None) -> None:
        if usd and name in self.limits:
            self._roll()
            self.spent[name] = self.spent.get(name, 0.0) + usd

    def _roll(self) -> None:
        day = _day()
        if day != self.day:
            self.day = day
            self.spent = {}


def _day() -> int:
    return int(time.time() // 86_400)


class RoutingState:
    """See the module doc."""

    def __init__(self, project: ProjectConfig, store: Store, endpoints: Mapping[str, Endpoint]) -> None:
        self.project = project
        self.spec = project.routing
        self.store = store
        self.endpoints = endpoints
        self.watcher = PolicyWatcher(store, project)
        self.router: Router | None = None
        self.rejected: str | None = None
        self.budgets = EndpointBudgets(self.spec.budgets)
        self._tasks: list[asyncio.Task[None]] = []
        self.alerts: Any = None
        self.reloads = 0

    @property
    def models_listed(self) -> list[str]:
        names = ["benchroute"]
        router = self.router
        if router is not None:
            names.extend(f"benchroute/{name}" for name in router.classes)
        return names

    async def start(self) -> None:
        if self.budgets.limits:
            ids = {name: self.endpoints[name].id for name in self.budgets.limits if name in self.endpoints}
            spend = await asyncio.to_thread(PolicyStore(self.store).spend_since, self.budgets.day * 86_400.0)
            self.budgets.spent = {name: spend.get(ident, 0.0) for name, ident in ids.items()}
        await self.reload()
        self._tasks.append(asyncio.ensure_future(self._reload_loop()))
        self._tasks.append(asyncio.ensure_future(self._canary_loop()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def reload(self) -> None:
        """Poll once (the store, the policy file, drift flags) and apply what changed."""
        result = await asyncio.to_thread(self.watcher.poll)
        if result.rejected is not None and result.rejected != self.rejected:
            _say(f"policy rejected, the active one stays: {result.rejected}")
        if result.rejected is not None:
            self.rejected = result.rejected
        if result.router is not None:
            missing = sorted(name for name in result.router.models() if name not in self.endpoints)
            if missing:
                self.rejected = f"policy v{result.router.version}: no endpoint for {', '.join(missing)}"
                _say(f"policy rejected, the active one stays: {self.rejected}")
                return
            self.router = result.router
            self.reloads += 1
            if result.loaded_version is not None:
                self.rejected = None
                _say(f"policy v{result.loaded_version} active")
        for task_class, model, why in result.demoted:
            _say(f"demoted {model} in class {task_class}: {why}")
            await self._alert(
                "routing",
                f"{model} demoted in class {task_class}",
                f"traffic of class {task_class} moves to the next candidate: {why}",
                model=model,
                details={"class": task_class, "reason": why, "policy_version": self.watcher.version},
            )

    async def _reload_loop(self) -> None:
        while True:
            await asyncio.sleep(self.spec.reload_s)
            try:
                await self.reload()
            except Exception as exc:  # the store is briefly unreachable: try again next time
                _say(f"policy reload failed ({type(exc).__name__}: {exc}); serving the loaded policy")

    async def _canary_loop(self) -> None:
        while True:
            await asyncio.sleep(self.spec.canary_check_s)
            router = self.router
            if router is None:
                continue
            auto = [
                name for name, k in router.policy.classes.items() if k.canary is not None and k.canary.auto
            ]
            if not auto:
                continue
            try:
                actions = await asyncio.to_thread(self.check_canaries, router, auto)
            except Exception as exc:
                _say(f"canary check failed ({type(exc).__name__}: {exc})")
                continue
            for task_class, action, reason in actions:
                _say(f"canary {action} in class {task_class}: {reason}")
                await self._alert(
                    "routing", f"canary {action}: class {task_class}", reason, details={"class": task_class}
                )
            if actions:
                await self.reload()

    def check_canaries(self, router: Router, classes: list[str]) -> list[tuple[str, str, str]]:
        """Evaluate each auto canary from the log; promote or roll back (blocking)."""
        actions: list[tuple[str, str, str]] = []
        for task_class in classes:
            arms = canary_arms(self.store, router.version, task_class)
            klass = router.policy.classes[task_class]
            assert klass.canary is not None
            criteria = klass.canary.criteria
            verdict = evaluate_canary(arms["primary"], arms["canary"], canary_criteria(criteria))
            if verdict.action == "promote":
                version = promote_canary(self.store, self.project, task_class, verdict.reason)
            elif verdict.action == "rollback":
                version = rollback_canary(self.store, self.project, task_class, verdict.reason)
            else:
                continue
            actions.append((task_class, verdict.action, f"{verdict.reason} (policy v{version})"))
        return actions

    async def _alert(self, kind: str, title: str, summary: str, **extra: Any) -> None:
        webhooks = [hook for hook in self.project.alerts.webhooks if kind in hook.on]
        if not webhooks:
            return
        from ..monitor import Alert, AlertSender

        sender = AlertSender(webhooks, self.store, log=_say)
        task = asyncio.ensure_future(sender.send(Alert(kind=kind, title=title, summary=summary, **extra)))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    def readiness(self) -> dict[str, Any]:
        router = self.router
        return {
            "policy_version": None if router is None else router.version,
            "classes": [] if router is None else router.classes,
            "demoted": [] if router is None else [f"{c}:{m}" for (c, m) in router.demoted],
            "policy_rejected": self.rejected,
        }
