"""The generalisation gap, on synthetic results: memorisers are flagged, robust models are not."""

from __future__ import annotations

import random

import pytest
from statsmodels.stats.multitest import multipletests

from benchroute.analysis import (
    ALL_KINDS,
    GapReport,
    generalisation_gap,
    perturbation_links,
    perturbation_of,
)
from benchroute.analysis._generalisation import (
    BINARY_TESTS,
    CONTINUOUS_TESTS,
    NEGATIVE_GAP,
    NO_GAP,
    NO_PAIRS,
    SUSPECT,
    holm,
)
from benchroute.store import SCORER_ERROR_KIND, Result


def _result(
    case_id: str,
    model: str,
    score: float | None,
    *,
    repeat: int = 0,
    suite: str = "gsm",
    error_kind: str | None = None,
) -> Result:
    error = None if error_kind is None else f"{error_kind} failed"
    return Result(
        run_id="run1",
        suite=suite,
        case_id=case_id,
        model=model,
        repeat=repeat,
        messages=[],
        output=None if error else "x",
        scores=[],
        score=None if error_kind == SCORER_ERROR_KIND else score,
        passed=bool(score) and error is None and score is not None and score >= 0.5,
        error=error,
        error_kind=error_kind,
    )


def _binary_run(n: int = 40, kinds: tuple[str, ...] = ("numbers",)) -> list[Result]:
    """A memoriser (right on every original, wrong on the copies) and a robust model (right
    or wrong alike on both sides: 80% of originals, each copy flips with 10% chance)."""
    rng = random.Random(7)
    rows = []
    for i in range(n):
        rows.append(_result(f"q{i}", "memoriser", 1.0))
        robust = 1.0 if rng.random() < 0.8 else 0.0
        rows.append(_result(f"q{i}", "robust", robust))
        for kind in kinds:
            rows.append(_result(f"q{i}~{kind}", "memoriser", 0.0))
            copy = robust if rng.random() > 0.1 else 1.0 - robust
            rows.append(_result(f"q{i}~{kind}", "robust", copy))
    return rows


# --- which case copies which -------------------------------------------------------------


@pytest.mark.parametrize(
    ("case_id", "expected"),
    [
        ("q1~typos", ("q1", "typos")),
        ("q1~numbers-2", ("q1", "numbers")),
        ("a~b~casing", ("a~b", "casing")),  # split on the last ~: an original id may hold one
        ("q1~instruction-reorder", ("q1", "instruction-reorder")),  # only -<digits> is a variant
        ("q1~option_shuffle-10", ("q1", "option_shuffle")),
        ("q1", None),
        ("q1~", None),
        ("~typos", None),
    ],
)
def test_perturbation_of_splits_on_the_last_tilde(case_id: str, expected: tuple[str, str] | None) -> None:
    assert perturbation_of(case_id) == expected


def test_metadata_in_the_run_snapshot_decides_over_the_id() -> None:
    config = {
        "suites": [
            {
                "name": "gsm",
                "dataset": {
                    "cases": [
                        {"id": "q1"},
                        {"id": "copy-of-q1", "metadata": {"original_id": "q1", "perturbation": "numbers"}},
                        {"id": "weird~name"},  # an original whose id happens to hold ~
                        {"id": "weird", "metadata": {}},
                    ]
                },
            }
        ]
    }
    links = perturbation_links(config)
    assert links[("gsm", "copy-of-q1")] == ("q1", "numbers")
    assert links[("gsm", "weird~name")] is None
    rows = [
        _result("q1", "m", 1.0),
        _result("copy-of-q1", "m", 0.0),
        _result("weird", "m", 1.0),
        _result("weird~name", "m", 1.0),
    ]
    report = generalisation_gap(rows, config=config)
    assert report.kinds == ["numbers"]
    assert report.perturbed_cases == 1
    row = report.row("m", "numbers")
    assert row is not None and row.pairs == 1 and row.gap == 1.0
    # Without the snapshot the id convention reads "weird~name" as a copy of "weird".
    assert generalisation_gap(rows).kinds == ["name"]


def test_a_run_without_copies_gives_an_empty_report() -> None:
    report = generalisation_gap([_result("q1", "m", 1.0), _result("q2", "m", 0.0)])
    assert not report
    assert report.rows == [] and report.suspects == []


# --- the flag ---------------------------------------------------------------------------------


def test_a_memoriser_is_flagged_and_a_robust_model_is_not_binary() -> None:
    report = generalisation_gap(_binary_run())
    memoriser = report.row("memoriser", "numbers")
    robust = report.row("robust", "numbers")
    assert memoriser is not None and robust is not None
    assert memoriser.pairs == 40 and memoriser.original == 1.0 and memoriser.perturbed == 0.0
    assert memoriser.gap == pytest.approx(1.0)
    assert memoriser.test == BINARY_TESTS
    assert memoriser.ci_low is not None and memoriser.ci_low > 0.8
    assert memoriser.p_adjusted is not None and memoriser.p_adjusted < 1e-6
    assert memoriser.significant and memoriser.suspect and memoriser.verdict == SUSPECT
    assert not robust.significant and not robust.suspect and robust.verdict == NO_GAP
    assert robust.ci_low is not None and robust.ci_high is not None
    assert robust.ci_low < 0 < robust.ci_high
    assert report.suspects == ["memoriser"]


def test_a_memoriser_is_flagged_and_a_robust_model_is_not_continuous() -> None:
    rng = random.Random(3)
    rows = []
    for i in range(30):
        quality = rng.uniform(0.4, 0.9)
        rows.append(_result(f"q{i}", "memoriser", min(1.0, quality + 0.1)))
        rows.append(_result(f"q{i}~paraphrase", "memoriser", max(0.0, quality - 0.3)))
        rows.append(_result(f"q{i}", "robust", quality))
        rows.append(_result(f"q{i}~paraphrase", "robust", min(1.0, max(0.0, quality + rng.gauss(0, 0.05)))))
    report = generalisation_gap(rows)
    memoriser, robust = report.row("memoriser"), report.row("robust")
    assert memoriser is not None and robust is not None
    assert memoriser.test == CONTINUOUS_TESTS
    assert memoriser.gap == pytest.approx(0.4, abs=0.02)
    assert memoriser.suspect
    assert not robust.significant
    assert robust.ci_low is not None and robust.ci_high is not None and robust.ci_low < 0 < robust.ci_high


def test_a_significant_negative_gap_is_reported_but_not_a_suspect() -> None:
    rows = []
    for i in range(30):
        rows.append(_result(f"q{i}", "m", 0.0))
        rows.append(_result(f"q{i}~typos", "m", 1.0))
    row = generalisation_gap(rows).row("m")
    assert row is not None
    assert row.significant and row.gap == -1.0
    assert not row.suspect and row.verdict == NEGATIVE_GAP


def test_a_small_sample_gives_a_wide_interval_and_no_flag() -> None:
    report = generalisation_gap(_binary_run(n=3))
    row = report.row("memoriser", "numbers")
    assert row is not None
    assert row.pairs == 3 and row.gap == 1.0  # every pair went the memoriser's way...
    assert row.ci_low is not None and row.ci_high is not None
    assert row.ci_high - row.ci_low > 0.5  # ...but three pairs say little
    assert row.p_value == pytest.approx(0.25)  # exact McNemar: 2 * 0.5**3
    assert not row.significant and not row.suspect
    # Continuous scores on three pairs: a t interval, wide; the signed-rank test cannot reach 0.05.
    rows = []
    for i, (original, copy) in enumerate([(0.9, 0.2), (0.8, 0.3), (0.95, 0.1)]):
        rows += [_result(f"q{i}", "m", original), _result(f"q{i}~typos", "m", copy)]
    row = generalisation_gap(rows).row("m")
    assert row is not None and row.test == CONTINUOUS_TESTS
    assert row.ci_low is not None and row.ci_high is not None and row.ci_high - row.ci_low > 0.3
    assert not row.significant


def test_one_pair_has_no_continuous_interval() -> None:
    row = generalisation_gap([_result("q1", "m", 0.7), _result("q1~typos", "m", 0.2)]).row("m")
    assert row is not None and row.pairs == 1
    assert row.gap == pytest.approx(0.5)
    assert row.ci_low is None and row.ci_high is None  # unknown, not [0.5, 0.5]
    assert not row.significant


# --- errors, variants, repeats -----------------------------------------------------------------


def test_errors_are_left_out_and_counted_not_scored_as_failures() -> None:
    rows = []
    for i in range(20):
        rows.append(_result(f"q{i}", "m", 1.0))
        # Every fourth copy errored (the provider, or the scorer): had it counted as a failure
        # the model would look worse on the copies than it is.
        kind = ("timeout", SCORER_ERROR_KIND)[i % 8 // 4] if i % 4 == 0 else None
        rows.append(_result(f"q{i}~typos", "m", 1.0, error_kind=kind))
    rows.append(_result("q1~typos", "m", None, repeat=1))  # no score: left out too
    report = generalisation_gap(rows)
    row = report.row("m", "typos")
    assert row is not None
    assert row.pairs == 15  # q0, q4, ... q16 have no scored copy
    assert row.unpaired == 5
    assert row.errors == 6  # 5 errored copies (3 timeouts, 2 scorer errors), 1 without a score
    assert row.gap == 0.0 and row.perturbed == 1.0
    assert not row.significant
    assert report.errors == 6


def test_a_model_with_only_errors_has_no_figures() -> None:
    rows = [
        _result("q1", "m", 1.0, error_kind="server_error"),
        _result("q1~typos", "m", 0.0, error_kind="server_error"),
    ]
    row = generalisation_gap(rows).row("m", "typos")
    assert row is not None
    assert row.pairs == 0 and row.errors == 2
    assert row.gap is None and row.ci_low is None and row.p_value is None and row.p_adjusted is None
    assert row.verdict == NO_PAIRS and not row.significant


def test_variants_of_one_kind_are_averaged_before_pairing() -> None:
    rows = []
    for i in range(10):
        rows.append(_result(f"q{i}", "m", 1.0))
        rows.append(_result(f"q{i}~numbers", "m", 1.0))
        rows.append(_result(f"q{i}~numbers-2", "m", 0.0))
        rows.append(_result(f"q{i}~numbers-3", "m", 0.0, error_kind="timeout"))  # left out
        rows.append(_result(f"q{i}~typos", "m", 1.0))
    report = generalisation_gap(rows)
    numbers = report.row("m", "numbers")
    assert numbers is not None
    assert numbers.pairs == 10  # one pair per original, not per variant
    assert numbers.perturbed == pytest.approx(0.5)
    assert numbers.errors == 10
    everything = report.row("m", ALL_KINDS)
    assert everything is not None and everything.kinds == ("numbers", "typos")
    # Kinds weigh the same: (0.5 + 1.0) / 2, not the mean of the three scored copies.
    assert everything.perturbed == pytest.approx(0.75)
    assert everything.pairs == 10


def test_repeats_of_a_case_are_averaged() -> None:
    rows = []
    for i in range(8):
        for repeat in range(2):
            rows.append(_result(f"q{i}", "m", 1.0, repeat=repeat))
            rows.append(_result(f"q{i}~typos", "m", float(repeat), repeat=repeat))
    row = generalisation_gap(rows).row("m")
    assert row is not None
    assert row.pairs == 8 and row.perturbed == 0.5 and row.test == CONTINUOUS_TESTS


def test_pairs_are_per_suite() -> None:
    rows = [
        _result("q1", "m", 1.0, suite="a"),
        _result("q1~typos", "m", 0.0, suite="a"),
        _result("q1", "m", 0.0, suite="b"),
        _result("q1~typos", "m", 0.0, suite="b"),
        _result("q9~typos", "m", 0.0, suite="b"),  # its original is not in the run
    ]
    report = generalisation_gap(rows)
    row = report.row("m")
    assert row is not None and row.pairs == 2 and row.gap == 0.5
    assert report.orphans == 1 and row.unpaired == 1


def test_the_passed_metric_reads_pass_fail() -> None:
    rows = []
    for i in range(12):
        rows.append(_result(f"q{i}", "m", 0.9))
        rows.append(_result(f"q{i}~typos", "m", 0.4))  # below the pass line
    by_score = generalisation_gap(rows).row("m")
    by_pass = generalisation_gap(rows, metric="passed").row("m")
    assert by_score is not None and by_pass is not None
    assert by_score.gap == pytest.approx(0.5) and by_score.test == CONTINUOUS_TESTS
    assert by_pass.gap == 1.0 and by_pass.test == BINARY_TESTS and by_pass.suspect


# --- many models x many kinds ---------------------------------------------------------------


def test_holm_matches_statsmodels() -> None:
    p_values = [0.01, 0.04, 0.03, 0.005, 0.5, 0.04]
    assert holm(p_values) == pytest.approx(list(multipletests(p_values, method="holm")[1]))
    assert holm([]) == []


def test_holm_runs_over_every_model_and_kind() -> None:
    kinds = ("casing", "numbers", "typos")
    report = generalisation_gap(_binary_run(kinds=kinds))
    # 2 models x (3 kinds + all)
    assert report.tests == 8
    unadjusted = generalisation_gap(_binary_run(kinds=kinds), correction="none")
    for row, raw in zip(report.rows, unadjusted.rows, strict=True):
        assert row.p_value == raw.p_value
        assert raw.p_adjusted == raw.p_value
        assert row.p_adjusted is not None and row.p_value is not None
        assert row.p_adjusted >= row.p_value


def test_an_all_row_of_a_single_kind_is_one_test() -> None:
    report = generalisation_gap(_binary_run())
    assert report.tests == 2  # one per model: "all" pools the same pairs as "numbers"
    single, pooled = report.row("memoriser", "numbers"), report.row("memoriser", ALL_KINDS)
    assert single is not None and pooled is not None
    assert single.p_adjusted == pooled.p_adjusted and single.gap == pooled.gap


def test_holm_keeps_a_borderline_row_from_being_flagged() -> None:
    # 8 of 8 discordant pairs: exact p = 2 / 2**8 ≈ 0.0078, below 0.05 on its own; with 10
    # models x 1 kind the smallest Holm-adjusted p is 10 x 0.0078 > 0.05.
    rows = []
    for model in range(10):
        for i in range(8):
            rows.append(_result(f"q{i}", f"m{model}", 1.0))
            rows.append(_result(f"q{i}~typos", f"m{model}", 0.0))
    report = generalisation_gap(rows)
    assert all(not row.significant for row in report.rows)
    assert all(row.suspect for row in generalisation_gap(rows, correction="none").rows)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="alpha"):
        generalisation_gap([], alpha=1.5)
    with pytest.raises(ValueError, match="correction"):
        generalisation_gap([], correction="bonferroni")  # type: ignore[arg-type]


def test_report_accessors() -> None:
    report = generalisation_gap(_binary_run(kinds=("numbers", "typos")))
    assert isinstance(report, GapReport) and report
    assert report.models == ["memoriser", "robust"]
    assert report.kinds == ["numbers", "typos"]
    assert [r.kind for r in report.for_model("robust")] == ["numbers", "typos", ALL_KINDS]
    assert report.row("nobody") is None
    assert report.confidence == pytest.approx(0.95)
