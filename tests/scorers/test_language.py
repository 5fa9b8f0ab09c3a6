"""The ``language`` scorer (py3langid), built by name through the registry."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from benchroute import Case, Completion, ConfigError, Score, ScorerSpec
from benchroute.scorers import build_scorer
from benchroute.scorers._language import normalise_code

FRENCH = "Bonjour ! La capitale de la France est Paris, une ville magnifique au bord de la Seine."
ENGLISH = "The capital of France is Paris, a beautiful city on the banks of the Seine."
GERMAN = "Die Hauptstadt von Frankreich ist Paris, eine wunderschöne Stadt an der Seine."
SPANISH = "La capital de Francia es París, una ciudad preciosa a orillas del Sena."


def run(text: str, args: dict[str, Any] | None = None, *, metadata: dict[str, Any] | None = None) -> Score:
    scorer = build_scorer(ScorerSpec(name="language", args=args or {}))
    case = Case(id="c1", input="Where is Paris?", metadata=metadata or {})

    async def go() -> Score:
        return await scorer(Completion(text=text), case)

    return asyncio.run(go())


# --- must pass -----------------------------------------------------------------------------------


def test_matching_language_passes_and_names_language_and_confidence() -> None:
    result = run(FRENCH, {"expected": "fr"})
    assert (result.value, result.passed, result.scorer) == (1.0, True, "language")
    assert result.reason.startswith("detected fr (confidence ")
    assert result.details["detected"] == "fr" and result.details["expected"] == ["fr"]
    assert 0.9 < result.details["confidence"] <= 1.0
    assert result.details["candidates"][0][0] == "fr" and len(result.details["candidates"]) == 3


def test_expected_defaults_to_case_metadata_and_region_subtags_are_ignored() -> None:
    assert run(GERMAN, metadata={"language": "de"}).passed
    assert run(GERMAN, metadata={"language": "de-DE"}).passed
    assert run(ENGLISH, {"expected": "EN_us"}).passed


def test_a_list_accepts_any_of_its_languages() -> None:
    result = run(SPANISH, {"expected": ["pt", "es"]})
    assert result.passed and result.details["expected"] == ["pt", "es"]


def test_code_blocks_and_urls_are_not_identified() -> None:
    text = (
        "Voici comment afficher un message dans la console avec Python :\n"
        "```python\nprint('hello world, this is an English string in code')\n```\n"
        "Plus de détails sur https://docs.python.org/3/library/functions.html#print"
    )
    assert run(text, {"expected": "fr"}).passed


# --- must fail -----------------------------------------------------------------------------------


def test_wrong_language_fails_with_both_languages_in_the_reason() -> None:
    result = run(ENGLISH, {"expected": "fr"})
    assert (result.value, result.passed) == (0.0, False)
    assert result.reason.startswith("expected fr, detected en (confidence ")
    assert result.details["detected"] == "en"
    several = run(ENGLISH, {"expected": ["fr", "de"]})
    assert "expected one of fr, de, detected en" in several.reason


def test_min_confidence_fails_an_unsure_identification() -> None:
    text = "Paris est une ville."
    loose = run(text, {"expected": "fr"})
    assert loose.passed
    strict = run(text, {"expected": "fr", "min_confidence": 0.9999999})
    assert not strict.passed and "below min_confidence" in strict.reason


def test_missing_or_unknown_expected_language() -> None:
    missing = run(FRENCH)
    assert not missing.passed and "metadata.language" in missing.reason
    unknown = run(FRENCH, metadata={"language": "french"})
    assert not unknown.passed and "unknown language code 'french'" in unknown.reason
    with pytest.raises(ConfigError, match="unknown language code 'klingon'"):
        build_scorer(ScorerSpec(name="language", args={"expected": "klingon"}))
    with pytest.raises(ConfigError, match="min_confidence"):
        build_scorer(ScorerSpec(name="language", args={"expected": "en", "min_confidence": 2}))


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "empty output"),
        ("   \n ", "empty output"),
        ("Oui", "only 3 letters of prose"),
        ("42", "only 0 letters of prose"),
        ("```python\nprint('bonjour tout le monde')\n```", "only 0 letters of prose"),
    ],
)
def test_empty_and_very_short_outputs_score_zero_with_a_clear_reason(text: str, what: str) -> None:
    result = run(text, {"expected": "fr"})
    assert (result.value, result.passed) == (0.0, False)
    assert result.reason.startswith("too short to identify the language")
    assert what in result.reason


def test_normalise_code() -> None:
    assert normalise_code(" pt_BR ") == "pt"
    assert normalise_code("nb") == "no"
    assert normalise_code("zh-Hant-TW") == "zh"


# --- malformed outputs are scored, not crashed ---------------------------------------------------


def test_one_megabyte_output_is_scored_quickly() -> None:
    text = (ENGLISH + " ") * (1_048_576 // (len(ENGLISH) + 1) + 1)
    started = time.perf_counter()
    result = run(text, {"expected": "en"})
    assert result.passed
    assert time.perf_counter() - started < 2.0  # only a sample of the text is identified


def test_replacement_characters_and_lone_surrogates() -> None:
    text = "Ceci est une phrase en français \ud800 avec des caractères \ufffd\ufffd bizarres \udfff."
    result = run(text, {"expected": "fr"})
    assert result.passed
    garbage = run("\ufffd" * 50 + "\ud800" * 10, {"expected": "fr"})
    assert not garbage.passed and "too short" in garbage.reason


def test_truncated_json_is_scored() -> None:
    result = run('{"answer": "The capital of France is Paris and it is lovely in spr', {"expected": "en"})
    assert isinstance(result, Score) and result.details["detected"] == "en"
