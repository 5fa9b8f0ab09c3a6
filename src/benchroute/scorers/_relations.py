"""Relational checks of a one-sentence answer against the passage sentences that hold the
question's words, for the local RAG checkers (:mod:`._support`).

Design
------
Word-level entailment (:mod:`._entailment`) accepts an answer whose words are all in the
passages, whatever relation it puts them in. Two question forms make the wrong relation
visible without a model, because the passage decides between named candidates:

- **A choice** ("Which genus is found in open habitats, Solenopsis or Origanum?"): the options
  are the names on both sides of "or". Each passage sentence is attributed to the option it
  names, or, when it names none ("He was a veteran of three missions"), to the option named
  last before it (the nearest antecedent). The option whose sentences best cover the
  question's other words (its predicate) is the passage's answer. An answer that names only the
  *other* option contradicts the passage.
- **A yes/no question about two names** ("Are Time and Food Network Magazine both weekly?",
  "Did both A and B work as film directors?"): the predicate must be found with each name. When
  it is found with every name the passage says yes; when it is found with one and missing with
  another, it says no. An answer opening with the other word ("Yes, both are weekly") contradicts
  the passage.

- **An open question answered without its answer**: a *who* question (or "what is the name",
  "which city") needs a name the question does not give, and a *when* / *how many* question a
  number or a date.

Each check decides only when the passage is clear (the covers differ by at least
:data:`_MARGIN`); otherwise it returns ``None`` and the answer is judged as before. The checks
can only take support away: they never make an unsupported answer supported. What they cannot
see: comparisons that need arithmetic or world knowledge ("born first", "the larger breed",
"the same state"), which no word of the passage states.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ._claims import _fold, _word_set, _words
from ._entailment import Lexicon, terms

# How much better one candidate's sentences must cover the predicate for the passage to decide.
_MARGIN = 0.5
# A run of capitalised words, with the lower-case particles names carry ("van den", "of").
_NAME = (
    r"[A-Z0-9][\w'’.&!-]*(?:\s+(?:(?:of|the|de|du|van|von|den|der|la|le|da|del|and)\s+)*[A-Z0-9][\w'’.&!-]*)*"
)
_CHOICE = re.compile(rf"({_NAME})\s*,?\s+or\s+(?:[a-z][\w-]*\s+){{0,3}}?({_NAME})")
_POLAR = re.compile(r"^\s*(?:are|is|was|were|do|does|did|can|could|has|have|had|will|would)\b", re.I)
_PAIR = re.compile(rf"({_NAME})\s+and\s+(?:the\s+)?({_NAME})")
# A choice by rank ("born first", "the larger breed") needs values compared, not words found.
_RANKING = re.compile(
    r"\b(?:first|last|more|most|less|least|fewer|earlier|earliest|later|latest|older|oldest|younger"
    r"|youngest|longer|longest|larger|largest|bigger|biggest|smaller|smallest|taller|tallest|higher"
    r"|highest|lower|lowest|greater|greatest|newer|newest|closer|further|farther|sooner|before|after)\b",
    re.I,
)
_BOTH = re.compile(r"\bboth\b", re.I)
_SAME = re.compile(r"\b(?:same|similar|different|differ|common|alike|related|together)\b", re.I)
_YES = re.compile(r"^\W*(?:yes|yeah|yep|correct|true|indeed)\b", re.I)
_NO = re.compile(r"^\W*(?:no|nope|neither|incorrect|false|not)\b", re.I)
# Words of a question that ask rather than describe.
_ASKING = _word_set("which who whom whose what when where why how both either neither two same different")
_OPENING = _word_set("the a an is are was were do does did which who what")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a relational check found: ``supported`` False when the answer contradicts the
    passage, and why."""

    supported: bool
    reason: str


def _tokens(name: str) -> set[str]:
    """The distinctive words of a name: folded, at least three letters, not an article."""
    out = set()
    for raw in _words(name):
        word = _fold(raw)
        if len(word) >= 3 and word not in _OPENING:
            out.add(word)
    return out


def _names(text_words: set[str], candidates: Sequence[set[str]]) -> list[int]:
    return [k for k, tokens in enumerate(candidates) if tokens & text_words]


def _attributed(sentences: Sequence[str], candidates: Sequence[set[str]]) -> list[list[int]]:
    """Per sentence, the candidates it is about: those it names, else the one named last before
    it."""
    out: list[list[int]] = []
    last: int | None = None
    for sentence in sentences:
        folded = [_fold(w) for w in _words(sentence)]
        words = set(folded)
        named = _names(words, candidates)
        if named:
            # The antecedent of the next sentence: the candidate mentioned last in this one.
            positions = {k: max(i for i, w in enumerate(folded) if w in candidates[k]) for k in named}
            last = max(positions, key=positions.__getitem__)
            out.append(named)
        else:
            out.append([last] if last is not None else [])
    return out


def _cover(predicate: Sequence[str], sentences: Sequence[str], about: Sequence[list[int]], k: int) -> float:
    """The best share of the predicate's words found in one sentence about candidate ``k``
    alone."""
    best = 0.0
    for sentence, who in zip(sentences, about, strict=True):
        if who == [k]:
            lexicon = Lexicon(sentence)
            best = max(best, sum(lexicon.has(w) for w in predicate) / len(predicate))
    return best


def _predicate(question: str, candidates: Sequence[set[str]]) -> list[str]:
    named = set().union(*candidates)
    return [
        t.word
        for t in terms(question)
        if t.word not in named and t.word not in _ASKING and not any(p in named for p in t.word.split("-"))
    ]


def check_choice(answer: str, question: str, sentences: Sequence[str]) -> Verdict | None:
    """A choice between two named options: ``supported`` False when the answer names only the
    option the passage does not pick."""
    match = _CHOICE.search(question)
    if match is None or _RANKING.search(question):
        return None
    options = [_tokens(match.group(1)), _tokens(match.group(2))]
    if not all(options) or options[0] & options[1]:
        return None
    answer_words = {_fold(w) for w in _words(answer)}
    named = _names(answer_words, options)
    if len(named) != 1:
        return None
    predicate = _predicate(question, options)
    if not predicate:
        return None
    about = _attributed(sentences, options)
    covers = [_cover(predicate, sentences, about, k) for k in (0, 1)]
    chosen = named[0]
    other = 1 - chosen
    if covers[other] - covers[chosen] >= _MARGIN:
        picked = match.group(other + 1)
        return Verdict(False, f"the passage says this of {picked!r}, not of the option the answer names")
    return None


def check_polar(answer: str, question: str, sentences: Sequence[str]) -> Verdict | None:
    """A yes/no question about two names: ``supported`` False when the answer's yes or no is not
    what the passage says of each name."""
    # "Are A and B from the same country?" compares values the passage names differently; only
    # a predicate both names share ("both singers") is checked.
    if not _POLAR.match(question) or not _BOTH.search(question) or _SAME.search(question):
        return None
    says_yes, says_no = bool(_YES.match(answer)), bool(_NO.match(answer))
    if says_yes == says_no:
        return None
    match = _PAIR.search(question)
    if match is None:
        return None
    names = [_tokens(match.group(1)), _tokens(match.group(2))]
    if not all(names) or names[0] & names[1]:
        return None
    predicate = _predicate(question, names)
    if not predicate:
        return None
    about = _attributed(sentences, names)
    covers = [_cover(predicate, sentences, about, k) for k in (0, 1)]
    low, high = min(covers), max(covers)
    if low == 0.0 and high >= 0.5:
        passage_says_yes = False
    elif low >= 1.0 - 1e-9 or (low >= 0.5 and high - low < 0.25):
        passage_says_yes = True
    else:
        return None
    if passage_says_yes == says_yes:
        return None
    said = "yes" if passage_says_yes else "no"
    return Verdict(False, f"the passage's sentences about both names say {said!r}")


_MONTH_WORDS = _word_set(
    "january february march april may june july august september october november december"
)
_ASKS_NAME = re.compile(
    r"^\W*(?:q:\s*)?(?:who|whom|whose)\b|\bby\s+(?:who|whom)\b|\b(?:called|named|titled)\s+what\b"
    r"|\bwhat\s+is\s+the\s+name\b|\b(?:what|which)\s+(?:[A-Z]\w+\s+)?(?:city|town|country|state|county"
    r"|province|team|band|company|film|movie|album|university|college|river|island|airport)\b",
    re.I,
)
_ASKS_NUMBER = re.compile(
    r"^\W*(?:q:\s*)?when\b|\b(?:what|which)\s+year\b|\bhow\s+(?:many|much|old|long|tall|far)\b", re.I
)


def check_answer_type(answer: str, question: str) -> Verdict | None:
    """A question that asks *who* needs a name the question does not already give, and one that
    asks *when* or *how many* a number: "Henry Seymour believed it was Shakespeare" for "Who did
    Henry Seymour believe wrote Shakespeare's plays?" has not answered."""
    if _CHOICE.search(question):
        return None
    asked = Lexicon(question)
    added = [t for t in terms(answer) if not asked.has(t.word) or (t.number and t.word not in asked.numbers)]
    if _ASKS_NUMBER.search(question):
        if not any(t.number or t.weighty or t.word in _MONTH_WORDS for t in added):
            return Verdict(False, "the question asks when or how many, and the answer adds no number or date")
    # A name may be numbered ("69th Infantry Regiment").
    elif _ASKS_NAME.search(question) and not any(t.number or t.raw[:1].isupper() for t in added):
        return Verdict(False, "the question asks who, and the answer adds no name")
    return None


def check_relations(answer: str, question: str | None, sentences: Sequence[str]) -> Verdict | None:
    """Run the relational checks that apply to the question's form; ``None`` when none decides."""
    if not question or not sentences:
        return None
    return (
        check_answer_type(answer, question)
        or check_choice(answer, question, sentences)
        or check_polar(answer, question, sentences)
    )
