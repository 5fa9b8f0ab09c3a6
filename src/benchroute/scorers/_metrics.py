"""The kinds of figure a scorer declares it contributes, and reading stored scores by kind.

Analysis, reports and the CLI build some figures from particular scores: pass@k from a
functional-correctness score, the leaderboard's wasted cost from a token-efficiency score,
the pass@k table's secure share from a security scan. They find those scores by the *kind*
the scorer declared (``@scorer(..., metric=...)`` or :func:`~benchroute.scorers.declare`),
which the registry records in each stored score as ``score["kind"]`` next to the name the
suite used, so a scorer counts under whatever name it is registered.

Kinds and what a score of that kind means:

``functional_pass``
    ``passed``: the generated code ran and passed its tests (pass@k counts these).
``security_findings``
    ``passed``: a security scan found nothing at the configured bar.
``efficiency``
    ``value``: the share of output tokens that carry content; ``details`` hold
    ``wasted_output_tokens`` and ``wasted_fraction`` (the filler), which the leaderboard
    values as wasted cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FUNCTIONAL_PASS = "functional_pass"
SECURITY_FINDINGS = "security_findings"
EFFICIENCY = "efficiency"

METRIC_KINDS = frozenset({FUNCTIONAL_PASS, SECURITY_FINDINGS, EFFICIENCY})

# Scores stored before they recorded a kind carry only the scorer's name, and only the
# built-ins had these kinds then.
_KIND_OF_STORED_NAME = {
    "code_tests": FUNCTIONAL_PASS,
    "code_security": SECURITY_FINDINGS,
    "token_efficiency": EFFICIENCY,
}


def score_kind(score: Mapping[str, Any]) -> str | None:
    """The declared kind of one stored score (``Result.scores`` item), or None.

    A score written before kinds were recorded (no ``"kind"`` key) is read by its built-in
    scorer name."""
    if "kind" in score:
        kind = score["kind"]
        return str(kind) if kind else None
    return _KIND_OF_STORED_NAME.get(str(score.get("scorer") or ""))


def scores_of_kind(scores: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The scores of ``kind`` among one result's stored scores."""
    return [score for score in scores if score_kind(score) == kind]
