"""Fitting wide tables to a terminal: low-priority columns are dropped, never shrunk.

rich squeezes a table that is wider than the console by cutting cells to ``smo…``, which on
a leaderboard cuts the one thing a reader needs whole: the model name. Instead, columns are
removed in a stated order (least useful first) until the table's natural width fits, and a
caption names what was hidden and how to see it (``--wide``). Name columns (model, suite,
case) are never dropped and never cut.
"""

from __future__ import annotations

from collections.abc import Collection

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

# Least useful first. A column whose header is not listed is dropped after the listed ones;
# the KEEP columns never are.
LEADERBOARD_DROP_ORDER = (
    "wasted $/1k req",
    "p99",
    "retry rate",
    "mean score",
    "cases",
    "total cost",
    "efficiency",
    "p95",
)
LATENCY_DROP_ORDER = ("TTFT p95", "mean", "std", "p99", "CV", "n", "TTFT p50", "p95")
_SLACK = 4  # cells of edge padding a drop may move (see _Widths)
KEEP = frozenset({"#", "model", "tier", "suite", "group", "pass rate", "case", "name", "id"})
# A ranking is read for its order and its frontier marks; the figures behind the utility go first.
RANKING_DROP_ORDER = ("retry rate", "efficiency", "p95", "cost / success", "utility")
# Estimates: the per-request figures go before the totals they add up to.
ESTIMATE_DROP_ORDER = ("method", "gen. time", "in tokens", "out tokens", "priced by")
MODELS_DROP_ORDER = ("limits", "key from", "endpoint", "provider")
RUNS_DROP_ORDER = ("results", "started")
CONVERSATION_DROP_ORDER = ("turn p95", "turns passed", "turns to goal", "mean turns", "turn p50")


def natural_width(table: Table, console: Console) -> int:
    """The width the table takes when nothing is cut or wrapped."""
    options = console.options.update(width=10_000)
    return Measurement.get(console, options, table).maximum


class _Widths:
    """Each column's natural width, measured once (rich's per-column measure; rich is
    pinned): after columns are dropped, the table's natural width is their sum plus the
    borders, give or take the edge padding that moves to another column when the table does
    not pad its edges — so a drop is judged by the sum, and only such a table within a few
    cells of the limit is measured again."""

    def __init__(self, table: Table, console: Console) -> None:
        options = console.options.update(width=10_000)
        self.table = table
        self.of = {id(c): table._measure_column(console, options, c).maximum for c in table.columns}

    def total(self) -> int:
        return sum(self.of[id(c)] for c in self.table.columns) + self.table._extra_width

    def fits(self, console: Console, limit: int) -> bool:
        table = self.table
        if table.width is not None or table.min_width is not None:
            # A width of the table's own is what rich measures it as, whatever the columns.
            return natural_width(table, console) <= limit
        if table.pad_edge and not table.collapse_padding:
            # Every cell's padding is the same wherever its column stands: the sum is exact.
            return self.total() <= limit
        if self.total() > limit + _SLACK:
            return False
        return natural_width(table, console) <= limit


def fit_table(
    table: Table,
    console: Console,
    drop_order: tuple[str, ...] = (),
    *,
    width: int | None = None,
    wide: bool = False,
    droppable: bool = True,
    keep: Collection[str] = (),
) -> Table:
    """``table`` with low-priority columns removed until it fits ``width`` (default: the
    console's); with ``wide``, unchanged. Name columns keep their full text. When nothing
    may be dropped (``droppable=False``: a table whose columns are models) or dropping is
    not enough, cells and headers wrap onto more lines instead of being cut to ``…``.
    ``keep`` names more columns (by header) that are neither dropped nor cut, e.g. a column
    headed by a model's name."""
    kept = KEEP | set(keep)
    for column in table.columns:
        if str(column.header) in kept:
            column.no_wrap = True
            column.overflow = "fold"
    if wide:
        return table
    limit = width or console.width
    widths = _Widths(table, console)
    if widths.fits(console, limit):
        return table
    headers = [str(c.header) for c in table.columns]
    order = [h for h in drop_order if h in headers and h not in kept]
    order += [h for h in reversed(headers) if h not in kept and h not in order]
    hidden: list[str] = []
    for header in order if droppable else []:
        index = next(i for i, c in enumerate(table.columns) if str(c.header) == header)
        del table.columns[index]
        for position, column in enumerate(table.columns):
            column._index = position  # rich pads the first and last column by their index
        hidden.append(header)
        if widths.fits(console, limit):
            break
    if not widths.fits(console, limit):
        for column in table.columns:
            column.overflow = "fold"
    if hidden:
        shown = ", ".join(name.replace("\n", " ") for name in reversed(hidden))  # two-line headers
        note = f"{len(hidden)} column(s) hidden to fit {limit} columns ({shown}): --wide shows them"
        table.caption = f"{table.caption}\n{note}" if table.caption else note
        table.caption_justify = "left"
    return table


def print_fitted(
    console: Console,
    table: Table,
    drop_order: tuple[str, ...] | None = (),
    *,
    wide: bool = False,
    keep: Collection[str] = (),
) -> None:
    """Print ``table`` fitted to ``console`` (``drop_order`` None: its columns are models, none
    is dropped, names wrap); ``wide``: every column, as wide as it needs, never cut."""
    table = fit_table(
        table, console, drop_order or (), wide=wide, droppable=drop_order is not None, keep=keep
    )
    if not wide:
        console.print(table)
        return
    # Console.print(width=) never goes past the console's width, so widen the console itself.
    width = console.width
    console.width = max(width, natural_width(table, console))
    try:
        console.print(table)
    finally:
        console.width = width
