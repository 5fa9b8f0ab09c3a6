"""The sandbox that runs untrusted, model-generated Python.

Every execution gets its own throwaway sandbox: one process tree, started fresh, killed and
discarded afterwards. Nothing is reused between executions except read-only host files.

**Bubblewrap mode** (the default; Debian package ``bubblewrap``). ``bwrap`` builds the
sandbox from nothing:

* *Namespaces.* New network, pid, ipc, uts and cgroup namespaces. The network namespace has
  only its own loopback, so there is no route anywhere (``connect`` to an outside address
  fails at once with "Network is unreachable") and the host's loopback services are not
  reachable either (127.0.0.1 inside is not the host's 127.0.0.1). In the pid namespace the
  program sees only its own processes: it cannot signal the runner or anything else on the
  host, and when the sandbox's init dies the kernel kills whatever is left in it.
* *Filesystem.* A new, empty root (a tmpfs, remounted read-only once built) holding only:
  ``/usr`` and the ``/bin``, ``/sbin``, ``/lib*`` links or directories, read-only; the
  Python installation the program runs with (``sys.base_prefix``, read-only); a minimal
  ``/etc`` (the loader cache, ``localtime``, ``alternatives`` and small generated
  ``passwd``, ``group``, ``hosts``, ``nsswitch.conf``); a fresh ``/proc`` and a minimal
  ``/dev``; and three size-capped private tmpfs mounts, the only writable places:
  ``/sandbox`` (the working directory and ``HOME``, where the files are copied), ``/tmp`` and
  ``/dev/shm``. The project directory, ``/root``, ``/home``, the real ``/tmp`` and the rest of
  ``/etc`` are simply not there. Nothing the program writes reaches the host's disk, and all
  of it disappears with the sandbox.
* *Environment.* Cleared; the program sees only ``PATH``, ``HOME``, ``LANG=C.UTF-8``,
  ``PYTHONDONTWRITEBYTECODE=1`` and ``PYTHONHASHSEED=0`` (hash order is deterministic, so a
  result does not depend on the run), plus ``PWD``, which bwrap sets to the working
  directory. ``bwrap`` itself is started with an empty environment too, so not even
  ``/proc/1/environ`` holds a key.
* *Identity.* Run as root (as here), bwrap creates no user namespace: the program would then
  be the host's root, to which the kernel does not apply ``RLIMIT_NPROC``. Instead the
  sandbox's first code (see "Startup" below) switches to a fresh uid/gid allocated per
  execution (2,000,000,000 and up: no host file belongs to it), after bwrap has dropped every
  capability except the two the switch needs; the switch clears those as well. The program
  then has no capabilities, cannot read root-only files of the host even if one were mounted,
  cannot signal the sandbox's init (a root process), and ``RLIMIT_NPROC`` bounds the processes
  *and threads* of that one execution. (The program can still create an unprivileged user
  namespace of its own, as any host user can; that gives it nothing it cannot already see.)
  Run as an ordinary user, bwrap puts the sandbox in a new user namespace (with nested user
  namespaces disabled) and ``RLIMIT_NPROC`` counts the processes of that user in that
  namespace: again, per execution.

**Limits** (:class:`SandboxLimits`): ``RLIMIT_CPU`` (soft at ``cpu_seconds`` rounded up to a
whole second, then ``SIGXCPU``; hard one second later, then ``SIGKILL``), ``RLIMIT_AS``,
``RLIMIT_NPROC``, ``RLIMIT_FSIZE``, ``RLIMIT_NOFILE`` and ``RLIMIT_CORE=0`` (no core files), the
hard limits being set too (equal to the soft ones but for the CPU) so the program cannot raise
them; a wall-clock timeout
that kills the whole process group with ``SIGKILL``; each tmpfs capped at ``tmpfs_mb``; and
stdout/stderr read incrementally from pipes, each kept up to ``output_bytes`` and the rest
discarded, the program being killed (reason ``output``) once either stream passes
``_OUTPUT_KILL_FACTOR`` times that (an endless ``print`` loop, which would otherwise keep the
runner busy draining it until the time limits).

**Startup.** The program runs under the *base* interpreter of the running Python
(``sys._base_executable``, e.g. ``/root/.pyenv/versions/3.11.7/bin/python3.11``, never the
project's venv) with ``-S``: no ``site`` import, so no site-packages on ``sys.path`` (only the
standard library: what HumanEval needs) and a start-up about four times faster (8 ms instead
of 34 ms here). A few lines passed with ``-c`` (:data:`_BOOTSTRAP`) set the resource limits,
switch uid when needed, restore what ``-S`` leaves out that generated code uses (the
``exit()``/``quit()`` builtins) and run the entry file as ``__main__`` exactly like ``python
entry.py`` would (``sys.argv``, ``sys.path[0]`` = its directory, ``__file__``). Setting the
limits there, rather than in a ``preexec_fn``, keeps the runner's ``fork`` free of Python code
(safe with threads, and ``subprocess`` can use ``vfork``) and works the same in both modes.
The one visible trace: a traceback starts with two ``File "<string>"`` frames of the bootstrap.

**Weak mode** (``Sandbox(weak=True)``; ``weak_sandbox: true`` in a code_tests scorer's args;
explicit opt-in only) is *not isolation*: the program runs as the runner's user, with the
host's filesystem, network and processes in view. It keeps the resource limits, the cleared environment (plus
``TMPDIR``), a throwaway working directory (``tempfile.mkdtemp``, removed afterwards) and the
process-group kill; a program that calls ``setsid()`` escapes that kill. As root,
``RLIMIT_NPROC`` is not enforced by the kernel at all; as another user it counts all of that
user's processes. Use it only where bubblewrap cannot run, for code you would run anyway.

**Results.** :class:`ExecutionResult` says how the program ended. bwrap reports a program
killed by signal N as exit status 128+N, which is decoded back into ``signal=N`` (a program
that itself exits with such a status is indistinguishable; it failed either way).
``killed_reason`` names the limit that ended it: ``timeout`` (the wall clock), ``output``,
``cpu`` (``SIGXCPU``; or a ``SIGKILL`` we did not send once the CPU budget can have been used:
the hard limit, for a program that ignores ``SIGXCPU``), ``file_size`` (``SIGXFSZ``;
Python ignores that signal, so also an ``OSError`` "File too large" or "No space left on
device" as the last line of stderr), ``memory`` (``MemoryError``: ``RLIMIT_AS`` makes
allocations fail rather than killing), and, from the error the program ended with (see
:func:`._limits.classify`), ``processes`` (a fork, subprocess or thread refused with EAGAIN at
``RLIMIT_NPROC``), ``network`` (no route, no name resolution, or the host's loopback refused)
and ``read_only`` (EROFS).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import math
import os
import posixpath
import shutil
import signal as signal_module
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from ._limits import ExecutionResult, SandboxLimits, SandboxUnavailable, classify, last_line

# Where the files are, inside the sandbox: the working directory and HOME.
WORKDIR = "/sandbox"

# A program is killed once a stream has produced this many times its capture cap.
_OUTPUT_KILL_FACTOR = 256

# After the program has exited, how long to keep reading pipes still held open (weak mode:
# a process that escaped the group kill) before giving up on them.
_DRAIN_SECONDS = 0.5

# Per-execution uids (root only): 2,000,000,000 + 100,000 x (pid mod 1,000) + a counter.
# Distinct runner processes get distinct ranges, so RLIMIT_NPROC is one execution's budget.
_UID_BASE = 2_000_000_000
_uid_counter = itertools.count()

_INSTALL_HINT = (
    "or opt in to weak mode (`args: {weak_sandbox: true}` on the code_tests scorer) to run with "
    "resource limits only, without network or filesystem isolation"
)


# Runs first inside the sandbox, as ``python -S -c _BOOTSTRAP <entry> <args...>``; the two
# @...@ markers are replaced by Python literals. Kept to modules the interpreter has already
# loaded (plus ``resource``) so it adds well under a millisecond. Everything is local to one
# function that deletes itself, so the program's ``__main__`` namespace is as ``python
# entry.py`` would make it.
# Both bootstraps start the same way: the limits, then the switch to the run's own uid.
_CONFINE = """\
def _benchroute_sandbox():
    import builtins, os, resource, sys
    for name, soft, hard in @RLIMITS@:
        resource.setrlimit(getattr(resource, name), (soft, hard))
    uid = @UID@
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
"""

_BOOTSTRAP = (
    _CONFINE
    + """\
    builtins.exit = builtins.quit = sys.exit
    del sys.argv[0]
    path = sys.argv[0]
    sys.path[0] = path.rpartition("/")[0] or "/"
    main = sys.modules["__main__"].__dict__
    del main["_benchroute_sandbox"]
    main["__file__"] = path
    with open(path, "rb") as handle:
        code = compile(handle.read(), path, "exec", dont_inherit=True)
    exec(code, main)
_benchroute_sandbox()
"""
)


# The same confinement, then the process becomes ``argv`` (any program on the sandbox's
# read-only /usr: a compiler, node, a shell) — how languages other than Python run.
_EXEC_BOOTSTRAP = (
    _CONFINE
    + """\
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    except OSError as exc:
        sys.stderr.write(f"sandbox: cannot run {sys.argv[1]!r}: {exc.strerror}\\n")
        os._exit(127)
_benchroute_sandbox()
"""
)


def _bootstrap(limits: SandboxLimits, uid: int | None, *, exec_command: bool = False) -> str:
    cpu = max(1, math.ceil(limits.cpu_seconds))
    rlimits = [
        ("RLIMIT_CORE", 0, 0),
        ("RLIMIT_CPU", cpu, cpu + 1),
        ("RLIMIT_AS", limits.memory_mb << 20, limits.memory_mb << 20),
        ("RLIMIT_NPROC", limits.processes, limits.processes),
        ("RLIMIT_FSIZE", limits.file_size_mb << 20, limits.file_size_mb << 20),
        ("RLIMIT_NOFILE", limits.open_files, limits.open_files),
    ]
    template = _EXEC_BOOTSTRAP if exec_command else _BOOTSTRAP
    return template.replace("@RLIMITS@", repr(rlimits)).replace("@UID@", repr(uid))


def _interpreter() -> tuple[str, list[str]]:
    """The base interpreter (never a venv's) and the directories it needs to be bound."""
    executable = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix)}
    if not any(executable.startswith(root.rstrip("/") + "/") for root in roots):
        roots.add(os.path.dirname(executable))
    # /usr is bound anyway; a prefix inside another one needs no bind of its own.
    needed = [r for r in sorted(roots) if r != "/usr" and not r.startswith("/usr/")]
    needed = [r for r in needed if not any(r != o and r.startswith(o.rstrip("/") + "/") for o in needed)]
    return executable, needed


def _data_fd(data: bytes) -> int:
    """A readable fd positioned at the start of ``data``, with no name on any filesystem."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("benchroute-sandbox", os.MFD_CLOEXEC)
    else:  # pragma: no cover - not Linux (weak mode only)
        with tempfile.TemporaryFile() as handle:
            fd = os.dup(handle.fileno())
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_files(files: dict[str, str], entry: str) -> None:
    if entry not in files:
        raise ValueError(f"entry {entry!r} is not one of the files ({', '.join(sorted(files)) or 'none'})")
    for name in files:
        parts = name.split("/")
        if not name or name.startswith("/") or "\0" in name or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"sandbox file name {name!r} must be a relative path without '.' or '..'")


@dataclass
class _Launch:
    """One prepared execution: the command and what to release afterwards."""

    argv: list[str]
    env: dict[str, str]
    cwd: str | None
    pass_fds: list[int] = field(default_factory=list)
    workdir: str | None = None  # weak mode's throwaway directory

    def release_fds(self) -> None:
        for fd in self.pass_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.pass_fds = []

    def cleanup(self) -> None:
        self.release_fds()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


@dataclass
class _Stream:
    """One output pipe, read as it fills: the first ``cap`` bytes kept, the rest counted."""

    fd: int
    cap: int
    data: bytearray = field(default_factory=bytearray)
    total: int = 0
    eof: bool = False


@dataclass
class _Raw:
    status: int
    cpu_used: float
    """CPU seconds of the process tree (weak mode: exact, from ``wait4``). bwrap's monitor
    exits without reaping the sandbox, so ``wait4`` sees none of the program's CPU time: there
    the wall time stands in (an upper bound for a single-threaded program), which is what tells a
    ``SIGKILL`` at the CPU hard limit from one the program sent itself early on."""
    wall: float
    timed_out: bool
    output_killed: bool
    stdout: _Stream
    stderr: _Stream


_probe_lock = threading.Lock()
_probe_results: dict[tuple[str, bool, str], str | None] = {}


class Sandbox:
    """Runs untrusted Python programs, each in a fresh sandbox (see the module docstring).

    One instance can run any number of executions concurrently (``await`` them together; the
    caller bounds the concurrency). Construction checks that the sandbox can actually be built
    here and raises :class:`SandboxUnavailable` if not.
    """

    def __init__(self, limits: SandboxLimits | None = None, *, weak: bool = False) -> None:
        self.limits = limits or SandboxLimits()
        self._weak = weak
        self._python, self._python_roots = _interpreter()
        self._as_root = os.geteuid() == 0
        self._bwrap: str | None = None
        if weak:
            return
        self._bwrap = shutil.which("bwrap")
        if self._bwrap is None:
            raise SandboxUnavailable(
                "the code sandbox needs bubblewrap, and `bwrap` is not on PATH: apt-get install bubblewrap",
                hint=_INSTALL_HINT,
            )
        self._probe()

    @property
    def mode(self) -> str:
        """``"bubblewrap"`` or ``"weak"``."""
        return "weak" if self._weak else "bubblewrap"

    # --- public API --------------------------------------------------------------------------

    async def run_python(
        self,
        files: dict[str, str],
        entry: str,
        *,
        stdin: str | None = None,
        args: list[str] | None = None,
    ) -> ExecutionResult:
        """Write ``files`` (relative paths -> source) into a fresh sandbox and run ``entry``.

        ``stdin`` is the program's standard input (none: ``/dev/null``); ``args`` go to
        ``sys.argv[1:]``. Never raises for anything the program does; the result says how it
        ended.
        """
        _check_files(files, entry)
        return await self._launch(self._prepare(files, entry, args or []), stdin)

    async def run(
        self,
        command: list[str],
        files: dict[str, str] | None = None,
        *,
        stdin: str | None = None,
    ) -> ExecutionResult:
        """Run any program (``command[0]`` looked up on the sandbox's PATH, /usr/bin:/bin) in a
        fresh sandbox holding ``files``, under the same isolation and limits as
        :meth:`run_python` — the way to run code in other languages, e.g.
        ``["sh", "-c", "gcc main.c -o main && ./main"]`` or ``["node", "main.js"]``."""
        if not command:
            raise ValueError("command must name a program")
        files = files or {}
        if files:
            _check_files(files, next(iter(files)))
        return await self._launch(self._prepare(files, None, list(command)), stdin)

    async def _launch(self, launch: _Launch, stdin: str | None) -> ExecutionResult:
        # surrogatepass: a lone surrogate (from JSON, say) becomes bytes the program then fails
        # to decode, rather than an exception here.
        stdin_fd = _data_fd(stdin.encode("utf-8", "surrogatepass")) if stdin is not None else None
        try:
            raw = await self._execute(launch, stdin_fd)
        finally:
            if stdin_fd is not None:
                os.close(stdin_fd)
            launch.cleanup()
        return self._result(raw)

    def run_python_sync(
        self,
        files: dict[str, str],
        entry: str,
        *,
        stdin: str | None = None,
        args: list[str] | None = None,
    ) -> ExecutionResult:
        """:meth:`run_python` for scripts; works inside a running event loop too (on a thread)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.run_python(files, entry, stdin=stdin, args=args))
        # The thread lives until the execution ends: bwrap's --die-with-parent watches it.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="benchroute-sandbox") as pool:
            return pool.submit(
                lambda: asyncio.run(self.run_python(files, entry, stdin=stdin, args=args))
            ).result()

    # --- building the command ----------------------------------------------------------------

    def _prepare(self, files: dict[str, str], entry: str | None, args: list[str]) -> _Launch:
        """``entry`` is the Python file to run with ``args``; with no entry, ``args`` is a
        command to execute."""
        if self._weak:
            return self._prepare_weak(files, entry, args)
        return self._prepare_bwrap(files, entry, args)

    def _prepare_weak(self, files: dict[str, str], entry: str | None, args: list[str]) -> _Launch:
        workdir = tempfile.mkdtemp(prefix="benchroute-sandbox-")
        try:
            for name, source in files.items():
                path = os.path.join(workdir, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8", errors="surrogatepass") as handle:
                    handle.write(source)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": workdir,
            "TMPDIR": workdir,
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
        }
        if entry is None:
            argv = [self._python, "-S", "-c", _bootstrap(self.limits, None, exec_command=True), *args]
        else:
            argv = [
                self._python,
                "-S",
                "-c",
                _bootstrap(self.limits, None),
                os.path.join(workdir, entry),
                *args,
            ]
        return _Launch(argv=argv, env=env, cwd=workdir, workdir=workdir)

    def _prepare_bwrap(self, files: dict[str, str], entry: str | None, args: list[str]) -> _Launch:
        assert self._bwrap is not None
        uid = (
            _UID_BASE + (os.getpid() % 1000) * 100_000 + next(_uid_counter) % 100_000
            if self._as_root
            else None
        )
        shown_uid = uid if uid is not None else os.getuid()
        shown_gid = uid if uid is not None else os.getgid()
        tmpfs_size = str(self.limits.tmpfs_mb << 20)
        launch = _Launch(argv=[], env={}, cwd=None)
        try:
            argv = [self._bwrap]
            if self._as_root:
                # No user namespace: the bootstrap switches to the fresh uid, which needs
                # CAP_SETUID/CAP_SETGID; every other capability is dropped by bwrap.
                argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
                argv += ["--unshare-cgroup-try", "--cap-drop", "ALL"]
                argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
            else:
                argv += ["--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
            argv += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
            # The system, read-only.
            argv += ["--ro-bind", "/usr", "/usr"]
            for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
                path = "/" + name
                if os.path.islink(path):
                    argv += ["--symlink", os.readlink(path), path]
                elif os.path.isdir(path):
                    argv += ["--ro-bind", path, path]
            for root in self._python_roots:
                # bwrap would give the parents it creates the host's modes (/root is 0700),
                # and the program must be able to walk down to the interpreter.
                parts = root.strip("/").split("/")
                for depth in range(1, len(parts)):
                    argv += ["--perms", "0755", "--dir", "/" + "/".join(parts[:depth])]
                argv += ["--ro-bind", root, root]
            # A minimal /etc.
            argv += ["--perms", "0755", "--dir", "/etc"]
            for path in ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
                argv += ["--ro-bind-try", path, path]
            generated = {
                "/etc/passwd": f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
                f"sandbox:x:{shown_uid}:{shown_gid}:sandbox:{WORKDIR}:/usr/sbin/nologin\n",
                "/etc/group": f"root:x:0:\nsandbox:x:{shown_gid}:\n",
                "/etc/hosts": "127.0.0.1 localhost sandbox\n::1 localhost\n",
                "/etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
            }
            for path, text in generated.items():
                fd = _data_fd(text.encode())
                launch.pass_fds.append(fd)
                argv += ["--perms", "0644", "--ro-bind-data", str(fd), path]
            argv += ["--proc", "/proc", "--dev", "/dev"]
            # The only writable places, each size-capped.
            argv += ["--perms", "1777", "--size", tmpfs_size, "--tmpfs", "/dev/shm"]
            argv += ["--perms", "1777", "--size", tmpfs_size, "--tmpfs", "/tmp"]
            argv += ["--perms", "0777", "--size", tmpfs_size, "--tmpfs", WORKDIR]
            directories = sorted({posixpath.dirname(n) for n in files} - {""})
            for directory in directories:
                for depth in range(1, directory.count("/") + 2):
                    sub = "/".join(directory.split("/")[:depth])
                    argv += ["--perms", "0777", "--dir", f"{WORKDIR}/{sub}"]
            for name, source in files.items():
                fd = _data_fd(source.encode("utf-8", "surrogatepass"))
                launch.pass_fds.append(fd)
                argv += ["--perms", "0666", "--file", str(fd), f"{WORKDIR}/{name}"]
            argv += ["--remount-ro", "/", "--chdir", WORKDIR, "--clearenv"]
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": WORKDIR,
                "LANG": "C.UTF-8",
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONHASHSEED": "0",
            }
            for key, value in env.items():
                argv += ["--setenv", key, value]
            if entry is None:
                bootstrap = _bootstrap(self.limits, uid, exec_command=True)
                launch.argv = [*argv, "--", self._python, "-S", "-c", bootstrap, *args]
            else:
                argv += ["--", self._python, "-S", "-c", _bootstrap(self.limits, uid), f"{WORKDIR}/{entry}"]
                launch.argv = [*argv, *args]
        except BaseException:
            launch.cleanup()
            raise
        return launch

    def _probe(self) -> None:
        """Build one sandbox now, so that a host where bwrap cannot work fails at construction."""
        assert self._bwrap is not None
        key = (self._bwrap, self._as_root, self._python)
        with _probe_lock:
            if key not in _probe_results:
                _probe_results[key] = self._probe_once()
            error = _probe_results[key]
        if error is not None:
            raise SandboxUnavailable(
                f"bubblewrap is installed but cannot build the code sandbox here: {error}",
                hint="user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1, "
                "or run in a privileged container), " + _INSTALL_HINT,
            )

    def _probe_once(self) -> str | None:
        launch = self._prepare({"probe.py": "print('ok')\n"}, "probe.py", [])
        try:
            done = subprocess.run(
                launch.argv,
                env=launch.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                pass_fds=launch.pass_fds,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        finally:
            launch.cleanup()
        if done.returncode == 0 and done.stdout == b"ok\n":
            return None
        return last_line(done.stderr.decode("utf-8", "replace")) or f"exit status {done.returncode}"

    # --- running -----------------------------------------------------------------------------

    async def _execute(self, launch: _Launch, stdin_fd: int | None) -> _Raw:
        loop = asyncio.get_running_loop()
        limits = self.limits
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            process = _spawn(launch, stdin_fd, out_w, err_w)
        except OSError as exc:
            for fd in (out_r, out_w, err_r, err_w):
                os.close(fd)
            raise SandboxUnavailable(f"cannot start the code sandbox: {exc}", hint=_INSTALL_HINT) from exc
        started = time.monotonic()
        os.close(out_w)
        os.close(err_w)
        launch.release_fds()  # bwrap has its copies
        pid = process.pid

        streams = (_Stream(out_r, limits.output_bytes), _Stream(err_r, limits.output_bytes))
        kill_after = limits.output_bytes * _OUTPUT_KILL_FACTOR
        changed = asyncio.Event()
        state: dict[str, object] = {"timed_out": False, "output_killed": False}
        reaped: list[tuple[int, float, float]] = []  # (status, cpu seconds, wall seconds)

        def kill() -> None:
            # Only while the leader is unreaped: its pid (= the group id) cannot be reused yet.
            if not reaped:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal_module.SIGKILL)

        def on_timeout() -> None:
            if not reaped:
                state["timed_out"] = True
                kill()

        def close_stream(stream: _Stream) -> None:
            if not stream.eof:
                stream.eof = True
                loop.remove_reader(stream.fd)
                os.close(stream.fd)
                changed.set()

        def on_readable(stream: _Stream) -> None:
            try:
                chunk = os.read(stream.fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                close_stream(stream)
                return
            room = stream.cap - len(stream.data)
            if room > 0:
                stream.data += chunk[:room]
            stream.total += len(chunk)
            if stream.total > kill_after and not state["output_killed"] and not reaped:
                state["output_killed"] = True
                kill()

        def try_reap() -> bool:
            if reaped:
                return True
            try:
                if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                    return False  # still running
                # It exited but is not reaped, so its pid (the group id) cannot be reused yet:
                # kill whatever it left behind in its process group, then reap it.
                kill()
                _, status, usage = os.wait4(pid, 0)
            except ChildProcessError:
                status, usage = 255 << 8, None
            cpu = usage.ru_utime + usage.ru_stime if usage is not None else 0.0
            reaped.append((status, cpu, time.monotonic() - started))
            process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not reap it again
            changed.set()
            return True

        timer = loop.call_later(limits.wall_seconds, on_timeout)
        pidfd: int | None = None
        polls: list[asyncio.TimerHandle] = []

        def poll() -> None:
            # Where pidfd_open is missing (Linux < 5.3): look for the exit every 10 ms.
            if not try_reap():
                polls.append(loop.call_later(0.01, poll))

        def on_exit(fd: int) -> None:
            # The pidfd stays readable once the process has exited: stop watching it then.
            if try_reap():
                loop.remove_reader(fd)

        try:
            for stream in streams:
                os.set_blocking(stream.fd, False)
                loop.add_reader(stream.fd, on_readable, stream)
            try:
                pidfd = os.pidfd_open(pid)
            except (AttributeError, OSError):
                poll()
            else:
                loop.add_reader(pidfd, on_exit, pidfd)
            drain_deadline: float | None = None
            while not (reaped and all(s.eof for s in streams)):
                if reaped and drain_deadline is None:
                    drain_deadline = loop.time() + _DRAIN_SECONDS
                changed.clear()
                if drain_deadline is None:
                    await changed.wait()
                    continue
                remaining = drain_deadline - loop.time()
                if remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
        finally:
            timer.cancel()
            for handle in polls:
                handle.cancel()
            if pidfd is not None:
                loop.remove_reader(pidfd)
                os.close(pidfd)
            if not reaped:  # cancelled: the sandbox must not outlive the call
                kill()
                status = _reap_killed(process)
                reaped.append((status, 0.0, time.monotonic() - started))
            for stream in streams:
                close_stream(stream)
        status, cpu, wall = reaped[0]
        return _Raw(
            status=status,
            cpu_used=cpu if self._weak else max(cpu, wall),
            wall=wall,
            timed_out=bool(state["timed_out"]),
            output_killed=bool(state["output_killed"]),
            stdout=streams[0],
            stderr=streams[1],
        )

    def _result(self, raw: _Raw) -> ExecutionResult:
        code = os.waitstatus_to_exitcode(raw.status)
        exit_code: int | None = code
        sig: int | None = None
        if code < 0:
            exit_code, sig = None, -code
        elif not self._weak and 128 < code <= 128 + 64:
            # bwrap passes on "killed by signal N" as exit status 128 + N.
            exit_code, sig = None, code - 128
        stdout = raw.stdout.data.decode("utf-8", errors="replace")
        stderr = raw.stderr.data.decode("utf-8", errors="replace")
        return ExecutionResult(
            exit_code=exit_code,
            signal=sig,
            stdout=stdout,
            stderr=stderr,
            wall_seconds=raw.wall,
            timed_out=raw.timed_out,
            stdout_truncated=raw.stdout.total > len(raw.stdout.data),
            stderr_truncated=raw.stderr.total > len(raw.stderr.data),
            killed_reason=classify(
                timed_out=raw.timed_out,
                output_killed=raw.output_killed,
                exit_code=exit_code,
                signal=sig,
                cpu_used=raw.cpu_used,
                limits=self.limits,
                stderr=stderr,
            ),
        )


def _spawn(launch: _Launch, stdin_fd: int | None, out_w: int, err_w: int) -> subprocess.Popen[bytes]:
    """Start the execution in its own session (so its process group can be killed as one).

    Blocks only until the child has called ``exec`` (a few milliseconds), as
    ``asyncio.create_subprocess_exec`` does too. ``close_fds`` (the default) keeps other
    executions' pipes out of this one; ``pass_fds`` hands bwrap the memfds it copies from.
    """
    return subprocess.Popen(
        launch.argv,
        stdin=stdin_fd if stdin_fd is not None else subprocess.DEVNULL,
        stdout=out_w,
        stderr=err_w,
        env=launch.env,
        cwd=launch.cwd,
        pass_fds=launch.pass_fds,
        start_new_session=True,
    )


def _reap_killed(process: subprocess.Popen[bytes]) -> int:
    """Reap a process just sent SIGKILL (it dies within milliseconds); its wait status."""
    try:
        _, status, _ = os.wait4(process.pid, 0)
    except ChildProcessError:
        status = 255 << 8
    process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not reap it again
    return status
