"""Functional correctness of generated code: ``code_tests`` runs a reply against tests in the
sandbox and scores the share of tests that pass.

Design
------
The scorer is built from four pieces, each with its own module and design notes:

* **Extraction** (:mod:`._code_extract`): the code is taken out of the reply, from its best
  fenced block or, without fences, from the reply minus its surrounding prose.
* **Programs** (:mod:`._code_harness`): the code and the tests become the files of one
  sandboxed execution, in one of three styles (``humaneval``, ``asserts``, ``pytest``), run by
  a harness script that reports each test behind a random per-execution marker; pytest-style
  tests get a stand-in ``pytest`` when the sandbox has none (:mod:`._code_pytest_shim`).
* **Outcomes** (:mod:`._code_outcomes`): the harness's report and the way the process ended
  give each test a status (``passed``, ``failed``, ``error`` with a kind, ``not_run``,
  ``skipped``).
* **The scorer** (this module): the value is passed / (tests - skipped); the reason names up
  to five failing tests.

**Time.** Each test (and loading the solution) runs under its own ``timeout_s`` alarm in the
harness, so a test that hangs in Python code is reported as ``timeout`` and the tests after
it still run. The alarm cannot interrupt a long call into C, so the sandbox also limits the
whole execution, to ``timeout_s`` x (1 + min(tests, 4)) seconds of wall and CPU time plus
:data:`STARTUP_SECONDS`; tests still pending when that fires are ``not_run``.

**Repeats.** With ``runs: n`` the same candidate executes n times (one after the other, so
the runs do not compete for the CPU). If the per-test outcomes differ between runs the
solution is non-deterministic (it depends on time, randomness, the scheduler, ...):
``details["nondeterministic"]`` is true and the reason says so. The value is the mean of the
runs' values (for HumanEval: the fraction of runs that passed).

**Sandbox.** A :class:`Sandbox` is built on the first score (lazily: suites that never run
this scorer never probe bubblewrap), one per execution budget, and shared by the cases of
the scorer; runs are ``async``, so cases execute concurrently up to the runner's
concurrency. The program sees only the standard library (the sandbox runs the base
interpreter with ``-S``): importing a third-party package is an ``import`` error. A missing
sandbox (bwrap not installed, user namespaces disabled) is a Score of 0 whose reason is the
:class:`SandboxUnavailable` message, for every case: the run goes on. ``weak_sandbox`` opts
into the sandbox's weak mode (resource limits only, no isolation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import Case
from ..types import Completion
from ._base import Score, Scorer, declare, threshold_passed
from ._code_extract import extract_code
from ._code_harness import _HARNESS_FILE, Style, _assert_items, build_program
from ._code_outcomes import RunOutcome, interpret
from ._metrics import FUNCTIONAL_PASS
from ._util import clip, valid_utf8

if TYPE_CHECKING:
    # Imported when a code_tests scorer is built, so that importing this module (or the
    # extractor, which code_security shares) never needs the sandbox.
    from ..sandbox import Sandbox, SandboxLimits

# Seconds the interpreter and the harness get on top of the tests' own time.
STARTUP_SECONDS = 3.0
# The whole execution may take timeout_s for loading plus this many tests' worth of time.
_BUDGET_TESTS = 4
# The sandbox's own cap on what it collects: the protocol plus the capped output.
_SANDBOX_OUTPUT_BYTES = 256 * 1024
# How many failing tests the reason names before "... and N more".
_REASON_TESTS = 5


def _sandbox_limits(timeout_s: float, memory_mb: int, tests: int) -> SandboxLimits:
    from ..sandbox import SandboxLimits

    budget = timeout_s * (1 + min(max(tests, 1), _BUDGET_TESTS)) + STARTUP_SECONDS
    return SandboxLimits(
        cpu_seconds=budget,
        wall_seconds=budget,
        memory_mb=memory_mb,
        output_bytes=_SANDBOX_OUTPUT_BYTES,
    )


def _summarise(run: RunOutcome) -> str:
    """``3/5 tests passed; test_2: AssertionError (...); test_4: runtime ZeroDivisionError``."""
    skipped = len(run.tests) - run.counted
    head = f"{run.passed}/{run.counted} test{'s' * (run.counted != 1)} passed" + (
        f" ({skipped} skipped)" if skipped else ""
    )
    if not run.counted and run.load_error is None:
        return "no tests were found" if not run.tests else f"no tests ran ({skipped} skipped)"
    if run.load_error is not None:
        error = run.load_error
        kind = str(error.get("kind") or "runtime")
        file = str(error.get("file") or "solution.py")
        what = "the tests" if file in ("tests.py", "test_solution.py") else "the solution"
        label = {
            "syntax": f"syntax error in {what}",
            "import": f"import error in {what}",
            "timeout": f"timeout while loading {what}",
            "memory": f"out of memory while loading {what}",
        }.get(kind, f"{kind} error while loading {what}")
        detail = ": ".join(str(x) for x in (error.get("exception"), error.get("message")) if x)
        return f"{head}; {label}" + (f": {clip(detail, 160, collapse_whitespace=True)}" if detail else "")
    failing = [t for t in run.tests if t.status not in ("passed", "skipped")]
    parts = [f"{t.name}: {t.summary()}" for t in failing[:_REASON_TESTS]]
    if len(failing) > _REASON_TESTS:
        parts.append(f"… and {len(failing) - _REASON_TESTS} more")
    return "; ".join([head, *parts])


@declare(metric=FUNCTIONAL_PASS)
def code_tests(
    *,
    tests: str | None = None,
    entry_point: str | None = None,
    style: Style = "humaneval",
    runs: int = 1,
    timeout_s: float = 10.0,
    memory_mb: int = 512,
    weak_sandbox: bool = False,
    include_prompt: bool = True,
    threshold: float = 1.0,
) -> Scorer:
    """Run the reply's code against tests in the sandbox; the value is the share of tests passed.

    ``tests`` (else the case's ``metadata.tests``) in one of three ``style`` s: ``humaneval``
    (a ``check(candidate)`` function, called on ``entry_point`` — else ``metadata.entry_point``
    — after the case's ``metadata.prompt`` and the reply, with ``include_prompt``; one test),
    ``asserts`` (each top-level ``assert`` is a test, reported separately) or ``pytest`` (a
    test module importing from ``solution``). Each test runs under a ``timeout_s`` alarm, in a
    sandbox limited to ``memory_mb`` of memory (``weak_sandbox``: resource limits only, for
    hosts without bubblewrap). With ``runs`` > 1 the candidate runs that many times; outcomes
    that differ are reported as non-determinism and the value is the mean over runs.
    ``details`` has each test's outcome, the error kind, a stderr tail, the wall time and the
    sandbox mode.
    """
    if style not in ("humaneval", "asserts", "pytest"):
        raise ValueError(f"style must be humaneval, asserts or pytest, got {style!r}")
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s}")
    if memory_mb < 16:
        raise ValueError(f"memory_mb must be at least 16, got {memory_mb}")
    if tests is not None and style != "humaneval":
        _check_tests(tests, style)
    from ..sandbox import Sandbox, SandboxUnavailable

    sandboxes: dict[int, Sandbox] = {}
    unavailable: list[str] = []

    def sandbox_for(count: int) -> Sandbox:
        # One sandbox per execution budget (1 to _BUDGET_TESTS tests' worth), built on first use.
        budget = min(max(count, 1), _BUDGET_TESTS)
        if budget not in sandboxes:
            sandboxes[budget] = Sandbox(_sandbox_limits(timeout_s, memory_mb, budget), weak=weak_sandbox)
        return sandboxes[budget]

    def fail(reason: str, **details: Any) -> Score:
        return Score(0.0, threshold_passed(0.0, threshold), reason, "code_tests", details=details)

    async def score(completion: Completion, case: Case) -> Score:
        if unavailable:
            return fail(unavailable[0], error_kind="sandbox")
        metadata = case.metadata or {}
        test_source = tests if tests is not None else metadata.get("tests")
        if not isinstance(test_source, str) or not test_source.strip():
            return fail("no tests: give the scorer 'tests' or the case metadata.tests", error_kind="tests")
        entry = entry_point or metadata.get("entry_point")
        if style == "humaneval" and not entry:
            return fail(
                "no entry point: give the scorer 'entry_point' or the case metadata.entry_point",
                error_kind="tests",
            )
        if tests is None and style != "humaneval":
            try:
                _check_tests(test_source, style)
            except ValueError as exc:
                return fail(str(exc), error_kind="tests")
        # Lone surrogates (a reply cut inside a character) cannot be written to a file.
        text = valid_utf8(completion.text)
        code = extract_code(text, entry_point=str(entry) if entry else None)
        prompt = metadata.get("prompt") if include_prompt else None
        outcomes: list[RunOutcome] = []
        mode = ""
        for _ in range(runs):
            program = build_program(
                code,
                test_source,
                style,
                entry_point=str(entry) if entry else None,
                prompt=prompt if isinstance(prompt, str) else None,
                timeout_s=timeout_s,
            )
            try:
                sandbox = sandbox_for(len(program.expected))
            except SandboxUnavailable as exc:
                # The host cannot build one (no bwrap, no namespaces): that will not change
                # during the run, so every later case gets the same answer without a probe.
                unavailable.append(f"sandbox unavailable: {exc}")
                return fail(unavailable[0], error_kind="sandbox")
            mode = sandbox.mode
            try:
                execution = await sandbox.run_python(program.files, _HARNESS_FILE)
            except SandboxUnavailable as exc:  # this execution could not start (e.g. EAGAIN)
                return fail(f"sandbox unavailable: {exc}", error_kind="sandbox")
            outcomes.append(interpret(execution, program.marker, program.expected))
        return _score(outcomes, style=style, mode=mode, threshold=threshold, code_lines=code.count("\n") + 1)

    return score


def _check_tests(tests: str, style: Style) -> None:
    """Raise ValueError when assert- or pytest-style tests are not valid Python."""
    try:
        items = _assert_items(tests)
    except SyntaxError as exc:
        raise ValueError(f"the tests are not valid Python: {exc.msg} (line {exc.lineno})") from None
    if style == "asserts" and not any(item["kind"] == "assert" for item in items):
        raise ValueError("asserts-style tests need at least one top-level assert statement")


def _score(
    outcomes: list[RunOutcome], *, style: Style, mode: str, threshold: float, code_lines: int
) -> Score:
    first = outcomes[0]
    worst = min(outcomes, key=lambda run: run.value)
    value = sum(run.value for run in outcomes) / len(outcomes)
    nondeterministic = len({run.signature() for run in outcomes}) > 1
    tests = [test.to_json() for test in first.tests]
    details: dict[str, Any] = {
        "style": style,
        "sandbox": mode,
        "tests": tests,
        "passed": first.passed,
        "total": first.counted,
        "error_kind": worst.error_kind(),
        "wall_seconds": round(first.wall_seconds, 3),
        "code_lines": code_lines,
    }
    if worst.load_error is not None:
        details["load_error"] = worst.load_error
    if worst.setup_errors:
        details["setup_errors"] = worst.setup_errors[:_REASON_TESTS]
    if worst.stderr_tail.strip():
        details["stderr_tail"] = worst.stderr_tail
    if worst.killed:
        details["killed_reason"] = worst.killed
    if first.python:
        details["python"] = first.python
    if len(outcomes) == 1:
        reason = _summarise(first)
    else:
        details["runs"] = len(outcomes)
        details["run_values"] = [round(run.value, 4) for run in outcomes]
        details["nondeterministic"] = nondeterministic
        details["wall_seconds"] = [round(run.wall_seconds, 3) for run in outcomes]
        all_passed = sum(run.value == 1.0 for run in outcomes)
        if nondeterministic:
            flaky: list[str] = []
            for index, test in enumerate(tests):
                statuses = [
                    run.tests[index].status if index < len(run.tests) else "missing" for run in outcomes
                ]
                passed_runs = statuses.count("passed")
                test["passed_runs"] = passed_runs
                if len(set(statuses)) > 1:
                    test["outcomes"] = statuses
                    flaky.append(f"{test['name']} passed {passed_runs}/{len(outcomes)}")
            reason = (
                f"nondeterministic: outcomes differ across {len(outcomes)} runs, {all_passed}/"
                f"{len(outcomes)} passed every test ({'; '.join(flaky[:_REASON_TESTS])}); worst run: "
                + _summarise(worst)
            )
        else:
            for test in tests:
                test["passed_runs"] = len(outcomes) if test["status"] == "passed" else 0
            reason = f"{_summarise(first)} (the same in all {len(outcomes)} runs)"
    return Score(value, threshold_passed(value, threshold), reason, "code_tests", details=details)
