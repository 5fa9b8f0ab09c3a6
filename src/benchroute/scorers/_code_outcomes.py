"""Outcomes of ``code_tests`` executions: :func:`interpret` turns the harness's protocol lines
and the way the sandboxed process ended into one :class:`TestOutcome` per test.

Design
------
Each test is ``passed``, ``failed`` (an ``AssertionError``) or ``error`` with a kind:
``syntax`` (the solution or tests do not compile), ``import`` (an ``ImportError`` such as a
missing module), ``runtime`` (any other exception, with its class: ``ZeroDivisionError``,
``RecursionError``, ``SystemExit``...), ``timeout``, ``memory`` (``MemoryError``, or the
sandbox's memory limit), ``output`` / ``file_size`` (the sandbox's limits) or ``crash`` (the
interpreter died: a signal or ``os._exit``); skipped tests are ``skipped``. A solution that
fails to load fails every test with its load error. When the sandbox kills the process, the
test that was running is an ``error`` of the kind that killed it and the tests after it are
``not_run`` with that kind. A run's value is passed / (tests - skipped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ._util import clip

if TYPE_CHECKING:
    from ..sandbox import ExecutionResult

Status = Literal["passed", "failed", "error", "not_run", "skipped"]

# How much of stderr is kept in details.
STDERR_TAIL_CHARS = 2_000


@dataclass(slots=True)
class TestOutcome:
    """What happened to one test in one execution."""

    name: str
    status: Status
    kind: str | None = None  # assertion, syntax, import, runtime, timeout, memory, output, crash
    exception: str | None = None
    message: str = ""
    source: str | None = None
    seconds: float | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def signature(self) -> tuple[str, str, str | None]:
        return (self.name, self.status, self.kind)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status}
        if self.kind and self.kind != "assertion":
            out["kind"] = self.kind
        if self.exception:
            out["exception"] = self.exception
        if self.message:
            out["message"] = self.message
        if self.source:
            out["source"] = self.source
        if self.seconds is not None:
            out["seconds"] = round(self.seconds, 4)
        return out

    def summary(self) -> str:
        """``AssertionError (assert f(2) == 5)``, ``runtime ZeroDivisionError: ...``, ``timeout``."""
        detail = self.message or self.source or ""
        if self.status == "failed":
            return f"{self.exception or 'AssertionError'}" + (
                f" ({clip(detail, 90, collapse_whitespace=True)})" if detail else ""
            )
        if self.status == "not_run":
            return f"not run ({self.kind})" if self.kind else "not run"
        if self.status == "skipped":
            return "skipped"
        if self.kind in ("timeout", "memory", "output", "file_size"):
            return self.kind or ""
        head = f"{self.kind} {self.exception}" if self.exception else f"{self.kind}"
        return head + (f": {clip(self.message, 90, collapse_whitespace=True)}" if self.message else "")


@dataclass(slots=True)
class RunOutcome:
    """One execution of a candidate against its tests."""

    tests: list[TestOutcome]
    load_error: dict[str, Any] | None = None
    setup_errors: list[dict[str, Any]] = field(default_factory=list)
    completed: bool = False
    killed: str | None = None
    exit_code: int | None = None
    wall_seconds: float = 0.0
    stderr_tail: str = ""
    python: str | None = None

    @property
    def passed(self) -> int:
        return sum(t.passed for t in self.tests)

    @property
    def counted(self) -> int:
        """Tests that count: all but the skipped ones (pytest style)."""
        return sum(t.status != "skipped" for t in self.tests)

    @property
    def value(self) -> float:
        return self.passed / self.counted if self.counted else 0.0

    def signature(self) -> tuple[tuple[str, str, str | None], ...]:
        return tuple(t.signature() for t in self.tests)

    def error_kind(self) -> str | None:
        if self.load_error is not None:
            return str(self.load_error.get("kind") or "runtime")
        for test in self.tests:
            if test.status in ("error", "not_run"):
                return test.kind
        return "assertion" if any(t.status == "failed" for t in self.tests) else None


# The sandbox's killed_reason -> the kind a test it interrupted gets.
_KILLED_KIND = {"timeout": "timeout", "cpu": "timeout", "memory": "memory", "output": "output"}


def _events(stdout: str, marker: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for line in stdout.split("\n"):
        at = line.find(marker)
        if at < 0:
            continue
        try:
            event = json.loads(line[at + len(marker) :])
        except ValueError:
            continue  # a line cut short by the sandbox's output limit
        if isinstance(event, dict):
            events.append(event)
    return events


def _killer(execution: ExecutionResult, stderr: str) -> tuple[str, str | None]:
    """The kind and description of what ended an execution that did not complete."""
    if execution.killed_reason:
        kind = _KILLED_KIND.get(execution.killed_reason, execution.killed_reason)
        return kind, None
    if "MemoryError" in stderr:
        return "memory", "MemoryError"
    if execution.signal:
        return "crash", f"signal {execution.signal}"
    return "crash", f"exit status {execution.exit_code}"


def interpret(execution: ExecutionResult, marker: str, expected: list[str]) -> RunOutcome:
    """Per-test outcomes of one execution from the harness's protocol lines and how the process
    ended; ``expected`` names the tests to report when the harness could not list them."""
    stderr = execution.stderr or ""
    outcome = RunOutcome(
        tests=[],
        killed=execution.killed_reason,
        exit_code=execution.exit_code,
        wall_seconds=execution.wall_seconds,
        stderr_tail=stderr[-STDERR_TAIL_CHARS:],
    )
    names = list(expected)
    results: dict[str, TestOutcome] = {}
    running: str | None = None
    for event in _events(execution.stdout or "", marker):
        kind = event.get("event")
        if kind == "hello":
            outcome.python = str(event.get("python"))
        elif kind == "tests":
            names = [str(n) for n in event.get("names") or []]
        elif kind == "start":
            running = str(event.get("test"))
        elif kind == "result":
            name = str(event.get("test"))
            results[name] = TestOutcome(
                name=name,
                status=event.get("status") or "error",
                kind=event.get("kind"),
                exception=event.get("exception"),
                message=str(event.get("message") or ""),
                source=event.get("source"),
                seconds=event.get("seconds"),
            )
            if name not in names:
                names.append(name)
            running = None
        elif kind == "load" and event.get("status") == "error" and outcome.load_error is None:
            outcome.load_error = {k: v for k, v in event.items() if k not in ("event", "status")}
        elif kind == "setup":
            outcome.setup_errors.append({k: v for k, v in event.items() if k not in ("event", "status")})
        elif kind == "done":
            outcome.completed = True
    killer: tuple[str, str | None] | None = None
    if not outcome.completed:
        killer = _killer(execution, stderr)
        if outcome.load_error is None and not results and running is None:
            # Died before the first test: while loading the solution (or before the harness).
            outcome.load_error = {"kind": killer[0], "exception": killer[1], "message": ""}
    for name in names:
        if name in results:
            outcome.tests.append(results[name])
        elif outcome.load_error is not None:
            error = outcome.load_error
            outcome.tests.append(
                TestOutcome(
                    name,
                    "error",
                    str(error.get("kind") or "runtime"),
                    error.get("exception"),
                    str(error.get("message") or ""),
                )
            )
        elif killer is not None:
            status: Status = "error" if name == running else "not_run"
            outcome.tests.append(TestOutcome(name, status, killer[0], killer[1]))
        else:
            outcome.tests.append(TestOutcome(name, "not_run", None, None, "the harness did not run it"))
    return outcome
