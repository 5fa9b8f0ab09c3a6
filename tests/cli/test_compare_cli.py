"""``benchroute compare`` and ``benchroute cases`` on a store built directly (no model calls)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from statsmodels.stats.contingency_tables import mcnemar as statsmodels_mcnemar
from typer.testing import CliRunner

from benchroute.cli import app
from benchroute.store import Result, RunRecord, Store
from tests.conftest import run_cli

runner = CliRunner()


def _result(run: str, case: str, model: str, passed: bool, repeat: int = 0, cost: float = 0.001) -> Result:
    return Result(
        run_id=run,
        suite="qa",
        case_id=case,
        model=model,
        repeat=repeat,
        messages=[],
        output="x",
        scores=[],
        score=float(passed),
        passed=passed,
        cost_usd=cost,
        latency_ms=100.0 + 10 * repeat,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Run r1: 'small' and 'big' on 40 cases (3 repeats); run r2: 'small' on the same cases.

    Per case, small passes c0..c9 and c30..c39, big passes c0..c29 — 20 cases flipped
    fail→pass, 10 pass→fail. Case c5 is flaky for small in r1 (passes 2 of 3).
    """
    path = tmp_path / "store.db"
    store = Store(f"sqlite:///{path}")
    for run_id in ("r1aaaaaaaaaa", "r2bbbbbbbbbb"):
        store.create_run(
            RunRecord(
                id=run_id,
                suites=["qa"],
                config={},
                package_version="0",
                prices={},
                started_at="2026-01-01T00:00:00" if run_id.startswith("r1") else "2026-01-02T00:00:00",
            )
        )
    rows = []
    for i in range(40):
        small = i < 10 or i >= 30
        big = i < 30
        for repeat in range(3):
            rows.append(
                _result("r1aaaaaaaaaa", f"c{i}", "small", small and not (i == 5 and repeat == 2), repeat)
            )
            rows.append(_result("r1aaaaaaaaaa", f"c{i}", "big", big, repeat, cost=0.004))
            rows.append(_result("r2bbbbbbbbbb", f"c{i}", "small", i < 35, repeat))
    store.add_results(rows)
    store.close()
    return path


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_compare_two_models_of_one_run(db: Path) -> None:
    code, out, _ = _invoke("compare", "r1", "--models", "small,big", "--db", str(db))
    assert code == 0, out
    assert "big vs small · 40 paired cases" in out
    assert "McNemar χ² corrected" in out  # 30 discordant cases
    assert "Flipped cases (30 of 40)" in out and "pass→fail" in out and "fail→pass" in out
    # cost: 0.004 against 0.001 in every case — significant, and worse for B.
    cost_line = next(line for line in out.splitlines() if "cost per case" in line)
    assert "worse" in cost_line


def test_compare_json_matches_statsmodels(db: Path) -> None:
    code, out, _ = _invoke(
        "compare", "r1", "--models", "small,big", "--json", "--resamples", "2000", "--db", str(db)
    )
    assert code == 0
    data = json.loads(out)
    assert (data["a"], data["b"], data["cases"]) == ("small", "big", 40)
    assert data["bootstrap"] == {"resamples": 2000, "seed": 0, "method": "percentile"}
    test = data["mcnemar"]
    assert (test["a_only"], test["b_only"]) == (10, 20)
    reference = statsmodels_mcnemar([[0, 10], [20, 0]], exact=False, correction=True)
    assert test["p_value"] == pytest.approx(reference.pvalue, rel=1e-12)
    rows = {m["metric"]: m for m in data["metrics"]}
    assert rows["pass rate"]["difference"] == pytest.approx(10 / 40)
    assert rows["pass rate"]["verdict"] in {"better", "no significant difference"}
    assert rows["pass rate"]["significant"] == (reference.pvalue < 0.05 and rows["pass rate"]["ci"][0] > 0)
    assert rows["cost per case (USD)"]["verdict"] == "worse"
    flipped = {(f["case_id"], f["direction"]) for f in data["flipped"]}
    assert ("c35", "pass→fail") in flipped and ("c15", "fail→pass") in flipped and len(flipped) == 30


def test_compare_same_model_across_runs(db: Path) -> None:
    code, out, _ = _invoke("compare", "r1", "r2", "--model", "small", "--json", "--db", str(db))
    assert code == 0
    data = json.loads(out)
    assert data["a"] == "small @ r1aaaaaaaaaa" and data["b"] == "small @ r2bbbbbbbbbb"
    # r2 passes c10..c29 that r1 failed, and fails c35..c39 that r1 passed.
    assert (data["mcnemar"]["a_only"], data["mcnemar"]["b_only"]) == (5, 20)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "nope", "--models", "a,b"], "no run 'nope'"),
        (
            ["compare", "r1", "--models", "small,huge"],
            "model 'huge' is not in run r1aaaaaaaaaa (it has: big, small)",
        ),
        (["compare", "r1"], "name the two models of run r1aaaaaaaaaa to compare: --models A,B"),
        (["compare", "r1", "r2"], "choose one with --model NAME (in both: small)"),
        (["compare", "r1", "r2", "--model", "big"], "model 'big' is not in run r2bbbbbbbbbb"),
        (["cases", "quarantine", "remove", "qa", "c1"], "qa/c1 is not quarantined"),
    ],
)
def test_user_errors_are_one_line_exit_2(db: Path, args: list[str], message: str) -> None:
    code, out, err = _invoke(*args, "--db", str(db))
    assert code == 2
    assert message in err and err.startswith("error:")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


def test_no_common_cases_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = Store(f"sqlite:///{path}")
    store.create_run(RunRecord("r", ["qa"], {}, "0", {}, "2026-01-01T00:00:00"))
    store.add_results([_result("r", "c1", "a", True), _result("r", "c2", "b", True)])
    store.close()
    # A real subprocess, as a user runs it.
    proc = run_cli("compare", "r", "--models", "a,b", "--db", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "have no case in common" in proc.stderr and "compare runs of the same suites" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_flaky_quarantine_and_compare_leaves_them_out(db: Path) -> None:
    code, out, _ = _invoke("cases", "flaky", "r1", "--db", str(db))
    assert code == 0 and "Flaky cases (1)" in out and "c5" in out and "2/3" in out
    code, out, _ = _invoke("cases", "flaky", "r1", "--model", "small", "--quarantine", "--db", str(db))
    assert code == 0 and "quarantined 1 case(s)" in out
    code, out, _ = _invoke("cases", "quarantine", "list", "--db", str(db))
    assert "flaky: small passed 2/3 in run r1aaaaaaaaaa" in out
    code, out, err = _invoke("compare", "r1", "--models", "small,big", "--json", "--db", str(db))
    assert code == 0 and json.loads(out)["cases"] == 39
    assert "6 result(s) of quarantined cases left out" in err
    code, out, _ = _invoke(
        "compare", "r1", "--models", "small,big", "--json", "--include-quarantined", "--db", str(db)
    )
    assert json.loads(out)["cases"] == 40
    # Across both runs, cases r1 and r2 disagree on are flaky too (c10..c29, c35..c39).
    code, out, _ = _invoke("cases", "flaky", "r1", "r2", "--model", "small", "--json", "--db", str(db))
    assert {f["case_id"] for f in json.loads(out)} == {f"c{i}" for i in [5, *range(10, 30), *range(35, 40)]}


def test_quarantine_add_list_remove(db: Path) -> None:
    code, out, _ = _invoke("cases", "quarantine", "list", "--db", str(db))
    assert code == 0 and "no quarantined cases" in out
    code, out, _ = _invoke(
        "cases", "quarantine", "add", "qa", "c7", "--reason", "judge disagrees", "--db", str(db)
    )
    assert code == 0 and "quarantined qa/c7" in out
    code, out, _ = _invoke("cases", "quarantine", "add", "qa", "c7", "--db", str(db))
    assert code == 0 and "already quarantined" in out
    code, out, _ = _invoke("cases", "quarantine", "list", "--db", str(db))
    assert "judge disagrees" in out and "Quarantined cases (1)" in out
    code, out, _ = _invoke("cases", "quarantine", "remove", "qa", "c7", "--db", str(db))
    assert code == 0 and "released qa/c7" in out
    code, out, _ = _invoke("cases", "quarantine", "list", "--db", str(db))
    assert "no quarantined cases" in out


def test_quarantining_a_case_no_run_has_says_so(db: Path) -> None:
    code, out, err = _invoke("cases", "quarantine", "add", "qa", "c-typo", "--db", str(db))
    assert code == 0 and "quarantined qa/c-typo" in out
    assert "no stored result has suite 'qa', case 'c-typo'" in err
    code, out, err = _invoke("cases", "quarantine", "add", "qa", "c1", "--db", str(db))
    assert code == 0 and "no stored result" not in err
