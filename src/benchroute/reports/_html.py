"""A run as one self-contained HTML file with charts, for people deciding between models.

Design
------
The file must open anywhere — an artifact downloaded from CI, an e-mail attachment, a
machine with no network — so nothing is fetched: plotly.js (about 4.5 MB) is inlined once,
with the first chart, and every later chart reuses it; the styles and the little script
that filters the case table are inline too. A Content-Security-Policy ``default-src 'none'``
makes the browser refuse any request the page might still try.

Charts (plotly, imported only when an HTML report is rendered — the ``reports`` extra):

* the Pareto scatters: pass rate against cost per successful output and against p95
  latency, models on the frontier joined by a line, dominated models greyed;
* latency per model as box plots (cached replies left out, as in the leaderboard);
* cost per model split into useful spend and wasted spend (failed results, filler tokens).

A chart without data (no latency measured, nothing passed, every request free) is replaced by
a sentence saying why, so a run with errors only, one model or no latency still renders.

Everything that comes from a run — model output above all — is untrusted: the Jinja
template autoescapes it, and text handed to plotly is HTML-escaped first because plotly
renders a subset of HTML (links included) in names and hover labels. plotly's own JSON
serialisation escapes ``<``, so nothing can close the inline ``<script>``.
"""

from __future__ import annotations

import html
from importlib import resources
from typing import Any

import jinja2

from .._errors import BenchrouteError
from ..analysis import is_conversation, waited_ms
from ..store import Result, RunRecord
from ._common import (
    RunReport,
    build_report,
    cost_cell,
    failing_reasons,
    millis,
    p50_cell,
    ratio,
    report_notes,
    result_cost,
    suite_pass_rates,
    truncate,
)
from ._gap import gap_cells, gap_notes, shown_rows
from ._load import LOAD_COLUMNS, load_rows

_OUTPUT_CHARS = 5000
_PREVIEW_CHARS = 120
_REASON_CHARS = 500
_FRONTIER_COLOUR = "#1a7f37"
_DOMINATED_COLOUR = "#9aa0ab"
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError as exc:  # the optional extra is missing
        raise BenchrouteError(
            "the HTML report needs plotly: install the reports extra (pip install 'benchroute[reports]')"
        ) from exc
    return go


def _layout(**extra: Any) -> dict[str, Any]:
    return {
        "template": "plotly_white",
        "height": 340,
        "margin": {"l": 60, "r": 20, "t": 10, "b": 50},
        "legend": {"orientation": "h", "y": -0.2},
        **extra,
    }


def _pareto_figure(
    go: Any, points: list[tuple[str, float, float]], frontier: set[str], x_title: str, x_format: str
) -> Any:
    on = sorted((p for p in points if p[0] in frontier), key=lambda p: (p[1], -p[2]))
    off = [p for p in points if p[0] not in frontier]
    figure = go.Figure()

    def hover(point: tuple[str, float, float]) -> str:
        value = f"${point[1]:.6g}" if x_format == "usd" else f"{point[1]:,.0f} ms"
        return f"{html.escape(point[0])}<br>pass rate {point[2]:.1%}<br>{x_title}: {value}"

    for name, chosen, colour, mode, symbol in (
        ("Pareto frontier", on, _FRONTIER_COLOUR, "lines+markers+text", "circle"),
        ("dominated", off, _DOMINATED_COLOUR, "markers+text", "x"),
    ):
        if not chosen:
            continue
        figure.add_trace(
            go.Scatter(
                x=[p[1] for p in chosen],
                y=[p[2] for p in chosen],
                text=[html.escape(p[0]) for p in chosen],
                hovertext=[hover(p) for p in chosen],
                hoverinfo="text",
                mode=mode,
                textposition="top center",
                name=name,
                marker={"size": 12, "color": colour, "symbol": symbol},
                line={"dash": "dot", "color": colour, "shape": "hv"},  # the frontier is a staircase
            )
        )
    figure.update_layout(
        **_layout(
            xaxis={
                "title": {"text": x_title},
                "rangemode": "tozero",
                **({"tickprefix": "$", "exponentformat": "power"} if x_format == "usd" else {}),
            },
            yaxis={"title": {"text": "pass rate"}, "tickformat": ".0%", "range": [-0.05, 1.1]},
        )
    )
    return figure


def _latency_figure(go: Any, report: RunReport) -> Any | None:
    figure = go.Figure()
    for model in report.models:
        # What the caller waited per request (cached: the original call's); whole
        # conversations are not requests and would stretch the box.
        values = [
            waited
            for r in report.results
            if r.model == model and not is_conversation(r)
            for waited in [waited_ms(r)]
            if waited is not None
        ]
        if values:
            figure.add_trace(go.Box(y=values, name=html.escape(model), boxpoints="outliers", boxmean=True))
    if not figure.data:
        return None
    figure.update_layout(**_layout(yaxis={"title": {"text": "latency (ms)"}}, showlegend=False))
    return figure


def _cost_figure(go: Any, report: RunReport) -> Any | None:
    # An unpriced model has no bar: its cost is unknown, and a bar of 0 would read as free.
    priced = [s for s in report.summaries if s.total_cost_usd is not None]
    if not any((s.total_cost_usd or 0.0) > 0 for s in priced):
        return None
    names = [html.escape(s.model) for s in priced]
    wasted = [min(s.wasted_cost_usd or 0.0, s.total_cost_usd or 0.0) for s in priced]
    useful = [(s.total_cost_usd or 0.0) - w for s, w in zip(priced, wasted, strict=True)]
    figure = go.Figure(
        [
            go.Bar(x=names, y=useful, name="useful (passed results)", marker={"color": _FRONTIER_COLOUR}),
            go.Bar(
                x=names, y=wasted, name="wasted (failed results, filler tokens)", marker={"color": "#c62828"}
            ),
        ]
    )
    figure.update_layout(**_layout(barmode="stack", yaxis={"title": {"text": "cost (USD)"}}))
    return figure


def _degradation_specs(go: Any, report: RunReport) -> list[tuple[str, str, Any | None, str, str]]:
    """One chart per degradation kind: a model's score at the originals and at each level
    (categorical x, so levels of any unit read left to right as the suite lists them)."""
    from ..analysis import degradation_curves

    by_kind: dict[str, list[Any]] = {}
    for curve in degradation_curves(report.results):
        by_kind.setdefault(curve.kind, []).append(curve)
    specs: list[tuple[str, str, Any | None, str, str]] = []
    for kind, curves in by_kind.items():
        figure = go.Figure()
        for curve in curves:
            name = html.escape(
                curve.model if len({c.suite for c in curves}) == 1 else f"{curve.suite} · {curve.model}"
            )
            x = ["original", *(f"{p.level:g}" for p in curve.points)]
            y = [curve.original_mean, *(p.degraded_mean for p in curve.points)]
            figure.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name))
        figure.update_layout(
            **_layout(
                xaxis={"title": f"{kind} level", "type": "category"},
                yaxis={"title": "mean score", "range": [0, 1.05]},
            )
        )
        specs.append(
            (
                f"chart-degradation-{kind}",
                f"Score against {kind} level",
                figure,
                "",
                "Each level is paired with the same originals.",
            )
        )
    return specs


def _modality_rows(report: RunReport) -> list[dict[str, Any]]:
    from ._multimodal import multimodal_figures

    rows = []
    for s in multimodal_figures(report.results, report.run.config)["modalities"]:
        verdict = s.within_budget
        rows.append(
            {
                "suite": s.suite,
                "modality": s.modality,
                "model": s.model,
                "n": s.measured,
                "p50": millis(s.p50_ms),
                "p95": millis(s.p95_ms),
                "ttft_p95": millis(s.p95_ttft_ms),
                "payload": "—" if s.mean_payload_bytes is None else f"{s.mean_payload_bytes / 1024:,.0f} KB",
                "budget": ", ".join(f"{c.figure} ≤ {c.limit:g}" for c in s.budget) or "—",
                "within": "—" if not s.budget else {True: "ok", False: "over", None: "unknown"}[verdict],
            }
        )
    return rows


def _charts(report: RunReport) -> list[dict[str, Any]]:
    charts: list[dict[str, Any]] = []
    if not report.summaries:
        return charts
    go = _plotly()
    cost_points = [
        (s.model, s.cost_per_success_usd, s.pass_rate)
        for s in report.summaries
        if s.cost_per_success_usd is not None and not s.unpriced
    ]
    unpriced = [s.model for s in report.summaries if s.unpriced]
    latency_points = [
        (s.model, s.p95_latency_ms, s.pass_rate) for s in report.summaries if s.p95_latency_ms is not None
    ]
    no_pass = [s.model for s in report.summaries if s.cost_per_success_usd is None and not s.unpriced]
    not_placed = "; ".join(
        part
        for part in (
            f"Not placed (nothing passed): {', '.join(no_pass)}" if no_pass else "",
            f"Not placed (unpriced): {', '.join(unpriced)}" if unpriced else "",
        )
        if part
    )
    specs: list[tuple[str, str, Any | None, str, str]] = [
        (
            "chart-pareto-cost",
            "Pass rate vs cost per successful output",
            _pareto_figure(go, cost_points, set(report.cost_frontier), "cost per success (USD)", "usd")
            if cost_points
            else None,
            "No model passed a case, so cost per success is undefined.",
            not_placed if cost_points else "",
        ),
        (
            "chart-pareto-latency",
            "Pass rate vs p95 latency",
            _pareto_figure(go, latency_points, set(report.latency_frontier), "p95 latency (ms)", "ms")
            if latency_points
            else None,
            "No latency was measured (errors or cached replies only).",
            "",
        ),
        (
            "chart-latency",
            "Latency distribution per model",
            _latency_figure(go, report),
            "No latency was measured (errors or cached replies only).",
            "",
        ),
        (
            "chart-cost",
            "Cost per model: useful vs wasted",
            _cost_figure(go, report),
            "Every request cost $0 (free or local models without a compute price).",
            "",
        ),
    ]
    specs.extend(_degradation_specs(go, report))
    plotly_js_included = False
    for chart_id, title, figure, empty, note in specs:
        chart_html = ""
        if figure is not None:
            chart_html = figure.to_html(
                full_html=False,
                include_plotlyjs=not plotly_js_included,  # the bundle once, with the first chart
                div_id=f"{chart_id}-plot",
                config=_PLOT_CONFIG,
                default_height="340px",
            )
            plotly_js_included = True
        charts.append({"id": chart_id, "title": title, "html": chart_html, "empty": empty, "note": note})
    return charts


def _leaderboard_rows(report: RunReport) -> list[dict[str, Any]]:
    rows = []
    for s in report.summaries:
        ranked = report.ranking(s.model)
        frontier = []
        if ranked is not None and ranked.on_cost_frontier:
            frontier.append("cost")
        if ranked is not None and ranked.on_latency_frontier:
            frontier.append("latency")
        rows.append(
            {
                "model": s.model,
                "pass_rate": f"{s.pass_rate:.1%}",
                "mean_score": f"{s.mean_score:.3f}",
                "cases": s.cases,
                "total_cost": cost_cell(s.total_cost_usd, s.unpriced),
                "cost_per_success": cost_cell(s.cost_per_success_usd, s.unpriced),
                "cost_per_1k": cost_cell(s.cost_per_1k_usd, s.unpriced),
                "wasted": cost_cell(s.wasted_cost_usd, s.unpriced),
                "p50": p50_cell(s),
                "p95": millis(s.p95_latency_ms),
                "p99": millis(s.p99_latency_ms),
                "cv": ratio(s.latency_cv),
                "ttft_p50": millis(s.p50_ttft_ms),
                "ttft_p95": millis(s.p95_ttft_ms),
                "retry_rate": f"{s.retry_rate:.1%}",
                "errors": s.errors,
                "frontier": ", ".join(frontier),
            }
        )
    return rows


def _suite_rows(report: RunReport) -> list[dict[str, Any]]:
    return [{"tier": tier, "suite": suite, "cells": cells} for tier, suite, cells in suite_pass_rates(report)]


def _gap(report: RunReport) -> dict[str, Any] | None:
    """The generalisation gap section (None: the run has no perturbed case)."""
    if not report.gap:
        return None
    return {
        "confidence": f"{report.gap.confidence:.0%}",
        "adjusted": "p (Holm)" if report.gap.correction == "holm" else "p adj.",
        "rows": [gap_cells(row) for row in shown_rows(report.gap)],
        "notes": gap_notes(report.gap),
    }


def _case_row(result: Result) -> dict[str, Any]:
    status = "error" if result.error else ("passed" if result.passed else "failed")
    output = result.error if result.error and result.output is None else (result.output or "")
    return {
        "suite": result.suite,
        "case_id": result.case_id,
        "model": result.model,
        "repeat": result.repeat,
        "status": status,
        "score": "—" if result.score is None else f"{result.score:.2f}",
        "latency": millis(result.latency_ms) + (" (cached)" if result.cached else ""),
        "cost": result_cost(result),
        "reasons": [] if result.passed else [truncate(r, _REASON_CHARS) for r in failing_reasons(result)],
        "output": truncate(output, _OUTPUT_CHARS),
        "preview": truncate(" ".join(output.split()), _PREVIEW_CHARS),
        "long": len(output) > 2 * _PREVIEW_CHARS or output.count("\n") > 3,
    }


def _template() -> jinja2.Template:
    source = resources.files("benchroute.reports").joinpath("templates/report.html.j2").read_text("utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(source)


def render_html(run: RunRecord, results: list[Result]) -> str:
    """The run as one self-contained HTML document (needs plotly: the ``reports`` extra)."""
    report = build_report(run, results)
    ordered = sorted(
        report.results,
        key=lambda r: (r.suite, r.case_id, report.models.index(r.model), r.repeat),
    )
    return _template().render(
        run=run,
        results_count=len(report.results),
        suites=report.suites,
        models=report.models,
        prices=[(name, (info or {}).get("source", "?")) for name, info in (run.prices or {}).items()],
        notes=report_notes(report),
        leaderboard=_leaderboard_rows(report),
        by_suite=_suite_rows(report),
        gap=_gap(report),
        modalities=_modality_rows(report),
        charts=_charts(report),
        load_columns=LOAD_COLUMNS,
        loads=load_rows(report.results),
        cases=[_case_row(r) for r in ordered],
    )
