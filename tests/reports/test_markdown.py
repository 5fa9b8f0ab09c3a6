"""Markdown for pull-request comments: the leaderboard, the Pareto note, failures folded away,
untrusted text inert, and a size that GitHub accepts."""

from __future__ import annotations

import re

from benchroute.analysis import percentile
from benchroute.reports import render_markdown
from benchroute.reports._markdown import md_text
from tests.reports._runs import HOSTILE, mixed_results, record, result


def _leaderboard_rows(text: str) -> dict[str, list[str]]:
    section = text.split("### Leaderboard", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in section.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        rows[cells[1].rstrip(" ★")] = cells
    return rows


def test_leaderboard_columns_and_figures() -> None:
    text = render_markdown(record(), mixed_results())
    header = next(line for line in text.splitlines() if line.startswith("| # |"))
    for column in (
        "pass rate",
        "mean score",
        "cost / success",
        "p50",
        "p95",
        "p99",
        "CV",
        "retry rate",
        "errors",
    ):
        assert f"| {column} |" in header
    rows = _leaderboard_rows(text)
    assert list(rows) == ["big", "small", "broken"]  # leaderboard order
    assert rows["big"][2] == "100.0% (8/8)"
    assert rows["small"][2] == "50.0% (4/8)"
    assert rows["broken"][6] == "—"  # nothing passed: no cost per success
    assert rows["broken"][12] == "6"  # errors
    big_latencies = [r.latency_ms for r in mixed_results() if r.model == "big" and r.latency_ms is not None]
    assert rows["big"][8] == f"{percentile(big_latencies, 95):,.0f} ms"
    assert rows["big"][9] == f"{percentile(big_latencies, 99):,.0f} ms"


def test_every_table_row_has_the_header_width() -> None:
    # An unescaped | in a cell would shift every later column of that row.
    text = render_markdown(record(), mixed_results())
    for block in re.split(r"\n(?!\|)", text):
        lines = [line for line in block.splitlines() if line.startswith("|")]
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
        assert len(widths) <= 1, block


def test_pareto_note_names_frontier_and_dominated_models() -> None:
    text = render_markdown(record(), mixed_results())
    cost_line = next(line for line in text.splitlines() if line.startswith("- accuracy vs cost per success"))
    # big: 100 % at $0.01/success; small: 50 % at $0.0015/success — neither dominates the other.
    assert "**big**" in cost_line and "**small**" in cost_line
    assert "no successful output (not placed on the cost frontier): broken" in text
    assert re.search(r"\| big ★ \|", text) and re.search(r"\| small ★ \|", text)


def test_failed_cases_are_folded_and_escaped() -> None:
    text = render_markdown(record(), mixed_results())
    details = text[text.index("<details>") :]
    assert "<summary>Failed cases (10)</summary>" in details
    assert details.rstrip().endswith("</details>")
    assert "request timed out after 60 s" in details
    assert "exact: expected 'ok' for c1" in details
    # The hostile output is inert: no raw tag, no mention, no table break.
    assert "<script" not in text and "<img" not in text
    assert "&lt;script&gt;alert" in text
    assert "@octocat" not in text and "@&#8203;octocat" in text
    assert "\\| x" in text


def test_md_text_neutralises_markdown() -> None:
    assert md_text("a|b") == "a\\|b"
    assert md_text("line\nbreak") == "line break"
    assert md_text("![x](https://e/x.png)") == "\\!\\[x\\](https://e/x.png)"
    assert md_text("`code` *em* _u_") == "\\`code\\` \\*em\\* \\_u\\_"
    assert md_text("<b>&") == "&lt;b&gt;&amp;"


def test_size_is_capped_with_a_note() -> None:
    rows = [result("m", f"case-{i:04d}", False, output="x" * 5000) for i in range(2000)]
    text = render_markdown(record(), rows, max_bytes=60_000)
    assert len(text.encode("utf-8")) <= 60_000
    assert "more failed cases, left out" in text
    assert text.rstrip().endswith("</details>")
    shown = text.count("| case-")
    assert 50 < shown < 2000
    assert f"… and {2000 - shown} more failed cases" in text


def test_edge_runs() -> None:
    empty = render_markdown(record(status="failed"), [])
    assert "This run has no results." in empty and "<details>" not in empty

    all_pass = render_markdown(record(), [result("solo", "a", True, latency_ms=None)])
    assert "Every case passed." in all_pass
    assert "no latency was measured" in all_pass
    assert "| 1 | solo ★ |" in all_pass

    errors_only = record(status="failed")
    errors_only.error = "endpoint unreachable | <b>"
    text = render_markdown(errors_only, [result("down", "a", False, error="connection refused")])
    assert "> **error:** endpoint unreachable \\| &lt;b&gt;" in text
    assert "connection refused" in text and "0.0% (0/1)" in text
    assert HOSTILE not in text


def test_many_suites_and_models_stay_under_the_limit() -> None:
    # 40 models x 120 suites: the table by suite alone would be ~60 KB; it is left out with a
    # note instead of pushing the comment past GitHub's limit.
    models = [f"provider/model-with-a-rather-long-name-{m:02d}" for m in range(40)]
    rows = [
        result(model, "a", (s + m) % 3 == 0, suite=f"suite-number-{s:03d}")
        for s in range(120)
        for m, model in enumerate(models)
    ]
    text = render_markdown(record(), rows, max_bytes=60_000)
    assert len(text.encode("utf-8")) <= 60_000
    assert "### Leaderboard" in text and all(m in text for m in models)
    assert "_The pass rate by suite is left out to keep this comment short" in text
    assert text.rstrip().endswith("</details>")


def test_a_huge_leaderboard_is_cut_with_a_note() -> None:
    rows = [result(f"m{'x' * 180}{i:04d}", "a", True) for i in range(600)]
    text = render_markdown(record(), rows, max_bytes=60_000)
    assert len(text.encode("utf-8")) <= 60_000
    assert "cut here to keep this comment short" in text


def test_control_characters_are_replaced() -> None:
    assert md_text("a\x00b\x07c\x1bd\x85e") == "a\ufffdb\ufffdc\ufffdd e"  # U+0085 is whitespace
    text = render_markdown(record(), [result("m", "a", False, output="x\x00y\x01z")])
    assert not any(c in text for c in "\x00\x01")
