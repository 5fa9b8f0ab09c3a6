"""Table extraction: read the table a model wrote, and score it against the ground truth.

Scanned invoices and reports hold tables; a vision model (or an OCR pipeline) is asked to
give them back. Two scorers compare its table with the case's expected one:

``table_cells``
    Cell precision, recall and F1 after aligning the two grids. Columns are aligned first
    (a monotone alignment maximising the similarity of column contents, so a dropped or
    added column shifts nothing), then rows (maximising equal cells in aligned columns, so
    a dropped row costs its own cells and no others). A true positive is a cell whose
    normalised content equals the aligned truth cell; precision divides by the cells the
    model wrote, recall by the cells of the truth. This is the factored alignment GriTS
    (Smock et al., 2022) uses for content similarity, with exact cell equality.
``teds``
    Tree-edit-distance similarity (Zhong et al., 2019, PubTabNet):
    ``1 - edit(T_pred, T_true) / max(|T_pred|, |T_true|)`` over the trees
    ``table → tr → td``, computed with APTED. Inserting or deleting a node costs 1;
    renaming a ``td`` into a ``td`` costs the normalised Levenshtein distance of their texts
    (1 when their spans differ); any other rename costs 1 when the tags differ. ``th`` is
    read as ``td`` and ``thead``/``tbody`` are not nodes, so a Markdown or CSV answer is
    scored on the same footing as HTML. ``structure_only`` ignores cell text (TEDS-S).

Reading a table (:func:`parse_table`), first that applies: an HTML ``<table>``; a Markdown
pipe table (the ``|---|`` rule line dropped); delimited text (tab, comma, semicolon or pipe,
at least two rows of the same width). Code fences are looked inside. HTML ``colspan`` and
``rowspan`` are kept for TEDS and fill every grid position they cover for the cell scores.
The expected table is a list of rows, ``{"header": [...], "rows": [[...]]}``, or text in any
of the formats above.

Normalisation (``normalize``, default on) before cells are compared: NFKC, casefold,
whitespace collapsed, and numbers read as numbers (``1,234.50`` equals ``1234.5``; see
:mod:`._values`; ``decimal`` says which mark is decimal when a table's numbers are
ambiguous). An answer with no table scores 0 with the reason; a case without an expected
table is a scorer error (the data is wrong, not the model).
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from ..config import Case
from ..types import Completion
from ._base import Score, Scorer, declare, threshold_passed
from ._values import Decimal, canonical

# Tables beyond this many cells are not aligned (the alignment is quadratic in rows and in
# columns); a model that writes 100,000 cells for a 40-cell invoice has failed anyway.
MAX_CELLS = 20_000


@dataclass(slots=True)
class Cell:
    text: str
    colspan: int = 1
    rowspan: int = 1


@dataclass(slots=True)
class Table:
    """Rows of cells as written (spans kept), and where the table was read from."""

    rows: list[list[Cell]]
    source: str = "rows"  # html | markdown | csv | tsv | rows
    notes: list[str] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return sum(len(row) for row in self.rows)

    def grid(self) -> list[list[str]]:
        """The table as a rectangular grid, a spanning cell's text in each position it covers,
        missing positions empty."""
        grid: dict[tuple[int, int], str] = {}
        width = 0
        for r, row in enumerate(self.rows):
            c = 0
            for cell in row:
                while (r, c) in grid:
                    c += 1
                for dr in range(max(1, cell.rowspan)):
                    for dc in range(max(1, cell.colspan)):
                        grid.setdefault((r + dr, c + dc), cell.text)
                c += max(1, cell.colspan)
                width = max(width, c)
        height = max((r for r, _ in grid), default=-1) + 1
        return [[grid.get((r, c), "") for c in range(width)] for r in range(height)]


def table_from_rows(rows: list[list[Any]], source: str = "rows") -> Table:
    return Table([[Cell("" if value is None else str(value)) for value in row] for row in rows], source)


# --- reading ------------------------------------------------------------------------------------


class _TableHTML(HTMLParser):
    """The first ``<table>`` of a document (nested tables flattened into their cell's text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[Cell]] = []
        self.depth = 0
        self.done = False
        self.cell: Cell | None = None
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "table":
            self.depth += 1
        elif self.depth == 1 and tag == "tr":
            self._close_cell()
            self.rows.append([])
        elif self.depth == 1 and tag in ("td", "th"):
            self._close_cell()
            if not self.rows:
                self.rows.append([])
            spans = dict(attrs)
            self.cell = Cell("", _span(spans.get("colspan")), _span(spans.get("rowspan")))
            self.parts = []
        elif self.cell is not None and tag == "br":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if tag == "table":
            self.depth -= 1
            if self.depth == 0:
                self._close_cell()
                self.done = True
        elif self.depth == 1 and tag in ("td", "th", "tr"):
            self._close_cell()

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.parts.append(data)

    def _close_cell(self) -> None:
        if self.cell is not None:
            self.cell.text = " ".join("".join(self.parts).split())
            self.rows[-1].append(self.cell)
            self.cell = None


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_RULE_CELL = re.compile(r"^:?-{1,}:?$")
_PIPE_SPLIT = re.compile(r"(?<!\\)\|")


def parse_table(text: str) -> Table | None:
    """The first table in ``text`` (HTML, Markdown or delimited), or None."""
    if not text or not text.strip():
        return None
    lowered = text.lower()
    if "<table" in lowered:
        parser = _TableHTML()
        try:
            parser.feed(text)
            parser.close()
        except Exception:  # html.parser is lenient; anything it still rejects is no table
            parser.rows = []
        rows = [row for row in parser.rows if row]
        if rows:
            return Table(rows, "html")
    blocks = [match.group(1) for match in _FENCE.finditer(text)] + [text]
    for block in blocks:
        table = _markdown(block)
        if table is not None:
            return table
    for block in blocks:
        table = _delimited(block)
        if table is not None:
            return table
    return None


def _markdown(text: str) -> Table | None:
    best: list[list[str]] = []
    run: list[list[str]] = []
    has_rule = False
    best_rule = False
    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if "|" in stripped and not stripped.startswith("```"):
            cells = [html.unescape(part.strip().replace("\\|", "|")) for part in _PIPE_SPLIT.split(stripped)]
            if stripped.startswith("|"):
                cells = cells[1:]
            if stripped.endswith("|") and not stripped.endswith("\\|"):
                cells = cells[:-1]
            if cells and all(_RULE_CELL.match(cell.replace(" ", "")) for cell in cells):
                has_rule = True
                continue
            run.append(cells)
            continue
        if (len(run) >= 2 or (run and has_rule)) and (has_rule, len(run)) > (best_rule, len(best)):
            best, best_rule = run, has_rule
        run, has_rule = [], False
    if not best or (not best_rule and len(best) < 2):
        return None
    if not best_rule and not any(len(row) > 1 for row in best):
        return None
    return Table([[Cell(text) for text in row] for row in best], "markdown")


def _delimited(text: str) -> Table | None:
    lines = [line for line in text.splitlines()]
    for delimiter, source in (("\t", "tsv"), (",", "csv"), (";", "csv")):
        best: list[list[str]] = []
        run: list[list[str]] = []
        width = 0
        for line in [*lines, ""]:
            row = next(csv.reader(io.StringIO(line), delimiter=delimiter), []) if line.strip() else []
            if len(row) >= 2 and (not run or len(row) == width):
                run.append([cell.strip() for cell in row])
                width = len(row)
                continue
            if len(run) > len(best):
                best = run
            run, width = ([[cell.strip() for cell in row]], len(row)) if len(row) >= 2 else ([], 0)
        if len(best) >= 2:
            return Table([[Cell(text) for text in row] for row in best], source)
    return None


def expected_table(value: Any) -> Table | None:
    """The case's expected table from rows, ``{header, rows}`` or text."""
    if isinstance(value, Table):
        return value
    if isinstance(value, dict):
        rows = value.get("rows")
        if isinstance(rows, list):
            header = value.get("header")
            all_rows = ([header] if isinstance(header, list) else []) + rows
            if all(isinstance(row, list) for row in all_rows):
                return table_from_rows(all_rows)
        return None
    if isinstance(value, list) and value and all(isinstance(row, list | tuple) for row in value):
        return table_from_rows([list(row) for row in value])
    if isinstance(value, str):
        return parse_table(value)
    return None


# --- cell precision / recall / F1 ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellScores:
    precision: float
    recall: float
    f1: float
    matched: int
    predicted: int
    truth: int
    row_map: list[tuple[int, int]]
    column_map: list[tuple[int, int]]


def _align(n: int, m: int, weight: Any) -> tuple[float, list[tuple[int, int]]]:
    """A monotone alignment of 0..n-1 with 0..m-1 maximising the summed weight of aligned
    pairs (skips cost nothing): Needleman-Wunsch with zero gap penalties."""
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        row, above = best[i], best[i - 1]
        for j in range(1, m + 1):
            w = weight(i - 1, j - 1)
            row[j] = max(above[j], row[j - 1], above[j - 1] + w if w > 0 else -1.0)
    pairs: list[tuple[int, int]] = []
    i, j = n, m
    while i > 0 and j > 0:
        w = weight(i - 1, j - 1)
        if w > 0 and best[i][j] == best[i - 1][j - 1] + w:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif best[i][j] == best[i - 1][j]:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return best[n][m], pairs


def _lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def cell_scores(predicted: list[list[str]], truth: list[list[str]]) -> CellScores:
    """Cell precision/recall/F1 of two normalised grids (see the module docstring)."""
    n_pred = sum(len(row) for row in predicted)
    n_true = sum(len(row) for row in truth)
    width_p = max((len(row) for row in predicted), default=0)
    width_t = max((len(row) for row in truth), default=0)
    pred_cols = [[row[c] if c < len(row) else "" for row in predicted] for c in range(width_p)]
    true_cols = [[row[c] if c < len(row) else "" for row in truth] for c in range(width_t)]

    def column_similarity(i: int, j: int) -> float:
        a, b = pred_cols[i], true_cols[j]
        return 2 * _lcs(a, b) / (len(a) + len(b)) if a or b else 0.0

    _, column_map = _align(width_p, width_t, column_similarity)

    def row_agreement(r: int, s: int) -> float:
        a, b = predicted[r], truth[s]
        return float(sum(1 for i, j in column_map if i < len(a) and j < len(b) and a[i] == b[j]))

    matched, row_map = _align(len(predicted), len(truth), row_agreement)
    precision = matched / n_pred if n_pred else 0.0
    recall = matched / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return CellScores(precision, recall, f1, int(matched), n_pred, n_true, row_map, column_map)


# --- TEDS ---------------------------------------------------------------------------------------


class _Node:
    __slots__ = ("children", "colspan", "rowspan", "tag", "text")

    def __init__(self, tag: str, text: str = "", colspan: int = 1, rowspan: int = 1) -> None:
        self.tag = tag
        self.text = text
        self.colspan = colspan
        self.rowspan = rowspan
        self.children: list[_Node] = []


def _tree(table: Table, normalise: Any) -> tuple[_Node, int]:
    root = _Node("table")
    size = 1
    for row in table.rows:
        tr = _Node("tr")
        root.children.append(tr)
        size += 1
        for cell in row:
            tr.children.append(_Node("td", normalise(cell.text), cell.colspan, cell.rowspan))
            size += 1
    return root, size


def _levenshtein_normalised(a: str, b: str) -> float:
    from rapidfuzz.distance import Levenshtein  # a multimodal-extra dependency

    return float(Levenshtein.normalized_distance(a, b))


def teds_similarity(
    predicted: Table, truth: Table, *, structure_only: bool = False, normalise: Any = None
) -> float:
    """TEDS of two tables (see the module docstring)."""
    from apted import APTED, Config  # a multimodal-extra dependency

    norm = normalise or (lambda text: text)

    class _Costs(Config):  # type: ignore[misc]
        def rename(self, a: _Node, b: _Node) -> float:
            if a.tag != b.tag:
                return 1.0
            if a.tag != "td":
                return 0.0
            if a.colspan != b.colspan or a.rowspan != b.rowspan:
                return 1.0
            if structure_only:
                return 0.0
            return _levenshtein_normalised(a.text, b.text)

        def children(self, node: _Node) -> list[_Node]:
            return node.children

    tree_p, size_p = _tree(predicted, norm)
    tree_t, size_t = _tree(truth, norm)
    distance = APTED(tree_p, tree_t, _Costs()).compute_edit_distance()
    return max(0.0, 1.0 - float(distance) / max(size_p, size_t))


# --- the scorers --------------------------------------------------------------------------------


def _normaliser(normalize: bool, decimal: Decimal) -> Any:
    if not normalize:
        return lambda text: text.strip()
    return lambda text: canonical(text, decimal=decimal)


def _tables(completion: Completion, case: Case, expected: Any) -> tuple[Table | None, Table]:
    truth = expected_table(case.expected if expected is None else expected)
    if truth is None or not truth.rows:
        raise ValueError(
            f"case {case.id!r} has no expected table: give expected as a list of rows, "
            "{header: [...], rows: [[...]]}, or a Markdown/HTML/CSV table"
        )
    predicted = parse_table(completion.text)
    if predicted is not None and predicted.cells > MAX_CELLS:
        predicted.notes.append(
            f"the answer has {predicted.cells} cells; only tables up to {MAX_CELLS} are scored"
        )
    return predicted, truth


def _no_table(name: str, threshold: float, truth: Table) -> Score:
    return Score(
        0.0,
        threshold_passed(0.0, threshold),
        f"no table found in the answer (expected {len(truth.rows)} rows)",
        name,
        details={"found": False},
    )


def table_cells(
    expected: Any = None,
    *,
    normalize: bool = True,
    decimal: Decimal = None,
    threshold: float = 0.9,
) -> Scorer:
    """Cell F1 of the answer's table against the expected one (details: precision, recall,
    matched, predicted and expected cell counts, and the format read)."""
    norm = _normaliser(normalize, decimal)

    async def score(completion: Completion, case: Case) -> Score:
        predicted, truth = _tables(completion, case, expected)
        if predicted is None:
            return _no_table("table_cells", threshold, truth)
        if predicted.notes:
            return Score(0.0, threshold_passed(0.0, threshold), predicted.notes[0], "table_cells")
        grid_p = [[norm(text) for text in row] for row in predicted.grid()]
        grid_t = [[norm(text) for text in row] for row in truth.grid()]
        result = await asyncio.to_thread(cell_scores, grid_p, grid_t)
        reason = (
            f"cell F1 {result.f1:.3f} (precision {result.precision:.3f}, recall {result.recall:.3f}: "
            f"{result.matched} of {result.truth} cells right, {result.predicted} written, {predicted.source})"
        )
        return Score(
            result.f1,
            threshold_passed(result.f1, threshold),
            reason,
            "table_cells",
            details={
                "precision": result.precision,
                "recall": result.recall,
                "f1": result.f1,
                "matched": result.matched,
                "predicted_cells": result.predicted,
                "expected_cells": result.truth,
                "format": predicted.source,
            },
        )

    return score


@declare(requires=("apted", "rapidfuzz"), extra="multimodal")
def teds(
    expected: Any = None,
    *,
    structure_only: bool = False,
    normalize: bool = True,
    decimal: Decimal = None,
    threshold: float = 0.9,
) -> Scorer:
    """Tree-edit-distance similarity of the answer's table to the expected one (TEDS, or
    TEDS-S with ``structure_only``)."""
    norm = _normaliser(normalize, decimal)
    name = "teds"

    async def score(completion: Completion, case: Case) -> Score:
        predicted, truth = _tables(completion, case, expected)
        if predicted is None:
            return _no_table(name, threshold, truth)
        if predicted.notes:
            return Score(0.0, threshold_passed(0.0, threshold), predicted.notes[0], name)
        value = await asyncio.to_thread(
            teds_similarity, predicted, truth, structure_only=structure_only, normalise=norm
        )
        label = "TEDS-S" if structure_only else "TEDS"
        return Score(
            value,
            threshold_passed(value, threshold),
            f"{label} {value:.3f} ({len(predicted.rows)} rows written, {len(truth.rows)} expected, "
            f"{predicted.source})",
            name,
            details={"teds": value, "structure_only": structure_only, "format": predicted.source},
        )

    return score
