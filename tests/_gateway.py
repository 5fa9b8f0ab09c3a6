"""The real gateway in a subprocess, for the gateway tests: ``benchroute gateway serve`` on a
free port, talked to over HTTP (the official ``openai`` SDK or httpx)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import yaml

BENCHROUTE = [sys.executable, "-m", "benchroute"]
_READY = re.compile(r"serving on (http://\S+)")


def write_gateway_project(
    folder: Path, models: dict[str, dict[str, Any]], gateway: dict[str, Any] | None = None
) -> Path:
    data: dict[str, Any] = {"store": str(folder / "store.db"), "models": models}
    if gateway is not None:
        data["gateway"] = gateway
    path = folder / "benchroute.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class GatewayProcess:
    """``benchroute gateway serve --config PATH --port 0`` until :meth:`stop`."""

    def __init__(
        self, config: Path, env: dict[str, str] | None = None, extra: list[str] | None = None
    ) -> None:
        self.config = config
        self._env = {**os.environ, **(env or {})}
        self._extra = extra or []
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self._stderr: list[str] = []
        self._reader: threading.Thread | None = None

    def start(self, timeout_s: float = 30.0) -> GatewayProcess:
        self.process = subprocess.Popen(
            [*BENCHROUTE, "gateway", "serve", "--config", str(self.config), "--port", "0", *self._extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=self._env,
        )
        ready = threading.Event()
        stderr = self.process.stderr
        assert stderr is not None

        def read() -> None:
            for line in stderr:
                self._stderr.append(line)
                found = _READY.search(line)
                if found and not self.url:
                    self.url = found.group(1)
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not ready.wait(timeout_s) or not self.url:
            self.stop()
            raise RuntimeError(f"the gateway did not start: {self.stderr}")
        return self

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def client(self, **kwargs: Any) -> Any:
        import openai

        return openai.OpenAI(base_url=self.base_url, api_key="unused", max_retries=0, **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        import openai

        return openai.AsyncOpenAI(base_url=self.base_url, api_key="unused", max_retries=0, **kwargs)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM, then wait; returns the exit code."""
        if self.process is None:
            return None
        self.terminate()
        try:
            code = self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self._reader is not None:
            self._reader.join(5)
        return code

    def __enter__(self) -> GatewayProcess:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def openai_model(fake_base_url: str, model: str, **extra: Any) -> dict[str, Any]:
    return {"provider": "openai", "model": model, "base_url": fake_base_url, **extra}


def closed_port_url() -> str:
    """The base URL of a loopback port nobody listens on (connections are refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
