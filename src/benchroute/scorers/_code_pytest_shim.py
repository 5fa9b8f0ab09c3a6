"""The stand-in for pytest that the ``code_tests`` harness installs as ``pytest`` when the
sandbox's interpreter cannot import the real one.

Design
------
The bubblewrap sandbox runs the base interpreter without site-packages, so pytest-style tests
usually run under the harness's minimal runner, yet test modules import pytest for
``raises``/``approx``/``mark``/``fixture`` even when they need nothing else from it. The
stand-in covers that much: ``raises``, ``approx``, ``mark.parametrize``/``skip``/``skipif``/
``xfail``, ``param``, function-scoped ``fixture`` s including yield and autouse ones, ``skip``,
``fail``, ``importorskip``, and the ``tmp_path``, ``capsys`` and ``monkeypatch`` fixtures.
Parametrized tests are named as pytest names them (``test_add[1-2-3]``).

Like the harness it runs inside the sandbox, with whatever Python the sandbox provides, so it
is kept as text: :func:`~._code_harness.build_program` writes it next to the tests.
"""

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
