"""Stratified sampling of a case pool into a golden set (50–100 cases).

A golden set drawn uniformly from production is mostly the most common kind of request:
the rare task class, the long prompt, the reply users disliked — what a router must get
right — end up with one case or none. :func:`stratified_sample` groups cases by any of
``task_class``, ``route``, ``length`` (a bucket of ``prompt_chars``), ``outcome`` (or any
other ``metadata`` key), allocates the set's size to the groups in proportion to their
population (largest remainder, so the sizes add up exactly), gives every group at least
one case when the size allows it, and draws each group's cases at random.

The draw is *seeded and order-free*: each case's rank is a keyed hash of ``seed`` and its
id, and a stratum keeps the ``size`` lowest ranks seen so far (a bottom-k reservoir). The
same pool gives the same set in whatever order it is read, and a pool that grew keeps most
of the earlier draw — a golden set's next version shares most of its cases with the last.
The pool streams through: memory is at most ``size`` cases per stratum, not the pool.
The chosen cases come back in the order they were read.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Case

DEFAULT_SIZE = 100
DEFAULT_LENGTH_EDGES = (200, 1000, 4000)  # prompt characters: short, medium, long, very long
MISSING = "(none)"
_BY_ALIASES = {"class": "task_class", "model": "route", "length_bucket": "length"}


def _as_dict(case: Mapping[str, Any] | Case) -> Mapping[str, Any]:
    if isinstance(case, Mapping):
        return case
    return case.model_dump(mode="json", exclude_defaults=True)


def _prompt_chars(case: Mapping[str, Any]) -> int:
    metadata = case.get("metadata") or {}
    known = metadata.get("prompt_chars")
    if isinstance(known, int) and not isinstance(known, bool):
        return known
    total = len(case["input"]) if isinstance(case.get("input"), str) else 0
    for message in case.get("messages") or ():
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(str(p.get("text", ""))) for p in content if isinstance(p, Mapping))
    return total


def length_bucket(chars: int, edges: Sequence[int] = DEFAULT_LENGTH_EDGES) -> str:
    """The label of the bucket ``chars`` falls in: ``<200``, ``200-999``, ..., ``>=4000``."""
    if not edges:
        return "all"
    if chars < edges[0]:
        return f"<{edges[0]}"
    for low, high in itertools.pairwise(edges):
        if chars < high:
            return f"{low}-{high - 1}"
    return f">={edges[-1]}"


def stratum_of(
    case: Mapping[str, Any] | Case, by: Sequence[str], length_edges: Sequence[int] = DEFAULT_LENGTH_EDGES
) -> tuple[str, ...]:
    """The stratum key of ``case``: one text per ``by`` name (``(none)`` when unknown)."""
    data = _as_dict(case)
    metadata = data.get("metadata") or {}
    key: list[str] = []
    for name in by:
        name = _BY_ALIASES.get(name, name)
        if name == "length":
            key.append(length_bucket(_prompt_chars(data), length_edges))
        else:
            value = metadata.get(name)
            key.append(MISSING if value is None or value == "" else str(value))
    return tuple(key)


def _rank(seed: int, case_id: str) -> int:
    digest = hashlib.blake2b(case_id.encode("utf-8", "surrogatepass"), digest_size=8, key=str(seed).encode())
    return int.from_bytes(digest.digest(), "big")


def allocate(populations: Mapping[tuple[str, ...], int], size: int) -> dict[tuple[str, ...], int]:
    """Cases per stratum: proportional to population by largest remainder (Hamilton), then
    every empty-handed stratum given one, taken from the stratum whose share stays nearest its
    quota, when ``size`` is at least the number of strata. Never more than a stratum holds."""
    total = sum(populations.values())
    if size >= total:
        return dict(populations)
    if size <= 0:
        return dict.fromkeys(populations, 0)
    # Ties go to the larger stratum, then the stratum key, so the allocation is reproducible.
    order = sorted(populations, key=lambda key: (-populations[key], key))
    quotas = {key: size * populations[key] / total for key in order}
    counts = {key: int(quotas[key]) for key in order}
    left = size - sum(counts.values())
    for key in sorted(order, key=lambda key: (-(quotas[key] - counts[key]), -populations[key], key))[:left]:
        counts[key] += 1
    if size >= len(order):
        for key in order:
            if counts[key] == 0:
                donor = max(
                    (k for k in order if counts[k] > 1),
                    # The stratum that stays nearest its quota, relatively, after giving one up.
                    key=lambda k: ((counts[k] - 1) / quotas[k], populations[k], k),
                )
                counts[donor] -= 1
                counts[key] = 1
    return counts


@dataclass
class StratumReport:
    """One stratum: how many cases the pool had and how many the sample took."""

    key: tuple[str, ...]
    population: int
    sampled: int


@dataclass
class SampleReport:
    """Population against sample, per stratum; the settings that reproduce the draw."""

    size: int
    seed: int
    by: tuple[str, ...]
    length_edges: tuple[int, ...]
    population: int = 0
    sampled: int = 0
    strata: list[StratumReport] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        population = self.population or 1
        sampled = self.sampled or 1
        return {
            "size": self.size,
            "seed": self.seed,
            "by": list(self.by),
            "length_edges": list(self.length_edges),
            "population": self.population,
            "sampled": self.sampled,
            "strata": [
                {
                    "stratum": dict(zip(self.by, s.key, strict=True)),
                    "population": s.population,
                    "sampled": s.sampled,
                    "population_share": round(s.population / population, 4),
                    "sample_share": round(s.sampled / sampled, 4),
                }
                for s in self.strata
            ],
        }


@dataclass
class Sample:
    """The chosen cases (in the order they were read) and the report."""

    cases: list[Mapping[str, Any]]
    report: SampleReport


def stratified_sample(
    cases: Iterable[Mapping[str, Any] | Case],
    *,
    size: int = DEFAULT_SIZE,
    by: Sequence[str] = ("task_class",),
    seed: int = 0,
    length_edges: Sequence[int] = DEFAULT_LENGTH_EDGES,
) -> Sample:
    """Draw ``size`` cases from ``cases``, stratified by ``by`` (``task_class``/``class``,
    ``route``, ``length``, ``outcome`` or any metadata key; ``()``: no strata), seeded.

    ``length_edges``: prompt-character bounds of the ``length`` buckets. A pool smaller than
    ``size`` is returned whole. Case ids should be unique: two cases with one id get the same
    rank and are told apart by their order."""
    if size < 0:
        raise ValueError(f"size must be at least 0, got {size}")
    by = tuple(_BY_ALIASES.get(name, name) for name in by)
    edges = tuple(sorted(length_edges))
    populations: dict[tuple[str, ...], int] = {}
    # Per stratum, a max-heap (negated ranks) of the ``size`` lowest-ranked cases seen.
    reservoirs: dict[tuple[str, ...], list[tuple[int, int, int, Mapping[str, Any]]]] = {}
    for position, given in enumerate(cases):
        case = _as_dict(given)
        key = stratum_of(case, by, edges)
        populations[key] = populations.get(key, 0) + 1
        entry = (-_rank(seed, str(case.get("id"))), -position, position, case)
        heap = reservoirs.setdefault(key, [])
        if len(heap) < size:
            heapq.heappush(heap, entry)
        elif size and entry[:2] > heap[0][:2]:
            heapq.heapreplace(heap, entry)
    counts = allocate(populations, size)
    chosen: list[tuple[int, Mapping[str, Any]]] = []
    for key, heap in reservoirs.items():
        lowest = sorted(heap, key=lambda entry: (-entry[0], -entry[1]))[: counts[key]]
        chosen.extend((entry[2], entry[3]) for entry in lowest)
    chosen.sort(key=lambda pair: pair[0])
    report = SampleReport(size=size, seed=seed, by=by, length_edges=edges)
    report.population = sum(populations.values())
    report.sampled = len(chosen)
    report.strata = [
        StratumReport(key, populations[key], counts[key])
        for key in sorted(populations, key=lambda k: (-populations[k], k))
    ]
    return Sample([case for _, case in chosen], report)
