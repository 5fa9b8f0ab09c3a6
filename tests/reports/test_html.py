"""The HTML report as text: one self-contained file (nothing fetched), plotly.js inlined once,
and untrusted text escaped everywhere."""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser

import pytest

from benchroute import BenchrouteError
from benchroute.reports import render_html
from benchroute.store import Result
from tests.reports._runs import HOSTILE, mixed_results, record, result

EVIL_MODEL = '<img src=x onerror=alert(1)>"m'


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

    def texts_of(self, tag: str) -> list[str]:
        return [t for t, _ in self.tags if t == tag]


def _parse(text: str) -> _Tags:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    return parser


def _hostile_results() -> list[Result]:
    rows = mixed_results()
    rows.append(result(EVIL_MODEL, "c0", False, output=HOSTILE))
    rows.append(result(EVIL_MODEL, "c1", True, output="fine"))
    return rows


def test_self_contained_with_plotly_inlined_once() -> None:
    text = render_html(record(), mixed_results())
    parsed = _parse(text)
    for tag, attrs in parsed.tags:
        assert "src" not in attrs, f"<{tag}> loads {attrs['src']}"
        assert tag not in ("link", "iframe", "object", "embed", "img", "base"), tag
        href = attrs.get("href") or ""
        assert not re.match(r"(https?:)?//", href), href
    assert text.count("* plotly.js v") == 1  # the bundle, once, however many charts
    assert text.count("Plotly.newPlot(") == 4
    assert len(text) > 1_000_000  # the bundle really is inline, not referenced
    csp = next(a for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in (csp["content"] or "")
    for chart in ("chart-pareto-cost", "chart-pareto-latency", "chart-latency", "chart-cost"):
        assert f'id="{chart}"' in text


def test_untrusted_text_is_escaped_everywhere() -> None:
    text = render_html(record(), _hostile_results())
    parsed = _parse(text)
    # No element came from a model's output or a model's name.
    assert not any(tag == "img" for tag, _ in parsed.tags)
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    assert 'alert("pwned")' not in "".join(parsed.scripts)
    assert len(parsed.scripts) == 7  # config, bundle, four charts, the table filter
    # The output is shown as text, and the model name is a filter option.
    assert "&lt;/script&gt;&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in text
    assert ("option", {"value": EVIL_MODEL}) in parsed.tags
    # plotly gets the name HTML-escaped (it renders <a>, <b>... in labels) and JSON-escaped.
    chart_json = "".join(s for s in parsed.scripts if "Plotly.newPlot" in s)
    assert "\\u003cimg" not in chart_json and "&lt;img src=x onerror=alert(1)&gt;" in chart_json


@pytest.mark.parametrize(
    ("rows", "placeholders", "plots"),
    [
        ([], [], 0),
        (
            [result("down", "a", False, error="refused", cost_usd=0.0)],
            ["No model passed", "No latency", "cost $0"],
            0,
        ),
        ([result("m", "a", False), result("n", "a", False)], ["No model passed"], 3),
        ([result("solo", "a", True), result("solo", "b", True, latency_ms=None)], [], 4),
        ([result("m", "a", True, latency_ms=None, cost_usd=0.0)], ["No latency", "cost $0"], 1),
    ],
    ids=["no-results", "errors-only", "no-passes", "single-model", "no-latency-free"],
)
def test_degenerate_runs_render(rows: list[Result], placeholders: list[str], plots: int) -> None:
    text = render_html(record(status="failed"), rows)
    _parse(text)
    assert text.count("Plotly.newPlot(") == plots
    assert text.count("* plotly.js v") == (1 if plots else 0)
    for sentence in placeholders:
        assert sentence in text
    assert text.count("<tr data-model=") == len(rows)


def test_missing_plotly_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(BenchrouteError, match=r"benchroute\[reports\]"):
        render_html(record(), mixed_results())


def _load_result(model: str, passed: bool) -> Result:
    return Result(
        run_id="run-abc123",
        suite="chat-load",
        case_id="load",
        model=model,
        repeat=0,
        messages=[],
        output=None,
        scores=[
            {
                "scorer": "slo:p95_ms",
                "value": float(passed),
                "passed": passed,
                "reason": "p95 912 ms > 800 ms",
            }
        ],
        score=float(passed),
        passed=passed,
        details={
            "load": {
                "requests": 1200,
                "offered_rps": 40.0,
                "achieved_rps": 31.5,
                "goodput_rps": 30.0,
                "p50_ms": 120.0,
                "p95_ms": 912.0,
                "p99_ms": 1500.0,
                "ttft_p95_ms": None,
                "rate_limited_rate": 0.2,
                "error_rate": 0.0,
                "retry_rate": 0.0,
            },
            "saturation": {"offered_rps": 35.0, "at_s": 12.0, "reason": f"429s {HOSTILE}"},
            "windows": [],
        },
    )


def test_load_results_get_their_own_table_not_leaderboard_rows() -> None:
    mixed = render_html(record(), [*mixed_results(), _load_result("cheap", False)])
    assert '<section id="load">' in mixed and "1,200" in mixed and "35.0 rps @ 12 s" in mixed
    assert "FAIL: p95 912 ms &gt; 800 ms" in mixed
    assert HOSTILE not in mixed  # the saturation reason is escaped like any run text
    only = render_html(record(), [_load_result(EVIL_MODEL, True)])  # a model with load results only
    assert "No scored cases: this run has only load tests" in only
    assert "No charts: this run has no scored cases." in only
    assert EVIL_MODEL not in only and '<section id="load">' in only
