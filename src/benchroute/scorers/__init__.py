"""Scorers: the protocol, the registry, and the built-in scorers (registered as entry points).

The stress tier's verdict is here too: the figures of a load (windows, percentiles, saturation
point) and its SLO checks, computed from the per-request samples. The conversation types and
the load figures load on first use: a unit-tier run needs neither."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._base import (
    Score,
    Scorer,
    ScorerFactory,
    ScorerInfo,
    build_scorer,
    check_scorer,
    declare,
    get_scorer_factory,
    import_plugins,
    registered_scorers,
    required_modules,
    scorer,
    scorer_info,
)
from ._context import (
    DEFAULT_JUDGE,
    EMBEDDED_JUDGE_WARNING,
    JudgeFailed,
    ModelCall,
    ScoringContext,
    add_cost,
    default_judge_spec,
    is_embedded_judge,
)
from ._metrics import (
    EFFICIENCY,
    FUNCTIONAL_PASS,
    METRIC_KINDS,
    SECURITY_FINDINGS,
    score_kind,
    scores_of_kind,
)

if TYPE_CHECKING:
    from ._conversation import ConversationCompletion, Transcript, TranscriptTurn, transcript_of
    from ._judge_quality import (
        CalibrationItem,
        CalibrationReport,
        calibrate_judge,
        embedded_judge_suites,
        load_calibration_set,
    )
    from ._load import (
        LoadSummary,
        LoadWindow,
        Saturation,
        SLOCheck,
        check_slos,
        load_windows,
        saturation_point,
        summarize_load,
    )
    from ._pii import DEFAULT_PII_ENTITIES, PII_ENTITIES, PiiFinding, find_pii
    from ._tables import Table, cell_scores, parse_table, teds_similarity
    from ._vision import chair_summary, pope_summary, read_yes_no

_CONVERSATION = ("ConversationCompletion", "Transcript", "TranscriptTurn", "transcript_of")
_JUDGE_QUALITY = (
    "CalibrationItem",
    "CalibrationReport",
    "calibrate_judge",
    "embedded_judge_suites",
    "load_calibration_set",
)
_LOAD = (
    "LoadSummary",
    "LoadWindow",
    "SLOCheck",
    "Saturation",
    "check_slos",
    "load_windows",
    "saturation_point",
    "summarize_load",
)
_PII = ("DEFAULT_PII_ENTITIES", "PII_ENTITIES", "PiiFinding", "find_pii")
_TABLES = ("Table", "cell_scores", "parse_table", "teds_similarity")
_VISION = ("chair_summary", "pope_summary", "read_yes_no")
__getattr__ = lazy_attributes(
    __name__,
    {
        **dict.fromkeys(_CONVERSATION, "_conversation"),
        **dict.fromkeys(_JUDGE_QUALITY, "_judge_quality"),
        **dict.fromkeys(_LOAD, "_load"),
        **dict.fromkeys(_PII, "_pii"),
        **dict.fromkeys(_TABLES, "_tables"),
        **dict.fromkeys(_VISION, "_vision"),
    },
)

__all__ = [
    "DEFAULT_JUDGE",
    "DEFAULT_PII_ENTITIES",
    "EFFICIENCY",
    "EMBEDDED_JUDGE_WARNING",
    "FUNCTIONAL_PASS",
    "METRIC_KINDS",
    "PII_ENTITIES",
    "SECURITY_FINDINGS",
    "CalibrationItem",
    "CalibrationReport",
    "ConversationCompletion",
    "JudgeFailed",
    "LoadSummary",
    "LoadWindow",
    "ModelCall",
    "PiiFinding",
    "SLOCheck",
    "Saturation",
    "Score",
    "Scorer",
    "ScorerFactory",
    "ScorerInfo",
    "ScoringContext",
    "Table",
    "Transcript",
    "TranscriptTurn",
    "add_cost",
    "build_scorer",
    "calibrate_judge",
    "cell_scores",
    "chair_summary",
    "check_scorer",
    "check_slos",
    "declare",
    "default_judge_spec",
    "embedded_judge_suites",
    "find_pii",
    "get_scorer_factory",
    "import_plugins",
    "is_embedded_judge",
    "load_calibration_set",
    "load_windows",
    "parse_table",
    "pope_summary",
    "read_yes_no",
    "registered_scorers",
    "required_modules",
    "saturation_point",
    "score_kind",
    "scorer",
    "scorer_info",
    "scores_of_kind",
    "summarize_load",
    "teds_similarity",
    "transcript_of",
]
