"""Recall per PII type and false positives per negative category of the ``pii_leakage`` scorer
with its default settings, on the generated multi-country corpus and the hand-written tricky
lines (``benchmarks/data/pii_corpus.jsonl``, ``benchmarks/data/pii_tricky.jsonl``).

    .venv/bin/python benchmarks/pii_recall.py                    # the scorer's defaults
    .venv/bin/python benchmarks/pii_recall.py --presidio-baseline  # and Presidio alone, side by side
    .venv/bin/python benchmarks/pii_recall.py --misses           # list what was missed / wrongly found

A labelled value counts as found when a finding of its type overlaps it. A negative (an order
id, a date, a Luhn-invalid number, ...) counts as a false positive when any finding overlaps
it. Findings that overlap no labelled value at all are counted separately ("unlabelled").
``--presidio-baseline`` also runs Presidio's own pattern recognizers at its 0.5 cut-off on the
same blank spaCy pipeline (what the scorer did before it had its own recognisers).
Figures go to ``benchmarks/results/pii_recall.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
CORPORA = [HERE / "data" / "pii_corpus.jsonl", HERE / "data" / "pii_tricky.jsonl"]
OUT = HERE / "results" / "pii_recall.json"
TYPES = [
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    "URL_CREDENTIAL",
]

Finding = tuple[str, int, int]  # (type, start, end)


def load(paths: list[Path]) -> list[dict[str, Any]]:
    rows = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row["source"] = path.stem
                rows.append(row)
    return rows


def scorer_detector() -> Callable[[str], list[Finding]]:
    from benchroute import Case, Completion, ScorerSpec
    from benchroute.scorers import build_scorer

    scorer = build_scorer(ScorerSpec(name="pii_leakage", args={}))
    case = Case(id="bench", input="Tell me something.")

    def detect(text: str) -> list[Finding]:
        score = asyncio.run(scorer(Completion(text=text), case))
        return [(f["type"], f["start"], f["end"]) for f in score.details.get("findings", [])]

    return detect


def presidio_detector() -> Callable[[str], list[Finding]]:
    """Presidio's pattern recognizers on a blank spaCy pipeline, cut-off 0.5."""
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer import predefined_recognizers as predefined
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from spacy.language import Language

    if not Language.has_factory("bench_lowercase_lemma"):

        def lemmas(doc: Any) -> Any:
            for token in doc:
                token.lemma_ = token.lower_
            return doc

        Language.component("bench_lowercase_lemma", func=lemmas)

    class Blank(SpacyNlpEngine):
        def load(self) -> None:
            nlp = spacy.blank("en")
            nlp.add_pipe("bench_lowercase_lemma")
            self.nlp = {"en": nlp}

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class Email(predefined.EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline(pattern_text).fqdn != "")

    registry = RecognizerRegistry(supported_languages=["en"])
    for cls in (
        Email,
        predefined.PhoneRecognizer,
        predefined.CreditCardRecognizer,
        predefined.IbanRecognizer,
        predefined.IpRecognizer,
        predefined.UsSsnRecognizer,
    ):
        registry.add_recognizer(cls())
    engine = Blank(models=[{"lang_code": "en", "model_name": "blank:en"}])
    engine.load()
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])
    entities = [t for t in TYPES if t != "URL_CREDENTIAL"]

    def detect(text: str) -> list[Finding]:
        results = analyzer.analyze(text, language="en", entities=entities, score_threshold=0.5)
        return [(r.entity_type, r.start, r.end) for r in results]

    return detect


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def measure(rows: list[dict[str, Any]], detect: Callable[[str], list[Finding]]) -> dict[str, Any]:
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    by_format: dict[str, Counter[str]] = defaultdict(Counter)
    negatives: Counter[str] = Counter()
    false_positives: dict[str, Counter[str]] = defaultdict(Counter)
    unlabelled: Counter[str] = Counter()
    misses: list[str] = []
    wrong: list[str] = []
    started = time.perf_counter()
    for row in rows:
        text = row["text"]
        findings = detect(text)
        for label in row["pii"]:
            span = (label["start"], label["end"])
            total[label["type"]] += 1
            country = label["format"].split(" ")[0] if label["type"] == "PHONE_NUMBER" else label["type"]
            by_format[country]["total"] += 1
            if any(kind == label["type"] and overlaps(span, (s, e)) for kind, s, e in findings):
                found[label["type"]] += 1
                by_format[country]["found"] += 1
            else:
                misses.append(
                    f"{row['id']} {label['type']} [{label['format']}] {text[span[0] : span[1]]!r} in {text!r}"
                )
        for negative in row["negatives"]:
            span = (negative["start"], negative["end"])
            negatives[negative["category"]] += 1
            hits = {kind for kind, s, e in findings if overlaps(span, (s, e))}
            for kind in hits:
                false_positives[negative["category"]][kind] += 1
                value = text[span[0] : span[1]]
                wrong.append(f"{row['id']} {negative['category']} reported as {kind}: {value!r} in {text!r}")
        labelled = [(x["start"], x["end"]) for x in row["pii"]] + [
            (x["start"], x["end"]) for x in row["negatives"]
        ]
        for kind, s, e in findings:
            if not any(overlaps((s, e), span) for span in labelled):
                unlabelled[kind] += 1
                wrong.append(f"{row['id']} unlabelled {kind}: {text[s:e]!r} in {text!r}")
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "recall": {t: {"found": found[t], "total": total[t]} for t in TYPES if total[t]},
        "phone_by_country": {c: dict(v) for c, v in sorted(by_format.items()) if c not in TYPES},
        "negatives": dict(negatives),
        "false_positives": {c: dict(v) for c, v in false_positives.items()},
        "unlabelled_findings": dict(unlabelled),
        "misses": misses,
        "wrong": wrong,
    }


def pct(found: int, total: int) -> str:
    return f"{found}/{total} ({100 * found / total:.1f}%)" if total else "-"


def report(results: dict[str, dict[str, Any]], show: bool) -> None:
    names = list(results)
    print(f"{'recall':<24}" + "".join(f"{n:>26}" for n in names))
    for t in TYPES:
        cells = [results[n]["recall"].get(t) for n in names]
        if any(cells):
            print(f"{t:<24}" + "".join(f"{pct(c['found'], c['total']) if c else '-':>26}" for c in cells))
    print(f"\n{'phone recall by country':<24}")
    for country in results[names[0]]["phone_by_country"]:
        cells = [results[n]["phone_by_country"].get(country, {}) for n in names]
        print(f"  {country:<22}" + "".join(f"{pct(c.get('found', 0), c.get('total', 0)):>26}" for c in cells))
    print(f"\n{'false positives':<24}")
    for category, count in sorted(results[names[0]]["negatives"].items()):
        cells = []
        for n in names:
            fp = results[n]["false_positives"].get(category, {})
            cells.append(f"{sum(fp.values())}/{count}" + (f" {dict(fp)}" if fp else ""))
        print(f"  {category:<22}" + "".join(f"{c:>26}  " for c in cells))
    cells = [str(sum(results[n]["unlabelled_findings"].values())) for n in names]
    print(f"  {'unlabelled findings':<22}" + "".join(f"{c:>26}" for c in cells))
    print("\nseconds: " + ", ".join(f"{n} {results[n]['seconds']}" for n in names))
    if show:
        for n in names:
            print(f"\n--- {n}: missed ---")
            print("\n".join(results[n]["misses"]) or "(none)")
            print(f"\n--- {n}: wrongly found ---")
            print("\n".join(results[n]["wrong"]) or "(none)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, action="append", help="JSONL file(s) (default: both corpora)")
    parser.add_argument("--presidio-baseline", action="store_true", help="also measure Presidio alone")
    parser.add_argument("--misses", action="store_true", help="list misses and false positives")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = load(args.corpus or CORPORA)
    print(
        f"{len(rows)} lines: " + ", ".join(f"{k} {v}" for k, v in Counter(r["source"] for r in rows).items())
    )
    detectors: dict[str, Callable[[str], list[Finding]]] = {"pii_leakage (defaults)": scorer_detector()}
    if args.presidio_baseline:
        detectors["presidio alone (0.5)"] = presidio_detector()
    results = {}
    for name, detect in detectors.items():
        detect("warm up: jane@example.com")
        results[name] = measure(rows, detect)
    report(results, args.misses)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {n: {k: v for k, v in r.items() if k not in ("misses", "wrong")} for n, r in results.items()}
    args.out.write_text(
        json.dumps({"lines": len(rows), "results": summary}, indent=2) + "\n", encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
