"""The code sandbox against programs that try to escape it.

Each escape program does its attack directly and prints ``ESCAPED`` only if it got through:
every one must end as a failure (not ``ok``), with the limit that stopped it as
``killed_reason`` where a limit did, the runner must survive, and the host must be unchanged
(files outside untouched, the runner's environment unseen, no sandbox process left behind).
"""

from __future__ import annotations

import asyncio
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchroute._errors import BenchrouteError, ConfigError
from benchroute.sandbox import (
    ExecutionResult,
    Sandbox,
    SandboxLimits,
    SandboxUnavailable,
    _sandbox,
)

PROJECT = Path(__file__).resolve().parents[2]
HAVE_BWRAP = sys.platform == "linux" and shutil.which("bwrap") is not None
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP, reason="needs bubblewrap (apt-get install bubblewrap)")

LIMITS = SandboxLimits(cpu_seconds=2, wall_seconds=5, memory_mb=256, file_size_mb=1, tmpfs_mb=8)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    if not HAVE_BWRAP:
        pytest.skip("needs bubblewrap (apt-get install bubblewrap)")
    return Sandbox(LIMITS)


def run(sandbox: Sandbox, source: str) -> ExecutionResult:
    return sandbox.run_python_sync({"main.py": source}, "main.py")


def last_exception(result: ExecutionResult) -> str:
    """The exception class on stderr's last line (``PermissionError``), or ``""``."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[-1].split(":")[0].strip() if lines else ""


def assert_failed(result: ExecutionResult) -> None:
    assert not result.ok, result
    assert "ESCAPED" not in result.stdout


def sandbox_processes() -> list[int]:
    """Host pids running as one of the per-execution uids of this process's sandboxes (other
    processes on the machine may be running sandboxes of their own at the same time)."""
    low = _sandbox._UID_BASE + (os.getpid() % 1000) * 100_000
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and low <= int(line.split()[1]) < low + 100_000:
                found.append(int(entry))
    return found


def wait_no_sandbox_processes(timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := sandbox_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


# --- ordinary programs ------------------------------------------------------------------------


@needs_bwrap
def test_normal_program_passes(sandbox: Sandbox) -> None:
    result = run(sandbox, "import math\nprint(math.factorial(5))\n")
    assert result.ok and result.exit_code == 0 and result.signal is None
    assert result.stdout == "120\n" and result.stderr == ""
    assert result.killed_reason is None and not result.timed_out
    assert not result.stdout_truncated and not result.stderr_truncated
    assert sandbox.mode == "bubblewrap"


@needs_bwrap
def test_stdin_args_exit_code_and_files(sandbox: Sandbox) -> None:
    files = {
        "main.py": (
            "import sys\nfrom pkg.helper import double\n"
            "print(double(int(sys.stdin.readline())), sys.argv[1:])\n"
            "open('out.txt', 'w').write('written')\nopen('/tmp/t', 'w').write('tmp')\n"
            "print(open('out.txt').read(), open('/tmp/t').read())\n"
            "exit(3)\n"  # site's exit() is there although the interpreter runs with -S
        ),
        "pkg/__init__.py": "",
        "pkg/helper.py": "def double(x):\n    return 2 * x\n",
    }
    result = sandbox.run_python_sync(files, "main.py", stdin="21\n", args=["a", "b c"])
    assert result.stdout == "42 ['a', 'b c']\nwritten tmp\n", result.stderr
    assert result.exit_code == 3 and not result.ok and result.killed_reason is None


@needs_bwrap
def test_environment_is_only_the_documented_one(sandbox: Sandbox) -> None:
    result = run(
        sandbox, "import os, sys\nprint(sorted(os.environ), os.environ['HOME'], os.getcwd(), sys.path[0])"
    )
    assert result.ok, result.stderr
    keys = ["HOME", "LANG", "PATH", "PWD", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED"]
    assert result.stdout == f"{keys} /sandbox /sandbox /sandbox\n"


@needs_bwrap
def test_concurrent_executions_do_not_mix(sandbox: Sandbox) -> None:
    async def all_of_them() -> list[ExecutionResult]:
        return await asyncio.gather(
            *(
                sandbox.run_python({"main.py": f"import time\ntime.sleep(0.05)\nprint({i})\n"}, "main.py")
                for i in range(8)
            )
        )

    results = asyncio.run(all_of_them())
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(8)]


@needs_bwrap
def test_cancelled_execution_leaves_nothing_behind(sandbox: Sandbox) -> None:
    async def cancel() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(
                sandbox.run_python({"main.py": "import time\ntime.sleep(30)"}, "main.py"), 0.5
            )

    asyncio.run(cancel())
    assert wait_no_sandbox_processes() == []


# --- network ----------------------------------------------------------------------------------


@needs_bwrap
def test_no_connection_to_the_hosts_loopback(sandbox: Sandbox) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run(
            sandbox,
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('ESCAPED')\n",
        )
        assert_failed(result)
        assert last_exception(result) == "ConnectionRefusedError", result.stderr
        assert result.killed_reason == "network"
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody ever connected


@needs_bwrap
def test_no_route_outside(sandbox: Sandbox) -> None:
    # No interface but the sandbox's own loopback: the connect fails before any packet is sent.
    result = run(
        sandbox, "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=5)\nprint('ESCAPED')\n"
    )
    assert_failed(result)
    assert "Network is unreachable" in result.stderr, result.stderr
    assert result.killed_reason == "network"
    assert result.wall_seconds < 2


@needs_bwrap
def test_name_resolution_and_shell_network_tools_are_reported(sandbox: Sandbox) -> None:
    lookup = run(sandbox, "import socket\nsocket.getaddrinfo('example.com', 443)\nprint('ESCAPED')\n")
    assert_failed(lookup)
    assert lookup.killed_reason == "network", lookup.stderr
    # The same refusal from a program that is not Python, through Sandbox.run.
    shell = asyncio.run(
        sandbox.run(["python3", "-S", "-c", "import socket; socket.create_connection(('10.1.2.3', 80))"])
    )
    assert not shell.ok and shell.killed_reason == "network", shell.stderr


@needs_bwrap
def test_a_caught_refusal_is_not_what_ended_the_program(sandbox: Sandbox) -> None:
    source = (
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "except OSError as exc:\n    print('no network:', exc)\nraise SystemExit(3)\n"
    )
    result = run(sandbox, source)
    assert result.exit_code == 3 and result.killed_reason is None


# --- resource exhaustion ----------------------------------------------------------------------


@needs_bwrap
def test_fork_bomb_is_bounded_and_cleaned_up() -> None:
    sandbox = Sandbox(SandboxLimits(cpu_seconds=5, wall_seconds=2, processes=32))
    result = run(
        sandbox,
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    )
    assert_failed(result)
    assert result.killed_reason in ("timeout", "cpu"), result
    assert result.wall_seconds < 4
    assert wait_no_sandbox_processes() == []


@needs_bwrap
def test_process_limit_stops_forking() -> None:
    sandbox = Sandbox(SandboxLimits(processes=16))
    source = (
        "import os, time\nchildren = 0\nwhile True:\n"
        "    pid = os.fork()\n    if pid == 0:\n        time.sleep(30)\n    children += 1\n"
    )
    result = run(sandbox, source)
    assert_failed(result)
    assert last_exception(result) == "BlockingIOError", result.stderr
    assert result.killed_reason == "processes"
    assert wait_no_sandbox_processes() == []


@needs_bwrap
def test_thread_and_subprocess_limits_are_reported() -> None:
    sandbox = Sandbox(SandboxLimits(processes=8))
    threads = run(
        sandbox,
        "import threading, time\nwhile True:\n"
        "    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n",
    )
    assert_failed(threads)
    assert threads.killed_reason == "processes", threads.stderr
    spawning = run(
        sandbox,
        "import subprocess, sys\nkids = []\nwhile True:\n"
        "    kids.append(subprocess.Popen([sys.executable, '-S', '-c', 'import time; time.sleep(30)']))\n",
    )
    assert_failed(spawning)
    assert spawning.killed_reason == "processes", spawning.stderr
    assert wait_no_sandbox_processes() == []


@needs_bwrap
def test_memory_bomb(sandbox: Sandbox) -> None:
    result = run(sandbox, "b = bytearray()\nwhile True:\n    b.extend(bytes(10**7))\n")
    assert_failed(result)
    assert result.killed_reason == "memory" and last_exception(result) == "MemoryError"


@needs_bwrap
def test_infinite_loop_hits_the_cpu_limit() -> None:
    result = run(Sandbox(SandboxLimits(cpu_seconds=1, wall_seconds=5)), "while True:\n    pass\n")
    assert_failed(result)
    assert result.killed_reason == "cpu" and result.signal is not None and not result.timed_out


@needs_bwrap
def test_sleeping_forever_hits_the_wall_clock() -> None:
    result = run(Sandbox(SandboxLimits(wall_seconds=1)), "import time\ntime.sleep(60)\n")
    assert_failed(result)
    assert result.timed_out and result.killed_reason == "timeout" and result.exit_code is None
    assert 1 <= result.wall_seconds < 3


@needs_bwrap
def test_big_file_hits_the_file_size_limit(sandbox: Sandbox) -> None:
    result = run(sandbox, "open('big', 'wb').write(bytes(4 << 20))\n")
    assert_failed(result)
    assert result.killed_reason == "file_size", result.stderr


@needs_bwrap
def test_many_files_fill_only_the_capped_tmpfs(sandbox: Sandbox) -> None:
    result = run(sandbox, "for i in range(100):\n    open(f'/tmp/f{i}', 'wb').write(bytes(512 << 10))\n")
    assert_failed(result)
    assert result.killed_reason == "file_size" and "No space left" in result.stderr


@needs_bwrap
def test_endless_output_is_capped_and_killed(sandbox: Sandbox) -> None:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run(
        sandbox, "import sys\nwhile True:\n    print('x' * 1000)\n    sys.stderr.write('e' * 1000)\n"
    )
    assert_failed(result)
    assert result.killed_reason == "output"
    cap = LIMITS.output_bytes
    assert len(result.stdout.encode()) == cap and result.stdout_truncated
    assert len(result.stderr.encode()) <= cap and result.stderr_truncated
    # Discarded, not buffered: the runner's peak memory barely moves (ru_maxrss is in KiB).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 64 * 1024


@needs_bwrap
def test_large_finite_output_is_truncated_but_the_program_passes(sandbox: Sandbox) -> None:
    result = run(sandbox, "print('é' * 300_000)\n")  # 600 kB of UTF-8
    assert result.ok and result.killed_reason is None
    assert result.stdout_truncated and len(result.stdout) <= LIMITS.output_bytes


# --- the host's files -------------------------------------------------------------------------


@pytest.fixture
def project_sentinel() -> Iterator[Path]:
    """A directory with a file inside the project (under the git-ignored .benchroute/)."""
    folder = PROJECT / ".benchroute" / f"sandbox-sentinel-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    (folder / "keep.txt").write_text("project secret")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@needs_bwrap
@pytest.mark.parametrize(
    "target",
    ["/etc/benchroute-sandbox-x", str(PROJECT / "benchroute-sandbox-x"), "/root/benchroute-sandbox-x", "/x"],
)
def test_writing_outside_the_work_dir_fails(sandbox: Sandbox, target: str) -> None:
    result = run(sandbox, f"open({target!r}, 'w').write('pwned')\nprint('ESCAPED')\n")
    assert_failed(result)
    assert last_exception(result) in ("PermissionError", "FileNotFoundError", "OSError"), result.stderr
    assert not os.path.exists(target)
    if last_exception(result) == "OSError" and "Read-only file system" in result.stderr:
        assert result.killed_reason == "read_only"


@needs_bwrap
def test_writes_to_the_read_only_system_are_reported(sandbox: Sandbox) -> None:
    for target in ("/x", "/usr/benchroute-sandbox-x", "/etc/benchroute-sandbox-x"):
        result = run(sandbox, f"open({target!r}, 'w').write('pwned')\nprint('ESCAPED')\n")
        assert_failed(result)
        assert "Read-only file system" in result.stderr, (target, result.stderr)
        assert result.killed_reason == "read_only", (target, result.stderr)
    shell = asyncio.run(sandbox.run(["sh", "-c", "echo x > /usr/owned"]))
    assert not shell.ok and shell.killed_reason == "read_only", shell.stderr


@needs_bwrap
def test_reading_the_runners_environment_fails(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHROUTE_TEST_SECRET", "s3cret")
    source = (
        "import os\nprint(dict(os.environ))\n"
        "found = 's3cret' in str(os.environ)\n"
        "for pid in os.listdir('/proc'):\n"
        "    if pid.isdigit():\n"
        "        try:\n"
        "            found |= b's3cret' in open(f'/proc/{pid}/environ', 'rb').read()\n"
        "        except OSError:\n"
        "            pass\n"
        "if found:\n    print('ESCAPED')\n"
        "print(open('/proc/1/environ', 'rb').read())\n"
    )
    result = run(Sandbox(LIMITS), source)
    assert "s3cret" not in result.stdout + result.stderr
    assert_failed(result)
    if os.geteuid() == 0:  # the sandbox's init is root, the program is not
        assert last_exception(result) == "PermissionError", result.stderr


@needs_bwrap
def test_reading_host_files_fails(sandbox: Sandbox, tmp_path: Path, project_sentinel: Path) -> None:
    home_sentinel = tmp_path / "home-sentinel.txt"  # the real /tmp is hidden as well
    home_sentinel.write_text("home secret")
    targets = [PROJECT / "pyproject.toml", project_sentinel / "keep.txt", home_sentinel]
    if (Path.home() / ".bashrc").exists():
        targets.append(Path.home() / ".bashrc")
    for target in targets:
        result = run(sandbox, f"print(open({str(target)!r}).read())\nprint('ESCAPED')\n")
        assert_failed(result)
        assert last_exception(result) == "FileNotFoundError", (target, result.stderr)
        assert "secret" not in result.stdout and "[project]" not in result.stdout


@needs_bwrap
def test_deleting_host_files_fails(sandbox: Sandbox, tmp_path: Path, project_sentinel: Path) -> None:
    tmp_sentinel = tmp_path / "sentinel"
    tmp_sentinel.mkdir()
    (tmp_sentinel / "keep.txt").write_text("keep")
    for target in (project_sentinel, tmp_sentinel):
        result = run(sandbox, f"import shutil\nshutil.rmtree({str(target)!r})\nprint('ESCAPED')\n")
        assert_failed(result)
        assert (target / "keep.txt").exists()
    result = run(sandbox, "import os, sys\nos.remove(sys.executable)\nprint('ESCAPED')\n")
    assert_failed(result)
    assert os.path.exists(os.path.realpath(sys._base_executable))  # type: ignore[attr-defined]


@needs_bwrap
def test_killing_the_runner_fails(sandbox: Sandbox) -> None:
    victim = subprocess.Popen(["sleep", "60"])
    try:
        for target in ("os.getppid()", str(os.getpid()), str(victim.pid), "1"):
            # Killing the sandbox's own init from inside its pid namespace is silently dropped
            # (non-root mode); the program then sees its target alive and fails.
            source = (
                f"import os, signal, time\ntarget = {target}\nos.kill(target, signal.SIGKILL)\n"
                "time.sleep(0.2)\ntry:\n    os.kill(target, 0)\nexcept ProcessLookupError:\n"
                "    print('ESCAPED')\nraise SystemExit('still alive')\n"
            )
            assert_failed(run(sandbox, source))
        assert victim.poll() is None  # the host process it was told to kill is alive
        os.kill(os.getpid(), 0)  # and so is this one
    finally:
        victim.kill()
        victim.wait()


# --- configuration and the missing-bwrap path ------------------------------------------------


def test_missing_bwrap_names_the_package_and_the_weak_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_a, **_k: None)
    with pytest.raises(SandboxUnavailable) as caught:
        Sandbox()
    error = caught.value
    assert isinstance(error, BenchrouteError)
    assert "bubblewrap" in error.message and "apt-get install bubblewrap" in error.message
    assert error.hint is not None and "weak" in error.hint

    weak = Sandbox(weak=True)
    assert weak.mode == "weak"
    result = weak.run_python_sync(
        {"main.py": "import os\nprint(input(), sorted(os.environ))"}, "main.py", stdin="hi"
    )
    assert result.ok, result.stderr
    assert result.stdout.startswith("hi ") and "BENCHROUTE" not in result.stdout


def test_weak_mode_still_limits() -> None:
    weak = Sandbox(SandboxLimits(cpu_seconds=1, wall_seconds=5, memory_mb=256), weak=True)
    assert weak.run_python_sync({"m.py": "while True: pass"}, "m.py").killed_reason == "cpu"
    assert weak.run_python_sync({"m.py": "b = bytes(10**9)"}, "m.py").killed_reason == "memory"
    slow = Sandbox(SandboxLimits(wall_seconds=1), weak=True).run_python_sync(
        {"m.py": "import subprocess\nsubprocess.run(['sleep', '30'])"}, "m.py"
    )
    assert slow.killed_reason == "timeout" and slow.wall_seconds < 3


def test_bad_limits_and_file_names_are_rejected() -> None:
    with pytest.raises(ConfigError, match="memory_mb"):
        SandboxLimits(memory_mb=0)
    weak = Sandbox(weak=True)
    with pytest.raises(ValueError, match="entry"):
        weak.run_python_sync({"a.py": ""}, "b.py")
    with pytest.raises(ValueError, match="relative"):
        weak.run_python_sync({"../a.py": ""}, "../a.py")


def test_run_python_sync_inside_an_event_loop() -> None:
    async def inside() -> ExecutionResult:
        return Sandbox(weak=True).run_python_sync({"m.py": "print(1)"}, "m.py")

    assert asyncio.run(inside()).stdout == "1\n"


def test_without_pidfd_the_exit_is_polled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "pidfd_open")
    weak = Sandbox(SandboxLimits(wall_seconds=1), weak=True)
    assert weak.run_python_sync({"m.py": "print('done')"}, "m.py").stdout == "done\n"
    assert weak.run_python_sync({"m.py": "import time\ntime.sleep(9)"}, "m.py").killed_reason == "timeout"


@needs_bwrap
def test_ignoring_sigxcpu_still_ends_on_the_cpu_limit() -> None:
    source = "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n"
    result = run(Sandbox(SandboxLimits(cpu_seconds=1, wall_seconds=6)), source)
    assert_failed(result)
    assert result.signal == 9 and result.killed_reason == "cpu" and not result.timed_out


@needs_bwrap
def test_unencodable_source_is_a_failed_run_not_an_exception(sandbox: Sandbox) -> None:
    result = run(sandbox, "print('\ud800')\n")
    assert not result.ok and last_exception(result) == "SyntaxError", result.stderr


def test_limits_must_be_positive_and_whole_where_they_count() -> None:
    with pytest.raises(ConfigError, match="whole number"):
        SandboxLimits(memory_mb=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cpu_seconds"):
        SandboxLimits(cpu_seconds=-1)
    assert SandboxLimits(cpu_seconds=0.5, wall_seconds=1).cpu_seconds == 0.5


# --- other languages: any program on the sandbox's /usr, same isolation -------------------------


def test_run_executes_other_languages_with_the_same_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHROUTE_TEST_SECRET", "s3cret-for-run")
    sandbox = Sandbox()
    source = '#include <stdio.h>\nint main(void) { printf("c says %d\\n", 6 * 7); return 0; }\n'
    compiled = asyncio.run(sandbox.run(["sh", "-c", "cc main.c -o main && ./main"], {"main.c": source}))
    assert compiled.ok, compiled.stderr
    assert compiled.stdout == "c says 42\n"
    snooping = asyncio.run(
        sandbox.run(["sh", "-c", "env; cat /work/main/pyproject.toml; ls /root; echo x > /etc/owned"])
    )
    assert "s3cret-for-run" not in snooping.stdout + snooping.stderr
    assert "[project]" not in snooping.stdout
    assert not os.path.exists("/etc/owned")
    missing = asyncio.run(sandbox.run(["no-such-program"]))
    assert missing.exit_code == 127 and "no-such-program" in missing.stderr


# --- what stopped a program: read from its final error -------------------------------------------


def classify_stderr(stderr: str) -> str | None:
    from benchroute.sandbox._limits import classify

    return classify(
        timed_out=False,
        output_killed=False,
        exit_code=1,
        signal=None,
        cpu_used=0.0,
        limits=LIMITS,
        stderr=stderr,
    )


def test_eagain_counts_as_the_process_limit_only_from_a_spawn() -> None:
    fork = 'Traceback (most recent call last):\n  File "main.py", line 3, in <module>\n    os.fork()\n'
    assert (
        classify_stderr(fork + "BlockingIOError: [Errno 11] Resource temporarily unavailable\n")
        == "processes"
    )
    read = 'Traceback (most recent call last):\n  File "main.py", line 3, in <module>\n    sock.recv(1)\n'
    assert classify_stderr(read + "BlockingIOError: [Errno 11] Resource temporarily unavailable\n") is None
    assert classify_stderr("RuntimeError: can't start new thread\n") == "processes"
    assert classify_stderr("sh: 1: Cannot fork\n") == "processes"


def test_network_and_read_only_errors_are_named() -> None:
    assert classify_stderr("OSError: [Errno 101] Network is unreachable\n") == "network"
    assert classify_stderr(
        "urllib.error.URLError: <urlopen error [Errno -3] Temporary failure in name resolution>\n"
    ) == ("network")
    assert classify_stderr("OSError: [Errno 30] Read-only file system: '/x'\n") == "read_only"
    assert classify_stderr("ValueError: invalid literal\n") is None
    # Only the error that ended the program counts, not one printed on the way.
    assert classify_stderr("OSError: [Errno 101] Network is unreachable\nAssertionError\n") is None


def test_the_public_surface_is_pinned() -> None:
    import benchroute.sandbox

    assert benchroute.sandbox.__all__ == ["ExecutionResult", "Sandbox", "SandboxLimits", "SandboxUnavailable"]
    assert benchroute.sandbox.Sandbox is Sandbox
