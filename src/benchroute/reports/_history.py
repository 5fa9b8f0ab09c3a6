"""Rendering of a suite's history: the series of one metric per suite x model, with the
served model version / ``system_fingerprint`` and the price at each point.

Points are ``benchroute.store.SeriesPoint`` rows (any object with the same attributes).
Unknown figures print as ``unknown`` (never 0); charts leave a gap for them.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from rich.table import Table

from ._load import sparkline

HISTORY_DROP_ORDER = ("fingerprint", "trigger", "n", "price in/out", "version")
CHART_WIDTH = 60  # characters of chart per series; label + figures take the rest of 100
UNKNOWN = "unknown"


def _fmt(metric: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNKNOWN
    if metric.endswith("_rate"):
        return f"{value * 100:.1f}%"
    if metric.endswith("_ms"):
        return f"{value:,.0f} ms"
    if metric.startswith("cost"):
        if value == 0 or abs(value) >= 0.01:
            return f"${value:.4f}"
        # three significant digits, never in e-notation: $0.0000325
        return f"${value:.{2 - math.floor(math.log10(abs(value)))}f}"
    return f"{value:.3g}"


def _price(point: Any) -> str:
    if point.price_in is None and point.price_out is None:
        return UNKNOWN
    parts = ["?" if p is None else f"{p:g}" for p in (point.price_in, point.price_out)]
    return "$" + "/".join(parts)


def group_series(points: Iterable[Any]) -> dict[tuple[str, str, str], list[Any]]:
    """Points per (suite, model, metric), each list in time order."""
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for point in points:
        groups.setdefault((point.suite, point.model, point.metric), []).append(point)
    for series in groups.values():
        series.sort(key=lambda p: p.started_at)
    return groups


def _rows(points: Sequence[Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """One row per (suite, model, run) in time order: that run's point of each metric."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for point in sorted(points, key=lambda p: (p.suite, p.model, p.started_at)):
        rows.setdefault((point.suite, point.model, point.run_id), {})[point.metric] = point
    return rows


def history_table(points: Sequence[Any], last: int | None = None) -> Table:
    """One row per model x run (oldest first), one column per metric, then what identifies
    the point: the served version (``*``: changed since the model's previous run), its
    ``system_fingerprint``, the price ($ per Mtok in/out) and the trigger.

    ``last``: only each model's newest ``last`` runs get a row (None: every run); the ``*``
    of the first row shown still compares with the run before it."""
    metrics = list(dict.fromkeys(p.metric for p in points))
    models = list(dict.fromkeys(p.model for p in points))
    years = {p.started_at.year for p in points}
    when = "%m-%d %H:%M" if len(years) == 1 else "%Y-%m-%d %H:%M"
    title = "history" + (f" ({years.pop()}, UTC)" if len(years) == 1 else " (UTC)")
    table = Table(title=title, title_justify="left")
    if len(models) > 1:
        table.add_column("model")
    table.add_column("run")
    table.add_column("started")
    for metric in metrics:
        table.add_column(metric, justify="right")
    for name in ("n", "version", "fingerprint", "price in/out", "trigger"):
        table.add_column(name, justify="right" if name == "n" else "left")
    rows = _rows(points)
    previous: dict[str, str] = {}
    every = list(rows)
    remaining = {model: sum(1 for key in every if key[1] == model) for _s, model, _r in every}
    keys = []
    for key in every:  # the version of every run, shown or not, for the ``*`` marks
        model = key[1]
        version = next(iter(rows[key].values())).served_model or UNKNOWN
        changed = model in previous and previous[model] != version
        previous[model] = version
        remaining[model] -= 1
        if last is None or remaining[model] < last:
            keys.append((key, version, "*" if changed else ""))
    for index, (key, version, mark) in enumerate(keys):
        _suite, model, run_id = key
        by_metric = rows[key]
        first = next(iter(by_metric.values()))
        cells = [model] if len(models) > 1 else []
        cells += [run_id[:8], first.started_at.strftime(when)]
        cells += [_fmt(m, by_metric[m].value) if m in by_metric else "" for m in metrics]
        cells += [
            str(max(p.n for p in by_metric.values())),
            version + mark,
            first.system_fingerprint or UNKNOWN,
            _price(first),
            first.trigger or UNKNOWN,
        ]
        last_of_model = index + 1 == len(keys) or keys[index + 1][0][1] != model
        table.add_row(*cells, end_section=last_of_model and len(models) > 1)
    return table


def history_chart(points: Sequence[Any], width: int = 100) -> list[str]:
    """One line per series: label, a block sparkline of the last runs, first -> last figure.
    Lines are at most ``width`` characters; a version change is marked under the chart."""
    lines: list[str] = []
    for (_suite, model, metric), series in group_series(points).items():
        label = f"{model} {metric}"
        values = [p.value for p in series]
        known = [v for v in values if v is not None]
        tail = f" {_fmt(metric, values[0])} -> {_fmt(metric, values[-1])}"
        room = max(8, width - len(tail) - 2)
        label_room = max(8, room - min(CHART_WIDTH, len(values)) - 1)
        if len(label) > label_room:
            label = label[: label_room - 1] + "~"
        chart_room = max(1, min(CHART_WIDTH, room - len(label) - 1))
        shown = values[-chart_room:]
        top = 1.0 if metric.endswith("_rate") else (max(known) if known else None)
        lines.append(f"{label} {sparkline(shown, top=top)}{tail}"[:width])
        versions = [p.served_model for p in series][-chart_room:]
        marks = "".join("^" if i and versions[i] != versions[i - 1] else " " for i in range(len(versions)))
        if marks.strip():
            lines.append((" " * (len(label) + 1) + marks.rstrip() + "  (^ served model changed)")[:width])
    return lines


def _point_json(point: Any) -> dict[str, Any]:
    return {
        "run_id": point.run_id,
        "started_at": point.started_at.isoformat(),
        "suite": point.suite,
        "model": point.model,
        "endpoint_id": point.endpoint_id,
        "metric": point.metric,
        "value": point.value,
        "n": point.n,
        "served_model": point.served_model,
        "system_fingerprint": point.system_fingerprint,
        "suite_fingerprint": point.suite_fingerprint,
        "price_in": point.price_in,
        "price_out": point.price_out,
        "trigger": point.trigger,
        "git_sha": point.git_sha,
    }


_FIELDS = (
    "run_id", "started_at", "suite", "model", "endpoint_id", "metric", "value", "n",
    "served_model", "system_fingerprint", "suite_fingerprint", "price_in", "price_out",
    "trigger", "git_sha",
)  # fmt: skip


def history_json(points: Sequence[Any]) -> list[dict[str, Any]]:
    return [_point_json(p) for p in points]


def history_csv(points: Sequence[Any]) -> str:
    rows = history_json(points)
    out = io.StringIO()
    fields = list(_FIELDS)
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # unknown stays an empty cell, never 0
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def _metric_name(metric: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9_]", "_", metric)
    return "benchroute_" + name


def _label(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def openmetrics_text(points: Sequence[Any]) -> str:
    """The latest point of each series as OpenMetrics gauges (``benchroute_<metric>``), labels
    suite, model, endpoint, served_model, system_fingerprint; with a timestamp (the run's
    start). Unknown values are left out (an absent sample, never 0)."""
    families: dict[str, list[str]] = {}
    for (suite, model, metric), series in group_series(points).items():
        latest = series[-1]
        if latest.value is None:
            continue
        labels = ",".join(
            f'{key}="{_label(val)}"'
            for key, val in (
                ("suite", suite),
                ("model", model),
                ("endpoint", latest.endpoint_id),
                ("served_model", latest.served_model),
                ("system_fingerprint", latest.system_fingerprint),
                ("metric", metric),
            )
        )
        ts = latest.started_at.timestamp()
        families.setdefault(_metric_name(metric), []).append(f"{{{labels}}} {float(latest.value)!r} {ts:.3f}")
    lines: list[str] = []
    for name in sorted(families):
        lines.append(f"# TYPE {name} gauge")
        lines.append(f"# HELP {name} benchroute metric of the latest run per suite and model.")
        lines.extend(name + sample for sample in families[name])
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
