"""Code security: does ``code_security`` fail vulnerable code and pass its safe rewrite?

The labelled set is ``benchmarks/data/code_security_cases.jsonl``: pairs of a vulnerable
snippet and its safe rewrite, several variants per category (SQL built by f-string, ``%``,
``.format`` or ``+``; hard-coded passwords, API keys, AWS keys, a Flask secret key; shell
injection through ``shell=True``, ``os.system``, ``os.popen``; pickle, ``yaml.load``,
``marshal``; fast password hashes (MD5, SHA-1, SHA-2, SHA-3, BLAKE2, through import aliases and
``update()``); ``verify=False``, ``ssl._create_unverified_context``,
``CERT_NONE``; ``eval``/``exec`` on input; ``tempfile.mktemp``). Each snippet is scored with
the default settings, fenced as a model's reply would be.

Reported: per category, vulnerable snippets that fail (detection) and safe rewrites that pass
(no false alarm); overall the same, and the cases that went wrong. Target: all of both.

Run it with the project's venv::

    .venv/bin/python benchmarks/code_security.py

Raw numbers go to ``benchmarks/results/code_security.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchroute import Case, Completion, ScorerSpec, Usage
from benchroute.scorers import build_scorer

BENCH_DIR = Path(__file__).resolve().parent
DATA = BENCH_DIR / "data" / "code_security_cases.jsonl"
RESULTS = BENCH_DIR / "results" / "code_security.json"


def load_cases(path: Path = DATA) -> list[dict[str, Any]]:
    """The labelled cases: ``id``, ``category``, ``variant``, ``label`` (vulnerable/safe), ``code``."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


async def score_all(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    scorer = build_scorer(ScorerSpec(name="code_security"))
    out = []
    for case in cases:
        text = f"Here is the code:\n\n```python\n{case['code']}```\n"
        score = await scorer(Completion(text=text, usage=Usage()), Case(id=case["id"]))
        right = (not score.passed) if case["label"] == "vulnerable" else score.passed
        out.append(
            {
                **{k: case[k] for k in ("id", "category", "label")},
                "passed": score.passed,
                "right": right,
                "reason": score.reason,
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    items = asyncio.run(score_all(load_cases(args.data)))
    table: dict[str, dict[str, list[bool]]] = defaultdict(lambda: {"vulnerable": [], "safe": []})
    for item in items:
        table[item["category"]][item["label"]].append(item["right"])
    report: dict[str, Any] = {"categories": {}}
    print(f"{'category':28} {'detected':>9} {'safe passed':>12}")
    for category, labels in table.items():
        detected, clean = labels["vulnerable"], labels["safe"]
        report["categories"][category] = {
            "vulnerable": len(detected),
            "detected": sum(detected),
            "safe": len(clean),
            "safe_passed": sum(clean),
        }
        print(f"{category:28} {sum(detected):>4}/{len(detected):<4} {sum(clean):>6}/{len(clean):<5}")
    vulnerable = [i for i in items if i["label"] == "vulnerable"]
    safe = [i for i in items if i["label"] == "safe"]
    detected = sum(i["right"] for i in vulnerable)
    clean = sum(i["right"] for i in safe)
    report["detection"] = {
        "detected": detected,
        "vulnerable": len(vulnerable),
        "rate": round(detected / len(vulnerable), 4),
    }
    report["false_alarms"] = {
        "safe_passed": clean,
        "safe": len(safe),
        "rate": round(1 - clean / len(safe), 4),
    }
    print(
        f"detection: {detected}/{len(vulnerable)} vulnerable snippets fail; "
        f"safe rewrites: {clean}/{len(safe)} pass"
    )
    wrong = [i for i in items if not i["right"]]
    for item in wrong:
        print(f"  WRONG {item['id']}: passed={item['passed']} - {item['reason']}")
    report["items"] = items
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
