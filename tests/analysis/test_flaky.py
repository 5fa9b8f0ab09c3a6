"""Flaky cases, the store's quarantine, and exclude_quarantined."""

from __future__ import annotations

from pathlib import Path

from benchroute.analysis import exclude_quarantined, flaky_cases
from benchroute.store import Result, Store


def _result(run: str, case: str, model: str, repeat: int, passed: bool, error: str | None = None) -> Result:
    return Result(
        run_id=run,
        suite="s",
        case_id=case,
        model=model,
        repeat=repeat,
        messages=[],
        output=None if error else "x",
        scores=[],
        score=float(passed),
        passed=passed,
        error=error,
    )


def test_flaky_within_a_run() -> None:
    results = [
        _result("r1", "steady", "m", 0, True),
        _result("r1", "steady", "m", 1, True),
        _result("r1", "wobbly", "m", 0, True),
        _result("r1", "wobbly", "m", 1, False),
        _result("r1", "wobbly", "m", 2, False, error="timeout"),
        _result("r1", "wobbly", "other", 0, False),
        _result("r1", "wobbly", "other", 1, False),
    ]
    (flaky,) = flaky_cases(results)
    assert (flaky.case_id, flaky.model, flaky.run_ids) == ("wobbly", "m", ("r1",))
    assert (flaky.passed, flaky.total, flaky.errors) == (1, 3, 1)
    assert flaky.pass_rate == 1 / 3


def test_flaky_across_runs_only_when_asked() -> None:
    results = [_result("r1", "c", "m", 0, True), _result("r2", "c", "m", 0, False)]
    assert flaky_cases(results) == []  # each run on its own is consistent
    (flaky,) = flaky_cases(results, across_runs=True)
    assert flaky.run_ids == ("r1", "r2") and (flaky.passed, flaky.total) == (1, 2)


def test_exclude_quarantined_takes_pairs_or_store_entries(tmp_path: Path) -> None:
    results = [_result("r", case, "m", 0, True) for case in ("a", "b", "c")]
    assert [r.case_id for r in exclude_quarantined(results, {("s", "b")})] == ["a", "c"]
    assert [r.case_id for r in exclude_quarantined(results, [("other", "a")])] == ["a", "b", "c"]
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    assert store.quarantine("s", "c", "flaky: m passed 1/3")
    assert [r.case_id for r in exclude_quarantined(results, store.quarantined())] == ["a", "b"]
    store.close()


def test_store_quarantine_round_trip(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    assert store.quarantined() == []
    assert store.quarantine("s", "b", "flaky", created_at="2026-01-02T00:00:00+00:00")
    assert store.quarantine("s", "a", "by hand")
    assert not store.quarantine("s", "a", "again")  # already there: the first entry stays
    store.close()
    reopened = Store(url)  # survives a reopen (and the migrations run again as no-ops)
    entries = reopened.quarantined()
    assert [(e.suite, e.case_id, e.reason) for e in entries] == [("s", "a", "by hand"), ("s", "b", "flaky")]
    assert entries[1].created_at == "2026-01-02T00:00:00+00:00"
    assert entries[0].created_at  # stamped when not given
    assert reopened.unquarantine("s", "a")
    assert not reopened.unquarantine("s", "a")
    assert [e.case_id for e in reopened.quarantined()] == ["b"]
    reopened.close()


def test_load_test_summaries_are_never_flaky() -> None:
    # A stress suite's load result passes or fails on its SLOs, which the gate checks;
    # listing it (and so letting --quarantine silence the SLO gate) would be wrong.
    results = [_result("r1", "load", "m", 0, True), _result("r2", "load", "m", 0, False)]
    for result in results:
        result.suite = "burst"
        result.details = {"load": {"requests": 50}}
    assert flaky_cases(results, across_runs=True) == []
    # A case that merely is called "load" still counts.
    plain = [_result("r1", "load", "m", 0, True), _result("r2", "load", "m", 0, False)]
    assert [f.case_id for f in flaky_cases(plain, across_runs=True)] == ["load"]
