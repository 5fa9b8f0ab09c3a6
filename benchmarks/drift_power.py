"""Power of drift detection: detection delay and false-alarm rate vs effect size and suite size.

Every history is simulated (``benchroute.analysis.simulate_history``: cases of differing
difficulty, a true rate that steps at run 8 of 18, or never) and replayed the way
``benchroute watch`` sees it: one drift check after every run with the default ``drift:``
settings (``first_alarm``). Seeded: the same command prints the same table.

    .venv/bin/python benchmarks/drift_power.py [--histories 30]

Columns: detected = share of step histories flagged at or after the change; delay = runs
from the first changed run to the flag (0 = flagged on that run), median and 90th
percentile; early = share flagged before the change (a false alarm); noise FA = share of
noise-only histories of the same length and suite size with any flag.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchroute.analysis import first_alarm, simulate_history
from benchroute.config import DriftSpec

RESULTS = Path(__file__).resolve().parent / "results"
CHANGE_AT = 8
RUNS = 18
SIZES = (50, 200, 1000)
SCENARIOS = (
    ("pass_rate", 0.80, 0.77),
    ("pass_rate", 0.80, 0.74),
    ("pass_rate", 0.80, 0.65),
    ("refusal_rate", 0.04, 0.09),
    ("refusal_rate", 0.04, 0.19),
)


def _quantile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=30, help="histories per cell")
    parser.add_argument("--run-noise", type=float, default=0.0, help="run-to-run logit noise (sd)")
    args = parser.parse_args()
    settings = DriftSpec()
    started = time.perf_counter()
    lines: list[str] = []
    rows: list[dict[str, Any]] = []

    def say(text: str) -> None:
        lines.append(text)
        print(text, flush=True)

    say(
        f"drift power: {args.histories} histories per row, {RUNS} runs, change at run {CHANGE_AT}, "
        f"alpha {settings.alpha:g}, run noise {args.run_noise:g}"
    )
    header = f"{'metric':<13}{'before':>7}{'after':>7}{'effect':>8}{'cases':>7}{'detected':>10}"
    header += f"{'delay p50':>11}{'delay p90':>11}{'early':>8}{'noise FA':>10}"
    say(header)
    say("-" * len(header))
    noise_rates: dict[tuple[str, float, int], float] = {}
    for metric, before, after in SCENARIOS:
        for cases in SIZES:
            delays: list[int] = []
            early = 0
            for seed in range(args.histories):
                history = simulate_history(
                    runs=RUNS,
                    cases=cases,
                    rate_before=before,
                    rate_after=after,
                    change_at=CHANGE_AT,
                    metric=metric,
                    run_noise=args.run_noise,
                    seed=seed,
                )
                alarm = first_alarm(history, settings)
                if alarm is None:
                    continue
                if alarm < CHANGE_AT:
                    early += 1
                else:
                    delays.append(alarm - CHANGE_AT)
            key = (metric, before, cases)
            if key not in noise_rates:
                flagged = sum(
                    first_alarm(
                        simulate_history(
                            runs=RUNS,
                            cases=cases,
                            rate_before=before,
                            metric=metric,
                            run_noise=args.run_noise,
                            seed=100_000 + seed,
                        ),
                        settings,
                    )
                    is not None
                    for seed in range(args.histories)
                )
                noise_rates[key] = flagged / args.histories
            n = args.histories
            p50 = f"{statistics.median(delays):.1f}" if delays else "—"
            p90 = f"{_quantile(delays, 0.9):.0f}" if delays else "—"
            rows.append({
                "metric": metric, "before": before, "after": after, "cases": cases, "histories": n,
                "detected": len(delays) / n, "delay_p50": statistics.median(delays) if delays else None,
                "delay_p90": _quantile(delays, 0.9) if delays else None, "early": early / n,
                "noise_false_alarm": noise_rates[key],
            })  # fmt: skip
            say(
                f"{metric:<13}{before:>7.2f}{after:>7.2f}{after - before:>+8.2f}{cases:>7}"
                f"{len(delays) / n:>10.0%}{p50:>11}{p90:>11}{early / n:>8.0%}{noise_rates[key]:>10.0%}"
            )
    say(f"({time.perf_counter() - started:.0f} s)")
    settings_json = {
        "runs": RUNS,
        "change_at": CHANGE_AT,
        "alpha": settings.alpha,
        "run_noise": args.run_noise,
    }
    (RESULTS / "drift_power.txt").write_text("\n".join(lines) + "\n")
    (RESULTS / "drift_power.json").write_text(
        json.dumps({"settings": settings_json, "rows": rows}, indent=2) + "\n"
    )
    print("saved benchmarks/results/drift_power.txt and .json")


if __name__ == "__main__":
    main()
