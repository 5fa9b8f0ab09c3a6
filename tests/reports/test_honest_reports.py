"""Every report says "unpriced" for an unknown cost (never $0 or a blank), how many results
came from the cache and that they count at their original figures, and reports a failed
scorer as an error."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from junitparser import Error, Failure, JUnitXml
from rich.console import Console

from benchroute.analysis import RankingLimits, RankingWeights, leaderboard, rank_models
from benchroute.reports import (
    leaderboard_table,
    ranking_table,
    render_html,
    render_json,
    render_junit,
    render_markdown,
)
from benchroute.store import SCORER_ERROR_KIND, Result
from benchroute.testing import FakeServer
from tests.conftest import write_project, write_suite
from tests.reports._runs import record, result

CACHE_NOTE = "result(s) from the cache, counted at their original cost and latency"


def _rows() -> list[Result]:
    rows = []
    for i in range(3):
        rows.append(result("big", f"c{i}", True, cost_usd=0.01))
        unpriced = result("selfhosted", f"c{i}", True)
        rows.append(dataclasses.replace(unpriced, cost_usd=None, cached=i < 2))
    return rows


def _scorer_error() -> Result:
    row = result("big", "pii", False, suite="safety")
    return dataclasses.replace(
        row,
        error="scorer 'pii_leakage' failed: ConfigError: the pii scorer needs the 'scorers' extra",
        error_kind=SCORER_ERROR_KIND,
        score=None,
        output="the model's reply, kept",
    )


def _text(renderable: object) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_terminal_tables_say_unpriced_and_count_the_cache() -> None:
    summaries = leaderboard(_rows())
    text = _text(leaderboard_table(summaries))
    line = next(row for row in text.splitlines() if "selfhosted" in row and "│" in row)
    assert "unpriced" in line and "$0" not in line
    assert "unpriced (cost unknown, not $0; set prices:): selfhosted" in text
    assert f"2 {CACHE_NOTE}" in text
    ranked = _text(ranking_table(rank_models(summaries), RankingWeights(cost=1), RankingLimits()))
    assert "unpriced" in next(row for row in ranked.splitlines() if "selfhosted" in row)


def test_file_reports_say_unpriced_and_count_the_cache() -> None:
    rows = _rows()
    markdown = render_markdown(record(), rows)
    assert "| unpriced | unpriced |" in markdown and f"2 {CACHE_NOTE}" in markdown
    assert "unpriced (not placed on the cost frontier): selfhosted" in markdown
    html = render_html(record(), rows)
    assert ">unpriced<" in html and f"2 {CACHE_NOTE}" in html
    document = json.loads(render_json(record(), rows))
    model = next(m for m in document["models"] if m["model"] == "selfhosted")
    assert model["unpriced"] is True and model["total_cost_usd"] is None
    assert model["cost_per_success_usd"] is None and model["on_cost_frontier"] is False
    assert document["unpriced_models"] == ["selfhosted"] and document["cached_results"] == 2
    assert any(CACHE_NOTE in note for note in document["notes"])
    costs = {r["cost_usd"] for r in document["results"] if r["model"] == "selfhosted"}
    assert costs == {None}


def test_junit_reports_a_scorer_error_as_an_error_not_a_failure(tmp_path: Path) -> None:
    rows = [
        result("big", "ok", True, suite="safety"),
        result("big", "bad", False, suite="safety"),
        _scorer_error(),
    ]
    text = render_junit(record(), rows)
    path = tmp_path / "junit.xml"
    path.write_text(text, encoding="utf-8")
    (suite,) = list(JUnitXml.fromfile(str(path)))
    assert (suite.tests, suite.failures, suite.errors) == (3, 1, 1)
    by_name = {case.name: case for case in suite}
    (error,) = by_name["pii"].result
    assert isinstance(error, Error) and error.type == SCORER_ERROR_KIND
    assert "scorer 'pii_leakage' failed" in (error.message or "")
    assert "the model's reply, kept" in (error.text or "")
    (failure,) = by_name["bad"].result
    assert isinstance(failure, Failure)


def test_a_scorer_error_is_named_in_the_notes_and_counts_as_an_error() -> None:
    rows = [result("big", "ok", True, suite="safety"), _scorer_error()]
    (summary,) = leaderboard(rows)
    assert summary.errors == 1 and summary.scorer_errors == 1
    markdown = render_markdown(record(), rows)
    assert "1 scorer error(s): counted as errors, not as model failures" in markdown


def test_an_estimate_says_unpriced_instead_of_zero(tmp_path: Path, fake: FakeServer) -> None:
    from benchroute.config import load_project, load_suite
    from benchroute.reports import estimate_table
    from benchroute.runner import estimate_run

    models = {"llama": {"provider": "openai", "model": "llama", "base_url": fake.base_url}}
    project = load_project(write_project(tmp_path, models))
    suite = load_suite(write_suite(tmp_path, "s", [{"id": "c0", "input": "hi", "expected": "hi"}]))
    text = _text(estimate_table(estimate_run(project, [suite])))
    row = next(line for line in text.splitlines() if "llama" in line)
    assert "unpriced" in row and "$0" not in row
    assert "unknown (1 unpriced request(s))" in text  # nothing priced: the total is unknown
    assert fake.requests == []


def test_reports_say_when_a_suite_judged_with_the_embedded_model() -> None:
    from benchroute.scorers import EMBEDDED_JUDGE_WARNING

    rubric = [{"name": "rubric", "args": {"criteria": "polite"}}]
    judged = {"name": "tone", "tier": "unit", "dataset": {"cases": [{"id": "c0"}]}, "scorers": rubric}
    run = record(suites=[judged, {"name": "format", "tier": "unit", "scorers": [{"name": "exact"}]}])
    rows = [result("big", "c0", True, suite="tone")]
    note = f"suite tone: {EMBEDDED_JUDGE_WARNING}"
    assert note in render_markdown(run, rows).replace("\\", "")
    assert note in json.loads(render_json(run, rows))["notes"]
    assert "135M local model" in render_html(run, rows)
    strong = record(suites=[judged], judge="small")  # a project judge: no warning
    assert "135M" not in render_markdown(strong, rows)


def test_the_p50_is_end_to_end_with_the_last_attempt_beside_it() -> None:
    rows = [
        dataclasses.replace(result("big", f"c{i}", True, latency_ms=200.0), e2e_latency_ms=1200.0)
        for i in range(3)
    ]
    markdown = render_markdown(record(), rows)
    assert "1,200 ms (last try 200 ms)" in markdown
    assert "1,200 ms (last try 200 ms)" in render_html(record(), rows)
