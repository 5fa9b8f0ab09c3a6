"""Multimodal figures in the terminal, Markdown and JSON: latency per modality against its
budget, score against degradation level, and POPE / CHAIR summaries per model.

Tables fit 100 columns. An unmeasured figure shows "—", an unknown budget verdict "?".
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from ..analysis import (
    DegradationCurve,
    ModalityStats,
    degradation_curves,
    hallucination_summaries,
    has_media,
    modality_stats,
    suite_budgets,
)
from ..store import Result
from ._common import millis


def _kb(value: float | None) -> str:
    return "—" if value is None else f"{value / 1024:,.0f} KB"


def _budget_cell(stats: ModalityStats) -> str:
    if not stats.budget:
        return "—"
    return ", ".join(f"{c.figure.removesuffix('_ms').replace('_', ' ')} ≤ {c.limit:g}" for c in stats.budget)


def _verdict(stats: ModalityStats) -> str:
    verdict = stats.within_budget
    return "—" if verdict is None and not stats.budget else {True: "ok", False: "OVER", None: "?"}[verdict]


def multimodal_figures(results: list[Result], config: dict[str, Any]) -> dict[str, Any]:
    """What every format shows: modality stats (with budgets), curves, hallucination."""
    budgets = suite_budgets(config)
    show_modality = has_media(results) or bool(budgets)
    return {
        "modalities": modality_stats(results, budgets) if show_modality else [],
        "curves": degradation_curves(results),
        "hallucination": hallucination_summaries(results),
    }


def modality_table(stats: list[ModalityStats]) -> Table | None:
    if not stats:
        return None
    table = Table(title="Latency by modality (end to end) and budgets", title_justify="left")
    for column in ("suite", "modality", "model"):
        table.add_column(column, overflow="fold")
    for column in ("n", "p50", "p95", "TTFT p95", "payload", "budget", "within"):
        table.add_column(column, justify="right")
    for s in stats:
        table.add_row(
            s.suite,
            s.modality,
            s.model,
            str(s.measured),
            millis(s.p50_ms),
            millis(s.p95_ms),
            millis(s.p95_ttft_ms),
            _kb(s.mean_payload_bytes),
            _budget_cell(s),
            _verdict(s),
        )
    return table


def degradation_table(curves: list[DegradationCurve]) -> Table | None:
    if not curves:
        return None
    table = Table(title="Score against degradation level (paired with the originals)", title_justify="left")
    for column in ("suite", "model", "kind"):
        table.add_column(column, overflow="fold")
    for column in ("original", "level: score (drop)"):
        table.add_column(column, justify="right" if column == "original" else "left", overflow="fold")
    for curve in curves:
        points = "  ".join(f"{p.level:g}: {p.degraded_mean:.2f} ({p.drop:+.2f})" for p in curve.points)
        original = "—" if curve.original_mean is None else f"{curve.original_mean:.2f}"
        table.add_row(curve.suite, curve.model, curve.kind, original, points)
    return table


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def hallucination_table(summaries: dict[str, dict[str, dict[str, Any]]]) -> Table | None:
    if not summaries:
        return None
    table = Table(title="Hallucination probes (POPE yes/no, CHAIR descriptions)", title_justify="left")
    table.add_column("model", overflow="fold")
    for column in (
        "POPE n",
        "acc",
        "F1",
        "yes-ratio",
        "unparsed",
        "CHAIR n",
        "CHAIR_i",
        "CHAIR_s",
        "coverage",
    ):
        table.add_column(column, justify="right")
    for model, entry in summaries.items():
        pope = entry.get("pope") or {}
        chair = entry.get("chair") or {}
        table.add_row(
            model,
            str(pope.get("n", "—")),
            _ratio(pope.get("accuracy")),
            _ratio(pope.get("f1")),
            _ratio(pope.get("yes_ratio")),
            str(pope.get("unparsed", "—")),
            str(chair.get("n", "—")),
            _ratio(chair.get("chair_i")),
            _ratio(chair.get("chair_s")),
            _ratio(chair.get("coverage")),
        )
    return table


def print_multimodal(out: Console, results: list[Result], config: dict[str, Any]) -> None:
    figures = multimodal_figures(results, config)
    for table in (
        modality_table(figures["modalities"]),
        degradation_table(figures["curves"]),
        hallucination_table(figures["hallucination"]),
    ):
        if table is not None:
            out.print(table)


def multimodal_json(results: list[Result], config: dict[str, Any]) -> dict[str, Any]:
    figures = multimodal_figures(results, config)
    return {
        "modalities": [
            {
                "suite": s.suite,
                "modality": s.modality,
                "model": s.model,
                "results": s.results,
                "measured": s.measured,
                "p50_ms": s.p50_ms,
                "p95_ms": s.p95_ms,
                "p99_ms": s.p99_ms,
                "p50_ttft_ms": s.p50_ttft_ms,
                "p95_ttft_ms": s.p95_ttft_ms,
                "mean_payload_bytes": s.mean_payload_bytes,
                "mean_input_tokens": s.mean_input_tokens,
                "budget": [
                    {"figure": c.figure, "limit": c.limit, "actual": c.actual, "met": c.met} for c in s.budget
                ],
                "within_budget": s.within_budget,
            }
            for s in figures["modalities"]
        ],
        "degradation": [
            {
                "suite": c.suite,
                "model": c.model,
                "kind": c.kind,
                "original_mean": c.original_mean,
                "points": [
                    {
                        "level": p.level,
                        "pairs": p.pairs,
                        "original_mean": p.original_mean,
                        "score": p.degraded_mean,
                    }
                    for p in c.points
                ],
            }
            for c in figures["curves"]
        ],
        "hallucination": figures["hallucination"],
    }


def multimodal_markdown(results: list[Result], config: dict[str, Any]) -> list[str]:
    figures = multimodal_figures(results, config)
    lines: list[str] = []
    if figures["modalities"]:
        lines += [
            "## Latency by modality",
            "",
            "| suite | modality | model | n | p50 | p95 | TTFT p95 | payload | budget | within |",
            "|---|---|---|--:|--:|--:|--:|--:|---|---|",
        ]
        for s in figures["modalities"]:
            lines.append(
                f"| {s.suite} | {s.modality} | {s.model} | {s.measured} | {millis(s.p50_ms)} "
                f"| {millis(s.p95_ms)} | {millis(s.p95_ttft_ms)} | {_kb(s.mean_payload_bytes)} "
                f"| {_budget_cell(s)} | {_verdict(s)} |"
            )
        lines.append("")
    if figures["curves"]:
        lines += [
            "## Score against degradation level",
            "",
            "| suite | model | kind | original | level: score (drop) |",
            "|---|---|---|--:|---|",
        ]
        for c in figures["curves"]:
            points = ", ".join(f"{p.level:g}: {p.degraded_mean:.2f} ({p.drop:+.2f})" for p in c.points)
            original = "—" if c.original_mean is None else f"{c.original_mean:.2f}"
            lines.append(f"| {c.suite} | {c.model} | {c.kind} | {original} | {points} |")
        lines.append("")
    return lines
