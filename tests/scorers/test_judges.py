"""The LLM-judge scorers (rubric, pairwise) against the fake server as judge, and once against
the real embedded SmolLM2."""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any

import pytest

from benchroute import Case, Completion, ConfigError, Score, ScorerSpec
from benchroute.config import ModelSpec, PriceOverride
from benchroute.providers import Message
from benchroute.scorers import JudgeFailed, ScoringContext, build_scorer
from benchroute.scorers._judge import parse_verdict
from benchroute.testing import FakeServer, Reply

CASE = Case(id="c1", input="What is the capital of France?", expected="Paris")
OUTPUT = "The capital of France is Paris."
BASELINE = "It is Lyon."


def judge_score(
    fake: FakeServer,
    name: str,
    args: dict[str, Any],
    *,
    text: str = OUTPUT,
    case: Case = CASE,
    threshold: float | None = None,
) -> Score:
    """Build the scorer by name with the fake server as judge and score one completion."""

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
            scorer = build_scorer(ScorerSpec(name=name, args=args, threshold=threshold), context=context)
            return await scorer(Completion(text=text), case)
        finally:
            await context.aclose()

    return asyncio.run(go())


def prompts(fake: FakeServer) -> list[str]:
    """The user message of every request the judge received."""
    out = []
    for request in fake.requests:
        assert request.body is not None
        out.append(next(m["content"] for m in request.body["messages"] if m["role"] == "user"))
    return out


# --- rubric: parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("Score: 4", 4),
        ("4/5", 4),
        ("**4**", 4),
        ("I'd rate this a 4 out of 5", 4),
        ('{"score": 4}', 4),
        ('```json\n{"score": "3", "reason": "mostly right"}\n```', 3),
        ("4", 4),
        ("5.", 5),
        ("**Score:** 5", 5),
        ("Score (1-5): 2", 2),
        ("Rating: 2/5", 2),
        ("I give it a 3.", 3),
        ("I would rate it four out of five.", 4),
        ("The answer names 3 cities and 2 rivers. Score: 2", 2),  # explicit mention beats strays
        ("Score: 3\n\nA score of 5 would need a source.", 3),  # the line-level score wins
        ("Final score: 4 (at first I considered a score of 2)", 4),
        ("The answer is correct and concise.\nScore: 5\n", 5),
        ("Score: 9", None),  # out of range: invalid, not clamped
        ("Score: 0", None),
        ("Score: N/A", None),
        ("8/10", None),  # a different scale is not guessed at
        ("The answer lists 3 cities.", None),  # a stray number is not a score
        ("I cannot evaluate this.", None),
        ("", None),
        ("One of the issues is clarity.", None),
    ],
)
def test_rubric_parses_judge_replies(fake: FakeServer, reply: str, score: int | None) -> None:
    fake.script("judge", [reply])
    if score is None:  # no score in the only sample: a failed judgement, not a 0
        with pytest.raises(JudgeFailed, match="rubric: no valid score in 1 judge reply"):
            judge_score(fake, "rubric", {"criteria": "correctness"})
    else:
        result = judge_score(fake, "rubric", {"criteria": "correctness"})
        assert result.value == pytest.approx((score - 1) / 4)
        assert result.details["scores"] == [score] and result.details["invalid"] == 0
        assert result.details["reliable"] is True


def test_rubric_normalises_on_a_custom_scale(fake: FakeServer) -> None:
    fake.script("judge", ["Score: 7/10"])
    result = judge_score(fake, "rubric", {"criteria": "correctness", "scale": 10})
    assert result.value == pytest.approx(6 / 9)


# --- rubric: pass, fail, prompt ------------------------------------------------------------------


def test_rubric_passes_and_fails_against_its_threshold(fake: FakeServer) -> None:
    fake.script("judge", ["Correct and clear.\nScore: 5", "Wrong city.\nScore: 1"])
    good = judge_score(fake, "rubric", {"criteria": "correctness"})
    assert (good.value, good.passed, good.scorer) == (1.0, True, "rubric")
    assert good.reason == "judge score 5/5"
    bad = judge_score(fake, "rubric", {"criteria": "correctness"}, text="Lyon.")
    assert (bad.value, bad.passed) == (0.0, False)
    # The suite's threshold overrides the default 0.6: 3/5 is 0.5.
    fake.script("judge", ["Score: 3", "Score: 3"])
    assert judge_score(fake, "rubric", {"criteria": "c"}).passed is False
    assert judge_score(fake, "rubric", {"criteria": "c"}, threshold=0.5).passed is True


def test_rubric_prompt_shows_criteria_steps_input_reference_and_output(fake: FakeServer) -> None:
    fake.script("judge", ["Score: 4", "Score: 4"])
    judge_score(fake, "rubric", {"criteria": "Names the right capital city"})
    judge_score(
        fake,
        "rubric",
        {"criteria": "Names the right capital city", "steps": ["Find the city named", "Compare it"]},
    )
    generic, custom = prompts(fake)
    for prompt in (generic, custom):
        assert "Names the right capital city" in prompt
        assert "[BEGIN INPUT]\nWhat is the capital of France?\n[END INPUT]" in prompt
        assert "[BEGIN REFERENCE ANSWER]\nParis\n[END REFERENCE ANSWER]" in prompt
        assert f"[BEGIN ANSWER]\n{OUTPUT}\n[END ANSWER]" in prompt
        assert "from 1 (worst) to 5 (best)" in prompt and "Score: N" in prompt
    assert "1. Read the input and the reference answer" in generic
    assert "1. Find the city named\n2. Compare it" in custom
    assert "Read the input" not in custom
    system = fake.requests[0].body["messages"][0]  # type: ignore[index]
    assert system["role"] == "system"


def test_rubric_prompt_leaves_out_input_and_reference_when_asked(fake: FakeServer) -> None:
    fake.script("judge", ["Score: 4"])
    judge_score(fake, "rubric", {"criteria": "fluency", "include_input": False, "include_reference": False})
    (prompt,) = prompts(fake)
    assert "capital of France?" not in prompt and "REFERENCE" not in prompt
    assert OUTPUT in prompt


def test_rubric_uses_the_last_user_message_of_a_conversation(fake: FakeServer) -> None:
    case = Case(
        id="chat",
        messages=[
            Message(role="user", content="Hi, I have a question."),
            Message(role="assistant", content="Sure."),
            Message(role="user", content="How tall is the Eiffel Tower?"),
        ],
    )
    fake.script("judge", ["Score: 4"])
    judge_score(fake, "rubric", {"criteria": "correctness"}, case=case)
    (prompt,) = prompts(fake)
    assert "[BEGIN INPUT]\nHow tall is the Eiffel Tower?\n[END INPUT]" in prompt
    assert "I have a question" not in prompt and "REFERENCE" not in prompt


# --- rubric: repeated judging --------------------------------------------------------------------


def test_consistent_repeated_judge_is_reliable(fake: FakeServer) -> None:
    fake.responder = lambda model, messages: "Mostly right.\nScore: 4"
    result = judge_score(fake, "rubric", {"criteria": "correctness", "samples": 5})
    assert result.value == pytest.approx(0.75)
    d = result.details
    assert (d["samples"], d["invalid"], d["agreement"], d["spread"], d["reliable"]) == (5, 0, 1.0, 0.0, True)
    assert d["mean"] == pytest.approx(0.75) and d["scores"] == [4] * 5
    assert not result.reason.startswith("unreliable")
    assert "agreement 100%" in result.reason


def test_random_judge_is_flagged_unreliable(fake: FakeServer) -> None:
    rng = random.Random(7)
    fake.responder = lambda model, messages: f"Score: {rng.randint(1, 5)}"
    result = judge_score(fake, "rubric", {"criteria": "correctness", "samples": 10})
    d = result.details
    assert d["reliable"] is False
    assert result.reason.startswith("unreliable judge:")
    assert d["samples"] == 10 and d["invalid"] == 0
    assert d["agreement"] < 0.6 and d["spread"] > 0.2
    assert "agreement" in result.reason


def test_repeated_judging_samples_at_a_temperature_with_distinct_seeds(fake: FakeServer) -> None:
    fake.responder = lambda model, messages: "Score: 4"
    judge_score(fake, "rubric", {"criteria": "c"})
    (single,) = [r.body for r in fake.requests]
    assert single is not None and single["temperature"] == 0 and "seed" not in single
    fake.reset()
    judge_score(fake, "rubric", {"criteria": "c", "samples": 3})
    bodies = [r.body for r in fake.requests if r.body is not None]
    assert {b["temperature"] for b in bodies} == {0.7}
    assert sorted(b["seed"] for b in bodies) == [0, 1, 2]
    fake.reset()
    judge_score(fake, "rubric", {"criteria": "c", "samples": 2, "temperature": 0.2})
    assert {r.body["temperature"] for r in fake.requests if r.body is not None} == {0.2}


def test_invalid_samples_are_counted(fake: FakeServer) -> None:
    fake.script("judge", ["Score: 4", "Score: 4", "no idea", "Score: 9"])
    result = judge_score(fake, "rubric", {"criteria": "c", "samples": 4})
    d = result.details
    assert (d["invalid"], d["agreement"], d["reliable"]) == (2, 1.0, True)
    assert sorted(d["scores"], key=str) == [4, 4, None, None]
    assert result.value == pytest.approx(0.75)  # the mean of the valid samples

    fake.script("judge", ["Score: 5", "junk", "more junk", "Score: 42"])
    worse = judge_score(fake, "rubric", {"criteria": "c", "samples": 4})
    assert worse.details["invalid"] == 3 and worse.details["reliable"] is False
    assert worse.reason.startswith("unreliable judge: 3 of 4 samples invalid")
    assert worse.value == 1.0


def test_judge_tokens_and_cost_are_summed(fake: FakeServer) -> None:
    usage = {"prompt_tokens": 100, "completion_tokens": 7}
    fake.script("judge", [Reply(text="Score: 4", usage=usage)] * 3)
    result = judge_score(fake, "rubric", {"criteria": "c", "samples": 3})
    assert (result.input_tokens, result.output_tokens) == (300, 21)
    assert result.cost_usd == pytest.approx((300 * 1.0 + 21 * 2.0) / 1e6)
    assert result.to_json()["cost_usd"] == result.cost_usd


# --- failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rubric", "pairwise"])
def test_a_failing_judge_is_an_error_not_a_verdict(fake: FakeServer, name: str) -> None:
    fake.fault("server_error", rate=1.0)
    args = {"criteria": "c"} if name == "rubric" else {"baseline": BASELINE}
    with pytest.raises(JudgeFailed) as info:
        judge_score(fake, name, args)
    assert f"{name}: judge call failed" in str(info.value)
    assert "500" in str(info.value) or "server" in str(info.value).lower()


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("rubric", {"criteria": "c", "judge_model": "nope"}),
        ("pairwise", {"judge_model": "nope"}),
        ("stays_in_role", {"judge": True, "role": "a pirate", "judge_model": "nope"}),
        ("refuses_at", {"turn": 2, "judge": True, "judge_model": "nope"}),
    ],
)
def test_an_undefined_judge_model_is_a_config_error_before_any_request(
    fake: FakeServer, name: str, args: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError, match="judge_model: judge model 'nope' is not defined"):
        judge_score(fake, name, args)
    assert fake.requests == []


def test_an_undefined_suite_judge_names_the_judge_field() -> None:
    context = ScoringContext({}, judge_model="gpt-nope")
    with pytest.raises(ConfigError, match=r"^judge: judge model 'gpt-nope' is not defined"):
        build_scorer(ScorerSpec(name="rubric", args={"criteria": "c"}), context=context)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"criteria": ""}, "criteria"),
        ({"criteria": "c", "scale": 1}, "scale"),
        ({"criteria": "c", "samples": 0}, "samples"),
        ({"criteria": "c", "min_agreement": 1.5}, "min_agreement"),
        ({"criteria": "c", "steps": ["ok", ""]}, "steps"),
        ({}, "criteria"),
    ],
)
def test_bad_rubric_arguments_fail_at_build_time(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_scorer(ScorerSpec(name="rubric", args=args), where="suite.yaml:3", context=ScoringContext({}))


# --- pairwise --------------------------------------------------------------------------------------


def _answers(prompt: str) -> tuple[str, str]:
    a = re.search(r"\[BEGIN ANSWER A\]\n(.*?)\n\[END ANSWER A\]", prompt, re.DOTALL)
    b = re.search(r"\[BEGIN ANSWER B\]\n(.*?)\n\[END ANSWER B\]", prompt, re.DOTALL)
    assert a is not None and b is not None
    return a.group(1), b.group(1)


def _last_user(messages: list[dict[str, Any]]) -> str:
    return str(next(m["content"] for m in reversed(messages) if m["role"] == "user"))


def test_pairwise_asks_in_both_orders(fake: FakeServer) -> None:
    fake.responder = lambda model, messages: "Verdict: tie"
    result = judge_score(fake, "pairwise", {"baseline": BASELINE, "criteria": "factual accuracy"})
    sent = prompts(fake)
    assert len(sent) == 2
    assert sorted(_answers(p) for p in sent) == sorted([(OUTPUT, BASELINE), (BASELINE, OUTPUT)])
    for prompt in sent:
        assert "factual accuracy" in prompt and "What is the capital of France?" in prompt
    assert result.value == 0.5 and result.details["position_biased"] is False
    assert result.details["ties"] == 2 and result.details["reliable"] is True


def test_position_biased_judge_cancels_out_and_is_flagged(fake: FakeServer) -> None:
    fake.responder = lambda model, messages: "Answer A is better.\nVerdict: A"
    result = judge_score(fake, "pairwise", {"baseline": BASELINE})
    assert result.value == 0.5 and result.passed is True
    d = result.details
    assert d["position_biased"] is True and d["biased_pairs"] == 1
    assert d["judgements"] == [{"output_as_A": "A", "output_as_B": "A", "position_biased": True}]
    assert d["reliable"] is False and result.reason.startswith("unreliable judge:")


def test_consistent_judge_preferring_the_output_scores_one(fake: FakeServer) -> None:
    def prefers_output(model: str, messages: list[dict[str, Any]]) -> str:
        a, _ = _answers(_last_user(messages))
        return "Verdict: A" if a == OUTPUT else "Verdict: B"

    fake.responder = prefers_output
    result = judge_score(fake, "pairwise", {"baseline": BASELINE, "samples": 3})
    assert (result.value, result.passed) == (1.0, True)
    d = result.details
    assert (d["wins"], d["losses"], d["position_biased"], d["reliable"]) == (6, 0, False, True)
    assert len(fake.requests) == 6
    assert d["judgements"][0] == {"output_as_A": "A", "output_as_B": "B", "position_biased": False}

    def prefers_baseline(model: str, messages: list[dict[str, Any]]) -> str:
        a, _ = _answers(_last_user(messages))
        return "[[A]]" if a == BASELINE else "[[B]]"

    fake.responder = prefers_baseline
    worse = judge_score(fake, "pairwise", {"baseline": BASELINE})
    assert (worse.value, worse.passed, worse.details["losses"]) == (0.0, False, 2)


def test_pairwise_baseline_comes_from_arg_then_vars_then_expected(fake: FakeServer) -> None:
    fake.responder = lambda model, messages: "tie"
    with_vars = Case(id="v", input="q", expected="from expected", vars={"baseline": "from vars"})
    judge_score(fake, "pairwise", {"baseline": "from arg"}, case=with_vars)
    judge_score(fake, "pairwise", {}, case=with_vars)
    judge_score(fake, "pairwise", {}, case=Case(id="e", input="q", expected="from expected"))
    seen = [set(_answers(p)) - {OUTPUT} for p in prompts(fake)]
    assert seen == [{"from arg"}] * 2 + [{"from vars"}] * 2 + [{"from expected"}] * 2
    missing = judge_score(fake, "pairwise", {}, case=Case(id="n", input="q"))
    assert (missing.value, missing.passed) == (0.0, False) and "no baseline" in missing.reason


def test_pairwise_without_any_verdict_is_a_judge_failure(fake: FakeServer) -> None:
    fake.script(
        "judge", [Reply(text="I cannot tell.", usage={"prompt_tokens": 50, "completion_tokens": 4})] * 2
    )
    with pytest.raises(JudgeFailed, match="pairwise: no valid verdict in 2 judge replies") as info:
        judge_score(fake, "pairwise", {"baseline": BASELINE})
    assert (info.value.input_tokens, info.value.output_tokens) == (100, 8)
    assert info.value.cost_usd == pytest.approx((100 * 1.0 + 8 * 2.0) / 1e6)


def test_pairwise_counts_invalid_verdicts(fake: FakeServer) -> None:
    # Keyed on the order of the two answers in the prompt, not on which of the two concurrent
    # requests arrives first: the output shown as A gets a verdict, the swapped order none.
    def responder(model: str, messages: list[dict[str, Any]]) -> str:
        prompt = str(messages[-1]["content"])
        return "Verdict: A" if prompt.index(OUTPUT) < prompt.index(BASELINE) else "I cannot tell."

    fake.responder = responder
    result = judge_score(fake, "pairwise", {"baseline": BASELINE})
    assert (result.value, result.details["invalid"], result.details["reliable"]) == (1.0, 1, True)


def test_rubric_without_any_score_is_a_judge_failure_carrying_its_spend(fake: FakeServer) -> None:
    usage = {"prompt_tokens": 100, "completion_tokens": 7}
    fake.script("judge", [Reply(text="no idea", usage=usage)] * 3)
    with pytest.raises(JudgeFailed, match="rubric: no valid score in 3 judge replies") as info:
        judge_score(fake, "rubric", {"criteria": "c", "samples": 3})
    assert (info.value.input_tokens, info.value.output_tokens) == (300, 21)
    assert info.value.cost_usd == pytest.approx((300 * 1.0 + 21 * 2.0) / 1e6)


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("A", "A"),
        ("B", "B"),
        ("tie", "tie"),
        ("Verdict: A", "A"),
        ("Reasoning first.\nVerdict: B", "B"),
        ("Verdict: tie", "tie"),
        ("Verdict: a tie", "tie"),
        ("[[A]]", "A"),
        ("[[C]]", "tie"),
        ("Answer A is better.", "A"),
        ("I prefer answer B.", "B"),
        ('{"winner": "B"}', "B"),
        ("Both answers are equally good.", "tie"),
        ("**B**", "B"),
        ("A tie.", "tie"),
        ("Answer B wins.", "B"),
        ("The better answer is A.", "A"),
        ("B: it is more accurate", "B"),
        ("A is clearly better at first sight, but on reflection Verdict: B", "B"),
        ("A good answer would mention Paris.", None),  # the article is not answer A
        ("I don't know", None),
        ("", None),
    ],
)
def test_verdict_parsing(reply: str, verdict: str | None) -> None:
    assert parse_verdict(reply) == verdict


# --- the real embedded judge -----------------------------------------------------------------------


@pytest.mark.local_model
def test_rubric_with_the_embedded_local_judge() -> None:
    pytest.importorskip("llama_cpp", reason="needs the [local] extra")

    async def go() -> Score:
        context = ScoringContext({})  # judge_model defaults to the embedded smollm2
        try:
            scorer = build_scorer(
                ScorerSpec(name="rubric", args={"criteria": "correctness"}), context=context
            )
            return await scorer(Completion(text="Paris."), CASE)
        finally:
            await context.aclose()

    # The 135M model often answers without a score: that is a judge failure carrying its
    # spend, never a verdict of 0.
    try:
        result = asyncio.run(go())
    except JudgeFailed as exc:
        assert "no valid score" in str(exc) and exc.input_tokens > 0 and exc.output_tokens > 0
        return
    assert 0.0 <= result.value <= 1.0
    assert result.input_tokens > 0 and result.output_tokens > 0
    assert result.details["samples"] == 1 and result.scorer == "rubric"


# --- malformed outputs under judgement are scored, not crashed on ---------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "word " * 200_000, "\ufffd\ufffd \ud800 broken \udfff", '{"answer": "Par'],
    ids=["empty", "1MB", "bad-utf8", "truncated-json"],
)
@pytest.mark.parametrize("name", ["rubric", "pairwise"])
def test_malformed_outputs_are_judged_not_crashed_on(fake: FakeServer, name: str, text: str) -> None:
    fake.responder = lambda model, messages: "Score: 2" if name == "rubric" else "B"
    args: dict[str, Any] = {"criteria": "correctness"} if name == "rubric" else {"baseline": "Paris"}
    result = judge_score(fake, name, args, text=text)
    assert isinstance(result, Score) and 0.0 <= result.value <= 1.0
    assert len(fake.requests) >= 1  # the judge was asked, with the (clipped) output
    for request in fake.requests:
        assert request.body is not None and len(str(request.body)) < 50_000
