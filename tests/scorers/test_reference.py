"""Reference-answer scorers (normalized_match, numeric, token_f1, rouge_l, semantic_similarity),
built by name through the registry. Textbook values are computed by hand in the comments;
semantic similarity runs the real local all-MiniLM-L6-v2 model."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest

from benchroute import Case, Completion, ConfigError, Score, ScorerSpec
from benchroute.scorers import ScoringContext, build_scorer, registered_scorers
from benchroute.scorers._reference import MAX_ROUGE_CHARS, extract_final_number, normalize_answer

FAMILY = ("normalized_match", "numeric", "token_f1", "rouge_l", "semantic_similarity")


def run(
    name: str,
    text: str,
    *,
    expected: Any = None,
    args: dict[str, Any] | None = None,
    threshold: float | None = None,
    context: ScoringContext | None = None,
) -> Score:
    scorer = build_scorer(ScorerSpec(name=name, args=args or {}, threshold=threshold), context=context)

    async def call() -> Score:
        return await scorer(Completion(text=text), Case(id="c1", input="q", expected=expected))

    return asyncio.run(call())


class FixedEmbeddings(ScoringContext):
    """Hands out preset vectors by text and records what it was asked to embed."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        super().__init__({})
        self.vectors = vectors
        self.calls: list[list[str]] = []

    async def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(texts)
        return [self.vectors[t] for t in texts]


def test_the_family_is_registered() -> None:
    registered = registered_scorers()
    for name in FAMILY:
        assert callable(registered[name]), name


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("The Eiffel Tower.", "eiffel tower"),
        ("  an   Apple,  a PEAR ", "apple pear"),
        ("state-of-the-art", "stateoftheart"),  # deleted, not spaced, as in the SQuAD script
        ("¿Qué es «esto»?", "qué es esto"),  # Unicode punctuation too
        ("ＰＡＲＩＳ", "paris"),  # NFKC folds full-width letters
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower
        ("Theatre then", "theatre then"),  # articles only as whole words
        ("", ""),
    ],
)
def test_normalize_answer(text: str, normalised: str) -> None:
    assert normalize_answer(text) == normalised


# --- normalized_match --------------------------------------------------------------------------


def test_normalized_match_passes_after_normalisation() -> None:
    score = run("normalized_match", "  The EIFFEL tower!\n", expected="Eiffel Tower")
    assert (score.value, score.passed, score.scorer) == (1.0, True, "normalized_match")
    assert score.reason == "matches 'eiffel tower'"


def test_normalized_match_fails_and_shows_both_normalised_forms() -> None:
    score = run("normalized_match", "The Louvre.", expected="Eiffel Tower")
    assert (score.value, score.passed) == (0.0, False)
    assert "'louvre'" in score.reason
    assert "'eiffel tower'" in score.reason


def test_normalized_match_accepts_any_of_a_list_and_the_argument_overrides_the_case() -> None:
    assert run("normalized_match", "NYC", expected=["New York City", "nyc"]).passed
    assert run("normalized_match", "Rome", expected="Paris", args={"expected": ["Rome"]}).passed
    assert not run("normalized_match", "Paris", expected="Paris", args={"expected": "Rome"}).passed


# --- numeric -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("42", 42.0),
        ("The answer is 42.", 42.0),
        ("-3", -3.0),
        ("It fell to \u22127 degrees", -7.0),  # Unicode minus sign
        ("Total: 1,234.5", 1234.5),
        ("1,234,567", 1234567.0),
        ("It costs $1,200.", 1200.0),
        ("a loss of -$5", -5.0),
        ("about 45%", 45.0),
        ("2.5e3", 2500.0),
        ("1E-3", 0.001),
        ("roughly .5 of it", 0.5),
        ("She ate 3/4 of the pie.", 0.75),
        ("First 12, then 7, so the answer is 19.", 19.0),  # several numbers: the last wins
        ("pages 10-12", 12.0),  # a range's dash is not a minus sign
        ("x = -3", -3.0),
        ("1, 2, 3", 3.0),  # a list is not a thousands-separated number
        ("full-width \uff14\uff12", 42.0),
    ],
)
def test_extract_final_number(text: str, number: float) -> None:
    found = extract_final_number(text)
    assert found is not None
    assert found[0] == pytest.approx(number)


@pytest.mark.parametrize("text", ["", "no digits here", "H2O", "version v1.2.3"])
def test_extract_final_number_finds_none(text: str) -> None:
    assert extract_final_number(text) is None


def test_numeric_passes_and_the_reason_shows_extracted_and_expected() -> None:
    score = run("numeric", "Adding them up, the total is $1,200.", expected=1200)
    assert (score.value, score.passed, score.scorer) == (1.0, True, "numeric")
    assert score.reason == "extracted 1200 (from '$1,200'), expected 1200"
    assert score.details == {"extracted": 1200.0, "expected": [1200.0]}


def test_numeric_fails_on_a_wrong_final_number() -> None:
    # 42 appears, but the final number is what the model answered.
    score = run("numeric", "Not 42; the answer is 41.", expected="42")
    assert (score.value, score.passed) == (0.0, False)
    assert score.reason == "extracted 41 (from '41'), expected 42"


def test_numeric_expected_strings_are_parsed_like_the_output() -> None:
    assert run("numeric", "1200", expected="$1,200").passed
    assert run("numeric", "45 percent, i.e. 45", expected="45%").passed
    assert run("numeric", "0.75", expected="3/4").passed
    assert run("numeric", "2500", expected="2.5e3").passed
    assert run("numeric", "0.3", expected=0.1 + 0.2).passed  # float rounding is not a miss


def test_numeric_absolute_and_relative_tolerance() -> None:
    assert run("numeric", "3.14", expected=math.pi, args={"tolerance": 0.01}).passed
    assert not run("numeric", "3.1", expected=math.pi, args={"tolerance": 0.01}).passed
    assert not run("numeric", "3.14", expected=math.pi).passed  # exact by default
    # 2% of 1000 is 20: 1019 is in, 1021 is out.
    relative = {"tolerance": 0.02, "relative": True}
    assert run("numeric", "1019", expected=1000, args=relative).passed
    score = run("numeric", "1021", expected=1000, args=relative)
    assert not score.passed
    assert score.reason == "extracted 1021 (from '1021'), expected 1000 ± 0.02 (relative)"


def test_numeric_any_of_a_list() -> None:
    assert run("numeric", "It is 7", expected=[6, "7"]).passed
    assert not run("numeric", "It is 8", expected=[6, "7"]).passed


def test_numeric_without_a_number_in_the_output() -> None:
    score = run("numeric", "I cannot say.", expected=5)
    assert (score.value, score.passed) == (0.0, False)
    assert score.reason == "no number in the output; expected 5"


def test_numeric_unparseable_expected_in_a_case_is_a_zero_with_a_reason() -> None:
    score = run("numeric", "5", expected="five")
    assert (score.value, score.passed) == (0.0, False)
    assert score.reason == "expected value 'five' is not a single number"
    assert run("numeric", "1", expected=True).reason == "expected value True is not a number"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"expected": "about 5 or 6"}, "is not a single number"),
        ({"expected": [1, "x"]}, "is not a single number"),
        ({"expected": float("nan")}, "not a finite number"),
        ({"tolerance": -1}, "tolerance must be a number >= 0"),
        ({"tolerance": "a bit"}, "tolerance must be a number >= 0"),
    ],
)
def test_numeric_bad_arguments_fail_when_the_suite_loads(args: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_scorer(ScorerSpec(name="numeric", args=args), where="suite.yaml:3")
    assert "suite.yaml:3: scorer 'numeric'" in str(info.value)
    assert needle in str(info.value)


def test_numeric_overflow_and_division_by_zero_fail_without_crashing() -> None:
    overflow = run("numeric", "1e999", expected=1)
    assert not overflow.passed
    assert overflow.reason == "extracted inf (from '1e999'), expected 1"
    assert overflow.details["extracted"] is None  # no Infinity/NaN tokens in stored JSON
    assert not run("numeric", "1/0", expected=1).passed
    assert not run("numeric", "9" * 5000 + "/" + "9" * 5000, expected=1).passed


# --- token_f1 ----------------------------------------------------------------------------------


def test_token_f1_textbook_value() -> None:
    # Normalised: [cat, sat] against [cat, sat, down]; 2 tokens in common.
    # precision 2/2 = 1, recall 2/3, F1 = 2 * 1 * 2/3 / (1 + 2/3) = (4/3) / (5/3) = 0.8.
    score = run("token_f1", "the cat sat", expected="a cat sat down")
    assert score.value == pytest.approx(0.8)
    assert score.passed  # default threshold 0.5
    assert score.details == {"precision": pytest.approx(1.0), "recall": pytest.approx(2 / 3)}
    assert score.reason == "F1 0.80 (precision 1.00, recall 0.67) against 'a cat sat down'"


def test_token_f1_counts_repeated_tokens_once_each() -> None:
    # [cat, cat, cat] against [cat, sat]: common = min(3, 1) = 1; P = 1/3, R = 1/2, F1 = 0.4.
    assert run("token_f1", "cat cat cat", expected="cat sat").value == pytest.approx(0.4)


def test_token_f1_fails_without_overlap_and_takes_the_best_reference() -> None:
    miss = run("token_f1", "a dog barked", expected="the cat sat")
    assert (miss.value, miss.passed) == (0.0, False)
    best = run("token_f1", "the cat sat", expected=["dog", "a cat sat down", "cat sat"])
    assert best.value == pytest.approx(1.0)
    assert best.reason.endswith("against 'cat sat'")


def test_token_f1_empty_answers_follow_squad() -> None:
    # An empty answer is right only against a reference that is empty after normalisation.
    assert run("token_f1", "", expected="Paris").value == 0.0
    assert run("token_f1", "The.", expected="a").value == 1.0


# --- rouge_l -----------------------------------------------------------------------------------


def test_rouge_l_textbook_value() -> None:
    # Stemmed words: reference [polic, kill, the, gunman] (4),
    # candidate [the, polic, quickli, kill, a, gunman] (6).
    # LCS = polic kill gunman = 3, so precision 3/6, recall 3/4,
    # F = 2 * 0.5 * 0.75 / (0.5 + 0.75) = 0.6.
    score = run("rouge_l", "The police quickly killed a gunman.", expected="police killed the gunman")
    assert score.value == pytest.approx(0.6)
    assert score.passed
    assert score.details == {"precision": pytest.approx(0.5), "recall": pytest.approx(0.75)}
    assert score.reason == ("ROUGE-L 0.60 (precision 0.50, recall 0.75) against 'police killed the gunman'")


def test_rouge_l_word_order_matters() -> None:
    # Same four words, LCS "police killed" (or "the gunman") = 2: P = R = F = 2/4.
    score = run("rouge_l", "the gunman police killed", expected="police killed the gunman", threshold=0.6)
    assert score.value == pytest.approx(0.5)
    assert not score.passed


def test_rouge_l_stems_and_takes_the_best_reference() -> None:
    assert run("rouge_l", "Cats running", expected="cat runs").value == pytest.approx(1.0)
    score = run("rouge_l", "the cat sat on the mat", expected=["dogs bark", "the cat sat on the mat"])
    assert score.value == pytest.approx(1.0)
    assert run("rouge_l", "dogs bark loudly", expected="the cat sat on the mat").value == 0.0


def test_rouge_l_clips_a_huge_output() -> None:
    started = time.perf_counter()
    score = run("rouge_l", "the cat sat on the mat " * 50_000, expected="the cat sat on the mat")
    assert time.perf_counter() - started < 15
    assert score.details["clipped"] is True
    assert f"clipped to its first {MAX_ROUGE_CHARS:,} characters" in score.reason
    assert score.value < 0.01  # recall 1, precision ~6/16,667 words


# --- semantic_similarity (real local model) ----------------------------------------------------


@pytest.mark.parametrize(
    ("output", "reference"),
    [
        ("Paris is the capital city of France.", "The capital of France is Paris."),
        ("A cat is asleep on the couch.", "The cat is sleeping on the sofa."),
    ],
)
def test_semantic_similarity_paraphrase_passes(output: str, reference: str) -> None:
    score = run("semantic_similarity", output, expected=reference)
    assert score.value > 0.7, score.reason
    assert score.passed
    assert score.reason.startswith("cosine similarity 0.")
    assert score.details["cosine"] == pytest.approx(score.value)


def test_semantic_similarity_unrelated_sentence_fails() -> None:
    score = run(
        "semantic_similarity",
        "Photosynthesis converts sunlight into chemical energy in plants.",
        expected="The capital of France is Paris.",
    )
    assert score.value < 0.3, score.reason
    assert not score.passed


def test_semantic_similarity_takes_the_best_reference() -> None:
    score = run(
        "semantic_similarity",
        "Paris is the capital city of France.",
        expected=["Quarterly interest rates rose by two percent.", "The capital of France is Paris."],
    )
    assert score.passed
    assert score.reason.endswith("to 'The capital of France is Paris.'")


def test_semantic_similarity_floors_negative_cosine_and_skips_empty_output() -> None:
    context = FixedEmbeddings({"up": [1.0, 0.0], "down": [-1.0, 0.0]})
    score = run("semantic_similarity", "up", expected="down", context=context)
    assert (score.value, score.passed) == (0.0, False)
    assert score.details == {"cosine": -1.0}
    empty = run("semantic_similarity", "  \n", expected="down", context=context)
    assert (empty.value, empty.passed, empty.reason) == (0.0, False, "empty output")
    assert context.calls == [["up", "down"]]  # the empty output never reached the model


def test_semantic_similarity_context_is_not_a_suite_argument() -> None:
    with pytest.raises(ConfigError, match="'context' is not an argument a suite can set"):
        build_scorer(ScorerSpec(name="semantic_similarity", args={"context": "x"}))


# --- the whole family --------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAMILY)
def test_a_case_without_expected_value_scores_zero_with_a_reason(name: str) -> None:
    context = FixedEmbeddings({})  # never asked: there is nothing to compare with
    for expected in (None, [], [None]):
        score = run(name, "42", expected=expected, context=context)
        assert (score.value, score.passed, score.scorer) == (0.0, False, name)
        assert score.reason == "the case has no expected value"
    assert context.calls == []


MALFORMED = {
    "empty": "",
    "one_megabyte": "x" * 1_000_000,
    "one_megabyte_of_words": "the answer is 42 " * 60_000,
    "replacement_chars": b"caf\xc3 \xff ok 42".decode("utf-8", errors="replace"),
    "lone_surrogates": b"caf\xc3 \xff\xfe ok 42".decode("utf-8", errors="surrogateescape"),
    "truncated_json": '{"answer": [42, ',
}


@pytest.mark.parametrize("name", FAMILY)
@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_output_is_scored(name: str, kind: str) -> None:
    score = run(name, MALFORMED[kind], expected="ok 42")
    assert isinstance(score, Score)
    assert score.scorer == name
    assert 0.0 <= score.value <= 1.0
    assert isinstance(score.reason, str)
    assert score.reason
    assert len(score.reason) < 500  # a reason never echoes a whole huge output
    score.reason.encode("utf-8")  # no lone surrogates left to break a UTF-8 report


def test_malformed_output_specific_values() -> None:
    # Undecodable bytes around the answer do not hide it.
    assert run("numeric", MALFORMED["lone_surrogates"], expected=42).passed
    assert run("numeric", MALFORMED["truncated_json"], expected=42).passed
    assert run("numeric", MALFORMED["one_megabyte_of_words"], expected=42).passed
    # [caf\ufffd, \ufffd, ok, 42] against [ok, 42]: P = 2/4, R = 1, F1 = 2/3.
    assert run("token_f1", MALFORMED["replacement_chars"], expected="ok 42").value == pytest.approx(2 / 3)
    # Each lone surrogate becomes one U+FFFD: [caf\ufffd, \ufffd\ufffd, ok, 42], the same F1.
    assert run("token_f1", MALFORMED["lone_surrogates"], expected="ok 42").value == pytest.approx(2 / 3)
    assert run("semantic_similarity", "", expected="ok").reason == "empty output"
