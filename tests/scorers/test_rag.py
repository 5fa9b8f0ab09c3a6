"""RAG scorers: claim splitting, factuality, citation precision/recall and answer relevance.

Embedding tests use the real local all-MiniLM-L6-v2 (loaded once per process, ~5 s); judge
tests use the fake OpenAI-compatible server as the judge.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from benchroute import Case, Completion, ConfigError, Score, ScorerSpec, Usage
from benchroute.config import ModelSpec, PriceOverride
from benchroute.scorers import JudgeFailed, ScoringContext, _embeddings, build_scorer, registered_scorers
from benchroute.scorers._claims import parse_citations, split_claims, split_sentences
from benchroute.scorers._support import parse_verdicts
from benchroute.testing import FakeServer, Reply

pytest.importorskip("sentence_transformers", reason="needs the [embeddings] extra")

EIFFEL = (
    "The Eiffel Tower is a wrought-iron lattice tower in Paris. It is 330 metres (1,083 ft) tall. "
    "It was completed in 1889 for the World's Fair."
)
LOUVRE = "The Louvre is the world's most-visited art museum, in Paris. It houses the Mona Lisa."
PASSAGES = [EIFFEL, LOUVRE]
CASE = Case(id="paris", input="Tell me about the Eiffel Tower and the Louvre.", passages=PASSAGES)
OBEROI = Case(
    id="oberoi",
    input="The Oberoi family is part of a hotel company that has a head office in what city?",
    passages=[
        "The Oberoi family is an Indian family that is famous for its involvement in hotels, namely "
        "through The Oberoi Group.The Oberoi Group is a hotel company with its head office in Delhi."
    ],
)


@pytest.fixture(scope="module")
def context() -> Iterator[ScoringContext]:
    yield ScoringContext({})


def score(
    context: ScoringContext,
    name: str,
    text: str,
    case: Case = CASE,
    args: dict[str, Any] | None = None,
    usage: Usage | None = None,
) -> Score:
    """Build the scorer by name (the entry-point path) and score one completion."""
    scorer = build_scorer(ScorerSpec(name=name, args=args or {}), context=context)

    async def go() -> Score:
        return await scorer(Completion(text=text, usage=usage or Usage()), case)

    return asyncio.run(go())


# --- sentences, citations, claims ----------------------------------------------------------------


def test_citation_markers_stay_with_their_sentence() -> None:
    text = "Paris is the capital.[1] It is large [2][3]. The Seine flows through it. [1, 4] Done."
    assert split_sentences(text) == [
        "Paris is the capital.[1]",
        "It is large [2][3].",
        "The Seine flows through it. [1, 4]",
        "Done.",
    ]
    assert parse_citations("[1, 3] [2-4] [7]") == [1, 3, 2, 3, 4, 7]


def test_sentences_respect_abbreviations_initials_lists_and_glued_periods() -> None:
    assert split_sentences("Dr. Smith met J. K. Rowling in the U.S. in 2001. A.C. Temple played.") == [
        "Dr. Smith met J. K. Rowling in the U.S. in 2001.",
        "A.C. Temple played.",
    ]
    assert split_sentences("- Apples are red\n- Bananas are yellow\n\n1. Cherries grow") == [
        "Apples are red",
        "Bananas are yellow",
        "Cherries grow",
    ]
    assert split_sentences("It ran in the 19th century.First for Women is newer.") == [
        "It ran in the 19th century.",
        "First for Women is newer.",
    ]


CLAIM_TABLE = [
    # conjunction between two clauses: split
    (
        "The tower was built in 1889 and it is 330 m tall.",
        ["The tower was built in 1889", "it is 330 m tall."],
    ),
    # semicolons split
    ("Paris is in France; Berlin is in Germany.", ["Paris is in France", "Berlin is in Germany."]),
    # a right side without its own subject borrows the left side's
    (
        "Mozart was born in Salzburg and died in Vienna.",
        ["Mozart was born in Salzburg", "Mozart died in Vienna."],
    ),
    # coordinated nouns are not clauses: no split
    ("Paris and Lyon are large cities in France.", ["Paris and Lyon are large cities in France."]),
    # a relative clause about a name becomes a claim about that name
    (
        "Taylor wrote a biography of Vivien Leigh, who was a British actress.",
        ["Taylor wrote a biography of Vivien Leigh.", "Vivien Leigh was a British actress"],
    ),
    # pleasantries, questions and empty hedges are dropped; lead-ins are cut off
    (
        "Great question! As an AI language model, I can tell you that water boils at 100 degrees. "
        "Does that help? I hope this helps!",
        ["Water boils at 100 degrees."],
    ),
    ("It's important to note that the Nile is long.", ["The Nile is long."]),
    ("Sure! Here is the answer: Marie Curie won two Nobel Prizes.", ["Marie Curie won two Nobel Prizes."]),
    ("I may be wrong. Please verify this with an official source.", []),
    # no content words: nothing to check
    ("Yes. OK.", []),
    # citation markers are removed from the claim text
    ("The Louvre houses the Mona Lisa [2].", ["The Louvre houses the Mona Lisa."]),
]


@pytest.mark.parametrize(("text", "claims"), CLAIM_TABLE)
def test_claim_splitting(text: str, claims: list[str]) -> None:
    assert [c.text for c in split_claims(text)] == claims


def test_short_answers_are_checked_with_the_question() -> None:
    (claim,) = split_claims("Delhi", "Where is the head office?")
    assert claim.text == "Q: Where is the head office? A: Delhi"
    assert claim.answer_text == "Delhi" and claim.with_question
    # Even without a content word ("No"), and past a pleasantry.
    assert [c.text for c in split_claims("Great question! No.", "Is it big?")] == ["Q: Is it big? A: No."]
    # A long answer is split into its own claims.
    long = "The Oberoi Group is a hotel company and its head office is in Delhi, the capital of India."
    assert all(not c.with_question for c in split_claims(long, "Where?"))


# --- factuality (embedding checker, real local embeddings) -------------------------------------


def test_factuality_supported_answer(context: ScoringContext) -> None:
    result = score(context, "factuality", "The Eiffel Tower is 330 metres tall and it was completed in 1889.")
    assert (result.value, result.passed, result.scorer) == (1.0, True, "factuality")
    assert result.reason == "2/2 claims supported by the passages"
    details = result.details
    assert details["checker"] == "embedding" and details["total"] == 2
    for claim in details["claims"]:
        assert claim["supported"] is True and claim["passage"] == 1
        assert {"support", "cosine", "coverage", "window"} <= set(claim)
    assert result.cost_usd == 0 and result.input_tokens == 0


def test_factuality_unsupported_entity_is_caught_even_when_on_topic(context: ScoringContext) -> None:
    result = score(context, "factuality", "The Eiffel Tower was designed by Gustave Eiffel in 1887.")
    assert result.value == 0.0 and not result.passed
    (claim,) = result.details["claims"]
    assert claim["cosine"] > 0.4  # topically close...
    assert {"Gustave", "1887"} <= set(claim["missing"])  # ...but names and numbers no passage has
    assert "unsupported:" in result.reason


def test_factuality_mixed_answer_is_a_rate(context: ScoringContext) -> None:
    text = "The Eiffel Tower is 330 metres tall. The Louvre was built by Napoleon in 1850."
    result = score(context, "factuality", text)
    assert result.value == 0.5 and result.passed  # threshold 0.5
    assert [c["supported"] for c in result.details["claims"]] == [True, False]
    strict = score(context, "factuality", text, args={"threshold": 0.9})
    assert not strict.passed


def test_factuality_short_answers_use_the_question(context: ScoringContext) -> None:
    right = score(context, "factuality", "Delhi", OBEROI)
    assert right.value == 1.0
    assert right.details["claims"][0]["claim"].startswith("Q: The Oberoi family")
    assert score(context, "factuality", "Mumbai", OBEROI).value == 0.0
    assert (
        score(context, "factuality", "The Oberoi family's hotel company is based in Mumbai.", OBEROI).value
        == 0
    )


def test_factuality_negated_claim_against_a_positive_passage(context: ScoringContext) -> None:
    result = score(context, "factuality", "The Eiffel Tower is not made of wrought iron.")
    assert result.value == 0.0
    assert result.details["claims"][0]["negation_mismatch"] is True


def test_factuality_paraphrase_is_supported(context: ScoringContext) -> None:
    result = score(context, "factuality", "The tower is made of wrought iron and is located in Paris.")
    assert result.value == 1.0, result.details


def test_factuality_without_passages_gives_a_clear_reason(context: ScoringContext) -> None:
    for case in (Case(id="a", input="q"), Case(id="b", input="q", passages=[]), Case(id="c", passages=[" "])):
        result = score(context, "factuality", "Paris is the capital of France.", case)
        assert (result.value, result.passed) == (0.0, False)
        assert result.reason == "the case has no passages to check the answer against"


def test_factuality_nothing_to_check(context: ScoringContext) -> None:
    empty = score(context, "factuality", "   ")
    assert (empty.value, empty.reason) == (0.0, "empty output")
    filler = score(context, "factuality", "Great question! I hope this helps. Let me know if you need more.")
    assert (filler.value, filler.reason) == (0.0, "no checkable claims in the answer")
    assert filler.details["total"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "lorem ipsum dolor sit amet " * 40_000,  # ~1 MB, one run-on "sentence"
        "Paris is in France. " * 50_000,  # ~1 MB of sentences
        "\ufffd\ufffd Paris \ufffd is in \ufffdFrance\ufffd.",
        '{"answer": "The Eiffel Tower is 330 metres tall", "sources": [1',
        "[1][2][3]",
        "\x00\x01 ]]] [[[ 999999999999999999999 [0]",
    ],
    ids=["1mb-run-on", "1mb-sentences", "replacement-chars", "truncated-json", "markers-only", "junk"],
)
@pytest.mark.parametrize("name", ["factuality", "citation_precision", "citation_recall", "answer_relevance"])
def test_malformed_outputs_are_scored_not_crashed(context: ScoringContext, name: str, text: str) -> None:
    started = time.perf_counter()
    result = score(context, name, text)
    assert 0.0 <= result.value <= 1.0 and result.reason
    assert time.perf_counter() - started < 60


def test_factuality_caps_the_number_of_claims(context: ScoringContext) -> None:
    text = " ".join(f"Tower number {i} is {i} metres tall." for i in range(100))
    result = score(context, "factuality", text)
    assert result.details["total"] == 64 and result.details["unchecked_claims"] == 36


def test_factory_arguments_are_checked(context: ScoringContext) -> None:
    with pytest.raises(ConfigError, match="checker must be"):
        build_scorer(ScorerSpec(name="factuality", args={"checker": "nli"}), context=context)
    with pytest.raises(ConfigError, match="support_threshold"):
        build_scorer(ScorerSpec(name="citation_recall", args={"support_threshold": 2}), context=context)
    with pytest.raises(ConfigError, match="not defined"):
        build_scorer(
            ScorerSpec(name="factuality", args={"checker": "judge", "judge_model": "gpt-9"}), context=context
        )


def test_rag_scorers_are_registered() -> None:
    names = {"factuality", "citation_precision", "citation_recall", "answer_relevance", "token_efficiency"}
    assert names <= set(registered_scorers())


# --- citations ---------------------------------------------------------------------------------


def test_citations_all_correct(context: ScoringContext) -> None:
    text = (
        "The Eiffel Tower is 330 metres tall [1]. It was completed in 1889. [1] "
        "The Louvre houses the Mona Lisa [2]."
    )
    precision = score(context, "citation_precision", text)
    recall = score(context, "citation_recall", text)
    assert (precision.value, precision.details["citations"], precision.details["correct"]) == (1.0, 3, 3)
    assert (recall.value, recall.details["claim_sentences"], recall.details["covered"]) == (1.0, 3, 3)


def test_citations_wrong_and_out_of_range(context: ScoringContext) -> None:
    text = (
        "The Eiffel Tower is 330 metres tall [2]. It was completed in 1889 [1]. "
        "The Louvre houses the Mona Lisa [5]."
    )
    precision = score(context, "citation_precision", text)
    assert precision.value == pytest.approx(1 / 3) and not precision.passed
    assert precision.reason == "1/3 citations point to a passage that supports their sentence"
    verdicts = [s["verdicts"] for s in precision.details["sentences"]]
    assert verdicts == [{"2": "does not support"}, {"1": "supports"}, {"5": "out of range"}]
    recall = score(context, "citation_recall", text)
    assert recall.value == pytest.approx(1 / 3)
    assert [s["covered"] for s in recall.details["sentences"]] == [False, True, False]


def test_citations_partial_and_multiple(context: ScoringContext) -> None:
    # One sentence cites both passages (only [1] supports it); one sentence cites nothing.
    text = "The Eiffel Tower is 330 metres tall [1][2]. The Louvre houses the Mona Lisa."
    precision = score(context, "citation_precision", text)
    assert (precision.value, precision.details["citations"]) == (0.5, 2)
    recall = score(context, "citation_recall", text)
    assert recall.value == 0.5  # the cited sentence is covered, the uncited one is not


def test_cited_short_answer_is_checked_with_the_question(context: ScoringContext) -> None:
    right = score(context, "citation_precision", "Delhi [1].", OBEROI)
    assert right.value == 1.0
    assert score(context, "citation_recall", "Delhi [1].", OBEROI).value == 1.0
    assert score(context, "citation_precision", "Mumbai [1].", OBEROI).value == 0.0
    assert score(context, "citation_recall", "Mumbai [1].", OBEROI).value == 0.0


def test_no_citations(context: ScoringContext) -> None:
    text = "The Eiffel Tower is 330 metres tall. The Louvre houses the Mona Lisa."
    precision = score(context, "citation_precision", text)
    assert (precision.value, precision.passed, precision.reason) == (0.0, False, "no citations")
    assert precision.details["citations"] == 0
    recall = score(context, "citation_recall", text)
    assert recall.value == 0.0 and recall.details["claim_sentences"] == 2
    no_passages = score(context, "citation_precision", text, Case(id="x", input="q"))
    assert no_passages.reason == "the case has no passages to cite"


# --- answer relevance --------------------------------------------------------------------------


def test_answer_relevance(context: ScoringContext) -> None:
    case = Case(id="q", input="How tall is the Eiffel Tower?")
    relevant = score(context, "answer_relevance", "The Eiffel Tower is 330 metres tall.", case)
    off_topic = score(context, "answer_relevance", "Bananas are rich in potassium.", case)
    assert relevant.value > 0.6 and relevant.passed
    assert off_topic.value < 0.3 and not off_topic.passed
    assert relevant.reason.startswith("question/answer cosine")
    assert score(context, "answer_relevance", "", case).reason == "empty output"
    assert score(context, "answer_relevance", "x", Case(id="n")).reason.startswith("the case has no input")
    # A conversation's last user message is the question.
    chat = Case.model_validate(
        {"id": "m", "messages": [{"role": "user", "content": "How tall is the Eiffel Tower?"}]}
    )
    assert score(context, "answer_relevance", "It is 330 metres tall.", chat).value > 0.4


# --- judge checker (fake server) ----------------------------------------------------------------


def judge_score(
    fake: FakeServer, name: str, text: str, case: Case = CASE, args: dict[str, Any] | None = None
) -> Score:
    async def go() -> Score:
        spec = ModelSpec(
            name="judge",
            provider="openai",
            base_url=fake.base_url,
            model="judge",
            prices=PriceOverride(input_per_mtok=1.0, output_per_mtok=2.0),
        )
        context = ScoringContext({"judge": spec}, judge_model="judge")
        try:
            scorer = build_scorer(
                ScorerSpec(name=name, args={"checker": "judge", **(args or {})}), context=context
            )
            return await scorer(Completion(text=text), case)
        finally:
            await context.aclose()

    return asyncio.run(go())


def user_prompts(fake: FakeServer) -> list[str]:
    out = []
    for request in fake.requests:
        assert request.body is not None
        out.append(next(m["content"] for m in request.body["messages"] if m["role"] == "user"))
    return out


def test_judge_checker_batches_numbered_claims(fake: FakeServer) -> None:
    fake.script("judge", ["1: YES\n2: NO"])
    result = judge_score(
        fake, "factuality", "The Eiffel Tower is 330 metres tall. The Louvre was built in 1850."
    )
    assert result.value == 0.5
    assert [c["verdict"] for c in result.details["claims"]] == ["yes", "no"]
    assert result.input_tokens > 0 and result.output_tokens > 0 and result.cost_usd > 0
    (prompt,) = user_prompts(fake)
    assert "[1] The Eiffel Tower" in prompt and "[2] The Louvre" in prompt
    assert (
        "1. The Eiffel Tower is 330 metres tall." in prompt and "2. The Louvre was built in 1850." in prompt
    )


def test_judge_checker_short_answer_sees_the_question(fake: FakeServer) -> None:
    fake.script("judge", ["Yes, the passage says so."])
    result = judge_score(fake, "factuality", "Delhi", OBEROI)
    assert result.value == 1.0
    assert "Claim: Q: The Oberoi family is part of a hotel company" in user_prompts(fake)[0]
    assert "A: Delhi" in user_prompts(fake)[0]


@pytest.mark.parametrize(
    ("reply", "value", "verdict"),
    [
        ('{"verdict": "SUPPORTED"}', 1.0, "yes"),
        ("**NO** - the passage does not mention it", 0.0, "no"),
    ],
)
def test_judge_checker_parses_robustly(fake: FakeServer, reply: str, value: float, verdict: str) -> None:
    fake.script("judge", [reply])
    result = judge_score(fake, "factuality", "Delhi", OBEROI)
    assert result.value == value
    assert result.details["claims"][0]["verdict"] == verdict


@pytest.mark.parametrize("reply", ["I am not sure what you mean.", ""])
def test_a_reply_without_a_verdict_is_a_judge_failure_carrying_its_spend(
    fake: FakeServer, reply: str
) -> None:
    fake.script("judge", [Reply(text=reply, usage={"prompt_tokens": 40, "completion_tokens": 5})])
    with pytest.raises(JudgeFailed, match="no verdict for claim 1 of 1") as info:
        judge_score(fake, "factuality", "Delhi", OBEROI)
    assert (info.value.input_tokens, info.value.output_tokens) == (40, 5)
    assert info.value.cost_usd == pytest.approx((40 * 1.0 + 5 * 2.0) / 1e6)


def test_a_claim_left_unruled_is_a_judge_failure(fake: FakeServer) -> None:
    fake.script("judge", ["1: YES"])
    with pytest.raises(JudgeFailed, match="no verdict for claim 2 of 2"):
        judge_score(fake, "factuality", "The Eiffel Tower is 330 metres tall. The Louvre was built in 1850.")


@pytest.mark.parametrize("name", ["factuality", "citation_precision", "citation_recall"])
def test_a_failing_judge_call_is_a_judge_failure_not_unsupported(fake: FakeServer, name: str) -> None:
    fake.script("judge", [Reply(status=500, text="backend down")] * 10)
    text = "Delhi [1]." if name != "factuality" else "Delhi"
    with pytest.raises(JudgeFailed, match="judge failed:"):
        judge_score(fake, name, text, OBEROI)


def test_judge_citations_ask_once_per_cited_passage(fake: FakeServer) -> None:
    def responder(model: str, messages: list[dict[str, Any]]) -> str:
        prompt = messages[-1]["content"]
        # Passage 1 supports claims about the tower, passage 2 those about the museum.
        tower = "[1] The Eiffel Tower" in prompt
        claims = [line for line in prompt.splitlines() if line.startswith(("Claim:", "1.", "2.", "3."))]
        verdicts = ["YES" if ("Tower" in c) == tower else "NO" for c in claims]
        return "\n".join(f"{i}: {v}" for i, v in enumerate(verdicts, 1))

    fake.responder = responder
    text = "The Eiffel Tower is 330 metres tall [1]. The Louvre houses the Mona Lisa [1][2]."
    precision = judge_score(fake, "citation_precision", text)
    assert (precision.value, precision.details["correct"], precision.details["citations"]) == (2 / 3, 2, 3)
    assert len(fake.requests) == 2  # one call for passage [1] (two claims), one for [2]
    recall = judge_score(fake, "citation_recall", text)
    assert recall.value == 1.0


@pytest.mark.parametrize(
    ("reply", "count", "verdicts"),
    [
        ("1: YES\n2: NO\n3: yes", 3, ["yes", "no", "yes"]),
        ("Claim 2: NOT SUPPORTED\nClaim 1: SUPPORTED", 2, ["yes", "no"]),
        ("1. **Yes** - stated\n2) No, not mentioned", 2, ["yes", "no"]),
        ("YES\nNO", 2, ["yes", "no"]),
        ("1: YES", 2, ["yes", "unparsed"]),
        ("True", 1, ["yes"]),
        ("maybe", 1, ["unparsed"]),
        ("YES NO YES", 2, ["unparsed", "unparsed"]),
        # small judges answer in prose: the first verdict-bearing phrase decides
        ("The passage does not support the claim.", 1, ["no"]),
        ("The passages do support the claim that Lit recorded it.", 1, ["yes"]),
        ('The passage does not explicitly state it, but the claim is "YES" or', 1, ["no"]),
        ("The Winter Line was a series of fortifications.", 1, ["unparsed"]),
    ],
)
def test_parse_verdicts(reply: str, count: int, verdicts: list[str]) -> None:
    assert parse_verdicts(reply, count) == verdicts


# --- agreement defects: each of these failed with the scorers before the lexical entailment ----

CONFIG = Case(
    id="config",
    input="How do I configure the server?",
    passages=[
        "The server reads its settings from config.yaml in the working directory. The default port is "
        "8080 and can be changed with ACME_PORT.",
        "Secrets belong in a .env file, which is loaded before config.yaml. List .env in .gitignore so "
        "it is never committed.",
    ],
)
BRIDGE = Case(
    id="bridge",
    input="When was the Golden Gate Bridge built?",
    passages=[
        "Construction of the Golden Gate Bridge began on January 5, 1933, and the bridge opened to "
        "vehicle traffic on May 28, 1937. Its main span is 4,200 feet long.",
        "The bridge's colour, International Orange, was chosen by the architect Irving Morrow because "
        "it stays visible in fog.",
    ],
)


def test_a_word_that_starts_with_a_dot_does_not_end_or_glue_a_sentence() -> None:
    text = "Keep secrets in the .env file [2]. With pip install -e . the package is editable. Done."
    assert split_sentences(text) == [
        "Keep secrets in the .env file [2].",
        "With pip install -e . the package is editable.",
        "Done.",
    ]
    claims = [c.text for c in split_claims("Put your keys in a .env file, not in config.yaml [2].")]
    assert claims == ["Put your keys in a .env file, not in config.yaml."]
    # A unit after a number ends a sentence ("m." is not an initial); names keep underscores.
    assert split_sentences("It is 3.5 m. The next one is taller.") == [
        "It is 3.5 m.",
        "The next one is taller.",
    ]
    assert [c.text for c in split_claims("Set ACME_PORT=9090 to move it.")] == [
        "Set ACME_PORT=9090 to move it."
    ]


def test_file_names_are_grounded_and_invented_ones_are_caught(context: ScoringContext) -> None:
    right = score(
        context, "factuality", "Secrets go in a .env file that is read before config.yaml [2].", CONFIG
    )
    assert right.value == 1.0, right.details
    wrong = score(context, "factuality", "Secrets go in a secrets.toml file that is read first.", CONFIG)
    assert wrong.value == 0.0 and "secrets.toml" in wrong.details["claims"][0]["missing"]


def test_a_semicolon_does_not_leave_a_fragment_as_a_claim(context: ScoringContext) -> None:
    # The right side is no clause: alone it would be an unsupported fragment.
    assert [c.text for c in split_claims("The default port is 8080; changeable via ACME_PORT.")] == [
        "The default port is 8080; changeable via ACME_PORT."
    ]
    # Two real clauses are still two claims.
    assert len(split_claims("The port is 8080; secrets go in the .env file.")) == 2
    result = score(context, "factuality", "The default port is 8080; changeable via ACME_PORT [1].", CONFIG)
    assert result.value == 1.0, result.details


@pytest.mark.parametrize(
    "filler",
    [
        "Let me explain.",
        "Let me walk you through it.",
        "Okay, let me break this down for you.",
        "This is an important point.",
        "Now, on to the secrets.",
        "That said, there is a bit more to it.",
        "I hope you find this useful.",
        "Here's how it works.",
        "What a fun topic!",
        "The passages do not mention the price.",
    ],
)
def test_filler_and_meta_sentences_are_not_claims(filler: str) -> None:
    assert split_claims(filler) == []
    answer = f"Great question! {filler} The default port is 8080 [1]. I hope this helps."
    assert [c.text for c in split_claims(answer)] == ["The default port is 8080."]


def test_filler_does_not_lower_the_figures(context: ScoringContext) -> None:
    text = (
        "Great question! Let me explain. The default port is 8080 [1]. This is an important point. "
        "Secrets belong in a .env file [2]. I hope this helps."
    )
    for name in ("factuality", "citation_precision", "citation_recall"):
        assert score(context, name, text, CONFIG).value == 1.0, name


@pytest.mark.parametrize("checker", ["lexical", "auto"])
def test_paraphrases_are_supported(context: ScoringContext, checker: str) -> None:
    text = (
        "Work on the bridge started in January 1933, and cars could use it from May 1937 [1]. "
        "Its colour was picked by Irving Morrow so that it stays visible in fog [2]."
    )
    args = {"checker": checker}
    factual = score(context, "factuality", text, BRIDGE, args)
    assert factual.value == 1.0, factual.details
    assert score(context, "citation_precision", text, BRIDGE, args).value == 1.0
    assert score(context, "citation_recall", text, BRIDGE, args).value == 1.0


@pytest.mark.parametrize("checker", ["lexical", "auto"])
@pytest.mark.parametrize(
    "invented",
    [
        "The bridge opened to traffic in 1939.",  # a number
        "The bridge was designed by Gustave Eiffel.",  # a name
        "Its main span is 5,100 feet long.",  # an amount
        "Construction began in March 1933.",  # a date
    ],
)
def test_invented_facts_are_caught(context: ScoringContext, checker: str, invented: str) -> None:
    result = score(
        context,
        "factuality",
        f"Construction started in 1933 [1]. {invented} [1]",
        BRIDGE,
        {"checker": checker},
    )
    assert result.value == 0.5, result.details
    assert [c["supported"] for c in result.details["claims"]] == [True, False]
    assert (
        score(
            context, "citation_precision", f"Construction started in 1933 [1]. {invented} [1]", BRIDGE
        ).value
        == 0.5
    )


def test_an_invented_clause_is_caught_in_a_true_sentence(context: ScoringContext) -> None:
    text = "The bridge opened in 1937 and also charges every driver a toll [1]."
    result = score(context, "factuality", text, BRIDGE)
    assert [c["supported"] for c in result.details["claims"]] == [True, False]
    assert score(context, "citation_precision", text, BRIDGE).value == 1.0  # [1] supports a claim
    assert score(context, "citation_recall", text, BRIDGE).value == 0.0  # but not the whole sentence


def test_a_paraphrase_citing_the_wrong_passage(context: ScoringContext) -> None:
    text = (
        "Work on the bridge started in 1933 [2]. "  # passage 2 is about the colour
        "Irving Morrow picked its colour so it can be seen in fog [2]."
    )
    precision = score(context, "citation_precision", text, BRIDGE)
    assert precision.value == 0.5
    assert [s["verdicts"] for s in precision.details["sentences"]] == [
        {"2": "does not support"},
        {"2": "supports"},
    ]
    assert score(context, "citation_recall", text, BRIDGE).value == 0.5
    assert score(context, "factuality", text, BRIDGE).value == 1.0  # the facts are right


def test_named_citation_markers() -> None:
    assert parse_citations("[doc2] [Source 1] [passage 3, doc4] [doc2-doc4]") == [2, 1, 3, 4, 2, 3, 4]
    (claim,) = split_claims("The port is 8080 [doc1].")
    assert claim.citations == (1,) and claim.text == "The port is 8080."


def test_the_default_checker_works_without_the_embeddings_extra(
    context: ScoringContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_embeddings, "local_embeddings_installed", lambda: False)
    result = score(context, "factuality", "Construction started in 1933 and it opened in 1937 [1].", BRIDGE)
    assert result.value == 1.0 and result.details["checker"] == "lexical"
    assert "cosine" not in result.details["claims"][0]
    with pytest.raises(ConfigError, match="embeddings extra"):
        build_scorer(ScorerSpec(name="factuality", args={"checker": "embedding"}), context=context)


def test_lexical_entailment_normalises_numbers_units_and_names() -> None:
    from benchroute.scorers._entailment import Lexicon, entail

    passage = Lexicon(
        "The vaccine takes 14 days to work. About 1,200,000 doses were given by the Spanish team."
    )
    for word in ("2", "week", "1200000", "spaniard"):
        assert passage.has(word), word
    assert not passage.has("3") and not passage.has("1300000")
    found = entail("Around 1.2 million doses were given, and it works within two weeks.", passage, [passage])
    assert found.missing == () and found.coverage > 0.7
    assert entail("About 1.5 million doses were given.", passage, [passage]).missing == ("1500000",)


def test_a_denial_matches_a_passage_that_denies_without_not(context: ScoringContext) -> None:
    case = Case(
        id="fee", input="Is there a fee?", passages=["The first 250 GBP of the overdraft is interest-free."]
    )
    assert score(context, "factuality", "There is no interest on the first 250 GBP.", case).value == 1.0
    bridge = score(context, "factuality", "The Golden Gate Bridge did not open in 1937.", BRIDGE)
    assert bridge.value == 0.0 and bridge.details["claims"][0]["negation_mismatch"] is True


# --- one-sentence answers: what they add, and the relation they state ----------------------------

GENERA = Case(
    id="genera",
    input="Which genus grows in shaded ravines, Velmora or Ardensia?",
    passages=[
        "Velmora is a genus of shrubs found on coastal cliffs.Ardensia is a genus of mosses. "
        "It grows in shaded ravines and on wet stone."
    ],
)
PAPERS = Case(
    id="papers",
    input="Are the Tarrow Ledger and the Hollin Review both weekly?",
    passages=[
        "The Tarrow Ledger is a weekly newspaper printed in Dunmere. The Hollin Review is a monthly journal."
    ],
)
KORVEL = Case(
    id="bridge",
    input="What did the namesake of the Korvel Bridge work on?",
    passages=[
        "The Korvel Bridge over the Selm is named after the engineer Ida Korvel. "
        "Korvel worked on the design of the Selm Dam, which was finished in 1931."
    ],
)


@pytest.mark.parametrize(
    ("case", "answer", "value"),
    [
        # The passage says it of the option the answer does not name (the moss sentence names no
        # genus: it is read as being about the one named before it).
        (GENERA, "Ardensia", 1.0),
        (GENERA, "Ardensia is the genus that grows in shaded ravines.", 1.0),
        (GENERA, "Velmora grows in shaded ravines.", 0.0),
        # Yes/no about two names: the predicate is found with one name only.
        (PAPERS, "No.", 1.0),
        (PAPERS, "No, only the Tarrow Ledger is weekly.", 1.0),
        (PAPERS, "Yes, both are weekly.", 0.0),
        # What a one-sentence answer adds to the question must be stated in one window.
        (KORVEL, "Ida Korvel, the bridge's namesake, worked on the design of the Selm Dam.", 1.0),
        (KORVEL, "The namesake of the Korvel Bridge worked on a secret military project.", 0.0),
    ],
)
def test_one_sentence_answers_wrong_relation_and_paraphrase(
    context: ScoringContext, case: Case, answer: str, value: float
) -> None:
    result = score(context, "factuality", answer, case)
    assert result.value == value, result.details


def test_wrong_relation_says_why(context: ScoringContext) -> None:
    (claim,) = score(context, "factuality", "Velmora grows in shaded ravines.", GENERA).details["claims"]
    assert "Ardensia" in claim["relation"]
    (claim,) = score(context, "factuality", "Yes, both are weekly.", PAPERS).details["claims"]
    assert "'no'" in claim["relation"]


def test_answers_that_add_no_name_or_number_to_who_and_when_questions(context: ScoringContext) -> None:
    who = Case(id="who", input="Who designed the Selm Dam?", passages=KORVEL.passages)
    assert score(context, "factuality", "Ida Korvel designed it.", who).value == 1.0
    assert score(context, "factuality", "The Selm Dam was designed by a famous engineer.", who).value == 0.0
    when = Case(id="when", input="When was the Selm Dam finished?", passages=KORVEL.passages)
    assert score(context, "factuality", "It was finished in 1931.", when).value == 1.0
    assert score(context, "factuality", "The Selm Dam was finished after the bridge.", when).value == 0.0


def test_a_one_sentence_answer_must_state_what_it_adds(context: ScoringContext) -> None:
    # A limit, by design: one added word that no window has (and no synonym group knows) fails a
    # one-sentence answer, however close it is in meaning; in a longer answer it would pass.
    assert score(context, "factuality", "No, only the Tarrow Ledger comes out weekly.", PAPERS).value == 0.0


def test_longer_answers_keep_their_paraphrase_support(context: ScoringContext) -> None:
    # The one-sentence checks do not apply to an answer of several sentences.
    text = "Ida Korvel gave the bridge its name. She worked on designing the Selm Dam, completed in 1931."
    assert score(context, "factuality", text, KORVEL).value == 1.0
