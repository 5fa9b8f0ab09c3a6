"""Terminal rendering of a constrained ranking and its Pareto frontiers."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..analysis import RankedModel, RankingLimits, RankingWeights
from ._common import cost_cell, millis


def ranking_table(ranked: list[RankedModel], weights: RankingWeights, limits: RankingLimits) -> Table:
    """Ranked models with their utility, the figures behind it, frontier marks and violations."""
    used = ", ".join(f"{name} {weight:g}" for name, weight in weights.items() if weight)
    table = Table(title=f"Ranking · weights: {used or 'none'}", title_justify="left")
    for column, justify in (
        ("#", "right"),
        ("model", "left"),
        ("utility", "right"),
        ("pass rate", "right"),
        ("cost / success", "right"),
        ("p95", "right"),
        ("retry rate", "right"),
        ("efficiency", "right"),
        ("Pareto (cost · p95)", "center"),
        ("limits", "left"),
    ):
        # The frontier marks read as one phrase; wrapped over three rows they do not.
        no_wrap = column.startswith("Pareto")
        table.add_column(column, justify=justify, no_wrap=no_wrap)  # type: ignore[arg-type]
    for position, entry in enumerate(ranked, start=1):
        s = entry.summary
        marks = " · ".join(
            [
                "frontier" if entry.on_cost_frontier else "dominated",
                "frontier" if entry.on_latency_frontier else "dominated",
            ]
        )
        table.add_row(
            str(position) if entry.eligible else "—",
            s.model,
            f"{entry.utility:.3f}",
            f"{s.pass_rate:.1%}",
            cost_cell(s.cost_per_success_usd, s.unpriced),
            millis(s.p95_latency_ms),
            f"{s.retry_rate:.1%}",
            "—" if s.efficiency is None else f"{s.efficiency:.2f}",
            marks,
            "[red]" + "; ".join(entry.violations) + "[/]" if entry.violations else "[green]ok[/]",
        )
    if any(limits.__getattribute__(name) is not None for name in limits.__slots__):
        table.caption = "limits: " + ", ".join(
            f"{name} {getattr(limits, name):g}"
            for name in limits.__slots__
            if getattr(limits, name) is not None
        )
    return table


def ranking_json(ranked: list[RankedModel]) -> list[dict[str, Any]]:
    """The ranking as JSON-able rows, best first (``benchroute rank --json``)."""
    return [
        {
            "rank": position if entry.eligible else None,
            "model": entry.summary.model,
            "utility": entry.utility,
            "pass_rate": entry.summary.pass_rate,
            "cost_per_success_usd": entry.summary.cost_per_success_usd,
            "unpriced": entry.summary.unpriced,
            "p95_latency_ms": entry.summary.p95_latency_ms,
            "retry_rate": entry.summary.retry_rate,
            "efficiency": entry.summary.efficiency,
            "on_cost_frontier": entry.on_cost_frontier,
            "on_latency_frontier": entry.on_latency_frontier,
            "violations": entry.violations,
        }
        for position, entry in enumerate(ranked, start=1)
    ]
