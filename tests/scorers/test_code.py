"""code_tests: extraction, the three test styles, per-test outcomes and error kinds, repeats and
non-determinism, malformed replies, and a host without a sandbox. Programs run in the real
sandbox (bubblewrap), as in a benchmark run."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from benchroute import Case, Completion, ConfigError, Score, ScorerSpec, Usage
from benchroute.sandbox import ExecutionResult
from benchroute.scorers import build_scorer
from benchroute.scorers._code_extract import defines, extract_code
from benchroute.scorers._code_harness import build_program
from benchroute.scorers._code_outcomes import interpret
from benchroute.suites import humaneval_cases

HUMANEVAL = {case.id: case for case in humaneval_cases()}


def score(text: str, case: Case | None = None, **args: Any) -> Score:
    scorer = build_scorer(ScorerSpec(name="code_tests", args=args))
    return asyncio.run(scorer(Completion(text=text, usage=Usage()), case or Case(id="c")))


def kinds(result: Score) -> dict[str, str | None]:
    """Test name -> its error kind (``None`` for passed, ``assertion`` for failed)."""
    return {
        t["name"]: (None if t["status"] == "passed" else t.get("kind", "assertion"))
        for t in result.details["tests"]
    }


# --- extraction ---------------------------------------------------------------------------------

FENCED = "Here you go:\n\n```python\ndef f(x):\n    return x + 1\n```\n\nIt adds one."
SEVERAL = (
    "```python\ndef helper():\n    return 1\n```\nUsage:\n```python\nprint(f(2))\nprint(f(3))\nprint(f(4))\n"
    "print(f(5))\n```\nThe function:\n```python\ndef f(x):\n    return x + helper()\n```"
)
LONGEST = "```python\nx = 1\n```\n```python\ny = 2\nz = 3\n```"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("def f(x):\n    return x + 1\n", "def f(x):\n    return x + 1"),
        (FENCED, "def f(x):\n    return x + 1"),
        ("```py\nx = 1\n```", "x = 1"),
        ("```\ndef f(): pass\n```", "def f(): pass"),
        ("```Python3\ndef f(): pass\n```", "def f(): pass"),
        ("~~~python\ndef f(): pass\n~~~", "def f(): pass"),
        # several blocks: the one defining the entry point, else the longest
        (SEVERAL, "def f(x):\n    return x + helper()"),
        (LONGEST, "y = 2\nz = 3"),
        # a block in another language does not win over Python; alone, it is still taken
        ("```bash\npip install thing\n```\n```python\ndef f(): pass\n```", "def f(): pass"),
        ("```text\nsome words\n```", "some words"),
        # a reply cut off inside its block
        ("```python\ndef f():\n    return 1\n", "def f():\n    return 1"),
        # an indented fence (inside a list item)
        ("1. Code:\n   ```python\n   def f():\n       return 1\n   ```", "def f():\n    return 1"),
        # leading and trailing prose without fences
        (
            "Sure! Here is the function:\ndef f(x):\n    return x + 1\nThis adds one to x.",
            "def f(x):\n    return x + 1",
        ),
        ("Of course.\n\nimport math\nprint(math.pi)", "import math\nprint(math.pi)"),
        # a function body (HumanEval completion) keeps its indentation
        ("    return x + 1\n", "    return x + 1"),
        ("\n\n    if x:\n        return 1\n    return 2\n\n", "    if x:\n        return 1\n    return 2"),
        # a reasoning block is dropped, with the fences inside it
        (
            "<think>maybe ```python\nbad()\n```</think>\n```python\ndef f(): return 2\n```",
            "def f(): return 2",
        ),
        ("", ""),
        ("I can't help with that.", "I can't help with that."),
        ("Use ```f()``` inline.\ndef f(): pass", "def f(): pass"),
        ("```python\r\ndef f():\r\n    return 1\r\n```", "def f():\n    return 1"),
    ],
)
def test_extract_code(reply: str, expected: str) -> None:
    assert extract_code(reply, entry_point="f") == expected


def test_extract_code_without_entry_point_takes_the_longest_block() -> None:
    assert extract_code(SEVERAL).startswith("print(f(2))")


def test_defines() -> None:
    assert defines("def f(x):\n    pass", "f")
    assert defines("async def f():\n    pass", "f")
    assert defines("class f:\n    pass", "f")
    assert defines("f = lambda x: x", "f")
    assert not defines("def ff(x): pass", "f")
    assert not defines("    def f(self): pass", "f")  # a method, not the entry point
    assert not defines("f == 1", "f")


# --- HumanEval style ----------------------------------------------------------------------------

PROBLEMS = ["HumanEval/0", "HumanEval/12", "HumanEval/32"]
BROKEN = {
    # always True: fails the "no close elements" cases
    "HumanEval/0": "    return True\n",
    # the first string, not the longest
    "HumanEval/12": "    return strings[0] if strings else None\n",
    # a root of the wrong polynomial
    "HumanEval/32": "    return 0.0\n",
}


@pytest.mark.parametrize("task", PROBLEMS)
def test_humaneval_canonical_body_passes(task: str) -> None:
    case = HUMANEVAL[task]
    result = score(case.metadata["canonical_solution"], case)
    assert (result.value, result.passed) == (1.0, True), result.reason
    assert result.reason == "1/1 test passed"
    assert result.details["tests"][0]["name"] == "check"
    assert result.details["sandbox"] == "bubblewrap"
    assert result.details["error_kind"] is None


@pytest.mark.parametrize("task", PROBLEMS)
def test_humaneval_complete_function_in_a_fence_passes(task: str) -> None:
    # The reply repeats the signature; the prompt still supplies imports and helpers (poly()
    # for HumanEval/32) and its stub is replaced by the reply's definition.
    case = HUMANEVAL[task]
    function = case.metadata["prompt"].split("def " + case.metadata["entry_point"])[1]
    reply = (
        "Here is my solution:\n\n```python\ndef "
        + case.metadata["entry_point"]
        + function
        + case.metadata["canonical_solution"]
        + "```\n\nExample:\n```python\nprint('hi')\n```"
    )
    result = score(reply, case)
    assert result.value == 1.0, result.reason


@pytest.mark.parametrize("task", PROBLEMS)
def test_humaneval_broken_solution_fails_with_the_failing_assert(task: str) -> None:
    case = HUMANEVAL[task]
    result = score(BROKEN[task], case)
    assert (result.value, result.passed) == (0.0, False)
    assert result.reason.startswith("0/1 test passed; check: AssertionError (assert ")
    assert kinds(result) == {"check": "assertion"}
    assert result.details["error_kind"] == "assertion"


def test_every_canonical_humaneval_solution_passes() -> None:
    # The harness agrees with the reference solutions on all 164 problems.
    scorer = build_scorer(ScorerSpec(name="code_tests"))

    async def main() -> list[tuple[str, Score]]:
        limit = asyncio.Semaphore(8)

        async def one(case: Case) -> tuple[str, Score]:
            async with limit:
                reply = Completion(text=case.metadata["canonical_solution"], usage=Usage())
                return case.id, await scorer(reply, case)

        return await asyncio.gather(*(one(case) for case in HUMANEVAL.values()))

    failed = [(task, s.reason) for task, s in asyncio.run(main()) if s.value != 1.0]
    assert failed == []


def test_humaneval_include_prompt_false_runs_the_reply_alone() -> None:
    case = HUMANEVAL["HumanEval/0"]
    result = score(case.metadata["canonical_solution"], case, include_prompt=False)
    assert kinds(result) == {"check": "syntax"}  # a bare body does not compile


def test_humaneval_runtime_error_names_the_exception() -> None:
    result = score("    return 1 / 0\n", HUMANEVAL["HumanEval/0"])
    assert result.reason == "0/1 test passed; check: runtime ZeroDivisionError: division by zero"
    assert result.details["tests"][0]["exception"] == "ZeroDivisionError"


def test_humaneval_entry_point_and_tests_from_arguments() -> None:
    tests = "def check(candidate):\n    assert candidate(2) == 4\n"
    result = score("def double(x):\n    return 2 * x\n", tests=tests, entry_point="double")
    assert result.value == 1.0
    missing = score("def triple(x):\n    return 3 * x\n", tests=tests, entry_point="double")
    assert missing.value == 0.0
    assert "NameError" in missing.reason and "'double'" in missing.reason


def test_missing_tests_or_entry_point_is_a_clear_failure() -> None:
    no_tests = score("def f(): pass")
    assert (no_tests.value, no_tests.details["error_kind"]) == (0.0, "tests")
    assert "metadata.tests" in no_tests.reason
    no_entry = score("def f(): pass", Case(id="c", metadata={"tests": "def check(c): pass"}))
    assert "entry point" in no_entry.reason


# --- asserts style ------------------------------------------------------------------------------

ASSERTS = "assert add(1, 2) == 3\nassert add(0, 0) == 0\nassert add(2, 2) == 5\nassert add(-1, 1) == 0\n"
ADD = "```python\ndef add(a, b):\n    return a + b\n```"


def test_asserts_each_assert_is_a_test() -> None:
    result = score(ADD, style="asserts", tests=ASSERTS)
    assert result.value == 0.75
    assert not result.passed
    assert result.reason == "3/4 tests passed; test_3: AssertionError (assert add(2, 2) == 5)"
    assert kinds(result) == {"test_1": None, "test_2": None, "test_3": "assertion", "test_4": None}
    assert [t["source"] for t in result.details["tests"]][2] == "assert add(2, 2) == 5"
    assert (result.details["passed"], result.details["total"]) == (3, 4)
    assert isinstance(result.details["wall_seconds"], float)


def test_asserts_threshold_and_setup_statements() -> None:
    tests = (
        "import math\nTOLERANCE = 1e-9\nassert abs(add(0.1, 0.2) - 0.3) < TOLERANCE\nassert add(1, 1) == 2\n"
    )
    assert score(ADD, style="asserts", tests=tests).value == 1.0
    partial = score(ADD, style="asserts", tests=ASSERTS, threshold=0.7)
    assert partial.passed


def test_asserts_a_failing_setup_statement_is_reported() -> None:
    tests = "import nonexistent_helper\nassert add(1, 1) == 2\n"
    result = score(ADD, style="asserts", tests=tests)
    assert result.value == 1.0
    assert result.details["setup_errors"][0]["kind"] == "import"


def test_asserts_runtime_errors_per_test() -> None:
    code = "def inverse(x):\n    return 1 / x\n"
    tests = "assert inverse(1) == 1\nassert inverse(0) == 0\nassert inverse(2) == 0.5\n"
    result = score(code, style="asserts", tests=tests)
    assert result.value == pytest.approx(2 / 3)
    assert result.reason == "2/3 tests passed; test_2: runtime ZeroDivisionError: division by zero"


def test_asserts_tests_that_are_not_python_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not valid Python"):
        build_scorer(ScorerSpec(name="code_tests", args={"style": "asserts", "tests": "assert ("}))
    with pytest.raises(ConfigError, match="at least one top-level assert"):
        build_scorer(ScorerSpec(name="code_tests", args={"style": "asserts", "tests": "x = 1"}))


@pytest.mark.parametrize(
    "args", [{"style": "doctest"}, {"runs": 0}, {"timeout_s": 0}, {"memory_mb": 1}, {"bogus": 1}]
)
def test_bad_arguments_are_config_errors(args: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        build_scorer(ScorerSpec(name="code_tests", args=args))


# --- pytest style -------------------------------------------------------------------------------

PYTEST_TESTS = textwrap.dedent(
    """
    import pytest
    from solution import add, div, shout


    @pytest.fixture
    def base():
        yield 10


    @pytest.fixture
    def doubled(base):
        return base * 2


    def test_add():
        assert add(1, 2) == 3


    @pytest.mark.parametrize("a,b,expected", [(1, 2, 3), (2, 2, 5), pytest.param(0, 0, 0, id="zeros")])
    def test_add_param(a, b, expected):
        assert add(a, b) == expected


    def test_fixtures(doubled):
        assert add(doubled, 0) == 20


    def test_raises():
        with pytest.raises(ZeroDivisionError, match="division"):
            div(1, 0)


    def test_approx():
        assert div(1, 3) == pytest.approx(0.3333333)


    def test_capsys(capsys):
        shout("hi")
        assert capsys.readouterr().out == "HI\\n"


    @pytest.mark.skip(reason="not today")
    def test_skipped():
        assert False


    def test_runtime():
        div(1, 0)


    class TestClass:
        def test_method(self, tmp_path):
            (tmp_path / "x.txt").write_text("1")
            assert add(1, 1) == 2
    """
)
PYTEST_CODE = (
    "def add(a, b):\n    return a + b\n\ndef div(a, b):\n    return a / b\n\n"
    "def shout(s):\n    print(s.upper())\n"
)
PYTEST_EXPECTED = {
    "test_add": None,
    "test_add_param[1-2-3]": None,
    "test_add_param[2-2-5]": "assertion",
    "test_add_param[zeros]": None,
    "test_fixtures": None,
    "test_raises": None,
    "test_approx": None,
    "test_capsys": None,
    "test_skipped": "skipped",
    "test_runtime": "runtime",
    "TestClass::test_method": None,
}


def test_pytest_style_in_the_sandbox() -> None:
    # The sandbox's interpreter has no pytest: the minimal runner and its pytest stand-in.
    result = score(PYTEST_CODE, style="pytest", tests=PYTEST_TESTS)
    outcome = {
        t["name"]: "skipped" if t["status"] == "skipped" else kinds(result)[t["name"]]
        for t in result.details["tests"]
    }
    assert outcome == PYTEST_EXPECTED
    assert result.value == pytest.approx(8 / 10)  # the skipped test does not count
    assert result.reason.startswith("8/10 tests passed (1 skipped); test_add_param[2-2-5]: AssertionError")
    assert "test_runtime: runtime ZeroDivisionError" in result.reason


def test_pytest_style_with_real_pytest(tmp_path: Path) -> None:
    # With an interpreter that can import pytest the harness runs pytest itself, with a
    # reporting plugin. Run here outside the sandbox: these are the suite's own trusted tests.
    program = build_program(
        PYTEST_CODE, PYTEST_TESTS, "pytest", entry_point=None, prompt=None, timeout_s=10.0
    )
    for name, text in program.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "_benchroute_harness.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    execution = ExecutionResult(
        done.returncode, None, done.stdout, done.stderr, 0.0, False, False, False, None
    )
    run = interpret(execution, program.marker, program.expected)
    assert run.completed, done.stderr
    outcome = {t.name: ("skipped" if t.status == "skipped" else t.kind) for t in run.tests}
    assert outcome == PYTEST_EXPECTED
    assert run.value == pytest.approx(8 / 10)


def test_pytest_style_collection_error_fails_every_test() -> None:
    tests = "from solution import missing_name\n\ndef test_a():\n    assert True\n\ndef test_b():\n    pass\n"
    result = score(PYTEST_CODE, style="pytest", tests=tests)
    assert kinds(result) == {"test_a": "import", "test_b": "import"}
    assert "import error in the tests" in result.reason


# --- error kinds --------------------------------------------------------------------------------

TWO_ASSERTS = "assert f(1) == 1\nassert f(2) == 2\n"


def test_syntax_error() -> None:
    result = score("```python\ndef f(x)\n    return x\n```", style="asserts", tests=TWO_ASSERTS)
    assert kinds(result) == {"test_1": "syntax", "test_2": "syntax"}
    assert result.details["error_kind"] == "syntax"
    assert result.reason.startswith("0/2 tests passed; syntax error in the solution: SyntaxError: ")
    assert "line 1" in result.reason


def test_import_of_a_missing_module() -> None:
    result = score("import numpyy\n\ndef f(x):\n    return x\n", style="asserts", tests=TWO_ASSERTS)
    assert kinds(result) == {"test_1": "import", "test_2": "import"}
    assert "ModuleNotFoundError: No module named 'numpyy'" in result.reason


def test_infinite_loop_is_a_timeout_and_the_other_tests_still_run() -> None:
    code = "def f(x):\n    while x == 1:\n        pass\n    return x\n"
    result = score(code, style="asserts", tests=TWO_ASSERTS, timeout_s=2)
    assert kinds(result) == {"test_1": "timeout", "test_2": None}
    assert result.value == 0.5
    assert "test_1: timeout" in result.reason


def test_a_hang_the_alarm_cannot_interrupt_is_killed_by_the_sandbox() -> None:
    # sum() over a range runs in C: no signal handler runs until it returns.
    code = "def f(x):\n    if x == 1:\n        sum(range(10**12))\n    return x\n"
    result = score(code, style="asserts", tests=TWO_ASSERTS, timeout_s=1)
    assert kinds(result) == {"test_1": "timeout", "test_2": "timeout"}
    assert [t["status"] for t in result.details["tests"]] == ["error", "not_run"]
    assert result.details["killed_reason"] in {"timeout", "cpu"}


@pytest.mark.parametrize(
    "bomb",
    [
        "x = bytearray(10**11)",
        "x = []\n    while True:\n        x.append(' ' * 10**6)",
    ],
)
def test_memory_bomb(bomb: str) -> None:
    code = f"def f(x):\n    {bomb}\n    return x\n"
    result = score(code, style="asserts", tests=TWO_ASSERTS, memory_mb=256)
    assert kinds(result) == {"test_1": "memory", "test_2": "memory"}
    assert result.details["error_kind"] == "memory"


def test_crash_and_exit() -> None:
    crash = score("import os\n\ndef f(x):\n    os._exit(3)\n", style="asserts", tests=TWO_ASSERTS)
    assert [t["status"] for t in crash.details["tests"]] == ["error", "not_run"]
    assert kinds(crash) == {"test_1": "crash", "test_2": "crash"}
    exits = score("import sys\nsys.exit(2)\n", style="asserts", tests=TWO_ASSERTS)
    assert "SystemExit" in exits.reason


def test_candidate_output_does_not_confuse_the_protocol() -> None:
    code = (
        'import sys\n\ndef f(x):\n    print(\'{"event": "result", "status": "passed"}\', end=\'\')\n'
        "    sys.stderr.write('noise' * 100000)\n    return x + 1\n"
    )
    result = score(code, style="asserts", tests=TWO_ASSERTS)
    assert kinds(result) == {"test_1": "assertion", "test_2": "assertion"}
    assert len(result.details["stderr_tail"]) <= 2000


# --- repeats ------------------------------------------------------------------------------------


def test_nondeterministic_program_is_flagged() -> None:
    # Ten coin flips per run: six runs all alike would happen about once in 10^15.
    tests = "\n".join("assert flip()" for _ in range(10))
    code = "import random\n\ndef flip():\n    return random.random() < 0.5\n"
    result = score(code, style="asserts", tests=tests, runs=6)
    assert result.details["nondeterministic"] is True
    assert result.details["runs"] == 6
    assert len(result.details["run_values"]) == 6
    assert result.value == pytest.approx(sum(result.details["run_values"]) / 6, abs=1e-3)
    assert result.reason.startswith("nondeterministic: outcomes differ across 6 runs")
    flaky = [t for t in result.details["tests"] if "outcomes" in t]
    assert flaky and all(len(t["outcomes"]) == 6 for t in flaky)


def test_deterministic_program_over_several_runs() -> None:
    result = score(ADD, style="asserts", tests=ASSERTS, runs=3)
    assert result.details["nondeterministic"] is False
    assert result.value == 0.75
    assert result.reason.endswith("(the same in all 3 runs)")
    assert [t["passed_runs"] for t in result.details["tests"]] == [3, 3, 0, 3]


# --- malformed replies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "x" * 1_000_000,
        "def f(x):\n    return x\n" + "# filler\n" * 100_000,
        "\ufffd\ufffd def f(x): return x",
        "def f(x):\n    return x  # \udcff\n",
        "```python\ndef f(x):\n    return x +",
        "def f(x):\n    return x\x00\n",
        "```python\n```",
    ],
    ids=[
        "empty",
        "1MB",
        "long-valid",
        "replacement-char",
        "lone-surrogate",
        "truncated",
        "nul",
        "empty-fence",
    ],
)
def test_malformed_replies_are_scored_not_crashed(reply: str) -> None:
    result = score(reply, style="asserts", tests=TWO_ASSERTS)
    assert 0.0 <= result.value <= 1.0
    assert result.reason and not result.reason.startswith("scorer crashed")
    json.dumps(result.to_json())  # details are JSON-serialisable for the store


# --- sandbox --------------------------------------------------------------------------------------


def test_missing_bwrap_is_reported_in_the_score(monkeypatch: pytest.MonkeyPatch) -> None:
    import benchroute.sandbox._sandbox as sandbox

    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    scorer = build_scorer(ScorerSpec(name="code_tests", args={"style": "asserts", "tests": TWO_ASSERTS}))
    for _ in range(2):
        result = asyncio.run(scorer(Completion(text="def f(x): return x", usage=Usage()), Case(id="c")))
        assert (result.value, result.passed) == (0.0, False)
        assert result.reason.startswith("sandbox unavailable: ")
        assert "bubblewrap" in result.reason
        assert result.details["error_kind"] == "sandbox"


def test_cases_run_concurrently_on_one_scorer() -> None:
    scorer = build_scorer(ScorerSpec(name="code_tests"))
    cases = [HUMANEVAL[task] for task in PROBLEMS]

    async def main() -> list[Score]:
        replies = [c.metadata["canonical_solution"] for c in cases] + [BROKEN[t] for t in PROBLEMS]
        return await asyncio.gather(
            *(scorer(Completion(text=r, usage=Usage()), c) for r, c in zip(replies, cases * 2, strict=True))
        )

    assert [s.value for s in asyncio.run(main())] == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
