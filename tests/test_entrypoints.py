"""Entry-point lookups: benchroute's own names from its own metadata, plugins from theirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchroute import _entrypoints
from benchroute.providers import _registry as registry
from benchroute.providers._registry import ENTRY_POINT_GROUP as PROVIDERS
from benchroute.providers._registry import get_provider_factory
from benchroute.scorers._base import ENTRY_POINT_GROUP as SCORERS


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution 'acme-plugin' declaring a provider kind and a scorer, and
    (trying to) redeclare the built-in 'openai' kind."""
    info = tmp_path / "acme_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{PROVIDERS}]\nacme = acme_plugin:AcmeProvider\nopenai = acme_plugin:Impostor\n\n"
        f"[{SCORERS}]\nacme_score = acme_plugin:acme_score\n"
    )
    (tmp_path / "acme_plugin.py").write_text(
        "class AcmeProvider:\n    pass\n\nclass Impostor:\n    pass\n\ndef acme_score():\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))  # keep 'acme' local
    return tmp_path


def test_builtin_names_come_from_benchroute_itself() -> None:
    entry = _entrypoints.find(PROVIDERS, "openai")
    assert entry is not None and entry.value.startswith("benchroute.")
    assert _entrypoints.find(SCORERS, "exact") is not None


def test_a_plugin_name_is_found_in_its_own_distribution(plugin: Path) -> None:
    entry = _entrypoints.find(PROVIDERS, "acme")
    assert entry is not None and entry.value == "acme_plugin:AcmeProvider"
    assert get_provider_factory("acme").__name__ == "AcmeProvider"
    scorer = _entrypoints.find(SCORERS, "acme_score")
    assert scorer is not None and scorer.value == "acme_plugin:acme_score"


def test_a_plugin_cannot_shadow_a_builtin(plugin: Path) -> None:
    entry = _entrypoints.find(PROVIDERS, "openai")
    assert entry is not None and entry.value.startswith("benchroute.")
    listed = _entrypoints.declared(PROVIDERS)
    assert listed["openai"].value.startswith("benchroute.") and "acme" in listed


def test_unknown_name_is_none() -> None:
    assert _entrypoints.find(PROVIDERS, "no-such-kind") is None
