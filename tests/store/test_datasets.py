"""Versioned datasets (m007) on SQLite and PostgreSQL: versions are numbered per name and
never change, a failed write leaves nothing, cases stream back in order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from benchroute.store import DatasetStore, Store, case_line


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        return Store(f"sqlite:///{tmp_path / 'store.db'}")
    url: str = request.getfixturevalue("postgres_url")
    return Store(url)


def _cases(n: int, prefix: str = "c") -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}{i}", "input": f"question {i} — ünïcode", "metadata": {"i": i}} for i in range(n)
    ]


def test_versions_number_per_name_and_keep_their_cases(store: Store) -> None:
    datasets = DatasetStore(store)
    v1 = datasets.add_version("support", _cases(3), kind="pool", provenance={"source": "a.jsonl"})
    v2 = datasets.add_version(
        "support", _cases(5), kind="golden", provenance={"step": "sample"}, parent_version=1
    )
    other = datasets.add_version("billing", _cases(2), kind="pool", provenance={})
    assert (v1.version, v2.version, other.version) == (1, 2, 1)
    assert v2.parent_version == 1 and v2.count == 5 and v2.ref == "support@2"
    assert [c["id"] for c in datasets.cases("support", 1)] == ["c0", "c1", "c2"]
    assert datasets.get("support").version == 2  # type: ignore[union-attr]
    assert datasets.get("support", 9) is None and datasets.get("nope") is None
    assert datasets.names() == ["billing", "support"]
    assert [v.ref for v in datasets.versions("support")] == ["support@1", "support@2"]
    first = list(datasets.cases("support", 1))
    assert first[0]["input"] == "question 0 — ünïcode" and first[0]["metadata"] == {"i": 0}
    # The digest is over the canonical lines: the same cases give the same digest.
    again = datasets.add_version("copy", _cases(3), kind="pool", provenance={})
    assert again.digest == v1.digest != v2.digest


def test_a_large_version_streams_in_order(store: Store) -> None:
    datasets = DatasetStore(store)

    def stream() -> Iterator[dict[str, Any]]:  # a generator: never a list in memory
        for i in range(2_503):
            yield {"id": f"r{i}", "input": str(i)}

    version = datasets.add_version("pool", stream(), kind="pool", provenance={})
    assert version.count == 2_503
    ids = [c["id"] for c in datasets.cases("pool", 1)]
    assert ids == [f"r{i}" for i in range(2_503)]


def test_a_refused_or_failed_write_leaves_nothing(store: Store) -> None:
    datasets = DatasetStore(store)
    datasets.add_version("s", _cases(2), kind="pool", provenance={})

    def check(case: Mapping[str, Any]) -> None:
        if case["id"] == "c1500":
            raise RuntimeError("leak in c1500")

    with pytest.raises(RuntimeError, match="leak"):
        datasets.add_version("s", _cases(2_000), kind="pool", provenance={}, check=check)
    with pytest.raises(ValueError, match="duplicate case id 'c0'"):
        datasets.add_version("s", [*_cases(2), *_cases(1)], kind="pool", provenance={})
    with pytest.raises(ValueError, match="no cases"):
        datasets.add_version("s", [], kind="pool", provenance={})
    assert [v.version for v in datasets.versions("s")] == [1]
    version = datasets.add_version("s", _cases(1), kind="pool", provenance={})
    assert version.version == 2  # the refused attempts took no number


def test_figures_known_at_the_end_are_stored(store: Store) -> None:
    datasets = DatasetStore(store)
    seen = {"n": 0}

    def stream() -> Iterator[dict[str, Any]]:
        for case in _cases(4):
            seen["n"] += 1
            yield case

    version = datasets.add_version(
        "s", stream(), kind="pool", provenance={"source": "x"},
        provenance_after=lambda: {"rows_read": seen["n"]},
        scrub_after=lambda: {"entities": {"EMAIL_ADDRESS": 2}},
    )  # fmt: skip
    assert version.provenance == {"source": "x", "rows_read": 4}
    assert version.scrub == {"entities": {"EMAIL_ADDRESS": 2}}
    assert case_line({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
