"""RAG scorers: factuality against the retrieved passages, citation precision and recall, and
answer relevance.

Every scorer here except answer relevance works on *claims*, not on the raw answer, so the
module starts with a small text pipeline (no NLP dependency, no model):

1. **Sentences.** The answer is split at ``.``/``!``/``?`` followed by white space (not after a
   known abbreviation or an initial such as "J." or "A.C."), at line breaks that start a list
   item, a heading or a new paragraph, and at a period glued to the next sentence
   ("century.First", common in scraped passages). Citation markers ``[1]``, ``[1, 2]``,
   ``[1-3]``, ``[1][2]`` stay with their sentence: a marker written after the period
   ("... capital. [1] It ...") belongs to the sentence before it.
2. **Claims.** Each sentence loses its markers and markdown. Questions are dropped, and so are
   pleasantries ("Great question!", "I hope this helps", "Let me know if..."), hedges that
   state nothing ("I may be wrong.", "Please verify this information.") and sentences without
   a content word. Boilerplate lead-ins ("As an AI language model, ...", "It's important to
   note that ...", "Based on the passages, ...") are cut off and the rest is kept. A sentence
   is then split into atomic claims at semicolons and at the conjunctions *and, but, while,
   whereas, although, though, yet, so*, only where both sides look like clauses: each has a
   verb (from a closed list, or an ``-ed`` form), opens with a subject pronoun, or is at least
   eight words long, so "Paris and Lyon are cities" stays whole. A right side that starts with
   a verb borrows the left side's subject ("X was born in A and died in B" gives "X was born
   in A" and "X died in B"). A relative clause about a name ("..., who was a friend of Y")
   becomes its own claim about that name.
3. **Short answers.** An answer with one sentence of content of at most eight words ("Delhi",
   "Yes", "In 1998") says nothing checkable on its own. With the case's input, its single
   claim is ``Q: <input> A: <answer>``: the embedding compares the question plus the answer
   with the passages, the judge sees the pair, and only the answer's words must be grounded.

A claim is *checked* against passages by one of two checkers:

- ``embedding`` (default, local, no model call) approximates entailment with embeddings and
  lexical grounding. Passages are cut into units (sentences, runs of two and three adjacent
  sentences, 40-word windows of over-long sentences, the whole passage when short); claims and
  units are embedded with ``context.embed`` (all-MiniLM-L6-v2 by default). Cosine alone
  rewards answers that are merely on topic, which is exactly what a hallucination is, so the
  support score multiplies three things:

  * ``sqrt(cosine)``: the best cosine against a unit (compressed, because a question plus a
    bare answer rarely scores above 0.6 even against its source sentence);
  * *locality*: the largest share of the claim's content words found together in one
    sentence or run of up to three adjacent sentences (a claim that joins an entity from one
    part of a passage to a fact from another is how swapped-fact hallucinations look);
  * *novelty*: the share of the words the answer adds beyond the question that occur in the
    passages.

  Numbers, capitalised names, acronyms and rare words (eight letters or more, outside a short
  common list) are *hard* terms: one that neither the passages nor the question contain makes
  the claim unsupported (score 0), however similar it is. A negated claim whose best unit has
  no negation (embeddings barely register "not") has its score halved. Stopwords and light
  words that paraphrases swap freely ("located", "made", "stands") are not counted. Words match
  case- and accent-insensitively, with light stemming and six-letter prefixes ("American" /
  "America"), and numbers match digits or words. A claim is supported when its score reaches
  ``support_threshold`` (0.58, calibrated on 300 HaluEval QA pairs outside the 200-pair sample
  of ``benchmarks/halueval_factuality.py``).
- ``judge`` asks the judge model, in one prompt per passage set, about all the numbered claims;
  it answers ``N: YES`` or ``N: NO``. Replies are parsed leniently (numbered lines in any
  punctuation, ``SUPPORTED``/``NOT SUPPORTED``, a bare YES/NO for one claim, or exactly one
  bare verdict per claim in order); a claim the reply does not rule on counts as unsupported
  (verdict ``unparsed``). Judge tokens and cost go into the Score. A judge call that fails
  (after the runner's retries) gives value 0 with the error in the reason, as in the judge
  scorers.

Citation scorers reuse the same claims and checkers with the passages restricted to the ones a
sentence cites, and follow ALCE: a citation ``[n]`` is *correct* when passage ``n`` supports at
least one claim of its sentence (an out-of-range ``n`` is wrong), and a sentence is *covered*
when each of its claims is supported by one of the passages it cites.

Limits, by design: the embedding checker cannot see relations between words that are all
grounded ("A is larger than B" against a passage saying the opposite), nor yes/no answers;
the judge checker can, as well as the judge model can.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._errors import BenchrouteError
from ..config import Case
from ..providers._types import Completion, CompletionRequest, Message
from ._base import Score, Scorer, threshold_passed
from ._context import ScoringContext
from ._embeddings import cosine

Checker = Literal["embedding", "judge"]
_CHECKERS = ("embedding", "judge")

# Calibrated on 300 HaluEval QA pairs disjoint from the benchmark's 200-pair sample: the value
# that maximised "right answer scores above the hallucinated one" there.
DEFAULT_SUPPORT_THRESHOLD = 0.58
# Answers this short are checked as "Q: <input> A: <answer>".
SHORT_ANSWER_WORDS = 8
# A pathological reply (a 1 MB dump) must not turn into thousands of embedding or judge calls.
MAX_CLAIMS = 64
_MAX_CLAIM_CHARS = 600
_MAX_SENTENCE_CHARS = 2000
_MAX_EMBED_CHARS = 4000
_MAX_TEXT_CHARS = 200_000
_MAX_PASSAGE_PROMPT_CHARS = 6000

# --- words -----------------------------------------------------------------------------------


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOPWORDS = _word_set(
    """
    a about above after again against all also although am an and any are as at be because been
    before being below between both but by can could did do does doing down during each either
    else ever every few for from further had has have having he her here hers herself him himself
    his how however i if in into is it its itself just let me more most my myself neither no nor
    not now of off on once only or other ought our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through
    thus to too under until up upon very was we were what when where whether which while who whom
    whose why will with would yet you your yours yourself yourselves yes ok okay sure indeed
    one ones thing things something anything nothing everything someone anyone may might must
    shall many much several via per etc
    """
)

# Words too common to count as "rare" even when long (they appear in answers as glue).
_COMMON_LONG = _word_set(
    """
    information following including according important different actually especially
    generally something sometimes therefore probably currently together available additional
    particular possible question questions answer answers passage passages provided context
    mentioned described considered approximately significant specifically typically usually
    mainly located situated originally eventually previously recently established"""
)

# Glue that paraphrases swap freely ("is located in", "stands", "made of"): not counted when
# grounding a claim's words, since their absence from the passages says nothing.
_LIGHT = _word_set(
    """
    make made makes making located situated lies lie stands stand standing known called named
    became become becomes used uses use using including include includes based also well still
    even approximately about around nearly almost roughly just really actually currently
    generally typically usually mainly mostly primarily widely often
    """
)

# Verbs and auxiliaries that mark a clause (a closed list; ``-ed`` forms are added by rule).
_VERBS = _word_set(
    """
    is are was were be been being am isn't aren't wasn't weren't has have had hasn't haven't
    hadn't does do did doesn't don't didn't can could will would shall should may might must
    can't couldn't won't wouldn't shouldn't 's 're 've 'd 'll
    became become becomes began begins begin won wins win wrote writes write made makes make
    took takes take gave gives give found finds find led leads lead left leaves held holds hold
    built builds build born known called named lies lie lives live contains contain includes
    include consists consist means mean shows show says said say runs ran run sits sat stands
    stood goes went go came comes come got gets get grew grows grow knew knows know saw sees see
    told tells tell thought thinks think uses use used seems seem appears appear remains remain
    serves serve served plays play played houses hosts host flows flow borders border covers
    cover measures measure weighs weigh costs cost equals equal refers refer belongs belong
    requires require provides provide produces produce allows allow causes cause helps help
    """
)

_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "twenty": "20", "hundred": "100", "thousand": "1000", "million": "1000000",
}  # fmt: skip
_DIGIT_WORDS = {v: k for k, v in _NUMBER_WORDS.items()}

_WORD = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?")
_NUMBER = re.compile(r"^\d[\d,.]*(?:st|nd|rd|th|s)?$")


def _fold(word: str) -> str:
    """Case- and accent-insensitive form of a word, without a possessive ``'s``."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(c for c in word if not unicodedata.combining(c)).replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return word.strip("'.-")


def _stem(word: str) -> str:
    """A crude suffix stripper: enough to match "films"/"film" and "founded"/"founder"."""
    for suffix in ("ies", "ing", "ed", "es", "er", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _is_number(word: str) -> bool:
    return bool(_NUMBER.match(word))


def _number_key(word: str) -> str:
    digits = re.sub(r"(st|nd|rd|th|s)$", "", word.replace(",", ""))
    return digits.rstrip(".")


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning (folded; stopwords and one-letter words out)."""
    out = []
    for raw in _words(text):
        word = _fold(raw)
        if word and word not in STOPWORDS and (len(word) > 1 or word.isdigit()):
            out.append(word)
    return out


def _has_verb(text: str) -> bool:
    for raw in _words(text):
        word = _fold(raw)
        if word in _VERBS or (len(word) >= 4 and word.endswith("ed")):
            return True
        if "'" in raw and _fold(raw[raw.find("'") :]) in _VERBS:
            return True
    return False


def _starts_with_verb(text: str) -> bool:
    words = _words(text)
    if not words:
        return False
    first = _fold(words[0])
    return first in _VERBS or (len(first) >= 4 and first.endswith("ed"))


# --- sentences and citations -----------------------------------------------------------------

_MARKER = r"\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]"
_MARKERS = re.compile(rf"(?:\s*{_MARKER})+")
_ONE_MARKER = re.compile(_MARKER)
_LEADING_MARKERS = re.compile(rf"^\s*((?:{_MARKER}\s*)+)")
# Sentence end: terminal punctuation, closing quotes/brackets, optional trailing markers, space.
_BOUNDARY = re.compile(rf"([.!?…]+[\"'”’)\]]*(?:\s*{_MARKER})*)(\s+)")
# "century.First": a period glued to a capitalised word (not "U.S.A" or "3.5").
_GLUED = re.compile(r"(?<=[a-z0-9\)][a-z\)]\.)(?=[A-Z][a-z])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)]|#{1,6})\s+")
_ABBREVIATIONS = _word_set(
    """mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e cf al approx no vol fig inc ltd co corp
    jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n a.m p.m ph.d"""
)


def parse_citations(marker_text: str) -> list[int]:
    """The passage numbers in markers such as ``[1]``, ``[1, 3]``, ``[2-4]`` (ranges capped)."""
    numbers: list[int] = []
    for marker in _ONE_MARKER.findall(marker_text):
        for part in re.split(r"\s*[,;]\s*", marker.strip("[] \t")):
            bounds = [int(x) for x in re.split(r"\s*[–-]\s*", part) if x.strip().isdigit()]
            if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= 20:
                numbers.extend(range(bounds[0], bounds[1] + 1))
            elif bounds:
                numbers.extend(bounds)
    return numbers


def _ends_with_abbreviation(text: str) -> bool:
    match = re.search(r"(\S+)\.$", text)
    if match is None:
        return False
    token = match.group(1).lstrip("([\"'“").casefold()
    # "J." and "A.C." are initials, not sentence ends.
    return token in _ABBREVIATIONS or bool(re.fullmatch(r"(?:[^\W\d_]\.)*[^\W\d_]", token))


def _lines(text: str) -> list[str]:
    """Paragraphs and list items; a soft line break inside a paragraph is joined back."""
    # Lists of pieces joined once at the end: repeated string concatenation would make a
    # reply of many short lines quadratic.
    paragraphs: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            paragraphs.append([])
            continue
        starts_block = bool(_LIST_ITEM.match(stripped)) or stripped.startswith(("|", ">"))
        previous = paragraphs[-1] if paragraphs else []
        if previous and not starts_block and not previous[-1].endswith((".", "!", "?", ":", "]")):
            previous.append(stripped)
        else:
            paragraphs.append([stripped])
    return [" ".join(parts) for parts in paragraphs if parts]


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, citation markers kept at the end of the sentence they follow."""
    text = text[:_MAX_TEXT_CHARS]
    sentences: list[str] = []
    for line in _lines(_GLUED.sub(" ", text)):
        line = _LIST_ITEM.sub("", line, count=1)
        start = 0
        for match in _BOUNDARY.finditer(line):
            candidate = line[start : match.end(1)]
            # Only the word before the period matters; a bounded window keeps this linear.
            before = line[max(start, match.start(1) - 40) : match.start(1) + 1]
            if match.group(1).startswith(".") and _ends_with_abbreviation(before):
                continue
            sentences.append(candidate.strip())
            start = match.end()
        if line[start:].strip():
            sentences.append(line[start:].strip())
    # Markers that open a sentence were written after the previous one's period.
    merged: list[str] = []
    for sentence in sentences:
        lead = _LEADING_MARKERS.match(sentence)
        if lead and merged:
            merged[-1] = merged[-1] + " " + lead.group(1).strip()
            sentence = sentence[lead.end() :].strip()
        if sentence:
            merged.append(sentence)
    return merged


def strip_citations(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKERS.sub("", text)).strip()


# --- filler: shared with the token_efficiency scorer --------------------------------------------

# Whole sentences that carry no content.
PLEASANTRIES = re.compile(
    r"^(?:(?:what\s+an?\s+|that'?s\s+an?\s+|a\s+)?(?:great|good|excellent|interesting|fantastic|wonderful)"
    r"\s+question|(?:i\s+)?hope\s+(?:this|that|it|my\s+answer)\s+(?:helps|was\s+helpful|is\s+helpful|clarifies)"
    r"|(?:please\s+)?(?:let\s+me\s+know|feel\s+free)|(?:thanks|thank\s+you)\b|(?:i'?m|i\s+am|i'?d\s+be|i\s+would\s+be)"
    r"\s+(?:happy|glad|delighted)\s+to|happy\s+to\s+help|glad\s+to\s+help|is\s+there\s+anything\s+else"
    r"|(?:good\s+luck|cheers|best\s+regards|have\s+a\s+(?:great|nice|good)\s+day)"
    r"|(?:(?:sure|certainly|of\s+course|absolutely|okay|ok|great|alright|no\s+problem)\s*[,!.]*\s*)?"
    r"here(?:'s|\s+is|\s+are)\s+(?:the|a|an|your|my|some)\b[^.!?:]{0,80}[:.!]?$"
    r"|(?:sure|certainly|of\s+course|absolutely|okay|ok|great|alright|no\s+problem)\s*[,!.]*$)",
    re.IGNORECASE,
)
# Whole sentences that only hedge.
HEDGES = re.compile(
    r"^(?:as\s+an\s+ai(?:\s+language\s+model|\s+assistant|\s+model)?\W*$"
    r"|i\s+(?:cannot|can'?t|am\s+unable\s+to|am\s+not\s+able\s+to)\s+(?:browse|access|provide|verify|give)"
    r"|(?:i'?m|i\s+am)\s+not\s+(?:sure|certain|100%)|i\s+(?:may|might|could)\s+be\s+wrong"
    r"|(?:please\s+)?(?:verify|double[-\s]check|consult)\b|it(?:'s|\s+is)\s+(?:always\s+)?"
    r"(?:a\s+good\s+idea|best|advisable|recommended)\s+to\s+(?:verify|check|consult|double[-\s]check)"
    r"|(?:this|the)\s+(?:information|answer)\s+(?:may|might|could)\s+(?:not\s+)?(?:be|change)"
    r"|i\s+(?:don'?t|do\s+not)\s+have\s+(?:access|personal|real[-\s]time|opinions|feelings|beliefs|the\s+ability))",
    re.IGNORECASE,
)
# Boilerplate at the start of a sentence: cut off, the rest is the content.
LEAD_INS = re.compile(
    r"^(?:as\s+an\s+ai(?:\s+language\s+model|\s+assistant|\s+model)?\s*,\s*(?:i\s+can\s+(?:say|tell\s+you)\s+that\s+)?"
    r"|it(?:'s|\s+is)\s+(?:important|worth)\s+(?:to\s+(?:note|mention|remember)|noting|mentioning)\s+that\s+"
    r"|(?:please\s+)?note\s+that\s+|keep\s+in\s+mind\s+that\s+|to\s+answer\s+your\s+question\s*,\s*"
    r"|(?:sure|certainly|of\s+course|absolutely)\s*[,!]\s*"
    r"|here(?:'s|\s+is|\s+are)\s+(?:the|a|an|your|my)\s+[^:.!?]{0,60}:\s*)",
    re.IGNORECASE,
)
# Lead-ins that are not filler for efficiency but are not part of the claim either.
_CLAIM_LEAD_INS = re.compile(
    r"^(?:(?:i\s+(?:think|believe|guess)|in\s+my\s+(?:opinion|view))\s*(?:that\s+|,\s*)?"
    r"|(?:based\s+on|according\s+to)\s+the\s+(?:provided\s+|given\s+|retrieved\s+)?"
    r"(?:passages?|context|information|documents?|sources?)(?:\s+provided)?\s*,\s*"
    r"|in\s+(?:summary|conclusion|short)\s*,\s*)",
    re.IGNORECASE,
)


def _clean(sentence: str) -> str:
    text = strip_citations(sentence)
    text = re.sub(r"[*_`]{1,3}|^#+\s*|^>\s*", "", text)
    return text.strip().strip('"“”').strip()


def _drop_lead_ins(text: str) -> str:
    for _ in range(3):  # "Sure, as an AI, I think ..." stacks several
        stripped = _CLAIM_LEAD_INS.sub("", LEAD_INS.sub("", text, count=1), count=1)
        if stripped == text:
            break
        text = stripped
    return text[:1].upper() + text[1:] if text else text


def is_filler_sentence(sentence: str) -> bool:
    """A pleasantry or a hedge that states nothing: the whole sentence, or what is left of it
    once boilerplate lead-ins ("As an AI language model, ...") are cut off."""
    text = _clean(sentence)
    if PLEASANTRIES.match(text) or HEDGES.match(text):
        return True
    rest = LEAD_INS.sub("", text, count=1).strip()
    return rest != text and (not content_words(rest) or bool(PLEASANTRIES.match(rest) or HEDGES.match(rest)))


# --- claims ----------------------------------------------------------------------------------

_CONJUNCTION = re.compile(r"(?:\s*,\s*|\s+)\b(and|but|while|whereas|although|though|yet|so)\s+", re.I)


@dataclass(frozen=True, slots=True)
class Claim:
    """An atomic claim: ``text`` is what is checked, ``answer_text`` the part of the answer it
    came from (whose words must be grounded), ``sentence`` the index of its sentence."""

    text: str
    answer_text: str
    sentence: int
    citations: tuple[int, ...] = ()
    with_question: bool = False


_SUBJECT_PRONOUNS = _word_set("i he she it we they this these those there")


def _clause_like(text: str) -> bool:
    words = _words(text)
    # A subject pronoun and a word after it is a clause even when the verb is not in the list.
    pronoun_clause = len(words) >= 2 and _fold(words[0]) in _SUBJECT_PRONOUNS
    return pronoun_clause or _has_verb(text) or len(words) >= 8


def _subject(clause: str) -> str | None:
    """The words before the clause's first verb, if they look like a subject (1-8 words)."""
    for match in _WORD.finditer(clause):
        word = _fold(match.group(0))
        if word in _VERBS or (len(word) >= 4 and word.endswith("ed")):
            subject = clause[: match.start()].strip(" ,")
            count = len(_words(subject))
            return subject if 1 <= count <= 8 else None
    return None


# ", who was a friend of X" after a name: a claim about that name.
_RELATIVE = re.compile(
    r"(?P<name>(?:[A-Z][\w'’.-]*\s+(?:(?:of|de|van|von|der|den|la|le|da|del)\s+)?){0,5}[A-Z][\w'’.-]*)"
    r",\s+(?:who|which)\s+(?P<clause>[^,;]+?)(?=\s*,|\s*[.!]?$)"
)


def _split_relative(clause: str) -> list[str]:
    match = _RELATIVE.search(clause)
    if match is None or not _has_verb(match.group("clause")):
        return [clause]
    main = (clause[: match.end("name")] + clause[match.end("clause") :]).strip()
    main = re.sub(r"\s*,\s*([.!]?)$", r"\1", main)
    return [main, f"{match.group('name')} {match.group('clause').strip()}"]


def _split_clauses(sentence: str) -> list[str]:
    """Atomic clauses of a sentence: split at semicolons, at conjunctions joining two clauses
    (a right side without a subject of its own gets the left side's subject: "X was born in A
    and died in B" gives "X was born in A" and "X died in B"), and at a relative clause about
    a name ("..., who was a friend of Y")."""
    pieces: list[str] = []
    for part in re.split(r"\s*;\s*", sentence):
        start = 0
        buffer = ""
        for match in _CONJUNCTION.finditer(part):
            left = buffer + part[start : match.start()]
            right = part[match.end() :]
            split, carried = False, ""
            if _clause_like(left) and _clause_like(right):
                if not _starts_with_verb(right):
                    split = True
                elif match.group(1).casefold() in ("and", "but", "yet"):
                    subject = _subject(left)
                    split, carried = subject is not None, (subject or "") + " "
            if split:
                pieces.append(left)
                buffer = carried.lstrip()
            else:
                buffer = left + part[match.start() : match.end()]
            start = match.end()
        pieces.append(buffer + part[start:])
    out = []
    for piece in pieces:
        out.extend(_split_relative(piece.strip(" ,")))
    return [p.strip(" ,") for p in out if p.strip(" ,")]


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str  # cleaned, markers removed
    body: str  # without lead-ins; "" for questions and filler
    citations: tuple[int, ...]
    claims: tuple[str, ...]


def _analyse(answer: str) -> list[_Sentence]:
    out = []
    for raw in split_sentences(answer):
        citations = tuple(dict.fromkeys(parse_citations(raw)))
        # A "sentence" of thousands of characters is a dump, not prose: its start is enough,
        # and clause splitting stays linear.
        text = _clean(raw[:_MAX_SENTENCE_CHARS])
        body = ""
        claims: tuple[str, ...] = ()
        if text and not text.endswith("?") and not is_filler_sentence(text):
            body = _drop_lead_ins(text)
            claims = tuple(c for c in _split_clauses(body) if content_words(c) and not is_filler_sentence(c))
        out.append(_Sentence(text, body, citations, claims))
    return out


def split_claims(answer: str, question: str | None = None) -> list[Claim]:
    """The atomic claims of ``answer`` (see the module docstring for the heuristic).

    With a ``question``, a short answer (one sentence of content, at most eight words) becomes
    the single claim ``Q: <question> A: <answer>``, even one without content words ("Yes").
    """
    sentences = _analyse(answer)
    content = [(i, s) for i, s in enumerate(sentences) if s.body]
    if question and len(content) == 1 and len(_words(content[0][1].body)) <= SHORT_ANSWER_WORDS:
        index, sentence = content[0]
        text = f"Q: {' '.join(question.split())} A: {sentence.body}"
        return [Claim(text, sentence.body, index, sentence.citations, with_question=True)]
    claims = []
    for index, sentence in enumerate(sentences):
        for text in sentence.claims:
            claims.append(Claim(text, text, index, sentence.citations))
    return claims


# --- checking claims against passages ------------------------------------------------------------


@dataclass(slots=True)
class Support:
    """How well a set of passages supports one claim (the embedding checker fills in the
    parts of its score; the judge checker its verdict)."""

    score: float
    supported: bool
    passage: int | None = None  # 1-based index of the passage that matched best
    cosine: float | None = None
    novelty: float | None = None
    locality: float | None = None
    missing: list[str] = field(default_factory=list)
    negation_mismatch: bool = False
    verdict: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"support": round(self.score, 4), "supported": self.supported}
        if self.verdict:
            out["verdict"] = self.verdict
        if self.passage is not None:
            out["passage"] = self.passage
        for name in ("cosine", "novelty", "locality"):
            value = getattr(self, name)
            if value is not None:
                out[name] = round(value, 4)
        if self.missing:
            out["missing"] = self.missing
        if self.negation_mismatch:
            out["negation_mismatch"] = True
        return out


@dataclass(frozen=True, slots=True)
class _Check:
    claim: Claim
    passages: tuple[int, ...]  # 0-based indices into the case's passages


@dataclass(slots=True)
class _Usage:
    """What the judge calls of one scoring cost, and the first judge failure, if any."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    error: str | None = None


def passage_units(passage: str) -> list[tuple[str, bool]]:
    """What a claim is compared with, as ``(text, local)``: the passage's sentences, runs of two
    and three adjacent sentences (a pronoun's referent is usually in the sentence before) and
    40-word windows (stride 20) of sentences too long for one embedding (``local``: a claim's
    words should be found together in one of these), plus the whole passage when it is short
    enough to embed."""
    sentences = split_sentences(passage) or ([passage.strip()] if passage.strip() else [])
    units: list[tuple[str, bool]] = []
    for sentence in sentences:
        words = sentence.split()
        if len(words) <= 60:
            units.append((sentence, True))
        else:
            units.extend((" ".join(words[i : i + 40]), True) for i in range(0, len(words) - 20, 20))
    units.extend((f"{a} {b}", True) for a, b in itertools.pairwise(sentences))
    units.extend((" ".join(sentences[i : i + 3]), True) for i in range(len(sentences) - 2))
    if len(sentences) > 2 and len(passage.split()) <= 200:
        units.append((passage.strip(), False))
    return units or [(passage[:2000], True)]


class _Lexicon:
    """The folded words, stems and prefixes of some text, for grounding claim words."""

    def __init__(self, text: str) -> None:
        self.words: set[str] = set()
        self.stems: set[str] = set()
        self.prefixes: set[str] = set()
        self.numbers: set[str] = set()
        for raw in _words(text):
            word = _fold(raw)
            if not word:
                continue
            for piece in {word, *re.split(r"[-.']", word)}:
                if not piece:
                    continue
                self.words.add(piece)
                self.stems.add(_stem(piece))
                if len(piece) >= 6:
                    self.prefixes.add(piece[:6])
                if _is_number(piece):
                    self.numbers.add(_number_key(piece))
                if piece in _NUMBER_WORDS:
                    self.numbers.add(_NUMBER_WORDS[piece])

    def has(self, word: str) -> bool:
        if _is_number(word):
            key = _number_key(word)
            return key in self.numbers or _DIGIT_WORDS.get(key, "\0") in self.words
        if word in _NUMBER_WORDS:
            return _NUMBER_WORDS[word] in self.numbers or word in self.words
        if word in self.words or _stem(word) in self.stems:
            return True
        if len(word) >= 7 and word[:6] in self.prefixes:
            return True
        parts = [p for p in re.split(r"[-.']", word) if p]
        return len(parts) > 1 and all(self.has(p) for p in parts)


_NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|cannot|without)\b|n't\b", re.IGNORECASE)


def _terms(text: str) -> list[tuple[str, str, bool]]:
    """``(folded, raw, hard)`` for each content word. Hard terms are numbers, capitalised words
    not opening the text, acronyms and rare words (eight letters or more, not in a short list
    of common ones): those must occur in the passages."""
    out = []
    for position, raw in enumerate(_words(text)):
        word = _fold(raw)
        if not word or word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
            continue
        name = position > 0 and raw[:1].isupper()
        if word in _LIGHT and not name:
            continue
        number = _is_number(word)
        acronym = len(raw) >= 2 and raw.isupper()
        rare = len(word) >= 8 and word.isalpha() and word not in _COMMON_LONG
        out.append((word, raw, number or name or acronym or rare))
    return out


@dataclass(frozen=True, slots=True)
class _Grounding:
    missing: list[str]  # hard terms found neither in the passages nor in the question
    novelty: float  # share of the words the question does not contain that the passages do
    locality: float  # best share of the claim's words found together in one passage unit


def _grounding(text: str, passages: _Lexicon, question: _Lexicon, units: Sequence[_Lexicon]) -> _Grounding:
    terms = _terms(text)
    missing = [raw for word, raw, hard in terms if hard and not (passages.has(word) or question.has(word))]
    novel = [word for word, _, _ in terms if not question.has(word)]
    novelty = sum(passages.has(w) for w in novel) / len(novel) if novel else 1.0
    words = [word for word, _, _ in terms]
    locality = 1.0
    if words:
        locality = max((sum(u.has(w) for w in words) / len(words) for u in units), default=0.0)
    return _Grounding(list(dict.fromkeys(missing)), novelty, locality)


def _negated(text: str) -> bool:
    # A leading "No," answers a yes/no question; it does not negate what follows.
    return bool(_NEGATION.search(re.sub(r"^\W*no\b\W*", "", text, flags=re.IGNORECASE)))


class _Checker:
    """Checks claims against subsets of a case's passages with the configured method."""

    def __init__(
        self,
        context: ScoringContext,
        checker: Checker,
        support_threshold: float,
        judge_model: str | None,
    ) -> None:
        if checker not in _CHECKERS:
            raise ValueError(f"checker must be 'embedding' or 'judge', got {checker!r}")
        if not 0.0 <= support_threshold <= 1.0:
            raise ValueError(f"support_threshold must be in [0, 1], got {support_threshold}")
        self.context = context
        self.checker = checker
        self.support_threshold = support_threshold
        self.judge_model = judge_model
        if checker == "judge":
            context.spec(judge_model or context.judge_model)  # an unknown judge fails at build time
        # Passages repeat across models and repeats of a case: their units are embedded once.
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_size = 8192

    async def check(
        self, checks: Sequence[_Check], passages: list[str], question: str | None
    ) -> tuple[list[Support], _Usage]:
        if not checks:
            return [], _Usage()
        if self.checker == "embedding":
            return await self._embedding(checks, passages, question), _Usage()
        return await self._judge(checks, passages)

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        keys = [hashlib.sha1(t.encode("utf-8", "replace")).hexdigest() for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        by_key = dict(zip(keys, texts, strict=True))
        if todo:
            vectors = await self.context.embed([by_key[k] for k in todo])
            for key, vector in zip(todo, vectors, strict=True):
                self._vectors[key] = vector
                if len(self._vectors) > self._cache_size:
                    self._vectors.popitem(last=False)
        out = []
        for key in keys:
            cached = self._vectors.get(key)
            if cached is None:  # evicted by this very call (more texts than the cache holds)
                cached = (await self.context.embed([by_key[key]]))[0]
            out.append(cached)
        return out

    async def _embedding(
        self, checks: Sequence[_Check], passages: list[str], question: str | None
    ) -> list[Support]:
        needed = sorted({i for c in checks for i in c.passages})
        units = [(i, text, local) for i in needed for text, local in passage_units(passages[i])]
        claim_texts = []
        for check in checks:
            claim = check.claim
            # The question gives a bare answer its meaning; "Q:"/"A:" would only add noise.
            text = f"{question} {claim.answer_text}" if claim.with_question and question else claim.text
            claim_texts.append(text[:_MAX_CLAIM_CHARS])
        vectors = await self._embed(claim_texts + [text for _, text, _ in units])
        claim_vectors, unit_vectors = vectors[: len(checks)], vectors[len(checks) :]
        unit_lexicons = [_Lexicon(text) if local else None for _, text, local in units]
        question_lexicon = _Lexicon(question or "")
        passage_lexicons: dict[tuple[int, ...], _Lexicon] = {}
        results = []
        for check, vector in zip(checks, claim_vectors, strict=True):
            allowed = set(check.passages)
            best, best_unit = -1.0, -1
            for position, ((index, _, _), unit_vector) in enumerate(zip(units, unit_vectors, strict=True)):
                if index in allowed:
                    similarity = cosine(vector, unit_vector)
                    if similarity > best:
                        best, best_unit = similarity, position
            if check.passages not in passage_lexicons:
                passage_lexicons[check.passages] = _Lexicon(" ".join(passages[i] for i in check.passages))
            local = [
                lex
                for (index, _, _), lex in zip(units, unit_lexicons, strict=True)
                if lex and index in allowed
            ]
            answer = check.claim.answer_text[:_MAX_CLAIM_CHARS]
            ground = _grounding(answer, passage_lexicons[check.passages], question_lexicon, local)
            semantic = max(0.0, best)
            # The square root compresses the cosine (a question plus a bare answer rarely scores
            # above 0.6 against even its own source sentence) so that the lexical evidence
            # decides between on-topic claims, while an off-topic claim still cannot pass.
            score = 0.0 if ground.missing else math.sqrt(semantic) * ground.locality * ground.novelty
            # Embeddings barely register "not": a negated claim needs a negated passage.
            negation = _negated(answer) and best_unit >= 0 and not _NEGATION.search(units[best_unit][1])
            if negation:
                score *= 0.5
            results.append(
                Support(
                    score,
                    score >= self.support_threshold,
                    units[best_unit][0] + 1 if best_unit >= 0 else None,
                    cosine=semantic,
                    novelty=ground.novelty,
                    locality=ground.locality,
                    missing=ground.missing[:10],
                    negation_mismatch=negation,
                )
            )
        return results

    async def _judge(self, checks: Sequence[_Check], passages: list[str]) -> tuple[list[Support], _Usage]:
        # One judge call per distinct passage set, with all the claims checked against it.
        groups: dict[tuple[int, ...], list[int]] = {}
        for position, check in enumerate(checks):
            groups.setdefault(check.passages, []).append(position)
        results: list[Support | None] = [None] * len(checks)
        usage = _Usage()

        async def ask(passage_set: tuple[int, ...], positions: list[int]) -> None:
            claims = [checks[p].claim.text[:_MAX_CLAIM_CHARS] for p in positions]
            request = judge_request([(i + 1, passages[i]) for i in passage_set], claims)
            best = passage_set[0] + 1 if len(passage_set) == 1 else None
            try:
                call = await self.context.generate(request, model=self.judge_model)
            except BenchrouteError as exc:  # after the runner's retries: report it, do not crash
                usage.error = usage.error or f"{type(exc).__name__}: {exc}"
                for position in positions:
                    results[position] = Support(0.0, False, best, verdict="error")
                return
            usage.input_tokens += call.completion.usage.input_tokens
            usage.output_tokens += call.completion.usage.output_tokens
            usage.cost_usd += call.cost_usd
            verdicts = parse_verdicts(call.completion.text, len(claims))
            for position, verdict in zip(positions, verdicts, strict=True):
                supported = verdict == "yes"
                results[position] = Support(1.0 if supported else 0.0, supported, best, verdict=verdict)

        await asyncio.gather(*(ask(key, positions) for key, positions in groups.items()))
        return [r for r in results if r is not None], usage


def judge_request(passages: list[tuple[int, str]], claims: list[str]) -> CompletionRequest:
    """The judge prompt: numbered passages, numbered claims, one ``N: YES|NO`` line each."""
    shown = "\n\n".join(f"[{n}] {text.strip()[:_MAX_PASSAGE_PROMPT_CHARS]}" for n, text in passages)
    if len(claims) == 1:
        task = (
            f"Claim: {claims[0]}\n\n"
            "Do the passages support the claim? Answer YES if they state or clearly imply it, "
            "NO if they contradict it or do not mention it. Reply with one word: YES or NO."
        )
    else:
        numbered = "\n".join(f"{i}. {c}" for i, c in enumerate(claims, 1))
        example = "\n".join(f"{i}: YES" if i % 2 else f"{i}: NO" for i in range(1, min(len(claims), 2) + 1))
        task = (
            f"Claims:\n{numbered}\n\n"
            "For each claim, answer YES if the passages state or clearly imply it, NO if they "
            "contradict it or do not mention it. Reply with one line per claim, its number, a colon "
            f"and YES or NO, for example:\n{example}"
        )
    system = "You check claims against source passages. You judge only from the passages."
    return CompletionRequest(
        messages=[
            Message(role="system", content=system),
            Message(role="user", content=f"Passages:\n{shown}\n\n{task}"),
        ],
        temperature=0,
        max_tokens=8 * len(claims) + 16,
    )


_VERDICT_WORD = r"(not\s+supported|unsupported|supported|yes|no|true|false)"
_NUMBERED_VERDICT = re.compile(
    rf"^\W*(?:claim\s*)?(\d+)\s*[:.)\-–]?\s*[*_\"']*\s*(?:.*?\b)?{_VERDICT_WORD}\b", re.I | re.M
)
_ANY_VERDICT = re.compile(rf"\b{_VERDICT_WORD}\b", re.I)


def _verdict(word: str) -> str:
    word = " ".join(word.casefold().split())
    return "yes" if word in ("yes", "supported", "true") else "no"


# Small judges answer in prose ("The passage does not support the claim."): for a single claim
# the first verdict-bearing phrase decides, whichever form it takes.
_PROSE_NO = re.compile(
    r"\b(?:do|does|did|can|could)\s*(?:n't|not)\s+(?:\w+\s+){0,2}?"
    r"(?:support|state|mention|confirm|say|imply|contain|agree)"
    r"|\bno\s+(?:evidence|support|mention|information)\b|\bcontradicts?\b|\bis\s+(?:false|incorrect|wrong)\b",
    re.IGNORECASE,
)
_PROSE_YES = re.compile(
    r"\b(?:do|does|did)\s+(?:\w+\s+)?(?:support|state|confirm|imply)\b|\bsupports?\s+the\s+claim\b"
    r"|\b(?:is|are)\s+(?:supported|correct|true|accurate)\b|\bconfirms?\b",
    re.IGNORECASE,
)


def parse_verdicts(text: str, count: int) -> list[str]:
    """``yes``/``no``/``unparsed`` for each of ``count`` claims from a judge's reply."""
    verdicts = ["unparsed"] * count
    found = False
    for match in _NUMBERED_VERDICT.finditer(text):
        number = int(match.group(1))
        if 1 <= number <= count and verdicts[number - 1] == "unparsed":
            verdicts[number - 1] = _verdict(match.group(2))
            found = True
    if found:
        return verdicts
    if count == 1:
        candidates: list[tuple[int, str]] = []
        word = _ANY_VERDICT.search(text)
        if word is not None:
            candidates.append((word.start(), _verdict(word.group(1))))
        for pattern, verdict in ((_PROSE_NO, "no"), (_PROSE_YES, "yes")):
            phrase = pattern.search(text)
            if phrase is not None:
                candidates.append((phrase.start(), verdict))
        return [min(candidates)[1]] if candidates else verdicts
    words = [_verdict(m.group(1)) for m in _ANY_VERDICT.finditer(text)]
    if len(words) == count:  # bare "YES\nNO\nYES", in order
        return words
    return verdicts


# --- scorers ---------------------------------------------------------------------------------


def question_of(case: Case) -> str | None:
    """The user's question: the case input, or the last user message of a conversation."""
    if case.input and case.input.strip():
        return case.input
    for message in reversed(case.messages or []):
        if message.role == "user" and message.text().strip():
            return message.text()
    return None


def _passages(case: Case) -> list[str] | None:
    passages = [str(p) for p in case.passages or []]
    return passages if any(p.strip() for p in passages) else None


def _score(
    name: str, value: float, threshold: float, reason: str, details: dict[str, Any], usage: _Usage
) -> Score:
    if usage.error is not None:
        value, reason = 0.0, f"judge failed: {usage.error}"
    return Score(
        value,
        usage.error is None and threshold_passed(value, threshold),
        reason,
        name,
        usage.input_tokens,
        usage.output_tokens,
        usage.cost_usd,
        details,
    )


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def factuality(
    *,
    checker: Checker = "embedding",
    support_threshold: float = DEFAULT_SUPPORT_THRESHOLD,
    judge_model: str | None = None,
    context: ScoringContext,
    threshold: float = 0.5,
) -> Scorer:
    """The share of the answer's claims that the case's passages support.

    ``checker: embedding`` (the default) checks locally with embeddings and lexical grounding,
    a claim passing at ``support_threshold``; ``checker: judge`` asks the judge model
    (``judge_model``, else the suite's or project's judge, else the embedded SmolLM2) YES or NO
    per claim. A short answer is checked together with the question ("Q: ... A: ...").
    """
    engine = _Checker(context, checker, support_threshold, judge_model)

    async def score(completion: Completion, case: Case) -> Score:
        passages = _passages(case)
        if passages is None:
            return Score(0.0, False, "the case has no passages to check the answer against", "factuality")
        if not completion.text.strip():
            return Score(0.0, False, "empty output", "factuality", details={"claims": []})
        question = question_of(case)
        claims = split_claims(completion.text, question)
        if not claims:
            # Nothing verifiable ("I don't know", pleasantries only) is not evidence of
            # factuality; scoring it 1 would reward answers that dodge the question.
            empty: dict[str, Any] = {"checker": checker, "supported": 0, "total": 0, "claims": []}
            return Score(0.0, False, "no checkable claims in the answer", "factuality", details=empty)
        unchecked = max(0, len(claims) - MAX_CLAIMS)
        claims = claims[:MAX_CLAIMS]
        every = tuple(range(len(passages)))
        supports, usage = await engine.check([_Check(c, every) for c in claims], passages, question)
        supported = sum(s.supported for s in supports)
        value = supported / len(claims)
        details: dict[str, Any] = {
            "checker": checker,
            "supported": supported,
            "total": len(claims),
            "claims": [
                {"claim": _clip(c.text), **s.to_json()} for c, s in zip(claims, supports, strict=True)
            ],
        }
        if checker == "embedding":
            details["support_threshold"] = support_threshold
        if unchecked:
            details["unchecked_claims"] = unchecked
        reason = f"{supported}/{len(claims)} claims supported by the passages"
        unsupported = [c for c, s in zip(claims, supports, strict=True) if not s.supported]
        if unsupported:
            reason += f"; unsupported: {_clip(unsupported[0].text, 80)!r}"
        return _score("factuality", value, threshold, reason, details, usage)

    return score


@dataclass(slots=True)
class _CitationAudit:
    """Citation checks of one answer, shared by precision and recall."""

    sentences: list[dict[str, Any]] = field(default_factory=list)
    correct: int = 0  # citations whose passage supports a claim of their sentence
    total: int = 0  # all citations, out-of-range ones included
    covered: int = 0  # claim-bearing sentences whose claims the cited passages all support
    claim_sentences: int = 0
    usage: _Usage = field(default_factory=_Usage)


async def _audit_citations(engine: _Checker, answer: str, case: Case, passages: list[str]) -> _CitationAudit:
    question = question_of(case)
    sentences = _analyse(answer)
    claims_of: list[list[Claim]] = [[] for _ in sentences]
    for claim in split_claims(answer, question):  # a short answer's one claim is "Q: ... A: ..."
        claims_of[claim.sentence].append(claim)
    bearing = [bool(claims) for claims in claims_of]
    for index, sentence in enumerate(sentences):
        if not claims_of[index] and sentence.citations and sentence.text:
            # A cited sentence is checked even if it says little: its citation is judged too.
            claims_of[index] = [Claim(sentence.text, sentence.text, index, sentence.citations)]
    # One check per (claim, cited passage): "[2]" is judged on passage 2 alone.
    checks: list[_Check] = []
    keys: list[tuple[int, int, int]] = []  # (sentence, claim, passage)
    for index, sentence in enumerate(sentences):
        for number in sentence.citations:
            if 1 <= number <= len(passages):
                for k, claim in enumerate(claims_of[index]):
                    checks.append(_Check(claim, (number - 1,)))
                    keys.append((index, k, number - 1))
    # A pathological reply (thousands of cited sentences) is checked on its first ones; the
    # rest count as unsupported.
    checks, keys = checks[: MAX_CLAIMS * 4], keys[: MAX_CLAIMS * 4]
    supports, usage = await engine.check(checks, passages, question)
    supported = {key for key, support in zip(keys, supports, strict=True) if support.supported}
    audit = _CitationAudit(usage=usage)
    for index, sentence in enumerate(sentences):
        claims = claims_of[index]
        verdicts: dict[str, str] = {}
        for number in sentence.citations:
            audit.total += 1
            if not 1 <= number <= len(passages):
                verdicts[str(number)] = "out of range"
                continue
            ok = any((index, k, number - 1) in supported for k in range(len(claims)))
            audit.correct += ok
            verdicts[str(number)] = "supports" if ok else "does not support"
        record: dict[str, Any] = {"sentence": _clip(sentence.text), "citations": list(sentence.citations)}
        if sentence.citations:
            record["verdicts"] = verdicts
        if bearing[index]:
            audit.claim_sentences += 1
            cited = [n - 1 for n in sentence.citations if 1 <= n <= len(passages)]
            covered = bool(cited) and all(
                any((index, k, p) in supported for p in cited) for k in range(len(claims))
            )
            audit.covered += covered
            record["covered"] = covered
        if bearing[index] or sentence.citations:
            audit.sentences.append(record)
    return audit


def citation_precision(
    *,
    checker: Checker = "embedding",
    support_threshold: float = DEFAULT_SUPPORT_THRESHOLD,
    judge_model: str | None = None,
    context: ScoringContext,
    threshold: float = 0.5,
) -> Scorer:
    """The share of citations ``[n]`` whose passage supports a claim of the sentence they are
    attached to. A number outside the case's passages counts as wrong; an answer without any
    citation scores 0 ("no citations"). ``checker`` and ``support_threshold`` work as in
    ``factuality``."""
    engine = _Checker(context, checker, support_threshold, judge_model)

    async def score(completion: Completion, case: Case) -> Score:
        passages = _passages(case)
        if passages is None:
            return Score(0.0, False, "the case has no passages to cite", "citation_precision")
        audit = await _audit_citations(engine, completion.text, case, passages)
        if audit.total == 0:
            details = {"citations": 0, "sentences": audit.sentences}
            return Score(0.0, False, "no citations", "citation_precision", details=details)
        value = audit.correct / audit.total
        details = {"citations": audit.total, "correct": audit.correct, "sentences": audit.sentences}
        reason = f"{audit.correct}/{audit.total} citations point to a passage that supports their sentence"
        return _score("citation_precision", value, threshold, reason, details, audit.usage)

    return score


def citation_recall(
    *,
    checker: Checker = "embedding",
    support_threshold: float = DEFAULT_SUPPORT_THRESHOLD,
    judge_model: str | None = None,
    context: ScoringContext,
    threshold: float = 0.5,
) -> Scorer:
    """The share of claim-bearing sentences whose claims are each supported by a passage the
    sentence cites (a sentence without citations is not covered). ``checker`` and
    ``support_threshold`` work as in ``factuality``."""
    engine = _Checker(context, checker, support_threshold, judge_model)

    async def score(completion: Completion, case: Case) -> Score:
        passages = _passages(case)
        if passages is None:
            return Score(0.0, False, "the case has no passages to cite", "citation_recall")
        audit = await _audit_citations(engine, completion.text, case, passages)
        if audit.claim_sentences == 0:
            details = {"claim_sentences": 0, "citations": audit.total, "sentences": audit.sentences}
            return Score(0.0, False, "no claim-bearing sentences", "citation_recall", details=details)
        value = audit.covered / audit.claim_sentences
        details = {
            "claim_sentences": audit.claim_sentences,
            "covered": audit.covered,
            "citations": audit.total,
            "sentences": audit.sentences,
        }
        reason = f"{audit.covered}/{audit.claim_sentences} claim-bearing sentences backed by their citations"
        return _score("citation_recall", value, threshold, reason, details, audit.usage)

    return score


def answer_relevance(*, context: ScoringContext, threshold: float = 0.5) -> Scorer:
    """Cosine similarity of the question (the case input, or the last user message) and the
    answer, embedded with the context's embedding model, clipped to [0, 1]."""

    async def score(completion: Completion, case: Case) -> Score:
        question = question_of(case)
        if question is None:
            return Score(0.0, False, "the case has no input (question) to compare with", "answer_relevance")
        answer = completion.text.strip()
        if not answer:
            return Score(0.0, False, "empty output", "answer_relevance")
        # The embedding model reads only the first few hundred tokens anyway; clipping keeps a
        # 1 MB reply from costing a 1 MB tokenisation.
        vectors = await context.embed([question[:_MAX_EMBED_CHARS], answer[:_MAX_EMBED_CHARS]])
        similarity = cosine(vectors[0], vectors[1])
        value = min(1.0, max(0.0, similarity)) if math.isfinite(similarity) else 0.0
        return Score(
            value,
            threshold_passed(value, threshold),
            f"question/answer cosine {similarity:.3f}",
            "answer_relevance",
            details={"cosine": round(similarity, 4)},
        )

    return score
