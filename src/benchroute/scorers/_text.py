"""Text scorers: exact match, contains, regex, length limits."""

from __future__ import annotations

import re
from typing import Any, Literal

from ..config import Case
from ..types import Completion
from ._base import Score, Scorer, threshold_passed
from ._util import clip, expected_texts


def _normalise(text: str, *, ignore_case: bool, strip: bool, collapse_whitespace: bool) -> str:
    if strip:
        text = text.strip()
    if collapse_whitespace:
        text = " ".join(text.split())
    if ignore_case:
        text = text.casefold()
    return text


def exact(
    expected: Any = None,
    *,
    ignore_case: bool = False,
    strip: bool = True,
    collapse_whitespace: bool = False,
    threshold: float = 1.0,
) -> Scorer:
    """1 when the output equals the expected text (the case's ``expected`` by default; a
    list accepts any of its items)."""

    async def score(completion: Completion, case: Case) -> Score:
        targets = expected_texts(case.expected if expected is None else expected)
        if not targets:
            return Score(0.0, False, "the case has no expected value", "exact")
        got = _normalise(
            completion.text,
            ignore_case=ignore_case,
            strip=strip,
            collapse_whitespace=collapse_whitespace,
        )
        for target in targets:
            if got == _normalise(
                target,
                ignore_case=ignore_case,
                strip=strip,
                collapse_whitespace=collapse_whitespace,
            ):
                return Score(1.0, threshold_passed(1.0, threshold), "exact match", "exact")
        return Score(
            0.0,
            threshold_passed(0.0, threshold),
            f"expected {clip(targets[0], 60)!r}, got {clip(completion.text, 60)!r}",
            "exact",
        )

    return score


def contains(
    values: Any = None,
    *,
    mode: Literal["any", "all"] = "any",
    ignore_case: bool = True,
    negate: bool = False,
    threshold: float = 1.0,
) -> Scorer:
    """Whether the output contains any (or all) of ``values`` (the case's ``expected`` by
    default). With ``negate: true`` it scores the absence instead (forbidden phrases)."""
    if mode not in ("any", "all"):
        raise ValueError(f"mode must be 'any' or 'all', got {mode!r}")

    async def score(completion: Completion, case: Case) -> Score:
        needles = expected_texts(case.expected if values is None else values)
        if not needles:
            return Score(0.0, False, "no values to look for", "contains")
        haystack = completion.text.casefold() if ignore_case else completion.text
        found = [n for n in needles if (n.casefold() if ignore_case else n) in haystack]
        if negate:
            value = 0.0 if found else 1.0
            reason = f"contains forbidden {found[0]!r}" if found else "none of the forbidden values"
        elif mode == "any":
            value = 1.0 if found else 0.0
            reason = f"found {found[0]!r}" if found else f"none of {[clip(n, 60) for n in needles]}"
        else:
            value = len(found) / len(needles)
            missing = [n for n in needles if n not in found]
            reason = "found all" if not missing else f"missing {[clip(n, 60) for n in missing]}"
        return Score(value, threshold_passed(value, threshold), reason, "contains")

    return score


def regex(
    pattern: str,
    *,
    ignore_case: bool = False,
    multiline: bool = False,
    full_match: bool = False,
    negate: bool = False,
    threshold: float = 1.0,
) -> Scorer:
    """Whether the output matches ``pattern`` (searched anywhere unless ``full_match``)."""
    flags = (re.IGNORECASE if ignore_case else 0) | (re.MULTILINE if multiline else 0)
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None

    async def score(completion: Completion, case: Case) -> Score:
        text = completion.text.strip() if full_match else completion.text
        match = compiled.fullmatch(text) if full_match else compiled.search(text)
        matched = match is not None
        value = 1.0 if matched != negate else 0.0
        if negate:
            reason = f"matched forbidden pattern at {match.start()}" if match else "no match"
        else:
            reason = f"matched {clip(match.group(0), 60)!r}" if match else f"no match for {pattern!r}"
        return Score(value, threshold_passed(value, threshold), reason, "regex")

    return score


def max_length(
    max: int,
    *,
    unit: Literal["chars", "words", "tokens"] = "chars",
    threshold: float = 1.0,
) -> Scorer:
    """1 when the output is at most ``max`` characters, words or output tokens."""
    if unit not in ("chars", "words", "tokens"):
        raise ValueError(f"unit must be chars, words or tokens, got {unit!r}")
    if max < 0:
        raise ValueError("max must be >= 0")

    async def score(completion: Completion, case: Case) -> Score:
        if unit == "chars":
            length = len(completion.text)
        elif unit == "words":
            length = len(completion.text.split())
        else:
            length = completion.usage.output_tokens
        value = 1.0 if length <= max else 0.0
        return Score(value, threshold_passed(value, threshold), f"{length} {unit} (max {max})", "max_length")

    return score


def forbidden(values: list[str], *, ignore_case: bool = True, threshold: float = 1.0) -> Scorer:
    """1 when none of the forbidden phrases appears in the output."""
    inner = contains(values, ignore_case=ignore_case, negate=True, threshold=threshold)

    async def score(completion: Completion, case: Case) -> Score:
        result = await inner(completion, case)
        return Score(result.value, result.passed, result.reason, "forbidden")

    return score


def required(values: list[str], *, ignore_case: bool = True, threshold: float = 1.0) -> Scorer:
    """The share of required phrases present in the output (passes when all are)."""
    inner = contains(values, mode="all", ignore_case=ignore_case, threshold=threshold)

    async def score(completion: Completion, case: Case) -> Score:
        result = await inner(completion, case)
        return Score(result.value, result.passed, result.reason, "required")

    return score
