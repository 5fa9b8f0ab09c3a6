"""A new user's first commands: ``init``, its suggested next command, and the errors a first
suite makes (misspelt names, missing folders), each as one located line, never a traceback."""

from __future__ import annotations

import importlib.util
import json
import shlex
import sqlite3
from pathlib import Path

import pytest
import yaml

from benchroute.testing import FakeServer
from tests.conftest import BENCHROUTE, run_cli, write_project, write_suite


def _no_traceback(proc: object) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout  # type: ignore[attr-defined]


def _init(tmp_path: Path) -> tuple[Path, list[str]]:
    """Scaffold a project in tmp_path/p; its folder and the suggested next command."""
    proc = run_cli("init", "p", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (next_line,) = [line for line in proc.stdout.splitlines() if line.startswith("next: ")]
    command = shlex.split(next_line.removeprefix("next: "))
    assert command[0] == "benchroute"
    return tmp_path / "p", command[1:]


def _point_models_at(project_file: Path, fake: FakeServer) -> list[str]:
    """Serve the scaffold's models from the fake server, keeping their names, params and
    system prompts; the scaffold's suite stays exactly as written."""
    data = yaml.safe_load(project_file.read_text())
    for name, spec in data["models"].items():
        spec.update(provider="openai", model=name, base_url=fake.base_url)
        spec["prices"] = {"input_per_mtok": 0.1, "output_per_mtok": 0.4}
    project_file.write_text(yaml.safe_dump(data, sort_keys=False))
    return list(data["models"])


def test_init_suite_runs_end_to_end_with_its_suggested_command(tmp_path: Path, fake: FakeServer) -> None:
    folder, command = _init(tmp_path)
    models = _point_models_at(folder / "benchroute.yaml", fake)
    for model in models:
        fake.script(model, ["Paris", "Blue."])
    proc = run_cli(*command, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    _no_traceback(proc)
    assert "Leaderboard" in proc.stdout and "100.0%" in proc.stdout
    with sqlite3.connect(folder / ".benchroute" / "benchroute.db") as db:
        ((status, results),) = db.execute(
            "select status, (select count(*) from results) from runs"
        ).fetchall()
    assert status == "completed" and results == 2 * len(models)
    # The scaffold's own listing works too.
    listed = run_cli("models", "list", "--config", str(folder / "benchroute.yaml"))
    assert listed.returncode == 0 and all(m in listed.stdout for m in models)
    again = run_cli("init", str(folder))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_init_files_are_valid_yaml_and_load() -> None:
    from benchroute.cli._init import PROJECT, SUITE

    suite = yaml.safe_load(SUITE)
    assert suite["dataset"]["cases"][0]["vars"]["question"] == "What is the capital of France?"
    assert set(yaml.safe_load(PROJECT)["models"]) >= {"smollm2"}


@pytest.mark.local_model
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="needs the [local] extra")
def test_init_suggested_command_runs_on_the_embedded_model(tmp_path: Path) -> None:
    _, command = _init(tmp_path)
    proc = run_cli(*command, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Leaderboard" in proc.stdout and "smollm2-careful" in proc.stdout


# -- output folders -------------------------------------------------------------------------


def test_summary_json_in_a_missing_folder_is_created(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", [{"id": "a", "input": "x", "expected": "x"}])
    target = tmp_path / "out" / "deeper" / "summary.json"
    proc = run_cli("run", str(suite), "--config", str(project), "--summary-json", str(target))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(target.read_text())["models"][0]["passed"] == 1


def test_unwritable_summary_json_is_one_line_before_any_run(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", [{"id": "a", "input": "x", "expected": "x"}])
    (tmp_path / "file").write_text("not a folder")
    proc = run_cli(
        "run", str(suite), "--config", str(project), "--summary-json", str(tmp_path / "file" / "x.json")
    )
    assert proc.returncode == 2
    _no_traceback(proc)
    assert "summary JSON" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "store.db").exists() or not _runs(tmp_path / "store.db")
    proc = run_cli("run", str(suite), "--config", str(project), "--summary-json", str(tmp_path))
    assert proc.returncode == 2 and "is a folder" in proc.stderr


def test_report_output_in_a_missing_folder(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", [{"id": "a", "input": "x", "expected": "x"}])
    summary = tmp_path / "summary.json"
    assert (
        run_cli("run", str(suite), "--config", str(project), "--summary-json", str(summary)).returncode == 0
    )
    run_id = json.loads(summary.read_text())["run_id"]
    for fmt in ("junit", "html", "md", "json", "table"):
        target = tmp_path / "reports" / fmt / f"report.{fmt}"
        proc = run_cli("report", run_id, "-f", fmt, "-o", str(target), "--config", str(project))
        assert proc.returncode == 0, proc.stderr
        assert target.stat().st_size > 0


def test_store_in_a_missing_folder(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", [{"id": "a", "input": "x", "expected": "x"}])
    db = tmp_path / "new" / "folder" / "runs.db"
    proc = run_cli("run", str(suite), "--config", str(project), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert len(_runs(db)) == 1


def _runs(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("select id, status from runs").fetchall()
        except sqlite3.OperationalError:
            return []


# -- internal errors --------------------------------------------------------------------------

_CRASH = """
import sys
from benchroute.cli import _app

@_app.app.command("crash")
def crash() -> None:
    raise KeyError("boom")

sys.argv[0] = "benchroute"
_app.main()
"""


def test_an_internal_error_is_one_message_with_its_log_and_own_exit_code(tmp_path: Path) -> None:
    import subprocess

    script = tmp_path / "crash.py"
    script.write_text(_CRASH)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "COLUMNS": "200"}
    proc = subprocess.run(
        [BENCHROUTE[0], str(script), "crash"], capture_output=True, text=True, env={**_base_env(), **env}
    )
    assert proc.returncode == 70
    _no_traceback(proc)
    assert "internal error: KeyError: 'boom'" in proc.stderr and "report" in proc.stderr
    (log,) = (tmp_path / "cache" / "benchroute" / "logs").glob("crash-*.log")
    assert log.name in proc.stderr.replace("\n", "")
    assert "Traceback" in log.read_text() and "KeyError: 'boom'" in log.read_text()
    shown = subprocess.run(
        [BENCHROUTE[0], str(script), "--debug", "crash"],
        capture_output=True,
        text=True,
        env={**_base_env(), **env},
    )
    assert shown.returncode == 70 and "Traceback" in shown.stderr


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)


# -- errors that name their place -----------------------------------------------------------


def _project(tmp_path: Path, fake: FakeServer, provider: str = "openai") -> Path:
    return write_project(tmp_path, {"m": {"provider": provider, "base_url": fake.base_url, "model": "m"}})


def _one_line_error(proc: object) -> str:
    assert proc.returncode == 2, proc.stderr  # type: ignore[attr-defined]
    _no_traceback(proc)
    return str(proc.stderr)  # type: ignore[attr-defined]


def test_unknown_scorer_names_file_line_field_and_creates_no_run(tmp_path: Path, fake: FakeServer) -> None:
    project = _project(tmp_path, fake)
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: s\ndataset:\n  cases:\n    - {id: a, input: x, expected: x}\nscorers:\n"
        "  - exact\n  - name: contain\n    weight: 2\n"
    )
    err = _one_line_error(run_cli("run", str(suite), "--config", str(project)))
    assert f"{suite}:7: scorers.1.name: unknown scorer 'contain' (did you mean `contains`?)" in err
    assert _runs(tmp_path / "store.db") == []
    listed = run_cli("runs", "list", "--config", str(project))
    assert "no runs yet" in listed.stdout


def test_unknown_scorer_in_a_group_and_a_conversation_assertion(tmp_path: Path, fake: FakeServer) -> None:
    project = _project(tmp_path, fake)
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: s\ndataset:\n  cases:\n    - {id: a, input: x, expected: x}\nscorers:\n"
        "  - any:\n      - exact\n      - name: regexp\n"
    )
    err = _one_line_error(run_cli("run", str(suite), "--config", str(project)))
    assert f"{suite}:8: scorers.0.any.1.name: unknown scorer 'regexp' (did you mean `regex`?)" in err
    suite.write_text(
        "name: c\ntier: conversation\nscorers: [max_total_tokens]\ndataset:\n  cases:\n    - id: a\n"
        "      turns:\n        - user: hi\n          assert:\n            - name: remember\n"
        "              args: {value: x}\n"
    )
    err = _one_line_error(run_cli("run", str(suite), "--config", str(project)))
    assert "s.yaml:10: dataset.cases.0.turns.0.assert.0.name: unknown scorer 'remember'" in err
    assert "(did you mean `remembers`?)" in err
    assert _runs(tmp_path / "store.db") == []


def test_unknown_provider_names_file_line_field(tmp_path: Path, fake: FakeServer) -> None:
    project = _project(tmp_path, fake, provider="opnai")
    suite = write_suite(tmp_path, "s", [{"id": "a", "input": "x", "expected": "x"}])
    err = _one_line_error(run_cli("run", str(suite), "--config", str(project)))
    line = project.read_text().splitlines().index("    provider: opnai") + 1
    assert (
        f"{project}:{line}: models.m.provider: unknown provider kind 'opnai' (did you mean `openai`?)" in err
    )
    assert _runs(tmp_path / "store.db") == []
    err = _one_line_error(run_cli("models", "list", "--config", str(project)))
    assert "models.m.provider" in err


def test_misspelt_scorers_key_names_its_line_and_the_right_field(tmp_path: Path, fake: FakeServer) -> None:
    project = _project(tmp_path, fake)
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\ndataset:\n  cases:\n    - {id: a, input: x}\nscorer:\n  - exact\n")
    err = _one_line_error(run_cli("run", str(suite), "--config", str(project)))
    assert f"{suite}:5: scorer: unknown field (did you mean `scorers`?)" in err
    assert ":1: (top level)" not in err


def test_misspelt_nested_field_suggests_the_allowed_one(tmp_path: Path) -> None:
    from benchroute import ConfigError
    from benchroute.config import load_suite

    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: s\ndataset:\n  cases:\n    - {id: a, input: x}\nscorers:\n  - name: exact\n    treshold: 1\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_suite(suite)
    assert f"{suite}:7: scorers.0.treshold: unknown field (did you mean `threshold`?)" in str(caught.value)


def test_unknown_model_option_is_blamed_on_the_option(tmp_path: Path, fake: FakeServer) -> None:
    project = _project(tmp_path, fake)
    suite = write_suite(tmp_path, "s", [{"id": "a", "input": "x", "expected": "x"}])
    err = _one_line_error(run_cli("run", str(suite), "--config", str(project), "-m", "n"))
    assert err.startswith("error: --models: unknown model 'n'") and str(suite) not in err
    err = _one_line_error(run_cli("run", str(suite), "--config", str(project), "-m", "mm", "--estimate"))
    assert "--models: unknown model 'mm' (did you mean `m`?)" in err


def test_unknown_model_in_a_suite_names_its_line(tmp_path: Path, fake: FakeServer) -> None:
    project = _project(tmp_path, fake)
    suite = write_suite(tmp_path, "s", [{"id": "a", "input": "x", "expected": "x"}], models=["m", "nope"])
    err = _one_line_error(run_cli("run", str(suite), "--config", str(project)))
    line = suite.read_text().splitlines().index("- nope") + 1
    assert f"{suite}:{line}: models.1: unknown model 'nope'" in err


_CRASH_WITH_KEY = """
import os
import sys
from benchroute.cli import _app

@_app.app.command("crash")
def crash() -> None:
    key = os.environ["MY_PROVIDER_CREDENTIAL"]
    raise RuntimeError("request failed with key " + key + " and sk-" + "a1" * 12)

sys.argv[0] = "benchroute"
_app.main()
"""


def test_an_internal_error_never_shows_or_logs_a_key(tmp_path: Path) -> None:
    import subprocess

    secret = "zq9-very-private-key-value-0123"
    (tmp_path / "benchroute.yaml").write_text(
        "models:\n  remote:\n    provider: openai\n    model: gpt-4o-mini\n"
        "    api_key_env: MY_PROVIDER_CREDENTIAL\n"
    )
    script = tmp_path / "crash.py"
    script.write_text(_CRASH_WITH_KEY)
    env = {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "COLUMNS": "200",
        "MY_PROVIDER_CREDENTIAL": secret,
    }
    for debug in ([], ["--debug"]):
        proc = subprocess.run(
            [BENCHROUTE[0], str(script), *debug, "crash"],
            capture_output=True,
            text=True,
            env={**_base_env(), **env},
            cwd=tmp_path,
        )
        assert proc.returncode == 70
        assert secret not in proc.stderr and "a1a1a1a1" not in proc.stderr
        assert "request failed with key ***" in proc.stderr
    (log,) = (tmp_path / "cache" / "benchroute" / "logs").glob("crash-*.log")
    text = log.read_text()
    assert "RuntimeError: request failed with key ***" in text
    assert secret not in text and "a1a1a1a1" not in text
