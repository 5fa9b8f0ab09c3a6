"""The generalisation gap where users see it: after ``benchroute run``, in ``report`` (table,
Markdown, JSON, HTML), in ``compare`` and in ``benchroute gap``.

One real run against the fake server: a suite of arithmetic questions, each with a copy whose
numbers were changed (``~numbers``) and one with typos (``~typos``). The ``memoriser`` knows
the original questions' answers by heart and nothing else; the ``solver`` adds the numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import benchroute.cli._gap  # noqa: F401  (registers `benchroute gap` until the CLI imports it)
from benchroute.analysis import generalisation_gap
from benchroute.cli import app
from benchroute.reports import gap_table
from benchroute.store import Result, RunRecord, Store
from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project, write_suite

runner = CliRunner()

PRICES = {"input_per_mtok": 0.1, "output_per_mtok": 0.2}
ORIGINALS = {f"q{i}": (3 + i, 4 + 2 * i) for i in range(12)}


def _cases() -> list[dict[str, object]]:
    cases: list[dict[str, object]] = []
    for case_id, (a, b) in ORIGINALS.items():
        cases.append({"id": case_id, "input": f"What is {a} plus {b}?", "expected": str(a + b)})
        cases.append(
            {
                "id": f"{case_id}~numbers",
                "input": f"What is {a + 5} plus {b + 1}?",
                "expected": str(a + b + 6),
                "metadata": {"original_id": case_id, "perturbation": "numbers"},
            }
        )
        cases.append(
            {
                "id": f"{case_id}~typos",
                "input": f"Wht is {a} plsu {b}?",
                "expected": str(a + b),
                "metadata": {"original_id": case_id, "perturbation": "typos"},
            }
        )
    return cases


MEMORISED = {f"What is {a} plus {b}?": str(a + b) for a, b in ORIGINALS.values()}


def _responder(model: str, messages: list[dict[str, Any]]) -> str:
    question = str(messages[-1]["content"])
    if model == "memoriser":
        return MEMORISED.get(question, "I am not sure")
    a, b = (int(x) for x in re.findall(r"\d+", question))
    return str(a + b)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """(project file, run id, the run's stdout) of one real run of both models."""
    folder = tmp_path_factory.mktemp("gap")
    with FakeServer() as fake:
        fake.responder = _responder
        models: dict[str, dict[str, object]] = {
            name: {"provider": "openai", "base_url": fake.base_url, "model": name, "prices": PRICES}
            for name in ("memoriser", "solver")
        }
        config = write_project(folder, models)
        suite = write_suite(folder, "arithmetic", _cases())
        summary = folder / "summary.json"
        proc = run_cli(
            "run", str(suite), "--config", str(config), "-j", "8", "--no-cache",
            "--summary-json", str(summary), env={"COLUMNS": "100"},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        yield config, json.loads(summary.read_text())["run_id"], proc.stdout


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout + result.stderr


def _row(text: str, model: str, kind: str) -> str:
    return next(line for line in text.splitlines() if f" {model} " in line and f" {kind} " in line)


def test_run_prints_the_gap_table_within_100_columns(project: tuple[Path, str, str]) -> None:
    _, run_id, out = project
    assert f"Generalisation gap · run {run_id}" in out
    table = out[out.index("Generalisation gap") :]
    assert "suspect" in _row(table, "memoriser", "numbers")
    assert "suspect" in _row(table, "memoriser", "all")
    assert "+1.00" in _row(table, "memoriser", "numbers")
    assert "suspect" not in _row(table, "solver", "numbers")
    assert "+0.00" in _row(table, "solver", "all")
    assert "Holm-adjusted over the run (6 tests)" in table
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "hidden to fit" not in table  # every column of the gap table fits


def test_report_formats_show_the_gap(project: tuple[Path, str, str], tmp_path: Path) -> None:
    config, run_id, _ = project
    code, table = _invoke("report", run_id, "--config", str(config))
    assert code == 0, table
    assert "suspect" in _row(table, "memoriser", "typos")

    code, markdown = _invoke("report", run_id, "--format", "md", "--config", str(config))
    assert code == 0, markdown
    assert "### Generalisation gap" in markdown
    line = next(x for x in markdown.splitlines() if x.startswith("| memoriser | numbers |"))
    assert "**suspect**" in line and "| 12 |" in line

    code, text = _invoke("report", run_id, "--format", "json", "--config", str(config))
    assert code == 0, text
    gap = json.loads(text)["generalisation_gap"]
    assert gap["suspects"] == ["memoriser"]
    assert gap["correction"] == "holm" and gap["perturbed_cases"] == 24
    solver = next(r for r in gap["rows"] if r["model"] == "solver" and r["kind"] == "all")
    assert solver["gap"] == 0.0 and not solver["significant"] and solver["verdict"] == "no significant gap"

    page = tmp_path / "report.html"
    code, text = _invoke("report", run_id, "--format", "html", "-o", str(page), "--config", str(config))
    assert code == 0, text
    html = page.read_text()
    section = html[html.index('<section id="generalisation-gap">') :]
    section = section[: section.index("</section>")]
    assert section.count("<tr><td>memoriser</td>") == 3  # numbers, typos, all
    assert '<td class="status-failed">suspect</td>' in section


def test_compare_shows_the_gap_of_each_side(project: tuple[Path, str, str]) -> None:
    config, run_id, _ = project
    code, out = _invoke("compare", run_id, "--models", "solver,memoriser", "--config", str(config))
    assert code == 0, out
    assert "Generalisation gap of each side" in out
    assert "suspect" in _row(out, "memoriser", "numbers")
    assert "suspect" not in _row(out, "solver", "numbers")

    code, out = _invoke("compare", run_id, "--models", "solver,memoriser", "--json", "--config", str(config))
    assert code == 0, out
    data = json.loads(out)
    assert data["generalisation_gap"]["a"]["suspects"] == []
    assert data["generalisation_gap"]["b"]["suspects"] == ["memoriser"]


def test_gap_command(project: tuple[Path, str, str]) -> None:
    config, run_id, _ = project
    code, out = _invoke("gap", run_id, "--config", str(config))
    assert code == 0, out
    assert "suspect" in _row(out, "memoriser", "all")

    code, _ = _invoke("gap", run_id, "--fail-on-suspect", "--config", str(config))
    assert code == 1
    code, _ = _invoke("gap", run_id, "--model", "solver", "--fail-on-suspect", "--config", str(config))
    assert code == 0

    code, out = _invoke("gap", run_id, "--json", "--correction", "none", "--config", str(config))
    assert code == 0, out
    data = json.loads(out)
    assert data["run"] == run_id and data["correction"] == "none"
    assert all(row["p_adjusted"] == row["p_value"] for row in data["rows"])

    code, out = _invoke("gap", run_id, "--model", "nobody", "--config", str(config))
    assert code == 2 and "'nobody' is not in run" in out


def test_gap_command_on_a_run_without_copies(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = Store(f"sqlite:///{path}")
    store.create_run(
        RunRecord(id="plainrun0001", suites=["qa"], config={}, package_version="0", prices={}, started_at="")
    )
    store.add_results(
        [
            Result(
                run_id="plainrun0001", suite="qa", case_id="c1", model="m", repeat=0,
                messages=[], output="x", scores=[], score=1.0, passed=True,
            )
        ]
    )  # fmt: skip
    store.close()
    code, out = _invoke("gap", "plainrun0001", "--db", str(path))
    assert code == 2 and "no perturbed case" in out
    code, out = _invoke("runs", "show", "plainrun0001", "--db", str(path))
    assert code == 0 and "Generalisation gap" not in out


def test_the_table_fits_100_columns_with_long_names() -> None:
    rows = []
    for model in ("provider-x/very-long-model-name-2025-preview", "small"):
        for i in range(10):
            rows.append(_result(f"q{i}", model, 1.0))
            rows.append(_result(f"q{i}~instruction-reorder", model, 0.0 if model == "small" else 1.0))
            rows.append(_result(f"q{i}~typos", model, 1.0))
    console = Console(width=100, color_system=None, record=True)
    from benchroute.reports import print_generalisation_gap

    report = print_generalisation_gap(console, rows)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "provider-x/very-long-model-name-2025-preview" in text  # names are never cut
    assert "instruction-reorder" in text
    assert "suspect" in _row(text, "small", "instruction-reorder")
    assert report.suspects == ["small"]
    # A hostile model name is text, not markup.
    hostile = [_result("q1", "[bold]m[/bold]", 1.0), _result("q1~typos", "[bold]m[/bold]", 0.0)]
    console = Console(width=100, color_system=None, record=True)
    console.print(gap_table(generalisation_gap(hostile)))
    assert "[bold]m[/bold]" in console.export_text()


def _result(case_id: str, model: str, score: float) -> Result:
    return Result(
        run_id="r", suite="s", case_id=case_id, model=model, repeat=0,
        messages=[], output="x", scores=[], score=score, passed=score >= 0.5,
    )  # fmt: skip
