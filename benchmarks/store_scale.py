"""Store scale: 1,000,000 result rows over 500 runs in SQLite, then how long the time-series
queries take and how many rows they read.

The store is filled the way a long history would leave it: 500 runs of one suite (``scale``),
each with 2 models x 500 cases x 2 repeats = 2,000 results, every result with two scores
(``exact`` and a ``refusal`` scorer whose details say whether the reply was a refusal), some
provider errors (2%) and scorer errors (1%), latencies and token counts drawn at random
(seed 0). Model ``beta``'s pass rate steps from 0.70 to 0.60 at run 400, so the drift check
has something to find. Runs are created with ``Store.create_run``; their results and scores
rows are bulk-inserted with ``executemany`` on the raw ``sqlite3`` driver (ids assigned, so
each score row names its result); then ``Store.set_run_status(..., "completed")`` finishes
each run, which computes its ``run_metrics`` aggregates in SQL exactly as a real run does.

Then, each timed on the filled file:

- ``benchroute history scale --db FILE`` and ``benchroute drift scale --db FILE``, as
  subprocesses (what a user waits for, interpreter start and imports included) and in-process
  through typer's ``CliRunner`` (second call: the query time without the start-up);
- ``Store.series`` (every metric; and the newest 20 runs), ``Store.case_outcomes`` of the
  latest run (pass, refusal, latency) and ``Store.case_outcomes_many`` (both models x five
  metrics in one call, as ``drift`` reads a run), called directly.

"Rows read" counts the rows of the index ranges each SELECT's plan searches: for a statement
on ``results``/``scores``, every row of the run(s) it names (``ix_results_run_id``,
``ix_scores_run_suite_model_name``/``ix_scores_result_id`` seek by run); on ``run_metrics``,
every row of the suite (``ix_run_metrics_suite_model_metric``); ``runs`` (500 rows) is counted
whole each time it is read. ``EXPLAIN QUERY PLAN`` of every distinct statement is printed so
the index used can be checked (no ``SCAN results`` / ``SCAN scores``).

Run: ``.venv/bin/python benchmarks/store_scale.py [--db /tmp/store_scale.db] [--keep]``; the output
is saved to benchmarks/results/store_scale.txt, ending with each command's time and rows scanned
(about 2-4 minutes here; the file is ~0.6 GB and is reused with ``--keep`` when complete).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from benchroute.store import RunRecord, Store

RUNS, CASES, REPEATS, MODELS = 500, 500, 2, ("alpha", "beta")
REPEAT_CLI = 5  # each subprocess is timed this many times (2 shared cores: one run is noisy)
SUITE = "scale"
PER_RUN = CASES * REPEATS * len(MODELS)
START = datetime(2026, 1, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "benchroute"


_LINES: list[str] = []  # everything printed, saved to benchmarks/results/store_scale.txt
RESULT = ROOT / "benchmarks" / "results" / "store_scale.txt"


def _say(text: str) -> None:
    _LINES.append(text)
    print(text, flush=True)


def _model_specs() -> dict[str, dict[str, Any]]:
    return {
        name: {"provider": "openai", "model": f"{name}-1", "base_url": "http://127.0.0.1:9/v1"}
        for name in MODELS
    }


_RESULT_COLUMNS = (
    "id, run_id, suite, case_id, model, repeat, messages, output, scores, score, passed, "
    "input_tokens, output_tokens, cached_input_tokens, cost_usd, latency_ms, ttft_ms, retries, "
    "error, error_kind, served_model, system_fingerprint, cached, created_at, details, "
    "e2e_latency_ms, endpoint_id, suite_fingerprint, case_hash, cache_write_tokens, "
    "reasoning_tokens, created_ts"
)
_SCORE_COLUMNS = "result_id, run_id, suite, model, name, value, passed, refused, error"


def _score_json(passed: bool, refused: bool, scorer_error: bool) -> str:
    exact: dict[str, Any] = {"scorer": "exact", "value": float(passed), "passed": passed, "reason": ""}
    if scorer_error:
        exact = {"scorer": "exact", "value": None, "passed": False, "reason": "judge down", "kind": "error"}
    refusal = {"scorer": "refusal", "value": float(refused), "passed": not refused, "reason": "",
               "details": {"refused": refused}}  # fmt: skip
    return json.dumps([exact, refusal])


_SCORES_JSON = {
    (p, r, e): _score_json(p, r, e) for p in (False, True) for r in (False, True) for e in (False, True)
}


def fill(path: Path) -> None:
    """Create the store and fill it (see the module doc)."""
    store = Store(f"sqlite:///{path}")
    endpoints = {}
    for name, dump in _model_specs().items():
        from benchroute.config import ModelSpec

        endpoints[name] = ModelSpec.model_validate(dump).endpoint_id
    rng = random.Random(0)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=OFF")
    insert_result = f"INSERT INTO results ({_RESULT_COLUMNS}) VALUES ({', '.join('?' * 32)})"
    insert_score = f"INSERT INTO scores ({_SCORE_COLUMNS}) VALUES ({', '.join('?' * 9)})"
    messages = json.dumps(
        [{"role": "user", "content": "What is the capital of the country? Answer briefly."}]
    )
    next_id = 1
    t0 = time.perf_counter()
    for index in range(RUNS):
        run_id = f"run{index:04d}"
        started = START + timedelta(hours=6 * index)
        store.create_run(
            RunRecord(
                id=run_id,
                suites=[SUITE],
                config={"models": _model_specs()},
                package_version="0",
                prices={m: {"input_per_mtok": 0.5, "output_per_mtok": 1.5} for m in MODELS},
                started_at=started.isoformat(),
                trigger="schedule",
                branch="main",
            )
        )
        created = (started + timedelta(minutes=5)).isoformat()
        created_ts = (started + timedelta(minutes=5)).timestamp()
        results: list[tuple[Any, ...]] = []
        scores: list[tuple[Any, ...]] = []
        for model in MODELS:
            rate = 0.8 if model == "alpha" else (0.7 if index < 400 else 0.6)
            for case in range(CASES):
                for repeat in range(REPEATS):
                    draw = rng.random()
                    provider_error = draw < 0.02
                    scorer_error = 0.02 <= draw < 0.03
                    refused = rng.random() < 0.05
                    passed = not provider_error and not scorer_error and rng.random() < rate
                    latency = round(rng.lognormvariate(5.5, 0.4), 2)
                    tokens = 0 if provider_error else rng.randint(5, 120)
                    rid = next_id
                    next_id += 1
                    results.append(
                        (
                            rid, run_id, SUITE, f"case-{case:04d}", model, repeat, messages,
                            None if provider_error else "Paris",
                            "[]" if provider_error else _SCORES_JSON[(passed, refused, scorer_error)],
                            None if provider_error or scorer_error else float(passed), passed,
                            40, tokens, 0, round((40 * 0.5 + tokens * 1.5) / 1e6, 9), latency, None, 0,
                            "timed out" if provider_error else ("judge down" if scorer_error else None),
                            "timeout" if provider_error else ("scorer" if scorer_error else None),
                            f"{model}-1-2026", "fp_1", False, created, None, latency + 3.0,
                            endpoints[model], "suitefp", f"hash-{case:04d}", 0, 0, created_ts,
                        )
                    )  # fmt: skip
                    if not provider_error:
                        scores.append((rid, run_id, SUITE, model, "exact",
                                       None if scorer_error else float(passed),
                                       None if scorer_error else passed, None, scorer_error))  # fmt: skip
                        scores.append((rid, run_id, SUITE, model, "refusal", float(refused), not refused,
                                       refused, False))  # fmt: skip
        with raw:
            raw.executemany(insert_result, results)
            raw.executemany(insert_score, scores)
        store.set_run_status(run_id, "completed", finished_at=(started + timedelta(minutes=9)).isoformat())
        if (index + 1) % 50 == 0:
            _say(
                f"  filled {index + 1:3d}/{RUNS} runs, {next_id - 1:,} results "
                f"({time.perf_counter() - t0:.0f} s)"
            )
    raw.close()
    store.close()


# --- measuring ---------------------------------------------------------------------------


class Tracer:
    """The SELECTs an engine sends, with their named parameters."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, dict[str, Any], Any]] = []

    def __call__(
        self, _conn: Any, _cursor: Any, statement: str, params: Any, context: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            compiled = getattr(context, "compiled_parameters", None) or [{}]
            self.statements.append((statement, dict(compiled[0]), params))


@contextmanager
def traced() -> Iterator[Tracer]:
    tracer = Tracer()
    event.listen(Engine, "before_cursor_execute", tracer)
    try:
        yield tracer
    finally:
        event.remove(Engine, "before_cursor_execute", tracer)


class Counter:
    """Rows each traced statement reads (see the module doc), and its query plan."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path)
        self.run_ids = {r for (r,) in self.conn.execute("SELECT id FROM runs")}
        self.per_run = dict(self.conn.execute("SELECT run_id, COUNT(*) FROM results GROUP BY run_id"))
        self.scores_per_run = dict(self.conn.execute("SELECT run_id, COUNT(*) FROM scores GROUP BY run_id"))
        self.metrics_per_suite = dict(
            self.conn.execute("SELECT suite, COUNT(*) FROM run_metrics GROUP BY suite")
        )
        self.plans: dict[str, list[str]] = {}

    def rows(self, tracer: Tracer) -> dict[str, int]:
        read = {"results": 0, "scores": 0, "run_metrics": 0, "runs": 0}
        for statement, params, dbapi_params in tracer.statements:
            tables = set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", statement, flags=re.IGNORECASE))
            runs = {v for v in params.values() if isinstance(v, str) and v in self.run_ids}
            suites = {v for v in params.values() if isinstance(v, str) and v in self.metrics_per_suite}
            if "results" in tables:
                read["results"] += (
                    sum(self.per_run.get(r, 0) for r in runs) if runs else sum(self.per_run.values())
                )
            if "scores" in tables:
                read["scores"] += (
                    sum(self.scores_per_run.get(r, 0) for r in runs)
                    if runs
                    else sum(self.scores_per_run.values())
                )
            if "run_metrics" in tables:
                per = (
                    sum(self.metrics_per_suite[s] for s in suites)
                    if suites
                    else sum(self.metrics_per_suite.values())
                )
                read["run_metrics"] += per * len(
                    re.findall(r"\b(?:FROM|JOIN)\s+run_metrics\b", statement, flags=re.IGNORECASE)
                )
            if "runs" in tables:
                read["runs"] += len(self.run_ids)
            self._plan(statement, dbapi_params)
        return read

    def _plan(self, statement: str, params: Any) -> None:
        key = re.sub(r"\s+", " ", statement.strip())
        if key in self.plans:
            return
        try:
            self.plans[key] = [
                row[3] for row in self.conn.execute("EXPLAIN QUERY PLAN " + statement, params or ())
            ]
        except sqlite3.Error as exc:
            self.plans[key] = [f"(plan not shown: {exc})"]


@contextmanager
def _store_time() -> Iterator[list[float]]:
    """Seconds spent inside the Store's query methods while the block runs."""
    spent = [0.0]
    saved = {
        name: getattr(Store, name)
        for name in ("series", "latest_runs", "case_outcomes", "case_outcomes_many")
    }

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - t0

        return timed

    for name, method in saved.items():
        setattr(Store, name, wrap(method))
    try:
        yield spent
    finally:
        for name, method in saved.items():
            setattr(Store, name, method)


_READ: dict[str, dict[str, int]] = {}  # rows read by each timed call, by label


def _timed(label: str, counter: Counter, call: Callable[[], Any]) -> float:
    with traced() as tracer:
        t0 = time.perf_counter()
        out = call()
        elapsed = time.perf_counter() - t0
    read = counter.rows(tracer)
    _READ[label] = read
    if isinstance(out, dict):
        out = [item for items in out.values() for item in items]
    size = f"{len(out):,} items" if isinstance(out, list) else ""
    _say(
        f"{label:<44} {elapsed * 1000:8.1f} ms  {len(tracer.statements):3d} SELECTs  rows read: "
        f"results {read['results']:,}, scores {read['scores']:,}, run_metrics {read['run_metrics']:,}, "
        f"runs {read['runs']:,}  {size}"
    )
    return elapsed


def measure(path: Path) -> bool:
    from typer.testing import CliRunner

    from benchroute.cli import app

    folder = path.parent
    project = folder / "benchroute.yaml"
    project.write_text(f"store: {path}\nmodels: {{}}\n")
    counter = Counter(path)
    total = counter.conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    scores = counter.conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    metrics = counter.conn.execute("SELECT COUNT(*) FROM run_metrics").fetchone()[0]
    _say(f"store {path}: {total:,} results, {scores:,} scores, {metrics:,} run_metrics rows, "
         f"{len(counter.run_ids)} runs, {path.stat().st_size / 1e6:,.0f} MB")  # fmt: skip
    times: dict[str, float] = {}

    _say(f"\n# subprocesses (interpreter start and imports included; median of {REPEAT_CLI} runs)")
    for command in (["history", SUITE], ["history", SUITE, "--format", "csv"], ["drift", SUITE]):
        argv = [str(BIN), *command, "--db", str(path), "--config", str(project)]
        took = []
        for _ in range(REPEAT_CLI):
            t0 = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, cwd=folder, check=False)
            took.append(time.perf_counter() - t0)
        elapsed = statistics.median(took)
        times["cli " + " ".join(command)] = elapsed
        _say(
            f"$ benchroute {' '.join(command)} --db {path}   exit {done.returncode}, {elapsed * 1000:.0f} ms "
            f"(median of {REPEAT_CLI}; {min(took) * 1000:.0f}-{max(took) * 1000:.0f} ms)"
        )
        shown = (done.stdout or done.stderr).rstrip().splitlines()
        for line in shown[:14]:
            _say("    " + line)
        if len(shown) > 14:
            _say(f"    … ({len(shown) - 14} more lines)")

    _say("\n# in-process (typer CliRunner; first call warms the imports, second is timed)")
    runner = CliRunner()
    for command in (["history", SUITE], ["drift", SUITE]):
        args = [*command, "--db", str(path), "--config", str(project)]
        runner.invoke(app, args)
        with _store_time() as in_store:
            times["in-process " + command[0]] = _timed(
                f"benchroute {' '.join(command)} (in-process)",
                counter,
                lambda a=args: [runner.invoke(app, a)],
            )
        _say(f"{'':<44} of which in Store methods: {in_store[0] * 1000:.1f} ms")

    _say("\n# the store API directly")
    store = Store(f"sqlite:///{path}")
    latest = store.latest_runs(SUITE, n=1)[0].id
    times["series"] = _timed("Store.series(scale) every metric", counter, lambda: store.series(SUITE))
    times["series 20"] = _timed(
        "Store.series(scale, limit_runs=20)", counter, lambda: store.series(SUITE, limit_runs=20)
    )
    times["series 3"] = _timed(
        "Store.series(scale, model=beta, 3 metrics)",
        counter,
        lambda: store.series(SUITE, model="beta", metrics=["pass_rate", "cost_per_success", "p95_ms"]),
    )
    times["latest"] = _timed("Store.latest_runs(scale, n=2)", counter, lambda: store.latest_runs(SUITE, n=2))
    for metric in ("pass", "refusal", "latency_ms"):
        times["case " + metric] = _timed(
            f"Store.case_outcomes({latest}, beta, {metric})",
            counter,
            lambda m=metric: store.case_outcomes(latest, SUITE, "beta", metric=m),
        )
    pairs = [(m, x) for m in MODELS for x in ("pass", "refusal", "latency_ms", "tokens_out", "cost_usd")]
    times["case many"] = _timed(
        f"Store.case_outcomes_many({latest}, 2 models x 5)",
        counter,
        lambda: store.case_outcomes_many(latest, SUITE, pairs),
    )
    store.close()

    _say("\n# EXPLAIN QUERY PLAN of every distinct SELECT above")
    for statement, plan in counter.plans.items():
        _say("  " + (statement if len(statement) <= 160 else statement[:157] + "..."))
        for line in plan:
            _say("      " + line)
    scans = [
        s
        for s, plan in counter.plans.items()
        if any(re.match(r"SCAN (r|s|results|scores)\b", p) for p in plan)
    ]
    _say(f"\nfull scans of results/scores: {len(scans)}")
    _say("\n# per command (subprocess wall time; rows read by the same command, traced in-process)")
    for command in ("history", "drift"):
        read = _READ[f"benchroute {command} {SUITE} (in-process)"]
        rows = sum(read.values())
        _say(
            f"benchroute {command} {SUITE}: {times['cli ' + command + ' ' + SUITE] * 1000:.0f} ms (median), "
            f"rows scanned {rows:,} (results {read['results']:,}, scores {read['scores']:,}, "
            f"run_metrics {read['run_metrics']:,}, runs {read['runs']:,})"
        )
    slowest = max(times.items(), key=lambda kv: kv[1])
    ok = all(v < 1.0 for v in times.values())
    _say(f"slowest: {slowest[0]} {slowest[1] * 1000:.0f} ms; every figure under 1 s: {'yes' if ok else 'NO'}")
    return ok


def main() -> int:
    global RUNS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/store_scale/store.db"))
    parser.add_argument("--keep", action="store_true", help="reuse a complete store file from an earlier run")
    parser.add_argument("--runs", type=int, default=RUNS, help="fewer runs for a quick check (default 500)")
    args = parser.parse_args()
    RUNS = args.runs
    path: Path = args.db.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    complete = False
    if args.keep and path.exists():
        with sqlite3.connect(path) as conn:
            try:
                complete = (
                    conn.execute("SELECT COUNT(*) FROM runs WHERE metrics_ts IS NOT NULL").fetchone()[0]
                    == RUNS
                )
            except sqlite3.Error:
                complete = False
    if not complete:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        _say(f"filling {path}: {RUNS} runs x {PER_RUN:,} results = {RUNS * PER_RUN:,} results")
        t0 = time.perf_counter()
        fill(path)
        _say(f"filled in {time.perf_counter() - t0:.0f} s")
    ok = measure(path)
    RESULT.write_text("\n".join(_LINES) + "\n")
    print(f"saved {RESULT.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
