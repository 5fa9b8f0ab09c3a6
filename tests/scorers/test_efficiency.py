"""token_efficiency: the share of output tokens that carry the answer rather than filler."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from benchroute import Case, Completion, ConfigError, Score, ScorerSpec, Usage
from benchroute.scorers import build_scorer
from benchroute.scorers._efficiency import count_tokens, find_filler

CASE = Case(id="c", input="What is the capital of France?", expected="Paris")


def run(
    text: str,
    output_tokens: int = 0,
    case: Case = CASE,
    args: dict[str, Any] | None = None,
    reasoning_tokens: int = 0,
) -> Score:
    scorer = build_scorer(ScorerSpec(name="token_efficiency", args=args or {}))
    usage = Usage(output_tokens=output_tokens, reasoning_tokens=reasoning_tokens)

    async def go() -> Score:
        return await scorer(Completion(text=text, usage=usage), case)

    return asyncio.run(go())


def test_terse_answer_is_all_answer() -> None:
    result = run("Paris.", output_tokens=2)
    assert (result.value, result.passed, result.scorer) == (1.0, True, "token_efficiency")
    details = result.details
    assert (details["filler_tokens"], details["answer_tokens"], details["total_tokens"]) == (0, 2, 2)
    assert (details["wasted_output_tokens"], details["wasted_fraction"]) == (0, 0.0)
    assert details["filler"] == [] and details["token_source"] == "usage"
    assert result.reason.startswith("no filler found in 2 output tokens")


def test_pleasantry_padding_is_filler() -> None:
    text = (
        "Great question! The capital of France is Paris. I hope this helps! "
        "Let me know if you have any other questions."
    )
    padded = run(text, output_tokens=30)
    terse = run("The capital of France is Paris.", output_tokens=8)
    assert terse.value == 1.0
    assert padded.value < 0.4 and not padded.passed
    kinds = {f["kind"] for f in padded.details["filler"]}
    texts = [f["text"] for f in padded.details["filler"]]
    assert kinds == {"pleasantry"}
    assert texts == ["Great question!", "I hope this helps!", "Let me know if you have any other questions."]
    # Tokens: the provider's count scaled by the filler's share of the estimated tokens.
    details = padded.details
    assert details["filler_tokens"] + details["answer_tokens"] == details["total_tokens"] == 30
    answer_share = count_tokens("The capital of France is Paris.") / count_tokens(text)
    assert details["answer_tokens"] == pytest.approx(30 * answer_share, abs=1)
    assert details["wasted_output_tokens"] == details["filler_tokens"]
    assert details["wasted_fraction"] == pytest.approx(details["filler_tokens"] / 30, abs=1e-4)
    assert "filler (pleasantry)" in padded.reason


@pytest.mark.parametrize(
    ("text", "kind", "phrase"),
    [
        ("Sure! Here is the answer: Paris is the capital of France.", "lead-in", "Here is the answer:"),
        (
            "As an AI language model, I can tell you that the capital is Paris.",
            "lead-in",
            "As an AI language model",
        ),
        (
            "It's important to note that Paris is the capital of France.",
            "lead-in",
            "It's important to note that",
        ),
        (
            "As an AI language model, I don't have opinions. Paris is the capital.",
            "hedge",
            "As an AI language model",
        ),
        ("Paris is the capital. Please verify this with an official source.", "hedge", "Please verify"),
        ("Certainly! Paris.", "pleasantry", "Certainly!"),
    ],
)
def test_filler_phrases_are_found(text: str, kind: str, phrase: str) -> None:
    result = run(text)
    assert 0 < result.value < 1
    assert any(f["kind"] == kind and f["text"].startswith(phrase) for f in result.details["filler"]), (
        result.details
    )


def test_restating_the_question_is_detected() -> None:
    result = run("You asked what the capital of France is. The capital of France is Paris.", output_tokens=18)
    assert [f["kind"] for f in result.details["filler"]] == ["restatement"]
    assert result.details["filler"][0]["text"] == "You asked what the capital of France is."
    assert 0.4 < result.value < 0.6


def test_the_only_answer_to_a_yes_no_question_is_not_a_restatement() -> None:
    case = Case(id="w", input="Does water boil at 100 degrees Celsius at sea level?")
    result = run("Water boils at 100 degrees Celsius at sea level.", case=case)
    assert result.value == 1.0 and result.details["filler"] == []
    # ...but repeating it before answering is.
    padded = run("Does water boil at 100 degrees Celsius at sea level? Yes, it does, at 1 atm.", case=case)
    assert [f["kind"] for f in padded.details["filler"]] == ["restatement"]


def test_verbosity_ratio() -> None:
    answer = "The capital of France is the city of Paris."  # 9 words
    against_expected = run(answer)  # expected "Paris": 1 word
    assert (against_expected.details["verbosity"], against_expected.details["reference_words"]) == (9.0, 1)
    assert "9 words vs 1 expected" in against_expected.reason
    explicit = run(answer, args={"reference_words": 3})
    assert explicit.details["verbosity"] == 3.0
    listed = run(answer, case=Case(id="l", input="q", expected=["Paris, France", "Paris"]))
    assert listed.details["verbosity"] == 4.5  # the first accepted answer: 2 words
    no_reference = run(answer, case=Case(id="n", input="q"))
    assert no_reference.details["verbosity"] is None and no_reference.details["reference_words"] is None


def test_estimated_tokens_when_usage_is_missing() -> None:
    result = run("Great question! Paris is the capital of France.")
    assert result.details["token_source"] == "estimate"
    assert result.details["total_tokens"] == 10  # words and punctuation marks
    assert count_tokens("Great question! Paris is the capital of France.") == 10
    assert result.details["filler_tokens"] + result.details["answer_tokens"] == 10


def test_reasoning_tokens_are_not_filler() -> None:
    # 100 output tokens, 80 of them hidden reasoning: the filler share applies to the 20 shown.
    result = run("Great question! Paris is the capital of France.", output_tokens=100, reasoning_tokens=80)
    assert result.details["total_tokens"] == 100 and result.details["reasoning_tokens"] == 80
    assert 0 < result.details["filler_tokens"] < 20


def test_empty_output() -> None:
    result = run("   ")
    assert (result.value, result.passed, result.reason) == (0.0, False, "empty output")
    assert result.details["wasted_output_tokens"] == 0
    spent = run("", output_tokens=12)  # tokens spent on nothing visible are all wasted
    assert (spent.details["wasted_output_tokens"], spent.details["wasted_fraction"]) == (12, 1.0)


@pytest.mark.parametrize(
    "text",
    [
        "Great question! " * 70_000,  # ~1 MB of pleasantries
        "Paris is the capital. " * 50_000,
        "\ufffd\ufffd Paris \ufffd",
        '{"answer": "Paris", "note": "I hope this',
    ],
    ids=["1mb-filler", "1mb-answer", "replacement-chars", "truncated-json"],
)
def test_malformed_outputs_are_scored(text: str) -> None:
    result = run(text, output_tokens=len(text) // 4)
    assert 0.0 <= result.value <= 1.0 and result.reason
    assert len(result.details["filler"]) <= 20


def test_threshold_and_arguments() -> None:
    assert not run("Great question! Paris.", args={"threshold": 0.9}).passed
    with pytest.raises(ConfigError, match="reference_words"):
        build_scorer(ScorerSpec(name="token_efficiency", args={"reference_words": 0}))


def test_find_filler_counts_tokens() -> None:
    filler_tokens, total_tokens, filler = find_filler("Sure! Paris.", "What is the capital?")
    assert (filler_tokens, total_tokens) == (2, 4)
    assert filler == [{"text": "Sure!", "kind": "pleasantry"}]


# --- generic filler: transitions, importance, reassurance (not only fixed phrases) -------------

THREE_FILLERS = Case(id="g", input="What is the capital of Australia?")


@pytest.mark.parametrize(
    ("text", "filler"),
    [
        (
            "The capital of Australia is Canberra, chosen in 1908 as a compromise between Sydney and "
            "Melbourne. This is an important point to keep in mind. With that in mind, let's look at the "
            "bigger picture. Parliament moved there in 1927. I hope this clears things up for you!",
            [
                "This is an important point to keep in mind.",
                "With that in mind, let's look at the bigger picture.",
                "I hope this clears things up for you!",
            ],
        ),
        (
            "Canberra is the capital of Australia, purpose-built after federation in 1901. "
            "This really cannot be overstated enough. Now, let's move on. "
            "Parliament House opened there in 1988. You're all set to ace your geography quiz!",
            [
                "This really cannot be overstated enough.",
                "Now, let's move on.",
                "You're all set to ace your geography quiz!",
            ],
        ),
    ],
    ids=["transition-importance-reassurance", "stress-move-on-closing"],
)
def test_three_generic_filler_sentences_are_measured(text: str, filler: list[str]) -> None:
    tokens = count_tokens(text)
    result = run(text, output_tokens=tokens, case=THREE_FILLERS)
    assert [f["text"] for f in result.details["filler"]] == filler
    true_share = sum(count_tokens(f) for f in filler) / tokens
    assert true_share > 0.35
    assert result.details["wasted_fraction"] == pytest.approx(true_share, abs=0.02)


@pytest.mark.parametrize(
    "text",
    [
        "No. Grapes and raisins can cause kidney failure in dogs, even in small amounts.",
        "Use `reversed(items)` for an iterator. This avoids copying a large list.",
        "So blue light reaches your eyes from every direction of the sky, which is why it looks blue.",
        "Both mean 'to be'. Ser describes identity; estar describes states and location.",
    ],
    ids=["yes-no", "code", "reasoning-with-so", "quoted"],
)
def test_content_sentences_are_not_filler(text: str) -> None:
    result = run(text, case=Case(id="n", input="A question"))
    assert result.details["filler"] == [], result.details["filler"]


# --- filler worded unlike any phrase list: the sentence model ---------------------------------


@pytest.mark.parametrize(
    ("question", "marked"),
    [
        (
            "What is the difference between a mutex and a semaphore?",
            "A mutex lets one thread at a time hold a lock, and only the thread that took it may release "
            "it. A semaphore keeps a counter, so up to N threads can enter at once, and any thread may "
            "signal it. Use a mutex to guard shared data and a semaphore to cap access to a pool of "
            "connections. [[Concurrency is a notoriously slippery subject.]] [[Each primitive shines in "
            "its own setting.]] [[Pick whichever fits the problem in front of you.]]",
        ),
        (
            "How long should I rest a steak after cooking?",
            "Rest it for about five minutes for a thin steak and up to ten for a thick one, loosely "
            "covered with foil. The juices settle back into the meat instead of running onto the board. "
            "[[Cooking meat well is a craft that rewards attention.]] [[Your dinner guests are in for a "
            "treat.]]",
        ),
    ],
    ids=["closing-evaluations", "craft-and-guests"],
)
def test_unfamiliar_generic_sentences_are_measured(question: str, marked: str) -> None:
    filler = re.findall(r"\[\[(.+?)\]\]", marked)
    text = marked.replace("[[", "").replace("]]", "")
    tokens = count_tokens(text)
    result = run(text, output_tokens=tokens, case=Case(id="u", input=question))
    true_share = sum(count_tokens(f) for f in filler) / tokens
    assert result.details["wasted_fraction"] == pytest.approx(true_share, abs=0.1)
    found = [f["text"] for f in result.details["filler"]]
    assert all(f in found for f in filler), found


def test_instructions_in_plain_words_are_not_filler() -> None:
    case = Case(id="pg", input="How do I upgrade PostgreSQL to a new major version?")
    text = (
        "Take a backup of the database first. Install the new server version next to the old one, stop "
        "both, and run pg_upgrade with the old and new data directories. Start the new server, then run "
        "the analyze script it prints so the planner has statistics again. Remove the old cluster once "
        "the application works."
    )
    result = run(text, output_tokens=count_tokens(text), case=case)
    assert result.details["wasted_fraction"] <= 0.1
    # Nothing is counted as filler in full: at most a sentence the model is unsure of, in part.
    assert all(0 < f.get("weight", 1) < 1 for f in result.details["filler"]), result.details["filler"]


def test_an_unsure_sentence_counts_by_its_weight() -> None:
    filler_tokens, total_tokens, filler = find_filler(
        "Take a backup of the database first. Install the new server next to the old one and run "
        "pg_upgrade. Start the new server. Remove the old cluster once the application works.",
        "How do I upgrade PostgreSQL?",
    )
    weighted = sum(f.get("weight", 1) * count_tokens(f["text"]) for f in filler)
    assert filler_tokens == pytest.approx(weighted, abs=0.1)  # weights are shown to 2 places
    assert any(0 < f.get("weight", 1) < 1 for f in filler), filler
    assert 0 <= filler_tokens < total_tokens


def test_the_model_never_overrides_numbers_code_or_a_yes_no_answer() -> None:
    case = Case(id="p", input="Is it worth it?")
    for text in ("Yes, it is.", "It costs 30 euros.", "Run `make` first."):
        assert run(text, case=case).details["filler"] == [], text
