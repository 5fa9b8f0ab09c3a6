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


class _ThreadedDeliveryLog:
    """Records alert deliveries in the store from a worker thread: never on the event loop."""

    def __init__(self, store: Store, pending: set[asyncio.Future[Any]]) -> None:
        self.store = store
        self.pending = pending

    def add_alert_delivery(self, row: dict[str, Any]) -> None:
        task = asyncio.ensure_future(asyncio.to_thread(self.store.add_alert_delivery, row))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)


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
        self._lock = asyncio.Lock()
        self._alerts: set[asyncio.Future[Any]] = set()
        self._spend_checked = time.monotonic()
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
        await self._refresh_spend()
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
        if self._alerts:  # deliveries under way finish (each bounded by its webhook's timeout)
            await asyncio.gather(*self._alerts, return_exceptions=True)

    async def _refresh_spend(self) -> None:
        """The day's spend per budgeted endpoint: the store's (every worker's logged
        requests) or this process's own count, whichever is more — never less than known."""
        if not self.budgets.limits:
            return
        ids = {name: self.endpoints[name].id for name in self.budgets.limits if name in self.endpoints}
        spend = await asyncio.to_thread(PolicyStore(self.store).spend_since, self.budgets.day * 86_400.0)
        for name, ident in ids.items():
            self.budgets.spent[name] = max(self.budgets.spent.get(name, 0.0), spend.get(ident, 0.0))

    async def reload(self) -> None:
        """Poll once (the store, the policy file, drift flags) and apply what changed; one
        poll at a time (the reload and canary loops both call it)."""
        async with self._lock:
            await self._reload()

    async def _reload(self) -> None:
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
                if time.monotonic() - self._spend_checked >= 5.0:
                    self._spend_checked = time.monotonic()
                    await self._refresh_spend()
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
                await self._judge_samples(router, auto)
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

    async def _judge_samples(self, router: Router, classes: list[str]) -> None:
        """For canaries decided on ``judge``: judge a few more of each arm's logged replies
        (``criteria.judge_per_check``) before the check, in a thread with its own loop."""
        from .._eventloop import run as run_loop
        from ..routing import judge_sample

        for task_class in classes:
            canary = router.policy.classes[task_class].canary
            if canary is None or canary.criteria.metric != "judge":
                continue
            try:
                await asyncio.to_thread(
                    run_loop,
                    judge_sample(
                        self.store,
                        self.project,
                        task_class=task_class,
                        policy_version=router.version,
                        sample=canary.criteria.judge_per_check,
                        seed=int(time.time()),
                    ),
                )
            except Exception as exc:  # nothing new to judge yet, or the judge is down
                _say(f"canary judge sample for class {task_class}: {exc}")

    def check_canaries(self, router: Router, classes: list[str]) -> list[tuple[str, str, str]]:
        """Evaluate each auto canary from the log; promote or roll back (blocking). A
        decision applies only to the version it was tested on: when another version became
        active meanwhile (an operator, another worker), nothing changes."""
        actions: list[tuple[str, str, str]] = []
        for task_class in classes:
            arms = canary_arms(self.store, router.version, task_class)
            klass = router.policy.classes[task_class]
            assert klass.canary is not None
            criteria = klass.canary.criteria
            verdict = evaluate_canary(arms["primary"], arms["canary"], canary_criteria(criteria))
            if verdict.action == "promote":
                version = promote_canary(
                    self.store, self.project, task_class, verdict.reason, expected_version=router.version
                )
            elif verdict.action == "rollback":
                version = rollback_canary(
                    self.store, self.project, task_class, verdict.reason, expected_version=router.version
                )
            else:
                continue
            if version is None:
                continue  # the tested version is no longer active
            actions.append((task_class, verdict.action, f"{verdict.reason} (policy v{version})"))
        return actions

    async def _alert(self, kind: str, title: str, summary: str, **extra: Any) -> None:
        webhooks = [hook for hook in self.project.alerts.webhooks if kind in hook.on]
        if not webhooks:
            return
        from ..monitor import Alert, AlertSender

        sender = AlertSender(webhooks, _ThreadedDeliveryLog(self.store, self._alerts), log=_say)
        task = asyncio.ensure_future(sender.send(Alert(kind=kind, title=title, summary=summary, **extra)))
        self._alerts.add(task)
        task.add_done_callback(self._alerts.discard)
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    def readiness(self) -> dict[str, Any]:
        router = self.router
        return {
            "policy_version": None if router is None else router.version,
            "classes": [] if router is None else router.classes,
            "demoted": [] if router is None else [f"{c}:{m}" for (c, m) in router.demoted],
            "policy_rejected": self.rejected,
        }
