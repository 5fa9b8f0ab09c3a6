"""Scorers: the protocol, the registry, and the built-in scorers (registered as entry points).
The conversation types load on first use: a unit-tier run never needs them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._base import (
    Score,
    Scorer,
    ScorerFactory,
    build_scorer,
    get_scorer_factory,
    import_plugins,
    registered_scorers,
    scorer,
)
from ._context import DEFAULT_JUDGE, ModelCall, ScoringContext

if TYPE_CHECKING:
    from ._conversation import ConversationCompletion, Transcript, TranscriptTurn, transcript_of

_CONVERSATION = ("ConversationCompletion", "Transcript", "TranscriptTurn", "transcript_of")
__getattr__ = lazy_attributes(__name__, dict.fromkeys(_CONVERSATION, "_conversation"))

__all__ = [
    "DEFAULT_JUDGE",
    "ConversationCompletion",
    "ModelCall",
    "Score",
    "Scorer",
    "ScorerFactory",
    "ScoringContext",
    "Transcript",
    "TranscriptTurn",
    "build_scorer",
    "get_scorer_factory",
    "import_plugins",
    "registered_scorers",
    "scorer",
    "transcript_of",
]
