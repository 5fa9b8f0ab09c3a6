"""A suite pins a stored golden set: ``dataset: {golden: NAME, version: N}``."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchroute import ConfigError
from benchroute.config import load_suite
from benchroute.store import DatasetStore, Store
from benchroute.suites import golden_loader


def _suite(tmp_path: Path, dataset: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(f"name: s\ndataset:\n{dataset}\nscorers: [exact]\n")
    return path


def test_a_pinned_version_runs_its_cases_and_the_newest_is_the_default(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    datasets = DatasetStore(store)
    datasets.add_version(
        "support", [{"id": "a", "input": "one", "expected": "1"}], kind="golden", provenance={}
    )
    datasets.add_version(
        "support", [{"id": "a", "input": "one", "expected": "1"}, {"id": "b", "input": "two"}],
        kind="golden", provenance={}, parent_version=1,
    )  # fmt: skip
    loader = golden_loader(lambda: store)
    pinned = load_suite(_suite(tmp_path, "  golden: support\n  version: 1"), golden_loader=loader)
    assert [c.id for c in pinned.dataset.cases or []] == ["a"] and pinned.dataset.version == 1
    newest = load_suite(_suite(tmp_path, "  golden: support"), golden_loader=loader)
    assert [c.id for c in newest.dataset.cases or []] == ["a", "b"] and newest.dataset.version == 2


def test_golden_mistakes_name_their_line(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    DatasetStore(store).add_version("support", [{"id": "a", "input": "x"}], kind="golden", provenance={})
    loader = golden_loader(lambda: store)
    with pytest.raises(
        ConfigError, match=r"suite\.yaml:3: dataset\.golden: golden set 'support' has no version 7"
    ):
        load_suite(_suite(tmp_path, "  golden: support\n  version: 7"), golden_loader=loader)
    with pytest.raises(ConfigError, match=r"suite\.yaml:3: dataset\.golden: no golden set named 'nope'"):
        load_suite(_suite(tmp_path, "  golden: nope"), golden_loader=loader)
    with pytest.raises(
        ConfigError, match=r"dataset\.golden: a stored golden set is read from the project's store"
    ):
        load_suite(_suite(tmp_path, "  golden: support"))
    with pytest.raises(ConfigError, match="'version' pins a golden set"):
        load_suite(_suite(tmp_path, "  path: x.jsonl\n  version: 2"), golden_loader=loader)
    with pytest.raises(ConfigError, match="either 'path' or 'golden'"):
        load_suite(_suite(tmp_path, "  path: x.jsonl\n  golden: support"), golden_loader=loader)
