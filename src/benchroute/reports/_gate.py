"""Terminal rendering of a run's cost estimate (``--estimate``) and of the CI gate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from ..analysis import GateFailure, GateReport
    from ..runner import EstimateLine, RunEstimate


def _usd(value: float) -> str:
    if value == 0:
        return "$0"
    return f"${value:.4f}" if value >= 0.01 else f"${value:.3g}"


def _unpriced(pricing: str) -> bool:
    return pricing.startswith("unknown")


def _line_cost(line: EstimateLine) -> str:
    """A line's cost: unknown for unpriced requests, never $0 for them."""
    if not line.unpriced_requests:
        return _usd(line.cost_usd)
    if line.cost_usd:
        return f"{_usd(line.cost_usd)} + {line.unpriced_requests} unpriced"
    return "unpriced"


def estimate_table(estimate: RunEstimate) -> Table:
    """Expected requests, tokens, time and cost per suite x model, with the total."""
    table = Table(title="Estimated cost (no request sent)", title_justify="left", show_footer=True)
    table.add_column("suite", footer="total")
    table.add_column("model")
    table.add_column("requests", justify="right", footer=str(estimate.requests))
    table.add_column("in tokens", justify="right", footer=f"{sum(x.input_tokens for x in estimate.lines):,}")
    table.add_column(
        "out tokens", justify="right", footer=f"{sum(x.output_tokens for x in estimate.lines):,}"
    )
    seconds = [x.seconds for x in estimate.lines if x.seconds is not None]
    table.add_column("gen. time", justify="right", footer=f"{sum(seconds):.1f} s" if seconds else "")
    # An unpriced model's cost is unknown: its lines say so and the total is a lower bound.
    total = estimate.total_text
    table.add_column("cost", justify="right", footer=total)
    table.add_column("priced by")
    table.add_column("method", overflow="fold")
    for line in estimate.lines:
        requests = str(line.requests) + (f" ({line.cached} cached)" if line.cached else "")
        table.add_row(
            line.suite,
            line.model,
            requests,
            f"{line.input_tokens:,}",
            f"{line.output_tokens:,}",
            f"{line.seconds:.1f} s" if line.seconds is not None else "—",
            _line_cost(line),
            "unknown: set prices:" if _unpriced(line.pricing) else escape(line.pricing),
            escape(line.method),
        )
    return table


def _actual(failure: GateFailure) -> str:
    if failure.actual is not None:
        return f"{failure.actual:.6g}"
    return "unpriced" if failure.detail.startswith("unpriced") else "n/a"


def gate_table(report: GateReport) -> Table:
    """Each failed threshold: suite, model, threshold, actual vs limit."""
    table = Table(title=f"CI gate: {len(report.failures)} threshold(s) failed", title_justify="left")
    for column in ("suite", "model", "threshold", "actual", "limit", "why"):
        table.add_column(column, overflow="fold")
    for failure in report.failures:
        comparison = ">=" if failure.threshold.startswith("min") else "<="
        table.add_row(
            failure.suite,
            failure.model,
            failure.threshold,
            _actual(failure),
            "—" if failure.limit is None else f"{comparison} {failure.limit:g}",
            escape(failure.detail),
        )
    return table
