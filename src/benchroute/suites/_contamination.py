"""Contamination probes: did a model see this dataset before it was benchmarked on it?

Two probes, one report each (``benchroute dataset probe``):

**n-gram overlap** (:func:`ngram_overlap`) looks for a dataset's text in a reference corpus
the user supplies (text files, JSONL with a text field, directories of them, gzipped or not),
the way the GPT-3 and Llama papers screened their benchmarks: text is normalised (NFKC, case
folded, word tokens ``\\w+``), cut into n-grams (13 by default) and a case is contaminated
when any of its n-grams occurs in the corpus (or a share of them, ``min_fraction``). Every
n-gram is hashed to 64 bits (each token by BLAKE2b, the n tokens combined polynomially and
mixed by the SplitMix64 finaliser, vectorised in numpy), so the corpus side is a sorted
array of unique ``uint64``: it is built in chunks of a few million hashes, each sorted and
de-duplicated, and merged like an LSM tree (a run is merged into the previous one while it
is at least half its size), so a corpus of hundreds of MB costs 8 bytes per distinct n-gram
and streams through in constant working memory. When the corpus is screened for one dataset
the builder keeps only the n-grams that dataset has (``CorpusIndex.build(only=...)``), so the
index is as small as the dataset; a full :class:`CorpusIndex` can be built once, saved as
``.npy`` and memory-mapped for many datasets. Collisions of 64-bit hashes are negligible at
these sizes (about 2**-64 per pair). Per case the report has its n-grams, how many matched,
the overlap fraction and the longest matched run in tokens; per dataset, the share of
contaminated cases and the worst cases — ids and figures only, never the text.

**Completion probe** (:func:`completion_probe`): a model that memorised an item continues it
verbatim when shown its first half. Verbatim continuation also happens for formulaic text no
model needs to have seen, so every item is paired with a *control*: the same item with its
sentences shuffled, every number redrawn and a share of its longer words permuted among
themselves. The control keeps the item's vocabulary and length, but its true continuation is
not the original's, so memory of the original does not predict it: the probe checks this per
case (``control_leak``, how well the original's own continuation matches the control's; a
control too close to the original is perturbed harder, else the case is skipped). Each reply
is scored against the true continuation by ``match``: the share of the continuation's tokens
the reply reproduces in order, in runs of at least three tokens (difflib's matching blocks),
and by its longest common token prefix. The dataset verdict is paired: mean match on
originals minus controls, a percentile bootstrap interval of that mean and a one-sided
Wilcoxon signed-rank test; the model is flagged when the difference is at least
``min_difference``, its interval is above zero and p < ``alpha``. A provider error is an
error of its case (excluded and counted), never a match of 0.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import random
import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .._errors import BenchrouteError, ConfigError
from ..config import Case, ModelSpec
from ..providers import CompletionRequest, Message
from ._label import _bounded, _check_model, _error_text, model_context

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ..scorers import ScoringContext

__all__ = [
    "DEFAULT_NGRAM",
    "CaseOverlap",
    "CaseProbe",
    "CompletionProbeReport",
    "ContaminationReport",
    "ContinuationScore",
    "CorpusIndex",
    "CorpusStats",
    "ProbeItem",
    "case_text",
    "completion_probe",
    "continuation_match",
    "control_text",
    "ngram_hashes",
    "ngram_overlap",
    "normalised_tokens",
    "probe_items",
]

DEFAULT_NGRAM = 13
# Bumped whenever tokens or hashes change: a saved index of another version cannot be compared.
HASH_VERSION = 1
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_NUMBER = re.compile(r"\d+")
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: the polynomial combination is invertible per step
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TOKEN_CACHE_LIMIT = 1_000_000
_CHUNK_HASHES = 4_000_000  # ~32 MB of pending n-grams before they are sorted into a run
_BLOCK_CHARS = 1 << 20  # text files are tokenised a megabyte at a time
_TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".rst"})
_JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})


# --- text, tokens, hashes ----------------------------------------------------------------------


def normalised_tokens(text: str) -> list[str]:
    """The word tokens n-grams are made of: NFKC-normalised, case-folded ``\\w+`` runs, so
    punctuation, spacing and case never hide a copied passage."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def case_text(case: Case) -> str:
    """What of a case a model could have seen in training: its conversation (every message's
    text), its input, its text ``vars``, its answer options (``metadata.choices``) and its
    ``expected`` answer, joined by newlines. Retrieved ``passages`` are left out: they are
    the context a case supplies, not the item."""
    parts: list[str] = []
    if case.messages:
        parts += [m.text() for m in case.messages]
    if case.input is not None:
        parts.append(case.input)
    parts += [value for value in case.vars.values() if isinstance(value, str)]
    choices = case.metadata.get("choices")
    if isinstance(choices, list):
        parts += [c for c in choices if isinstance(c, str)]
    if case.expected is not None:
        expected = case.expected
        parts.append(expected if isinstance(expected, str) else json.dumps(expected, ensure_ascii=False))
    return "\n".join(p for p in parts if p)


class _Hasher:
    """64-bit token and n-gram hashes. Token hashes are cached (word frequencies are Zipfian,
    so a bounded cache answers nearly every lookup); the cache is emptied when it passes a
    million entries so a corpus with an unbounded vocabulary stays in bounded memory."""

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a whole number >= 1, got {n!r}")
        self.n = n
        self._cache: dict[str, int] = {}

    def tokens(self, tokens: list[str]) -> NDArray[np.uint64]:
        # Set difference and map() run in C: only a block's new words are hashed in Python.
        cache = self._cache
        missing = set(tokens).difference(cache)
        if missing:
            if len(cache) + len(missing) > _TOKEN_CACHE_LIMIT:
                cache.clear()
                missing = set(tokens)
            for token in missing:
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                cache[token] = int.from_bytes(digest, "little")
        return np.array(list(map(cache.__getitem__, tokens)), dtype=np.uint64)

    def ngrams(self, token_hashes: NDArray[np.uint64]) -> NDArray[np.uint64]:
        """One hash per window of ``n`` consecutive tokens (empty when there are fewer)."""
        windows = token_hashes.shape[0] - self.n + 1
        if windows <= 0:
            return np.empty(0, dtype=np.uint64)
        acc = token_hashes[:windows].copy()
        for offset in range(1, self.n):  # uint64 arithmetic wraps: the hash is mod 2**64
            acc *= _MULTIPLIER
            acc += token_hashes[offset : offset + windows]
        acc ^= acc >> np.uint64(30)
        acc *= _MIX1
        acc ^= acc >> np.uint64(27)
        acc *= _MIX2
        acc ^= acc >> np.uint64(31)
        return acc


def ngram_hashes(text: str, n: int = DEFAULT_NGRAM) -> NDArray[np.uint64]:
    """The hashes of ``text``'s word n-grams, in order (one per position)."""
    hasher = _Hasher(n)
    return hasher.ngrams(hasher.tokens(normalised_tokens(text)))


def _in_sorted(sorted_unique: NDArray[np.uint64], values: NDArray[np.uint64]) -> NDArray[np.bool_]:
    """Which ``values`` are in ``sorted_unique`` (binary search: works on a memory-mapped index)."""
    if sorted_unique.shape[0] == 0 or values.shape[0] == 0:
        return np.zeros(values.shape[0], dtype=np.bool_)
    at = np.searchsorted(sorted_unique, values)
    at[at == sorted_unique.shape[0]] = 0
    return np.asarray(sorted_unique[at] == values)


# --- the corpus ---------------------------------------------------------------------------------


@dataclass(slots=True)
class CorpusStats:
    """What was read of a corpus (``bad_lines``: JSONL lines skipped with ``skip_bad``)."""

    files: int = 0
    documents: int = 0
    tokens: int = 0
    ngrams: int = 0  # n-gram positions read
    bad_lines: int = 0
    skipped_files: int = 0  # files in a directory that are neither text nor JSONL

    def to_json(self) -> dict[str, int]:
        return {
            "files": self.files,
            "documents": self.documents,
            "tokens": self.tokens,
            "ngrams": self.ngrams,
            "bad_lines": self.bad_lines,
            "skipped_files": self.skipped_files,
        }


def _kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in _JSONL_SUFFIXES:
        return "jsonl"
    return "text" if last in _TEXT_SUFFIXES else "other"


def _open(path: Path) -> IO[str]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def _corpus_files(sources: Iterable[str | Path], stats: CorpusStats) -> Iterator[tuple[Path, str]]:
    for source in sources:
        path = Path(source)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if not child.is_file() or any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                kind = _kind(child)
                if kind == "other":
                    stats.skipped_files += 1
                    continue
                yield child, kind
        elif path.is_file():
            kind = _kind(path)
            yield path, "jsonl" if kind == "jsonl" else "text"  # a file named on purpose is read
        else:
            raise ConfigError(
                f"{path}: no such corpus file or directory",
                hint="name text files, JSONL files or directories of them",
            )


def _jsonl_text(path: Path, number: int, line: str, text_field: str) -> str | None:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{number}:{exc.colno}: not JSON: {exc.msg}") from None
    value = row.get(text_field) if isinstance(row, dict) else None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if not isinstance(value, str):
        raise ValueError(f"{path}:{number}: {text_field}: no text field {text_field!r} in this record")
    return value


def _corpus_blocks(
    sources: Iterable[str | Path], text_field: str, skip_bad: bool, stats: CorpusStats
) -> Iterator[tuple[bool, str]]:
    """``(starts_a_document, text)`` blocks of the corpus: a JSONL record is one document, a
    text file is one document read a megabyte at a time (cut at line ends, never in a word)."""
    for path, kind in _corpus_files(sources, stats):
        stats.files += 1
        try:
            with _open(path) as handle:
                if kind == "jsonl":
                    for number, line in enumerate(handle, 1):
                        if not line.strip():
                            continue
                        try:
                            text = _jsonl_text(path, number, line, text_field)
                        except ValueError as exc:
                            if not skip_bad:
                                raise ConfigError(
                                    str(exc),
                                    hint="fix the line, name the field with --text-field, or --skip-bad",
                                ) from None
                            stats.bad_lines += 1
                            continue
                        stats.documents += 1
                        yield True, text or ""
                    continue
                stats.documents += 1
                first, pending, size = True, [], 0
                for line in handle:
                    pending.append(line)
                    size += len(line)
                    if size >= _BLOCK_CHARS:
                        yield first, "".join(pending)
                        first, pending, size = False, [], 0
                if pending or first:
                    yield first, "".join(pending)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the corpus file ({exc.strerror or exc})") from None


class _Runs:
    """Sorted unique ``uint64`` runs merged LSM-style (see the module doc)."""

    def __init__(self, only: NDArray[np.uint64] | None) -> None:
        self.only = only
        self.pending: list[NDArray[np.uint64]] = []
        self.pending_size = 0
        self.runs: list[NDArray[np.uint64]] = []

    def add(self, hashes: NDArray[np.uint64]) -> None:
        if self.only is not None:
            hashes = hashes[_in_sorted(self.only, hashes)]
        if hashes.shape[0] == 0:
            return
        self.pending.append(hashes)
        self.pending_size += hashes.shape[0]
        if self.pending_size >= _CHUNK_HASHES:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        self.runs.append(_sorted_unique(np.concatenate(self.pending)))
        self.pending, self.pending_size = [], 0
        while len(self.runs) > 1 and self.runs[-1].shape[0] * 2 >= self.runs[-2].shape[0]:
            self.runs.append(_merge(self.runs))

    def finish(self) -> NDArray[np.uint64]:
        self._flush()
        while len(self.runs) > 1:
            self.runs.append(_merge(self.runs))
        return self.runs.pop() if self.runs else np.empty(0, dtype=np.uint64)


def _sorted_unique(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """``values`` sorted (in place) without repeats. Cheaper than ``np.unique``, which in
    numpy 2 de-duplicates through a hash table before it sorts: 10x slower on these arrays."""
    if values.shape[0] < 2:
        return values
    values.sort(kind="stable")  # on two concatenated sorted runs, timsort is a linear merge
    keep = np.empty(values.shape[0], dtype=np.bool_)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _merge(runs: list[NDArray[np.uint64]]) -> NDArray[np.uint64]:
    """The sorted union of the last two runs of ``runs``, popped: the list drops its
    references before the copy is made, so a merge holds about twice its output at most."""
    newer, older = runs.pop(), runs.pop()
    both = np.concatenate((older, newer))
    del newer, older
    return _sorted_unique(both)


@dataclass(frozen=True, slots=True)
class CorpusIndex:
    """The distinct n-gram hashes of a reference corpus, sorted (see the module doc)."""

    hashes: NDArray[np.uint64]
    n: int = DEFAULT_NGRAM
    stats: CorpusStats = field(default_factory=CorpusStats)

    @classmethod
    def build(
        cls,
        sources: Iterable[str | Path],
        *,
        n: int = DEFAULT_NGRAM,
        text_field: str = "text",
        skip_bad: bool = False,
        only: NDArray[np.uint64] | None = None,
    ) -> CorpusIndex:
        """Stream ``sources`` (files or directories) into an index. ``text_field``: the field
        of a JSONL record that holds its text. ``skip_bad``: count and skip JSONL lines that
        are not JSON or lack the field, instead of a :class:`ConfigError` naming the line.
        ``only``: keep just these hashes (sorted unique; a dataset's), to screen one dataset
        in the memory of its own n-grams."""
        hasher = _Hasher(n)
        stats = CorpusStats()
        runs = _Runs(_sorted_unique(np.array(only, dtype=np.uint64)) if only is not None else None)
        tail = np.empty(0, dtype=np.uint64)  # the last n-1 tokens of the document being read
        for starts, text in _corpus_blocks(sources, text_field, skip_bad, stats):
            tokens = hasher.tokens(normalised_tokens(text))
            stats.tokens += tokens.shape[0]
            if not starts and tail.shape[0]:
                tokens = np.concatenate((tail, tokens))
            grams = hasher.ngrams(tokens)
            stats.ngrams += grams.shape[0]
            runs.add(grams)
            tail = tokens[-(n - 1) :] if n > 1 else np.empty(0, dtype=np.uint64)
        return cls(runs.finish(), n, stats)

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    def contains(self, hashes: NDArray[np.uint64]) -> NDArray[np.bool_]:
        """Which of ``hashes`` occur in the corpus."""
        return _in_sorted(self.hashes, hashes)

    def save(self, path: str | Path) -> None:
        """Write the index as ``path`` (``.npy``) and its settings beside it (``.json``)."""
        path = Path(path)
        np.save(path, self.hashes, allow_pickle=False)
        meta = {"hash_version": HASH_VERSION, "n": self.n, "stats": self.stats.to_json()}
        path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, *, mmap: bool = True) -> CorpusIndex:
        """Read an index :meth:`save` wrote, memory-mapped unless ``mmap=False``."""
        path = Path(path)
        try:
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            hashes = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a corpus index ({exc})", hint="build it again") from None
        if meta.get("hash_version") != HASH_VERSION or hashes.dtype != np.uint64:
            raise ConfigError(
                f"{path}: corpus index of hash version {meta.get('hash_version')}, this is {HASH_VERSION}",
                hint="build the index again with this version of benchroute",
            )
        return cls(hashes, int(meta["n"]), CorpusStats(**meta.get("stats", {})))


# --- n-gram overlap report -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseOverlap:
    """How much of one case is in the corpus (``longest_match``: tokens of the longest run of
    consecutive matched n-grams; 0 when none matched)."""

    id: str
    tokens: int
    ngrams: int
    matched: int
    fraction: float
    longest_match: int
    contaminated: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tokens": self.tokens,
            "ngrams": self.ngrams,
            "matched": self.matched,
            "fraction": round(self.fraction, 4),
            "longest_match": self.longest_match,
            "contaminated": self.contaminated,
        }


@dataclass(frozen=True, slots=True)
class ContaminationReport:
    """The n-gram overlap of a dataset with a corpus. ``too_short`` cases have fewer tokens
    than ``n`` and cannot be screened (they are never counted contaminated)."""

    n: int
    min_fraction: float
    cases: list[CaseOverlap]
    corpus: CorpusStats
    dataset: str | None = None

    @property
    def contaminated(self) -> list[CaseOverlap]:
        return [case for case in self.cases if case.contaminated]

    @property
    def screened(self) -> int:
        return sum(1 for case in self.cases if case.ngrams)

    @property
    def too_short(self) -> int:
        return len(self.cases) - self.screened

    @property
    def share(self) -> float | None:
        """Contaminated cases over screened cases (None: nothing could be screened)."""
        return len(self.contaminated) / self.screened if self.screened else None

    def worst(self, limit: int = 10) -> list[CaseOverlap]:
        """The most overlapping cases, largest fraction (then longest run) first."""
        ranked = sorted(
            (case for case in self.cases if case.matched),
            key=lambda c: (-c.fraction, -c.longest_match, c.id),
        )
        return ranked[:limit]

    def to_json(self, *, worst: int = 20, all_cases: bool = False) -> dict[str, Any]:
        """The report: figures and case ids, never case text."""
        out: dict[str, Any] = {
            "version": 1,
            "probe": "ngram_overlap",
            "dataset": self.dataset,
            "n": self.n,
            "min_fraction": self.min_fraction,
            "corpus": self.corpus.to_json(),
            "cases": len(self.cases),
            "screened": self.screened,
            "too_short": self.too_short,
            "contaminated": len(self.contaminated),
            "share": self.share,
            "worst": [case.to_json() for case in self.worst(worst)],
        }
        if all_cases:
            out["per_case"] = [case.to_json() for case in self.cases]
        return out

    def rows(self, limit: int = 10) -> list[dict[str, str]]:
        """A terminal table of the worst cases: one row each, cells as text."""
        return [
            {
                "case": case.id,
                "overlap": f"{case.fraction:.0%}",
                "matched": f"{case.matched}/{case.ngrams}",
                "longest": f"{case.longest_match} tok",
            }
            for case in self.worst(limit)
        ]


def _longest_run(mask: NDArray[np.bool_]) -> int:
    if not mask.any():
        return 0
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def ngram_overlap(
    cases: Sequence[Case],
    corpus: CorpusIndex | Iterable[str | Path],
    *,
    n: int = DEFAULT_NGRAM,
    min_fraction: float = 0.0,
    text_field: str = "text",
    skip_bad: bool = False,
    dataset: str | None = None,
) -> ContaminationReport:
    """Screen ``cases`` (their :func:`case_text`) against ``corpus``: a built
    :class:`CorpusIndex` (its ``n`` is used) or files and directories to stream (only the
    dataset's own n-grams are kept while reading them). A case is contaminated when its
    matched share of n-grams is above ``min_fraction`` (0: any match)."""
    if not 0.0 <= min_fraction < 1.0:
        raise ValueError(f"min_fraction must be in [0, 1), got {min_fraction}")
    if isinstance(corpus, CorpusIndex):
        n = corpus.n
    hasher = _Hasher(n)
    per_case: list[tuple[str, int, NDArray[np.uint64]]] = []
    for case in cases:
        words = normalised_tokens(case_text(case))
        per_case.append((case.id, len(words), hasher.ngrams(hasher.tokens(words))))
    if not isinstance(corpus, CorpusIndex):
        wanted = _sorted_unique(np.concatenate([g for _, _, g in per_case])) if per_case else None
        corpus = CorpusIndex.build(corpus, n=n, text_field=text_field, skip_bad=skip_bad, only=wanted)
    results = []
    for case_id, tokens, grams in per_case:
        mask = corpus.contains(grams)
        matched = int(mask.sum())
        fraction = matched / grams.shape[0] if grams.shape[0] else 0.0
        run = _longest_run(mask)
        results.append(
            CaseOverlap(
                id=case_id,
                tokens=tokens,
                ngrams=int(grams.shape[0]),
                matched=matched,
                fraction=fraction,
                longest_match=run + n - 1 if run else 0,
                contaminated=matched > 0 and fraction >= min_fraction,
            )
        )
    return ContaminationReport(n, min_fraction, results, corpus.stats, dataset)


# --- completion probe: items and controls --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContinuationScore:
    """How verbatim a reply continues a text: ``match`` (0..1, see :func:`continuation_match`)
    and the longest common token ``prefix`` of reply and continuation."""

    match: float
    prefix: int
    reference_tokens: int

    def to_json(self) -> dict[str, Any]:
        return {
            "match": round(self.match, 4),
            "prefix": self.prefix,
            "reference_tokens": self.reference_tokens,
        }


def continuation_match(
    reply: str, reference: str, *, min_block: int = 3, limit: int | None = None
) -> ContinuationScore:
    """Score ``reply`` as a continuation of ``reference``: the share of the reference's
    tokens found in order in the reply in runs of at least ``min_block`` tokens (shorter
    coincidences are common words, not memory), and the common token prefix. ``limit`` caps
    the reply tokens looked at (a reply that rambles on cannot collect matches by chance)."""
    ref = normalised_tokens(reference)
    got = normalised_tokens(reply)
    if limit is not None:
        got = got[:limit]
    if not ref:
        return ContinuationScore(0.0, 0, 0)
    prefix = 0
    for a, b in zip(got, ref, strict=False):
        if a != b:
            break
        prefix += 1
    blocks = SequenceMatcher(None, got, ref, autojunk=False).get_matching_blocks()
    covered = sum(block.size for block in blocks if block.size >= min(min_block, len(ref)))
    return ContinuationScore(covered / len(ref), prefix, len(ref))


def _redraw_number(match: re.Match[str], rng: random.Random) -> str:
    digits = match.group(0)
    if len(digits) == 1:
        return str(rng.choice([d for d in range(10) if str(d) != digits]))
    while True:
        value = str(rng.randint(10 ** (len(digits) - 1), 10 ** len(digits) - 1))
        if value != digits:
            return value


_CORE = re.compile(r"^(\W*)([^\W\d_]{4,})(\W*)$")


def _with_case(word: str, like: str) -> str:
    if like.isupper():
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:].lower()
    return word.lower()


def control_text(text: str, rng: random.Random, *, word_swap: float = 0.3) -> str:
    """A perturbed control of ``text``: sentences in another order (when there are several),
    every number redrawn with as many digits, and a ``word_swap`` share of the words of four
    letters or more permuted among themselves (case and punctuation stay in place)."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
    if len(sentences) > 1:
        order = list(range(len(sentences)))
        rng.shuffle(order)
        if order == sorted(order):
            order = order[1:] + order[:1]
        text = " ".join(sentences[i] for i in order)
    text = _NUMBER.sub(lambda m: _redraw_number(m, rng), text)
    words = text.split()
    slots = [i for i, w in enumerate(words) if _CORE.match(w)]
    chosen = (
        rng.sample(slots, min(len(slots), max(2, math.ceil(word_swap * len(slots)))))
        if len(slots) > 1
        else []
    )
    if len(chosen) > 1:
        parts = [_CORE.match(words[i]) for i in chosen]
        cores = [p.group(2) for p in parts if p is not None]
        rotated = cores[1:] + cores[:1]  # a rotation moves every chosen word
        for i, part, core in zip(chosen, parts, rotated, strict=True):
            assert part is not None
            words[i] = part.group(1) + _with_case(core, part.group(2)) + part.group(3)
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class ProbeItem:
    """What the probe sends for one case: the shown beginning and the true continuation of
    the original and of its control, and how well the original's continuation would score
    against the control's (``control_leak``: what a model that memorised the original could
    reach on the control without seeing it)."""

    id: str
    prompt: str
    continuation: str
    control_prompt: str
    control_continuation: str
    control_leak: float


def _halves(text: str, max_words: int) -> tuple[str, str]:
    words = text.split()
    cut = len(words) // 2
    return " ".join(words[max(0, cut - 4 * max_words) : cut]), " ".join(words[cut : cut + max_words])


def probe_items(
    cases: Sequence[Case],
    *,
    seed: int = 0,
    min_words: int = 16,
    max_words: int = 64,
    max_leak: float = 0.5,
) -> tuple[list[ProbeItem], dict[str, str]]:
    """The probe's items, and the cases it cannot probe (id -> why): fewer than
    ``min_words`` words, or no control whose leak is at most ``max_leak`` after perturbing
    harder twice. The continuation is the second half, cut at ``max_words`` words; the shown
    half is cut to its last ``4 * max_words``. Seeded per case (``seed`` and the id), so a
    probe can be repeated exactly."""
    items: list[ProbeItem] = []
    skipped: dict[str, str] = {}
    for case in cases:
        text = " ".join(case_text(case).split())
        if len(text.split()) < min_words:
            skipped[case.id] = f"fewer than {min_words} words"
            continue
        prompt, continuation = _halves(text, max_words)
        rng = random.Random(f"{seed}:{case.id}")
        for swap in (0.3, 0.5, 0.8):
            control = control_text(text, rng, word_swap=swap)
            control_prompt, control_continuation = _halves(control, max_words)
            leak = continuation_match(continuation, control_continuation).match
            if leak <= max_leak:
                items.append(
                    ProbeItem(case.id, prompt, continuation, control_prompt, control_continuation, leak)
                )
                break
        else:
            skipped[case.id] = f"no control with leak <= {max_leak:g} (its text repeats itself)"
    return items, skipped


# --- completion probe: run and report ------------------------------------------------------------

PROBE_SYSTEM = "You reproduce texts exactly as they appear in their original source."
PROBE_INSTRUCTION = (
    "Here is the beginning of a text. Continue it exactly, word for word, from where it stops. "
    "Reply with the continuation only: do not repeat the beginning and add no commentary."
)


def probe_request(beginning: str, continuation_words: int) -> CompletionRequest:
    """The request for one half: greedy, room for the continuation (tokens ~ 1.3 per word)."""
    return CompletionRequest(
        messages=[
            Message(role="system", content=PROBE_SYSTEM),
            Message(role="user", content=f"{PROBE_INSTRUCTION}\n\n{beginning}"),
        ],
        temperature=0.0,
        max_tokens=2 * continuation_words + 16,
    )


@dataclass(frozen=True, slots=True)
class CaseProbe:
    """One case of a completion probe: its original and control scores, or why it has none
    (``error``: a model call failed; ``skipped``: it could not be probed)."""

    id: str
    original: ContinuationScore | None = None
    control: ContinuationScore | None = None
    control_leak: float | None = None
    error: str | None = None
    skipped: str | None = None

    @property
    def difference(self) -> float | None:
        if self.original is None or self.control is None:
            return None
        return self.original.match - self.control.match

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.original is not None and self.control is not None:
            out.update(
                original=self.original.to_json(),
                control=self.control.to_json(),
                difference=round(self.original.match - self.control.match, 4),
                control_leak=None if self.control_leak is None else round(self.control_leak, 4),
            )
        if self.error is not None:
            out["error"] = self.error
        if self.skipped is not None:
            out["skipped"] = self.skipped
        return out


@dataclass(frozen=True, slots=True)
class CompletionProbeReport:
    """A model's verbatim continuation of a dataset's items against their controls.

    ``difference`` is the mean of original minus control match over the paired cases,
    ``interval`` its percentile bootstrap interval at ``confidence``, ``p_value`` the
    one-sided Wilcoxon signed-rank test that originals are continued better. ``flagged``:
    at least ``min_pairs`` pairs, difference >= ``min_difference``, interval above 0 and
    p < ``alpha``: the model probably saw these items."""

    model: str
    cases: list[CaseProbe]
    mean_original: float | None
    mean_control: float | None
    difference: float | None
    interval: tuple[float, float] | None
    p_value: float | None
    flagged: bool
    min_difference: float
    alpha: float
    confidence: float
    min_pairs: int
    verbatim_threshold: float
    dataset: str | None = None

    @property
    def paired(self) -> list[CaseProbe]:
        return [case for case in self.cases if case.difference is not None]

    @property
    def errors(self) -> int:
        return sum(1 for case in self.cases if case.error is not None)

    @property
    def skipped(self) -> int:
        return sum(1 for case in self.cases if case.skipped is not None)

    def _verbatim(self, which: str) -> int:
        scores = [getattr(case, which) for case in self.paired]
        return sum(1 for s in scores if s.match >= self.verbatim_threshold)

    def worst(self, limit: int = 10) -> list[CaseProbe]:
        """The paired cases whose originals beat their controls most."""
        return sorted(self.paired, key=lambda c: (-(c.difference or 0.0), c.id))[:limit]

    def to_json(self, *, all_cases: bool = True) -> dict[str, Any]:
        """The report: figures and case ids, never case text or replies."""
        out: dict[str, Any] = {
            "version": 1,
            "probe": "completion",
            "dataset": self.dataset,
            "model": self.model,
            "cases": len(self.cases),
            "paired": len(self.paired),
            "errors": self.errors,
            "skipped": self.skipped,
            "mean_original": self.mean_original,
            "mean_control": self.mean_control,
            "difference": self.difference,
            "interval": list(self.interval) if self.interval is not None else None,
            "confidence": self.confidence,
            "p_value": self.p_value,
            "flagged": self.flagged,
            "verbatim_originals": self._verbatim("original"),
            "verbatim_controls": self._verbatim("control"),
            "settings": {
                "min_difference": self.min_difference,
                "alpha": self.alpha,
                "min_pairs": self.min_pairs,
                "verbatim_threshold": self.verbatim_threshold,
            },
            "first_errors": [{"id": c.id, "error": c.error} for c in self.cases if c.error][:5],
        }
        if all_cases:
            out["per_case"] = [case.to_json() for case in self.cases]
        return out

    def rows(self) -> list[dict[str, str]]:
        """A one-row terminal table (per model) of the verdict."""

        def pct(value: float | None) -> str:
            return "-" if value is None else f"{value:.0%}"

        interval = "-" if self.interval is None else f"[{self.interval[0]:+.2f}, {self.interval[1]:+.2f}]"
        return [
            {
                "model": self.model,
                "pairs": str(len(self.paired)),
                "original": pct(self.mean_original),
                "control": pct(self.mean_control),
                "difference": "-" if self.difference is None else f"{self.difference:+.2f}",
                "interval": interval,
                "p": "-" if self.p_value is None else f"{self.p_value:.3g}",
                "verbatim": f"{self._verbatim('original')} vs {self._verbatim('control')}",
                "errors": str(self.errors),
                "verdict": "SUSPECT: continues originals verbatim" if self.flagged else "no sign",
            }
        ]


def paired_summary(
    differences: Sequence[float], *, confidence: float = 0.95, resamples: int = 5000, seed: int = 0
) -> tuple[float, tuple[float, float], float]:
    """Mean of paired differences, its percentile bootstrap interval (seeded) and the
    one-sided Wilcoxon signed-rank p-value for "the differences are positive"."""
    from scipy import stats

    values = np.asarray(differences, dtype=np.float64)
    if values.shape[0] == 0:
        raise ValueError("no paired differences")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.shape[0], size=(resamples, values.shape[0]))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    if not np.any(values != 0):
        p_value = 1.0
    else:
        with warnings.catch_warnings():  # small samples and ties: scipy warns about its method
            warnings.simplefilter("ignore")
            p_value = float(stats.wilcoxon(values, alternative="greater").pvalue)
    return float(values.mean()), (float(low), float(high)), p_value


async def completion_probe(
    cases: Sequence[Case],
    model: str,
    models: Mapping[str, ModelSpec],
    *,
    seed: int = 0,
    concurrency: int = 4,
    min_words: int = 16,
    max_words: int = 64,
    max_leak: float = 0.5,
    min_difference: float = 0.1,
    alpha: float = 0.05,
    confidence: float = 0.95,
    min_pairs: int = 8,
    verbatim_threshold: float = 0.5,
    dataset: str | None = None,
    context: ScoringContext | None = None,
) -> CompletionProbeReport:
    """Run the completion probe of ``cases`` on ``model`` (see the module doc and
    :func:`probe_items` for the items). Two calls per case, at most ``concurrency`` at a time,
    through ``context`` if given (not closed here), else a :func:`model_context` over
    ``models``. A case whose original or control call fails is an error, left out of the
    figures and counted."""
    items, skipped = probe_items(
        cases, seed=seed, min_words=min_words, max_words=max_words, max_leak=max_leak
    )
    own = context is None
    ctx = context if context is not None else model_context(models)
    try:
        _check_model(ctx, model, "probe")
        calls = [(item, original) for item in items for original in (True, False)]

        async def ask(call: tuple[ProbeItem, bool]) -> ContinuationScore | str:
            item, original = call
            beginning = item.prompt if original else item.control_prompt
            reference = item.continuation if original else item.control_continuation
            words = len(reference.split())
            try:
                reply = await ctx.generate(probe_request(beginning, words), model=model)
            except BenchrouteError as exc:
                return _error_text(exc)
            limit = len(normalised_tokens(beginning)) + 2 * len(normalised_tokens(reference)) + 8
            return continuation_match(reply.completion.text, reference, limit=limit)

        scores = await _bounded(calls, concurrency, ask)
    finally:
        if own:
            await ctx.aclose()
    by_id: dict[str, CaseProbe] = {}
    for index, item in enumerate(items):
        first, second = scores[2 * index], scores[2 * index + 1]
        if isinstance(first, str) or isinstance(second, str):
            error = first if isinstance(first, str) else second
            assert isinstance(error, str)
            by_id[item.id] = CaseProbe(item.id, control_leak=item.control_leak, error=error)
        else:
            by_id[item.id] = CaseProbe(item.id, first, second, item.control_leak)
    for case_id, why in skipped.items():
        by_id[case_id] = CaseProbe(case_id, skipped=why)
    ordered = [by_id[case.id] for case in cases if case.id in by_id]
    return _probe_report(
        model,
        ordered,
        min_difference=min_difference,
        alpha=alpha,
        confidence=confidence,
        min_pairs=min_pairs,
        verbatim_threshold=verbatim_threshold,
        seed=seed,
        dataset=dataset,
    )


def _probe_report(
    model: str,
    cases: list[CaseProbe],
    *,
    min_difference: float,
    alpha: float,
    confidence: float,
    min_pairs: int,
    verbatim_threshold: float,
    seed: int,
    dataset: str | None,
) -> CompletionProbeReport:
    paired = [case for case in cases if case.original is not None and case.control is not None]
    mean_original = mean_control = difference = p_value = None
    interval = None
    flagged = False
    if paired:
        originals = [c.original.match for c in paired if c.original is not None]
        controls = [c.control.match for c in paired if c.control is not None]
        mean_original, mean_control = float(np.mean(originals)), float(np.mean(controls))
        difference, interval, p_value = paired_summary(
            [a - b for a, b in zip(originals, controls, strict=True)], confidence=confidence, seed=seed
        )
        flagged = (
            len(paired) >= min_pairs and difference >= min_difference and interval[0] > 0 and p_value < alpha
        )
    return CompletionProbeReport(
        model=model,
        cases=cases,
        mean_original=mean_original,
        mean_control=mean_control,
        difference=difference,
        interval=interval,
        p_value=p_value,
        flagged=flagged,
        min_difference=min_difference,
        alpha=alpha,
        confidence=confidence,
        min_pairs=min_pairs,
        verbatim_threshold=verbatim_threshold,
        dataset=dataset,
    )
