"""Stratified sampling: proportional allocation by largest remainder with one case per
stratum when the size allows, seeded and order-free draws, stability as the pool grows,
strata by class / route / length / outcome, and a pool that streams through."""

from __future__ import annotations

import random
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from benchroute.config import Case
from benchroute.suites._sample import allocate, length_bucket, stratified_sample, stratum_of


def pool(counts: dict[str, int], *, prefix: str = "c") -> list[dict[str, Any]]:
    cases = []
    for task_class, count in counts.items():
        for n in range(count):
            cases.append({"id": f"{prefix}-{task_class}-{n}", "input": "x" * (n % 50 * 40 + 1),
                          "metadata": {"task_class": task_class, "route": f"m{n % 3}",
                                       "outcome": "negative" if n % 10 == 0 else "ok"}})  # fmt: skip
    random.Random(0).shuffle(cases)
    return cases


def test_allocation_is_proportional() -> None:
    sample = stratified_sample(pool({"a": 600, "b": 300, "c": 90, "d": 10}), size=100)
    assert Counter(c["metadata"]["task_class"] for c in sample.cases) == {"a": 60, "b": 30, "c": 9, "d": 1}
    report = sample.report.to_json()
    assert (report["population"], report["sampled"], report["size"], report["seed"]) == (1000, 100, 100, 0)
    assert report["strata"][0] == {
        "stratum": {"task_class": "a"},
        "population": 600,
        "sampled": 60,
        "population_share": 0.6,
        "sample_share": 0.6,
    }
    assert [s["stratum"]["task_class"] for s in report["strata"]] == ["a", "b", "c", "d"]


def test_every_stratum_gets_one_when_the_size_allows() -> None:
    counts = {"big": 950, "x": 40, "y": 5, "z": 3, "w": 2}
    got = Counter(c["metadata"]["task_class"] for c in stratified_sample(pool(counts), size=50).cases)
    assert got == {"big": 45, "x": 2, "y": 1, "z": 1, "w": 1}  # Hamilton gives 48/2/0/0/0
    # More strata than the size: the largest strata get one each.
    many = {f"s{n}": 100 - n for n in range(10)}
    got = Counter(c["metadata"]["task_class"] for c in stratified_sample(pool(many), size=4).cases)
    assert got == {"s0": 1, "s1": 1, "s2": 1, "s3": 1}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=500), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=150),
)
def test_allocation_invariants(populations: list[int], size: int) -> None:
    strata: dict[tuple[str, ...], int] = {(f"s{n}",): p for n, p in enumerate(populations)}
    counts = allocate(strata, size)
    total = sum(populations)
    assert sum(counts.values()) == min(size, total)
    assert all(0 <= counts[k] <= strata[k] for k in strata)
    if len(strata) <= size <= total:
        assert all(counts[k] >= 1 for k in strata)
    if size <= total and all(size * p / total >= 1 for p in populations):
        assert all(abs(counts[k] - size * strata[k] / total) < 1 for k in strata)  # pure Hamilton


def test_seeded_deterministic_and_order_free() -> None:
    cases = pool({"a": 300, "b": 100})
    first = [c["id"] for c in stratified_sample(cases, size=40, seed=7).cases]
    again = [c["id"] for c in stratified_sample(cases, size=40, seed=7).cases]
    shuffled = list(reversed(cases))
    reordered = [c["id"] for c in stratified_sample(shuffled, size=40, seed=7).cases]
    other = [c["id"] for c in stratified_sample(cases, size=40, seed=8).cases]
    assert first == again
    assert set(reordered) == set(first) and reordered != first  # same draw, in the order read
    order = {c["id"]: n for n, c in enumerate(cases)}
    assert first == sorted(first, key=order.__getitem__)
    assert len(set(other) & set(first)) < 30


def test_a_grown_pool_keeps_most_of_the_draw() -> None:
    cases = pool({"a": 500, "b": 200})
    grown = cases + pool({"a": 50, "b": 20}, prefix="new")
    before = {c["id"] for c in stratified_sample(cases, size=70, seed=1).cases}
    after = {c["id"] for c in stratified_sample(grown, size=70, seed=1).cases}
    assert len(before & after) >= 58  # ~9% new cases take ~9% of the places


def test_draws_are_uniform_within_a_stratum() -> None:
    cases = [{"id": f"u{n}", "input": "q", "metadata": {}} for n in range(20)]
    seen: Counter[str] = Counter()
    for seed in range(2000):
        seen.update(c["id"] for c in stratified_sample(cases, size=5, by=(), seed=seed).cases)
    assert all(420 < seen[f"u{n}"] < 580 for n in range(20)), seen  # 500 expected each


def test_strata_by_length_route_and_outcome() -> None:
    assert [length_bucket(n) for n in (0, 199, 200, 999, 1000, 4000, 10**6)] == [
        "<200", "<200", "200-999", "200-999", "1000-3999", ">=4000", ">=4000",
    ]  # fmt: skip
    assert length_bucket(50, ()) == "all"
    case = {"id": "x", "messages": [{"role": "user", "content": "y" * 250}], "metadata": {"route": "m1"}}
    assert stratum_of(case, ("length", "route", "outcome", "class")) == ("200-999", "m1", "(none)", "(none)")
    assert stratum_of({"id": "x", "input": "hi", "metadata": {"prompt_chars": 5000}}, ("length",)) == (
        ">=4000",
    )
    assert stratum_of(Case(id="c", input="hi"), ("length",)) == ("<200",)
    sample = stratified_sample(pool({"a": 200, "b": 100}), size=30, by=("class", "outcome"))
    strata = {tuple(s["stratum"].values()): s for s in sample.report.to_json()["strata"]}
    assert set(strata) == {("a", "ok"), ("a", "negative"), ("b", "ok"), ("b", "negative")}
    assert strata[("b", "negative")] == {
        "stratum": {"task_class": "b", "outcome": "negative"}, "population": 10, "sampled": 1,
        "population_share": 0.0333, "sample_share": 0.0333,
    }  # fmt: skip
    by_length = stratified_sample(pool({"a": 300}), size=20, by=("length",), length_edges=(500, 1000))
    assert {s["stratum"]["length"] for s in by_length.report.to_json()["strata"]} == {
        "<500",
        "500-999",
        ">=1000",
    }


def test_a_small_pool_comes_back_whole() -> None:
    cases = pool({"a": 3, "b": 2})
    sample = stratified_sample(cases, size=100)
    assert [c["id"] for c in sample.cases] == [c["id"] for c in cases]
    assert stratified_sample(cases, size=0).cases == []


def test_the_pool_streams_through() -> None:
    def stream() -> Iterator[dict[str, Any]]:
        for n in range(30_000):
            yield {"id": f"s{n}", "input": f"question {n} " * 20, "metadata": {"task_class": "abc"[n % 3]}}

    tracemalloc.start()
    try:
        sample = stratified_sample(stream(), size=50)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(sample.cases) == 50 and sample.report.population == 30_000
    assert peak < 1_500_000, f"peak {peak / 1e6:.2f} MB"  # 150 cases held, not 30,000 (~12 MB)
