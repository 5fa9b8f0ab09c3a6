"""Load-test figures (windows, saturation point, SLO checks), under their analysis names.

They are computed in :mod:`benchroute.scorers` (the stress tier scores a load with them when
it writes the load's result, and the runner never imports analysis); analysis re-exports
them so reading a stored load and computing one use the same code.
"""

from __future__ import annotations

from ..scorers import (
    LoadSummary,
    LoadWindow,
    Saturation,
    SLOCheck,
    check_slos,
    load_windows,
    saturation_point,
    summarize_load,
)

__all__ = [
    "LoadSummary",
    "LoadWindow",
    "SLOCheck",
    "Saturation",
    "check_slos",
    "load_windows",
    "saturation_point",
    "summarize_load",
]
