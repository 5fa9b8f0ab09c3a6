"""Runner overhead: the whole-process cost of one small eval, benchroute against three peers.

The workload is the one the issues quote (see shared PEERS.md): 1,000 deterministic
question/answer items ("What is 101 plus 941? Answer with the number only." -> "1042") sent to
the project's fake OpenAI-compatible server (``python -m benchroute.testing``) with a fixed
20 ms latency per chat completion, at concurrency 32, response caching off, scored by exact
match. The server is given the expected answer for most prompts and a deliberately wrong one
(expected + 1) for every tenth item, so every harness must report the same pass count (900 of
1,000). The server requires an API key, so a harness that dropped it would show as failures.

Each harness runs as a whole process under ``/usr/bin/time -v``, which gives wall clock,
user + system CPU seconds (including the children the process waited for) and the maximum
resident set size. That last figure is the peak of the largest single process of the tree,
not the sum over processes (that matters for promptfoo, a Node tree; the Python harnesses are
one process). What is measured is what a user pays: interpreter start, imports, loading the
data, sending 1,000 requests, scoring, writing whatever the tool writes by default.

- benchroute: its own CLI, ``benchroute run suite.yaml --no-cache --concurrency 32``.
- DeepEval 4.3.1: it scores, it does not generate, so the harness is a script that generates
  with the ``openai`` client (``AsyncOpenAI``, an ``asyncio.Semaphore`` of 32, no retries) and
  then calls ``deepeval.evaluate`` with ``ExactMatchMetric`` and ``AsyncConfig(max_concurrent=
  32)``, telemetry off, no result printing, no cache, no post-run prompt.
- Inspect AI 0.3.285: a task file (``generate()`` solver, ``exact()`` scorer) run by relative
  path with ``inspect eval --model openai-api/fake/fake-model --max-connections 32
  --max-retries 0`` (the generic OpenAI-compatible provider, chat completions),
  ``--display plain``, no model cache, its log written to a per-run folder.
- promptfoo 0.121.20: a ``promptfooconfig.yaml`` with an ``openai:chat:fake-model`` provider
  whose ``apiBaseUrl`` is the fake server and 1,000 tests with ``equals`` assertions, run as
  ``promptfoo eval -j 32 --no-cache --no-share --no-write --no-table --no-progress-bar`` with
  ``-o results.json``; telemetry and update checks off, its config dir a per-run folder. Its
  exit status 100 ("some tests failed", expected here) counts as a normal finish.

A fifth row is a reference, not a peer: ``bare-aiohttp`` sends the same workload from a
20-line script (uvloop, one aiohttp session, an ``asyncio.Semaphore`` of 32, exact match) with
no harness around it: no config, no storage, no report. Its time is the least any harness
built on aiohttp (benchroute's client) can take here, so "best peer / bare loop" is the
highest ratio such a harness could reach against that peer; the script prints it as the
ceiling.

Every peer is installed by this script into ``benchmarks/.envs/<name>`` at a pinned version
(Python venvs from the running interpreter's base Python, promptfoo with ``npm install
--prefix``) and reused when the pinned version is already there. All harnesses run with
``HTTP(S)_PROXY`` pointing at a closed local port and ``NO_PROXY`` covering loopback, so a
stray telemetry or update call fails at once instead of reaching out (promptfoo sends one
"telemetry disabled" event even when telemetry is off).

Runs are interleaved: round 1 runs every harness once, then round 2, and so on, with the
starting harness rotated per round, so the noise of a shared 2-core machine hits all of them
alike. The figures reported are medians over the rounds. Before each run the server's
counters are reset and after it ``GET /_stats`` gives the number of chat completions the
harness really sent; a harness that did not send exactly one request per item, exited
non-zero, or reported a different pass count is flagged (it cached, retried, skipped or
failed). Ratios are peer / benchroute, so 5.0 means the peer took five times as much.

Run it with the project's venv (it uses rich from there):

    /work/main/.venv/bin/python benchmarks/runner_overhead.py            # all four, 3 rounds
    /work/main/.venv/bin/python benchmarks/runner_overhead.py --only deepeval,inspect,promptfoo

Raw numbers go to ``benchmarks/results/runner_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import yaml
from _fakeserver import FakeServerProcess, src_env
from rich.console import Console
from rich.markup import escape
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
ENVS_DIR = BENCH_DIR / ".envs"
WORK_DIR = BENCH_DIR / ".work"
RESULTS_FILE = BENCH_DIR / "results" / "runner_overhead.json"
MAIN_PYTHON = REPO_DIR / ".venv" / "bin" / "python"
BENCHROUTE_CLI = REPO_DIR / ".venv" / "bin" / "benchroute"

DEEPEVAL_VERSION = "4.3.1"
INSPECT_VERSION = "0.3.285"
PROMPTFOO_VERSION = "0.121.20"
# The OpenAI Python client both Python peers talk through (DeepEval's generation script and
# Inspect's openai provider), pinned so both venvs are reproducible.
OPENAI_PY_VERSION = "3.57.0"

LATENCY_S = 0.02
CONCURRENCY = 32
MODEL_NAME = "fake-model"
API_KEY = "sk-fake-runner-overhead"
WRONG_EVERY = 10  # every tenth item gets a wrong answer from the server
WRONG_OFFSET = 3
TARGET_FACTOR = 5.0
ALL_HARNESSES = ("benchroute", "deepeval", "inspect", "promptfoo", "bare-aiohttp")

# Wide enough for the results table when the output goes to a file or a pipe.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 180)


def log(message: str) -> None:
    console.print(f"[bold cyan]runner_overhead[/]  {message}")


# ---------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Item:
    id: str
    input: str
    expected: str
    reply: str  # what the fake server answers


def make_items(count: int) -> list[Item]:
    """Deterministic additions; the first operand is unique, so every prompt is too."""
    items = []
    for index in range(count):
        a = 100 + index
        b = (index * 7919) % 997 + 1
        expected = str(a + b)
        wrong = index % WRONG_EVERY == WRONG_OFFSET
        items.append(
            Item(
                id=f"q{index:05d}",
                input=f"What is {a} plus {b}? Answer with the number only.",
                expected=expected,
                reply=str(a + b + 1) if wrong else expected,
            )
        )
    return items


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def write_qa(path: Path, items: list[Item]) -> None:
    write_jsonl(path, [{"id": i.id, "input": i.input, "expected": i.expected} for i in items])


def write_answers(path: Path, items: list[Item]) -> None:
    write_jsonl(path, [{"prompt": i.input, "answer": i.reply} for i in items])


# ---------------------------------------------------------------------------------------
# The fake server


def fake_server_available() -> bool:
    probe = subprocess.run(
        [*FakeServerProcess.command(), "--help"],
        capture_output=True,
        text=True,
        env=src_env(),
        check=False,
    )
    return probe.returncode == 0 and "--answers" in probe.stdout


# ---------------------------------------------------------------------------------------
# Installs


@dataclass
class InstallInfo:
    version: str
    seconds: float
    reused: bool


def base_python() -> str:
    """The interpreter the peers' venvs are made from: the one behind the running venv."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or sys.executable)


def venv_dist_version(env: Path, dist: str) -> str | None:
    python = env / "bin" / "python"
    if not python.exists():
        return None
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return out.stdout.strip() if out.returncode == 0 else None


def ensure_venv(env: Path, dist: str, version: str, extra: list[str]) -> InstallInfo:
    found = venv_dist_version(env, dist)
    if found == version:
        log(f"{dist} {version}: already installed in {env.relative_to(REPO_DIR)}, reused")
        return InstallInfo(version, 0.0, True)
    if env.exists():
        log(f"{dist}: found {found or 'a broken env'}, want {version}: recreating {env}")
        shutil.rmtree(env)
    log(f"{dist} {version}: installing into {env.relative_to(REPO_DIR)} (pip, ~30 s) ...")
    started = time.perf_counter()
    subprocess.run([base_python(), "-m", "venv", str(env)], check=True)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-qq"]
    subprocess.run([*pip, f"{dist}=={version}", *extra], check=True)
    took = time.perf_counter() - started
    if venv_dist_version(env, dist) != version:
        raise SystemExit(f"{dist}: install finished but version {version} is not there")
    log(f"{dist} {version}: installed in {took:.1f} s")
    return InstallInfo(version, took, False)


def ensure_npm_package(prefix: Path, package: str, version: str) -> InstallInfo:
    manifest = prefix / "node_modules" / package / "package.json"
    found = json.loads(manifest.read_text()).get("version") if manifest.exists() else None
    if found == version and (prefix / "node_modules" / ".bin" / package).exists():
        log(f"{package} {version}: already installed in {prefix.relative_to(REPO_DIR)}, reused")
        return InstallInfo(version, 0.0, True)
    if prefix.exists():
        log(f"{package}: found {found or 'a broken install'}, want {version}: reinstalling")
        shutil.rmtree(prefix)
    prefix.mkdir(parents=True)
    log(f"{package} {version}: npm install into {prefix.relative_to(REPO_DIR)} (~1 min) ...")
    started = time.perf_counter()
    subprocess.run(
        ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
         "--loglevel", "error", f"{package}@{version}"],
        check=True,
        env={**os.environ, "PROMPTFOO_DISABLE_TELEMETRY": "1"},
    )  # fmt: skip
    took = time.perf_counter() - started
    log(f"{package} {version}: installed in {took:.1f} s")
    return InstallInfo(version, took, False)


# ---------------------------------------------------------------------------------------
# Harnesses


@dataclass
class Invocation:
    argv: list[str]
    cwd: Path
    env: dict[str, str]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released, so nobody holds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Proxies point here, so any request that is not to loopback fails at once.
CLOSED_PROXY = f"http://127.0.0.1:{closed_port()}"


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that would steer a peer elsewhere."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    prefixes = ("OPENAI_", "DEEPEVAL_", "CONFIDENT_", "INSPECT_", "PROMPTFOO_", "BENCH_")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(prefixes)}
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[key] = CLOSED_PROXY
    for key in ("NO_PROXY", "no_proxy"):
        env[key] = "127.0.0.1,localhost,::1"
    env.update(extra)
    return env


class Harness(ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    concurrency_setting: ClassVar[str]
    # Exit codes that mean "ran fine" (some tools exit non-zero when any test failed).
    ok_exit_codes: ClassVar[tuple[int, ...]] = (0,)
    # A reference measurement, not a peer: shown, but never the "best peer" of a target.
    reference: ClassVar[bool] = False

    def __init__(self, work: Path) -> None:
        self.work = work
        self.install_info: InstallInfo | None = None

    @property
    def version(self) -> str:
        return self.install_info.version if self.install_info else "?"

    @abstractmethod
    def install(self) -> InstallInfo:
        """Make sure the harness is runnable (installs a peer at its pinned version)."""

    @abstractmethod
    def prepare(self, base_url: str, items: list[Item]) -> None:
        """Write the files the harness reads (config, data) into ``self.work``."""

    @abstractmethod
    def invocation(self, run_dir: Path) -> Invocation:
        """The command for one run; ``run_dir`` is an empty folder for its outputs."""

    @abstractmethod
    def passed(self, run_dir: Path, stdout: str) -> int | None:
        """The pass count the harness itself reported, or None if it reported none."""


class BenchrouteHarness(Harness):
    name = "benchroute"
    label = "benchroute"
    concurrency_setting = "--concurrency 32"
    cli: ClassVar[Path] = BENCHROUTE_CLI  # --benchroute-cli overrides it

    def install(self) -> InstallInfo:
        version = venv_dist_version(REPO_DIR / ".venv", "benchroute") or "source tree"
        # The project is installed editable: its modules are byte-compiled on first import,
        # unless PYTHONDONTWRITEBYTECODE is set, in which case every measured run would also
        # pay for compiling them. Compile once, as installing a wheel does for the peers.
        subprocess.run(
            [str(MAIN_PYTHON), "-m", "compileall", "-q", str(REPO_DIR / "src" / "benchroute")],
            check=True,
        )
        return InstallInfo(version, 0.0, True)

    @classmethod
    def cli_prefix(cls) -> list[str]:
        if cls.cli.exists():
            return [str(cls.cli)]
        # Not installed into the venv yet: the same entry point, from the source tree.
        code = "import sys; from benchroute.cli import main; sys.exit(main())"
        return [str(MAIN_PYTHON), "-c", code]

    @classmethod
    def available(cls) -> tuple[bool, str]:
        probe = subprocess.run(
            [*cls.cli_prefix(), "run", "--help"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO_DIR / "src")},
            check=False,
        )
        ok = probe.returncode == 0 and "--summary-json" in probe.stdout
        return ok, (probe.stdout + probe.stderr).strip()[-600:]

    def prepare(self, base_url: str, items: list[Item]) -> None:
        write_qa(self.work / "qa.jsonl", items)
        config = {
            "models": {
                "fake": {
                    "provider": "openai",
                    "base_url": f"{base_url}/v1",
                    "api_key_env": "BENCH_FAKE_KEY",
                    "model": MODEL_NAME,
                }
            }
        }
        suite = {
            "name": "overhead",
            "tier": "unit",
            "models": ["fake"],
            "dataset": {"path": "qa.jsonl"},
            "scorers": [{"name": "exact"}],
        }
        (self.work / "benchroute.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        (self.work / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))

    def invocation(self, run_dir: Path) -> Invocation:
        argv = [
            *self.cli_prefix(), "run", "suite.yaml",
            "--config", "benchroute.yaml",
            "--no-cache",
            "--concurrency", str(CONCURRENCY),
            "--db", str(run_dir / "benchroute.db"),
            "--summary-json", str(run_dir / "summary.json"),
        ]  # fmt: skip
        env = clean_env(BENCH_FAKE_KEY=API_KEY)
        if not self.cli.exists():
            env["PYTHONPATH"] = str(REPO_DIR / "src")
        return Invocation(argv, self.work, env)

    def passed(self, run_dir: Path, stdout: str) -> int | None:
        summary = run_dir / "summary.json"
        if not summary.exists():
            return None
        models = json.loads(summary.read_text()).get("models", [])
        return sum(int(m.get("passed", 0)) for m in models) if models else None


DEEPEVAL_SCRIPT = '''\
"""Generate with the OpenAI client (32 at a time), then score with deepeval.evaluate."""

import asyncio
import json
import os
import sys

from openai import AsyncOpenAI

from deepeval import evaluate
from deepeval.evaluate.configs import AsyncConfig, CacheConfig, DisplayConfig
from deepeval.metrics import ExactMatchMetric
from deepeval.test_case import LLMTestCase

CONCURRENCY = int(os.environ["HARNESS_CONCURRENCY"])
MODEL = os.environ["HARNESS_MODEL"]


async def generate(rows):
    client = AsyncOpenAI(base_url=os.environ["HARNESS_BASE_URL"], max_retries=0)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(row):
        async with gate:
            reply = await client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": row["input"]}]
            )
            return reply.choices[0].message.content or ""

    try:
        return await asyncio.gather(*(one(row) for row in rows))
    finally:
        await client.close()


def main():
    with open(sys.argv[1]) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    outputs = asyncio.run(generate(rows))
    cases = [
        LLMTestCase(input=row["input"], actual_output=out, expected_output=row["expected"])
        for row, out in zip(rows, outputs)
    ]
    result = evaluate(
        test_cases=cases,
        metrics=[ExactMatchMetric()],
        async_config=AsyncConfig(run_async=True, max_concurrent=CONCURRENCY),
        display_config=DisplayConfig(
            show_indicator=False, print_results=False, inspect_after_run=False
        ),
        cache_config=CacheConfig(write_cache=False, use_cache=False),
    )
    passed = sum(1 for r in result.test_results if r.success)
    print(f"HARNESS_RESULT cases={len(result.test_results)} passed={passed}", flush=True)


if __name__ == "__main__":
    main()
'''


class DeepEvalHarness(Harness):
    name = "deepeval"
    label = "DeepEval"
    concurrency_setting = "Semaphore(32) + AsyncConfig(max_concurrent=32)"

    @property
    def env_dir(self) -> Path:
        return ENVS_DIR / "deepeval"

    def install(self) -> InstallInfo:
        extra = [f"openai=={OPENAI_PY_VERSION}"]
        return ensure_venv(self.env_dir, "deepeval", DEEPEVAL_VERSION, extra)

    def prepare(self, base_url: str, items: list[Item]) -> None:
        write_qa(self.work / "qa.jsonl", items)
        (self.work / "deepeval_eval.py").write_text(DEEPEVAL_SCRIPT)
        self.base_url = base_url

    def invocation(self, run_dir: Path) -> Invocation:
        argv = [str(self.env_dir / "bin" / "python"), str(self.work / "deepeval_eval.py")]
        argv.append(str(self.work / "qa.jsonl"))
        env = clean_env(
            DEEPEVAL_TELEMETRY_OPT_OUT="YES",
            DEEPEVAL_NO_INSPECT_PROMPT="1",
            DEEPEVAL_UPDATE_WARNING_OPT_IN="NO",
            OPENAI_API_KEY=API_KEY,
            HARNESS_BASE_URL=f"{self.base_url}/v1",
            HARNESS_MODEL=MODEL_NAME,
            HARNESS_CONCURRENCY=str(CONCURRENCY),
        )
        # deepeval keeps its run files (.deepeval/) in the working directory: one per run.
        return Invocation(argv, run_dir, env)

    def passed(self, run_dir: Path, stdout: str) -> int | None:
        found = re.search(r"HARNESS_RESULT cases=(\d+) passed=(\d+)", stdout)
        return int(found.group(2)) if found else None


INSPECT_TASK = '''\
"""The runner-overhead workload as an Inspect AI task."""

import json
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import exact
from inspect_ai.solver import generate


@task
def overhead():
    with open(Path(__file__).with_name("qa.jsonl")) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    samples = [Sample(id=r["id"], input=r["input"], target=r["expected"]) for r in rows]
    return Task(dataset=MemoryDataset(samples), solver=generate(), scorer=exact())
'''


class InspectHarness(Harness):
    name = "inspect"
    label = "Inspect AI"
    concurrency_setting = "--max-connections 32"

    @property
    def env_dir(self) -> Path:
        return ENVS_DIR / "inspect"

    def install(self) -> InstallInfo:
        extra = [f"openai=={OPENAI_PY_VERSION}"]
        return ensure_venv(self.env_dir, "inspect-ai", INSPECT_VERSION, extra)

    def prepare(self, base_url: str, items: list[Item]) -> None:
        write_qa(self.work / "qa.jsonl", items)
        (self.work / "overhead_task.py").write_text(INSPECT_TASK)
        self.base_url = base_url

    def invocation(self, run_dir: Path) -> Invocation:
        # PEERS.md: on Python 3.11 Inspect rejects an absolute task path, so cwd + relative.
        argv = [
            str(self.env_dir / "bin" / "inspect"), "eval", "overhead_task.py",
            # openai-api/<service>/<model>: Inspect's generic OpenAI-compatible provider (chat
            # completions). `openai/<unknown model>` is taken for a frontier model and sent
            # to the Responses API, which an OpenAI-compatible server does not have.
            "--model", f"openai-api/fake/{MODEL_NAME}",
            "--max-connections", str(CONCURRENCY),
            "--max-retries", "0",
            "--display", "plain",
            "--log-dir", str(run_dir / "logs"),
        ]  # fmt: skip
        env = clean_env(
            FAKE_BASE_URL=f"{self.base_url}/v1",
            FAKE_API_KEY=API_KEY,
            # Inspect's data dir (traces, cache) per run, not the user's home.
            XDG_DATA_HOME=str(run_dir / "xdg-data"),
            XDG_CACHE_HOME=str(run_dir / "xdg-cache"),
        )
        return Invocation(argv, self.work, env)

    def passed(self, run_dir: Path, stdout: str) -> int | None:
        logs = sorted((run_dir / "logs").glob("*.eval")) + sorted((run_dir / "logs").glob("*.json"))
        if not logs:
            return None
        # The .eval log is a zstd-compressed zip: read its header with Inspect's own reader,
        # after the timed run, in Inspect's venv.
        code = (
            "import json, sys; from inspect_ai.log import read_eval_log; "
            "log = read_eval_log(sys.argv[1], header_only=True); "
            "print(json.dumps(log.results.model_dump() if log.results else None))"
        )
        python = str(self.env_dir / "bin" / "python")
        reader = subprocess.run(
            [python, "-c", code, str(logs[0])], capture_output=True, text=True, check=True
        )
        results = json.loads(reader.stdout) or {}
        completed = int(results.get("completed_samples", 0))
        for score in results.get("scores", []):
            metrics = score.get("metrics") or {}
            accuracy = metrics.get("accuracy") or metrics.get("mean")  # "mean" in 0.3.285
            if accuracy is not None:
                return round(float(accuracy["value"]) * completed)
        return None


class PromptfooHarness(Harness):
    name = "promptfoo"
    label = "promptfoo"
    concurrency_setting = "-j 32"
    ok_exit_codes = (0, 100)  # 100: PROMPTFOO_FAILED_TEST_EXIT_CODE, "some tests failed"

    @property
    def prefix(self) -> Path:
        return ENVS_DIR / "promptfoo"

    def install(self) -> InstallInfo:
        return ensure_npm_package(self.prefix, "promptfoo", PROMPTFOO_VERSION)

    def prepare(self, base_url: str, items: list[Item]) -> None:
        config = {
            "description": "runner overhead",
            "prompts": ["{{question}}"],
            "providers": [
                {
                    "id": f"openai:chat:{MODEL_NAME}",
                    "config": {"apiBaseUrl": f"{base_url}/v1", "apiKey": API_KEY},
                }
            ],
            "tests": [
                {"vars": {"question": i.input}, "assert": [{"type": "equals", "value": i.expected}]}
                for i in items
            ],
        }
        (self.work / "promptfooconfig.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def invocation(self, run_dir: Path) -> Invocation:
        argv = [
            str(self.prefix / "node_modules" / ".bin" / "promptfoo"), "eval",
            "-c", "promptfooconfig.yaml",
            "-j", str(CONCURRENCY),
            "--no-cache", "--no-share", "--no-write", "--no-table", "--no-progress-bar",
            "-o", str(run_dir / "results.json"),
        ]  # fmt: skip
        env = clean_env(
            PROMPTFOO_DISABLE_TELEMETRY="1",
            PROMPTFOO_DISABLE_UPDATE="1",
            PROMPTFOO_DISABLE_SHARING="1",
            PROMPTFOO_DISABLE_REMOTE_GENERATION="1",
            PROMPTFOO_CONFIG_DIR=str(run_dir / "promptfoo-config"),
            PROMPTFOO_CACHE_PATH=str(run_dir / "promptfoo-cache"),
            NODE_NO_WARNINGS="1",
        )
        return Invocation(argv, self.work, env)

    def passed(self, run_dir: Path, stdout: str) -> int | None:
        results = run_dir / "results.json"
        if not results.exists():
            return None
        data = json.loads(results.read_text())
        stats = (data.get("results") or {}).get("stats") or {}
        return int(stats["successes"]) if "successes" in stats else None


BARE_SCRIPT = '''\
"""The workload with nothing but the HTTP client: uvloop, one aiohttp session, a semaphore."""

import asyncio
import json
import os
import sys

import aiohttp
import uvloop

CONCURRENCY = int(os.environ["HARNESS_CONCURRENCY"])


async def main(path):
    with open(path) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    url = os.environ["HARNESS_BASE_URL"] + "/chat/completions"
    headers = {"Authorization": "Bearer " + os.environ["HARNESS_KEY"]}
    gate = asyncio.Semaphore(CONCURRENCY)
    passed = 0
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(row):
            nonlocal passed
            message = {"role": "user", "content": row["input"]}
            body = {"model": os.environ["HARNESS_MODEL"], "messages": [message]}
            async with gate, session.post(url, json=body, headers=headers) as response:
                reply = await response.json()
            if reply["choices"][0]["message"]["content"].strip() == row["expected"]:
                passed += 1

        await asyncio.gather(*(one(row) for row in rows))
    print(f"HARNESS_RESULT passed={passed}", flush=True)


uvloop.run(main(sys.argv[1]))
'''


class BareClientHarness(Harness):
    """Not a peer: the workload sent by a bare aiohttp loop (the client benchroute uses) with
    no harness around it: no config, storage, scoring framework or report. Its figures are
    the least any aiohttp-based harness can take here, so they bound what a ratio target
    against a peer can demand of one."""

    name = "bare-aiohttp"
    label = "reference: bare aiohttp loop"
    concurrency_setting = "Semaphore(32)"
    reference = True

    def install(self) -> InstallInfo:
        code = "import aiohttp, uvloop; print(aiohttp.__version__, uvloop.__version__)"
        probe = subprocess.run([str(MAIN_PYTHON), "-c", code], capture_output=True, text=True, check=True)
        aiohttp_version, uvloop_version = probe.stdout.split()
        return InstallInfo(f"(aiohttp {aiohttp_version}, uvloop {uvloop_version})", 0.0, True)

    def prepare(self, base_url: str, items: list[Item]) -> None:
        write_qa(self.work / "qa.jsonl", items)
        (self.work / "bare_loop.py").write_text(BARE_SCRIPT)
        self.base_url = base_url

    def invocation(self, run_dir: Path) -> Invocation:
        argv = [str(MAIN_PYTHON), str(self.work / "bare_loop.py"), str(self.work / "qa.jsonl")]
        env = clean_env(
            HARNESS_BASE_URL=f"{getattr(self, 'base_url', '')}/v1",
            HARNESS_KEY=API_KEY,
            HARNESS_MODEL=MODEL_NAME,
            HARNESS_CONCURRENCY=str(CONCURRENCY),
        )
        return Invocation(argv, run_dir, env)

    def passed(self, run_dir: Path, stdout: str) -> int | None:
        found = re.search(r"HARNESS_RESULT passed=(\d+)", stdout)
        return int(found.group(1)) if found else None


HARNESS_TYPES: dict[str, type[Harness]] = {
    h.name: h
    for h in (BenchrouteHarness, DeepEvalHarness, InspectHarness, PromptfooHarness, BareClientHarness)
}


# ---------------------------------------------------------------------------------------
# Measuring


@dataclass
class RunResult:
    harness: str
    round: int
    exit_code: int
    wall_s: float  # perf_counter around the process
    time_wall_s: float  # what /usr/bin/time says (0.01 s resolution)
    user_s: float
    sys_s: float
    cpu_s: float
    max_rss_mb: float
    requests: int
    passed: int | None
    problems: list[str] = field(default_factory=list)


def parse_time_v(text: str) -> dict[str, float]:
    """The fields of ``/usr/bin/time -v`` this benchmark uses."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        key, _, value = line.strip().rpartition(": ")
        if key == "User time (seconds)":
            out["user_s"] = float(value)
        elif key == "System time (seconds)":
            out["sys_s"] = float(value)
        elif key == "Maximum resident set size (kbytes)":
            out["max_rss_mb"] = int(value) / 1024
        elif key.startswith("Elapsed (wall clock) time"):
            seconds = 0.0
            for part in value.split(":"):
                seconds = seconds * 60 + float(part)
            out["wall_s"] = seconds
    missing = {"user_s", "sys_s", "max_rss_mb", "wall_s"} - out.keys()
    if missing:
        raise ValueError(f"/usr/bin/time output lacks {sorted(missing)}:\n{text[-1000:]}")
    return out


def measure(
    harness: Harness, server: FakeServerProcess, round_no: int, items: int, expected: int, timeout: float
) -> RunResult:
    run_dir = harness.work / "runs" / f"round{round_no}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    call = harness.invocation(run_dir)
    time_file = run_dir / "time-v.txt"
    stdout_file = run_dir / "stdout.txt"
    stderr_file = run_dir / "stderr.txt"
    server.reset()
    started = time.perf_counter()
    with stdout_file.open("w") as out, stderr_file.open("w") as err:
        # Its own session, so a timeout or Ctrl-C ends the whole tree, not just `time`.
        proc = subprocess.Popen(
            ["/usr/bin/time", "-v", "-o", str(time_file), *call.argv],
            cwd=call.cwd,
            env=call.env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            exit_code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            exit_code = -1
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    wall = time.perf_counter() - started
    requests = int(server.stats().get("requests", -1))
    stdout = stdout_file.read_text(errors="replace")
    try:
        timed = parse_time_v(time_file.read_text())
    except (OSError, ValueError):
        timed = {"user_s": -1.0, "sys_s": 0.0, "max_rss_mb": -1.0, "wall_s": wall}
    try:
        passed = harness.passed(run_dir, stdout)
    except (OSError, ValueError, KeyError, subprocess.CalledProcessError) as exc:
        passed = None
        log(f"[yellow]{harness.name}: could not read its pass count: {escape(str(exc))}[/]")
    problems = []
    if exit_code not in harness.ok_exit_codes:
        what = "timed out" if exit_code == -1 else f"exited with {exit_code}"
        problems.append(f"{what} (see {stderr_file.relative_to(REPO_DIR)})")
    if timed["user_s"] < 0:
        problems.append("no /usr/bin/time figures")
    if requests != items:
        problems.append(f"sent {requests} requests, not {items}")
    if passed != expected:
        problems.append(f"reported {passed} passed, not {expected}")
    return RunResult(
        harness=harness.name,
        round=round_no,
        exit_code=exit_code,
        wall_s=wall,
        time_wall_s=timed["wall_s"],
        user_s=timed["user_s"],
        sys_s=timed["sys_s"],
        cpu_s=timed["user_s"] + timed["sys_s"],
        max_rss_mb=timed["max_rss_mb"],
        requests=requests,
        passed=passed,
        problems=problems,
    )


# ---------------------------------------------------------------------------------------
# Reporting


METRICS = (("wall_s", "wall s"), ("cpu_s", "CPU s"), ("max_rss_mb", "peak RSS MB"))


def medians(runs: list[RunResult]) -> dict[str, float]:
    good = [r for r in runs if not r.problems] or runs
    return {key: statistics.median(getattr(r, key) for r in good) for key, _ in METRICS}


def report(
    harnesses: list[Harness], runs: dict[str, list[RunResult]], items: int, expected: int
) -> dict[str, Any]:
    med = {h.name: medians(runs[h.name]) for h in harnesses}
    base = med.get("benchroute")
    ratios: dict[str, dict[str, float]] = {}
    if base:
        for h in harnesses:
            if h.name != "benchroute":
                ratios[h.name] = {k: med[h.name][k] / base[k] for k, _ in METRICS if base[k]}

    floor = items * LATENCY_S / CONCURRENCY
    rounds = max(len(r) for r in runs.values())
    table = Table(
        title=f"Runner overhead: {items} items, {LATENCY_S * 1000:.0f} ms fake latency, "
        f"concurrency {CONCURRENCY}, no cache (median of {rounds})",
        title_justify="left",
    )
    table.add_column("harness")
    table.add_column("concurrency setting")
    for _, title in METRICS:
        table.add_column(title, justify="right")
    if ratios:
        for _, title in METRICS:
            table.add_column(f"{title.split()[0]} ×br", justify="right")
    table.add_column("requests", justify="right")
    table.add_column("passed", justify="right")
    table.add_column("check")
    for h in harnesses:
        m = med[h.name]
        hr = runs[h.name]
        row = [f"{h.label} {h.version}", h.concurrency_setting]
        row += [f"{m['wall_s']:.2f}", f"{m['cpu_s']:.2f}", f"{m['max_rss_mb']:.0f}"]
        if ratios:
            r = ratios.get(h.name)
            row += [f"{r[k]:.1f}×" if r and k in r else "1.0×" for k, _ in METRICS]
        row.append("/".join(str(r.requests) for r in hr))
        row.append("/".join(str(r.passed) for r in hr))
        bad = [p for r in hr for p in r.problems]
        flags = escape("; ".join(sorted(set(bad))))
        row.append("[green]ok[/]" if not bad else f"[red]FLAG: {flags}[/]")
        table.add_row(*row)
    console.print()
    console.print(table)
    console.print(
        f"Latency floor: {items} × {LATENCY_S} s / {CONCURRENCY} = {floor:.3f} s. "
        f"Expected pass count: {expected} of {items}."
    )
    console.print(
        "CPU = user + sys of the process and the children it waited for. Peak RSS is "
        "/usr/bin/time's maximum resident set: the largest single process of the tree, "
        "not a sum (for promptfoo's Node process tree that undercounts if it forks; "
        "accepted). Ratios (×br) are peer / benchroute."
    )

    targets: dict[str, Any] = {}
    peers = [h.name for h in harnesses if h.name != "benchroute" and not h.reference]
    if base and peers:
        fastest_wall = min(peers, key=lambda n: med[n]["wall_s"])
        fastest_cpu = min(peers, key=lambda n: med[n]["cpu_s"])
        leanest = min(peers, key=lambda n: med[n]["max_rss_mb"])
        checks = {
            "wall": (fastest_wall, med[fastest_wall]["wall_s"] / base["wall_s"], TARGET_FACTOR),
            "cpu": (fastest_cpu, med[fastest_cpu]["cpu_s"] / base["cpu_s"], TARGET_FACTOR),
            "peak_rss": (leanest, med[leanest]["max_rss_mb"] / base["max_rss_mb"], 1.0),
        }
        console.print("\nTargets (benchroute vs the best peer on each measure):")
        for key, (peer, factor, need) in checks.items():
            holds = factor >= need if key != "peak_rss" else factor > need
            targets[key] = {"best_peer": peer, "ratio": factor, "required": need, "holds": holds}
            verdict = "[green]HOLDS[/]" if holds else "[red]MISSED[/]"
            want = f"≥ {need:.0f}× less" if key != "peak_rss" else "less than every peer"
            console.print(f"  {key:8} {want:22} best peer {peer}: {factor:.2f}×  {verdict}")
    elif not base:
        console.print("\n(benchroute not measured in this run: no ratios, no target check)")
    bound: dict[str, Any] = {}
    bare = med.get(BareClientHarness.name)
    if bare and peers:
        # What the same ratio would be for a harness that did nothing but send: the most any
        # aiohttp-based harness could reach against the best peer on this machine.
        console.print("\nCeiling (best peer / bare aiohttp loop, the most an aiohttp harness can reach):")
        for key in ("wall_s", "cpu_s"):
            peer = min(peers, key=lambda n, k=key: med[n][k])
            ceiling = med[peer][key] / bare[key]
            bound[key] = {"best_peer": peer, "ratio": ceiling}
            console.print(f"  {key.removesuffix('_s'):8} best peer {peer}: {ceiling:.2f}×")
    problems_by_harness: dict[str, list[str]] = {}
    for h in harnesses:
        problems_by_harness[h.name] = sorted({p for r in runs[h.name] for p in r.problems})
    return {
        "medians": med,
        "ratios_peer_over_benchroute": ratios,
        "targets": targets,
        "bare_client_ceiling": bound,
        "problems": problems_by_harness,
        "latency_floor_s": floor,
    }


# ---------------------------------------------------------------------------------------
# Main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        default=",".join(ALL_HARNESSES),
        help=f"comma-separated subset of {','.join(ALL_HARNESSES)} (default: all)",
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds (median taken; default 3)")
    parser.add_argument("--items", type=int, default=1000, help="QA items (default 1000)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds before one run is killed (default 900)",
    )
    parser.add_argument(
        "--benchroute-cli",
        type=Path,
        default=BENCHROUTE_CLI,
        help="the benchroute executable to measure (default: the project venv's)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_FILE, help="raw-numbers JSON")
    parser.add_argument(
        "--server-wait",
        type=float,
        default=0.0,
        help="minutes to wait for benchroute.testing to appear (polls every minute)",
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - set(ALL_HARNESSES)
    if unknown or not names:
        parser.error(f"--only takes names from {', '.join(ALL_HARNESSES)}; got {args.only!r}")
    args.names = [n for n in ALL_HARNESSES if n in names]
    return args


def main() -> None:
    args = parse_args()
    if not Path("/usr/bin/time").exists():
        raise SystemExit("/usr/bin/time is missing: apt-get update && apt-get install -y time")
    items = make_items(args.items)
    expected = sum(1 for i in items if i.reply == i.expected)
    harnesses = [HARNESS_TYPES[n](WORK_DIR / n) for n in args.names]
    log(f"harnesses: {', '.join(args.names)}; {args.runs} round(s) of {args.items} items")

    BenchrouteHarness.cli = args.benchroute_cli.resolve()
    if "benchroute" in args.names:
        ok, said = BenchrouteHarness.available()
        if not ok:
            raise SystemExit(
                "benchroute's `run` command (with --summary-json) is not available yet:\n"
                f"{said}\nMeasure the peers alone with --only deepeval,inspect,promptfoo"
            )

    installs: dict[str, dict[str, Any]] = {}
    for h in harnesses:
        h.install_info = h.install()
        installs[h.name] = asdict(h.install_info)

    deadline = time.monotonic() + args.server_wait * 60
    while not fake_server_available():
        if time.monotonic() >= deadline:
            raise SystemExit(
                "the fake server (python -m benchroute.testing --answers) is not there yet; "
                "wait for it with --server-wait MINUTES"
            )
        log("fake server not available yet; checking again in 60 s ...")
        time.sleep(60)

    data_dir = WORK_DIR / "data"
    answers = data_dir / "answers.jsonl"
    write_answers(answers, items)
    write_qa(data_dir / "qa.jsonl", items)
    # The key is required, so a harness that does not send it shows up as failed requests.
    server = FakeServerProcess(
        data_dir / "fake-server.log",
        ["--latency", str(LATENCY_S), "--answers", str(answers), "--api-key", API_KEY],
    )
    base_url = server.start()
    log(f"fake server at {base_url} (latency {LATENCY_S * 1000:.0f} ms)")
    runs: dict[str, list[RunResult]] = {h.name: [] for h in harnesses}
    try:
        for h in harnesses:
            h.work.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(h.work / "runs", ignore_errors=True)
            h.prepare(base_url, items)
        for round_no in range(1, args.runs + 1):
            shift = (round_no - 1) % len(harnesses)
            order = harnesses[shift:] + harnesses[:shift]
            log(f"round {round_no}/{args.runs}: {' -> '.join(h.name for h in order)}")
            for h in order:
                log(f"  {h.name}: running ...")
                result = measure(h, server, round_no, args.items, expected, args.timeout)
                runs[h.name].append(result)
                note = f"  [red]{escape('; '.join(result.problems))}[/]" if result.problems else ""
                log(
                    f"  {h.name}: {result.wall_s:.2f} s wall, {result.cpu_s:.2f} CPU-s, "
                    f"{result.max_rss_mb:.0f} MB, {result.requests} requests, "
                    f"{result.passed} passed{note}"
                )
    finally:
        server.stop()

    summary = report(harnesses, runs, args.items, expected)
    document = {
        "benchmark": "runner_overhead",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "node": subprocess.run(
                ["node", "--version"], capture_output=True, text=True, check=False
            ).stdout.strip(),
        },
        "workload": {
            "items": args.items,
            "latency_s": LATENCY_S,
            "concurrency": CONCURRENCY,
            "cache": False,
            "expected_passed": expected,
            "rounds": args.runs,
        },
        "harnesses": {
            h.name: {
                "label": h.label,
                "version": h.version,
                "install": installs[h.name],
                "concurrency_setting": h.concurrency_setting,
                "command": h.invocation(h.work / "runs" / "roundN").argv,
                "runs": [asdict(r) for r in runs[h.name]],
            }
            for h in harnesses
        },
        **summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    log(f"raw numbers written to {args.out}")


if __name__ == "__main__":
    main()
