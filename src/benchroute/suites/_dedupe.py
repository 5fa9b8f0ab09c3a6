"""Duplicate removal for golden sets: exact duplicates, then near-duplicates (MinHash LSH).

Production logs repeat themselves: the same question asked a hundred times, the same
prompt with one word changed. A golden set of 50–100 cases where a fifth are copies of each
other measures those few prompts five times over, so duplicates go before sampling.

What is compared is a case's *prompt side* and its expected answer: the text of its system,
developer and user messages (or its ``input``; its template ``vars`` when it has neither)
plus ``expected``, normalised (NFKC, case-folded, whitespace collapsed). Assistant turns
inside a conversation and tool results are left out: they are what a model said, not what
was asked. ``include_expected=False`` compares the prompt side alone (two logged replies to
one question then count as duplicates).

Both passes stream and keep the *first* case of each group, in input order;
:func:`dedupe_cases` chains them:

- :class:`ExactDeduper` keeps one 16-byte BLAKE2b digest per distinct case in a flat
  open-addressing table: 32–64 bytes per distinct case (96 for a moment while the table
  doubles; a Python ``set`` of ``bytes`` would take ~90), so 100k cases cost ~6 MB and a
  log of ten million distinct rows at most ~640 MB.
- :class:`NearDeduper` estimates the Jaccard similarity of word shingles with
  ``datasketch`` MinHash signatures and finds candidates with its ``MinHashLSH`` index
  (threshold 0.8). Only *kept* cases are indexed: a case whose estimated similarity to a
  kept one reaches the threshold is dropped and listed under it, so a chain A≈B≈C where C
  is far from A keeps A and C. Shingles are word pairs by default: on the GSM8K questions
  alone (43 words on median), pairs find 93% of planted one-word edits and 3-word shingles
  79%, and neither takes a distinct question for another. Memory per kept case, measured
  with ``num_perm=128``: ~3 kB (tracemalloc) — ~2.5 kB of LSH index (9 bands of 13, band
  keys hashed to 8 bytes) and 512 B of signature kept for the Jaccard estimate; 100k kept
  cases took ~370 MB of RSS and ~14 s on one core, ``num_perm=64`` ~215 MB. The
  estimate's standard error is about sqrt(J(1-J)/num_perm) (±0.035 at J=0.8 with 128
  permutations), so pairs right at the threshold may fall either way.

Reports name case ids only, never text: the cases may not have been scrubbed yet.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    from ..config import Case

DIGEST_BYTES = 16
_PROMPT_ROLES = frozenset({"system", "developer", "user"})
_WORD = re.compile(r"\w+")
_EXAMPLES = 20  # dropped ids kept in a report for exact duplicates


def _as_dict(case: Mapping[str, Any] | Case) -> Mapping[str, Any]:
    if isinstance(case, Mapping):
        return case
    return case.model_dump(mode="json", exclude_defaults=True)


def normalise_text(text: str) -> str:
    """``text`` as duplicates are compared: NFKC, case-folded, runs of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _compared_parts(case: Mapping[str, Any], include_expected: bool) -> list[tuple[str, str]]:
    """(label, text) of what duplicates are judged on, in case order."""
    parts: list[tuple[str, str]] = []
    if isinstance(case.get("input"), str):
        parts.append(("user", case["input"]))
    for message in case.get("messages") or ():
        if isinstance(message, Mapping) and message.get("role") in _PROMPT_ROLES:
            parts.append((str(message["role"]), _content_text(message.get("content"))))
    if not parts and case.get("vars"):
        parts.append(("vars", json.dumps(case["vars"], sort_keys=True, ensure_ascii=False, default=str)))
    expected = case.get("expected")
    if include_expected and expected is not None:
        text = expected if isinstance(expected, str) else json.dumps(expected, sort_keys=True, default=str)
        parts.append(("expected", text))
    return parts


def case_digest(case: Mapping[str, Any] | Case, *, include_expected: bool = True) -> bytes:
    """The 16-byte digest two exact duplicates share (see the module doc for what counts)."""
    parts = _compared_parts(_as_dict(case), include_expected)
    # Labels and a separator that normalisation cannot produce keep "a"+"bc" apart from "ab"+"c".
    joined = "\x1f".join(f"{label}\x1e{normalise_text(text)}" for label, text in parts)
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=DIGEST_BYTES).digest()


class DigestSet:
    """A set of 16-byte digests in one ``bytearray`` (linear probing, at most half full).

    32–64 bytes per digest, against ~90 for a ``set`` of ``bytes`` objects: exact
    deduplication of a log of millions of rows stays within the import's memory budget."""

    _EMPTY = bytes(DIGEST_BYTES)
    _STAND_IN = bytes(DIGEST_BYTES - 1) + b"\x01"  # the all-zero digest (p = 2^-128) marks empty slots

    def __init__(self, capacity: int = 1024) -> None:
        slots = 16
        while slots < 2 * capacity:
            slots *= 2
        self._slots = slots
        self._table = bytearray(DIGEST_BYTES * slots)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return len(self._table)

    def add(self, digest: bytes) -> bool:
        """Add ``digest``; True when it was not in the set."""
        if len(digest) != DIGEST_BYTES:
            raise ValueError(f"a digest has {DIGEST_BYTES} bytes, got {len(digest)}")
        if digest == self._EMPTY:
            digest = self._STAND_IN
        if not self._place(self._table, self._slots, digest):
            return False
        self._count += 1
        if 2 * self._count > self._slots:
            self._grow()
        return True

    def __contains__(self, digest: object) -> bool:
        if not isinstance(digest, bytes) or len(digest) != DIGEST_BYTES:
            return False
        if digest == self._EMPTY:
            digest = self._STAND_IN
        mask, table = self._slots - 1, self._table
        index = int.from_bytes(digest[:8], "little") & mask
        while True:
            start = index * DIGEST_BYTES
            slot = table[start : start + DIGEST_BYTES]
            if slot == digest:
                return True
            if slot == self._EMPTY:
                return False
            index = (index + 1) & mask

    @classmethod
    def _place(cls, table: bytearray, slots: int, digest: bytes) -> bool:
        mask = slots - 1
        index = int.from_bytes(digest[:8], "little") & mask
        while True:
            start = index * DIGEST_BYTES
            slot = table[start : start + DIGEST_BYTES]
            if slot == digest:
                return False
            if slot == cls._EMPTY:
                table[start : start + DIGEST_BYTES] = digest
                return True
            index = (index + 1) & mask

    def _grow(self) -> None:
        slots = self._slots * 2
        table = bytearray(DIGEST_BYTES * slots)
        old = self._table
        for start in range(0, len(old), DIGEST_BYTES):
            digest = bytes(old[start : start + DIGEST_BYTES])
            if digest != self._EMPTY:
                self._place(table, slots, digest)
        self._table, self._slots = table, slots


@dataclass
class DuplicateCluster:
    """A kept case and the near-duplicates dropped for it (id, estimated Jaccard)."""

    kept: str
    dropped: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class DedupeReport:
    """What a deduplication pass saw and dropped; ids and counts only, never text."""

    seen: int = 0
    kept: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    exact_dropped_examples: list[str] = field(default_factory=list)  # the first dropped ids
    clusters: dict[str, DuplicateCluster] = field(default_factory=dict)  # kept id -> cluster
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "kept": self.kept,
            "exact_duplicates": self.exact_duplicates,
            "near_duplicates": self.near_duplicates,
            "exact_dropped_examples": list(self.exact_dropped_examples),
            "clusters": [
                {
                    "kept": cluster.kept,
                    "dropped": [{"id": case_id, "jaccard": round(j, 3)} for case_id, j in cluster.dropped],
                }
                for cluster in self.clusters.values()
            ],
            "settings": dict(self.settings),
        }


class ExactDeduper:
    """A streaming filter that passes the first case of each exact-duplicate group."""

    def __init__(self, *, include_expected: bool = True, report: DedupeReport | None = None) -> None:
        self.include_expected = include_expected
        self.report = report if report is not None else DedupeReport()
        self.report.settings.setdefault("include_expected", include_expected)
        self._seen = DigestSet()

    def is_new(self, case: Mapping[str, Any] | Case) -> bool:
        """Whether ``case`` is the first of its kind (and remember it)."""
        new = self._seen.add(case_digest(case, include_expected=self.include_expected))
        if not new:
            self.report.exact_duplicates += 1
            if len(self.report.exact_dropped_examples) < _EXAMPLES:
                self.report.exact_dropped_examples.append(str(_as_dict(case).get("id")))
        return new

    def unique(self, cases: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """The first case of each group (counting duplicates, not ``seen``/``kept``)."""
        return (case for case in cases if self.is_new(case))

    def filter(self, cases: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """:meth:`unique`, counting ``seen`` and ``kept`` too (a pass on its own)."""
        return _kept(self.unique(_count(cases, self.report)), self.report)


def shingles(case: Mapping[str, Any] | Case, *, size: int = 2, include_expected: bool = True) -> set[bytes]:
    """The word ``size``-grams (normalised, punctuation dropped) near-duplicates compare.

    A text shorter than ``size`` words is one shingle of all its words."""
    words = _WORD.findall(
        " ".join(normalise_text(text) for _, text in _compared_parts(_as_dict(case), include_expected))
    )
    if len(words) <= size:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def _band_key(band: bytes) -> bytes:
    # An 8-byte key per band instead of the band's 52 bytes: the LSH index is most of the memory.
    return hashlib.blake2b(band, digest_size=8).digest()


class NearDeduper:
    """A streaming filter that drops cases whose estimated Jaccard similarity to an already
    kept case reaches ``threshold`` (see the module doc for memory and accuracy)."""

    def __init__(
        self,
        *,
        threshold: float = 0.8,
        num_perm: int = 128,
        shingle_size: int = 2,
        include_expected: bool = True,
        seed: int = 1,
        report: DedupeReport | None = None,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if num_perm < 2 or shingle_size < 1:
            raise ValueError("num_perm must be at least 2 and shingle_size at least 1")
        import numpy as np
        from datasketch import MinHash, MinHashLSH

        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.include_expected = include_expected
        self.report = report if report is not None else DedupeReport()
        self.report.settings.update(
            threshold=threshold,
            num_perm=num_perm,
            shingle_size=shingle_size,
            include_expected=include_expected,
        )
        self._minhash: type[MinHash] = MinHash
        self._permutations = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        self._lsh: MinHashLSH = MinHashLSH(threshold=threshold, num_perm=num_perm, hashfunc=_band_key)
        # Signatures of kept cases, in blocks (one array object per block, not per case).
        self._block = 4096
        self._signatures: list[np.ndarray] = []
        self._kept_ids: list[str] = []
        self._np = np

    def signature(self, case: Mapping[str, Any] | Case) -> MinHash:
        minhash = self._minhash(num_perm=self.num_perm, permutations=self._permutations, scheme="affine32")
        minhash.update_batch(shingles(case, size=self.shingle_size, include_expected=self.include_expected))
        return minhash

    def _signature_of(self, index: int) -> np.ndarray:
        signature: np.ndarray = self._signatures[index // self._block][index % self._block]
        return signature

    def _keep(self, case_id: str, minhash: MinHash) -> None:
        index = len(self._kept_ids)
        if index % self._block == 0:
            self._signatures.append(self._np.empty((self._block, self.num_perm), dtype=self._np.uint32))
        self._signatures[-1][index % self._block] = minhash.hashvalues
        self._kept_ids.append(case_id)
        self._lsh.insert(index, minhash, check_duplication=False)

    def check(self, case: Mapping[str, Any] | Case) -> tuple[str, float] | None:
        """The kept case ``case`` duplicates (id, estimated Jaccard), or None — in which case
        ``case`` is kept and indexed."""
        data = _as_dict(case)
        minhash = self.signature(data)
        best: tuple[int, float] | None = None
        for index in self._lsh.query(minhash):
            estimate = (
                float(self._np.count_nonzero(self._signature_of(index) == minhash.hashvalues)) / self.num_perm
            )
            if estimate >= self.threshold and (best is None or estimate > best[1]):
                best = (index, estimate)
        case_id = str(data.get("id"))
        if best is None:
            self._keep(case_id, minhash)
            return None
        kept_id = self._kept_ids[best[0]]
        cluster = self.report.clusters.setdefault(kept_id, DuplicateCluster(kept_id))
        cluster.dropped.append((case_id, best[1]))
        self.report.near_duplicates += 1
        return kept_id, best[1]

    def unique(self, cases: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """The cases that duplicate no kept case (counting drops, not ``seen``/``kept``)."""
        return (case for case in cases if self.check(case) is None)

    def filter(self, cases: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """:meth:`unique`, counting ``seen`` and ``kept`` too (a pass on its own)."""
        return _kept(self.unique(_count(cases, self.report)), self.report)


class Deduplicated:
    """Cases with duplicates removed, streamed (iterate once); :attr:`report` fills as they go."""

    def __init__(self, cases: Iterator[Mapping[str, Any]], report: DedupeReport) -> None:
        self._cases = cases
        self.report = report

    def __iter__(self) -> Deduplicated:
        return self

    def __next__(self) -> Mapping[str, Any]:
        return next(self._cases)


def dedupe_cases(
    cases: Iterable[Mapping[str, Any] | Case],
    *,
    exact: bool = True,
    near: bool = True,
    threshold: float = 0.8,
    num_perm: int = 128,
    shingle_size: int = 2,
    include_expected: bool = True,
) -> Deduplicated:
    """``cases`` without exact duplicates (``exact``) and near-duplicates (``near``), first of
    each group kept, in order. The report counts both and lists near-duplicate clusters."""
    report = DedupeReport()
    stream: Iterable[Mapping[str, Any]] = (_as_dict(case) for case in cases)
    counted = _count(stream, report)
    if exact:
        counted = ExactDeduper(include_expected=include_expected, report=report).unique(counted)
    if near:
        counted = NearDeduper(
            threshold=threshold,
            num_perm=num_perm,
            shingle_size=shingle_size,
            include_expected=include_expected,
            report=report,
        ).unique(counted)
    return Deduplicated(_kept(counted, report), report)


def _count(cases: Iterable[Mapping[str, Any]], report: DedupeReport) -> Iterator[Mapping[str, Any]]:
    for case in cases:
        report.seen += 1
        yield case


def _kept(cases: Iterable[Mapping[str, Any]], report: DedupeReport) -> Iterator[Mapping[str, Any]]:
    for case in cases:
        report.kept += 1
        yield case
