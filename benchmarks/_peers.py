"""The gateway benchmarks' processes: the benchroute gateway, the LiteLLM proxy and the Portkey
gateway, each installed (peers) into its own environment under ``~/.cache/benchroute/peers``
and run as its own process tree, with that tree's CPU time and peak memory read from /proc;
plus the load generator (``benchmarks/_loadgen.py``), also a process of its own.

Peers are installed once per pinned version and reused: LiteLLM into a venv made from the
running interpreter's base Python (``pip install 'litellm[proxy]==VERSION'``, from PyPI;
``--pip-find-links`` adds a local wheel folder), Portkey with ``npm install --prefix``. Both
run with ``HTTP(S)_PROXY`` pointing at a closed local port and ``NO_PROXY`` covering
loopback, so a stray telemetry or price-map call fails at once instead of reaching out.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _fakeserver import MAIN_PYTHON, REPO_DIR, src_env

PEERS_DIR = Path(os.environ.get("BENCHROUTE_PEERS_DIR", Path.home() / ".cache" / "benchroute" / "peers"))
LITELLM_VERSION = "1.108.7"
PORTKEY_VERSION = "1.15.2"
GRANIAN_VERSION = "2.8.9"
# Portkey 1.15.2 takes any @hono/node-server ^1.3.3; npm resolves 1.19.x today, with which every
# streamed chat completion answers 500 ("TypeError: immutable" in its updateHeaders: upstream
# issues Portkey-AI/gateway#1389 and #1550). 1.13.8 is the newest here that streams.
HONO_NODE_SERVER = "1.13.8"
BENCH_KEY = "sk-bench-upstream"  # the fake upstream's key (not a secret)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port_proxy_env() -> dict[str, str]:
    """Proxy variables that make any non-loopback call fail at once (a closed local port)."""
    closed = f"http://127.0.0.1:{free_port()}"
    loopback = "127.0.0.1,localhost,::1"
    return {
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "http_proxy": closed,
        "https_proxy": closed,
        "NO_PROXY": loopback,
        "no_proxy": loopback,
    }


# process trees ------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        for task in tasks:
            text = (task / "children").read_text().split()
            found.extend(int(c) for c in text)
    except OSError:
        return []
    return found


def tree_pids(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(_children(current))
    return pids


def _stat_cpu(pid: int) -> float:
    """user + system seconds of ``pid`` and the children it waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLK_TCK


def _hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Tree:
    """CPU and peak memory of a process tree, read from /proc (children seen so far kept:
    a child that exits keeps its CPU in its parent's waited-for counters)."""

    pid: int
    seen: dict[int, float] = field(default_factory=dict)  # pid -> last CPU seconds read

    def cpu_seconds(self) -> float:
        for pid in tree_pids(self.pid):
            self.seen[pid] = _stat_cpu(pid)
        return sum(self.seen.values())

    def peak_rss_mb(self) -> float:
        """Sum over the live processes of each one's peak resident set (VmHWM)."""
        return sum(_hwm_mb(pid) for pid in tree_pids(self.pid))


# gateways -----------------------------------------------------------------------------------
class Gateway:
    """One gateway under test: started, its base URL, request headers, its process tree."""

    name = ""
    version = ""

    def __init__(self, workdir: Path, upstream: str) -> None:
        self.workdir = workdir
        self.upstream = upstream  # http://127.0.0.1:PORT (no /v1)
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.tree: Tree | None = None
        self.log_path = workdir / f"{self.name}.log"
        self.started_s: float | None = None

    # what the load generator sends
    model = "fake-model"

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {BENCH_KEY}"}

    def install(self) -> None:
        """Install the gateway if it is not there at its pinned version."""

    def command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def ready_probe(self) -> bool:
        return _http_ok(self.url + "/")

    def start(self, timeout: float = 120.0) -> None:
        argv, env = self.command()
        self.workdir.mkdir(parents=True, exist_ok=True)
        out = self.log_path.open("wb")
        began = time.monotonic()
        self.proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.workdir, start_new_session=True
        )
        self.tree = Tree(self.proc.pid)
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"{self.name} exited at start (see {self.log_path}):\n{_tail(self.log_path)}"
                )
            if self.url and self.ready_probe():
                break
            self._find_url()
            if time.monotonic() - began > timeout:
                self.stop()
                raise SystemExit(f"{self.name} not ready in {timeout:g} s (see {self.log_path})")
            time.sleep(0.1)
        self.started_s = time.monotonic() - began

    def _find_url(self) -> None:
        """Subclasses with a fixed port set ``self.url`` in command(); others parse the log."""

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        self.proc = None


def _http_ok(url: str, headers: dict[str, str] | None = None) -> bool:
    try:
        request = urllib.request.Request(url, headers=headers or {})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=2) as response:
            return bool(200 <= response.status < 300)
    except Exception:
        return False


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


class Direct(Gateway):
    """No gateway: the load generator talks to the fake upstream (the measured ceiling)."""

    name = "direct"

    def start(self, timeout: float = 0) -> None:
        self.url = self.upstream
        self.started_s = 0.0

    def stop(self) -> None:
        pass


class Bare(Gateway):
    """``_bare_proxy.py``: benchroute's server and client stack with nothing in between — the
    floor any gateway built on it can reach on this machine (see that file's doc)."""

    name = "bare"
    version = "uvicorn+aiohttp"

    def headers(self) -> dict[str, str]:
        return {}

    def command(self) -> tuple[list[str], dict[str, str]]:
        script = Path(__file__).with_name("_bare_proxy.py")
        argv = [str(MAIN_PYTHON), str(script), "--upstream", self.upstream, "--key", BENCH_KEY]
        return argv, {**src_env(), **closed_port_proxy_env()}

    def _find_url(self) -> None:
        found = re.search(r"serving on (http://[0-9.:]+)", _tail(self.log_path, 100_000))
        if found:
            self.url = found.group(1)


class GranianBare(Gateway):
    """The same pass-through app as ``bare`` (``_bare_proxy.BareProxy``, one aiohttp session)
    served by granian (Rust HTTP server, ASGI interface, uvloop, one worker) instead of
    uvicorn: the measurement behind the gateway's choice of server. granian is installed by
    this script into its own venv; the app's own imports come from this checkout's venv."""

    name = "bare-granian"
    version = "granian " + GRANIAN_VERSION

    def __init__(self, workdir: Path, upstream: str, *, find_links: str | None = None) -> None:
        super().__init__(workdir, upstream)
        self.find_links = find_links
        self.venv = PEERS_DIR / f"granian-{GRANIAN_VERSION}"

    def headers(self) -> dict[str, str]:
        return {}

    def install(self) -> None:
        python = self.venv / "bin" / "python"
        if python.exists() and _installed(python, "granian") == GRANIAN_VERSION:
            return
        pip_install(self.venv, [f"granian=={GRANIAN_VERSION}"], self.find_links)

    def command(self) -> tuple[list[str], dict[str, str]]:
        import sysconfig

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        here = str(Path(__file__).resolve().parent)
        paths = [here, sysconfig.get_paths()["purelib"]]
        env = {
            **src_env(),
            **closed_port_proxy_env(),
            "BARE_UPSTREAM": self.upstream,
            "BARE_KEY": BENCH_KEY,
        }
        env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        argv = [str(self.venv / "bin" / "granian"), "--interface", "asgi", "--factory"]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--loop", "uvloop"]
        return [*argv, "--no-ws", "--log-level", "warning", "_bare_proxy:from_environment"], env


class Benchroute(Gateway):
    """``benchroute gateway serve --config benchroute.yaml --port 0`` (this checkout)."""

    name = "benchroute"
    model = "bench"

    def __init__(
        self, workdir: Path, upstream: str, candidates: list[str] | None = None, *, timeout_s: float = 10.0
    ) -> None:
        super().__init__(workdir, upstream)
        self.candidates = candidates or [f"{upstream}/v1"]
        self.timeout_s = timeout_s
        from benchroute import __version__

        self.version = __version__

    def headers(self) -> dict[str, str]:
        return {}

    def config_text(self) -> str:
        models = "\n".join(
            f"  up{i}: {{provider: openai, model: fake-model, base_url: '{base}', "
            f"api_key_env: BENCH_UPSTREAM_KEY, timeout: {self.timeout_s:g}}}"
            for i, base in enumerate(self.candidates)
        )
        names = ", ".join(f"up{i}" for i in range(len(self.candidates)))
        return (
            f"store: sqlite:///{self.workdir / 'gateway.db'}\n"
            f"models:\n{models}\n"
            f"gateway:\n  aliases: {{bench: [{names}]}}\n  attempt_timeout_s: {self.timeout_s:g}\n"
        )

    def command(self) -> tuple[list[str], dict[str, str]]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "benchroute.yaml"
        config.write_text(self.config_text())
        env = {**src_env(), **closed_port_proxy_env(), "BENCH_UPSTREAM_KEY": BENCH_KEY}
        benchroute = REPO_DIR / ".venv" / "bin" / "benchroute"
        argv = [str(benchroute), "gateway", "serve", "--config", str(config), "--host", "127.0.0.1"]
        return [*argv, "--port", "0"], env

    def _find_url(self) -> None:
        found = re.search(r"serving on (http://[0-9.:]+)", _tail(self.log_path, 100_000))
        if found:
            self.url = found.group(1)

    def ready_probe(self) -> bool:
        return _http_ok(self.url + "/readyz")


class BenchrouteRouted(Benchroute):
    """The same gateway with a routing policy: requests ask for ``model: benchroute`` and are
    classified by five rules (none of which matches the benchmark's prompt, so every rule is
    tried) into the default class, whose route is the one upstream. The policy is a file the
    gateway watches, so the row also carries the reload loop's polling."""

    name = "benchroute-routed"
    model = "benchroute"

    def config_text(self) -> str:
        policy = self.workdir / "policy.yaml"
        names = [f"up{i}" for i in range(len(self.candidates))]
        route = ", ".join(f"{{model: {name}}}" for name in names)
        policy.write_text(
            "format: benchroute.policy/1\n"
            "default_class: general\n"
            "rules:\n"
            "  - {class: code, regex: '```|\\bdef\\b'}\n"
            "  - {class: summarise, keywords: [summarise, summary, 'tl;dr']}\n"
            "  - {class: extract, json_mode: true}\n"
            "  - {class: vision, images: true}\n"
            "  - {class: long, min_prompt_chars: 20000}\n"
            "classes:\n"
            + "".join(
                f"  {c}: {{route: [{route}]}}\n"
                for c in ("general", "code", "summarise", "extract", "vision", "long")
            )
        )
        return (
            super().config_text()
            + "routing:\n"
            + "  classes: {general: {suites: [bench]}}\n"
            + f"  policy_file: {policy}\n"
            + "  reload_s: 1\n"
        )


class LiteLLM(Gateway):
    """The LiteLLM proxy (``litellm[proxy]``) in one process, no database."""

    name = "litellm"
    version = LITELLM_VERSION
    model = "bench"

    def __init__(
        self,
        workdir: Path,
        upstream: str,
        candidates: list[str] | None = None,
        *,
        find_links: str | None = None,
        otel_sdk: bool = False,
        timeout_s: float | None = None,
    ) -> None:
        super().__init__(workdir, upstream)
        self.candidates = candidates or [f"{upstream}/v1"]
        self.find_links = find_links
        self.otel_sdk = otel_sdk
        self.timeout_s = timeout_s
        self.venv = PEERS_DIR / f"litellm-{LITELLM_VERSION}"

    @property
    def otel_configuration(self) -> str:
        return (
            "opentelemetry-sdk installed"
            if self.otel_sdk
            else "as installed by litellm[proxy] (OpenTelemetry API only, no SDK, no exporter)"
        )

    def install(self) -> None:
        python = self.venv / "bin" / "python"
        wanted = ["litellm[proxy]==" + LITELLM_VERSION]
        if self.otel_sdk:
            wanted.append("opentelemetry-sdk")
        current = python.exists() and _installed(python, "litellm") == LITELLM_VERSION
        if current and (not self.otel_sdk or _installed(python, "opentelemetry-sdk")):
            return
        pip_install(self.venv, wanted, self.find_links)

    def command(self) -> tuple[list[str], dict[str, str]]:
        import yaml

        self.workdir.mkdir(parents=True, exist_ok=True)
        # One model group per candidate, in order: "bench" and its fallbacks (LiteLLM's way to
        # say "try these in this order"; one group of several deployments would load-balance).
        groups = ["bench", *(f"bench-fallback-{i}" for i in range(1, len(self.candidates)))]
        params: dict[str, Any] = {"model": "openai/fake-model", "api_key": BENCH_KEY}
        if self.timeout_s is not None:
            params["timeout"] = self.timeout_s
        config: dict[str, Any] = {
            "model_list": [
                {"model_name": group, "litellm_params": {**params, "api_base": base}}
                for group, base in zip(groups, self.candidates, strict=True)
            ],
            "litellm_settings": {"drop_params": True},
        }
        if len(groups) > 1:
            config["router_settings"] = {"fallbacks": [{"bench": groups[1:]}]}
        path = self.workdir / "litellm.yaml"
        path.write_text(yaml.safe_dump(config))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "PYTHONPATH")}
        env.update(closed_port_proxy_env())
        # It refuses to start without a master key (no database: checked in memory).
        env.update(
            {
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_TELEMETRY": "False",
                "LITELLM_MASTER_KEY": self.master_key,
            }
        )
        argv = [str(self.venv / "bin" / "litellm"), "--config", str(path)]
        return [*argv, "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"], env

    master_key = "sk-" + "5e" * 32  # the proxy's own key for this run (not a secret)

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.master_key}"}

    def ready_probe(self) -> bool:
        return _http_ok(self.url + "/health/liveliness")


class Portkey(Gateway):
    """The Portkey open-source gateway (``@portkey-ai/gateway``, Node), headless; the upstream
    comes from the request headers ``x-portkey-provider`` and ``x-portkey-custom-host``."""

    name = "portkey"
    version = PORTKEY_VERSION

    def __init__(self, workdir: Path, upstream: str) -> None:
        super().__init__(workdir, upstream)
        self.prefix = PEERS_DIR / f"portkey-{PORTKEY_VERSION}"
        self.package = self.prefix / "node_modules" / "@portkey-ai" / "gateway"

    def headers(self) -> dict[str, str]:
        return {
            "authorization": f"Bearer {BENCH_KEY}",
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": f"{self.upstream}/v1",
        }

    def install(self) -> None:
        manifest = self.package / "package.json"
        server = self.prefix / "node_modules" / "@hono" / "node-server" / "package.json"
        if (
            manifest.exists()
            and json.loads(manifest.read_text()).get("version") == PORTKEY_VERSION
            and server.exists()
            and json.loads(server.read_text()).get("version") == HONO_NODE_SERVER
            and not (self.package / "node_modules" / "@hono" / "node-server").exists()
        ):
            return
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit(
                "portkey: npm is not on PATH (install Node 20, or leave out portkey with --only)"
            )
        log(
            f"installing @portkey-ai/gateway@{PORTKEY_VERSION} (@hono/node-server {HONO_NODE_SERVER}) "
            f"into {self.prefix} (npm)"
        )
        if self.prefix.exists():
            shutil.rmtree(self.prefix)
        self.prefix.mkdir(parents=True)
        (self.prefix / "package.json").write_text(
            json.dumps(
                {
                    "name": "portkey-peer",
                    "private": True,
                    "dependencies": {"@portkey-ai/gateway": PORTKEY_VERSION},
                    "overrides": {"@hono/node-server": HONO_NODE_SERVER},
                }
            )
        )
        subprocess.run([npm, "install", "--no-audit", "--no-fund"], check=True, cwd=self.prefix)

    def command(self) -> tuple[list[str], dict[str, str]]:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, **closed_port_proxy_env(), "NODE_ENV": "production"}
        node = shutil.which("node") or "node"
        return [node, str(self.package / "build" / "start-server.js"), f"--port={port}", "--headless"], env


def pip_install(venv: Path, wanted: list[str], find_links: str | None = None) -> None:
    """Install ``wanted`` from PyPI (or ``find_links``) into the venv ``venv``, made if missing."""
    log(f"installing {' '.join(wanted)} into {venv} (PyPI)")
    python = venv / "bin" / "python"
    if not python.exists():
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    extra = ["--find-links", find_links] if find_links else []
    subprocess.run([str(python), "-m", "pip", "install", "-q", *extra, *wanted], check=True)


def _installed(python: Path, dist: str) -> str | None:
    proc = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() or None if proc.returncode == 0 else None


# the load generator -------------------------------------------------------------------------
@dataclass
class Load:
    """What one load-generator run measured (see _loadgen.py)."""

    ok: int
    errors: int
    statuses: dict[str, int]
    wall_s: float
    latency_ms: list[float]
    ttft_ms: list[float]
    gateway_cpu_s: float | None = None
    upstream_requests: int | None = None
    timeline: list[list[float]] | None = None  # open loop: [start s, status, latency ms]

    @property
    def throughput(self) -> float:
        return self.ok / self.wall_s if self.wall_s > 0 else 0.0


def run_load(
    url: str,
    *,
    model: str,
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    stream: bool,
    warmup_s: float = 1.0,
    tree: Tree | None = None,
    on_go: Callable[[], None] | None = None,
    extra: list[str] | None = None,
) -> Load:
    """Run ``_loadgen.py`` in its own process: it warms up, says READY, waits for "go" (when
    the gateway's CPU counter is read), measures for ``seconds`` and prints its figures."""
    argv = [
        str(MAIN_PYTHON),
        str(Path(__file__).with_name("_loadgen.py")),
        "--url",
        url,
        "--model",
        model,
        "--headers",
        json.dumps(headers),
        "--concurrency",
        str(concurrency),
        "--seconds",
        str(seconds),
        "--warmup",
        str(warmup_s),
        *(["--stream"] if stream else []),
        *(extra or []),
    ]
    env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "READY":
        proc.kill()
        raise SystemExit(f"load generator failed before measuring: {line!r}")
    if on_go is not None:
        on_go()
    before = tree.cpu_seconds() if tree is not None else None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    out = proc.stdout.read()
    proc.wait()
    after = tree.cpu_seconds() if tree is not None else None
    if proc.returncode != 0:
        raise SystemExit(f"load generator exited {proc.returncode}: {out[-500:]}")
    first, _, rest = out.partition("\n")
    if rest.strip():  # the figures are the first line; anything after it is reported
        log(f"load generator also printed: {rest.strip()[:300]!r}")
    data = json.loads(first)
    load = Load(**data)
    if before is not None and after is not None:
        load.gateway_cpu_s = after - before
    return load


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def wait_idle(seconds: float = 0.3) -> None:
    """A short pause between measurements so the previous one's sockets close."""
    time.sleep(seconds)


def stop_all(gateways: list[Gateway]) -> None:
    for gateway in gateways:
        try:
            gateway.stop()
        except Exception as exc:  # stopping is best effort: report and go on
            log(f"{gateway.name}: stop failed: {exc}")
