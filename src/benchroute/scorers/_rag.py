"""RAG scorers: factuality against the retrieved passages, citation precision and recall, and
answer relevance.

Design
------
Every scorer here except answer relevance works on *claims*, not on the raw answer: the answer
goes through a small text pipeline (:mod:`._claims`: sentences, atomic claims, a short answer
checked together with its question), and each claim is checked against passages by the
``lexical``, ``embedding`` or ``judge`` checker (:mod:`._support`, :mod:`._entailment`). Their
design notes live with them.

Citation scorers reuse the same claims and checkers with the passages restricted to the ones a
sentence cites, and follow ALCE: a citation ``[n]`` is *correct* when passage ``n`` supports at
least one claim of its sentence (an out-of-range ``n`` is wrong), and a sentence is *covered*
when each of its claims is supported by one of the passages it cites.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..config import Case
from ..types import Completion
from ._base import Score, Scorer, declare, threshold_passed
from ._claims import Claim, _analyse, split_claims, split_sentences
from ._context import ScoringContext
from ._embeddings import cosine
from ._relations import check_relations
from ._support import _MAX_PASSAGE_CHARS, Checker, _Check, _Checker, _Usage
from ._util import clip

# Chosen on the tuning split of benchmarks/data/rag_labelled.jsonl: agreement with the labels is
# flat from 0.45 to 0.65 with embeddings, and the lexical checker (no embeddings) holds up to
# about 0.6; 0.55 sits inside both plateaus.
DEFAULT_SUPPORT_THRESHOLD = 0.55
# A pathological reply (a 1 MB dump) must not turn into thousands of embedding or judge calls.
MAX_CLAIMS = 64
_MAX_EMBED_CHARS = 4000


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
    # A judge failure never reaches here: the judge checker raises JudgeFailed.
    return Score(
        value,
        threshold_passed(value, threshold),
        reason,
        name,
        usage.input_tokens,
        usage.output_tokens,
        usage.cost_usd,
        details,
    )


def factuality(
    *,
    checker: Checker = "auto",
    support_threshold: float = DEFAULT_SUPPORT_THRESHOLD,
    judge_model: str | None = None,
    context: ScoringContext,
    threshold: float = 0.5,
) -> Scorer:
    """The share of the answer's claims that the case's passages support.

    ``checker: auto`` (the default) checks locally: lexical and numeric entailment, with
    sentence embeddings as a second signal when the ``embeddings`` extra (or an
    ``embedding_model`` endpoint) is there (``embedding``), without them otherwise
    (``lexical``); a claim passes at ``support_threshold``. ``checker: judge`` asks the judge model
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
            empty: dict[str, Any] = {"checker": engine.checker, "supported": 0, "total": 0, "claims": []}
            return Score(0.0, False, "no checkable claims in the answer", "factuality", details=empty)
        unchecked = max(0, len(claims) - MAX_CLAIMS)
        claims = claims[:MAX_CLAIMS]
        every = tuple(range(len(passages)))
        # A one-sentence answer to a question is the answer itself: what it adds to the question
        # must be stated in the passages, and its relation to them is checked.
        one_sentence = question is not None and len({c.sentence for c in claims}) == 1
        checks = [_Check(c, every, added_in_window=one_sentence) for c in claims]
        supports, usage = await engine.check(checks, passages, question)
        if one_sentence and engine.checker != "judge":
            sentences = [s for p in passages for s in split_sentences(p[:_MAX_PASSAGE_CHARS])]
            verdict = check_relations(completion.text, question, sentences)
            if verdict is not None and not verdict.supported:
                for support in supports:
                    support.score, support.supported, support.relation = 0.0, False, verdict.reason
        supported = sum(s.supported for s in supports)
        value = supported / len(claims)
        details: dict[str, Any] = {
            "checker": engine.checker,
            "supported": supported,
            "total": len(claims),
            "claims": [
                {"claim": clip(c.text, 200), **s.to_json()} for c, s in zip(claims, supports, strict=True)
            ],
        }
        if engine.checker != "judge":
            details["support_threshold"] = support_threshold
        if unchecked:
            details["unchecked_claims"] = unchecked
        reason = f"{supported}/{len(claims)} claims supported by the passages"
        unsupported = [c for c, s in zip(claims, supports, strict=True) if not s.supported]
        if unsupported:
            reason += f"; unsupported: {clip(unsupported[0].text, 80)!r}"
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
        record: dict[str, Any] = {"sentence": clip(sentence.text, 200), "citations": list(sentence.citations)}
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
    checker: Checker = "auto",
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
    checker: Checker = "auto",
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


@declare(embeddings=True)
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
