"""JUnit XML: read back by junitparser (what CI plugins do) and valid against the Ant/Jenkins
schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml
from lxml import etree

from benchroute.reports import render_junit
from tests.reports._runs import HOSTILE, mixed_results, record, result

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit.xsd"))))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "report.xml"
    path.write_text(text, encoding="utf-8")
    return path


def _validate(text: str) -> None:
    document = etree.fromstring(text.encode("utf-8"))
    if not SCHEMA.validate(document):
        raise AssertionError(str(SCHEMA.error_log))


def test_suites_per_suite_and_model_with_counts(tmp_path: Path) -> None:
    text = render_junit(record(), mixed_results())
    _validate(text)
    xml = JUnitXml.fromfile(str(_write(tmp_path, text)))
    suites = {suite.name: suite for suite in xml}
    assert sorted(suites) == [
        "format.big",
        "format.broken",
        "format.small",
        "safety.big",
        "safety.small",
    ]
    assert (suites["format.big"].tests, suites["format.big"].failures, suites["format.big"].errors) == (
        6,
        0,
        0,
    )
    assert (suites["format.small"].tests, suites["format.small"].failures) == (6, 3)
    assert (suites["format.broken"].errors, suites["format.broken"].failures) == (6, 0)
    assert xml.tests == 22 and xml.failures == 4 and xml.errors == 6
    assert suites["format.big"].time == pytest.approx(sum(0.3 + 0.01 * i for i in range(6)), abs=1e-3)


def test_testcases_carry_failures_errors_and_times(tmp_path: Path) -> None:
    xml = JUnitXml.fromfile(str(_write(tmp_path, render_junit(record(), mixed_results()))))
    cases = {(case.classname, case.name): case for suite in xml for case in suite}
    passed = cases[("format.big", "c2")]
    assert passed.is_passed and passed.time == pytest.approx(0.32)

    failed = cases[("format.small", "c1")]
    (failure,) = failed.result
    assert isinstance(failure, Failure)
    assert failure.message == "exact: expected 'ok' for c1"  # only the failing scorer's reason
    assert HOSTILE in (failure.text or "")  # the output, as text (escaped by the XML writer)

    errored = cases[("format.broken", "c0")]
    (error,) = errored.result
    assert isinstance(error, Error)
    assert error.message == "request timed out after 60 s" and error.type == "timeout"

    # Repeats are named apart; a suite without repeats keeps bare case ids.
    assert ("safety.small", "refuse [repeat 0]") in cases
    assert isinstance(cases[("safety.small", "refuse [repeat 1]")].result[0], Failure)
    assert ("format.big", "c0") in cases


def test_characters_xml_cannot_carry_are_replaced() -> None:
    rows = [result("m", "ctrl", False, output="bell\x07 nul\x00 esc\x1b[31m ok")]
    text = render_junit(record(), rows)
    _validate(text)  # parses at all: raw control characters would make it malformed
    assert "\x00" not in text and "\ufffd" in text


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [result("only", "a", True, latency_ms=None)],
        [result("broken", "a", False, error="boom")],
    ],
    ids=["no-results", "single-model-no-latency", "errors-only"],
)
def test_edge_runs_are_valid(rows: list[object], tmp_path: Path) -> None:
    text = render_junit(record(status="failed"), rows)  # type: ignore[arg-type]
    _validate(text)
    xml = JUnitXml.fromfile(str(_write(tmp_path, text)))
    assert xml.tests == len(rows)


def test_schema_rejects_what_ci_would_reject() -> None:
    # The schema is not a rubber stamp: a suite without counts, or a bad time, fails it.
    with pytest.raises(AssertionError):
        _validate('<testsuites><testsuite name="s"><testcase name="c"/></testsuite></testsuites>')
    with pytest.raises(AssertionError):
        _validate(
            '<testsuites><testsuite name="s" tests="1">'
            '<testcase name="c" time="fast"/></testsuite></testsuites>'
        )
