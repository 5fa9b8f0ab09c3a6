"""LLM-as-judge scorers: ``rubric`` (G-Eval style, one answer against criteria) and
``pairwise`` (the answer against a baseline answer).

Design
------
* **Only through the context.** Every judge request is a :class:`CompletionRequest` sent with
  :meth:`ScoringContext.generate`, so in a run it shares the runner's rate limits, retries and
  cost accounting, and in tests it reaches whatever model the context names (the fake server,
  or the embedded SmolLM2 by default). The tokens and cost of every judge call, including the
  calls of a judgement that failed part-way, are summed into the returned :class:`Score`.
* **Judges answer in prose; parsing is deliberately forgiving but never guesses.** Small and
  large models alike wrap their verdict in markdown, JSON, "I'd rate this a 4 out of 5" or a
  bare digit. :func:`parse_score` tries, in order: a JSON object with a ``score`` key, an
  explicit "score"/"rating" mention (a "final score" beats one at the start of a line, which
  beats one inside a sentence; the last of equals wins, since judges reason first and
  conclude last), ``N/scale`` or ``N out of scale``, "rate/give it a N", a bold ``**N**``,
  and finally a reply that *starts* with a number. A number elsewhere in the text ("the
  answer lists 3 cities") is never taken as a score, and an explicit score outside
  1..scale makes the sample invalid rather than falling through to some other number.
  :func:`parse_verdict` does the same for "A" / "B" / "tie" (JSON, MT-Bench's ``[[A]]``,
  "Verdict: B", "Answer A is better", tie wording, a bare letter). Bare letters must be
  upper case, so the article in "a tie" is never read as answer A.
* **Repeated judging makes a noisy judge visible.** ``samples: n`` asks the judge n times
  (concurrently; temperature 0.7 unless set, so the samples can differ, and a distinct
  ``seed`` per sample so a response cache cannot collapse them into one answer and a local
  model's samples are reproducible). The value is the mean of the valid samples; the details
  carry the spread (population standard deviation of the normalised scores), the agreement
  (share of valid samples equal to the modal score) and the number of invalid samples. When
  agreement < ``min_agreement`` or more than half of the samples are invalid, the judge is
  unreliable: ``details["reliable"]`` is false and the reason starts with
  ``"unreliable judge:"``. Unreliability does not change ``passed`` (that stays
  value >= threshold): a judge's noise is reported, not silently turned into a failure.
* **Pairwise judging cancels position bias.** Each sample asks twice, with the output as
  answer A and then as answer B. The value is the output's share of wins over all valid
  judgements (a tie counts 0.5). A judge that picks the same *position* in both orders
  contradicts itself; when that happens in most sample pairs it is flagged
  ``position_biased`` (and unreliable) and its wins and losses cancel to 0.5.
* **A failing judge is an error, never a verdict.** A :class:`BenchrouteError` from a judge
  call (a :class:`ProviderError` after the runner's retries, or a missing llama.cpp) raises
  :class:`JudgeFailed` carrying the tokens and cost already spent, so the run records a
  scorer error instead of a 0 the judge never gave. So do replies none of which holds a
  usable score (``rubric``) or verdict (``pairwise``): when some do, those are used and the
  rest counted invalid. An undefined judge model is a
  :class:`ConfigError` when the scorer is built, before any request.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from .._errors import BenchrouteError
from ..config import Case
from ..types import Completion, CompletionRequest, Message
from ._base import Score, Scorer, threshold_passed
from ._context import JudgeFailed, ModelCall, ScoringContext, add_cost
from ._util import clip

Verdict = Literal["A", "B", "tie"]

# Room for the one sentence of justification the prompts ask for, plus the verdict line; a
# judge that rambles past this is cut off and its sample usually parses as invalid.
RUBRIC_MAX_TOKENS = 200
PAIRWISE_MAX_TOKENS = 200
# Sampling temperature when the judge is asked several times: repeated samples at 0 would be
# identical (the embedded model is deterministic there) and agreement would mean nothing.
REPEATED_TEMPERATURE = 0.7
_CLIP = 200

_RUBRIC_SYSTEM = (
    "You are a strict, fair evaluator. You grade one answer against the given criteria and "
    "reply in exactly the requested format."
)
_PAIRWISE_SYSTEM = (
    "You are an impartial judge comparing two answers to the same input. The order in which "
    "the answers are shown and their length must not influence your verdict."
)

# --- score parsing ------------------------------------------------------------------------------

_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
# Number words only count where the context already says "this is the score"; a bare "one"
# ("one of the issues...") is far more often a pronoun than a rating.
_NUM = r"(?P<n>-?\d+(?:\.\d+)?|" + "|".join(_WORDS) + r")\b"
_OPEN = r"[\s*_`\"'\[(]*"  # markdown and brackets that may sit between a label and its value
_SCORE_MENTION = re.compile(
    r"(?P<final>\bfinal\s+)?(?P<label>\b(?:score[sd]?|rating|grade|overall)\b)"
    r"(?:\s*\([^)\n]*\))?"  # "Score (1-5): 4"
    r"[\s*_`]*(?::|=|\bis\b|\bof\b|\bwould\s+be\b|\bwill\s+be\b)?" + _OPEN + _NUM,
    re.IGNORECASE,
)
_FRACTION = re.compile(_NUM + r"\s*(?:/|\bout\s+of\b)\s*(?P<of>\d+)\b", re.IGNORECASE)
_RATE_VERB = re.compile(
    r"\b(?:rate|give|assign|award)\b(?:\s+(?:it|this|that|the\s+(?:answer|response|output)))?"
    r"(?:\s+(?:an?|at))?" + _OPEN + _NUM,
    re.IGNORECASE,
)
_BOLD = re.compile(r"\*\*\s*(?P<n>-?\d+(?:\.\d+)?)\s*\*\*")
# A reply that is, or starts with, a number: "4", "**4**", "4.", "(4) Clear and correct", "4 - good".
_LEADING = re.compile(r"^[\W_]*?(?P<n>-?\d+(?:\.\d+)?)[\s*_`)\]]*(?:$|[.:,;!\-–—)\]](?:\s|$))")
_JSON_OBJECT = re.compile(r"\{[^{}]*\}")
_SCORE_KEYS = ("score", "rating", "grade")


def _number(token: str) -> float | None:
    token = token.lower()
    if token in _WORDS:
        return float(_WORDS[token])
    try:
        return float(token)
    except ValueError:
        return None


def _json_value(text: str, keys: tuple[str, ...]) -> Any:
    """The value under the first of ``keys`` in the last JSON object of ``text`` that has one."""
    found: Any = None
    for match in _JSON_OBJECT.finditer(text):
        try:
            data = json.loads(match.group(0))
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        lowered = {str(k).lower(): v for k, v in data.items()}
        for key in keys:
            if key in lowered:
                found = lowered[key]
                break
    return found


def parse_score(text: str, scale: int) -> float | None:
    """The judge's score in 1..``scale`` from its reply, or ``None`` if there is no clear one
    (see the module docstring for what is accepted and in which order)."""
    candidate = _raw_score(text, scale)
    if candidate is None or not 1 <= candidate <= scale:
        return None
    return candidate


def _raw_score(text: str, scale: int) -> float | None:
    value = _json_value(text, _SCORE_KEYS)
    if value is not None and not isinstance(value, bool):
        return _number(str(value).strip()) if isinstance(value, str | int | float) else None

    mentions = list(_SCORE_MENTION.finditer(text))
    if mentions:

        def rank(match: re.Match[str]) -> tuple[int, int]:
            before = text[: match.start("label")]
            at_line_start = not before[before.rfind("\n") + 1 :].strip(" \t*_#>`-")
            return (2 if match.group("final") else 1 if at_line_start else 0, match.start())

        return _number(max(mentions, key=rank).group("n"))

    for match in reversed(list(_FRACTION.finditer(text))):
        if int(match.group("of")) == scale:
            return _number(match.group("n"))
    for pattern in (_RATE_VERB, _BOLD):
        matches = list(pattern.finditer(text))
        if matches:
            return _number(matches[-1].group("n"))
    leading = _LEADING.match(text.strip())
    return _number(leading.group("n")) if leading else None


# --- verdict parsing ----------------------------------------------------------------------------

_TIE_WORDS = r"tie|draw|equal|equally\s+good|neither|both"
_LETTER = r"(?-i:A|B)(?![\w'])"  # upper case only: "a" is an article, not answer A
_VERDICT_BRACKETS = re.compile(r"\[\[\s*(?P<v>A|B|C|tie)\s*\]\]", re.IGNORECASE)
_VERDICT_MENTION = re.compile(
    r"(?P<final>\bfinal\s+)?\b(?:verdict|winner|decision|choice|preference|"
    r"(?:better|best|preferred|stronger)\s+(?:answer|response))\b"
    r"[\s*_`]*(?::|=|\bis\b|\bwould\s+be\b)?" + _OPEN + r"(?:(?:answer|response|assistant)\s+)?"
    r"(?P<v>" + _LETTER + r"|(?:" + _TIE_WORDS + r")\b)",
    re.IGNORECASE,
)
_VERDICT_PHRASE = re.compile(
    r"(?:\b(?:answer|response|assistant)\s+)?\b(?P<v>" + _LETTER + r")\s+(?:is|was|seems|appears)\s+"
    r"(?:\w+\s+)?(?:better|superior|stronger|preferable|preferred|the\s+better|the\s+winner)\b"
    r"|\bprefer\s+(?:answer\s+|response\s+)?(?P<p>" + _LETTER + r")"
    r"|\b(?:answer|response|assistant)\s+(?P<w>" + _LETTER + r")\s+wins\b",
    re.IGNORECASE,
)
_TIE_PHRASE = re.compile(
    r"\b(?:tie|draw|equally\s+(?:good|bad|well|correct|strong|helpful)"
    r"|(?:both|the\s+two)\s+(?:answers\s+|responses\s+)?are\s+(?:equally|equal|the\s+same)"
    r"|neither\s+(?:answer\s+|response\s+)?is\s+better|no\s+clear\s+winner)\b",
    re.IGNORECASE,
)
_BARE_VERDICT = re.compile(
    r"^[\W_]*(?:(?i:answer|response)\s+)?(?P<v>" + _LETTER + r")" + r"[\s*_`\])]*(?:$|[.:,;!\-–—)\]\n])"
)


def _as_verdict(token: str) -> Verdict | None:
    lowered = token.strip().strip("*_`\"'[]()").strip().lower()
    for prefix in ("answer ", "response ", "assistant "):
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix) :].strip()
    if lowered in ("a", "b"):
        return "A" if lowered == "a" else "B"
    if lowered == "c" or re.fullmatch(_TIE_WORDS + r"|equally good|same", lowered):
        return "tie"
    return None


def parse_verdict(text: str) -> Verdict | None:
    """Which answer the judge preferred: "A", "B", "tie", or ``None`` if its reply says none
    clearly (see the module docstring)."""
    value = _json_value(text, ("verdict", "winner", "better", "choice", "preference", "answer"))
    if isinstance(value, str):
        return _as_verdict(value)
    brackets = list(_VERDICT_BRACKETS.finditer(text))
    if brackets:
        return _as_verdict(brackets[-1].group("v"))
    mentions = list(_VERDICT_MENTION.finditer(text))
    if mentions:
        best = max(mentions, key=lambda m: (1 if m.group("final") else 0, m.start()))
        return _as_verdict(best.group("v"))
    phrases = list(_VERDICT_PHRASE.finditer(text))
    if phrases:
        last = phrases[-1]
        return _as_verdict(last.group("v") or last.group("p") or last.group("w"))
    if _TIE_PHRASE.search(text):
        return "tie"
    bare = _BARE_VERDICT.match(text.strip())
    return _as_verdict(bare.group("v")) if bare else None


# --- shared plumbing ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Spend:
    """Tokens and cost of every judge call of one judgement."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0  # None: the judge is unpriced
    errors: list[str] = field(default_factory=list)

    def add(self, call: ModelCall) -> None:
        self.input_tokens += call.completion.usage.input_tokens
        self.output_tokens += call.completion.usage.output_tokens
        self.cost_usd = add_cost(self.cost_usd, call.cost_usd)

    def score(self, name: str, value: float, passed: bool, reason: str, details: dict[str, Any]) -> Score:
        return Score(
            value,
            passed,
            reason,
            name,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost_usd=self.cost_usd,
            details=details,
        )


async def _ask_all(
    context: ScoringContext,
    requests: list[CompletionRequest],
    judge_model: str | None,
    spend: _Spend,
) -> list[str | None]:
    """Send the requests concurrently; the reply texts (``None`` for a failed call).

    Every call is awaited even when one fails, so the tokens already spent are still counted.
    """
    results = await asyncio.gather(
        *(context.generate(r, model=judge_model) for r in requests), return_exceptions=True
    )
    texts: list[str | None] = []
    for result in results:
        if isinstance(result, ModelCall):
            spend.add(result)
            texts.append(result.completion.text)
        elif isinstance(result, BenchrouteError):
            spend.errors.append(str(result))
            texts.append(None)
        else:  # anything else (including cancellation) is not a judge failure: let it through
            raise result
    return texts


def _sampling(samples: int, temperature: float | None, index: int) -> dict[str, Any]:
    """Temperature and seed for sample ``index`` of ``samples``."""
    if temperature is None:
        temperature = 0.0 if samples == 1 else REPEATED_TEMPERATURE
    # One seed per sample: distinct requests (a response cache cannot merge them) whose
    # samples are reproducible on a seeded backend such as llama.cpp.
    return {"temperature": temperature, "seed": index if samples > 1 else None}


def _case_input(case: Case) -> str | None:
    """What the model was asked: the last user message, else ``input``, else the vars."""
    if case.messages:
        for message in reversed(case.messages):
            if message.role == "user":
                return message.text()
    if case.input is not None:
        return case.input
    if case.vars:
        return json.dumps(case.vars, ensure_ascii=False, default=str)
    return None


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


# A judge's context window is finite and every token is paid for: an answer longer than this
# is shown cut, with a note, rather than sent whole.
MAX_JUDGED_CHARS = 20_000


def _judge_failed(name: str, spend: _Spend, calls: int) -> JudgeFailed:
    """The error for judge calls that failed, carrying the tokens and cost they spent."""
    return JudgeFailed(
        f"{name}: judge call failed ({len(spend.errors)} of {calls}): {spend.errors[0]}",
        input_tokens=spend.input_tokens,
        output_tokens=spend.output_tokens,
        cost_usd=spend.cost_usd,
    )


def _unparsed(name: str, what: str, replies: list[str], spend: _Spend) -> JudgeFailed:
    """The error for judge replies none of which held a usable ``what``, carrying the spend."""
    n = len(replies)
    shown = clip(replies[0] if replies else "", 80, collapse_whitespace=True)
    return JudgeFailed(
        f"{name}: no valid {what} in {n} judge repl{'y' if n == 1 else 'ies'} (e.g. {shown!r})",
        input_tokens=spend.input_tokens,
        output_tokens=spend.output_tokens,
        cost_usd=spend.cost_usd,
    )


def _output_text(completion: Completion) -> str:
    if completion.text.strip():
        text = completion.text
        if len(text) > MAX_JUDGED_CHARS:
            return text[:MAX_JUDGED_CHARS] + f"\n[... answer cut: {len(text):,} characters in all]"
        return text
    if completion.tool_calls:
        return json.dumps(completion.tool_calls, ensure_ascii=False, default=str)
    return "(empty answer)"


def _block(title: str, text: str) -> str:
    # Explicit BEGIN/END markers keep the judge from mistaking where an answer ends, and keep
    # a multi-line answer from reading as part of the instructions.
    tag = title.upper()
    return f"[BEGIN {tag}]\n{text}\n[END {tag}]"


def _fmt(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


# --- rubric -------------------------------------------------------------------------------------


def _generic_steps(criteria: str, scale: int, with_input: bool, with_reference: bool) -> list[str]:
    read = "Read the input" + (" and the reference answer" if with_reference else "")
    steps = [f"{read} to understand what a good answer must do."] if with_input or with_reference else []
    steps += [
        f"Read the answer and check it against the criteria: {criteria}",
        "Note every way the answer falls short of the criteria (errors, omissions, irrelevant "
        "content)" + (", comparing it with the reference answer." if with_reference else "."),
        f"Choose a score from 1 (the criteria are not met at all) to {scale} (fully met).",
    ]
    return steps


def rubric_prompt(
    completion: Completion,
    case: Case,
    *,
    criteria: str,
    steps: list[str] | None,
    scale: int,
    include_input: bool,
    include_reference: bool,
) -> list[Message]:
    """The judge conversation for one rubric sample."""
    question = _case_input(case) if include_input else None
    reference = _as_text(case.expected) if include_reference and case.expected is not None else None
    chosen = steps or _generic_steps(criteria, scale, question is not None, reference is not None)
    parts = [
        "Evaluate the answer below.",
        f"Criteria:\n{criteria}",
        "Evaluation steps:\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(chosen, 1)),
    ]
    if question is not None:
        parts.append(_block("input", question))
    if reference is not None:
        parts.append(_block("reference answer", reference))
    parts.append(_block("answer", _output_text(completion)))
    parts.append(
        f"Rate the answer from 1 (worst) to {scale} (best) on the criteria. Write one short "
        f'sentence of justification, then a final line of the form "Score: N" where N is a '
        f"whole number from 1 to {scale}."
    )
    return [
        Message(role="system", content=_RUBRIC_SYSTEM),
        Message(role="user", content="\n\n".join(parts)),
    ]


def rubric(
    criteria: str,
    *,
    steps: list[str] | None = None,
    scale: int = 5,
    samples: int = 1,
    judge_model: str | None = None,
    temperature: float | None = None,
    include_input: bool = True,
    include_reference: bool = True,
    min_agreement: float = 0.6,
    context: ScoringContext,
    threshold: float = 0.6,
) -> Scorer:
    """An LLM judge grades the output 1..``scale`` against ``criteria`` (G-Eval style: the
    prompt lists evaluation ``steps``, generic ones if none are given). The value is
    (score - 1) / (scale - 1), averaged over ``samples`` judgements; the details report the
    spread and agreement of the samples and flag an unreliable judge. ``judge_model`` names a
    model of the project (default: the suite's or project's judge, else the embedded
    SmolLM2)."""
    if not isinstance(criteria, str) or not criteria.strip():
        raise ValueError("criteria must be a non-empty text")
    if steps is not None and not all(isinstance(s, str) and s.strip() for s in steps):
        raise ValueError("steps must be a list of non-empty texts")
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 2:
        raise ValueError(f"scale must be a whole number >= 2, got {scale!r}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a whole number >= 1, got {samples!r}")
    if temperature is not None and temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if not 0.0 <= min_agreement <= 1.0:
        raise ValueError(f"min_agreement must be between 0 and 1, got {min_agreement}")
    context.use_judge(judge_model)

    async def score(completion: Completion, case: Case) -> Score:
        messages = rubric_prompt(
            completion,
            case,
            criteria=criteria,
            steps=steps,
            scale=scale,
            include_input=include_input,
            include_reference=include_reference,
        )
        requests = [
            CompletionRequest(
                messages=messages, max_tokens=RUBRIC_MAX_TOKENS, **_sampling(samples, temperature, i)
            )
            for i in range(samples)
        ]
        spend = _Spend()
        replies = await _ask_all(context, requests, judge_model, spend)
        if spend.errors:
            raise _judge_failed("rubric", spend, len(requests))
        texts = [r or "" for r in replies]
        return _rubric_score(texts, scale, min_agreement, threshold, spend)

    return score


def _rubric_score(
    replies: list[str], scale: int, min_agreement: float, threshold: float, spend: _Spend
) -> Score:
    raw = [parse_score(text, scale) for text in replies]
    valid = [s for s in raw if s is not None]
    n, invalid = len(raw), len(raw) - len(valid)
    if not valid:  # no sample gave a score: there is no verdict, only a failed judgement
        raise _unparsed("rubric", "score", replies, spend)
    normalised = [(s - 1) / (scale - 1) for s in valid]
    mean = statistics.fmean(normalised)
    spread = statistics.pstdev(normalised)
    modal = Counter(valid).most_common(1)[0][1]
    agreement = modal / len(valid)
    reliable = agreement >= min_agreement - 1e-12 and invalid * 2 <= n
    details: dict[str, Any] = {
        "samples": n,
        "scores": raw,
        "mean": mean,
        "spread": spread,
        "agreement": agreement,
        "invalid": invalid,
        "reliable": reliable,
        "replies": [clip(text, _CLIP, collapse_whitespace=True) for text in replies],
    }
    mean_raw = 1 + mean * (scale - 1)
    if n == 1:
        summary = f"judge score {_fmt(valid[0])}/{scale}"
    else:
        summary = (
            f"mean judge score {mean_raw:.2f}/{scale} over {len(valid)} valid of {n} samples "
            f"(spread {spread:.2f}, agreement {agreement:.0%})"
        )
    if reliable:
        reason = summary
    else:
        problems = []
        if invalid * 2 > n:
            problems.append(f"{invalid} of {n} samples invalid")
        if agreement < min_agreement - 1e-12:
            problems.append(f"agreement {agreement:.0%} < {min_agreement:.0%}")
        reason = "unreliable judge: " + "; ".join(problems) + "; " + summary
    return spend.score("rubric", mean, threshold_passed(mean, threshold), reason, details)


# --- pairwise -----------------------------------------------------------------------------------


def pairwise_prompt(criteria: str, question: str | None, answer_a: str, answer_b: str) -> list[Message]:
    """The judge conversation for one pairwise judgement."""
    parts = [f"Compare two answers on: {criteria}."]
    if question is not None:
        parts.append(_block("input", question))
    parts += [_block("answer A", answer_a), _block("answer B", answer_b)]
    parts.append(
        "Which answer is better? Write one short sentence of reasoning, then a final line that is "
        'exactly "Verdict: A", "Verdict: B" or "Verdict: tie".'
    )
    return [
        Message(role="system", content=_PAIRWISE_SYSTEM),
        Message(role="user", content="\n\n".join(parts)),
    ]


def _baseline_text(baseline: str | None, case: Case) -> str | None:
    if baseline is not None:
        return baseline
    if case.vars.get("baseline") is not None:
        return _as_text(case.vars["baseline"])
    return _as_text(case.expected) if case.expected is not None else None


def pairwise(
    baseline: str | None = None,
    *,
    criteria: str = "overall quality and correctness",
    judge_model: str | None = None,
    samples: int = 1,
    temperature: float | None = None,
    context: ScoringContext,
    threshold: float = 0.5,
) -> Scorer:
    """An LLM judge compares the output with a baseline answer (``baseline``, else the case's
    ``vars.baseline``, else its ``expected``), asking in both orders to cancel position bias.
    The value is the output's win share over the 2 x ``samples`` judgements (a tie counts
    half); a judge that picks the same position in both orders is flagged."""
    if not isinstance(criteria, str) or not criteria.strip():
        raise ValueError("criteria must be a non-empty text")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a whole number >= 1, got {samples!r}")
    if temperature is not None and temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    context.use_judge(judge_model)

    async def score(completion: Completion, case: Case) -> Score:
        other = _baseline_text(baseline, case)
        if other is None:
            reason = "no baseline answer: set the 'baseline' argument, the case's vars.baseline or expected"
            return Score(0.0, False, reason, "pairwise")
        question = _case_input(case)
        output = _output_text(completion)
        requests: list[CompletionRequest] = []
        for i in range(samples):
            sampling = _sampling(samples, temperature, i)
            # Order 1 shows the output as A, order 2 as B; both share the sample's seed so the
            # only difference between the two requests is the order.
            for first, second in ((output, other), (other, output)):
                messages = pairwise_prompt(criteria, question, first, second)
                requests.append(
                    CompletionRequest(messages=messages, max_tokens=PAIRWISE_MAX_TOKENS, **sampling)
                )
        spend = _Spend()
        replies = await _ask_all(context, requests, judge_model, spend)
        if spend.errors:
            raise _judge_failed("pairwise", spend, len(requests))
        return _pairwise_score([r or "" for r in replies], threshold, spend)

    return score


_OUTCOME: dict[tuple[str, Verdict], float] = {
    # (where the output was shown, verdict) -> the output's share of the judgement
    ("A", "A"): 1.0,
    ("A", "B"): 0.0,
    ("B", "B"): 1.0,
    ("B", "A"): 0.0,
    ("A", "tie"): 0.5,
    ("B", "tie"): 0.5,
}


def _pairwise_score(replies: list[str], threshold: float, spend: _Spend) -> Score:
    verdicts = [parse_verdict(text) for text in replies]
    pairs: list[dict[str, Any]] = []
    shares: list[float] = []
    biased = complete = 0
    for i in range(0, len(verdicts), 2):
        as_a, as_b = verdicts[i], verdicts[i + 1]
        is_biased = as_a is not None and as_a == as_b and as_a != "tie"
        if as_a is not None and as_b is not None:
            complete += 1
            biased += is_biased
        for position, verdict in (("A", as_a), ("B", as_b)):
            if verdict is not None:
                shares.append(_OUTCOME[(position, verdict)])
        pairs.append({"output_as_A": as_a, "output_as_B": as_b, "position_biased": is_biased})
    total = len(verdicts)
    if not shares:  # no judgement gave a verdict: a failed judgement, not a loss
        raise _unparsed("pairwise", "verdict", replies, spend)
    invalid = total - len(shares)
    value = statistics.fmean(shares)
    # Biased in most of the pairs where both orders gave a verdict: a single flip-flop among
    # many samples is noise, a judge that mostly follows the position is not judging content.
    position_biased = complete > 0 and biased * 2 > complete
    reliable = not position_biased and invalid * 2 <= total
    wins = sum(1 for s in shares if s == 1.0)
    ties = sum(1 for s in shares if s == 0.5)
    details: dict[str, Any] = {
        "samples": len(pairs),
        "judgements": pairs,
        "wins": wins,
        "ties": ties,
        "losses": len(shares) - wins - ties,
        "invalid": invalid,
        "position_biased": position_biased,
        "biased_pairs": biased,
        "reliable": reliable,
        "replies": [clip(text, _CLIP, collapse_whitespace=True) for text in replies],
    }
    summary = (
        f"output win share {value:.2f} over {len(shares)} judgements "
        f"({wins} won, {ties} tied, {len(shares) - wins - ties} lost)"
    )
    if reliable:
        reason = summary
    else:
        problems = []
        if position_biased:
            problems.append(f"picked the same position in both orders in {biased} of {complete} pairs")
        if invalid * 2 > total:
            problems.append(f"{invalid} of {total} verdicts invalid")
        reason = "unreliable judge: " + "".join(p + "; " for p in problems) + summary
    return spend.score("pairwise", value, threshold_passed(value, threshold), reason, details)
