"""Agreement of the RAG scorers with hand labels.

``benchmarks/data/rag_labelled.jsonl`` holds labelled cases (see
``benchmarks/data/rag_labelled_build.py`` for how they were written and labelled): passages, a
question, an answer, and the expected ``factuality``, ``citation_precision`` and
``citation_recall``. Each case is scored by the three scorers built by name with their default
settings (what a suite gets with ``- name: factuality``), and a figure *agrees* when it is
within ±0.1 of its label. The table gives, per variant (faithful, fabricated, wrong citation,
no citations, filler) and overall, the cases that agree on each figure and on all three, for
the cases the scorers were tuned on (``tune``) and for the ones written after tuning
(``held_out``). Target: at least 80% of cases agree on all three figures.

    .venv/bin/python benchmarks/rag_agreement.py                     # defaults
    .venv/bin/python benchmarks/rag_agreement.py --checker lexical   # force a checker
    .venv/bin/python benchmarks/rag_agreement.py --misses            # list the disagreements

Raw numbers go to ``benchmarks/results/rag_agreement.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
DATA = BENCH_DIR / "data" / "rag_labelled.jsonl"
RESULTS_FILE = BENCH_DIR / "results" / "rag_agreement.json"
FIGURES = ("factuality", "citation_precision", "citation_recall")
VARIANTS = ("faithful", "fabricated", "wrong_citation", "no_citations", "filler")
TOLERANCE = 0.1
TARGET = 0.8

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


async def score_all(rows: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
    from benchroute import Case, Completion, ScorerSpec
    from benchroute.scorers import ScoringContext, build_scorer

    context = ScoringContext({})
    scorers = {
        name: build_scorer(ScorerSpec(name=name, args=dict(args)), context=context) for name in FIGURES
    }
    out = []
    for row in rows:
        case = Case(id=row["id"], input=row["input"], passages=row["passages"])
        completion = Completion(text=row["output"])
        got: dict[str, float] = {}
        details: dict[str, Any] = {}
        for name, scorer in scorers.items():
            result = await scorer(completion, case)
            got[name] = round(result.value, 4)
            details[name] = result.details
        agree = {name: abs(got[name] - row["expected"][name]) <= TOLERANCE + 1e-9 for name in FIGURES}
        out.append({**row, "got": got, "agree": agree, "details": details})
    return out


def table(results: list[dict[str, Any]], split: str) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        if split == "all" or result["split"] == split:
            groups[result["variant"]].append(result)
            groups["overall"].append(result)
    if not groups:
        return []
    head = f"{'variant':<16}{'cases':>6}" + "".join(f"{name:>20}" for name in FIGURES) + f"{'all three':>14}"
    lines = [f"split: {split}", head, "-" * len(head)]
    for variant in (*VARIANTS, "overall"):
        rows = groups.get(variant, [])
        if not rows:
            continue
        cells = [f"{sum(r['agree'][n] for r in rows):>14}/{len(rows):<5}" for n in FIGURES]
        every = sum(all(r["agree"].values()) for r in rows)
        lines.append(
            f"{variant:<16}{len(rows):>6}"
            + "".join(cells)
            + f"{every:>8}/{len(rows):<3}{every / len(rows):>4.0%}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--checker", help="force a checker (default: the scorers' default)")
    parser.add_argument("--threshold", type=float, help="force support_threshold")
    parser.add_argument("--misses", action="store_true", help="print every disagreement")
    parser.add_argument("--out", type=Path, default=RESULTS_FILE)
    options = parser.parse_args(argv)
    args: dict[str, Any] = {}
    if options.checker:
        args["checker"] = options.checker
    if options.threshold is not None:
        args["support_threshold"] = options.threshold
    rows = load(options.data)
    started = time.perf_counter()
    results = asyncio.run(score_all(rows, args))
    elapsed = time.perf_counter() - started
    print(f"rag_agreement  {len(rows)} cases from {options.data.name}, scorer args {args or 'default'}")
    print(f"rag_agreement  agreement = |score - label| <= {TOLERANCE}; {elapsed:.1f} s")
    splits = ("tune", "held_out", "held_out_2", "held_out_3", "held_out_4", "held_out_5", "all")
    for split in splits:
        lines = table(results, split)
        if lines:
            print()
            print("\n".join(lines))
    if options.misses:
        print()
        for r in results:
            if not all(r["agree"].values()):
                wrong = {n: (r["expected"][n], r["got"][n]) for n in FIGURES if not r["agree"][n]}
                print(f"MISS {r['id']} ({r['split']}): {wrong}")
                for claim in r["details"]["factuality"].get("claims", []):
                    print(
                        f"    {claim.get('supported')!s:<5} {claim.get('support')} {claim['claim'][:110]!r}"
                    )
    every = sum(all(r["agree"].values()) for r in results)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "cases": len(results),
        "args": args,
        "agree_all_three": every,
        "by_case": [
            {k: r[k] for k in ("id", "split", "variant", "expected", "got", "agree")} for r in results
        ],
    }
    options.out.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return 0 if every >= TARGET * len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
