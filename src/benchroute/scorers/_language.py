"""The ``language`` scorer: is the output written in the language the case asks for?

Design
------
* **py3langid, loaded once.** Identification uses py3langid's bundled naive-Bayes model (about
  140 languages, ISO 639-1 codes where one exists, a few ISO 639-3 ones such as ``yue``). The
  model takes ~0.4 s to load, so it is loaded on first use into a module-level cache guarded
  by a lock, and shared by every scorer instance. It is our own
  :class:`~py3langid.langid.LanguageIdentifier` built with ``norm_probs=True``, not the
  package's global one: the confidence is then a probability in [0, 1] that a threshold can
  mean something against, and no other code that uses py3langid can change our language set.
* **Only prose is identified.** Fenced code blocks, inline code and URLs are removed first:
  code and links are language-neutral and would otherwise pull a correct answer towards
  English. What is left is cut to its first :data:`SAMPLE_CHARS` characters; a language is
  clear long before that, and a degenerate 1 MB reply then costs what a normal one does.
* **Too little text is a failure, not a guess.** Below ``min_letters`` letters (default 8)
  the identifier is no better than chance (``"Oui"`` comes out Finnish), so the score is 0
  with a reason that says the output is too short, rather than a confident-looking mismatch.
  The same goes for text py3langid labels ``zxx`` (no linguistic content).
* **Codes are normalised.** ``en-US``, ``pt_BR`` and ``EN`` all mean their primary subtag, and
  a few legacy or sibling codes are mapped (``nb`` -> ``no``, ``iw`` -> ``he``, ``in`` ->
  ``id``, ``fil`` -> ``tl``). A code the model does not know is a configuration error when it
  comes from the suite, and a failed score naming the code when it comes from a case.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any

from ..config import Case
from ..types import Completion
from ._base import Score, Scorer, declare, threshold_passed

SCORER = "language"
# How much prose is identified: a few paragraphs settle the language, and the cap keeps a
# runaway reply from costing more than a normal one.
SAMPLE_CHARS = 10_000
_NO_LANGUAGE = "zxx"  # py3langid's label for text without linguistic content
_ALIASES = {"nb": "no", "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "fil": "tl", "mo": "ro"}

_FENCED_CODE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)

_lock = threading.Lock()
_identifier: Any = None


def _get_identifier() -> Any:
    """The shared py3langid identifier, loaded on first use."""
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


@cache
def known_languages() -> frozenset[str]:
    """The language codes the identifier can return."""
    return frozenset(str(label) for label in _get_identifier().labels)


def normalise_code(code: str) -> str:
    """``"en-US"`` -> ``"en"``; ``"nb"`` -> ``"no"``; lower case, primary subtag only."""
    primary = code.strip().replace("_", "-").split("-")[0].casefold()
    return _ALIASES.get(primary, primary)


def _expected_codes(value: Any) -> list[str] | str:
    """The normalised codes, or an error message."""
    items = value if isinstance(value, list | tuple) else [value]
    if not items:
        return "the expected language list is empty"
    known = known_languages()
    codes: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            return f"expected language {item!r} is not a language code"
        code = normalise_code(item)
        if code not in known:
            return (
                f"unknown language code {item!r}: use ISO 639-1 codes such as en, fr, de, es, zh "
                "(py3langid's codes)"
            )
        if code not in codes:
            codes.append(code)
    return codes


def prose(text: str) -> str:
    """The text with code blocks, inline code and URLs removed."""
    text = _FENCED_CODE.sub(" ", text)
    text = _INLINE_CODE.sub(" ", text)
    return _URL.sub(" ", text)


@declare(requires=("py3langid",), extra="scorers")
def language(
    expected: str | list[str] | None = None,
    *,
    min_confidence: float = 0.0,
    min_letters: int = 8,
    threshold: float = 1.0,
) -> Scorer:
    """1 when the output is written in the expected language, identified with py3langid.

    ``expected`` is an ISO 639-1 code (``fr``; ``fr-CA`` is read as ``fr``) or a list of
    accepted codes; by default the case's ``metadata.language``. ``min_confidence`` (0..1)
    also requires the identifier to be that sure. Code blocks, inline code and URLs are
    ignored; an output with fewer than ``min_letters`` letters of prose scores 0 as too short
    to identify. The reason names the detected language and its confidence; ``details`` has
    ``detected``, ``confidence``, ``expected`` and the top three ``candidates``.
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be between 0 and 1, got {min_confidence}")
    if min_letters < 1:
        raise ValueError(f"min_letters must be >= 1, got {min_letters}")
    fixed: list[str] | None = None
    if expected is not None:
        checked = _expected_codes(expected)
        if isinstance(checked, str):
            raise ValueError(checked)
        fixed = checked

    def fail(reason: str, details: dict[str, Any] | None = None) -> Score:
        return Score(0.0, threshold_passed(0.0, threshold), reason, SCORER, details=details or {})

    async def score(completion: Completion, case: Case) -> Score:
        if fixed is not None:
            codes = fixed
        else:
            wanted = case.metadata.get("language")
            if wanted is None:
                return fail(
                    "no expected language: set the scorer's 'expected' or the case's metadata.language"
                )
            checked = _expected_codes(wanted)
            if isinstance(checked, str):
                return fail(checked)
            codes = checked
        details: dict[str, Any] = {"expected": codes}
        sample = prose(completion.text)[:SAMPLE_CHARS]
        letters = sum(1 for ch in sample if ch.isalpha())
        if letters < min_letters:
            what = "empty output" if not completion.text.strip() else f"only {letters} letters of prose"
            return fail(f"too short to identify the language ({what}; need {min_letters})", details)
        ranked = _get_identifier().rank(sample)
        detected, confidence = str(ranked[0][0]), float(ranked[0][1])
        details.update(
            detected=detected,
            confidence=round(confidence, 4),
            candidates=[[str(code), round(float(p), 4)] for code, p in ranked[:3]],
        )
        if detected == _NO_LANGUAGE:
            return fail("no natural language detected", details)
        found = f"{detected} (confidence {confidence:.2f})"
        if detected not in codes:
            wanted_text = codes[0] if len(codes) == 1 else f"one of {', '.join(codes)}"
            return fail(f"expected {wanted_text}, detected {found}", details)
        if confidence < min_confidence:
            return fail(f"detected {found}, below min_confidence {min_confidence:g}", details)
        return Score(1.0, threshold_passed(1.0, threshold), f"detected {found}", SCORER, details=details)

    return score
