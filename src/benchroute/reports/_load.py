"""Terminal rendering of stress runs: per-model totals and a compact per-window series.

Everything shown comes from the stored ``load`` result of each (stress suite, model): its
``details`` hold the totals, the saturation point and the window series computed by
``analysis``, its ``scores`` the SLO checks. Nothing is recomputed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..store import Result, is_load_result

_BARS = "▁▂▃▄▅▆▇█"


def load_results(results: Sequence[Result]) -> list[Result]:
    """The stored load results (one per stress suite and model) among a run's results."""
    return [r for r in results if is_load_result(r)]


def _ms(value: Any) -> str:
    return "—" if value is None else f"{value:,.0f} ms" if value >= 10 else f"{value:,.1f} ms"


def _rate(value: Any) -> str:
    return "—" if value is None else f"{value:.1%}"


def _rps(value: Any) -> str:
    return "—" if value is None else f"{value:,.1f}"


# (column, key of load_rows) in the order every format shows them.
LOAD_COLUMNS = (
    ("suite", "suite"),
    ("model", "model"),
    ("requests", "requests"),
    ("offered rps", "offered_rps"),
    ("achieved rps", "achieved_rps"),
    ("goodput rps", "goodput_rps"),
    ("p50", "p50"),
    ("p95", "p95"),
    ("p99", "p99"),
    ("ttft p95", "ttft_p95"),
    ("429 rate", "rate_limited_rate"),
    ("error rate", "error_rate"),
    ("retry rate", "retry_rate"),
    ("saturation", "saturation"),
    ("SLO", "slo"),
)


def load_rows(results: Sequence[Result]) -> list[dict[str, Any]]:
    """One row of display strings per load result (terminal, Markdown and HTML share it);
    ``slo_status`` is "pass", "fail", "error" or "none" (no SLO set)."""
    rows = []
    for result in load_results(results):
        details = result.details or {}
        load = details["load"]
        saturation = details.get("saturation")
        failed = [s for s in result.scores if not s.get("passed")]
        if result.error:
            status, slo = "error", f"error: {result.error}"
        elif not result.scores:
            status, slo = "none", "none set"
        elif failed:
            status, slo = "fail", "FAIL: " + "; ".join(str(s.get("reason", "")) for s in failed)
        else:
            status, slo = "pass", f"pass ({len(result.scores)})"
        rows.append(
            {
                "suite": result.suite,
                "model": result.model,
                "requests": f"{load.get('requests') or 0:,}",
                "offered_rps": _rps(load.get("offered_rps")),
                "achieved_rps": _rps(load.get("achieved_rps")),
                "goodput_rps": _rps(load.get("goodput_rps")),
                "p50": _ms(load.get("p50_ms")),
                "p95": _ms(load.get("p95_ms")),
                "p99": _ms(load.get("p99_ms")),
                "ttft_p95": _ms(load.get("ttft_p95_ms")),
                "rate_limited_rate": _rate(load.get("rate_limited_rate")),
                "error_rate": _rate(load.get("error_rate")),
                "retry_rate": _rate(load.get("retry_rate")),
                "saturation": "none"
                if saturation is None
                else f"{saturation['offered_rps']:,.1f} rps @ {saturation['at_s']:g} s",
                "saturation_reason": None if saturation is None else str(saturation.get("reason", "")),
                "slo": slo,
                "slo_status": status,
            }
        )
    return rows


_SLO_STYLES = {"pass": "green", "fail": "red", "error": "red", "none": "dim"}


def load_table(results: Sequence[Result], title: str = "Load") -> Table:
    """One row per (stress suite, model): offered and achieved load, goodput, latency and
    TTFT percentiles, 429/error/retry rates, the saturation point and the SLO verdict."""
    table = Table(title=title, title_justify="left")
    for column, _ in LOAD_COLUMNS:
        table.add_column(
            column, justify="left" if column in ("suite", "model", "saturation", "SLO") else "right"
        )
    for row in load_rows(results):
        cells: list[RenderableType] = [Text(row[key]) for _, key in LOAD_COLUMNS[:-1]]
        table.add_row(*cells, Text(row["slo"], style=_SLO_STYLES[row["slo_status"]]))
    return table


def sparkline(values: Sequence[float | None], top: float | None = None) -> str:
    """One character per value, scaled to ``top`` (default: the largest); gaps for None."""
    known = [v for v in values if v is not None]
    ceiling = top if top is not None else max(known, default=0.0)
    if ceiling <= 0:
        return "".join(" " if v is None else _BARS[0] for v in values)
    out = []
    for value in values:
        if value is None:
            out.append(" ")
        else:
            level = min(len(_BARS) - 1, max(0, round(value / ceiling * (len(_BARS) - 1))))
            out.append(_BARS[level])
    return "".join(out)


_SERIES = (
    ("offered rps", "offered_rps", _rps),
    ("achieved rps", "achieved_rps", _rps),
    ("goodput rps", "goodput_rps", _rps),
    ("p95", "p95_ms", _ms),
    ("429 rate", "rate_limited_rate", _rate),
    ("error rate", "error_rate", _rate),
)


def load_series(result: Result, max_points: int = 120) -> RenderableType:
    """The per-window series of one load as sparklines (max and last value alongside); a
    long series is shown by every n-th window so that it fits one line."""
    details = result.details or {}
    windows: list[dict[str, Any]] = details.get("windows") or []
    step = max(1, -(-len(windows) // max_points))
    shown = windows[::step]
    title = (
        f"{result.suite} · {result.model} · {len(windows)} windows of {details.get('window_s', 1):g} s"
        + (f" (every {step}th shown)" if step > 1 else "")
    )
    table = Table(title=title, title_justify="left", show_header=True, box=None, pad_edge=False)
    table.add_column("series")
    table.add_column("per window", no_wrap=True)
    table.add_column("max", justify="right")
    table.add_column("last", justify="right")
    # The throughput lines share the offered scale so that a gap between them shows.
    top = max((w.get("offered_rps") or 0.0 for w in shown), default=0.0)
    for label, key, show in _SERIES:
        values = [w.get(key) for w in shown]
        known = [v for v in values if v is not None]
        if not known:
            continue
        scale = top if key.endswith("_rps") else (1.0 if key.endswith("_rate") else None)
        if key.endswith("_rate") and max(known) == 0:
            scale = 1.0
        table.add_row(label, sparkline(values, scale), show(max(known)), show(values[-1]))
    saturation = details.get("saturation")
    note = (
        Text("no saturation within the profile", style="green")
        if saturation is None
        else Text(
            f"saturated at {saturation['offered_rps']:,.1f} rps offered (t={saturation['at_s']:g} s): "
            f"{saturation['reason']}",
            style="yellow",
        )
    )
    return Group(table, note)


def load_report(results: Sequence[Result], title: str = "Load") -> list[RenderableType]:
    """The load table and each load's window series; empty when the run has no loads."""
    loads = load_results(results)
    if not loads:
        return []
    return [load_table(loads, title=title), *(load_series(r) for r in loads)]
