"""A run as JUnit XML, the test-report format every CI system reads.

Mapping: one ``<testsuite>`` per suite × model (named ``suite.model``, with its counts and
total time), one ``<testcase>`` per result — ``classname`` is ``suite.model``, ``name`` the
case id, followed by `` [repeat N]`` when the suite asks each case more than once, ``time``
the request's latency in seconds. A result whose request failed, or whose scorer (or judge)
failed, gets ``<error>`` (message: the error, type: its kind — ``scorer`` for a scorer
error, whose text adds the model's output); a result that came back, was scored and did
not pass gets ``<failure>`` whose message lists each failing scorer's reason and whose text
adds the model's output. A broken measurement is never reported as a failed model.

Model output can hold anything, including characters XML 1.0 cannot carry at all (most
control characters): those are replaced by U+FFFD so the document always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from ..store import SCORER_ERROR_KIND, Result, RunRecord
from ._common import failing_reasons, truncate

# Characters XML 1.0 allows: tab, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MESSAGE_CHARS = 1000
_OUTPUT_CHARS = 4000


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _seconds(milliseconds: float | None) -> str:
    return f"{(milliseconds or 0.0) / 1000:.3f}"


def _timestamp(iso: str) -> str:
    # The Ant/Jenkins schema wants an ISO date-time without zone or fraction.
    return iso[:19] if len(iso) >= 19 else iso


def _testcase(parent: ET.Element, result: Result, classname: str, with_repeat: bool) -> None:
    name = f"{result.case_id} [repeat {result.repeat}]" if with_repeat else result.case_id
    case = ET.SubElement(
        parent,
        "testcase",
        {"name": _xml_text(name), "classname": _xml_text(classname), "time": _seconds(result.latency_ms)},
    )
    if result.error:
        error = ET.SubElement(
            case,
            "error",
            {
                "message": _xml_text(truncate(result.error, _MESSAGE_CHARS)),
                "type": _xml_text(result.error_kind or "error"),
            },
        )
        text = result.error
        if result.error_kind == SCORER_ERROR_KIND and result.output is not None:
            text = "\n".join([result.error, "output:", truncate(result.output, _OUTPUT_CHARS)])
        error.text = _xml_text(text)
    elif not result.passed:
        reasons = failing_reasons(result) or ["failed"]
        failure = ET.SubElement(
            case,
            "failure",
            {"message": _xml_text(truncate("; ".join(reasons), _MESSAGE_CHARS)), "type": "score"},
        )
        score = "—" if result.score is None else f"{result.score:.3f}"
        output = truncate(result.output or "", _OUTPUT_CHARS)
        failure.text = _xml_text("\n".join([*reasons, f"score: {score}", "output:", output]))


def render_junit(run: RunRecord, results: list[Result]) -> str:
    """The run as a JUnit XML document (``<testsuites>`` root), as text."""
    groups: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for result in results:
        groups[(result.suite, result.model)].append(result)
    root = ET.Element("testsuites", {"name": _xml_text(f"benchroute run {run.id}")})
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_ms = 0.0
    for index, ((suite, model), rows) in enumerate(sorted(groups.items())):
        rows.sort(key=lambda r: (r.case_id, r.repeat))
        errors = sum(1 for r in rows if r.error)
        failures = sum(1 for r in rows if not r.error and not r.passed)
        suite_ms = sum(r.latency_ms or 0.0 for r in rows)
        classname = f"{suite}.{model}"
        element = ET.SubElement(
            root,
            "testsuite",
            {
                "name": _xml_text(classname),
                "tests": str(len(rows)),
                "failures": str(failures),
                "errors": str(errors),
                "skipped": "0",
                "time": _seconds(suite_ms),
                "timestamp": _timestamp(run.started_at),
                "hostname": "benchroute",
                "id": str(index),
                "package": _xml_text(suite),
            },
        )
        properties = ET.SubElement(element, "properties")
        for key, value in (("run_id", run.id), ("suite", suite), ("model", model)):
            ET.SubElement(properties, "property", {"name": key, "value": _xml_text(value)})
        with_repeat = any(r.repeat for r in rows)
        for result in rows:
            _testcase(element, result, classname, with_repeat)
        totals["tests"] += len(rows)
        totals["failures"] += failures
        totals["errors"] += errors
        total_ms += suite_ms
    for counter, count in totals.items():
        root.set(counter, str(count))
    root.set("time", _seconds(total_ms))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
