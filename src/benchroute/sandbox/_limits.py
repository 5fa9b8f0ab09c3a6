"""What a sandboxed execution may use and how it ended: the sandbox's public data types,
and how an ending is explained (:func:`classify`)."""

from __future__ import annotations

import math
import re
import signal as signal_module
from dataclasses import dataclass

from .._errors import BenchrouteError, ConfigError


@dataclass(frozen=True)
class SandboxLimits:
    """What one execution may use: the ``RLIMIT_*`` ones per process of the program (the kernel's
    unit), the others for the execution as a whole."""

    cpu_seconds: float = 10.0
    """``RLIMIT_CPU``: CPU seconds per process (rounded up; SIGXCPU, then SIGKILL 1 s later)."""
    wall_seconds: float = 10.0
    """Wall-clock timeout for the whole execution, sandbox start-up included; then the whole
    process group is killed."""
    memory_mb: int = 512
    """``RLIMIT_AS``: address space per process; allocations beyond fail (``MemoryError``)."""
    processes: int = 64
    """``RLIMIT_NPROC``: processes and threads of the execution's own uid, all together (bubblewrap
    mode; weak mode: of the runner's user, not enforced for root)."""
    file_size_mb: int = 16
    """``RLIMIT_FSIZE``: largest file the program may write."""
    open_files: int = 64
    """``RLIMIT_NOFILE``: open file descriptors per process."""
    output_bytes: int = 64 * 1024
    """stdout and stderr are each kept up to this many bytes, the rest discarded."""
    tmpfs_mb: int = 64
    """Size of each writable tmpfs (``/sandbox``, ``/tmp``, ``/dev/shm``) in bubblewrap mode:
    together with ``file_size_mb`` it bounds how much host memory the program's files take."""

    def __post_init__(self) -> None:
        for name in ("cpu_seconds", "wall_seconds", *_WHOLE_LIMITS):
            value = getattr(self, name)
            whole = isinstance(value, int) and not isinstance(value, bool)
            number = whole or (isinstance(value, float) and name not in _WHOLE_LIMITS)
            if not number or not (value > 0 and math.isfinite(value)):
                what = "a positive whole number" if name in _WHOLE_LIMITS else "a positive number"
                raise ConfigError(
                    f"sandbox limit {name} must be {what}, got {value!r}",
                    hint="see docs/sandbox.md for the limits and their defaults",
                )


_WHOLE_LIMITS = ("memory_mb", "processes", "file_size_mb", "open_files", "output_bytes", "tmpfs_mb")


@dataclass(frozen=True)
class ExecutionResult:
    """How one sandboxed execution ended and what it printed."""

    exit_code: int | None
    """The program's exit status; ``None`` when it was killed by a signal."""
    signal: int | None
    """The signal that killed it, if one did."""
    stdout: str
    """Decoded as UTF-8 with ``errors="replace"``, at most ``output_bytes`` of it."""
    stderr: str
    wall_seconds: float
    timed_out: bool
    stdout_truncated: bool
    stderr_truncated: bool
    killed_reason: str | None
    """What ended the program: a limit (``"timeout"``, ``"cpu"``, ``"memory"``, ``"file_size"``,
    ``"output"``, ``"processes"``) or the isolation (``"network"``: a connection the sandbox has
    no route for; ``"read_only"``: a write to its read-only filesystem), or ``None``. The last
    four are read from the program's final error on stderr, so they are found when the refusal
    is what made it fail."""

    @property
    def ok(self) -> bool:
        """The program exited with status 0 within its time."""
        return self.exit_code == 0 and not self.timed_out


class SandboxUnavailable(BenchrouteError):
    """No sandbox can be built here: bubblewrap is missing or cannot create namespaces."""


def last_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return ""


_MEMORY_LINE = re.compile(r"^(?:[\w.]+\.)?MemoryError\b|Cannot allocate memory", re.MULTILINE)
_FILE_SIZE_LINE = re.compile(r"\[Errno (?:27|28)\]|File too large|No space left on device")
# fork/clone/thread creation refused at RLIMIT_NPROC: EAGAIN from Python (BlockingIOError
# [Errno 11] out of os.fork, subprocess or a thread start) or from a shell.
_PROCESSES_LINE = re.compile(
    r"^(?:[\w.]+\.)?BlockingIOError: \[Errno 11\]|can't start new thread|Cannot fork"
    r"|fork: (?:retry: )?Resource temporarily unavailable"
    r"|Resource temporarily unavailable.*(?:fork|clone|thread)"
)
_SPAWN_FRAME = re.compile(
    r"\bfork\(|_execute_child|_posixsubprocess|posix_spawn|start_new_thread|\.start\(\)"
)
# A connection the sandbox's network namespace cannot make: no route out (ENETUNREACH), no
# name resolution (no DNS server), or the host's loopback services that are not there.
_NETWORK_LINE = re.compile(
    r"\[Errno (?:101|99)\]|Network is unreachable|Cannot assign requested address"
    r"|\[Errno -[2-5]\]|Name or service not known|Temporary failure in name resolution"
    r"|No address associated with hostname|Could not resolve host|ConnectionRefusedError|\[Errno 111\]"
    r"|Couldn't connect to server|Failed to connect"
)
_READ_ONLY_LINE = re.compile(r"\[Errno 30\]|Read-only file system")


def classify(
    *,
    timed_out: bool,
    output_killed: bool,
    exit_code: int | None,
    signal: int | None,
    cpu_used: float,
    limits: SandboxLimits,
    stderr: str,
) -> str | None:
    """Which limit, if any, ended the execution."""
    if timed_out:
        return "timeout"
    if output_killed:
        return "output"
    if signal == signal_module.SIGXCPU:
        return "cpu"
    if signal == signal_module.SIGKILL and cpu_used >= max(1, math.ceil(limits.cpu_seconds)) - 0.05:
        return "cpu"  # the hard limit, after a program that ignored SIGXCPU (see _Raw.cpu_used)
    if signal == signal_module.SIGXFSZ:
        return "file_size"
    if exit_code == 0:
        return None
    last = last_line(stderr)
    if _FILE_SIZE_LINE.search(last):
        return "file_size"
    if _MEMORY_LINE.search(last) or (signal is not None and _MEMORY_LINE.search(stderr)):
        return "memory"
    if _PROCESSES_LINE.search(last) and (
        not last.lstrip().startswith(("BlockingIOError", "builtins.BlockingIOError"))
        or _SPAWN_FRAME.search(stderr)
    ):
        # A non-blocking read also raises EAGAIN: count it only with a spawn in the traceback.
        return "processes"
    if _NETWORK_LINE.search(last):
        return "network"
    if _READ_ONLY_LINE.search(last):
        return "read_only"
    return None
