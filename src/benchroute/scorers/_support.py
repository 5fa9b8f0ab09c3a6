"""Support checking: whether a set of passages supports each of an answer's claims
(:mod:`._claims`), for the RAG scorers (:mod:`._rag`).

Design
------
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
  ``support_threshold`` (by default :data:`~._rag.DEFAULT_SUPPORT_THRESHOLD`, 0.58, calibrated
  on 300 HaluEval QA pairs outside the 200-pair sample of ``benchmarks/halueval_factuality.py``).
- ``judge`` asks the judge model, in one prompt per passage set, about all the numbered claims;
  it answers ``N: YES`` or ``N: NO``. Replies are parsed leniently (numbered lines in any
  punctuation, ``SUPPORTED``/``NOT SUPPORTED``, a bare YES/NO for one claim, or exactly one
  bare verdict per claim in order); a claim the reply does not rule on counts as unsupported
  (verdict ``unparsed``). Judge tokens and cost go into the Score. A judge call that fails
  (after the runner's retries) gives value 0 with the error in the reason, as in the judge
  scorers.

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
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._errors import BenchrouteError
from ..providers._types import CompletionRequest, Message
from ._claims import STOPWORDS, Claim, _fold, _word_set, _words, split_sentences
from ._context import ScoringContext
from ._embeddings import cosine

Checker = Literal["embedding", "judge"]
_CHECKERS = ("embedding", "judge")

# How much of a claim, and of each passage, is embedded or shown to the judge.
_MAX_CLAIM_CHARS = 600
_MAX_PASSAGE_PROMPT_CHARS = 6000

# --- words that ground a claim ------------------------------------------------------------

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
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "twenty": "20", "hundred": "100", "thousand": "1000", "million": "1000000",
}  # fmt: skip
_DIGIT_WORDS = {v: k for k, v in _NUMBER_WORDS.items()}

_NUMBER = re.compile(r"^\d[\d,.]*(?:st|nd|rd|th|s)?$")


def _stem(word: str) -> str:
    """A crude suffix stripper: enough to match "films"/"film" and "founded"/"founder"."""
    for suffix in ("ies", "ing", "ed", "es", "er", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _is_number(word: str) -> bool:
    return bool(_NUMBER.match(word))


def _number_key(word: str) -> str:
    digits = re.sub(r"(st|nd|rd|th|s)$", "", word.replace(",", ""))
    return digits.rstrip(".")


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
