"""The project's fake server (``python -m benchroute.testing``) as a separate process for the
benchmarks: started on a free port, its request counter reset and read over HTTP, its CPU read
from /proc, so that it is measured apart from the harness under test."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
MAIN_PYTHON = REPO_DIR / ".venv" / "bin" / "python"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def src_env() -> dict[str, str]:
    """The environment with the source tree first on PYTHONPATH (works before an install)."""
    path = os.environ.get("PYTHONPATH", "")
    src = str(REPO_DIR / "src")
    return {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{path}" if path else src}


class FakeServerProcess:
    """``python -m benchroute.testing --port 0 [extra args]`` until :meth:`stop`."""

    def __init__(self, log_path: Path, extra_args: list[str] | None = None) -> None:
        self.log_path = log_path
        self.extra_args = extra_args or []
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    @staticmethod
    def command() -> list[str]:
        return [str(MAIN_PYTHON), "-m", "benchroute.testing"]

    def start(self, timeout: float = 60.0) -> str:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        errors = self.log_path.open("w")
        self._proc = subprocess.Popen(
            [*self.command(), "--port", "0", *self.extra_args],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            bufsize=1,
            env=src_env(),
        )
        found: list[str] = []

        def read_ready() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:  # keep draining so the server never blocks on a pipe
                if not found and line.startswith("READY "):
                    found.append(line.split()[1].rstrip("/"))

        threading.Thread(target=read_ready, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(
                    f"fake server did not print READY (see {self.log_path}):\n"
                    + self.log_path.read_text()[-2000:]
                )
            time.sleep(0.05)
        self.url = found[0]
        return self.url

    def _call(self, path: str, method: str = "GET") -> dict[str, Any]:
        data = b"" if method == "POST" else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body.strip() else {}

    def reset(self) -> None:
        self._call("/_reset", "POST")

    def stats(self) -> dict[str, Any]:
        return self._call("/_stats")

    def requests(self) -> int:
        return int(self.stats()["requests"])

    def cpu_seconds(self) -> float:
        assert self._proc is not None
        fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
