"""Scorers: the protocol, the registry, and the built-in scorers (registered as entry points)."""

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
from ._conversation import ConversationCompletion, Transcript, TranscriptTurn, transcript_of

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
