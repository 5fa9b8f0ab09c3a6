"""Reference-answer scorers: compare the output with the case's expected answer(s).

Five ways of comparing, from strict to loose:

* ``normalized_match`` — equality after SQuAD-style normalisation (NFKC, casefold, punctuation
  and the articles a/an/the removed, whitespace collapsed): "The Eiffel Tower." matches
  "eiffel tower".
* ``numeric`` — the *final* number in the output (reasoning first, answer last is how models
  write, and "The answer is 42." ends with it) against an expected number, within an absolute or
  relative tolerance.
* ``token_f1`` — SQuAD's token-level F1 over the normalised words: partial credit for partial
  overlap, order ignored.
* ``rouge_l`` — ROUGE-L F-measure (longest common subsequence of stemmed words) from the
  ``rouge-score`` package, so values agree with published ROUGE numbers.
* ``semantic_similarity`` — cosine similarity of sentence embeddings, from the scoring
  context (local all-MiniLM-L6-v2 unless an embeddings endpoint is configured).

Conventions shared by all five, following the text scorers: the reference is the case's
``expected`` unless the ``expected`` argument gives one; a list means "any of these accepted
answers", so a graded scorer reports the best match over the list; a case without a reference
scores 0 with a reason saying so rather than raising, because a dataset row missing its answer
is a data problem to see in the report, not a reason to abort the run.

Model output is untrusted text: it may be empty, a megabyte long, or carry lone surrogates
(bytes decoded with ``surrogateescape``). Surrogates are replaced by U+FFFD up front, since
they cannot be encoded as UTF-8 (the embedding tokenizer rejects them, and so would a report
written as UTF-8). The quadratic ROUGE-L computation sees at most :data:`MAX_ROUGE_CHARS` of the
output and runs in a worker thread so a long output never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import math
import re
import string
import unicodedata
from collections import Counter, deque
from typing import Any

from ..config import Case
from ..types import Completion
from ._base import Score, Scorer, declare, threshold_passed
from ._context import ScoringContext
from ._embeddings import cosine
from ._util import clip, expected_texts, expected_values, valid_utf8

# ROUGE-L fills an (output words x reference words) table in pure Python: 100,000 characters
# (~17,000 words) against a 100-word reference takes about a second. Beyond that the output is
# so much longer than any reference that its precision, and so its F-measure, is ~0 anyway.
MAX_ROUGE_CHARS = 100_000
# all-MiniLM-L6-v2 reads only its first 256 word pieces; clipping the text first saves
# tokenising a megabyte, and keeps a remote endpoint under its context length.
MAX_EMBED_CHARS = 20_000


# --- shared helpers ----------------------------------------------------------------------------


def _references(value: Any) -> list[str]:
    return [valid_utf8(text) for text in expected_texts(value)]


def _no_reference(name: str, threshold: float) -> Score:
    return Score(0.0, threshold_passed(0.0, threshold), "the case has no expected value", name)


class _PunctuationTable(dict[int, int | None]):
    """A ``str.translate`` table that deletes punctuation, filled in as characters are met.

    Building it for all of Unicode up front would cost a third of a second at import; filled
    lazily, each distinct character costs one category lookup and then a C-level dict hit.
    """

    def __missing__(self, code: int) -> int | None:
        char = chr(code)
        # SQuAD strips ASCII string.punctuation, which includes symbols such as $ + < = > ^ ` | ~;
        # the Unicode punctuation categories (P*) extend it to « » ¿ ¡ 。 、 and friends.
        deleted = char in string.punctuation or unicodedata.category(char).startswith("P")
        value = None if deleted else code
        self[code] = value
        return value


_PUNCTUATION = _PunctuationTable()
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation, made Unicode-aware: NFKC, casefold, delete punctuation,
    drop the articles a/an/the, collapse whitespace.

    As in the official SQuAD script punctuation is deleted, not replaced by a space, so
    "state-of-the-art" becomes "stateoftheart" on both sides of the comparison.
    """
    text = unicodedata.normalize("NFKC", valid_utf8(text)).casefold()
    text = text.translate(_PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


# --- normalized_match --------------------------------------------------------------------------


def normalized_match(expected: Any = None, *, threshold: float = 1.0) -> Scorer:
    """1 when the output equals the expected answer (any of a list) after SQuAD-style
    normalisation: NFKC, casefold, no punctuation, no articles, collapsed whitespace."""

    async def score(completion: Completion, case: Case) -> Score:
        references = _references(case.expected if expected is None else expected)
        if not references:
            return _no_reference("normalized_match", threshold)
        got = normalize_answer(completion.text)
        wanted = [normalize_answer(r) for r in references]
        if got in wanted:
            return Score(
                1.0, threshold_passed(1.0, threshold), f"matches {clip(got, 60)!r}", "normalized_match"
            )
        return Score(
            0.0,
            threshold_passed(0.0, threshold),
            f"normalised output {clip(got, 60)!r} matches none of {[clip(w, 40) for w in wanted[:5]]}",
            "normalized_match",
        )

    return score


# --- numeric -----------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"""
    # Not the tail of a word, a number, a version string or a path: "H2O" and "v1.2.3" hold no
    # number, "12/25/2023" reads as 12, and the dash of "x-3" or "10-12" is not a minus sign.
    (?<![\w./])
    (?P<sign>[-+\u2212])?
    (?P<currency>[$€£¥₹]\s?)?
    (?P<sign2>[-+\u2212])?
    (?:
        (?P<numerator>\d+)/(?P<denominator>\d+)(?!\d|[./]\d)  # 3/4 (not 12/25/2023)
      | (?P<mantissa>
            \d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?                # 1,234,567.89
          | \d+(?:\.\d+)?                                     # 1234.5 ("42." stops at 42)
          | \.\d+                                             # .5
        )
        (?P<exponent>[eE][-+]?\d+)?                           # 2.5e3
    )
    (?P<percent>\s?%)?
    """,
    re.VERBOSE,
)


def _to_float(match: re.Match[str]) -> float:
    negative = (match["sign"] or match["sign2"] or "") in ("-", "\u2212")
    if match["numerator"] is not None:
        # float(), not int(): int() refuses strings of more than 4,300 digits.
        denominator = float(match["denominator"])
        # 1/0 is not a number; NaN compares unequal to everything, so it fails without a crash.
        value = float(match["numerator"]) / denominator if denominator else math.nan
    else:
        # float() never raises on overflow from a string: a 400-digit number is inf, which then
        # simply fails the comparison. Unicode digits (Arabic-Indic, full-width) are accepted.
        value = float(match["mantissa"].replace(",", "") + (match["exponent"] or ""))
    return -value if negative else value


def extract_final_number(text: str) -> tuple[float, str] | None:
    """The last number written in ``text`` and the text it was read from, or ``None``.

    Thousands separators, a sign, a currency symbol, scientific notation, a percent sign (45%
    reads as 45) and simple fractions (3/4 reads as 0.75) are understood; number words and
    decimal commas are not.
    """
    # A one-slot deque drains the iterator keeping only the final match.
    last = deque(_NUMBER.finditer(text), maxlen=1)
    if not last:
        return None
    return _to_float(last[0]), last[0].group(0).strip()


def _parse_expected_number(value: Any) -> float:
    """A reference value as a float: a number, or a string that is exactly one number."""
    if isinstance(value, bool):  # True is an int to Python, but not a number to a benchmark
        raise ValueError(f"expected value {value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = valid_utf8(str(value)).strip()
        match = _NUMBER.fullmatch(text)
        if match is None:
            raise ValueError(f"expected value {clip(text, 60)!r} is not a single number")
        number = _to_float(match)
    if not math.isfinite(number):
        raise ValueError(f"expected value {value!r} is not a finite number")
    return number


def _format_number(value: float) -> str:
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def numeric(
    expected: Any = None,
    *,
    tolerance: float = 0.0,
    relative: bool = False,
    threshold: float = 1.0,
) -> Scorer:
    """1 when the final number in the output equals the expected number (any of a list) within
    ``tolerance``: absolute by default, a fraction of the expected value with ``relative``.

    The expected value is a number or a string holding one ("1,200", "$5", "45%", "3/4").
    """
    if not isinstance(tolerance, int | float) or isinstance(tolerance, bool) or not tolerance >= 0:
        raise ValueError(f"tolerance must be a number >= 0, got {tolerance!r}")
    if expected is not None:  # a literal in the suite is checked when the suite loads
        for item in expected_values(expected):
            _parse_expected_number(item)

    def allowed(target: float) -> float:
        slack = tolerance * abs(target) if relative else tolerance
        # Tolerance 0 still means "equal up to float rounding": expected 0.1 + 0.2 (which is
        # 0.30000000000000004) must accept an output of 0.3.
        return slack + 1e-9 * max(1.0, abs(target))

    async def score(completion: Completion, case: Case) -> Score:
        items = expected_values(case.expected if expected is None else expected)
        if not items:
            return _no_reference("numeric", threshold)
        try:
            targets = [_parse_expected_number(item) for item in items]
        except ValueError as exc:
            return Score(0.0, threshold_passed(0.0, threshold), str(exc), "numeric")
        wanted = " or ".join(_format_number(t) for t in targets[:5])
        band = f" ± {tolerance:g}{' (relative)' if relative else ''}" if tolerance else ""
        found = extract_final_number(valid_utf8(completion.text))
        if found is None:
            return Score(
                0.0,
                threshold_passed(0.0, threshold),
                f"no number in the output; expected {wanted}",
                "numeric",
                details={"expected": targets},
            )
        got, text = found
        # NaN (from 1/0) fails every comparison, so it never passes.
        hit = any(abs(got - target) <= allowed(target) for target in targets)
        value = 1.0 if hit else 0.0
        return Score(
            value,
            threshold_passed(value, threshold),
            f"extracted {_format_number(got)} (from {clip(text, 40)!r}), expected {wanted}{band}",
            "numeric",
            # inf/NaN would be written as the non-JSON tokens Infinity/NaN; the text says it all.
            details={"extracted": got if math.isfinite(got) else None, "expected": targets},
        )

    return score


# --- token_f1 ----------------------------------------------------------------------------------


def _token_f1(prediction: list[str], reference: list[str]) -> tuple[float, float, float]:
    """(F1, precision, recall) of two token lists, exactly as the SQuAD v2 script computes it."""
    if not prediction or not reference:
        # SQuAD: an empty answer is right only when the reference is empty too (after normalising).
        same = float(prediction == reference)
        return same, same, same
    common = sum((Counter(prediction) & Counter(reference)).values())
    if common == 0:
        return 0.0, 0.0, 0.0
    precision = common / len(prediction)
    recall = common / len(reference)
    return 2 * precision * recall / (precision + recall), precision, recall


def token_f1(expected: Any = None, *, threshold: float = 0.5) -> Scorer:
    """SQuAD token-level F1 between the normalised output and the expected answer; the best
    over a list of references. Word order does not matter, repeated words count once each."""

    async def score(completion: Completion, case: Case) -> Score:
        references = _references(case.expected if expected is None else expected)
        if not references:
            return _no_reference("token_f1", threshold)
        tokens = normalize_answer(completion.text).split()
        best = max(
            ((_token_f1(tokens, normalize_answer(r).split()), r) for r in references),
            key=lambda item: item[0][0],
        )
        (f1, precision, recall), reference = best
        return Score(
            f1,
            threshold_passed(f1, threshold),
            f"F1 {f1:.2f} (precision {precision:.2f}, recall {recall:.2f}) against {clip(reference, 60)!r}",
            "token_f1",
            details={"precision": precision, "recall": recall},
        )

    return score


# --- rouge_l -----------------------------------------------------------------------------------


@declare(requires=("rouge_score",), extra="scorers")
def rouge_l(expected: Any = None, *, threshold: float = 0.5) -> Scorer:
    """ROUGE-L F-measure (longest common subsequence of lower-cased, Porter-stemmed words)
    from the ``rouge-score`` package; the best over a list of references.

    ``rouge-score`` keeps only ASCII letters and digits, as the original ROUGE did: text in
    other scripts has no words to compare and scores 0.
    """
    # Imported here: rouge-score pulls in NLTK (about a second), paid only by suites using it.
    from rouge_score import rouge_scorer

    rouge = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)

    def best_match(prediction: str, references: list[str]) -> tuple[Any, str]:
        # RougeScorer.score takes (target, prediction); it keeps no state, so threads may share it.
        results = [(rouge.score(r, prediction)["rougeL"], r) for r in references]
        return max(results, key=lambda item: item[0].fmeasure)

    async def score(completion: Completion, case: Case) -> Score:
        references = _references(case.expected if expected is None else expected)
        if not references:
            return _no_reference("rouge_l", threshold)
        prediction = valid_utf8(completion.text)
        clipped = len(prediction) > MAX_ROUGE_CHARS
        if clipped:
            prediction = prediction[:MAX_ROUGE_CHARS]
        result, reference = await asyncio.to_thread(best_match, prediction, references)
        value = float(result.fmeasure)
        reason = (
            f"ROUGE-L {value:.2f} (precision {result.precision:.2f}, recall {result.recall:.2f}) "
            f"against {clip(reference, 60)!r}"
        )
        details: dict[str, Any] = {"precision": float(result.precision), "recall": float(result.recall)}
        if clipped:
            reason += f"; output clipped to its first {MAX_ROUGE_CHARS:,} characters"
            details["clipped"] = True
        return Score(value, threshold_passed(value, threshold), reason, "rouge_l", details=details)

    return score


# --- semantic_similarity -----------------------------------------------------------------------


@declare(embeddings=True)
def semantic_similarity(expected: Any = None, *, context: ScoringContext, threshold: float = 0.7) -> Scorer:
    """Cosine similarity between the embeddings of the output and the expected answer (the
    best over a list), floored at 0. Embeddings come from the scoring context: the local
    all-MiniLM-L6-v2 model unless the project names an embeddings endpoint."""

    async def score(completion: Completion, case: Case) -> Score:
        references = [r for r in _references(case.expected if expected is None else expected) if r.strip()]
        if not references:
            return _no_reference("semantic_similarity", threshold)
        output = valid_utf8(completion.text).strip()
        if not output:
            # An empty string still embeds to some vector; its similarity to anything is noise.
            return Score(0.0, threshold_passed(0.0, threshold), "empty output", "semantic_similarity")
        texts = [output[:MAX_EMBED_CHARS], *(r[:MAX_EMBED_CHARS] for r in references)]
        vectors = await context.embed(texts)
        similarities = [cosine(vectors[0], v) for v in vectors[1:]]
        best = max(range(len(similarities)), key=similarities.__getitem__)
        similarity = similarities[best]
        # Unrelated texts can have a slightly negative cosine; rounding can push identical ones
        # just past 1. Neither belongs in a [0, 1] score.
        value = min(1.0, max(0.0, similarity))
        return Score(
            value,
            threshold_passed(value, threshold),
            f"cosine similarity {similarity:.2f} to {clip(references[best], 60)!r}",
            "semantic_similarity",
            details={"cosine": similarity},
        )

    return score
