"""pass@k: the unbiased estimator of the HumanEval paper, and its per-model aggregation."""

from __future__ import annotations

from math import comb

import pytest

from benchroute.analysis import pass_at_k, pass_at_k_by_model
from benchroute.store import Result


def paper_formula(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k) with exact integers (math.comb(n-c, k) is 0 when k > n-c)."""
    return 1.0 - comb(n - c, k) / comb(n, k)


def test_hand_computed_values() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 10) == 1.0
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 0, 10) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    # 1 - C(7,2)/C(10,2) = 1 - 21/45
    assert pass_at_k(10, 3, 2) == pytest.approx(1 - 21 / 45)
    # 1 - C(7,5)/C(10,5) = 1 - 21/252
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)
    # n - c < k: every draw of k contains a pass
    assert pass_at_k(10, 3, 8) == 1.0
    assert pass_at_k(1, 1, 1) == 1.0
    assert pass_at_k(1, 0, 1) == 0.0


@pytest.mark.parametrize("n", [1, 2, 5, 10, 20])
def test_matches_the_paper_formula_exhaustively(n: int) -> None:
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(paper_formula(n, c, k), abs=1e-12)


def test_numerically_large_n() -> None:
    # C(200, 100) is about 9e58; the product form never builds it.
    for c, k in [(1, 1), (13, 1), (13, 10), (13, 100), (57, 50), (0, 100), (199, 1), (100, 100)]:
        value = pass_at_k(200, c, k)
        assert 0.0 <= value <= 1.0
        assert value == pytest.approx(paper_formula(200, c, k), rel=1e-9, abs=1e-12)
    assert pass_at_k(200, 13, 1) == pytest.approx(13 / 200)
    assert pass_at_k(200, 101, 100) == 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(0, 0, 1), (5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_rejects_impossible_arguments(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def result(
    model: str, case: str, repeat: int, passed: bool, *, suite: str = "he", tests: bool | None = None
) -> Result:
    scores = [{"scorer": "code_tests", "value": float(tests), "passed": tests}] if tests is not None else []
    return Result(
        run_id="r",
        suite=suite,
        case_id=case,
        model=model,
        repeat=repeat,
        messages=[],
        output="",
        scores=scores,
        score=1.0 if passed else 0.0,
        passed=passed,
    )


def test_by_model_averages_cases_and_skips_k_above_n() -> None:
    results = [
        # model a, case 1: 4 samples, 1 passed; case 2: 4 samples, 4 passed
        *(result("a", "1", r, r == 0) for r in range(4)),
        *(result("a", "2", r, True) for r in range(4)),
        # model b, case 1: 2 samples, 0 passed (k=4 not estimable for b)
        *(result("b", "1", r, False) for r in range(2)),
        # same case id in another suite is another case
        *(result("b", "1", r, True, suite="other") for r in range(2)),
    ]
    table = pass_at_k_by_model(results, [1, 2, 4])
    assert set(table) == {"a", "b"}
    assert table["a"][1] == pytest.approx((0.25 + 1.0) / 2)
    assert table["a"][2] == pytest.approx(((1 - comb(3, 2) / comb(4, 2)) + 1.0) / 2)
    assert table["a"][4] == pytest.approx(1.0)
    assert table["b"] == {1: pytest.approx(0.5), 2: pytest.approx(0.5)}


def test_by_model_can_count_one_scorer() -> None:
    # The case failed overall (say code_security failed) but its tests passed.
    results = [result("a", "1", r, False, tests=r < 2) for r in range(4)]
    assert pass_at_k_by_model(results, [1])["a"][1] == 0.0
    assert pass_at_k_by_model(results, [1], scorer="code_tests")["a"][1] == pytest.approx(0.5)


def test_by_model_with_no_estimable_k() -> None:
    assert pass_at_k_by_model([result("a", "1", 0, True)], [5]) == {"a": {}}
    assert pass_at_k_by_model([], [1]) == {}
    with pytest.raises(ValueError):
        pass_at_k_by_model([], [0])
