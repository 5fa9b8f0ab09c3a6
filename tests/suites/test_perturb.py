"""Perturbed cases: links to originals, determinism, what each kind may and may not touch,
option shuffling that keeps the answer right, re-templated numbers through perturb_cases,
and paraphrases from a model over HTTP (FakeServer)."""

from __future__ import annotations

import asyncio
import re
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchroute._errors import ConfigError
from benchroute.config import Case, ModelSpec
from benchroute.providers import ProviderError
from benchroute.suites._numbers import evaluate, extract_numbers, gsm8k_cases
from benchroute.suites._perturb import (
    _DISTRACTORS,
    PERTURBATIONS,
    ModelParaphraser,
    _option_block,
    _sentences,
    aperturb_cases,
    check_paraphrase,
    perturb_cases,
)
from benchroute.suites._synonyms import NEVER_SWAP, SYNONYMS
from benchroute.testing import FakeServer

TEXT_KINDS = ["typos", "case", "whitespace", "synonyms", "distractor", "reorder"]
PROMPT = (
    "You are a helpful assistant. Please write in a friendly tone. Email <EMAIL_1> or visit "
    "https://example.com/help?id=42 for the big order 12-345. Do not run `rm -rf /tmp/x`. "
    "The quick kids bought 3 small gifts for $4.50 each. How much did they spend?"
)


def _text(case: dict[str, Any]) -> str:
    if "input" in case:
        return str(case["input"])
    content = case["messages"][-1]["content"]
    return content if isinstance(content, str) else content[-1]["text"]


def _case(text: str = PROMPT, **fields: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "input": text,
        "expected": "13.5",
        "metadata": {"source": {"kind": "jsonl"}},
        **fields,
    }


# -- the registry and the links ----------------------------------------------------------------


def test_every_kind_is_registered_with_a_description() -> None:
    assert set(PERTURBATIONS) == {*TEXT_KINDS, "paraphrase", "options", "numbers"}
    for kind in PERTURBATIONS.values():
        assert kind.description and len(kind.description) < 110
    assert PERTURBATIONS["paraphrase"].needs_model


def test_unknown_kinds_and_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="did you mean `typos`"):
        perturb_cases([_case()], ["typo"])
    with pytest.raises(ConfigError, match="unknown setting 'speed'"):
        perturb_cases([_case()], ["typos"], settings={"typos": {"speed": 2}})
    with pytest.raises(ConfigError, match="not a rate"):
        perturb_cases([_case()], ["typos"], settings={"typos": {"rate": 3}})
    with pytest.raises(ConfigError, match="asks a model"):
        perturb_cases([_case()], ["paraphrase"])


def test_perturbed_cases_link_to_their_original_and_name_the_kind() -> None:
    out, report = perturb_cases([_case()], TEXT_KINDS, seed=3, variants=2)
    assert report.cases == 1 and report.total_produced == len(out) >= 10
    ids = [case["id"] for case in out]
    assert "c1~typos" in ids and "c1~typos-2" in ids
    for case in out:
        kind = case["metadata"]["perturbation"]
        assert case["id"] in (f"c1~{kind}", f"c1~{kind}-2")
        assert case["metadata"]["original_id"] == "c1"
        assert isinstance(case["metadata"]["perturbation_detail"], dict)
        assert case["metadata"]["source"] == {"kind": "jsonl"}  # the original's metadata stays
        assert case["expected"] == "13.5"  # text perturbations keep the expected answer
        assert _text(case) != PROMPT
        Case.model_validate(case)


def test_a_case_object_and_chat_messages_with_text_parts_are_perturbed_in_place() -> None:
    case = Case.model_validate(
        {
            "id": "m1",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "First question?"},
                {"role": "assistant", "content": "First answer."},
                {"role": "user", "content": [{"type": "text", "text": "Describe the quick brown fox."}]},
            ],
        }
    )
    out, _ = perturb_cases([case], ["case"], seed=1)
    messages = out[0]["messages"]
    assert messages[:3] == [m.model_dump(exclude_none=True) for m in case.messages or []][:3]
    assert messages[3]["content"][0]["text"].lower() == "describe the quick brown fox."
    assert messages[3]["content"][0]["text"] != "Describe the quick brown fox."


def test_cases_without_user_text_or_already_perturbed_are_counted_not_perturbed() -> None:
    cases = [
        {"id": "v", "vars": {"x": 1}},
        {
            "id": "p~typos",
            "input": "Some words here.",
            "metadata": {"perturbation": "typos", "original_id": "p"},
        },
    ]
    out, report = perturb_cases(cases, ["typos"])
    assert out == []
    assert report.skipped["typos"] == {
        "no user text (input or a user message)": 1,
        "already a perturbed case": 1,
    }
    assert report.as_dict()["examples"][0][0] == "v"


def test_perturbation_is_deterministic_by_seed_and_independent_of_the_other_cases() -> None:
    cases = [_case(), _case(id="c2", input="Which is the big city? The small town is quiet.")]
    first, _ = perturb_cases(cases, TEXT_KINDS, seed=7, variants=2)
    again, _ = perturb_cases(list(reversed(cases)), TEXT_KINDS, seed=7, variants=2)
    alone, _ = perturb_cases(cases[1:], TEXT_KINDS, seed=7, variants=2)
    other, _ = perturb_cases(cases, TEXT_KINDS, seed=8, variants=2)
    by_id = {case["id"]: case for case in again}
    assert all(by_id[case["id"]] == case for case in first)
    assert [c for c in first if c["metadata"]["original_id"] == "c2"] == alone
    assert [c["input"] for c in first] != [c["input"] for c in other]


# -- what text perturbations never touch -------------------------------------------------------

_PROTECTED_TOKENS = ("<EMAIL_1>", "https://example.com/help?id=42", "12-345", "`rm -rf /tmp/x`", "$4.50", "3")
WORDS = st.sampled_from(
    [
        "the",
        "quick",
        "brown",
        "fox",
        "jumped",
        "over",
        "lazy",
        "dogs",
        "because",
        "every",
        "happy",
        "child",
        "bought",
        "a",
        "big",
        "present",
    ]
)
TOKENS = st.sampled_from(
    ["<EMAIL_1>", "<PERSON_2>", "https://x.io/a?b=1", "42", "3.14", "1,200", "`x = 1`", "v2"]
)


@settings(max_examples=120, deadline=None)
@given(
    pieces=st.lists(st.one_of(WORDS, TOKENS), min_size=3, max_size=30),
    seed=st.integers(0, 10**6),
    kind=st.sampled_from(["typos", "case", "synonyms", "whitespace"]),
)
def test_numbers_placeholders_urls_and_code_survive_every_text_perturbation(
    pieces: list[str], seed: int, kind: str
) -> None:
    text = " ".join(pieces) + "."
    out, _ = perturb_cases([{"id": "x", "input": text}], [kind], seed=seed, settings={})
    if not out:
        return
    perturbed = _text(out[0])
    protected = [
        p
        for p in pieces
        if p in {"<EMAIL_1>", "<PERSON_2>", "https://x.io/a?b=1"}
        or any(c.isdigit() for c in p)
        or p.startswith("`")
    ]
    found = iter(perturbed.split())
    for token in protected:  # every protected token, in order, exactly as written
        assert any(piece.startswith(token) or piece == token.split()[0] for piece in found), (
            token,
            perturbed,
        )
    assert re.findall(r"\d[\d.,]*", text) == re.findall(r"\d[\d.,]*", perturbed)


def test_typos_edit_words_but_never_numbers_or_placeholders() -> None:
    out, _ = perturb_cases([_case()], ["typos"], seed=5, settings={"typos": {"rate": 1.0}}, variants=3)
    for case in out:
        text = _text(case)
        for token in _PROTECTED_TOKENS:
            assert token in text
        assert sum(a != b for a, b in zip(text.split(), PROMPT.split(), strict=False)) >= 5


def test_whitespace_changes_nothing_but_whitespace() -> None:
    out, _ = perturb_cases([_case()], ["whitespace"], seed=2, variants=3)
    assert out
    for case in out:
        assert _text(case).split() == PROMPT.split() and _text(case) != PROMPT
        assert "`rm -rf /tmp/x`" in _text(case)


def test_synonyms_come_from_the_table_and_never_touch_guarded_words() -> None:
    out, _ = perturb_cases([_case()], ["synonyms"], seed=4, settings={"synonyms": {"rate": 1.0}})
    detail = out[0]["metadata"]["perturbation_detail"]
    assert detail["count"] >= 3
    for source, target in detail["swaps"]:
        assert source not in NEVER_SWAP and target in SYNONYMS[source]
    assert "Do not" in _text(out[0]) and "<EMAIL_1>" in _text(out[0])
    text = _text(perturb_cases([_case("She bought a big apple.")], ["synonyms"], seed=0)[0][0])
    assert text in ("She purchased a big apple.", "She bought a large apple.", "She purchased a large apple.")
    assert "an purchased" not in text


def test_no_table_word_means_not_applicable() -> None:
    _, report = perturb_cases([_case("Zyx qwv 12.")], ["synonyms"])
    assert report.skipped["synonyms"]


# -- sentences ---------------------------------------------------------------------------------

WORD_PROBLEM = (
    "Janet’s ducks lay 16 eggs per day. She eats three for breakfast. Mr. Lee buys 2.5 dozen. "
    "She sells the remainder at $2 each. How much does she make?"
)


def test_sentences_are_never_split_at_abbreviations_or_decimals() -> None:
    pieces = [WORD_PROBLEM[s.start : s.end] for s in _sentences(WORD_PROBLEM)]
    assert pieces == [
        "Janet’s ducks lay 16 eggs per day.",
        "She eats three for breakfast.",
        "Mr. Lee buys 2.5 dozen.",
        "She sells the remainder at $2 each.",
        "How much does she make?",
    ]


def test_a_distractor_goes_between_sentences_before_the_question() -> None:
    out, _ = perturb_cases([_case(WORD_PROBLEM)], ["distractor"], seed=1, variants=4)
    assert len(out) >= 3
    original = [WORD_PROBLEM[s.start : s.end] for s in _sentences(WORD_PROBLEM)]
    for case in out:
        text = _text(case)
        pieces = [text[s.start : s.end] for s in _sentences(text)]
        added = [p for p in pieces if p not in original]
        assert len(added) == 1 and added[0] in _DISTRACTORS
        assert [p for p in pieces if p in original] == original
        assert pieces[-1] == "How much does she make?"
        assert not re.search(r"\d", added[0])


def test_reorder_keeps_dependent_sentences_with_their_antecedent() -> None:
    instructions = (
        "You are a travel agent. Answer in French. Keep it under fifty words. Mention one museum. "
        "What should I see in Paris?"
    )
    janet = (
        "Janet’s ducks lay 16 eggs per day. She eats three for breakfast. "
        "She sells the remainder at $2 each. How much does she make?"
    )
    out, _ = perturb_cases([_case(instructions), _case(janet, id="w")], ["reorder"], seed=2, variants=2)
    by_id = {case["id"]: case for case in out}
    shuffled = _text(by_id["c1~reorder"])
    assert by_id["c1~reorder"]["metadata"]["perturbation_detail"]["mode"] == "shuffle"
    assert shuffled.endswith("What should I see in Paris?") and shuffled != instructions
    # "Keep it under fifty words" refers back to "Answer in French": they move together.
    assert "Answer in French. Keep it under fifty words." in shuffled
    assert sorted(p for p in re.split(r"(?<=[.?]) ", shuffled)) == sorted(
        re.split(r"(?<=[.?]) ", instructions)
    )
    first = _text(by_id["c1~reorder-2"])
    assert first.startswith("What should I see in Paris? You are a travel agent.")
    # Every sentence of the word problem after the first refers back: only the question moves.
    assert set(by_id) >= {"w~reorder"} and "w~reorder-2" not in by_id
    assert _text(by_id["w~reorder"]).startswith("How much does she make? Janet’s ducks")


def test_reorder_leaves_option_blocks_code_and_lists_alone() -> None:
    _, report = perturb_cases([_case("Pick one.\nA) red\nB) blue\nWhich?")], ["reorder"])
    assert report.skipped["reorder"] == {"the text has code, an option block or a list": 1}


# -- options -----------------------------------------------------------------------------------

OPTION_TEXTS = st.lists(
    # Two letters at least: a one-letter option text could also be read as a letter answer.
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=2, max_size=12)
    .map(str.strip)
    .filter(lambda t: len(t) > 1),
    min_size=2,
    max_size=6,
    unique=True,
)
STYLES = ["{L}) {t}", "{L}. {t}", "({L}) {t}", "{L}: {t}"]


@settings(max_examples=150, deadline=None)
@given(
    texts=OPTION_TEXTS,
    answer=st.integers(0, 5),
    style=st.sampled_from(STYLES),
    form=st.sampled_from(["{L}", "({L})", "{l}", "{L})"]),
    seed=st.integers(0, 10**6),
)
def test_option_shuffling_keeps_the_answer_on_the_same_option_text(
    texts: list[str], answer: int, style: str, form: str, seed: int
) -> None:
    answer %= len(texts)
    letters = "ABCDEF"
    block = "\n".join(style.format(L=letters[i], t=t) for i, t in enumerate(texts))
    prompt = f"Which one is right?\n{block}\nAnswer with the letter."
    expected = form.format(L=letters[answer], l=letters[answer].lower())
    out, report = perturb_cases([{"id": "q", "input": prompt, "expected": expected}], ["options"], seed=seed)
    assert len(out) == 1, report.as_dict()
    case = out[0]
    options = _option_block(case["input"])
    assert options is not None and len(options) == len(texts)
    new_letter = re.search(r"[A-Fa-f]", case["expected"])
    assert new_letter is not None
    assert options[letters.index(new_letter.group().upper())].text == texts[answer]
    assert case["expected"] == form.format(L=new_letter.group().upper(), l=new_letter.group().lower())
    assert sorted(o.text for o in options) == sorted(texts)
    if len(texts) > 1:
        assert new_letter.group().upper() != letters[answer]  # the key really moves


@settings(max_examples=60, deadline=None)
@given(texts=OPTION_TEXTS, answer=st.integers(0, 5), seed=st.integers(0, 10**6))
def test_metadata_choices_are_shuffled_with_their_answer_index(
    texts: list[str], answer: int, seed: int
) -> None:
    answer %= len(texts)
    inline = " ".join(f"({'ABCDEF'[i]}) {t}" for i, t in enumerate(texts))
    case = {
        "id": "m",
        "input": f"Choose: {inline}",
        "expected": texts[answer],
        "metadata": {"choices": texts, "answer_index": answer},
    }
    out, _ = perturb_cases([case], ["options"], seed=seed)
    new = out[0]
    choices, index = new["metadata"]["choices"], new["metadata"]["answer_index"]
    assert choices[index] == texts[answer] == new["expected"]
    assert [o.text for o in _option_block(new["input"]) or []] == choices


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(
        st.sampled_from(["Mars", "Jupiter", "Venus", "Earth", "Saturn", "Pluto"]),
        min_size=3,
        max_size=5,
        unique=True,
    ),
    answer=st.integers(0, 4),
    seed=st.integers(0, 10**6),
)
def test_options_inline_on_the_question_line_are_shuffled_too(
    texts: list[str], answer: int, seed: int
) -> None:
    answer %= len(texts)
    inline = " ".join(f"{'ABCDE'[i]}) {t}" for i, t in enumerate(texts))
    case = {"id": "i", "input": f"Which planet is largest? {inline}", "expected": "ABCDE"[answer]}
    out, report = perturb_cases([case], ["options"], seed=seed)
    assert len(out) == 1, report.as_dict()
    shuffled = out[0]["input"]
    assert shuffled.startswith("Which planet is largest? A) ")
    found = dict(re.findall(r"([A-E])\) (\w+)", shuffled))
    assert sorted(found.values()) == sorted(texts) and found[out[0]["expected"]] == texts[answer]


def test_an_expected_that_reads_as_a_letter_and_as_an_option_text_is_not_guessed() -> None:
    ambiguous = {"id": "a", "input": "Pick:\nA) b\nB) a", "expected": "a"}
    _, report = perturb_cases([ambiguous], ["options"])
    assert report.skipped["options"]
    settled = {**ambiguous, "metadata": {"answer_index": 1}}  # option B, whose text is "a"
    out, _ = perturb_cases([settled], ["options"])
    assert out[0]["expected"] == "a" and out[0]["input"] == "Pick:\nA) a\nB) b"
    assert out[0]["metadata"]["answer_index"] == 0


def test_all_of_the_above_stays_last_and_letter_references_are_refused() -> None:
    prompt = "Pick:\nA) red\nB) blue\nC) green\nD) All of the above"
    for seed in range(10):
        out, _ = perturb_cases([{"id": "a", "input": prompt, "expected": "B"}], ["options"], seed=seed)
        assert out[0]["input"].endswith("D) All of the above")
        assert out[0]["expected"] in ("A", "C")
    _, report = perturb_cases(
        [{"id": "r", "input": "Pick:\nA) red\nB) blue\nC) A and B", "expected": "C"}], ["options"]
    )
    assert report.skipped["options"] == {"an option refers to other options by letter": 1}


# -- numbers through perturb_cases -------------------------------------------------------------


def test_numbers_recompute_expected_and_rewrite_the_solution() -> None:
    cases = list(gsm8k_cases(limit=40))
    out, report = perturb_cases(cases, ["numbers"], seed=0, variants=2)
    assert report.produced["numbers"] >= 50
    originals = {case["id"]: case for case in cases}
    for case in out:
        original = originals[case["metadata"]["original_id"]]
        assert case["expected"] != original["expected"] or case["input"] != original["input"]
        solution = case["metadata"]["solution"]
        final = re.search(r"####\s*([\d,.]+)\s*$", solution)
        assert final is not None and Fraction(final.group(1).replace(",", "")) == Fraction(case["expected"])
        for match in re.finditer(r"<<([^<>=]*)=([^<>]*)>>", solution):
            places = len(match.group(2).partition(".")[2])
            assert abs(evaluate(match.group(1)) - Fraction(match.group(2))) < Fraction(1, 10**places) or (
                evaluate(match.group(1)) == Fraction(match.group(2))
            )
        moved = case["metadata"]["perturbation_detail"]["values"]
        stated = {n.value for n in extract_numbers(case["input"])}
        assert all(Fraction(repr(new)) in stated for _, new in moved.values())


def test_a_numbers_template_recomputes_an_integer_expected() -> None:
    case = {
        "id": "t",
        "input": "Tom has 3 boxes of 10 pens and gives away 4. How many pens are left?",
        "expected": 26,
        "metadata": {
            "template": {
                "question": "Tom has {a} boxes of {b} pens and gives away {c}. How many pens are left?",
                "answer": "a*b - c",
                "vars": {"a": [2, 9], "b": [6, 12], "c": [1, 10]},
                "values": {"a": 3, "b": 10, "c": 4},
            }
        },
    }
    out, _ = perturb_cases([case], ["numbers"], seed=1, variants=3)
    assert len(out) == 3
    for new in out:
        a, b, c = (int(x) for x in re.findall(r"\d+", new["input"]))
        assert new["expected"] == a * b - c and isinstance(new["expected"], int)
        assert new["metadata"]["template"]["values"] == {"a": a, "b": b, "c": c}
    bad = {**case, "metadata": {"template": {**case["metadata"]["template"], "answer": "a*b + c"}}}
    with pytest.raises(ConfigError, match=r"case 't': metadata\.template\.answer"):
        perturb_cases([bad], ["numbers"])


# -- paraphrase over HTTP ----------------------------------------------------------------------

ORIGINALS = {
    "good": "Janet's ducks lay 16 eggs a day and she sells them for $2 each. How much does she make?",
    "drops": "Send the 3 reports to <EMAIL_1> before Friday.",
    "empty": "Summarise the meeting notes in 5 bullet points.",
    "echo": "Explain why the sky is blue.",
    "placeholder": "Call <PHONE_1> about order 7.",
}
REPLIES = {
    ORIGINALS[
        "good"
    ]: "Here is the rewritten text: Each day Janet's ducks produce 16 eggs, which she sells at $2 apiece. "
    "What does she earn?",
    ORIGINALS["drops"]: "Send the reports to <EMAIL_1> before Friday.",
    ORIGINALS["empty"]: "   ",
    ORIGINALS["placeholder"]: "Phone the customer about order number 7.",
}


def _paraphrase_spec(fake: FakeServer) -> ModelSpec:
    return ModelSpec(name="para", provider="openai", base_url=fake.base_url, model="para-model")


def test_paraphrases_come_from_the_model_and_bad_ones_are_rejected(fake: FakeServer) -> None:
    fake.answers(REPLIES)  # anything else is echoed back (the default responder)
    cases = [{"id": key, "input": text} for key, text in ORIGINALS.items()]

    async def run() -> tuple[list[dict[str, Any]], Any]:
        paraphraser = ModelParaphraser.from_spec(_paraphrase_spec(fake))
        try:
            return await aperturb_cases(cases, ["paraphrase", "case"], seed=3, paraphraser=paraphraser)
        finally:
            await paraphraser.aclose()

    out, report = asyncio.run(run())
    paraphrased = [case for case in out if case["metadata"]["perturbation"] == "paraphrase"]
    assert [case["id"] for case in paraphrased] == ["good~paraphrase"]
    assert paraphrased[0]["input"].startswith("Each day Janet's ducks produce 16 eggs")
    assert report.produced == {"paraphrase": 1, "case": 5}
    assert report.rejected["paraphrase"] == 4
    assert report.skipped["paraphrase"] == {
        "rejected: the paraphrase dropped a number of the original": 1,
        "rejected: the paraphrase is empty": 1,
        "rejected: the paraphrase is the original": 1,
        "rejected: the paraphrase dropped a placeholder of the original": 1,
    }
    sent = [r.body for r in fake.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == 5
    assert all("Keep every number exactly as written" in body["messages"][0]["content"] for body in sent)
    assert all(isinstance(body.get("seed"), int) for body in sent)
    # The output keeps the input order (case by case, kind by kind), whatever came back first.
    assert [case["id"] for case in out][:2] == ["good~paraphrase", "good~case"]


def test_a_model_that_refuses_the_key_stops_the_run(fake: FakeServer) -> None:
    fake.api_key = "right"
    spec = ModelSpec(
        name="para",
        provider="openai",
        base_url=fake.base_url,
        model="para-model",
        api_key_env="PERTURB_TEST_KEY",
    )

    async def run() -> None:
        from benchroute.providers import ProviderContext, Secrets

        context = ProviderContext(secrets=Secrets({"PERTURB_TEST_KEY": "wrong"}))
        paraphraser = ModelParaphraser.from_spec(spec, context)
        try:
            await aperturb_cases(
                [{"id": "a", "input": "Say hi twice."}], ["paraphrase"], paraphraser=paraphraser
            )
        finally:
            await context.aclose()

    with pytest.raises(ProviderError) as error:
        asyncio.run(run())
    assert error.value.kind == "auth"


def test_aperturb_needs_a_paraphraser_for_paraphrase() -> None:
    with pytest.raises(ConfigError, match="needs a model"):
        asyncio.run(aperturb_cases([_case()], ["paraphrase"]))


def test_check_paraphrase_counts_numbers_written_as_words() -> None:
    assert check_paraphrase("Buy 3 apples.", "Purchase three apples.") is None
    assert check_paraphrase("Buy 3 apples and 3 pears.", "Purchase three apples and pears.") is not None
    assert check_paraphrase("Pay 1,200 dollars.", "Hand over $1,200.") is None
