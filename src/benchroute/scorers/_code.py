"""Functional correctness of generated code: ``code_tests`` runs a reply against tests in the
sandbox and scores the share of tests that pass.

Design
------
**Extraction.** :func:`extract_code` takes the code out of a chat reply. A leading
``<think>...</think>`` block is dropped. Fenced blocks (``` or ~~~, three or more) tagged
``python``/``py``/``python3``/``py3`` or untagged are candidates; an unterminated last fence (a
reply cut off by ``max_tokens``) runs to the end of the text. Of several candidates the one
that defines the entry point (``def name(`` at column 0) wins, else the longest: models often
add a usage example or a test run in a second block. When no block has an acceptable tag the
longest fenced block of any language is taken (a block tagged ``python3.11`` or ``Python
code`` is still more likely code than the prose around it). Without fences the reply is the
code, minus leading and trailing prose, best effort: if the whole reply parses it is kept as
it is; otherwise everything before the first line that looks like code (an indented line, or
one starting with ``def``/``class``/``import``/``from``/a decorator/an assignment/a call) and
after the last such line is dropped. Indentation is never stripped: HumanEval completions are
often only the indented body of the function.

**Programs.** Three styles, all run by one harness script inside the sandbox (see
``_HARNESS``), which executes the solution as a module named ``solution`` (so an ``if __name__
== "__main__":`` demo in the reply does not run) and then each test, reporting every test on
stdout as one JSON line behind a random per-execution marker (the candidate's own output
cannot be mistaken for it, and goes through a capped stream so it cannot crowd the protocol
out):

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
  small stand-in installed as ``pytest`` (``_PYTEST_SHIM``: ``raises``, ``approx``,
  ``mark.parametrize``/``skip``/``skipif``/``xfail``, ``param``, function-scoped
  ``fixture`` s including yield and autouse ones, ``skip``, ``fail``, ``importorskip``, and the
  ``tmp_path``, ``capsys`` and ``monkeypatch`` fixtures), since test modules import pytest for
  those even when they need nothing else. Test names follow pytest's
  (``test_add[1-2-3]``, ``TestClass::test_method``). Skipped tests (and xfail tests that
  failed) are ``skipped`` and do not count towards the value.

**Outcomes.** Each test is ``passed``, ``failed`` (an ``AssertionError``) or ``error`` with a
kind: ``syntax`` (the solution or tests do not compile), ``import`` (an ``ImportError`` such
as a missing module), ``runtime`` (any other exception, with its class: ``ZeroDivisionError``,
``RecursionError``, ``SystemExit``...), ``timeout``, ``memory`` (``MemoryError``, or the
sandbox's memory limit), ``output`` / ``file_size`` (the sandbox's limits) or ``crash`` (the
interpreter died: a signal or ``os._exit``). A solution that fails to load fails every test
with its load error. When the sandbox kills the process, the test that was running is an
``error`` of the kind that killed it and the tests after it are ``not_run`` with that kind.
The value is passed / (tests - skipped); the reason names up to five failing tests.

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

import ast
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..config import Case
from ..providers._types import Completion
from ._base import Score, Scorer, threshold_passed
from ._safety import _valid_utf8

if TYPE_CHECKING:
    # Imported when a code_tests scorer is built: code_security shares the extractor and
    # must not need the sandbox.
    from ._sandbox import ExecutionResult, Sandbox, SandboxLimits

Style = Literal["humaneval", "asserts", "pytest"]
Status = Literal["passed", "failed", "error", "not_run", "skipped"]

# Seconds the interpreter and the harness get on top of the tests' own time.
STARTUP_SECONDS = 3.0
# The whole execution may take timeout_s for loading plus this many tests' worth of time.
_BUDGET_TESTS = 4
# What the candidate may print (each of stdout and stderr) before its output is dropped; the
# protocol lines are written on their own and never dropped.
OUTPUT_CAP_CHARS = 32_768
# The sandbox's own cap on what it collects: the protocol plus the capped output.
_SANDBOX_OUTPUT_BYTES = 256 * 1024
# How much of stderr is kept in details.
STDERR_TAIL_CHARS = 2_000
# How many failing tests the reason names before "... and N more".
_REASON_TESTS = 5
# Replies longer than this are not parsed while looking for where the code starts and ends.
_PARSE_LIMIT = 400_000

_HARNESS_FILE = "_benchroute_harness.py"
_CONFIG_FILE = "_benchroute_config.json"
_SHIM_FILE = "_benchroute_pytest.py"

# --- extraction ---------------------------------------------------------------------------------

_THINK = re.compile(r"^\s*<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_OPEN_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})[ \t]*([^\n]*)$")
_PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3", "python 3"})
_CODE_LINE = re.compile(
    r"""^(?:(?:async[ \t]+)?def[ \t]|class[ \t]|import[ \t]|from[ \t]+[\w.]+[ \t]+import\b|@\w"""
    r"""|if[ \t]+__name__\b"""
    r"""|for[ \t].*:$|while[ \t].*:$|with[ \t].*:$|try:|\#|print\(|return\b"""
    r"""|[A-Za-z_][\w.]*(?:\[[^\]]*\])?[ \t]*(?::[^=\n]+)?(?:[-+*/%&|^]|//|\*\*|<<|>>)?=(?!=)"""
    r"""|[A-Za-z_][\w.]*\(.*\)[ \t]*$|['"]{3})"""
)


@dataclass(frozen=True, slots=True)
class _Block:
    tag: str
    text: str


def _fenced_blocks(text: str) -> list[_Block]:
    """Every fenced block of ``text``, in order; an unterminated last one runs to the end."""
    blocks: list[_Block] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        opening = _OPEN_FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence, info = opening.groups()
        # The info string's first word is the language ("```python title=x.py").
        tag = info.strip().split()[0].lower() if info.strip() else ""
        if fence[0] == "`" and "`" in info:
            index += 1  # inline code such as ```x``` on one line, not a fence
            continue
        body: list[str] = []
        index += 1
        while index < len(lines):
            line = lines[index]
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(line[len(indent) :] if indent and line.startswith(indent) else line)
            index += 1
        index += 1
        blocks.append(_Block(tag, "\n".join(body)))
    return blocks


def _accepts(tag: str, language: str) -> bool:
    if language.lower() in {"python", "py"}:
        return tag in _PYTHON_TAGS or tag.startswith("python")
    return tag in {"", language.lower()}


def defines(code: str, name: str) -> bool:
    """Whether ``code`` defines ``name`` at top level (a ``def``, ``class`` or assignment)."""
    quoted = re.escape(name)
    pattern = rf"^(?:(?:async[ \t]+)?def[ \t]+{quoted}[ \t]*\(|class[ \t]+{quoted}\b|{quoted}[ \t]*=(?!=))"
    return re.search(pattern, code, re.MULTILINE) is not None


def _parses(code: str) -> bool:
    if len(code) > _PARSE_LIMIT:
        return False
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _looks_like_code(line: str) -> bool:
    if not line.strip():
        return False
    if line[0] in " \t":
        return True
    return _CODE_LINE.match(line) is not None or line.rstrip() in {")", "]", "}", "pass"}


def _strip_prose(text: str) -> str:
    """``text`` without the prose before and after its code (see the module docstring)."""
    if _parses(text):
        return text
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if _looks_like_code(line)), None)
    if first is None:
        return text
    last = max(i for i, line in enumerate(lines) if _looks_like_code(line))
    # A prose line between code lines stays: it may be inside a string, and cutting there
    # would break more than it fixes.
    return "\n".join(lines[first : last + 1])


def _trim_blank_lines(text: str) -> str:
    """``text`` without blank lines around it; unlike ``strip()`` this keeps the first line's
    indentation."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def extract_code(text: str, language: str = "python", *, entry_point: str | None = None) -> str:
    """The code in a reply: its best fenced block, else the reply without its surrounding prose.

    Blocks tagged ``python``/``py`` (any ``python*`` tag) or untagged count for Python; of
    several, the one defining ``entry_point`` wins, then the longest. Without an acceptable
    block the longest block of any language is used; without fences, the reply minus leading
    and trailing lines that do not look like code (best effort; see the module docstring).
    Indentation is kept, so a function body stays a function body.
    """
    text = text.replace("\r\n", "\n")
    text = _THINK.sub("", text, count=1)
    blocks = _fenced_blocks(text)
    if blocks:
        candidates = [b for b in blocks if _accepts(b.tag, language) and b.text.strip()] or [
            b for b in blocks if b.text.strip()
        ]
        if candidates:
            if entry_point:
                defining = [b for b in candidates if defines(b.text, entry_point)]
                candidates = defining or candidates
            best = max(candidates, key=lambda b: len(b.text.strip()))
            return _trim_blank_lines(best.text)
    return _trim_blank_lines(_strip_prose(text))


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


# Loaded as ``pytest`` by the minimal runner when the sandbox's interpreter has no pytest (the
# bubblewrap sandbox runs the base interpreter without site-packages): test modules import
# pytest for raises/approx/mark/fixture even when they need nothing else from it.
_PYTEST_SHIM = r'''# A small stand-in for pytest, used by the benchroute harness when the sandbox's
# interpreter cannot import the real one: raises, approx, mark (parametrize, skip, skipif, xfail), param,
# fixture (function scope, plain or yield, autouse), skip, fail, importorskip, and the
# tmp_path, capsys and monkeypatch fixtures.
import builtins
import inspect
import io
import os
import re
import sys
import tempfile

__version__ = "0+benchroute-shim"


class Skipped(Exception):
    """A test that skipped itself (pytest.skip) or is marked skip."""


class Failed(AssertionError):
    """pytest.fail(), or a pytest.raises block that did not raise: a test failure."""


class XFailed(Skipped):
    """A test marked xfail that failed, as expected."""


def skip(reason="", **kwargs):
    raise Skipped(reason)


skip.Exception = Skipped


def fail(reason="", pytrace=True):
    raise Failed(reason)


fail.Exception = Failed


def importorskip(name, minversion=None, reason=None):
    try:
        __import__(name)
    except ImportError:
        raise Skipped(reason or "could not import %r" % name)
    return sys.modules[name]


class RaisesContext(object):
    def __init__(self, expected, match):
        self.expected = expected
        self.match = match
        self.value = None
        self.type = None
        self.tb = None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            raise Failed("DID NOT RAISE %r" % (self.expected,))
        if not issubclass(kind, self.expected):
            return False
        if self.match is not None and not re.search(self.match, str(value)):
            raise Failed("Regex pattern %r did not match %r" % (self.match, str(value)))
        self.value, self.type, self.tb = value, kind, tb
        return True


def raises(expected, *args, **kwargs):
    context = RaisesContext(expected, kwargs.pop("match", None))
    if args:
        with context:
            args[0](*args[1:], **kwargs)
    return context


class approx(object):
    def __init__(self, expected, rel=None, abs=None, nan_ok=False):
        self.expected = expected
        self.rel = 1e-6 if rel is None else rel
        self.abs = 1e-12 if abs is None else abs

    def _close(self, actual, expected):
        if isinstance(expected, dict):
            return isinstance(actual, dict) and set(actual) == set(expected) and all(
                self._close(actual[k], expected[k]) for k in expected)
        if isinstance(expected, (list, tuple)):
            return isinstance(actual, (list, tuple)) and len(actual) == len(expected) and all(
                self._close(a, e) for a, e in zip(actual, expected))
        try:
            if actual == expected:
                return True
            return builtins.abs(actual - expected) <= max(self.rel * builtins.abs(expected), self.abs)
        except TypeError:
            return False

    def __eq__(self, other):
        return self._close(other, self.expected)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None

    def __repr__(self):
        return "approx(%r)" % (self.expected,)


class MarkDecorator(object):
    def __init__(self, name, args=(), kwargs=None):
        self.name = name
        self.args = args
        self.kwargs = kwargs or {}

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and (inspect.isfunction(args[0]) or inspect.isclass(args[0])):
            target = args[0]
            target.pytestmark = list(getattr(target, "pytestmark", [])) + [self]
            return target
        return MarkDecorator(self.name, args, kwargs)


class MarkGenerator(object):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return MarkDecorator(name)


mark = MarkGenerator()


class ParameterSet(object):
    def __init__(self, values, id=None, marks=()):
        self.values = values
        self.id = id
        self.marks = list(marks) if isinstance(marks, (list, tuple)) else [marks]


def param(*values, **kwargs):
    return ParameterSet(values, kwargs.get("id"), kwargs.get("marks", ()))


def fixture(function=None, scope="function", params=None, autouse=False, ids=None, name=None):
    def register(target):
        target._benchroute_fixture = name or target.__name__
        target._benchroute_autouse = autouse
        return target

    return register(function) if callable(function) else register


def marks_of(target):
    marks = getattr(target, "pytestmark", [])
    return list(marks) if isinstance(marks, (list, tuple)) else [marks]


class Test(object):
    def __init__(self, name, function, marks, cls, params):
        self.name = name
        self.function = function
        self.marks = marks
        self.cls = cls
        self.params = params


def _id(value, argname, index):
    if isinstance(value, (int, float, str, bool)) or value is None:
        return str(value)
    return "%s%d" % (argname, index)


def expand(name, function, marks, cls):
    """One Test per combination of the function's parametrize marks, named like pytest's."""
    cases = [([], {}, [])]  # (id parts, params, extra marks)
    for decorator in marks:
        if decorator.name != "parametrize":
            continue
        argnames = decorator.args[0] if decorator.args else decorator.kwargs["argnames"]
        argvalues = decorator.args[1] if len(decorator.args) > 1 else decorator.kwargs["argvalues"]
        ids = decorator.kwargs.get("ids")
        if isinstance(argnames, str):
            argnames = [a.strip() for a in argnames.split(",") if a.strip()]
        expanded = []
        for index, raw in enumerate(list(argvalues)):
            extra = []
            given_id = None
            if isinstance(raw, ParameterSet):
                extra, given_id, raw = raw.marks, raw.id, raw.values
                values = tuple(raw)
            else:
                values = tuple(raw) if len(argnames) > 1 else (raw,)
            if given_id is None and isinstance(ids, (list, tuple)) and index < len(ids):
                given_id = ids[index]
            elif given_id is None and callable(ids):
                given_id = "-".join(str(ids(v)) for v in values)
            part = str(given_id) if given_id is not None else "-".join(
                _id(v, a, index) for v, a in zip(values, argnames))
            expanded.append((part, dict(zip(argnames, values)), extra))
        cases = [(ids_ + [part], dict(params, **new), more + extra)
                 for ids_, params, more in cases for part, new, extra in expanded]
    tests = []
    for parts, params, extra in cases:
        label = name + ("[%s]" % "-".join(parts) if parts else "")
        tests.append(Test(label, function, marks + extra, cls, params))
    return tests


class _CapSys(object):
    def __init__(self):
        self._out, self._err = io.StringIO(), io.StringIO()
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = self._out, self._err

    def readouterr(self):
        out, err = self._out.getvalue(), self._err.getvalue()
        self._out.seek(0)
        self._out.truncate()
        self._err.seek(0)
        self._err.truncate()
        return CaptureResult(out, err)

    def close(self):
        sys.stdout, sys.stderr = self._saved


class CaptureResult(tuple):
    def __new__(cls, out, err):
        return tuple.__new__(cls, (out, err))

    out = property(lambda self: self[0])
    err = property(lambda self: self[1])


_MISSING = object()


class MonkeyPatch(object):
    def __init__(self):
        self._undo = []

    def setattr(self, target, name, value=_MISSING, raising=True):
        if value is _MISSING:  # setattr("module.attr", value)
            module_name, _, attr = target.rpartition(".")
            target, name, value = __import__(module_name, fromlist=["_"]), attr, name
        old = getattr(target, name, _MISSING)
        if old is _MISSING and raising:
            raise AttributeError("%r has no attribute %r" % (target, name))
        self._undo.append(lambda: delattr(target, name) if old is _MISSING else setattr(target, name, old))
        setattr(target, name, value)

    def delattr(self, target, name, raising=True):
        old = getattr(target, name, _MISSING)
        if old is _MISSING:
            if raising:
                raise AttributeError(name)
            return
        self._undo.append(lambda: setattr(target, name, old))
        delattr(target, name)

    def setitem(self, mapping, key, value):
        old = mapping.get(key, _MISSING)
        if old is _MISSING:
            self._undo.append(lambda: mapping.pop(key, None))
        else:
            self._undo.append(lambda: mapping.__setitem__(key, old))
        mapping[key] = value

    def delitem(self, mapping, key, raising=True):
        if key not in mapping:
            if raising:
                raise KeyError(key)
            return
        old = mapping[key]
        self._undo.append(lambda: mapping.__setitem__(key, old))
        del mapping[key]

    def setenv(self, name, value, prepend=None):
        self.setitem(os.environ, name, str(value))

    def delenv(self, name, raising=True):
        self.delitem(os.environ, name, raising)

    def undo(self):
        while self._undo:
            self._undo.pop()()


def _builtin_fixture(name, teardown):
    if name == "tmp_path":
        import pathlib

        return pathlib.Path(tempfile.mkdtemp(prefix="pytest-"))
    if name == "tmpdir":
        return tempfile.mkdtemp(prefix="pytest-")
    if name == "capsys":
        capture = _CapSys()
        teardown.append(capture.close)
        return capture
    if name == "monkeypatch":
        patch = MonkeyPatch()
        teardown.append(patch.undo)
        return patch
    raise LookupError("fixture %r not found" % name)


def invoke(test, fixtures):
    """Run one test: its skip/xfail marks, its fixtures (set up fresh for it), its body."""
    for decorator in test.marks:
        if decorator.name == "skip":
            raise Skipped(decorator.kwargs.get("reason", decorator.args[0] if decorator.args else ""))
        if decorator.name == "skipif":
            condition = decorator.args[0] if decorator.args else decorator.kwargs.get("condition", False)
            if condition:
                raise Skipped(decorator.kwargs.get("reason", "skipif"))
    xfail = any(d.name == "xfail" for d in test.marks)
    teardown = []
    values = {}

    def resolve(name, stack):
        if name in test.params:
            return test.params[name]
        if name in values:
            return values[name]
        if name == "request":
            return None
        if name in fixtures:
            if name in stack:
                raise LookupError("fixture %r depends on itself" % name)
            value = call(fixtures[name], stack + (name,))
            if inspect.isgenerator(value):
                generator = value
                value = next(generator)
                teardown.append(lambda: next(generator, None))
        else:
            value = _builtin_fixture(name, teardown)
        values[name] = value
        return value

    def call(function, stack, instance=None):
        parameters = list(inspect.signature(function).parameters.values())
        if instance is not None and parameters:
            parameters = parameters[1:]
        kwargs = {}
        for parameter in parameters:
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            if parameter.default is not parameter.empty and parameter.name not in test.params and \
                    parameter.name not in fixtures:
                continue
            kwargs[parameter.name] = resolve(parameter.name, stack)
        if instance is not None:
            return function(instance, **kwargs)
        return function(**kwargs)

    try:
        for name, function in fixtures.items():
            if getattr(function, "_benchroute_autouse", False):
                resolve(name, ())
        instance = test.cls() if test.cls is not None else None
        try:
            call(test.function, (), instance)
        except Skipped:
            raise
        except BaseException as exc:
            if xfail and isinstance(exc, Exception):
                raise XFailed("xfail: %s: %s" % (type(exc).__name__, exc))
            raise
    finally:
        while teardown:
            teardown.pop()()
'''


# --- outcomes -----------------------------------------------------------------------------------


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
            return f"{self.exception or 'AssertionError'}" + (f" ({_clip(detail, 90)})" if detail else "")
        if self.status == "not_run":
            return f"not run ({self.kind})" if self.kind else "not run"
        if self.status == "skipped":
            return "skipped"
        if self.kind in ("timeout", "memory", "output", "file_size"):
            return self.kind or ""
        head = f"{self.kind} {self.exception}" if self.exception else f"{self.kind}"
        return head + (f": {_clip(self.message, 90)}" if self.message else "")


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


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


# --- programs -----------------------------------------------------------------------------------


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


# --- the scorer ---------------------------------------------------------------------------------


def _sandbox_limits(timeout_s: float, memory_mb: int, tests: int) -> SandboxLimits:
    from ._sandbox import SandboxLimits

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
        return f"{head}; {label}" + (f": {_clip(detail, 160)}" if detail else "")
    failing = [t for t in run.tests if t.status not in ("passed", "skipped")]
    parts = [f"{t.name}: {t.summary()}" for t in failing[:_REASON_TESTS]]
    if len(failing) > _REASON_TESTS:
        parts.append(f"… and {len(failing) - _REASON_TESTS} more")
    return "; ".join([head, *parts])


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
    from ._sandbox import Sandbox, SandboxUnavailable

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
        text = _valid_utf8(completion.text)
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
