"""The watch loop: notice a model-version change or a due cron schedule, run, check drift, alert.

Each poll, for every watched model with an HTTP endpoint, the watcher reads the endpoint's
``GET /models`` listing (the ids that start with the model's id) and, with ``probe`` on, sends
one ``max_tokens=1`` request and reads the reply's ``model`` and ``system_fingerprint``. The
first poll sets the baseline; a later poll that sees something else is a version change: the
watch suites run against that model (trigger ``version-change``), then drift runs for each
suite and the report names the version. Due schedules run their suites (trigger
``schedule``). Neither ever reads or writes the response cache. A probe or listing that fails
is reported and counts as "not seen", never as a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from .._errors import BenchrouteError
from ..config import ModelSpec, ProjectConfig, SuiteSpec
from ..providers import CompletionRequest, Message, ProviderContext, ProviderError, Secrets, create_provider
from ..runner import Runner, RunOptions, RunOutcome
from ..store import Store
from ._alerts import Alert, AlertSender

__all__ = ["Schedule", "VersionSeen", "WatchResult", "Watcher", "observe_version"]


@dataclass(frozen=True, slots=True)
class VersionSeen:
    """What an endpoint reported in one poll (None: not seen this time)."""

    listed: tuple[str, ...] | None
    served_model: str | None
    system_fingerprint: str | None

    def label(self) -> str:
        if self.served_model is None and self.system_fingerprint is None:
            return ",".join(self.listed or ()) or "?"
        return "/".join(part for part in (self.served_model, self.system_fingerprint) if part)

    def changed_from(self, before: VersionSeen) -> bool:
        """A change in a field seen both times (a field not seen now is no evidence)."""
        pairs = (
            (before.served_model, self.served_model),
            (before.system_fingerprint, self.system_fingerprint),
            (before.listed, self.listed),
        )
        return any(old is not None and new is not None and old != new for old, new in pairs)

    def merged(self, before: VersionSeen) -> VersionSeen:
        """This poll's fields, the earlier ones where this poll saw nothing."""
        return VersionSeen(
            self.listed if self.listed is not None else before.listed,
            self.served_model if self.served_model is not None else before.served_model,
            self.system_fingerprint if self.system_fingerprint is not None else before.system_fingerprint,
        )


@dataclass(slots=True)
class Schedule:
    """A cron schedule with its loaded suites; ``next_ts`` is the next due time (epoch s)."""

    name: str
    cron: str
    suites: list[SuiteSpec]
    models: list[str] | None
    next_ts: float = 0.0

    def advance(self, now: float) -> None:
        from croniter import croniter  # type: ignore[import-untyped,unused-ignore]

        start = datetime.fromtimestamp(now, tz=UTC)
        self.next_ts = float(croniter(self.cron, start).get_next(float))


async def observe_version(
    spec: ModelSpec, provider: Any, session: aiohttp.ClientSession, secrets: Secrets, *, probe: bool
) -> tuple[VersionSeen, list[str]]:
    """One poll of one endpoint: the version seen, and the problems met (one line each)."""
    problems: list[str] = []
    listed: tuple[str, ...] | None = None
    if spec.base_url:
        url = spec.base_url.rstrip("/") + "/models"
        headers = dict(spec.headers)
        key = secrets.key_for(spec)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            timeout = aiohttp.ClientTimeout(total=spec.timeout)
            async with session.get(url, headers=headers, timeout=timeout) as response:
                if response.status == 200:
                    body = await response.json(content_type=None)
                    ids = [str(item.get("id")) for item in body.get("data", []) if isinstance(item, dict)]
                    listed = tuple(sorted(i for i in ids if i.startswith(spec.model)))
                else:
                    problems.append(f"GET /models: HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError, ValueError, AttributeError) as exc:
            problems.append(f"GET /models: {secrets.redact(type(exc).__name__ + ': ' + str(exc))}")
    served: str | None = None
    fingerprint: str | None = None
    if probe and provider is not None:
        request = CompletionRequest(messages=[Message(role="user", content="ping")], max_tokens=1)
        try:
            reply = await provider.complete(request)
            served, fingerprint = reply.served_model, reply.system_fingerprint
        except ProviderError as exc:
            problems.append(f"probe: {secrets.redact(str(exc))}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            problems.append(f"probe: {secrets.redact(type(exc).__name__ + ': ' + str(exc))}")
    return VersionSeen(listed, served, fingerprint), problems


@dataclass(slots=True)
class WatchResult:
    """What a watch did: the runs it started, by trigger."""

    runs: list[tuple[str, str, str]] = field(default_factory=list)  # (trigger, run_id, status)
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (model, before, after)


class Watcher:
    """Polls, runs and alerts until stopped (``stop()``), ``max_runs`` or ``once``."""

    def __init__(
        self,
        project: ProjectConfig,
        store: Store,
        *,
        suites: list[SuiteSpec],
        models: list[str],
        schedules: list[Schedule],
        interval_s: float,
        probe: bool = True,
        alerts: AlertSender | None = None,
        max_runs: int | None = None,
        once: bool = False,
        emit: Callable[[str], None] = print,
        secrets: Secrets | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.project = project
        self.store = store
        self.suites = suites
        self.models = models
        self.schedules = schedules
        self.interval_s = interval_s
        self.probe = probe
        self.alerts = alerts
        self.max_runs = max_runs
        self.once = once
        self.emit = emit
        self.secrets = secrets or Secrets()
        self.clock = clock
        self.result = WatchResult()
        self._seen: dict[str, VersionSeen] = {}
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask the loop to end after the step in progress (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _done(self) -> bool:
        return self._stop.is_set() or (self.max_runs is not None and len(self.result.runs) >= self.max_runs)

    async def run(self) -> WatchResult:
        now = self.clock()
        for schedule in self.schedules:
            schedule.advance(now)
            self._say(f"schedule {schedule.name}: next at {_iso(schedule.next_ts)}")
        self._seed_from_store()
        context = ProviderContext(secrets=self.secrets)
        try:
            providers = {name: create_provider(self.project.models[name], context) for name in self.models}
            while not self._done():
                await self._poll(context, providers)
                if not self._done():
                    await self._due_schedules()
                if self.once or self._done():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=self.interval_s)
        finally:
            await context.aclose()
        return self.result

    def _seed_from_store(self) -> None:
        """Start from the version the newest stored run of a watch suite saw, so a change made
        while no watch was running is still noticed."""
        for name in self.models:
            newest: Any = None
            for suite in self.suites:
                points = self.store.series(suite.name, model=name, metrics=["pass_rate"], limit_runs=1)
                seen = [p for p in points if p.served_model or p.system_fingerprint]
                if seen and (newest is None or seen[-1].started_at > newest.started_at):
                    newest = seen[-1]
            if newest is not None:
                version = VersionSeen(None, newest.served_model, newest.system_fingerprint)
                self._seen[name] = version
                self._say(f"{name}: version {version.label()} (baseline, from run {newest.run_id})")

    async def _poll(self, context: ProviderContext, providers: dict[str, Any]) -> None:
        for name in self.models:
            if self._done():
                return
            spec = self.project.models[name]
            seen, problems = await observe_version(
                spec, providers.get(name), context.session, self.secrets, probe=self.probe
            )
            for problem in problems:
                self._say(f"{name}: {problem}")
            before = self._seen.get(name)
            if before is None:
                self._seen[name] = seen
                self._say(f"{name}: version {seen.label()} (baseline)")
                continue
            if not seen.changed_from(before):
                self._seen[name] = seen.merged(before)
                continue
            after = seen.merged(before)
            self._seen[name] = after
            self.result.changes.append((name, before.label(), after.label()))
            self._say(f"{name}: version change {before.label()} → {after.label()}")
            if not self.suites:
                self._say(f"{name}: no watch.suites configured; nothing to run")
                continue
            await self._run("version-change", self.suites, [name], version=after.label())

    async def _due_schedules(self) -> None:
        now = self.clock()
        for schedule in self.schedules:
            if self._done():
                return
            if now >= schedule.next_ts:
                self._say(f"schedule {schedule.name}: due")
                await self._run("schedule", schedule.suites, schedule.models, version=None)
                schedule.advance(self.clock())
                self._say(f"schedule {schedule.name}: next at {_iso(schedule.next_ts)}")

    async def _run(
        self, trigger: str, suites: list[SuiteSpec], models: list[str] | None, *, version: str | None
    ) -> None:
        options = _run_options(self.project, trigger, models)
        runner = Runner(self.project, self.store, options, secrets=self.secrets)
        what = ", ".join(s.name for s in suites)
        self._say(f"run ({trigger}): {what} on {', '.join(models or ['suite models'])}")
        try:
            outcome: RunOutcome = await runner.run(suites)
        except BenchrouteError as exc:
            self._say(f"run ({trigger}) failed to start: {exc}")
            self.result.runs.append((trigger, "-", "failed"))
            await self._alert(Alert("run-failed", "benchroute run failed", str(exc), trigger=trigger))
            return
        self.result.runs.append((trigger, outcome.run_id, outcome.status))
        passed = sum(1 for r in outcome.results if r.passed)
        errors = sum(1 for r in outcome.results if r.error)
        self._say(
            f"run {outcome.run_id} ({trigger}): {outcome.status}, "
            f"{passed}/{len(outcome.results)} passed, {errors} error(s)"
        )
        if outcome.status not in ("completed",):
            await self._alert(
                Alert(
                    "run-failed",
                    f"benchroute run {outcome.run_id} {outcome.status}",
                    "; ".join(outcome.errors[:3]) or outcome.status,
                    run_id=outcome.run_id,
                    trigger=trigger,
                )
            )
        await self._gate(suites, outcome, trigger)
        for suite in suites:
            targets: list[str | None] = list(models) if models else [None]
            for model in targets:
                await self._drift(suite.name, model, outcome.run_id, trigger, version)

    async def _gate(self, suites: list[SuiteSpec], outcome: RunOutcome, trigger: str) -> None:
        """The suites' gate: thresholds on this run; a failure is printed and alerted."""
        gates = {s.name: s.gate for s in suites}
        budgets: dict[str, dict[str, dict[str, Any]]] = {
            s.name: {str(k): v.model_dump() for k, v in s.budgets.items()} for s in suites if s.budgets
        }
        if not any(gates.values()) and not budgets:
            return
        from ..analysis import evaluate_gates, exclude_quarantined

        results = exclude_quarantined(outcome.results, self.store.quarantined())
        report = evaluate_gates(results, gates, budgets=budgets)
        if report.passed:
            self._say(f"gate: passed ({report.checked} suite x model check(s))")
            return
        lines = [failure.describe() for failure in report.failures]
        for line in lines:
            self._say(f"gate FAILED: {line}")
        await self._alert(
            Alert(
                "gate",
                f"benchroute: gate failed in run {outcome.run_id}",
                "\n".join(lines),
                suite=report.failures[0].suite,
                model=report.failures[0].model,
                run_id=outcome.run_id,
                trigger=trigger,
                details={"failures": [dataclasses.asdict(f) for f in report.failures]},
            )
        )

    async def _drift(
        self, suite: str, model: str | None, run_id: str, trigger: str, version: str | None
    ) -> None:
        from ..analysis import drift_for_suite

        try:
            report = await asyncio.to_thread(
                drift_for_suite, self.store, suite, model=model, settings=self.project.drift
            )
        except BenchrouteError as exc:
            self._say(f"drift {suite}: {exc}")
            return
        for change in report.version_changes:
            self._say(
                f"drift {suite}: since run {change.run_id}, model version {change.after} "
                f"(was {change.before})"
            )
        flagged = report.flagged()
        if not flagged:
            self._say(f"drift {suite}: nothing flagged")
            return
        lines = [
            f"{f.model} {f.metric}: {_fmt(f.baseline_value)} → {_fmt(f.latest_value)} (q={_fmt(f.q_value)})"
            for f in flagged
        ]
        for line in lines:
            self._say(f"drift {suite}: FLAGGED {line}")
        since = f"; model version {version}" if version else ""
        await self._alert(
            Alert(
                "drift",
                f"benchroute: drift in {suite}",
                "\n".join(lines) + since,
                suite=suite,
                model=model,
                run_id=run_id,
                trigger=trigger,
                details=report.to_json(),
            )
        )

    async def _alert(self, alert: Alert) -> None:
        if self.alerts is None:
            return
        for delivery in await self.alerts.send(alert):
            self._say(
                f"alert {alert.kind} → {delivery.target}: {delivery.status} "
                f"after {delivery.attempts} attempt(s)"
            )

    def _say(self, line: str) -> None:
        self.emit(f"{_iso(self.clock())} {line}")


def _run_options(project: ProjectConfig, trigger: str, models: list[str] | None) -> RunOptions:
    """A triggered or scheduled run: never the response cache (the runner enforces it too)."""
    return RunOptions(concurrency=project.concurrency, use_cache=False, models=models, trigger=trigger)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"
