"""Support checking: whether a set of passages supports each of an answer's claims
(:mod:`._claims`), for the RAG scorers (:mod:`._rag`).

Design
------
A claim is *checked* against passages by one of these checkers:

- ``lexical`` (local, no model, no optional dependency): lexical and numeric entailment
  (:mod:`._entailment`). Each passage is cut into windows of one to three adjacent sentences.
  A claim's support is its content-word coverage (60% the best window, 40% the whole passage
  set), and 0 when a hard term (a number, a date, a name, an acronym, a file or flag) is in no
  passage. A negated claim against a window that denies nothing is halved. A clause split from
  a longer sentence is also supported when the whole sentence is and the clause itself is at
  least half covered (an invented clause brings its own words).
- ``embedding``: the same, plus sentence embeddings (``context.embed``: all-MiniLM-L6-v2 from
  the ``embeddings`` extra, or the project's embedding endpoint) as a secondary signal. The
  best cosine between the claim and a window lifts the coverage (from cosine 0.55, by up to
  0.6 at cosine 1), which recognises paraphrases outside the synonym groups. It never
  overrides a missing hard term: embeddings put an on-topic invention next to the truth.
- ``auto`` (the default): ``embedding`` when embeddings are available, else ``lexical``, so a
  suite runs without the extra. The details name the checker that ran.

A claim is supported when its support reaches ``support_threshold`` (by default
:data:`~._rag.DEFAULT_SUPPORT_THRESHOLD`, chosen on the tuning split of
``benchmarks/data/rag_labelled.jsonl``; ``benchmarks/rag_agreement.py`` reports agreement
with its labels, held-out splits apart).
- ``judge`` asks the judge model, in one prompt per passage set, about all the numbered claims;
  it answers ``N: YES`` or ``N: NO``. Replies are parsed leniently (numbered lines in any
  punctuation, ``SUPPORTED``/``NOT SUPPORTED``, a bare YES/NO for one claim, or exactly one
  bare verdict per claim in order). Judge tokens and cost go into the Score. A judge call that
  fails (after the runner's retries), or a reply that does not rule on every claim, raises
  :class:`~._context.JudgeFailed` carrying what the judgement spent: the run records a scorer
  error, never an "unsupported" the judge did not say, as in the judge scorers.

A one-sentence answer to a question is held to more (it is the answer, and one verdict): what it
adds to the question must be stated in one window (at least 80% of those words), its claims
need support 0.9, and the relational checks of :mod:`._relations` run on it (a choice between
named options, a yes/no about two names, a *who*/*when* question answered without a name or a
number). Longer answers are checked as above.

Limits, by design: the local checkers cannot see most relations between words that are all
grounded ("A is larger than B" against a passage saying the opposite), nor most yes/no answers;
the judge checker can, as well as the judge model can. No offline NLI model is offered: none
of the NLI packages on PyPI that were checked ships its weights in the wheel (they fetch them
from a model hub at run time), and this package must work offline.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._errors import BenchrouteError
from ..types import CompletionRequest, Message
from ._claims import Claim, split_sentences
from ._context import JudgeFailed, ScoringContext, add_cost
from ._embeddings import cosine, embeddings_available
from ._entailment import Lexicon, anchored_share, denies, entail, negated, novel_share, windows_of

Checker = Literal["auto", "lexical", "embedding", "judge"]
_CHECKERS = ("auto", "lexical", "embedding", "judge")

# How much of a claim, and of each passage, is embedded or shown to the judge.
_MAX_CLAIM_CHARS = 600
_MAX_PASSAGE_PROMPT_CHARS = 6000
_MAX_PASSAGE_CHARS = 50_000
_MAX_EMBED_CHARS = 2000
# The embedding signal: a window whose cosine with the claim reaches _COSINE_FLOOR starts to
# lift the claim's lexical coverage, by up to _COSINE_LIFT at cosine 1. It only ever lifts, and
# never past a missing hard term: embeddings rank an on-topic invention close to the truth.
_COSINE_FLOOR = 0.55
_COSINE_LIFT = 0.6
# The least share of what a one-sentence answer adds to the question that one window must state
# (on HaluEval pairs outside the benchmark sample: 0.8 and 1.0 win alike; 0.8 lets a paraphrase
# keep one word of five that no window has). Letting a high cosine excuse one such word instead
# cost 11 to 20 of the 300 calibration pairs: the hallucinations mostly differ by one word.
_ADDED_COVERAGE = 0.8
# The support a claim of a one-sentence answer to a question needs. On the 300 HaluEval pairs
# outside the benchmark sample: 0.55 (the general default) 212 wins, 0.7 213, 0.8 219, 0.9 220,
# 0.95 222, 0.99 224; 0.9 leaves paraphrases the embedding lift's room at little cost.
_ONE_SENTENCE_THRESHOLD = 0.9
# The least coverage a clause needs to be supported through its whole sentence.
_LEANING_COVERAGE = 0.5

# --- checking claims against passages ------------------------------------------------------------


@dataclass(slots=True)
class Support:
    """How well a set of passages supports one claim (the local checkers fill in the parts of
    its score; the judge checker its verdict)."""

    score: float
    supported: bool
    passage: int | None = None  # 1-based index of the passage that matched best
    cosine: float | None = None
    coverage: float | None = None
    window: float | None = None
    missing: list[str] = field(default_factory=list)
    negation_mismatch: bool = False
    leaning: bool = False  # supported through its whole sentence
    verdict: str = ""
    novel: float | None = None
    relation: str = ""  # why a relational check (:mod:`._relations`) found the answer contradicted

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"support": round(self.score, 4), "supported": self.supported}
        if self.verdict:
            out["verdict"] = self.verdict
        if self.passage is not None:
            out["passage"] = self.passage
        for name in ("coverage", "window", "cosine", "novel"):
            value = getattr(self, name)
            if value is not None:
                out[name] = round(value, 4)
        if self.missing:
            out["missing"] = self.missing
        if self.negation_mismatch:
            out["negation_mismatch"] = True
        if self.leaning:
            out["with_sentence"] = True
        if self.relation:
            out["relation"] = self.relation
        return out


@dataclass(frozen=True, slots=True)
class _Check:
    claim: Claim
    passages: tuple[int, ...]  # 0-based indices into the case's passages
    # What the claim adds to the question must be in one window: set for a one-sentence answer.
    added_in_window: bool = False


@dataclass(slots=True)
class _Usage:
    """What the judge calls of one scoring cost, and the first judge failure, if any."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0  # None: the judge is unpriced, so the total is unknown
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Window:
    passage: int  # 0-based
    text: str
    lexicon: Lexicon
    negated: bool


def embedding_lift(cosine_value: float) -> float:
    """What a window's cosine with a claim adds to the claim's lexical coverage."""
    return max(0.0, cosine_value - _COSINE_FLOOR) / (1.0 - _COSINE_FLOOR) * _COSINE_LIFT


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
            raise ValueError(f"checker must be one of {', '.join(_CHECKERS)}; got {checker!r}")
        if not 0.0 <= support_threshold <= 1.0:
            raise ValueError(f"support_threshold must be in [0, 1], got {support_threshold}")
        self.context = context
        self.support_threshold = support_threshold
        self.judge_model = judge_model
        if checker == "judge":
            context.use_judge(judge_model)  # an unknown judge fails at build time
        if checker == "auto":
            checker = "embedding" if embeddings_available(context) else "lexical"
        elif checker == "embedding" and not embeddings_available(context):
            raise ValueError(
                "checker 'embedding' needs the embeddings extra (pip install 'benchroute[embeddings]') "
                "or an embedding_model endpoint; checker 'lexical' needs neither"
            )
        self.checker: Checker = checker
        # Passages repeat across models and repeats of a case: their windows are embedded once.
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_size = 8192

    async def check(
        self, checks: Sequence[_Check], passages: list[str], question: str | None
    ) -> tuple[list[Support], _Usage]:
        if not checks:
            return [], _Usage()
        if self.checker == "judge":
            return await self._judge(checks, passages)
        return await self._local(checks, passages, question), _Usage()

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

    async def _local(
        self, checks: Sequence[_Check], passages: list[str], question: str | None
    ) -> list[Support]:
        needed = sorted({i for c in checks for i in c.passages})
        windows = [
            _Window(i, text, Lexicon(text), denies(text))
            for i in needed
            for text in windows_of(split_sentences(passages[i][:_MAX_PASSAGE_CHARS]))
        ]
        # What is compared: each claim, and the whole sentence of a claim split from one.
        texts: list[str] = []
        for check in checks:
            claim = check.claim
            texts.append(claim.answer_text[:_MAX_CLAIM_CHARS])
            texts.append(claim.sentence_text[:_MAX_CLAIM_CHARS])
        vectors: dict[str, list[float]] = {}
        if self.checker == "embedding":
            embedded = []
            for check in checks:
                claim = check.claim
                # The question gives a bare answer its meaning; "Q:"/"A:" would only add noise.
                text = f"{question} {claim.answer_text}" if claim.with_question and question else claim.text
                embedded.append(text[:_MAX_CLAIM_CHARS])
            embedded.extend(c.claim.sentence_text[:_MAX_CLAIM_CHARS] for c in checks if c.claim.sentence_text)
            embedded.extend(w.text[:_MAX_EMBED_CHARS] for w in windows)
            unique = list(dict.fromkeys(embedded))
            vectors = dict(zip(unique, await self._embed(unique), strict=True))
            for position in range(len(checks)):  # each claim's key: what was embedded for it
                vectors[f"\0{position}"] = vectors[embedded[position]]
        question_lexicon = Lexicon(question or "")
        passage_lexicons: dict[tuple[int, ...], Lexicon] = {}

        def judge(
            text: str, key: str, allowed: tuple[int, ...], short: bool = False, added: bool = False
        ) -> Support:
            local = [k for k, w in enumerate(windows) if w.passage in allowed]
            if allowed not in passage_lexicons:
                passage_lexicons[allowed] = Lexicon(" ".join(passages[i] for i in allowed))
            window_lexicons = [windows[k].lexicon for k in local]
            found = entail(text, passage_lexicons[allowed], window_lexicons, question_lexicon)
            best = local[found.best_window] if found.best_window >= 0 else (local[0] if local else -1)
            score = found.coverage
            if short and question:
                # A bare answer ("Delhi") is supported where the passage says it together with
                # what the question asks about: a distractor from elsewhere in the passage has
                # every word grounded too, but not next to the question's words.
                anchored, anchor = anchored_share(text, question, window_lexicons)
                if anchor >= 0:
                    best = local[anchor]
                score = min(score, anchored)
            similarity: float | None = None
            if vectors and local:
                vector = vectors[key]
                sims = [cosine(vector, vectors[windows[k].text[:_MAX_EMBED_CHARS]]) for k in local]
                top = max(range(len(sims)), key=sims.__getitem__)
                similarity = sims[top]
                score = min(1.0, score + embedding_lift(similarity))
                if found.best_window < 0 or sims[top] > sims[found.best_window] + 0.1:
                    best = local[top]
            # What a one-sentence answer adds to the question ("worked on a top-secret mission")
            # is its answer: embeddings and the question's words must not lift it past what one
            # window states of it.
            novel, new_words = novel_share(text, question_lexicon if question else None, window_lexicons)
            if added and new_words and novel < _ADDED_COVERAGE:
                score = 0.0
            if found.missing:
                score = 0.0
            # A negated claim against a window that never says "not" is more often a
            # contradiction than a paraphrase.
            negation = negated(text, strict=False) and best >= 0 and not windows[best].negated
            if negation:
                score *= 0.5
            # A one-sentence answer is a single verdict, and HaluEval-style distractors score
            # just under full support: it needs more than a claim of a longer answer.
            bar = max(self.support_threshold, _ONE_SENTENCE_THRESHOLD) if added else self.support_threshold
            return Support(
                score,
                score >= bar,
                windows[best].passage + 1 if best >= 0 else None,
                cosine=similarity,
                coverage=found.coverage,
                window=found.window,
                missing=list(found.missing[:10]),
                negation_mismatch=negation,
                novel=novel,
            )

        results = []
        for position, check in enumerate(checks):
            claim = check.claim
            support = judge(
                texts[2 * position],
                f"\0{position}",
                check.passages,
                claim.with_question,
                check.added_in_window,
            )
            if not support.supported and claim.sentence_text and not support.missing:
                # A clause that leans on its sentence ("... and these win over both files") is
                # supported when the whole sentence is and the clause is at least half covered:
                # an invented clause brings its own words, and fails the half.
                whole = judge(
                    claim.sentence_text[:_MAX_CLAIM_CHARS],
                    claim.sentence_text[:_MAX_CLAIM_CHARS],
                    check.passages,
                )
                if whole.supported and (support.coverage or 0.0) >= _LEANING_COVERAGE:
                    support.score, support.supported, support.leaning = whole.score, True, True
            results.append(support)
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
            usage.cost_usd = add_cost(usage.cost_usd, call.cost_usd)  # None: unpriced judge
            verdicts = parse_verdicts(call.completion.text, len(claims))
            missing = [str(n) for n, verdict in enumerate(verdicts, 1) if verdict == "unparsed"]
            if missing:  # a claim the judge did not rule on has no verdict, not a NO
                shown = " ".join(call.completion.text.split())[:80]
                usage.error = usage.error or (
                    f"no verdict for claim {', '.join(missing)} of {len(claims)} in the judge's "
                    f"reply {shown!r}"
                )
            for position, verdict in zip(positions, verdicts, strict=True):
                supported = verdict == "yes"
                results[position] = Support(1.0 if supported else 0.0, supported, best, verdict=verdict)

        await asyncio.gather(*(ask(key, positions) for key, positions in groups.items()))
        if usage.error is not None:  # a scorer error carrying the spend, never an "unsupported"
            raise JudgeFailed(
                f"judge failed: {usage.error}",
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cost_usd=usage.cost_usd,
            )
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
