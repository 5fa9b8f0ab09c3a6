"""Perturbed copies of dataset cases (``benchroute dataset perturb``), to tell generalisation
from memorisation.

A model that learnt a benchmark item answers it; a model that learnt the task also answers a
copy with typos, another casing, a distracting sentence, shuffled options or other numbers.
Each kind here is registered by name (:data:`PERTURBATIONS`, :func:`register_perturbation`)
and takes a :class:`Target`, the case and the text of its last user message (``input``, or
the last ``user`` message of ``messages``: its string or its last text part), and a seeded
random generator. It returns a :class:`Change` (the new text, a short account of what it
did, and, for ``options`` and ``numbers``, the remapped or recomputed ``expected``) or
:class:`NotApplicable` with a reason, which the :class:`PerturbReport` counts.

Each perturbed case is a copy of its original with id ``{original}~{kind}`` (``-2``, ``-3``
... for further variants) and ``metadata.original_id``, ``metadata.perturbation`` and
``metadata.perturbation_detail``. Every draw is seeded by the seed, the case id, the kind
and the variant, so a case perturbs the same way whatever else is in the set and in
whichever order. Text perturbations never touch numbers, placeholders left by the scrubber
(``<EMAIL_1>``), URLs, e-mail addresses, template slots or code, and keep ``expected``.

``paraphrase`` asks a model (:class:`ModelParaphraser` over any provider) and so only runs
in :func:`aperturb_cases`; a paraphrase that is empty, unchanged, or drops a number or a
placeholder of the original is rejected and counted.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, Protocol

from .._errors import ConfigError, did_you_mean
from . import _numbers
from ._synonyms import NEVER_SWAP, synonyms_of

if TYPE_CHECKING:
    from ..config import Case, ModelSpec
    from ..providers import Provider, ProviderContext

__all__ = [
    "PERTURBATIONS",
    "Change",
    "ModelParaphraser",
    "NotApplicable",
    "Paraphraser",
    "PerturbReport",
    "Perturbation",
    "Target",
    "aperturb_cases",
    "iter_perturbed",
    "perturb_cases",
    "register_perturbation",
]

# -- the contract ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """What a perturbation works on: the original case (a JSON dict; do not modify it), the
    text of its last user message, and which variant (0, 1, ...) is being made."""

    case: Mapping[str, Any]
    text: str
    variant: int = 0


_KEEP: Final = object()


@dataclass(frozen=True, slots=True)
class Change:
    """A perturbation's result: the new text, a short JSON-able ``detail`` of what changed,
    a new ``expected`` when the perturbation remaps or recomputes it, and ``metadata`` keys
    to replace (a re-templated problem's new ``solution``, shuffled ``choices``)."""

    text: str
    detail: dict[str, Any]
    expected: Any = _KEEP
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NotApplicable:
    """Why a perturbation made nothing of a case (a short sentence, never the case's text).
    ``rejected`` marks a model's output that failed the checks, as opposed to a case the
    kind does not apply to."""

    reason: str
    rejected: bool = False


Outcome = Change | NotApplicable
SyncApply = Callable[..., Outcome]
AsyncApply = Callable[..., Awaitable[Outcome]]


class Paraphraser(Protocol):
    """Rewrites a text in other words (the one required call)."""

    async def paraphrase(self, text: str, *, seed: int) -> str:
        """The paraphrase of ``text``; ``seed`` is passed on to models that take one."""
        ...


@dataclass(frozen=True, slots=True)
class Perturbation:
    """A registered kind: its name, a one-line description (for ``--help``), the keyword
    settings it takes, and its function (``apply(target, rng, **settings)``; or
    ``apply_async(target, rng, paraphraser, **settings)`` for kinds that call a model)."""

    name: str
    description: str
    apply: SyncApply | None = None
    apply_async: AsyncApply | None = None
    settings: tuple[str, ...] = ()

    @property
    def needs_model(self) -> bool:
        return self.apply_async is not None


PERTURBATIONS: dict[str, Perturbation] = {}


def register_perturbation(
    name: str, description: str, *, settings: Sequence[str] = (), needs_model: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a perturbation kind under ``name`` (the built-ins register this way too)."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        PERTURBATIONS[name] = Perturbation(
            name,
            description,
            apply=None if needs_model else function,
            apply_async=function if needs_model else None,
            settings=tuple(settings),
        )
        return function

    return decorate


_EXAMPLES: Final = 20


@dataclass(slots=True)
class PerturbReport:
    """What a perturbation run made and skipped, by kind; ``skipped`` counts reasons,
    ``examples`` keeps the first few (case id, kind, reason) to look at."""

    cases: int = 0
    produced: Counter[str] = field(default_factory=Counter)
    skipped: dict[str, Counter[str]] = field(default_factory=dict)
    rejected: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[str, str, str]] = field(default_factory=list)

    def skip(self, case_id: str, kind: str, outcome: NotApplicable) -> None:
        self.skipped.setdefault(kind, Counter())[outcome.reason] += 1
        if outcome.rejected:
            self.rejected[kind] += 1
        if len(self.examples) < _EXAMPLES:
            self.examples.append((case_id, kind, outcome.reason))

    @property
    def total_produced(self) -> int:
        return sum(self.produced.values())

    @property
    def total_skipped(self) -> int:
        return sum(sum(reasons.values()) for reasons in self.skipped.values())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary (for ``--json`` and stored provenance)."""
        return {
            "cases": self.cases,
            "produced": dict(self.produced),
            "skipped": {kind: dict(reasons) for kind, reasons in self.skipped.items()},
            "rejected": dict(self.rejected),
            "examples": [list(example) for example in self.examples],
        }


# -- where the text is -------------------------------------------------------------------------

Location = tuple[Any, ...]


def _locate(case: Mapping[str, Any]) -> tuple[Location, str] | None:
    """Where the text to perturb is: ``input``, or the last user message of ``messages``
    (its string content, or its last text part)."""
    if isinstance(case.get("input"), str):
        return ("input",), case["input"]
    messages = case.get("messages")
    if not isinstance(messages, list):
        return None
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return ("messages", index, "content"), content
        if isinstance(content, list):
            for part_index in range(len(content) - 1, -1, -1):
                part = content[part_index]
                if (
                    isinstance(part, Mapping)
                    and part.get("type") == "text"
                    and isinstance(part.get("text"), str)
                ):
                    return ("messages", index, "content", part_index, "text"), part["text"]
        return None
    return None


def _put(case: dict[str, Any], location: Location, text: str) -> None:
    node: Any = case
    for key in location[:-1]:
        node = node[key]
    node[location[-1]] = text


# -- protected spans ---------------------------------------------------------------------------

_PROTECTED: Final = re.compile(
    r"```.*?(?:```|\Z)"  # fenced code
    r"|`[^`\n]+`"  # inline code
    r"|<[A-Z][A-Z0-9_]*>"  # scrubber placeholders: <EMAIL_1>, <PERSON_2>
    r"|\{\{.*?\}\}|\{[A-Za-z_][\w.]*\}"  # template slots
    r"|(?:https?|ftp)://\S+|www\.\S+"  # URLs
    r"|[\w.+-]+@[\w-]+\.[\w.-]+"  # e-mail addresses
    r"|\S*\d\S*"  # anything with a digit in it: numbers, ids, versions, times
    r"|\"[^\"\n]{1,200}\"|“[^”\n]{1,200}”",  # quoted text is often meant verbatim
    re.DOTALL,
)
_WORD: Final = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")


def _protected_spans(text: str) -> list[tuple[int, int]]:
    return [match.span() for match in _PROTECTED.finditer(text)]


def _free_words(text: str) -> list[re.Match[str]]:
    """The words of ``text`` outside every protected span."""
    spans = _protected_spans(text)
    words = []
    for match in _WORD.finditer(text):
        start, end = match.span()
        if not any(s < end and start < e for s, e in spans):
            words.append(match)
    return words


def _splice(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    out, cursor = [], 0
    for start, end, new in sorted(edits):
        out.append(text[cursor:start])
        out.append(new)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def _pick(rng: random.Random, items: Sequence[Any], rate: float) -> list[Any]:
    """Each item with probability ``rate``, and at least one (so the case does change)."""
    chosen = [item for item in items if rng.random() < rate]
    return chosen or [rng.choice(items)]


def _rate(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(
            f"perturbation setting {name}: {value!r} is not a rate in (0, 1]", hint=f"e.g. {name}=0.1"
        )
    return float(value)


# -- typos, case, whitespace -------------------------------------------------------------------

_KEYBOARD: Final = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    where = {key: (row, col) for row, keys in enumerate(_KEYBOARD) for col, key in enumerate(keys)}
    out: dict[str, str] = {}
    for key, (row, col) in where.items():
        near = []
        for other, (r, c) in where.items():
            if other != key and abs(r - row) <= 1 and abs(c - col + (r - row) * 0.5) <= 1:
                near.append(other)
        out[key] = "".join(near)
    return out


_NEIGHBOURS: Final = _neighbours()


def _typo(word: str, rng: random.Random) -> tuple[str, str]:
    """One keyboard slip in ``word``: a neighbouring key, a dropped letter or two swapped."""
    letters = [i for i, ch in enumerate(word) if ch.isalpha()]
    kinds = ["neighbour"]
    if len(letters) >= 4:
        kinds.append("drop")
    swappable = [
        i
        for i in range(len(word) - 1)
        if word[i].isalpha() and word[i + 1].isalpha() and word[i] != word[i + 1]
    ]
    if swappable:
        kinds.append("swap")
    kind = rng.choice(kinds)
    if kind == "drop":
        i = rng.choice(letters[1:])  # the first letter stays: the word is still recognisable
        return word[:i] + word[i + 1 :], kind
    if kind == "swap":
        i = rng.choice(swappable)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :], kind
    i = rng.choice(letters)
    near = _NEIGHBOURS.get(word[i].lower(), "")
    if not near:
        return word[:i] + word[i] + word[i:], "double"
    new = rng.choice(near)
    return word[:i] + (new.upper() if word[i].isupper() else new) + word[i + 1 :], kind


@register_perturbation(
    "typos",
    "keyboard slips (neighbouring key, dropped or swapped letters) in a share of the words",
    settings=("rate",),
)
def typos(target: Target, rng: random.Random, *, rate: float = 0.08) -> Outcome:
    rate = _rate(rate, "rate")
    words = [w for w in _free_words(target.text) if sum(ch.isalpha() for ch in w.group()) >= 3]
    if not words:
        return NotApplicable("no word of three letters or more outside numbers, code and placeholders")
    edits, kinds = [], Counter[str]()
    for match in _pick(rng, words, rate):
        new, kind = _typo(match.group(), rng)
        edits.append((match.start(), match.end(), new))
        kinds[kind] += 1
    return Change(_splice(target.text, edits), {"edits": len(edits), "kinds": dict(kinds), "rate": rate})


_CASE_MODES: Final = ("lower", "upper", "title", "random")


@register_perturbation(
    "case",
    "casing changed: all lower, all upper, title case or random words flipped",
    settings=("mode",),
)
def casing(target: Target, rng: random.Random, *, mode: str | None = None) -> Outcome:
    if mode is not None and mode not in _CASE_MODES:
        raise ConfigError(
            f"perturbation setting mode: {mode!r}", hint=f"case modes: {', '.join(_CASE_MODES)}"
        )
    words = _free_words(target.text)
    if not words:
        return NotApplicable("no word outside numbers, code and placeholders")
    modes = [mode] if mode else list(_CASE_MODES)
    rng.shuffle(modes)
    for candidate in modes:
        if candidate == "random":
            flips = _pick(rng, words, 0.3)
            edits = [(w.start(), w.end(), w.group().swapcase()) for w in flips]
        else:
            change = {"lower": str.lower, "upper": str.upper, "title": str.capitalize}[candidate]
            edits = [(w.start(), w.end(), change(w.group())) for w in words]
        text = _splice(target.text, edits)
        if text != target.text:
            return Change(text, {"mode": candidate})
    return NotApplicable("the casing would not change")


@register_perturbation(
    "whitespace",
    "extra spaces between some words, and stray leading or trailing whitespace",
    settings=("rate",),
)
def whitespace(target: Target, rng: random.Random, *, rate: float = 0.15) -> Outcome:
    rate = _rate(rate, "rate")
    spans = _protected_spans(target.text)
    gaps = [
        m
        for m in re.finditer(r"(?<=\S) (?=\S)", target.text)
        if not any(s <= m.start() < e for s, e in spans)
    ]
    edits = []
    if gaps:
        edits = [(m.start(), m.end(), rng.choice(("  ", "   ", " \t"))) for m in _pick(rng, gaps, rate)]
    text = _splice(target.text, edits)
    lead = rng.choice(("", " ", "\n"))
    trail = rng.choice((" ", "\n", "  \n"))
    text = lead + text + trail
    return Change(text, {"gaps": len(edits), "leading": len(lead), "trailing": len(trail)})


# -- synonyms ----------------------------------------------------------------------------------


def _match_case(source: str, word: str) -> str:
    if source.isupper() and len(source) > 1:
        return word.upper()
    if source[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


@register_perturbation(
    "synonyms",
    "common words swapped for safe synonyms from a curated table (never negations, numbers or quantifiers)",
    settings=("rate",),
)
def synonyms(target: Target, rng: random.Random, *, rate: float = 0.3) -> Outcome:
    rate = _rate(rate, "rate")
    text = target.text
    words = [w for w in _free_words(text) if w.group().lower() not in NEVER_SWAP and synonyms_of(w.group())]
    if not words:
        return NotApplicable("no word of the synonym table outside numbers, code and placeholders")
    edits, swaps = [], []
    for match in sorted(_pick(rng, words, rate), key=lambda m: m.start()):
        source = match.group()
        new = _match_case(source, rng.choice(synonyms_of(source)))
        edits.append((match.start(), match.end(), new))
        swaps.append([source.lower(), new.lower()])
        # "a" / "an" before the swapped word follows its new first sound.
        article = re.search(r"\b(a|an|A|An)(\s+)$", text[: match.start()])
        if article is not None:
            wanted = "an" if new[:1].lower() in "aeiou" else "a"
            if article.group(1).lower() != wanted:
                edits.append((article.start(1), article.end(1), _match_case(article.group(1), wanted)))
    return Change(_splice(text, edits), {"swaps": swaps[:20], "count": len(swaps)})


# -- sentences ---------------------------------------------------------------------------------

_ABBREVIATIONS: Final = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|vs|etc|approx|No|Fig|Inc|Ltd|Co|Mt)|\b(?:e\.g|i\.e|a\.m|p\.m|U\.S|U\.K))\.$",
    re.IGNORECASE,
)
_BOUNDARY: Final = re.compile(r"(?<=[.!?])[\"'”’)\]]*(\s+)(?=[\"'“‘(\[]?[A-Z0-9$])")
_OPTION_LINE: Final = re.compile(r"^\s*(?:\(([A-Ha-h])\)|([A-Ha-h])[).:])\s+\S")
_LIST_LINE: Final = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


@dataclass(frozen=True, slots=True)
class _Sentence:
    start: int
    end: int


def _sentences(text: str) -> list[_Sentence]:
    """The sentences of prose ``text`` (whitespace between them excluded), never split at
    an abbreviation, a decimal point or inside a protected span."""
    spans = _protected_spans(text)
    cuts = []
    for match in _BOUNDARY.finditer(text):
        gap_start, gap_end = match.span(1)
        if _ABBREVIATIONS.search(text[max(0, gap_start - 8) : match.start()]):
            continue
        if any(s < gap_start < e for s, e in spans if not text[s:e][:1].isdigit()):
            continue
        cuts.append((gap_start, gap_end))
    sentences, start = [], 0
    leading = len(text) - len(text.lstrip())
    start = leading
    for gap_start, gap_end in cuts:
        sentences.append(_Sentence(start, gap_start))
        start = gap_end
    end = len(text.rstrip())
    if start < end:
        sentences.append(_Sentence(start, end))
    return sentences


def _structured(text: str) -> bool:
    """Whether ``text`` has code, an option block or a list: moving sentences could break it."""
    if "```" in text:
        return True
    return any(_OPTION_LINE.match(line) or _LIST_LINE.match(line) for line in text.splitlines())


def _question_index(text: str, sentences: Sequence[_Sentence]) -> int:
    for index in range(len(sentences) - 1, -1, -1):
        if text[sentences[index].start : sentences[index].end].rstrip("\"'”’)").endswith("?"):
            return index
    return len(sentences) - 1


_DISTRACTORS: Final = (
    "The weather that day was mild and a little cloudy.",
    "Someone nearby was humming a tune they had heard on the radio.",
    "The walls of the room had recently been painted a pale shade of green.",
    "A cat was sleeping on a windowsill across the street.",
    "The local library had just extended its opening hours.",
    "Earlier, a neighbour had mentioned a new bakery opening in town.",
    "The coffee machine in the hallway had been repaired that morning.",
    "Some of the trees along the road were starting to change colour.",
    "A delivery van drove past while this was going on.",
    "The forecast had promised sunshine for the weekend.",
    "A few birds were gathered around a puddle outside.",
    "Somebody had left an umbrella leaning against the door.",
)


@register_perturbation(
    "distractor",
    "an irrelevant but plausible sentence inserted before the question (never inside a sentence)",
)
def distractor(target: Target, rng: random.Random) -> Outcome:
    text = target.text
    if not text.strip():
        return NotApplicable("the text is empty")
    sentence = rng.randrange(len(_DISTRACTORS))
    addition = _DISTRACTORS[sentence]
    if _structured(text):
        # Code, options or lists: the only safe place is before everything.
        starts = [len(text) - len(text.lstrip())]
    else:
        sentences = _sentences(text)
        question = _question_index(text, sentences)
        starts = [s.start for s in sentences[: question + 1]] or [0]
    position = rng.randrange(len(starts))
    at = starts[position]
    return Change(text[:at] + addition + " " + text[at:], {"sentence": sentence, "position": position})


_DEPENDENT: Final = re.compile(
    r"\b(?:he|she|it|its|they|them|their|theirs|his|her|hers|him|this|that|these|those|there|then|so|also|"
    r"after|afterwards|later|next|finally|however|but|thus|therefore|hence|such|each|both|other|others|"
    r"another|rest|remainder|remaining|same|former|latter|above|below|meanwhile|instead|otherwise|"
    r"similarly|likewise|besides|moreover|furthermore|again|still|yet|now|one|ones|first|second|third|"
    r"last|previous|before|total|altogether|combined)\b",
    re.IGNORECASE,
)
_DEPENDENT_START: Final = re.compile(r"^[\"'“(]*(?:the|and|or|if|when|while|because|as)\b", re.IGNORECASE)


@register_perturbation(
    "reorder",
    "independent instruction or context sentences moved (the question stays last), or the question first",
)
def reorder(target: Target, rng: random.Random) -> Outcome:
    text = target.text
    if _structured(text):
        return NotApplicable("the text has code, an option block or a list")
    sentences = _sentences(text)
    if len(sentences) < 2:
        return NotApplicable("the text is a single sentence")
    question = _question_index(text, sentences)
    if question != len(sentences) - 1:
        return NotApplicable("the question is not the last sentence")
    pieces = [text[s.start : s.end] for s in sentences]
    # A sentence that refers back ("She sells the rest", "Then ...") moves with the one
    # before it; only groups that stand alone are shuffled.
    groups: list[list[int]] = []
    for index in range(question):
        if groups and (_DEPENDENT.search(pieces[index]) or _DEPENDENT_START.search(pieces[index])):
            groups[-1].append(index)
        else:
            groups.append([index])
    modes = ["shuffle"] if len(groups) >= 2 else []
    modes.append("question_first")
    mode = modes[target.variant % len(modes)]
    if mode == "shuffle":
        order = list(range(len(groups)))
        while order == sorted(order):
            rng.shuffle(order)
        sequence = [i for g in order for i in groups[g]] + [question]
    else:
        sequence = [question, *range(question)]
    # The whitespace between sentences stays where it was (a newline stays a newline).
    gaps = [text[sentences[i].end : sentences[i + 1].start] for i in range(len(sentences) - 1)]
    head, tail = text[: sentences[0].start], text[sentences[-1].end :]
    body = pieces[sequence[0]] + "".join(gap + pieces[i] for gap, i in zip(gaps, sequence[1:], strict=True))
    return Change(head + body + tail, {"mode": mode, "order": sequence})


# -- paraphrase --------------------------------------------------------------------------------

PARAPHRASE_PROMPT: Final = (
    "Rewrite the user's text in other words, as a different person asking the same thing would. "
    "Keep its meaning and what it asks for. Keep every number exactly as written, every name and "
    "named entity, every placeholder in angle brackets such as <EMAIL_1>, every URL, every piece "
    "of code and every quoted text unchanged. Do not answer it, do not add anything. Reply with "
    "the rewritten text only."
)
_PLACEHOLDER: Final = re.compile(r"<[A-Z][A-Z0-9_]*>")
_PREAMBLE: Final = re.compile(r"^\s*(?:sure[,!.]?\s*)?(?:here(?:'s| is)[^\n:]*:)\s*", re.IGNORECASE)


class ModelParaphraser:
    """Paraphrases through a chat model: any :class:`~benchroute.providers.Provider` (build
    one from a project's model with :meth:`from_spec`). The caller closes what it opened."""

    def __init__(
        self,
        provider: Provider,
        *,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        prompt: str = PARAPHRASE_PROMPT,
        context: ProviderContext | None = None,
    ) -> None:
        self.provider = provider
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.prompt = prompt
        self._context = context

    @classmethod
    def from_spec(
        cls, spec: ModelSpec, context: ProviderContext | None = None, **options: Any
    ) -> ModelParaphraser:
        """A paraphraser asking the model ``spec`` (a ``models:`` entry of benchroute.yaml)."""
        from ..providers import ProviderContext, create_provider

        own = context is None
        context = context or ProviderContext()
        paraphraser = cls(create_provider(spec, context), **options)
        if own:
            paraphraser._context = context
        return paraphraser

    async def paraphrase(self, text: str, *, seed: int) -> str:
        from ..providers import CompletionRequest, Message

        request = CompletionRequest(
            messages=[Message(role="system", content=self.prompt), Message(role="user", content=text)],
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=seed,
        )
        completion = await self.provider.complete(request)
        return completion.text

    async def aclose(self) -> None:
        """Close the provider context this paraphraser made for itself (from :meth:`from_spec`)."""
        if self._context is not None:
            await self._context.aclose()


def _cleaned(reply: str) -> str:
    text = _PREAMBLE.sub("", reply.strip(), count=1).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”":
        text = text[1:-1].strip()
    return text


def _number_values(text: str, *, required: bool) -> Counter[Fraction]:
    values: Counter[Fraction] = Counter()
    for number in _numbers.extract_numbers(text):
        if required and number.style == "word" and number.value < 2:
            continue  # "one of them" may be rephrased without the word
        values[number.value] += 1
    return values


def check_paraphrase(original: str, paraphrase: str) -> NotApplicable | None:
    """Why ``paraphrase`` of ``original`` is rejected, or None when it is usable."""
    if not paraphrase.strip():
        return NotApplicable("rejected: the paraphrase is empty", rejected=True)
    if " ".join(paraphrase.split()) == " ".join(original.split()):
        return NotApplicable("rejected: the paraphrase is the original", rejected=True)
    if len(paraphrase) > 3 * len(original) + 200:
        return NotApplicable("rejected: the paraphrase is far longer than the original", rejected=True)
    have = _number_values(paraphrase, required=False)
    if any(have[value] < count for value, count in _number_values(original, required=True).items()):
        return NotApplicable("rejected: the paraphrase dropped a number of the original", rejected=True)
    if Counter(_PLACEHOLDER.findall(original)) - Counter(_PLACEHOLDER.findall(paraphrase)):
        return NotApplicable("rejected: the paraphrase dropped a placeholder of the original", rejected=True)
    return None


@register_perturbation(
    "paraphrase",
    "the text reworded by a model, keeping every number, name and placeholder (checked)",
    needs_model=True,
)
async def paraphrase(target: Target, rng: random.Random, paraphraser: Paraphraser) -> Outcome:
    from ..providers import FATAL_KINDS, ProviderError

    if not target.text.strip():
        return NotApplicable("the text is empty")
    seed = rng.randrange(2**31)
    try:
        reply = await paraphraser.paraphrase(target.text, seed=seed)
    except ProviderError as exc:
        if exc.kind in FATAL_KINDS:
            raise
        return NotApplicable(f"the paraphrase model failed ({exc.kind})")
    text = _cleaned(reply)
    problem = check_paraphrase(target.text, text)
    if problem is not None:
        return problem
    return Change(text, {"seed": seed, "chars": [len(target.text), len(text)]})


# -- multiple-choice options -------------------------------------------------------------------

_LETTERS: Final = "ABCDEFGH"
_INLINE_LABEL: Final = re.compile(r"\(([A-H])\)\s*")
# "A) Mars B) Jupiter": a capital and a parenthesis after a space or the line's start.
_INLINE_BARE: Final = re.compile(r"(?:(?<=\s)|^)([A-H])\)\s+")
_PINNED: Final = re.compile(
    r"\b(?:all|none|both|neither)\s+of\s+(?:the\s+)?(?:above|these|those|them|the\s+(?:above|options|answers))\b",
    re.IGNORECASE,
)
_REFERS: Final = re.compile(r"\b(?:options?\s+)?\(?[A-H]\)?\s+(?:and|or|&)\s+\(?[A-H]\)?(?![\w'])")
_LETTER_ANSWER: Final = re.compile(r"^\s*\(?([A-Ha-h])\)?[.):]?\s*$")


@dataclass(frozen=True, slots=True)
class _Option:
    start: int  # the span of the option's text in the prompt
    end: int
    text: str


_OPTION_LABEL: Final = re.compile(r"^\s*(?:\(([A-Ha-h])\)|([A-Ha-h])[).:])\s+")


def _line_option(text: str, line: re.Match[str]) -> tuple[str, _Option] | None:
    label = _OPTION_LABEL.match(line.group())
    if label is None:
        return None
    start = line.start() + label.end()
    end = line.start() + len(line.group().rstrip())
    return (label.group(1) or label.group(2)).upper(), _Option(start, end, text[start:end])


def _option_block(text: str) -> list[_Option] | None:
    """The first run of options labelled A, B, C ... in ``text``: one per line ("A) ...",
    "A. ...", "(A) ...", "A: ..."), or inline on one line ("(A) ... (B) ...", "A) ... B) ...")."""
    lines = list(re.finditer(r"^.*$", text, re.MULTILINE))
    block: list[_Option] = []
    for line in lines:
        found = _line_option(text, line)
        if found is not None and len(block) < len(_LETTERS) and found[0] == _LETTERS[len(block)]:
            block.append(found[1])
            continue
        if len(block) >= 2:
            return block
        block = [found[1]] if found is not None and found[0] == "A" else []
    if len(block) >= 2:
        return block
    for line, pattern in ((line, p) for p in (_INLINE_LABEL, _INLINE_BARE) for line in lines):
        labels = list(pattern.finditer(line.group()))
        if len(labels) >= 2 and "".join(m.group(1) for m in labels) == _LETTERS[: len(labels)]:
            options = []
            for k, label in enumerate(labels):
                start = line.start() + label.end()
                stop = line.start() + (labels[k + 1].start() if k + 1 < len(labels) else len(line.group()))
                end = start + len(text[start:stop].rstrip(" ,;"))
                options.append(_Option(start, end, text[start:end]))
            return options
    return None


def _answer_index(case: Mapping[str, Any], texts: Sequence[str]) -> tuple[int, str] | None:
    """The index of the right option and how ``expected`` names it: ``"letter"``, ``"text"``
    or ``"index"`` (only ``metadata.answer_index``). An ``expected`` that reads both as a
    letter and as an option's text ("a" among options "a", "b") is settled by
    ``metadata.answer_index``, or not at all."""
    metadata = case.get("metadata") or {}
    expected = case.get("expected")
    index = metadata.get("answer_index")
    if not (isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(texts)):
        index = None
    readings: dict[str, int] = {}
    if isinstance(expected, str):
        letter = _LETTER_ANSWER.match(expected)
        if letter is not None and _LETTERS.index(letter.group(1).upper()) < len(texts):
            readings["letter"] = _LETTERS.index(letter.group(1).upper())
        folded = [t.strip().casefold() for t in texts]
        if expected.strip().casefold() in folded:
            readings["text"] = folded.index(expected.strip().casefold())
    if len(readings) > 1:
        # Both readings: only metadata.answer_index can tell, and only if they differ.
        agreeing = {form: found for form, found in readings.items() if found == index}
        readings = agreeing if len(agreeing) == 1 else {}
        if not readings:
            return None
    if readings:
        form, found = next(iter(readings.items()))
        return found, form
    return (index, "index") if index is not None else None


@register_perturbation(
    "options",
    "multiple-choice options shuffled (inline A) ... B) ... or metadata.choices), the answer key remapped",
)
def options(target: Target, rng: random.Random) -> Outcome:
    case, text = target.case, target.text
    metadata = case.get("metadata") or {}
    choices = metadata.get("choices")
    if choices is not None and not (isinstance(choices, list) and all(isinstance(c, str) for c in choices)):
        return NotApplicable("metadata.choices is not a list of texts")
    block = _option_block(text)
    if (
        block is not None
        and choices is not None
        and [o.text.strip() for o in block] != [c.strip() for c in choices]
    ):
        return NotApplicable("the prompt's options differ from metadata.choices")
    texts = [o.text for o in block] if block is not None else choices
    if not texts or len(texts) < 2:
        return NotApplicable("no multiple-choice options (A) ... B) ... or metadata.choices)")
    if any(_REFERS.search(t) for t in texts):
        return NotApplicable("an option refers to other options by letter")
    answer = _answer_index(case, texts)
    if answer is None:
        return NotApplicable("expected names no option (a letter, an option's text or metadata.answer_index)")
    right, form = answer
    movable = [i for i, t in enumerate(texts) if not _PINNED.search(t)]
    if len(movable) < 2:
        return NotApplicable("fewer than two options can move")
    order = list(range(len(texts)))  # order[new position] = old position
    for _ in range(50):
        shuffled = movable[:]
        rng.shuffle(shuffled)
        order = list(range(len(texts)))
        for position, old in zip(movable, shuffled, strict=True):
            order[position] = old
        if order.index(right) != right or (right not in movable and order != sorted(order)):
            break
    new_right = order.index(right)
    new_texts = [texts[old] for old in order]
    new_text = text
    if block is not None:
        new_text = _splice(text, [(o.start, o.end, new_texts[k]) for k, o in enumerate(block)])
    expected: Any = _KEEP
    expected_value = case.get("expected")
    if form == "letter" and isinstance(expected_value, str):
        letter = _LETTERS[new_right]
        expected = re.sub(
            r"[A-Ha-h]", lambda m: letter if m.group().isupper() else letter.lower(), expected_value, count=1
        )
    new_metadata: dict[str, Any] = {}
    if choices is not None:
        new_metadata["choices"] = new_texts
    if isinstance(metadata.get("answer_index"), int):
        new_metadata["answer_index"] = new_right
    detail = {
        "order": order,
        "answer": [_LETTERS[right], _LETTERS[new_right]],
        "where": "prompt" if block is not None else "metadata",
    }
    return Change(new_text, detail, expected=expected, metadata=new_metadata)


# -- numbers -----------------------------------------------------------------------------------


def _new_expected(expected: Any, old: Fraction, new: Fraction, solution: str | None) -> Any:
    """``expected`` with the answer ``old`` replaced by ``new``, in the same form; raises
    ValueError when ``expected`` does not hold ``old``."""
    if expected is None:
        return _numbers.format_decimal(new)
    if isinstance(expected, bool):
        raise ValueError("expected is a boolean")
    if isinstance(expected, int | float):
        if Fraction(repr(expected) if isinstance(expected, float) else expected) != old:
            raise ValueError("expected is not the solution's answer")
        if isinstance(expected, int) and new.denominator == 1:
            return int(new)
        return float(new)
    if isinstance(expected, str):
        if solution is not None and expected.strip() == solution.strip():
            return None  # the caller puts the new solution there
        matches = [
            m
            for m in re.finditer(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d])", expected)
            if Fraction(m.group().replace(",", "")) == old
        ]
        if len(matches) != 1:
            raise ValueError("expected does not hold the solution's answer once")
        match = matches[-1]
        written = match.group()
        decimals = len(written.partition(".")[2])
        places = _numbers._terminating_places(new)
        new_text = _numbers.format_decimal(
            new,
            decimals=decimals if places is not None and places <= decimals else None,
            commas="," in written,
        )
        return expected[: match.start()] + new_text + expected[match.end() :]
    raise ValueError("expected is not a number or a text")


@register_perturbation(
    "numbers",
    "word problems with new numbers, answer recomputed (needs metadata.solution or metadata.template)",
)
def numbers(target: Target, rng: random.Random) -> Outcome:
    case = target.case
    metadata = case.get("metadata") or {}
    template, solution = metadata.get("template"), metadata.get("solution")
    where = f"case {case.get('id')!r}"
    try:
        if template is not None:
            compiled = _numbers.parse_template(template, where=where, expected=case.get("expected"))
            result = compiled.retemplate(rng)
            old_answer = compiled.answer(compiled.values) if compiled.values is not None else None
        elif isinstance(solution, str):
            result = _numbers.retemplate_gsm8k(target.text, solution, rng)
            old_answer = _numbers.derive_program(target.text, solution).answer
        else:
            return NotApplicable("no solution template (metadata.solution or metadata.template)")
    except _numbers.NotDerivable as exc:
        return NotApplicable(exc.reason)
    new_metadata: dict[str, Any] = {}
    if result.solution is not None:
        new_metadata["solution"] = result.solution
    if isinstance(template, Mapping):
        new_metadata["template"] = {**template, "values": result.detail["values"]}
    expected_value = case.get("expected")
    if old_answer is None:  # a template without the case's own values: nothing to compare
        old_answer = _numbers._number_or_none(expected_value)
        if old_answer is None:
            expected_value = None
    try:
        expected = _new_expected(
            expected_value,
            old_answer or Fraction(0),
            result.answer,
            solution if isinstance(solution, str) else None,
        )
    except ValueError as exc:
        return NotApplicable(str(exc))
    if expected is None:
        expected = result.solution
    return Change(result.question, result.detail, expected=expected, metadata=new_metadata)


# -- running -----------------------------------------------------------------------------------


_REDRAWS: Final = 3


def _rng(seed: int, case_id: str, kind: str, variant: int, attempt: int = 0) -> random.Random:
    """The generator of one (case, kind, variant): independent of every other case."""
    salt = f"\0{attempt}" if attempt else ""
    digest = hashlib.sha256(f"{seed}\0{case_id}\0{kind}\0{variant}{salt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _as_dict(case: Mapping[str, Any] | Case) -> dict[str, Any]:
    dump = getattr(case, "model_dump", None)
    if callable(dump):
        result: dict[str, Any] = dump(mode="json", exclude_defaults=True)
        return result
    if not isinstance(case, Mapping):
        raise ConfigError(
            f"a case must be a mapping, not {type(case).__name__}", hint="pass case dicts or Case objects"
        )
    return dict(case)


def _check_kinds(
    kinds: Sequence[str], settings: Mapping[str, Mapping[str, Any]] | None
) -> list[Perturbation]:
    if not kinds:
        raise ConfigError("no perturbation kind given", hint=f"kinds: {', '.join(PERTURBATIONS)}")
    chosen = []
    for name in kinds:
        if name not in PERTURBATIONS:
            raise ConfigError(
                f"unknown perturbation {name!r}{did_you_mean(name, PERTURBATIONS)}",
                hint=f"kinds: {', '.join(PERTURBATIONS)}",
            )
        chosen.append(PERTURBATIONS[name])
    for name, values in (settings or {}).items():
        if name not in PERTURBATIONS:
            raise ConfigError(
                f"settings for unknown perturbation {name!r}", hint=f"kinds: {', '.join(PERTURBATIONS)}"
            )
        unknown = set(values) - set(PERTURBATIONS[name].settings)
        if unknown:
            known = ", ".join(PERTURBATIONS[name].settings) or "none"
            raise ConfigError(
                f"perturbation {name}: unknown setting {sorted(unknown)[0]!r}", hint=f"its settings: {known}"
            )
    return chosen


@dataclass(slots=True)
class _Job:
    case: dict[str, Any]
    location: Location
    kind: Perturbation
    variant: int
    target: Target
    rng: random.Random


def _jobs(
    cases: Iterable[Mapping[str, Any] | Case],
    kinds: Sequence[Perturbation],
    report: PerturbReport,
    seed: int,
    variants: int,
) -> Iterator[list[_Job]]:
    """Per case, the (kind, variant) jobs to run, in a fixed order; cases that no kind can
    touch are counted here."""
    if variants < 1:
        raise ConfigError(f"variants must be at least 1, not {variants}", hint="--variants 1")
    for raw in cases:
        case = _as_dict(raw)
        report.cases += 1
        case_id = case.get("id")
        if not isinstance(case_id, str | int) or isinstance(case_id, bool):
            raise ConfigError(
                f"case #{report.cases}: has no id", hint="every case needs an id to link its perturbations"
            )
        case_id = str(case_id)
        metadata = case.get("metadata") or {}
        located = _locate(case)
        jobs = []
        for kind in kinds:
            if "perturbation" in metadata:
                report.skip(case_id, kind.name, NotApplicable("already a perturbed case"))
                continue
            if located is None:
                report.skip(case_id, kind.name, NotApplicable("no user text (input or a user message)"))
                continue
            location, text = located
            for variant in range(variants):
                rng = _rng(seed, case_id, kind.name, variant)
                jobs.append(_Job(case, location, kind, variant, Target(case, text, variant), rng))
        yield jobs


def _fingerprint(outcome: Change) -> str:
    expected = "=" if outcome.expected is _KEEP else repr(outcome.expected)
    return repr((outcome.text, expected, sorted(outcome.metadata.items())))


def _repeats(job: _Job, outcome: Outcome, seen: dict[tuple[str, str], set[str]]) -> bool:
    """Whether ``outcome`` is the original or a variant already made of the same case."""
    if isinstance(outcome, NotApplicable):
        return False
    made = seen.setdefault((str(job.case["id"]), job.kind.name), {repr((job.target.text, "=", []))})
    return _fingerprint(outcome) in made


def _finish(
    job: _Job, outcome: Outcome, seen: dict[tuple[str, str], set[str]], report: PerturbReport
) -> dict[str, Any] | None:
    from ..config import Case

    case_id = str(job.case["id"])
    if isinstance(outcome, NotApplicable):
        report.skip(case_id, job.kind.name, outcome)
        return None
    if _repeats(job, outcome, seen):
        report.skip(
            case_id, job.kind.name, NotApplicable("the variant repeats the original or an earlier variant")
        )
        return None
    seen[(case_id, job.kind.name)].add(_fingerprint(outcome))
    perturbed = copy.deepcopy(job.case)
    new_id = f"{case_id}~{job.kind.name}" + (f"-{job.variant + 1}" if job.variant else "")
    perturbed["id"] = new_id
    _put(perturbed, job.location, outcome.text)
    if outcome.expected is not _KEEP:
        perturbed["expected"] = outcome.expected
    metadata = dict(perturbed.get("metadata") or {})
    metadata.update(outcome.metadata)
    metadata["original_id"] = case_id
    metadata["perturbation"] = job.kind.name
    metadata["perturbation_detail"] = outcome.detail
    perturbed["metadata"] = metadata
    checked = Case.model_validate(perturbed)  # a perturbed case must load like any other
    report.produced[job.kind.name] += 1
    result: dict[str, Any] = checked.model_dump(mode="json", exclude_defaults=True)
    return result


def iter_perturbed(
    cases: Iterable[Mapping[str, Any] | Case],
    kinds: Sequence[str],
    *,
    report: PerturbReport,
    seed: int = 0,
    variants: int = 1,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Perturbed cases, one case at a time (a large set never sits in memory), counted in
    ``report``. ``settings`` are per-kind keyword settings, e.g. ``{"typos": {"rate": 0.1}}``.
    Kinds that need a model (``paraphrase``) run only in :func:`aperturb_cases`."""
    chosen = _check_kinds(kinds, settings)
    for kind in chosen:
        if kind.needs_model:
            raise ConfigError(
                f"perturbation {kind.name!r} asks a model",
                hint="use aperturb_cases(..., paraphraser=...) (the command: --model NAME)",
            )
    seen: dict[tuple[str, str], set[str]] = {}
    for jobs in _jobs(cases, chosen, report, seed, variants):
        for job in jobs:
            assert job.kind.apply is not None
            extra = (settings or {}).get(job.kind.name, {})
            outcome = job.kind.apply(job.target, job.rng, **extra)
            # A variant that repeats an earlier one gets a few more draws of its own.
            for attempt in range(1, _REDRAWS + 1):
                if not _repeats(job, outcome, seen):
                    break
                retry = _rng(seed, str(job.case["id"]), job.kind.name, job.variant, attempt)
                outcome = job.kind.apply(job.target, retry, **extra)
            perturbed = _finish(job, outcome, seen, report)
            if perturbed is not None:
                yield perturbed
        seen.clear()


def perturb_cases(
    cases: Iterable[Mapping[str, Any] | Case],
    kinds: Sequence[str],
    *,
    seed: int = 0,
    variants: int = 1,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], PerturbReport]:
    """Every perturbed case of ``cases`` for ``kinds`` (see the module doc) and the report."""
    report = PerturbReport()
    out = list(iter_perturbed(cases, kinds, report=report, seed=seed, variants=variants, settings=settings))
    return out, report


async def aperturb_cases(
    cases: Iterable[Mapping[str, Any] | Case],
    kinds: Sequence[str],
    *,
    seed: int = 0,
    variants: int = 1,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    paraphraser: Paraphraser | None = None,
    concurrency: int = 4,
) -> tuple[list[dict[str, Any]], PerturbReport]:
    """:func:`perturb_cases` with the kinds that ask a model: up to ``concurrency`` model
    calls at once, the output in the same order as the synchronous run's."""
    chosen = _check_kinds(kinds, settings)
    if any(kind.needs_model for kind in chosen) and paraphraser is None:
        raise ConfigError(
            "perturbation 'paraphrase' needs a model", hint="pass paraphraser= (the command: --model NAME)"
        )
    report = PerturbReport()
    limit = asyncio.Semaphore(max(1, concurrency))

    async def run(job: _Job) -> Outcome:
        extra = (settings or {}).get(job.kind.name, {})
        if job.kind.apply_async is None:
            assert job.kind.apply is not None
            return job.kind.apply(job.target, job.rng, **extra)
        async with limit:
            return await job.kind.apply_async(job.target, job.rng, paraphraser, **extra)

    out: list[dict[str, Any]] = []
    batch: list[_Job] = []
    seen: dict[tuple[str, str], set[str]] = {}

    async def flush() -> None:
        outcomes = await asyncio.gather(*(run(job) for job in batch))
        for job, outcome in zip(batch, outcomes, strict=True):
            perturbed = _finish(job, outcome, seen, report)
            if perturbed is not None:
                out.append(perturbed)
        batch.clear()
        seen.clear()

    for jobs in _jobs(cases, chosen, report, seed, variants):
        batch.extend(jobs)
        if len(batch) >= 8 * max(1, concurrency):
            await flush()
    await flush()
    return out, report
