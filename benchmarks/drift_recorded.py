"""Drift detection on recorded generations of real local models (not simulated).

benchmarks/data/drift_recorded/generations.jsonl holds 2,080 generations: 52 short cases x 10
seeds x 4 versions served behind one name (``smollm2``: SmolLM2-135M; ``gemma3``: Gemma 3;
``smollm2-terse``: SmolLM2 with a terse system prompt; ``smollm2-hot``: SmolLM2 at
temperature 1.3), each with its pass/fail, latency and output tokens (see record.py there).

A history is ``RUNS`` runs of the 52 cases x ``REPEATS`` repeats; each (case, repeat) of a run
is one recorded generation drawn at random (seeded) from the current version's 10 seeds. Step
histories serve version A until a random run (``CHANGE_MIN``..``CHANGE_MAX``), then version B;
controls resample one version throughout (no change). Every history is replayed the way
``benchroute watch`` sees it: after every run a drift check (``detect_drift``, default
``drift:`` settings: BH over the metrics, McNemar on the paired cases, Mann-Whitney, the
change-point scan over the series) of pass_rate, latency_ms and tokens_out together.

    .venv/bin/python benchmarks/drift_recorded.py [--histories 50]

Columns: detected = share of step histories flagged at or after the change; delay = runs
from the first run of version B to the flag (median, 90th percentile); early = share flagged
before the change (a false alarm); FA = share of control histories with any flag; first
metric = the metric(s) of the first flag, most common first. Saves
benchmarks/results/drift_recorded.{txt,json}.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from benchroute.analysis import Outcome, RunOutcomes, detect_drift
from benchroute.analysis._drift_sim import history_inputs
from benchroute.config import DriftSpec

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "drift_recorded" / "generations.jsonl"
RESULTS = HERE / "results"
RUNS, REPEATS, CHANGE_MIN, CHANGE_MAX = 18, 2, 6, 12
METRICS = ("pass_rate", "latency_ms", "tokens_out")
SHORT = {"pass_rate": "pass", "latency_ms": "latency", "tokens_out": "tokens"}
PAIRS = (
    ("smollm2", "gemma3"),
    ("gemma3", "smollm2"),
    ("smollm2", "smollm2-terse"),
    ("smollm2", "smollm2-hot"),
    ("smollm2", "smollm2"),
    ("gemma3", "gemma3"),
    ("smollm2-terse", "smollm2-terse"),
    ("smollm2-hot", "smollm2-hot"),
)

Generations = dict[str, dict[str, list[dict[str, Any]]]]  # version -> case -> generations


def load(path: Path = DATA) -> Generations:
    table: Generations = defaultdict(lambda: defaultdict(list))
    for line in path.read_text().splitlines():
        row = json.loads(line)
        table[row["version"]][row["case_id"]].append(row)
    return table


def _outcome(metric: str, row: dict[str, Any], repeat: int) -> Outcome:
    value = {"pass_rate": None, "latency_ms": row["latency_ms"], "tokens_out": row["tokens_out"]}[metric]
    return Outcome(row["case_id"], bool(row["passed"]), value, repeat, row["case_hash"])


def history(
    table: Generations, before: str, after: str, change_at: int | None, seed: int, runs: int = RUNS
) -> dict[str, list[RunOutcomes]]:
    """Per metric, the runs of one history (oldest first); version ``after`` from run
    ``change_at`` on (None: ``before`` throughout)."""
    rng = random.Random(seed)
    cases = sorted(table[before])
    by_metric: dict[str, list[RunOutcomes]] = {m: [] for m in METRICS}
    for run in range(runs):
        version = after if change_at is not None and run >= change_at else before
        drawn = [(rng.choice(table[version][case]), repeat) for case in cases for repeat in range(REPEATS)]
        for metric in METRICS:
            by_metric[metric].append(
                RunOutcomes(
                    run_id=f"run{run:02d}",
                    model="m",
                    metric=metric,
                    suite="recorded",
                    outcomes=[_outcome(metric, row, repeat) for row, repeat in drawn],
                    served_model=version,
                )
            )
    return by_metric


def first_flag(by_metric: dict[str, list[RunOutcomes]], settings: DriftSpec) -> tuple[int, list[str]] | None:
    """(run index, flagged metrics) of the first drift check that flags; None if none does."""
    count = len(next(iter(by_metric.values())))
    for index in range(1, count):
        latest: list[RunOutcomes] = []
        baseline: list[RunOutcomes] = []
        series = {}
        for runs in by_metric.values():
            new, old, points = history_inputs(
                runs[: index + 1], baseline=settings.baseline, window=settings.window
            )
            latest += new
            baseline += old
            series.update(points)
        report = detect_drift(latest, baseline, settings=settings, series=series, suite="recorded")
        flagged = report.flagged()
        if flagged:
            return index, sorted({f.metric for f in flagged})
    return None


def _quantile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=50, help="histories per version pair")
    args = parser.parse_args()
    settings = DriftSpec()
    table = load()
    started = time.perf_counter()
    lines: list[str] = []
    rows: list[dict[str, Any]] = []

    def say(text: str) -> None:
        lines.append(text)
        print(text, flush=True)

    rates = {v: statistics.mean(r["passed"] for c in cs.values() for r in c) for v, cs in table.items()}
    say(f"drift on recorded generations: {args.histories} histories per pair, alpha {settings.alpha:g}")
    say(
        f"{RUNS} runs of {len(table['smollm2'])} cases x {REPEATS}, "
        f"version switch at a random run {CHANGE_MIN}-{CHANGE_MAX}"
    )
    say("pass rate per version: " + ", ".join(f"{v} {r:.3f}" for v, r in sorted(rates.items())))
    header = f"{'before -> after':<28}{'detected':>9}{'delay p50':>10}{'p90':>5}{'early':>7}{'FA':>6}"
    header += "  first metric"
    say(header)
    say("-" * 100)
    for before, after in PAIRS:
        control = before == after
        delays: list[int] = []
        early = flagged_any = 0
        first_metrics: Counter[str] = Counter()
        for seed in range(args.histories):
            change_at = None if control else random.Random(10_000 + seed).randint(CHANGE_MIN, CHANGE_MAX)
            found = first_flag(history(table, before, after, change_at, seed), settings)
            if found is None:
                continue
            index, metrics = found
            flagged_any += 1
            first_metrics.update(metrics)
            if change_at is None or index < change_at:
                early += 1
            else:
                delays.append(index - change_at)
        n = args.histories
        p50 = statistics.median(delays) if delays else None
        p90 = _quantile(delays, 0.9) if delays else None
        rows.append({
            "before": before, "after": after, "control": control, "histories": n,
            "detected": None if control else len(delays) / n, "delay_p50": p50, "delay_p90": p90,
            "early": None if control else early / n, "false_alarm": flagged_any / n if control else early / n,
            "first_metrics": dict(first_metrics),
        })  # fmt: skip
        label = f"{before} (no change)" if control else f"{before} -> {after}"
        line = (
            f"{label:<28}{'' if control else f'{len(delays) / n:.0%}':>9}"
            f"{'—' if p50 is None else f'{p50:.1f}':>10}{'—' if p90 is None else f'{p90:.0f}':>5}"
            f"{'' if control else f'{early / n:.0%}':>7}{f'{flagged_any / n:.0%}' if control else '':>6}  "
            + ", ".join(f"{SHORT[m]} {c}" for m, c in first_metrics.most_common())
        )
        say(line.rstrip())
    say(f"({time.perf_counter() - started:.0f} s)")
    (RESULTS / "drift_recorded.txt").write_text("\n".join(lines) + "\n")
    payload = {"settings": {"runs": RUNS, "repeats": REPEATS, "alpha": settings.alpha}, "rows": rows}
    (RESULTS / "drift_recorded.json").write_text(json.dumps(payload, indent=2) + "\n")
    print("saved benchmarks/results/drift_recorded.txt and .json")


if __name__ == "__main__":
    main()
