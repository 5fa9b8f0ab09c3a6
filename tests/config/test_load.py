"""Loading project and suite files: valid input loads, bad input names file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from benchroute import ConfigError
from benchroute.config import ModelSpec, ProjectConfig, load_cases, load_project, load_suite


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def config_error(loader, path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        loader(path)
    return str(info.value)


# --- valid files -------------------------------------------------------------------------------


def test_project_loads_models_named_by_their_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path / "benchroute.yaml",
        """
        models:
          fast:
            provider: openai
            model: gpt-4o-mini
            api_key_env: OPENAI_API_KEY
            rpm: 500
          tiny:
            provider: local
            model: smollm2
            threads: 2
        concurrency: 4
        imports: [my_scorers.py]
        """,
    )
    project = load_project(path)
    assert list(project.models) == ["fast", "tiny"]
    assert project.models["fast"].name == "fast"
    assert project.models["tiny"].name == "tiny"
    assert project.models["fast"].model == "gpt-4o-mini"
    assert project.models["fast"].api_key_env == "OPENAI_API_KEY"
    assert project.models["fast"].rpm == 500
    assert project.models["tiny"].settings == {"threads": 2}  # the old key, moved
    assert project.concurrency == 4
    assert project.imports == ["my_scorers.py"]
    assert project.root == tmp_path.resolve()


def test_project_from_a_folder_reads_its_benchroute_yaml(tmp_path: Path) -> None:
    write(tmp_path / "benchroute.yaml", "models: {m: {provider: openai, model: x}}\n")
    assert list(load_project(tmp_path).models) == ["m"]


def test_model_names_come_from_mapping_keys_when_built_in_python() -> None:
    project = ProjectConfig(models={"cheap": ModelSpec(provider="openai", model="gpt-4o-mini")})
    assert project.models["cheap"].name == "cheap"


def test_store_url_resolves_relative_path_against_project_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = write(tmp_path / "sub" / "benchroute.yaml", "store: results/bench.db\n")
    project = load_project(path)
    expected = (tmp_path / "sub").resolve() / "results" / "bench.db"
    assert project.store_url() == f"sqlite:///{expected}"


def test_store_url_default_and_absolute_and_url(tmp_path: Path) -> None:
    default = load_project(write(tmp_path / "benchroute.yaml", "models: {}\n"))
    assert default.store_url() == f"sqlite:///{tmp_path.resolve() / '.benchroute' / 'benchroute.db'}"
    absolute = tmp_path / "elsewhere.db"
    assert ProjectConfig(store=str(absolute), root=tmp_path / "x").store_url() == f"sqlite:///{absolute}"
    url = "postgresql://db.example/bench"
    assert ProjectConfig(store=url, root=tmp_path).store_url() == url


def test_suite_with_inline_cases(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suite.yaml",
        """
        name: capitals
        models: [fast]
        prompt: "Capital of {{ country }}?"
        repeats: 3
        dataset:
          cases:
            - id: 1
              input: France
              expected: Paris
              vars: {country: France}
            - id: de
              input: Germany
              expected: [Berlin, berlin]
        scorers:
          - exact
          - name: contains
            args: {values: [Paris], mode: any}
            weight: 2
            threshold: 0.5
        """,
    )
    suite = load_suite(path)
    assert suite.name == "capitals"
    assert suite.models == ["fast"]
    assert suite.repeats == 3
    assert suite.source == str(path)
    cases = suite.dataset.cases
    assert cases is not None
    assert [c.id for c in cases] == ["1", "de"]  # an int id becomes text
    assert cases[0].vars == {"country": "France"}
    assert cases[1].expected == ["Berlin", "berlin"]
    assert [s.name for s in suite.scorers] == ["exact", "contains"]
    assert suite.scorers[0].args == {}
    assert suite.scorers[1].args == {"values": ["Paris"], "mode": "any"}
    assert suite.scorers[1].weight == 2
    assert suite.scorers[1].threshold == 0.5


def test_suite_with_jsonl_dataset_relative_to_suite_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "qa.jsonl").write_text(
        '{"id": "a", "input": "2+2?", "expected": "4", "topic": "math"}\n'
        "\n"  # blank lines are skipped
        '{"input": "3+3?", "expected": "6", "vars": {"level": 1}}\n'
        '{"id": 7, "input": "x", "metadata": {"src": "gen"}}\n',
        encoding="utf-8",
    )
    suite_dir = tmp_path / "suites"
    suite_dir.mkdir()
    path = write(
        suite_dir / "s.yaml",
        """
        name: arith
        dataset:
          path: ../data/qa.jsonl
        scorers: [exact]
        """,
    )
    cases = load_suite(path).dataset.cases
    assert cases is not None
    assert [c.id for c in cases] == ["a", "row-3", "7"]  # auto id from the file line
    assert cases[0].input == "2+2?"
    assert cases[0].expected == "4"
    assert cases[0].vars == {"topic": "math"}
    assert cases[1].vars == {"level": 1}
    assert cases[2].metadata == {"src": "gen"}


def test_suite_with_csv_dataset_and_column_mapping(tmp_path: Path) -> None:
    (tmp_path / "qa.csv").write_text(
        'qid,question,answer,topic\nq1,Capital of France?,Paris,geo\nq2,"2+2, quoted?",4,math\n',
        encoding="utf-8",
    )
    path = write(
        tmp_path / "suite.yaml",
        """
        name: mixed
        dataset:
          path: qa.csv
          columns: {id: qid, input: question, expected: answer}
        scorers: [exact]
        """,
    )
    cases = load_suite(path).dataset.cases
    assert cases is not None
    assert [c.id for c in cases] == ["q1", "q2"]
    assert [c.input for c in cases] == ["Capital of France?", "2+2, quoted?"]
    assert [c.expected for c in cases] == ["Paris", "4"]
    # Unmapped columns become vars; mapped ones stay reachable under their own names.
    assert cases[0].vars["topic"] == "geo"
    assert cases[1].vars["topic"] == "math"
    assert cases[0].vars["question"] == "Capital of France?"
    assert "input" not in cases[0].vars
    assert "id" not in cases[0].vars


def test_dataset_limit_keeps_the_first_cases(tmp_path: Path) -> None:
    rows = "".join(f'{{"id": "c{i}", "input": "q{i}"}}\n' for i in range(5))
    (tmp_path / "qa.jsonl").write_text(rows, encoding="utf-8")
    path = write(
        tmp_path / "suite.yaml",
        """
        name: lim
        dataset: {path: qa.jsonl, limit: 2}
        scorers: [exact]
        """,
    )
    cases = load_suite(path).dataset.cases
    assert cases is not None
    assert [c.id for c in cases] == ["c0", "c1"]


# --- bad YAML and bad fields -------------------------------------------------------------------


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suite.yaml",
        """
        name: broken
        dataset:
          cases: [{id: 1, input: hi}
        scorers: [exact]
        """,
    )
    message = config_error(load_suite, path)
    assert f"{path}:4:" in message
    assert "invalid YAML" in message


def test_yaml_unknown_tag_is_a_config_error_with_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suite.yaml",
        """
        name: t
        description: !custom thing
        dataset: {cases: [{id: 1}]}
        scorers: [exact]
        """,
    )
    message = config_error(load_suite, path)
    assert f"{path}:2:" in message
    assert "!custom" in message


def test_yaml_non_scalar_key_names_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "benchroute.yaml",
        """
        models: {}
        ? [a, b]
        : 1
        """,
    )
    message = config_error(load_project, path)
    assert f"{path}:2:" in message
    assert "mapping key must be a scalar" in message


def test_unknown_scorer_field_names_line_and_field_path(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suite.yaml",
        """
        name: t
        dataset:
          cases: [{id: 1, input: hi}]
        scorers:
          - name: exact
            treshold: 0.5
        """,
    )
    message = config_error(load_suite, path)
    assert f"{path}:6:" in message
    assert "scorers.0.treshold" in message
    assert "unknown field" in message


def test_unknown_field_in_second_scorer_points_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suite.yaml",
        """
        name: t
        dataset:
          cases: [{id: 1, input: hi}]
        scorers:
          - exact
          - name: contains
            args: {values: [x]}
            wieght: 2
        """,
    )
    message = config_error(load_suite, path)
    assert f"{path}:8: scorers.1.wieght:" in message


def test_wrong_type_names_line_field_and_value(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suite.yaml",
        """
        name: t
        repeats: many
        dataset:
          cases: [{id: 1, input: hi}]
        scorers: [exact]
        """,
    )
    message = config_error(load_suite, path)
    assert f"{path}:2: repeats:" in message
    assert "integer" in message
    assert "'many'" in message


def test_out_of_range_threshold_names_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suite.yaml",
        """
        name: t
        dataset:
          cases: [{id: 1, input: hi}]
        scorers:
          - name: exact
            threshold: 1.5
        """,
    )
    message = config_error(load_suite, path)
    assert f"{path}:6: scorers.0.threshold:" in message
    assert "1.5" in message


def test_missing_required_field(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suite.yaml",
        """
        name: t
        dataset:
          cases: [{id: 1, input: hi}]
        """,
    )
    message = config_error(load_suite, path)
    assert f"{path}:1: scorers:" in message
    assert "required field is missing" in message


def test_bad_nested_case_field_names_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suite.yaml",
        """
        name: t
        dataset:
          cases:
            - id: 1
              messages:
                - role: robot
                  content: hi
        scorers: [exact]
        """,
    )
    message = config_error(load_suite, path)
    assert f"{path}:6: dataset.cases.0.messages.0.role:" in message
    assert "'robot'" in message


def test_suite_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "suite.yaml", "- just\n- a list\n")
    message = config_error(load_suite, path)
    assert f"{path}:1:" in message
    assert "mapping" in message


def test_inline_api_key_is_rejected_without_echoing_it(tmp_path: Path) -> None:
    secret = "sk-live-DO-NOT-PRINT-1234567890"
    path = write(
        tmp_path / "benchroute.yaml",
        f"""
        models:
          ok:
            provider: openai
            model: gpt-4o
          gpt:
            provider: openai
            model: gpt-4o
            api_key: {secret}
        """,
    )
    message = config_error(load_project, path)
    # The error points at the model entry that holds the key.
    assert f"{path}:5: models.gpt:" in message
    assert "api_key_env" in message
    assert "'api_key' is not allowed" in message
    assert secret not in message


def test_inline_key_in_python_is_rejected_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as info:
        ModelSpec(provider="openai", model="x", token="tok-SECRET-999")  # type: ignore[call-arg]
    assert "api_key_env" in str(info.value)
    assert "tok-SECRET-999" not in str(info.value)

    model = {"provider": "openai", "model": "x", "api_key": "sk-SECRET-888"}
    with pytest.raises(ValidationError) as info:
        ProjectConfig.model_validate({"models": {"m": model}})
    assert "models.m" in str(info.value)
    assert "api_key_env" in str(info.value)
    assert "sk-SECRET-888" not in str(info.value)


def test_missing_project_and_suite_files(tmp_path: Path) -> None:
    assert "file not found" in config_error(load_suite, tmp_path / "nope.yaml")
    assert str(tmp_path / "nope.yaml") in config_error(load_suite, tmp_path / "nope.yaml")
    assert f"{tmp_path / 'benchroute.yaml'}: file not found" in config_error(load_project, tmp_path)


def test_non_utf8_suite_file(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_bytes(b"name: t\ndescription: caf\xe9\ndataset: {cases: [{id: 1}]}\nscorers: [exact]\n")
    message = config_error(load_suite, path)
    assert str(path) in message
    assert "not UTF-8" in message


# --- bad datasets ------------------------------------------------------------------------------


def suite_with_dataset(tmp_path: Path, dataset_yaml: str) -> Path:
    return write(
        tmp_path / "suite.yaml",
        f"""
        name: t
        dataset: {dataset_yaml}
        scorers: [exact]
        """,
    )


def test_jsonl_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    data.write_text('{"id": 1, "input": "a"}\n\n{"id": 2, "input": \n{"id": 3}\n', encoding="utf-8")
    message = config_error(load_suite, suite_with_dataset(tmp_path, "{path: qa.jsonl}"))
    assert f"{data}:3:" in message
    assert "qa.jsonl:3" in message
    assert "invalid JSON" in message


def test_jsonl_row_that_is_not_an_object(tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    data.write_text('{"id": 1}\n["id", 2]\n', encoding="utf-8")
    message = config_error(load_suite, suite_with_dataset(tmp_path, "{path: qa.jsonl}"))
    assert f"{data}:2:" in message
    assert "expected a JSON object, got list" in message


def test_jsonl_row_with_bad_field_type_names_line_and_field(tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    data.write_text('{"id": 1}\n{"id": 2, "metadata": "not a dict"}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_cases(data, {})
    message = str(info.value)
    assert f"{data}:2:11: metadata:" in message  # the column of the "metadata" key


def test_csv_missing_mapped_column_names_line_and_column(tmp_path: Path) -> None:
    data = tmp_path / "qa.csv"
    data.write_text("qid,question,answer\nq1,Q?,A\n", encoding="utf-8")
    path = suite_with_dataset(tmp_path, "{path: qa.csv, columns: {id: qid, input: prompt}}")
    message = config_error(load_suite, path)
    assert f"{data}:2:" in message
    assert "'prompt'" in message
    assert "'input'" in message
    assert "missing" in message


def test_csv_row_with_extra_values_names_its_line(tmp_path: Path) -> None:
    data = tmp_path / "qa.csv"
    data.write_text("id,input\na,x\nb,y,surplus\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_cases(data, {})
    assert f"{data}:3:" in str(info.value)
    assert "more values than header columns" in str(info.value)


def test_columns_with_unknown_case_field(tmp_path: Path) -> None:
    data = tmp_path / "qa.csv"
    data.write_text("id,input\na,x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_cases(data, {"answer": "expected"})
    assert str(data) in str(info.value)
    assert "'answer'" in str(info.value)


def test_duplicate_inline_case_ids_name_both(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suite.yaml",
        """
        name: t
        dataset:
          cases:
            - id: a
              input: x
            - id: b
              input: y
            - id: a
              input: z
        scorers: [exact]
        """,
    )
    message = config_error(load_suite, path)
    assert f"{path}:8: dataset.cases.2.id:" in message
    assert "duplicate case id 'a'" in message
    assert "case 0" in message


def test_duplicate_jsonl_case_ids_name_both_lines(tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    data.write_text('{"id": "x"}\n{"id": "y"}\n{"id": "x"}\n', encoding="utf-8")
    message = config_error(load_suite, suite_with_dataset(tmp_path, "{path: qa.jsonl}"))
    assert f"{data}:3:" in message
    assert "duplicate case id 'x'" in message
    assert "line 1" in message


def test_dataset_with_both_cases_and_path(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suite.yaml",
        """
        name: t
        dataset:
          cases: [{id: 1, input: hi}]
          path: qa.jsonl
        scorers: [exact]
        """,
    )
    message = config_error(load_suite, path)
    assert f"{path}:4:" in message
    assert "either 'cases' or 'path', not both" in message


def test_dataset_with_neither_cases_nor_path(tmp_path: Path) -> None:
    path = suite_with_dataset(tmp_path, "{limit: 3}")
    message = config_error(load_suite, path)
    assert f"{path}:2: dataset:" in message
    assert "'cases'" in message
    assert "'path'" in message


def test_empty_inline_dataset(tmp_path: Path) -> None:
    path = suite_with_dataset(tmp_path, "{cases: []}")
    message = config_error(load_suite, path)
    assert f"{path}:2: dataset:" in message
    assert "no cases" in message


def test_empty_dataset_file(tmp_path: Path) -> None:
    (tmp_path / "qa.jsonl").write_text("\n\n", encoding="utf-8")
    path = suite_with_dataset(tmp_path, "{path: qa.jsonl}")
    message = config_error(load_suite, path)
    assert f"{path}:2:" in message
    assert "no cases" in message


def test_non_utf8_dataset_files(tmp_path: Path) -> None:
    jsonl = tmp_path / "qa.jsonl"
    jsonl.write_bytes(b'{"id": 1, "input": "ok"}\n{"id": 2, "input": "caf\xe9"}\n')
    message = config_error(load_suite, suite_with_dataset(tmp_path, "{path: qa.jsonl}"))
    assert str(jsonl) in message
    assert "not UTF-8" in message

    csv_file = tmp_path / "qa.csv"
    csv_file.write_bytes(b"id,input\n1,caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_cases(csv_file, {})
    assert str(csv_file) in str(info.value)
    assert "not UTF-8" in str(info.value)


@pytest.mark.parametrize("name", ["missing.jsonl", "missing.csv"])
def test_missing_dataset_file(tmp_path: Path, name: str) -> None:
    message = config_error(load_suite, suite_with_dataset(tmp_path, f"{{path: {name}}}"))
    assert f"{tmp_path / name}: dataset file not found" in message
    assert "dataset.path" in message


def test_credential_headers_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "benchroute.yaml"
    path.write_text(
        "models:\n  m:\n    provider: openai\n    model: x\n"
        "    headers:\n      Authorization: Bearer sk-abc123\n"
    )
    with pytest.raises(ConfigError) as info:
        load_project(path)
    assert "api_key_env" in str(info.value) and "sk-abc123" not in str(info.value)


def test_gate_on_a_stress_suite_or_on_a_model_not_run_is_an_error(tmp_path: Path) -> None:
    stress = tmp_path / "stress.yaml"
    stress.write_text(
        "name: s\ntier: stress\ndataset: {cases: [{id: a, input: hi}]}\n"
        "load: {profile: {kind: constant_rate, rps: 5, duration_s: 1}}\ngate: {min_pass_rate: 0.9}\n"
    )
    with pytest.raises(ConfigError, match="slo:"):
        load_suite(stress)
    unit = tmp_path / "unit.yaml"
    unit.write_text(
        "name: u\nmodels: [a]\ndataset: {cases: [{id: c, input: hi}]}\nscorers: [exact]\n"
        "gate: {min_pass_rate: 0.9, models: [b]}\n"
    )
    with pytest.raises(ConfigError, match=r"gate.models: 'b' not among the suite's models"):
        load_suite(unit)


def test_names_longer_than_the_store_columns_are_rejected_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    cases = [{"id": "ok", "input": "a"}, {"id": "x" * 201, "input": "b"}]
    suite = {"name": "s", "dataset": {"cases": cases}, "scorers": [{"name": "exact"}]}
    path.write_text(yaml.safe_dump(suite))
    with pytest.raises(ConfigError, match=r"s\.yaml:\d+: dataset\.cases\.1\.id: String should have at most"):
        load_suite(path)
