"""Filler share: does ``token_efficiency`` measure the share of a reply that is filler?

The labelled set is ``benchmarks/data/filler_labelled.jsonl``: one answer per line, written
by hand across domains (geography, cooking, programming, law, health, ...), with every piece
of filler marked ``[[like this]]``. Filler is what can be deleted without losing anything the
asker learns: pleasantries, content-free transitions ("Let's move on."), meta-commentary
about the answer itself, sentences that only say something is important, generic hedges and
disclaimers, closing offers and reassurance, a restatement of the question, and a recap that
repeats earlier sentences. A caveat with content ("A medium egg needs 30 seconds less.") is
never filler. Marks may cover a whole sentence or a lead-in ("[[To answer your question,]]").

Each row has a ``split``: ``tune`` rows were used while the detector was built (its rules,
and the sentence model's weights, fitted by ``fit_filler_model.py``); ``held_out`` rows were
never used to change it. Rows were written in batches, named by the id's prefix
(:func:`batch_of`): ``1`` (no prefix), ``2`` (``ho-``), ``3`` (``h2-``), ``4`` (``h3-``) and
``fresh_a`` (``fa-``), ``fresh_c`` (``fc-``, written after ``fresh_b`` was first measured) and
``fresh_d`` (``fd-``, short answers) are tuning batches; ``5`` (``h4-``) and ``fresh_b``
(``fb-``) are held out. Each batch was first measured unseen (benchmarks/README.md).

For each answer, the *true* filler share is the share of its tokens inside the marks, counted
with the scorer's own token estimate (:func:`benchroute.scorers._efficiency.count_tokens`);
the *measured* share is ``wasted_output_tokens / total_tokens`` from ``token_efficiency``
with default settings, given the case's question as input and the same token count as the
provider's output tokens. Reported per batch and per split: mean absolute error, answers
within ±0.1 of the true share (target: at least 90% of unseen answers), the *false-filler
rate* (of the tokens outside the marks, the share the detector counts as filler, a sentence
counted at its weight) with the number of answers that have any, and the mean of both shares.
The exit status is 0 when at least 90% of the held-out answers are within ±0.1.

Run it with the project's venv::

    .venv/bin/python benchmarks/filler_share.py            # summary per batch and split
    .venv/bin/python benchmarks/filler_share.py --verbose  # every answer, worst first

Raw numbers go to ``benchmarks/results/filler_share.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

from benchroute import Case, Completion, ScorerSpec, Usage
from benchroute.scorers import build_scorer
from benchroute.scorers._efficiency import count_tokens, label_sentences

BENCH_DIR = Path(__file__).resolve().parent
DATA = BENCH_DIR / "data" / "filler_labelled.jsonl"
RESULTS = BENCH_DIR / "results" / "filler_share.json"
TOLERANCE = 0.1
TARGET_SHARE = 0.9  # of unseen answers within ±TOLERANCE

_MARK = re.compile(r"\[\[(.+?)\]\]", re.DOTALL)
TOKEN = re.compile(r"\w+|[^\w\s]")  # the scorer's count_tokens units, with their places
# Batches in the order they were written; a row's batch is named by its id's prefix.
_BATCH_PREFIXES = (
    ("ho-", "2"),
    ("h2-", "3"),
    ("h3-", "4"),
    ("h4-", "5"),
    ("fa-", "fresh_a"),
    ("fb-", "fresh_b"),
    ("fc-", "fresh_c"),
    ("fd-", "fresh_d"),
)
BATCHES = ("1", "2", "3", "4", "5", "fresh_a", "fresh_b", "fresh_c", "fresh_d")


def batch_of(row_id: str) -> str:
    """The batch a row was written in: its id's prefix, "1" for the unprefixed first batch."""
    return next((batch for prefix, batch in _BATCH_PREFIXES if row_id.startswith(prefix)), "1")


def unmark(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """The answer without its marks, and the character spans that were marked."""
    text, spans, last = [], [], 0
    length = 0
    for match in _MARK.finditer(marked):
        before = marked[last : match.start()]
        text.append(before)
        length += len(before)
        inner = match.group(1)
        spans.append((length, length + len(inner)))
        text.append(inner)
        length += len(inner)
        last = match.end()
    text.append(marked[last:])
    return "".join(text), spans


def token_flags(marked: str, question: str) -> tuple[int, float, float]:
    """``(content_tokens, content_tokens_flagged, filler_tokens_missed)`` of a labelled answer:
    its tokens outside the marks, how many of them the detector calls filler, and how many
    marked tokens it does not."""
    text, spans = unmark(marked)
    flagged: list[tuple[int, int, float]] = []
    position = 0
    for sentence, kind, piece, weight in label_sentences(text, question):
        start = text.find(sentence, position)
        if start < 0:  # the splitter rewrote the sentence; locate it by its first words
            start = text.find(sentence[:20], position)
        if start < 0:
            continue
        position = start + len(sentence)
        if kind is not None:
            flagged.append((start, start + len(piece), weight))
    content = 0
    wrongly = missed = 0.0
    for token in TOKEN.finditer(text):
        at = token.start()
        is_filler = any(a <= at < b for a, b in spans)
        flag = max((w for a, b, w in flagged if a <= at < b), default=0.0)
        content += not is_filler
        wrongly += flag if not is_filler else 0.0
        missed += (1 - flag) if is_filler else 0.0
    return content, round(wrongly, 2), round(missed, 2)


def true_share(marked: str) -> tuple[str, float]:
    """The answer without its marks, and the share of its tokens that were marked."""
    text = _MARK.sub(lambda m: m.group(1), marked)
    filler = sum(count_tokens(m.group(1)) for m in _MARK.finditer(marked))
    total = count_tokens(text)
    return text, filler / total if total else 0.0


async def measure(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    scorer = build_scorer(ScorerSpec(name="token_efficiency"))
    out = []
    for row in rows:
        text, truth = true_share(row["answer"])
        tokens = count_tokens(text)
        score = await scorer(
            Completion(text=text, usage=Usage(output_tokens=tokens)),
            Case(id=row["id"], input=row["question"]),
        )
        details = score.details
        measured = (
            details["wasted_output_tokens"] / details["total_tokens"] if details["total_tokens"] else 0.0
        )
        content, wrongly, missed = token_flags(row["answer"], row["question"])
        out.append(
            {
                "id": row["id"],
                "split": row["split"],
                "batch": batch_of(row["id"]),
                "content_tokens": content,
                "content_tokens_flagged": wrongly,
                "filler_tokens_missed": missed,
                "true": round(truth, 4),
                "measured": round(measured, 4),
                "error": round(abs(measured - truth), 4),
                "filler_found": [f["text"] for f in details["filler"]],
            }
        )
    return out


def summary(items: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(items)
    if not n:
        return {"answers": 0}
    within = sum(1 for i in items if i["error"] <= TOLERANCE + 1e-9)
    content = sum(i["content_tokens"] for i in items)
    return {
        "answers": n,
        # Of the tokens that carry the answer, the share the detector called filler.
        "false_filler_rate": round(sum(i["content_tokens_flagged"] for i in items) / content, 4)
        if content
        else 0.0,
        "answers_with_false_filler": sum(1 for i in items if i["content_tokens_flagged"]),
        "mean_absolute_error": round(sum(i["error"] for i in items) / n, 4),
        "within_0.1": within,
        "share_within_0.1": round(within / n, 4),
        "mean_true_share": round(sum(i["true"] for i in items) / n, 4),
        "mean_measured_share": round(sum(i["measured"] for i in items) / n, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--verbose", action="store_true", help="print every answer, worst first")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = asyncio.run(measure(rows))
    report: dict[str, Any] = {"data": args.data.name, "tolerance": TOLERANCE}
    groups = [(f"batch {b}", [i for i in items if i["batch"] == b]) for b in BATCHES]
    groups += [(s, [i for i in items if i["split"] == s]) for s in ("tune", "held_out")]
    groups.append(("all", items))
    report["batches"] = {}
    for name, chosen in groups:
        figures = summary(chosen)
        if name.startswith("batch "):
            report["batches"][name.removeprefix("batch ")] = figures
        else:
            report[name] = figures
        if figures["answers"]:
            print(
                f"{name:13} {figures['answers']:3} answers  MAE {figures['mean_absolute_error']:.3f}  "
                f"within ±{TOLERANCE}: {figures['within_0.1']:3}/{figures['answers']:<3} "
                f"({figures['share_within_0.1']:4.0%})  false filler {figures['false_filler_rate']:.1%} "
                f"of content tokens ({figures['answers_with_false_filler']} answers)  "
                f"mean true {figures['mean_true_share']:.3f} measured {figures['mean_measured_share']:.3f}"
            )
    if args.verbose:
        for item in sorted(items, key=lambda i: -i["error"]):
            print(
                f"  {item['error']:.3f}  {item['split']:8} {item['id']:12} true {item['true']:.3f} "
                f"measured {item['measured']:.3f}  {item['filler_found']}"
            )
    report["items"] = items
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    held_out = report["held_out"]
    return 0 if held_out.get("answers") and held_out["share_within_0.1"] >= TARGET_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
