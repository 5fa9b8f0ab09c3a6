"""Errors a user makes in a suite or dataset name the place: file:line(:column), the field,
and the closest allowed name."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchroute import ConfigError
from benchroute.config import load_cases, load_project, load_suite


def _error(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ('{"id": "a", "input": "y",}', ":1:26:", "invalid JSON: Expecting property name"),
        ('{"id": "b" "input": "y"}', ":1:12:", "Expecting ',' delimiter"),
        ('{"id": "a", "input": "x"}}', ":1:26:", "invalid JSON: Extra data"),
        ('{"id": "a", "input": 3}', ":1:13:", "input: Input should be a valid string (got 3)"),
        ('{"id": "a", "passages": "one"}', ":1:13:", "passages: Input should be a valid list"),
        ('{"id": "a", "messages": [{"role": "usr", "content": "x"}]}', ":1:13:", "messages.0.role:"),
        ("   [1, 2]", ":1:4:", "expected a JSON object, got list"),
    ],
)
def test_jsonl_errors_name_their_real_column(tmp_path: Path, text: str, where: str, what: str) -> None:
    data = tmp_path / "qa.jsonl"
    data.write_text(text + "\n", encoding="utf-8")
    message = _error(load_cases, data, {})
    assert f"{data}{where}" in message and what in message


def test_jsonl_column_is_the_mapped_key_and_never_a_value(tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    # "question" appears first as a value; the error points at the key.
    data.write_text('{"id": "question", "question": 7}\n', encoding="utf-8")
    message = _error(load_cases, data, {"input": "question"})
    assert f"{data}:1:20: input:" in message


def test_jsonl_duplicate_id_points_at_the_id(tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    data.write_text('{"id": "a"}\n  {"id": "a"}\n', encoding="utf-8")
    assert f"{data}:2:4: id: duplicate case id 'a' (first on line 1)" in _error(load_cases, data, {})


def test_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    data.write_bytes(b'\xef\xbb\xbf{"id": "a", "input": "x"}\n')
    assert [c.id for c in load_cases(data, {})] == ["a"]
    sheet = tmp_path / "qa.csv"
    sheet.write_bytes(b"\xef\xbb\xbfid,input\na,x\n")
    assert [c.input for c in load_cases(sheet, {})] == ["x"]


def _suite(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _known(names: set[str]):  # type: ignore[no-untyped-def]
    def check(name: str) -> str | None:
        return None if name in names else f"unknown scorer {name!r}"

    return check


def test_scorer_check_names_line_and_field_of_each_kind_of_entry(tmp_path: Path) -> None:
    check = _known({"exact", "contains"})
    base = "name: s\ndataset:\n  cases:\n    - {id: a, input: x}\n"
    path = _suite(tmp_path, base + "scorers:\n  - exact\n  - nope\n")
    assert f"{path}:7: scorers.1.name: unknown scorer 'nope'" in _error(load_suite, path, scorer_check=check)
    path = _suite(tmp_path, base + "scorers:\n  - all:\n      - exact\n      - name: nope\n")
    assert f"{path}:8: scorers.0.all.1.name:" in _error(load_suite, path, scorer_check=check)
    path = _suite(tmp_path, base + "scorers: [exact, contains]\n")
    assert load_suite(path, scorer_check=check).name == "s"


def test_model_names_check_points_at_the_suite_models_line(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        "name: s\nmodels:\n  - gpt-4o-mini\n  - gpt4o-mini\ndataset:\n  cases: [{id: a}]\nscorers: [exact]\n",
    )
    message = _error(load_suite, path, model_names=["gpt-4o-mini", "claude"])
    assert f"{path}:4: models.1: unknown model 'gpt4o-mini' (did you mean `gpt-4o-mini`?)" in message


def test_union_tag_names_are_kept_when_they_are_real_keys(tmp_path: Path) -> None:
    # pydantic tags union members "scorer"/"str"; a key of that name must keep its line.
    path = _suite(tmp_path, "name: s\ndataset:\n  cases: [{id: a}]\nscorer: [exact]\n")
    message = _error(load_suite, path)
    assert f"{path}:4: scorer: unknown field (did you mean `scorers`?)" in message
    assert "required field is missing" not in message  # said once, on the typo's line
    path = _suite(
        tmp_path, "name: s\ndataset:\n  cases: [{id: a}]\nscorers:\n  - name: exact\n    wieght: 2\n"
    )
    assert f"{path}:6: scorers.0.wieght: unknown field (did you mean `weight`?)" in _error(load_suite, path)


def test_project_provider_check_and_field_suggestions(tmp_path: Path) -> None:
    project = tmp_path / "benchroute.yaml"
    project.write_text("models:\n  m:\n    provider: opnai\n    model: m\n", encoding="utf-8")

    def check(name: str) -> str | None:
        return None if name == "openai" else f"unknown provider kind {name!r}"

    assert f"{project}:3: models.m.provider: unknown provider kind 'opnai'" in _error(
        load_project, project, provider_check=check
    )
    project.write_text("models:\n  m:\n    provider: openai\n    modle: m\n", encoding="utf-8")
    message = _error(load_project, project)
    assert f"{project}:4: models.m.modle: unknown field (did you mean `model`?)" in message


def test_a_scorer_key_instead_of_name_says_which_field_was_meant(tmp_path: Path) -> None:
    path = _suite(tmp_path, "name: s\ndataset:\n  cases: [{id: a}]\nscorers:\n  - scorer: contains\n")
    message = _error(load_suite, path)
    assert f"{path}:5: scorers.0: unknown field 'scorer' (did you mean `name`?)" in message
    assert "required field is missing" not in message and "scorer.name" not in message


def test_a_bad_scorer_argument_names_the_line_of_its_entry(tmp_path: Path) -> None:
    from benchroute.scorers import build_scorer

    path = _suite(
        tmp_path,
        "name: s\ndataset:\n  cases: [{id: a}]\nscorers:\n  - exact\n  - name: forbidden\n    args: {}\n",
    )
    suite = load_suite(path)
    message = _error(build_scorer, suite.scorers[1], suite.source)
    assert f"{path}:6: scorer 'forbidden': missing a required argument: 'values'" in message
