"""Recall and precision of the holdout scrubber (``benchroute dataset scrub``, and import) per
entity type, on the labelled log corpora of ``tests/suites/_pii_corpus.py``: "dev" (support
tickets and debug logs of seven countries) and "holdout" (JSON/key=value logs, CRM notes,
e-mail threads and chats of other countries, card schemes and credential forms).

    .venv/bin/python benchmarks/scrub_recall.py               # 1,200 lines of each corpus
    .venv/bin/python benchmarks/scrub_recall.py --lines 5000 --misses

A labelled value counts as found when it is gone from its string and a placeholder of its type
is there. Precision per type: found / (found + placeholders of that type beyond the case's
labelled values). Decoys (order numbers, versions, dates, Luhn-invalid cards, IBANs with a
wrong checksum, unissued SSNs, placeholder credentials, UUIDs, ...) count as wrongly replaced
when their text changed. Names are reported apart: they have no checksum. Figures go to
``benchmarks/results/scrub_recall.json``.

Both corpora were looked at while the recognisers were written, so these are not figures on
unseen data: ``benchmarks/scrub_unseen.py`` measures on a generator written apart.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.suites._pii_corpus import NAMES, TYPED, build_corpus, measure  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1200, help="log lines per corpus (default 1200)")
    parser.add_argument("--misses", action="store_true", help="list what was missed / wrongly replaced")
    args = parser.parse_args()

    from benchroute.suites._scrub import Scrubber

    scrubber = Scrubber()
    results: dict[str, object] = {"lines": args.lines, "scrubber": scrubber.version, "corpora": {}}
    print(f"scrubber: {scrubber.version}")
    for kind in ("dev", "holdout"):
        corpus = build_corpus(kind, lines=args.lines)  # type: ignore[arg-type]
        lines = sum(labelled.lines for labelled in corpus)
        started = time.perf_counter()
        measured = measure(corpus, lambda case: scrubber.scrub_case(case)[0])
        seconds = time.perf_counter() - started
        print(f"\n{kind}: {len(corpus)} cases, {lines} lines, scrubbed in {seconds:.1f} s")
        print(f"  {'type':<16} {'labelled':>8} {'found':>7} {'recall':>8} {'precision':>10}")
        rows = {}
        for tag in (*TYPED, NAMES):
            if tag == NAMES:
                print("  names (no checksum; reported apart):")
            recall, precision = measured.recall(tag), measured.precision(tag)
            print(
                f"  {tag:<16} {measured.labelled[tag]:>8} {measured.found[tag]:>7} "
                f"{recall:>7.1%} {precision:>10.1%}"
            )
            rows[tag] = {
                "labelled": measured.labelled[tag],
                "found": measured.found[tag],
                "recall": round(recall, 4),
                "precision": round(precision, 4),
            }
        decoys = sum(measured.decoys.values())
        replaced = sum(measured.decoys_replaced.values())
        print(f"  decoys left alone: {decoys - replaced}/{decoys} ({measured.decoy_precision():.1%})")
        typed_ok = all(measured.recall(tag) >= 0.98 for tag in TYPED)
        print(f"  every typed entity >= 98%: {'yes' if typed_ok else 'NO'}")
        if args.misses:
            for entity in measured.missed:
                print(f"  missed   {entity.tag:<16} {entity.path:<28} {entity.value!r}")
            for decoy in measured.wrongly_replaced:
                print(f"  replaced {decoy.tag:<28} {decoy.path:<22} {decoy.value!r}")
        results["corpora"][kind] = {  # type: ignore[index]
            "cases": len(corpus),
            "lines": lines,
            "seconds": round(seconds, 2),
            "types": rows,
            "decoys": decoys,
            "decoys_replaced": dict(measured.decoys_replaced),
            "typed_at_least_98": typed_ok,
        }
    out = ROOT / "benchmarks" / "results" / "scrub_recall.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
