"""Drift detection on recorded generations of real local models
(benchmarks/data/drift_recorded/generations.jsonl, replayed by benchmarks/drift_recorded.py):
a switch from SmolLM2 to Gemma 3 mid-history is flagged at or after the switch, never before,
and a resampled SmolLM2-only history raises no flag."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from benchroute.config import DriftSpec

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "drift_recorded.py"


@pytest.fixture(scope="module")
def recorded() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drift_recorded", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recorded_data_is_four_versions_of_52_cases_by_10_seeds(recorded: ModuleType) -> None:
    table = recorded.load()
    assert sorted(table) == ["gemma3", "smollm2", "smollm2-hot", "smollm2-terse"]
    assert all(len(cases) == 52 and all(len(g) == 10 for g in cases.values()) for cases in table.values())


@pytest.mark.parametrize("seed", [0, 1])
def test_switch_to_gemma3_is_flagged_at_or_after_the_switch(recorded: ModuleType, seed: int) -> None:
    table = recorded.load()
    found = recorded.first_flag(recorded.history(table, "smollm2", "gemma3", 9, seed, runs=12), DriftSpec())
    assert found is not None
    index, metrics = found
    assert 9 <= index <= 10
    assert "latency_ms" in metrics  # Gemma 3 answers in about half the time


@pytest.mark.parametrize("seed", [0, 1])
def test_resampled_smollm2_history_is_not_flagged(recorded: ModuleType, seed: int) -> None:
    table = recorded.load()
    assert (
        recorded.first_flag(recorded.history(table, "smollm2", "smollm2", None, seed, runs=12), DriftSpec())
        is None
    )
