"""The programs ``code_tests`` runs: :func:`build_program` turns a candidate's code and its
tests into the files the sandbox executes, the entry point being one harness script
(``_HARNESS``, kept here as text).

Design
------
Three styles, all run by the one harness script inside the sandbox, which executes the solution
as a module named ``solution`` (so an ``if __name__ == "__main__":`` demo in the reply does not
run) and then each test, reporting every test on stdout as one JSON line behind a random
per-execution marker (the candidate's own output cannot be mistaken for it, and goes through a
capped stream so it cannot crowd the protocol out). :func:`~._code_outcomes.interpret` reads
those lines back.

* ``humaneval``: solution = the case's ``metadata.prompt`` (with ``include_prompt``) + the
  extracted code; tests = the problem's ``check(candidate)`` function, called on the entry
  point. The prompt is prepended whether or not the reply repeats the function: a
  body-only completion needs its signature, and a complete one still needs the prompt's
  imports and helper functions (every HumanEval prompt is valid Python on its own, its stub
  simply being replaced by the reply's definition). ``check`` is one test: value 1 or 0.
* ``asserts``: the tests are Python statements; each top-level ``assert`` is one test
  (``test_1``, ``test_2``, ... in order) run in its own ``try`` so that a failing assert does
  not hide the others; other statements (imports, fixtures) are run as setup, in order.
* ``pytest``: ``solution.py`` and ``test_solution.py`` are written. When the sandboxed
  interpreter can import pytest, pytest runs them in-process with a reporting plugin
  (third-party plugin autoloading off, no cache). The bubblewrap sandbox runs the base
  interpreter without site-packages, so usually it cannot, and a minimal runner imports
  ``test_solution`` and calls each ``test_*`` function and ``Test*`` class method, with a
  small stand-in installed as ``pytest`` (:mod:`._code_pytest_shim`). Test names follow
  pytest's (``test_add[1-2-3]``, ``TestClass::test_method``). Skipped tests (and xfail tests
  that failed) are ``skipped`` and do not count towards the value.

Each test (and loading the solution) runs under its own ``timeout_s`` alarm in the harness, so
a test that hangs in Python code is reported as ``timeout`` and the tests after it still run.
"""

from __future__ import annotations

import ast
import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from ._code_extract import defines
from ._code_pytest_shim import _PYTEST_SHIM

Style = Literal["humaneval", "asserts", "pytest"]

# What the candidate may print (each of stdout and stderr) before its output is dropped; the
# protocol lines are written on their own and never dropped.
OUTPUT_CAP_CHARS = 32_768

# The harness text below opens the config and the shim by these names.
_HARNESS_FILE = "_benchroute_harness.py"
_CONFIG_FILE = "_benchroute_config.json"
_SHIM_FILE = "_benchroute_pytest.py"


@dataclass(frozen=True, slots=True)
class Program:
    """The files of one candidate and the names of the tests it should report."""

    files: dict[str, str]
    expected: list[str]
    marker: str


def _assert_items(tests: str) -> list[dict[str, Any]]:
    """The top-level statements of assert-style tests: each ``assert`` a test, the rest setup."""
    tree = ast.parse(tests)
    items: list[dict[str, Any]] = []
    number = 0
    for node in tree.body:
        source = ast.get_source_segment(tests, node) or ast.unparse(node)
        if isinstance(node, ast.Assert):
            number += 1
            items.append({"kind": "assert", "name": f"test_{number}", "source": source, "line": node.lineno})
        else:
            items.append({"kind": "setup", "name": None, "source": source, "line": node.lineno})
    return items


def _pytest_names(tests: str) -> list[str]:
    """The tests pytest would most likely collect (used only when collection never happened)."""
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError):
        return ["tests"]
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            names.append(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names += [
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test")
            ]
    return names or ["tests"]


def build_program(
    code: str,
    tests: str,
    style: Style,
    *,
    entry_point: str | None,
    prompt: str | None,
    timeout_s: float,
    use_pytest: bool = True,
) -> Program:
    """The files the sandbox runs for one candidate (the harness is the entry point)."""
    marker = f"@@benchroute-{secrets.token_hex(12)}@@"
    config: dict[str, Any] = {
        "marker": marker,
        "style": style,
        "test_timeout": timeout_s,
        "output_cap": OUTPUT_CAP_CHARS,
        "entry_point": entry_point,
        "use_pytest": use_pytest,
        "items": [],
    }
    files = {_HARNESS_FILE: _HARNESS}
    if style == "humaneval":
        solution = code
        if prompt:
            if entry_point and defines(code, entry_point):
                # The prompt's stub (a function with only a docstring) is valid Python and is
                # replaced by the reply's definition; its imports and helpers stay.
                solution = prompt.rstrip("\n") + "\n\n\n" + code
            else:
                solution = prompt + code  # the reply continues the prompt: a function body
        files["solution.py"] = solution + "\n"
        files["tests.py"] = tests
        expected = ["check"]
    elif style == "asserts":
        items = _assert_items(tests)
        config["items"] = items
        files["solution.py"] = code + "\n"
        files["tests.py"] = tests
        expected = [item["name"] for item in items if item["kind"] == "assert"]
    else:
        files["solution.py"] = code + "\n"
        files["test_solution.py"] = tests
        files[_SHIM_FILE] = _PYTEST_SHIM
        expected = _pytest_names(tests)
    files[_CONFIG_FILE] = json.dumps(config)
    return Program(files, expected, marker)


# --- the harness --------------------------------------------------------------------------------

# Runs inside the sandbox, with whatever Python the sandbox provides: plain standard library,
# no f-string tricks newer than 3.8. It is data, not part of this module, so it is kept as text.
_HARNESS = r'''# benchroute code_tests harness: runs the candidate's tests one by one and reports each
# on stdout as a line "<marker>{json}"; the marker is random per execution.
import importlib.util
import json
import os
import signal
import sys
import time
import traceback
import types

os.chdir(os.path.dirname(os.path.abspath(__file__)))
with open("_benchroute_config.json", encoding="utf-8") as _handle:
    CONFIG = json.load(_handle)
MARK = CONFIG["marker"]
TIMEOUT = float(CONFIG["test_timeout"])
# The protocol goes to a private copy of stdout: the candidate may close or replace fd 1.
_PROTO = os.dup(1)


def emit(**event):
    data = ("\n" + MARK + json.dumps(event, ensure_ascii=True, default=str) + "\n").encode("ascii")
    while data:
        data = data[os.write(_PROTO, data):]


class _Capped(object):
    """Passes the first ``limit`` characters written through, then drops the rest."""

    def __init__(self, stream, limit):
        self._stream = stream
        self._left = limit
        self.encoding = getattr(stream, "encoding", "utf-8")
        self.errors = "replace"

    def write(self, text):
        text = str(text)
        if self._left > 0:
            part = text[: self._left]
            self._left -= len(part)
            try:
                self._stream.write(part)
            except Exception:
                pass
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        try:
            self._stream.flush()
        except Exception:
            pass

    def isatty(self):
        return False

    def writable(self):
        return True

    def fileno(self):
        return self._stream.fileno()


sys.stdout = _Capped(sys.stdout, int(CONFIG["output_cap"]))
sys.stderr = _Capped(sys.stderr, int(CONFIG["output_cap"]))


class TestTimeout(BaseException):
    """Raised into the candidate's code when a test overruns; not an Exception, so that an
    ``except Exception`` in the candidate does not swallow it."""


def _on_alarm(signum, frame):
    raise TestTimeout("exceeded %g s" % TIMEOUT)


signal.signal(signal.SIGALRM, _on_alarm)


def guarded(function):
    """Call ``function`` under the per-test alarm."""
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        return function()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def clip(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "..."


def describe(exc, compiling=False):
    """The kind, exception class, message and place of ``exc``."""
    if isinstance(exc, TestTimeout):
        kind = "timeout"
    elif isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, SyntaxError) and compiling:
        kind = "syntax"
    elif isinstance(exc, ImportError):
        kind = "import"
    elif isinstance(exc, AssertionError):
        kind = "assertion"
    else:
        kind = "runtime"
    message = str(exc)
    line = None
    if isinstance(exc, SyntaxError):
        line = exc.lineno
        place = [os.path.basename(str(exc.filename))] if exc.filename else []
        place += ["line %s" % exc.lineno] if exc.lineno else []
        message = str(exc.msg) + (" (%s)" % ", ".join(place) if place else "")
    else:
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__)
            if os.path.basename(f.filename) != "_benchroute_harness.py"
        ]
        if frames:
            line = frames[-1].lineno
            if not message and frames[-1].line:
                message = frames[-1].line
    return {"kind": kind, "exception": type(exc).__name__, "message": clip(message), "line": line}


def run_test(name, function, source=None):
    emit(event="start", test=name)
    started = time.perf_counter()
    try:
        guarded(function)
    except BaseException as exc:  # whatever the candidate raises is a result, even SystemExit
        skip = skipped_exception()
        if skip is not None and isinstance(exc, skip):
            emit(event="result", test=name, status="skipped", seconds=time.perf_counter() - started,
                 message=clip(str(exc)), line=None)
            return
        info = describe(exc)
        status = "failed" if info["kind"] == "assertion" else "error"
        emit(event="result", test=name, status=status, seconds=time.perf_counter() - started,
             source=source, **info)
        return
    emit(event="result", test=name, status="passed", seconds=time.perf_counter() - started, source=source)


def load(path, namespace):
    """Compile and run ``path`` in ``namespace``; report a failure and return False."""
    try:
        with open(path, encoding="utf-8") as handle:
            code = compile(handle.read(), path, "exec")
    except BaseException as exc:
        emit(event="load", file=path, status="error", **describe(exc, compiling=True))
        return False
    try:
        guarded(lambda: exec(code, namespace))
    except BaseException as exc:
        emit(event="load", file=path, status="error", **describe(exc))
        return False
    return True


def module(name):
    result = types.ModuleType(name)
    result.__file__ = os.path.abspath(name + ".py")
    sys.modules[name] = result
    return result


def run_humaneval():
    namespace = module("solution").__dict__
    if not load("solution.py", namespace) or not load("tests.py", namespace):
        return
    entry = CONFIG["entry_point"]

    def check():
        if entry not in namespace:
            raise NameError("the entry point %r is not defined" % entry)
        if "check" not in namespace:
            raise NameError("the tests define no check() function")
        namespace["check"](namespace[entry])

    run_test("check", check)


def run_asserts():
    namespace = module("solution").__dict__
    if not load("solution.py", namespace):
        return
    for item in CONFIG["items"]:
        # Padding keeps line numbers those of tests.py, so tracebacks show the right line.
        code = compile("\n" * (item["line"] - 1) + item["source"], "tests.py", "exec")
        if item["kind"] == "assert":
            run_test(item["name"], lambda code=code: exec(code, namespace), item["source"])
            continue
        try:
            guarded(lambda code=code: exec(code, namespace))
        except BaseException as exc:
            emit(event="setup", status="error", source=clip(item["source"], 120), **describe(exc))


def run_pytest_style():
    if not load("solution.py", module("solution").__dict__):
        return
    # find_spec with autoload off: the sandbox's interpreter may not have pytest at all.
    if CONFIG["use_pytest"] and importlib.util.find_spec("pytest") is not None:
        run_with_pytest()
    else:
        run_minimal()


def test_name(nodeid):
    return nodeid.split("::", 1)[-1]


def run_with_pytest():
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    import pytest

    class Reporter(object):
        outcome = None
        started = 0.0

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_protocol(self, item, nextitem):
            emit(event="start", test=test_name(item.nodeid))
            self.started = time.perf_counter()
            self.outcome = None
            yield
            outcome = self.outcome or {"status": "passed"}
            emit(event="result", test=test_name(item.nodeid), seconds=time.perf_counter() - self.started,
                 **outcome)

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_call(self, item):
            signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
            try:
                yield
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(self, item, call):
            made = yield
            report = made.get_result()
            if self.outcome is not None:
                return
            if report.failed and call.excinfo is not None:
                info = describe(call.excinfo.value)
                status = "failed" if info["kind"] == "assertion" and call.when == "call" else "error"
                self.outcome = dict(status=status, **info)
            elif report.skipped:
                self.outcome = {"status": "skipped"}

        def pytest_collectreport(self, report):
            if report.failed:
                text = str(report.longrepr).strip()
                if "SyntaxError" in text:
                    kind = "syntax"
                elif "ImportError" in text or "ModuleNotFoundError" in text:
                    kind = "import"
                else:
                    kind = "runtime"
                last = text.splitlines()[-1] if text else ""
                emit(event="load", file="test_solution.py", status="error", kind=kind,
                     exception=last.split(":")[0].lstrip("E ").strip() or None, message=clip(last), line=None)

        def pytest_collection_finish(self, session):
            emit(event="tests", names=[test_name(item.nodeid) for item in session.items])

    pytest.main(
        ["-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", os.getcwd(), "test_solution.py"],
        plugins=[Reporter()],
    )


def run_minimal():
    import inspect

    # Test modules import pytest for raises/approx/mark/fixture: give them the shim.
    spec = importlib.util.spec_from_file_location("pytest", os.path.abspath("_benchroute_pytest.py"))
    shim = importlib.util.module_from_spec(spec)
    sys.modules["pytest"] = shim
    spec.loader.exec_module(shim)
    tests_module = module("test_solution")
    if not load("test_solution.py", tests_module.__dict__):
        return
    fixtures = {}
    for value in list(tests_module.__dict__.values()):
        name = getattr(value, "_benchroute_fixture", None)
        if isinstance(name, str):
            fixtures[name] = value
    tests = []
    for name, value in list(tests_module.__dict__.items()):
        if name.startswith("test") and inspect.isfunction(value) and name not in fixtures:
            tests += shim.expand(name, value, shim.marks_of(value), None)
        elif name.startswith("Test") and inspect.isclass(value) and "__init__" not in vars(value):
            for attr, method in list(vars(value).items()):
                if attr.startswith("test") and inspect.isfunction(method):
                    marks = shim.marks_of(value) + shim.marks_of(method)
                    tests += shim.expand("%s::%s" % (name, attr), method, marks, value)
    emit(event="tests", names=[test.name for test in tests])
    for test in tests:
        run_test(test.name, lambda test=test: shim.invoke(test, fixtures))


def skipped_exception():
    shim = sys.modules.get("pytest")
    return getattr(getattr(shim, "skip", None), "Exception", None)


status = 3
try:
    emit(event="hello", python=sys.version.split()[0])
    style = CONFIG["style"]
    if style == "humaneval":
        run_humaneval()
    elif style == "asserts":
        run_asserts()
    else:
        run_pytest_style()
    emit(event="done")
    status = 0
except BaseException:
    os.write(2, ("harness failure:\n" + traceback.format_exc()).encode("utf-8", "replace"))
finally:
    # Threads the candidate left running must not keep the process, and the scorer, waiting.
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status)
'''
