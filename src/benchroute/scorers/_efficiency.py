"""``token_efficiency``: how much of what a model was paid to write carries the answer.

Output tokens are the expensive ones, and models pad: "Great question!", "Sure! Here is the
answer:", restating the question, "As an AI language model, ...", "It's important to note
that ...", "I hope this helps! Let me know if you have any other questions." The scorer finds
that filler and reports the share of the output that is *not* filler.

How filler is found (no model, deterministic, a few microseconds per reply):

1. The reply is split into sentences with the same splitter as the RAG scorers
   (:func:`benchroute.scorers._claims.split_sentences`), which share the filler patterns.
2. A whole sentence is filler when it is a *pleasantry* ("Great question!", "I hope this
   helps", "Let me know if...", "Happy to help", "Sure!", "Here is the answer:"), a *hedge*
   that states nothing ("As an AI language model, I don't have opinions.", "Please verify this
   with an official source."), or a *restatement* of the question: all its content words
   (less meta words such as "asked", "question", "know") occur in the case input, while some
   other sentence of the reply does add something. That last condition keeps the sole answer
   to a yes/no question ("Does water boil at 100 °C?" -> "Water boils at 100 °C.") from
   being called filler.
3. In the remaining sentences a boilerplate *lead-in* ("Sure, ", "As an AI language model, ",
   "It's important to note that ", "Here's the answer: ") is filler and the rest is answer.

Generic filler that no fixed phrase names (content-free transitions, sentences that only say
something is important, recaps, closing reassurance, generic evaluations) is found by
:mod:`._filler`: a lexicon of generic phrases, and a small logistic model over general signals
(word frequency, overlap with the question and the reply, length, position, rating words). A
sentence the model is unsure of counts by its probability (its filler item then carries a
``weight`` below 1).

Counting: the filler's share of the reply's tokens (:func:`count_tokens`, words and
punctuation marks) is applied to the reply's output tokens as the provider reported them (less
any reasoning tokens, which the text does not show and which are counted as answer). When the
provider reported no usage, the estimate itself stands in. The value is
``answer_tokens / total_tokens``. A huge reply is analysed on its first 200,000 characters
(the splitter's limit) and the share found there is applied to all of it.

Details carry ``filler_tokens``, ``answer_tokens``, ``total_tokens``, the filler found (text
and kind), ``verbosity`` (output words / reference words, the reference being
``reference_words`` or the length of the case's expected answer), and for the leaderboard
``wasted_output_tokens`` (= the filler tokens; multiplied by the model's output price it gives
"wasted $ per 1k requests") and ``wasted_fraction`` (for models priced by compute time, whose
cost is then split pro rata).
"""

from __future__ import annotations

import re
from typing import Any

from ..config import Case
from ..types import Completion
from ._base import Score, Scorer, declare, threshold_passed
from ._claims import HEDGES, PLEASANTRIES, content_words, is_filler_sentence
from ._filler import find_pieces
from ._metrics import EFFICIENCY
from ._rag import question_of
from ._util import clip

_TOKEN = re.compile(r"\w+|[^\w\s]")
# The details list this many pieces of filler at most (a padded 1 MB reply has thousands).
_MAX_FILLER_ITEMS = 20
# Words a restatement uses to point at the question rather than to answer it.
_META_WORDS = frozenset(
    [
        *("asked", "ask", "asking", "question", "questions", "know", "wondering", "wonder", "want"),
        *("wanted", "wants", "answer", "explain", "tell", "curious", "inquire", "inquiring", "regarding"),
    ]
)


def _kind(sentence: str) -> str | None:
    """The kind of filler a whole sentence is, if it is one."""
    text = sentence.strip()
    if PLEASANTRIES.match(text):
        return "pleasantry"
    if HEDGES.match(text) or is_filler_sentence(text):
        return "hedge"
    return None


def _restates(sentence: str, question_words: set[str]) -> bool:
    words = [w for w in content_words(sentence) if w not in _META_WORDS]
    return bool(question_words) and len(words) >= 2 and all(w in question_words for w in words)


def _reference_words(reference_words: int | None, case: Case) -> int | None:
    if reference_words is not None:
        return reference_words
    expected = case.expected
    if isinstance(expected, list | tuple):
        expected = expected[0] if expected else None
    if expected is None:
        return None
    count = len(str(expected).split())
    return count or None


def count_tokens(text: str) -> int:
    """The scorer's token estimate: words and punctuation marks, each one token.

    The filler's share is measured in these units and applied to the provider's output
    tokens (or to this count when the provider reported none): closer to a BPE tokenizer's
    count than characters or whitespace-separated words, since punctuation costs tokens too.
    """
    return len(_TOKEN.findall(text))


def find_filler(text: str, question: str | None) -> tuple[float, int, list[dict[str, Any]]]:
    """``(filler_tokens, total_tokens, filler)`` of ``text`` by :func:`count_tokens`: tokens of
    its sentences that are filler (a sentence the detector is unsure of counts by its
    ``weight``), all their tokens, and each piece of filler with its kind (and its weight when
    below 1)."""
    filler: list[dict[str, Any]] = []
    filler_tokens = 0.0
    total_tokens = 0
    for sentence, kind, piece, weight in label_sentences(text, question):
        total_tokens += count_tokens(sentence)
        if kind is not None:
            filler_tokens += weight * count_tokens(piece)
            item: dict[str, Any] = {"text": clip(piece, 80), "kind": kind}
            if weight < 1:
                item["weight"] = round(weight, 2)
            filler.append(item)
    return filler_tokens, total_tokens, filler


def label_sentences(text: str, question: str | None) -> list[tuple[str, str | None, str, float]]:
    """Each sentence of ``text`` as ``(sentence, kind, filler, weight)``: the kind of filler it
    is (``"lead-in"`` when only its opening words are) or None, the text that is filler (the
    sentence, its lead-in, or ""), and the share of that text counted as filler."""
    sentences, pieces = find_pieces(text, question)
    question_words = set(content_words(question or ""))
    kinds: list[str | None] = []
    for sentence, piece in zip(sentences, pieces, strict=True):
        if piece is not None and not piece.lead_in and piece.weight >= 1:
            kinds.append(piece.kind)
        else:
            kinds.append(_kind(sentence))
    restated = [
        kind is None and _restates(s, question_words) for s, kind in zip(sentences, kinds, strict=True)
    ]
    # A restatement is only filler next to a sentence that does answer.
    answering = [kind is None and not r for kind, r in zip(kinds, restated, strict=True)]
    out: list[tuple[str, str | None, str, float]] = []
    for index, sentence in enumerate(sentences):
        kind = kinds[index]
        if kind is None and restated[index] and any(a for i, a in enumerate(answering) if i != index):
            kind = "restatement"
        piece = pieces[index]
        if kind is None and piece is not None and not piece.lead_in:
            # Only the sentence model's, and unsure: counted at its weight.
            out.append((sentence, piece.kind, sentence, piece.weight))
        elif kind is not None:
            out.append((sentence, kind, sentence, 1.0))
        elif piece is not None and piece.lead_in:
            out.append((sentence, "lead-in", piece.text, 1.0))
        else:
            out.append((sentence, None, "", 0.0))
    return out


@declare(metric=EFFICIENCY)
def token_efficiency(*, reference_words: int | None = None, threshold: float = 0.5) -> Scorer:
    """The share of output tokens that carry the answer rather than filler (pleasantries,
    restating the question, boilerplate hedges). ``reference_words`` (default: the length of
    the case's expected answer) sets the denominator of the ``verbosity`` detail."""
    if reference_words is not None and reference_words < 1:
        raise ValueError("reference_words must be >= 1")

    async def score(completion: Completion, case: Case) -> Score:
        text = completion.text
        usage = completion.usage
        reference = _reference_words(reference_words, case)
        if not text.strip():
            # Tokens spent on an empty reply are all wasted.
            wasted = usage.output_tokens
            details: dict[str, Any] = {
                "filler_tokens": wasted,
                "answer_tokens": 0,
                "total_tokens": wasted,
                "filler": [],
                "verbosity": 0.0 if reference else None,
                "wasted_output_tokens": wasted,
                "wasted_fraction": 1.0 if wasted else 0.0,
            }
            return Score(0.0, False, "empty output", "token_efficiency", details=details)
        filler_units, total_units, filler = find_filler(text, question_of(case))
        share = filler_units / total_units if total_units else 0.0
        words = len(text.split())
        if usage.output_tokens > 0:
            total, source = usage.output_tokens, "usage"
            visible = total - min(max(usage.reasoning_tokens, 0), total)
        else:
            total, source = count_tokens(text), "estimate"
            visible = total
        filler_tokens = min(total, round(visible * share))
        answer_tokens = total - filler_tokens
        value = answer_tokens / total if total else 0.0
        details = {
            "filler_tokens": filler_tokens,
            "answer_tokens": answer_tokens,
            "total_tokens": total,
            "token_source": source,
            "filler": filler[:_MAX_FILLER_ITEMS],
            "output_words": words,
            "reference_words": reference,
            "verbosity": round(words / reference, 3) if reference else None,
            "wasted_output_tokens": filler_tokens,
            "wasted_fraction": round(filler_tokens / total, 4) if total else 0.0,
        }
        if source == "usage" and usage.reasoning_tokens:
            details["reasoning_tokens"] = usage.reasoning_tokens
        if filler:
            kinds = sorted({f["kind"] for f in filler})
            reason = f"{answer_tokens}/{total} output tokens carry the answer; filler ({', '.join(kinds)}): "
            reason += ", ".join(repr(f["text"]) for f in filler[:3])
        else:
            reason = f"no filler found in {total} output tokens"
        if reference:
            reason += f"; {words} words vs {reference} expected"
        return Score(value, threshold_passed(value, threshold), reason, "token_efficiency", details=details)

    return score
