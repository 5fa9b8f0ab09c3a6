"""``benchroute report`` as a user runs it: a real run against the fake server, then every
format, to standard output and to files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from junitparser import JUnitXml

from benchroute.testing import FakeServer
from tests.conftest import run_cli
from tests.reports._runs import cli_run


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("report-cli")
    with FakeServer() as fake:
        return cli_run(folder, fake)


def _ok(*args: str, cwd: Path | None = None) -> str:
    proc = run_cli("report", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def test_text_formats_go_to_stdout(stored_run: tuple[Path, str], tmp_path: Path) -> None:
    project, run_id = stored_run
    config = ["--config", str(project)]

    table = _ok(run_id[:6], *config)  # a prefix of the id is enough; table is the default
    assert f"Leaderboard · run {run_id}" in table and "Pass rate by suite" in table
    assert "accurate" in table and "Results (failures)" in table

    markdown = _ok(run_id, "--format", "md", *config)
    assert markdown.startswith(f"## benchroute run `{run_id}`")
    assert "### Leaderboard" in markdown and "<summary>Failed cases (12)</summary>" in markdown

    data = json.loads(_ok(run_id, "-f", "json", *config))
    assert data["run"]["id"] == run_id and len(data["results"]) == 48
    assert {m["model"] for m in data["models"]} == {"accurate", "cheap", "middling"}

    junit_file = tmp_path / "stdout.xml"
    junit_file.write_text(_ok(run_id, "--format", "junit", *config))
    xml = JUnitXml.fromfile(str(junit_file))
    assert xml.tests == 48 and xml.failures == 12 and xml.errors == 0


def test_files_and_the_html_default(stored_run: tuple[Path, str], tmp_path: Path) -> None:
    project, run_id = stored_run
    config = ["--config", str(project)]
    nested = tmp_path / "out" / "ci" / "junit.xml"
    said = _ok(run_id, "--format", "junit", "--output", str(nested), *config)
    assert f"wrote {nested}" in said and nested.read_text().startswith("<?xml")

    table_file = tmp_path / "table.txt"
    _ok(run_id, "--output", str(table_file), *config)
    assert "Leaderboard" in table_file.read_text() and "\x1b[" not in table_file.read_text()

    said = _ok(run_id, "--format", "html", *config, cwd=tmp_path)
    page = tmp_path / f"report-{run_id}.html"
    assert page.is_file() and f"report-{run_id}.html" in said
    assert page.read_text().count("Plotly.newPlot(") == 4


def test_user_errors_are_one_line(stored_run: tuple[Path, str], tmp_path: Path) -> None:
    project, run_id = stored_run
    missing = run_cli("report", "nope", "--config", str(project))
    assert missing.returncode == 2 and "no run 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr

    bad_format = run_cli("report", "x", "--format", "pdf", "--config", str(project))
    assert bad_format.returncode == 2 and "pdf" in bad_format.stderr

    blocked = tmp_path / "file"
    blocked.write_text("")
    unwritable = run_cli("report", run_id, "-f", "md", "-o", str(blocked / "r.md"), "--config", str(project))
    assert unwritable.returncode == 2 and "cannot write the report" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr
