"""OCR accuracy: character and word error rates of transcribed text (``jiwer``).

``cer`` and ``wer`` compare the answer with the case's expected transcript (any of a list:
the best one counts) by Levenshtein alignment, as speech and OCR evaluations do:
``(substitutions + deletions + insertions) / reference length``, in characters (spaces
included, as jiwer counts them) or in words. An error rate can exceed 1 (a long hallucinated
answer), so the score's value is ``max(0, 1 - rate)`` and ``details`` keep the rate itself
with the edit counts.

Before comparing, both sides have runs of whitespace (newlines included: a page's line
breaks are layout, not text) collapsed to one space and are stripped; ``ignore_case`` and
``ignore_punctuation`` go further. An empty answer is every reference unit deleted (rate 1);
a case without an expected transcript is a scorer error.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from ..config import Case
from ..types import Completion
from ._base import Score, Scorer, declare, threshold_passed
from ._reference import _PUNCTUATION
from ._util import expected_texts, valid_utf8


def _prepare(text: str, *, ignore_case: bool, ignore_punctuation: bool) -> str:
    text = unicodedata.normalize("NFC", valid_utf8(text))
    if ignore_case:
        text = text.casefold()
    if ignore_punctuation:
        text = text.translate(_PUNCTUATION)
    return " ".join(text.split())


def error_rate(reference: str, hypothesis: str, *, unit: str) -> dict[str, Any]:
    """The error rate of ``hypothesis`` against ``reference`` with its edit counts
    (``unit``: ``"char"`` or ``"word"``); both already prepared."""
    import jiwer  # a multimodal-extra dependency

    size = len(reference) if unit == "char" else len(reference.split())
    if size == 0:
        raise ValueError("the expected transcript is empty")
    if not hypothesis:
        return {
            "rate": 1.0,
            "hits": 0,
            "substitutions": 0,
            "deletions": size,
            "insertions": 0,
            "length": size,
        }
    out = (
        jiwer.process_characters(reference, hypothesis)
        if unit == "char"
        else jiwer.process_words(reference, hypothesis)
    )
    rate = (out.substitutions + out.deletions + out.insertions) / size
    return {
        "rate": rate,
        "hits": out.hits,
        "substitutions": out.substitutions,
        "deletions": out.deletions,
        "insertions": out.insertions,
        "length": size,
    }


def _error_scorer(
    name: str, unit: str, expected: Any, ignore_case: bool, ignore_punctuation: bool, threshold: float
) -> Scorer:
    label = name.upper()

    async def score(completion: Completion, case: Case) -> Score:
        references = expected_texts(case.expected if expected is None else expected)
        if not references:
            raise ValueError(f"case {case.id!r} has no expected transcript (expected: the text on the page)")
        hypothesis = _prepare(completion.text, ignore_case=ignore_case, ignore_punctuation=ignore_punctuation)
        best: dict[str, Any] | None = None
        for reference in references:
            prepared = _prepare(reference, ignore_case=ignore_case, ignore_punctuation=ignore_punctuation)
            figures = error_rate(prepared, hypothesis, unit=unit)
            if best is None or figures["rate"] < best["rate"]:
                best = figures
        assert best is not None
        value = max(0.0, 1.0 - best["rate"])
        reason = (
            f"{label} {best['rate']:.3f}: {best['substitutions']} substituted, {best['deletions']} deleted, "
            f"{best['insertions']} inserted of {best['length']} {'characters' if unit == 'char' else 'words'}"
        )
        return Score(
            value, threshold_passed(value, threshold), reason, name, details={name: best["rate"], **best}
        )

    return score


@declare(requires=("jiwer",), extra="multimodal")
def cer(
    expected: Any = None,
    *,
    ignore_case: bool = False,
    ignore_punctuation: bool = False,
    threshold: float = 0.95,
) -> Scorer:
    """Character error rate of the answer against the expected transcript (value: 1 - CER)."""
    return _error_scorer("cer", "char", expected, ignore_case, ignore_punctuation, threshold)


@declare(requires=("jiwer",), extra="multimodal")
def wer(
    expected: Any = None,
    *,
    ignore_case: bool = False,
    ignore_punctuation: bool = False,
    threshold: float = 0.9,
) -> Scorer:
    """Word error rate of the answer against the expected transcript (value: 1 - WER)."""
    return _error_scorer("wer", "word", expected, ignore_case, ignore_punctuation, threshold)
