"""fit_table judges a drop by the sum of its column widths: on random tables (markup, wide
characters, multi-line cells, padded or unpadded edges, every box, a table width) the fitted table's natural
width is within the limit, and putting back the last dropped column would not fit."""

from __future__ import annotations

import copy
import io
import random

from rich import box
from rich.console import Console
from rich.table import Table

from benchroute.reports._fit import fit_table, natural_width

_WORDS = ["a", "pass", "gpt-4o-mini", "[bold]0.81[/bold]", "猫の手", "12,345", "—", "x\nlonger line", ""]


def _table(rng: random.Random) -> Table:
    table = Table(
        box=rng.choice([box.HEAVY_HEAD, box.SIMPLE, box.ROUNDED, None]),
        pad_edge=rng.random() < 0.6,
        show_edge=rng.random() < 0.7,
        collapse_padding=rng.random() < 0.2,
        padding=(0, rng.choice([0, 1, 2])),
    )
    if rng.random() < 0.15:  # a width of the table's own: rich measures it as that width
        setattr(table, rng.choice(["width", "min_width"]), rng.randint(20, 150))
    columns = rng.randint(2, 9)
    for i in range(columns):
        table.add_column("model" if i == 0 else f"col {i} " + "h" * rng.randint(0, 12))
    for _ in range(rng.randint(0, 6)):
        table.add_row(*(" ".join(rng.choices(_WORDS, k=rng.randint(1, 4))) for _ in range(columns)))
    return table


def test_fitted_tables_fit_and_drop_no_more_than_needed() -> None:
    rng = random.Random(7)
    console = Console(width=200, file=io.StringIO())
    checked = 0
    for _ in range(400):
        table = _table(rng)
        limit = rng.randint(20, 120)
        original = copy.deepcopy(table)
        fitted = fit_table(table, console, width=limit)
        headers = [str(c.header) for c in fitted.columns]
        if headers != ["model"]:  # the kept name column alone may not fit: it is never cut
            assert natural_width(fitted, console) <= limit, (limit, headers)
        dropped = [str(c.header) for c in original.columns if str(c.header) not in headers]
        if dropped:
            checked += 1
            # With no drop order the rightmost columns go first: the last one dropped is the
            # leftmost of them. Put back, the table no longer fits.
            back = copy.deepcopy(original)
            back.columns = [c for c in back.columns if str(c.header) in {*headers, dropped[0]}]
            for position, column in enumerate(back.columns):
                column._index = position
            assert natural_width(back, console) > limit, (limit, headers, dropped)
    assert checked > 100
