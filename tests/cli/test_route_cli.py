"""``benchroute route``: the happy path from build to history, and every bad input as one
line with exit 2 (no traceback): unknown versions and classes, malformed policy files with
file:line, out-of-range options, an unsatisfiable build, nothing stored yet."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from benchroute.cli import app
from benchroute.store import Store
from tests._routing import Figures, model_entry, seed_run

URL = "http://127.0.0.1:9/v1"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    models = {name: model_entry(URL, f"gpt-{name}") for name in ("a", "b")}
    data = {
        "store": str(tmp_path / "s.db"),
        "models": models,
        "routing": {"classes": {"support": {"suites": ["support"], "min_score": 0.8}}},
    }
    path = tmp_path / "benchroute.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    seed_run(
        store,
        "run1",
        "support",
        {
            "a": (models["a"], Figures(passes=17, cost=0.001)),
            "b": (models["b"], Figures(passes=19, cost=0.004)),
        },
    )
    return path


def _run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["route", *args, "--config", str(config)], env={"COLUMNS": "100"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "Traceback" not in output
    return lines[0]


def test_build_show_diff_history_activate(project: Path, tmp_path: Path) -> None:
    code, out = _run(project, "build")
    assert code == 0 and "policy v1 stored (not active" in out
    assert "class support" in out and "cheapest passing" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    code, out = _run(project, "build", "--min-score", "0.9", "--activate", "-o", str(tmp_path / "p.yaml"))
    assert code == 0 and "policy v2 active" in out
    assert yaml.safe_load((tmp_path / "p.yaml").read_text())["classes"]["support"]["route"][0]["model"] == "b"
    code, out = _run(project, "diff", "1", "2")
    assert code == 0 and "primary a -> b" in out and "rejected a" in out
    code, out = _run(project, "show", "--format", "json")
    assert code == 0 and '"version": 2' in out
    code, out = _run(project, "activate", "1", "--reason", "back")
    assert code == 0 and "policy v1 active" in out
    code, out = _run(project, "history")
    assert code == 0 and "v1 *" in out and "v2" in out
    code, out = _run(project, "activate", str(tmp_path / "p.yaml"))
    assert code == 0 and "policy v2 active" in out  # the same content: the stored version


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("show", "9"), "error: no policy version 9"),
        (("show", "nope.yaml"), "not a stored version"),
        (("activate", "9"), "error: no policy version 9"),
        (("promote", "support"), "error: no active policy"),
        (("canary", "support"), "error: no policy is stored"),
        (("history",), "error: no policy is stored"),
        (("build", "--class", "nope"), "error: no task class 'nope'"),
        (("build", "--objective", "cheapest-ish"), "error: unknown objective 'cheapest-ish'"),
        (("build", "--min-score", "0.99"), "class 'support': no endpoint meets"),
        (("build", "--objective", "best_under_budget"), "best_under_budget needs a budget"),
        (("show", "--format", "xml"), "--format 'xml'"),
    ],
)
def test_bad_input_is_one_line(project: Path, args: tuple[str, ...], expected: str) -> None:
    code, out = _run(project, *args)
    assert code == 2, out
    assert expected in _one_error_line(out)


def test_a_malformed_policy_file_names_its_line(project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: benchroute.policy/1\nclasses:\n  support:\n    route:\n      - {modle: a}\n")
    code, out = _run(project, "activate", str(bad))
    assert code == 2
    line = _one_error_line(out)
    assert f"{bad}:5" in line and "modle" in line
    ghost = tmp_path / "ghost.yaml"
    ghost.write_text("format: benchroute.policy/1\nclasses: {support: {route: [{model: z}]}}\n")
    code, out = _run(project, "activate", str(ghost))
    assert code == 2 and "model 'z' is not defined under models:" in _one_error_line(out)


def test_pareto_point_out_of_range_is_refused(project: Path) -> None:
    code, out = _run(project, "build", "--objective", "pareto", "--pareto-point", "5")
    assert code == 2 and "Traceback" not in out and "--pareto-point" in out
