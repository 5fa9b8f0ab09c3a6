"""Multimodal scorers: table cells and TEDS, invoice fields, CER/WER, POPE and CHAIR.

Every expected figure is worked out by hand in the comment beside it, from the definitions
in the scorers' docstrings (TEDS: 1 - edit distance / larger tree size over table→tr→td;
cell F1 after row and column alignment; error rates as edits over reference length)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from benchroute import Case, Completion, Score, ScorerSpec
from benchroute.scorers import build_scorer
from benchroute.scorers._tables import cell_scores, parse_table, table_from_rows, teds_similarity
from benchroute.scorers._values import canonical, parse_date, parse_number
from benchroute.scorers._vision import chair_summary, pope_summary, read_yes_no


def run(
    name: str, text: str, *, expected: Any = None, args: dict[str, Any] | None = None, **case: Any
) -> Score:
    scorer = build_scorer(ScorerSpec(name=name, args=args or {}))

    async def call() -> Score:
        return await scorer(Completion(text=text), Case(id="c1", input="q", expected=expected, **case))

    return asyncio.run(call())


# --- reading numbers and dates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234.50", 1234.5),
        ("$1,234.50", 1234.5),
        ("1.234,50 €", 1234.5),
        ("1 234,50", 1234.5),
        ("1'234.50 CHF", 1234.5),
        ("EUR 99", 99.0),
        ("(12.00)", -12.0),
        ("-7", -7.0),
        ("12%", 12.0),
        ("1,5", 1.5),
        ("0,234", 0.234),
        ("1.234.567", 1234567.0),
        ("1.234", 1.234),
        (".5", 0.5),
        (42, 42.0),
    ],
)
def test_numbers_are_read_in_document_notations(text: Any, value: float) -> None:
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["INV-0042", "abc", "", "1.2.3,4,5", "12 apples", None, True])
def test_non_numbers_are_not_numbers(text: Any) -> None:
    assert parse_number(text) is None


def test_a_declared_decimal_mark_settles_ambiguous_numbers() -> None:
    assert parse_number("1,234", decimal=",") == pytest.approx(1.234)
    assert parse_number("1.234", decimal=".") == pytest.approx(1.234)
    assert parse_number("1,234") == pytest.approx(1234.0)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-03-04", dt.date(2026, 3, 4)),
        ("2026/03/04", dt.date(2026, 3, 4)),
        ("03/04/2026", dt.date(2026, 3, 4)),  # month first unless dayfirst
        ("04.03.2026", dt.date(2026, 3, 4)),  # dotted: day first
        ("25/03/2026", dt.date(2026, 3, 25)),  # 25 cannot be a month
        ("4 March 2026", dt.date(2026, 3, 4)),
        ("March 4, 2026", dt.date(2026, 3, 4)),
        ("04-Mar-2026", dt.date(2026, 3, 4)),
    ],
)
def test_dates_are_read_in_document_notations(text: str, day: dt.date) -> None:
    assert parse_date(text) == day


def test_dayfirst_and_non_dates() -> None:
    assert parse_date("03/04/2026", dayfirst=True) == dt.date(2026, 4, 3)
    assert parse_date("1234") is None
    assert parse_date("2026-02-30") is None
    assert canonical("1,234.50") == canonical("1234.5")
    assert canonical(" Acme  GmbH ") == canonical("acme gmbh")


# --- reading tables -------------------------------------------------------------------------------


def test_markdown_table_in_a_fence_with_prose_around() -> None:
    text = (
        "Here is the table:\n\n```markdown\n| Item | Qty |\n|:-----|----:|\n| Pen | 2 |\n| Ink | 1 |\n```\n"
        "Done."
    )
    table = parse_table(text)
    assert table is not None and table.source == "markdown"
    assert table.grid() == [["Item", "Qty"], ["Pen", "2"], ["Ink", "1"]]


def test_html_table_keeps_spans_and_reads_th_as_cells() -> None:
    text = (
        "<table><thead><tr><th colspan='2'>Totals</th></tr></thead>"
        "<tbody><tr><td>Net</td><td>1,000.00</td></tr><tr><td>VAT &amp; tax</td><td>190.00</td></tr>"
        "</tbody></table>"
    )
    table = parse_table(text)
    assert table is not None and table.source == "html"
    assert table.rows[0][0].colspan == 2
    assert table.grid() == [["Totals", "Totals"], ["Net", "1,000.00"], ["VAT & tax", "190.00"]]


def test_csv_and_tsv_tables() -> None:
    csv_table = parse_table('Item,Amount\n"Pen, blue",2.50\nInk,1.00\n')
    assert csv_table is not None and csv_table.source == "csv"
    assert csv_table.grid() == [["Item", "Amount"], ["Pen, blue", "2.50"], ["Ink", "1.00"]]
    tsv_table = parse_table("Item\tAmount\nPen\t2.50\n")
    assert tsv_table is not None and tsv_table.source == "tsv"


@pytest.mark.parametrize("text", ["", "No table here.", "a | b", "I'm not sure, sorry."])
def test_no_table(text: str) -> None:
    assert parse_table(text) is None


# --- cell precision / recall / F1 -----------------------------------------------------------------

TRUTH = [["Item", "Qty", "Price"], ["Pen", "2", "1.50"], ["Ink", "1", "4.00"]]


def test_cell_f1_of_identical_tables_is_one() -> None:
    result = cell_scores(TRUTH, TRUTH)
    assert (result.precision, result.recall, result.f1) == (1.0, 1.0, 1.0)


def test_a_dropped_row_costs_only_its_own_cells() -> None:
    # 6 cells written, all right; 9 in the truth: P = 1, R = 6/9, F1 = 2(2/3)/(5/3) = 0.8
    result = cell_scores([TRUTH[0], TRUTH[2]], TRUTH)
    assert result.matched == 6
    assert result.precision == pytest.approx(1.0)
    assert result.recall == pytest.approx(6 / 9)
    assert result.f1 == pytest.approx(0.8)


def test_an_inserted_column_costs_only_its_own_cells() -> None:
    # truth 3x2 = 6 cells; the answer adds a column of junk: 9 written, 6 right.
    # P = 6/9, R = 1, F1 = 2(2/3)/(5/3) = 0.8
    truth = [["h1", "h2"], ["1", "2"], ["3", "4"]]
    answer = [["h1", "X", "h2"], ["1", "y", "2"], ["3", "z", "4"]]
    result = cell_scores(answer, truth)
    assert (result.matched, result.predicted, result.truth) == (6, 9, 6)
    assert result.f1 == pytest.approx(0.8)


def test_swapped_rows_keep_the_longest_ordered_match() -> None:
    # one column h, a, b against h, b, a: the monotone alignment keeps h and one of a/b.
    result = cell_scores([["h"], ["b"], ["a"]], [["h"], ["a"], ["b"]])
    assert result.matched == 2
    assert result.f1 == pytest.approx(2 / 3)


def test_one_wrong_cell() -> None:
    # 8 of 9 right on both sides: P = R = F1 = 8/9
    answer = [row[:] for row in TRUTH]
    answer[2][2] = "4.50"
    assert cell_scores(answer, TRUTH).f1 == pytest.approx(8 / 9)


def test_table_cells_scorer_normalises_numbers_and_case() -> None:
    answer = "| item | qty | price |\n|---|---|---|\n| PEN | 2 | $1.50 |\n| Ink | 1.0 | 4 |"
    score = run("table_cells", answer, expected=TRUTH)
    assert score.value == pytest.approx(1.0), score.reason
    assert score.details["format"] == "markdown"


def test_table_cells_without_normalisation_counts_notation() -> None:
    answer = "| item | Qty | Price |\n|---|---|---|\n| Pen | 2 | 1.50 |\n| Ink | 1 | 4.00 |"
    # only "item" differs from "Item": 8 of 9 both ways
    score = run("table_cells", answer, expected=TRUTH, args={"normalize": False})
    assert score.value == pytest.approx(8 / 9)


def test_table_cells_expected_as_header_and_rows_or_text() -> None:
    answer = "Item,Qty,Price\nPen,2,1.50\nInk,1,4.00"
    by_dict = run("table_cells", answer, expected={"header": TRUTH[0], "rows": TRUTH[1:]})
    by_text = run(
        "table_cells",
        answer,
        expected="| Item | Qty | Price |\n|-|-|-|\n| Pen | 2 | 1.50 |\n| Ink | 1 | 4.00 |",
    )
    assert by_dict.value == by_text.value == pytest.approx(1.0)


def test_no_table_in_the_answer_scores_zero_and_no_expected_table_is_an_error() -> None:
    score = run("table_cells", "I cannot read this document.", expected=TRUTH)
    assert score.value == 0.0 and not score.passed
    assert "no table found" in score.reason
    with pytest.raises(ValueError, match="no expected table"):
        run("table_cells", "| a | b |\n|-|-|\n| 1 | 2 |", expected=None)


# --- TEDS -----------------------------------------------------------------------------------------


def _t(rows: list[list[str]]) -> Any:
    return table_from_rows(rows)


def test_teds_of_identical_tables_is_one() -> None:
    assert teds_similarity(_t(TRUTH), _t(TRUTH)) == pytest.approx(1.0)


def test_teds_one_cell_renamed() -> None:
    # trees: table + 2 tr + 4 td = 7 nodes; renaming td "d" to td "x" costs lev 1 / 1 = 1.
    # TEDS = 1 - 1/7
    assert teds_similarity(_t([["a", "b"], ["c", "x"]]), _t([["a", "b"], ["c", "d"]])) == pytest.approx(
        1 - 1 / 7
    )


def test_teds_one_cell_partly_wrong() -> None:
    # "totl" vs "total": one deletion, normalised Levenshtein 1/5 = 0.2; TEDS = 1 - 0.2/7
    value = teds_similarity(_t([["a", "b"], ["c", "totl"]]), _t([["a", "b"], ["c", "total"]]))
    assert value == pytest.approx(1 - 0.2 / 7)


def test_teds_missing_row() -> None:
    # the answer lacks a tr and its 2 td: 3 deletions over max(4, 7) = 7 nodes: 1 - 3/7
    assert teds_similarity(_t([["a", "b"]]), _t([["a", "b"], ["c", "d"]])) == pytest.approx(1 - 3 / 7)


def test_teds_span_mismatch() -> None:
    # truth: table, tr, td(A, colspan 2), tr, td b, td c = 6 nodes
    # answer: table, tr, td A, td "", tr, td b, td c = 7 nodes
    # rename td(A,cs2)->td(A) costs 1 (spans differ), insert td "" costs 1: 1 - 2/7
    truth = parse_table("<table><tr><td colspan=2>A</td></tr><tr><td>b</td><td>c</td></tr></table>")
    answer = parse_table("<table><tr><td>A</td><td></td></tr><tr><td>b</td><td>c</td></tr></table>")
    assert truth is not None and answer is not None
    assert teds_similarity(answer, truth) == pytest.approx(1 - 2 / 7)


def test_teds_structure_only_ignores_text() -> None:
    assert (
        teds_similarity(_t([["x", "y"], ["z", "w"]]), _t([["a", "b"], ["c", "d"]]), structure_only=True)
        == 1.0
    )


def test_teds_scorer_reads_any_format() -> None:
    html = (
        "<table><tr><td>Item</td><td>Qty</td><td>Price</td></tr>"
        "<tr><td>Pen</td><td>2</td><td>1.50</td></tr></table>"
    )
    # the answer lacks the last row (tr + 3 td = 4 nodes) of a 1 + 3 + 9 = 13-node truth
    score = run("teds", html, expected=TRUTH)
    assert score.value == pytest.approx(1 - 4 / 13)
    assert score.details["format"] == "html"


# --- invoice fields -------------------------------------------------------------------------------

INVOICE = {"invoice_no": "INV-0042", "date": "2026-03-04", "total": "1,234.50", "vendor": "Acme GmbH"}


def test_fields_all_right_in_other_notations() -> None:
    answer = (
        'Sure:\n```json\n{"Invoice No.": "INV-0042", "date": "4 March 2026", '
        '"totals": {"total": "€1.234,50"}, "vendor": "ACME GmbH", "currency": "EUR"}\n```'
    )
    score = run("fields", answer, expected=INVOICE)
    assert score.value == pytest.approx(1.0), score.reason
    assert score.details["extra"] == ["currency"]


def test_fields_missing_and_wrong() -> None:
    # vendor missing, total wrong: 2 right of 3 answered (P = 2/3) and of 4 expected (R = 1/2)
    # F1 = 2 (2/3)(1/2) / (2/3 + 1/2) = 4/7
    answer = "Invoice number: INV-0042\nDate: 03/04/2026\nTotal: 1,243.50"
    score = run("fields", answer, expected=INVOICE, args={"aliases": {"invoice_no": ["invoice_number"]}})
    assert score.value == pytest.approx(4 / 7)
    assert score.details["missing"] == ["vendor"]
    assert set(score.details["wrong"]) == {"total"}


def test_fields_needs_a_mapping() -> None:
    with pytest.raises(ValueError, match="mapping of field to value"):
        run("fields", "{}", expected="INV-0042")


# --- CER / WER ------------------------------------------------------------------------------------


def test_wer_by_hand() -> None:
    # "the cat sat on the mat" -> "the cat sit on mat": 1 substitution, 1 deletion of 6 words
    score = run("wer", "the cat sit on mat", expected="the cat sat on the mat")
    assert score.details["wer"] == pytest.approx(2 / 6)
    assert (score.details["substitutions"], score.details["deletions"], score.details["insertions"]) == (
        1,
        1,
        0,
    )
    assert score.value == pytest.approx(1 - 2 / 6)


def test_cer_by_hand() -> None:
    # "abcdef" -> "abdef": 1 deletion of 6 characters
    assert run("cer", "abdef", expected="abcdef").details["cer"] == pytest.approx(1 / 6)
    # spaces count: "ab cd" -> "abcd" is 1 deletion of 5
    assert run("cer", "abcd", expected="ab cd").details["cer"] == pytest.approx(1 / 5)


def test_error_rate_options_and_edges() -> None:
    assert (
        run(
            "wer", "The cat.", expected="the cat", args={"ignore_case": True, "ignore_punctuation": True}
        ).value
        == 1.0
    )
    assert run("wer", "The cat.", expected="the cat").details["wer"] == pytest.approx(
        1.0
    )  # both words differ
    assert run("wer", "", expected="one two").details["wer"] == 1.0
    # 3 inserted words on a 1-word reference: WER 3 -> value 0
    long = run("wer", "a b c d", expected="a")
    assert long.details["wer"] == pytest.approx(3.0) and long.value == 0.0
    # line breaks are layout: "line one\nline two" equals "line one line two"
    assert run("wer", "line one\nline two", expected="line one line two").value == 1.0
    # the best of several references counts
    assert run("wer", "colour", expected=["color", "colour"]).value == 1.0
    with pytest.raises(ValueError, match="no expected transcript"):
        run("cer", "x", expected=None)


# --- POPE -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("Yes, there is a dog.", "yes"),
        ("No.", "no"),
        ("There is no dog in the image.", "no"),
        ("I don't see any dog.", "no"),
        ("I can see a dog near the tree.", "yes"),
        ("The image shows a red circle.", "yes"),
        ("Maybe.", None),
        ("", None),
    ],
)
def test_yes_no_reading(text: str, reading: str | None) -> None:
    assert read_yes_no(text) == reading


def test_pope_scorer_and_summary() -> None:
    assert run("pope", "Yes.", expected="yes").value == 1.0
    assert run("pope", "Yes.", expected=False).value == 0.0
    unparsed = run("pope", "Hard to say.", expected="no")
    assert unparsed.value == 0.0 and unparsed.details["answer"] is None
    # tp 1, fn 1, fp 1, tn 1, unparsed 1 (a "no" truth): accuracy 2/5, P = R = F1 = 1/2,
    # yes-ratio 2 of the 4 parsed answers
    summary = pope_summary([("yes", "yes"), ("yes", "no"), ("no", "yes"), ("no", "no"), ("no", None)])
    assert summary["accuracy"] == pytest.approx(0.4)
    assert (summary["precision"], summary["recall"], summary["f1"]) == (0.5, 0.5, 0.5)
    assert summary["yes_ratio"] == 0.5 and summary["unparsed"] == 1
    # an always-yes model: recall 1, yes-ratio 1, precision = share of yes truths
    always = pope_summary([("yes", "yes"), ("no", "yes"), ("no", "yes"), ("yes", "yes")])
    assert (always["recall"], always["yes_ratio"], always["precision"]) == (1.0, 1.0, 0.5)
    assert pope_summary([])["accuracy"] is None


# --- CHAIR ----------------------------------------------------------------------------------------


def test_chair_counts_objects_not_in_the_image() -> None:
    # mentions: dog (puppy), sports ball (ball), cat; "no car" is negated. 1 of 3 hallucinated.
    text = "A puppy plays with a ball next to a cat. There is no car."
    score = run("chair", text, expected=["dog", "ball"])
    assert score.details["hallucinated"] == ["cat"]
    assert score.details["mentioned"] == 3
    assert score.value == pytest.approx(2 / 3) and not score.passed
    assert score.details["coverage"] == 1.0


def test_chair_modifiers_plurals_and_metadata_objects() -> None:
    score = run(
        "chair",
        "An orange circle and two stars above some trees.",
        metadata={"objects": ["circle", "star", "tree"]},
    )
    assert score.details["hallucinated"] == [] and score.passed and score.value == 1.0
    nothing = run("chair", "A blurry picture.", expected=["circle"])
    assert nothing.value == 1.0 and nothing.details["mentioned"] == 0 and nothing.details["coverage"] == 0.0


def test_chair_vocabulary_and_summary() -> None:
    score = run(
        "chair", "A gizmo beside a widget.", expected=["widget"], args={"vocabulary": ["gizmo", "widget"]}
    )
    assert score.details["hallucinated"] == ["gizmo"]
    # two answers: 1 of 3 mentions hallucinated, then 0 of 1: CHAIR_i = 1/4, CHAIR_s = 1/2
    summary = chair_summary(
        [
            {"mentioned": 3, "hallucinated": ["cat"], "covered": ["dog", "ball"], "present": ["dog", "ball"]},
            {"mentioned": 1, "hallucinated": [], "covered": ["tree"], "present": ["tree", "sun"]},
        ]
    )
    assert summary["chair_i"] == pytest.approx(0.25)
    assert summary["chair_s"] == pytest.approx(0.5)
    assert summary["coverage"] == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="objects in the image"):
        run("chair", "a dog", expected=None)
