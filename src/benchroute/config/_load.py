"""Reading ``benchroute.yaml``, suite files and their datasets, with file:line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._errors import ConfigError
from ._models import Case, ProjectConfig, SuiteSpec
from ._yaml import LocatedData, describe_validation_error, load_yaml

PROJECT_FILE = "benchroute.yaml"


def find_project_file(start: Path | None = None) -> Path | None:
    """The nearest ``benchroute.yaml`` in ``start`` or its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def load_project(path: str | Path | None = None) -> ProjectConfig:
    """Load a project file; with no path, the nearest one upwards from the working directory.

    With no project file at all, an empty project rooted at the working directory is returned
    (suites can then only use models that a plugin provides by default).
    """
    if path is None:
        path = find_project_file()
        if path is None:
            return ProjectConfig(root=Path.cwd())
    path = Path(path)
    if path.is_dir():
        path = path / PROJECT_FILE
    source = load_yaml(path)
    if not isinstance(source.data, dict):
        raise ConfigError(f"{path}:1: expected a mapping with a 'models:' section")
    try:
        return ProjectConfig.model_validate({**source.data, "root": path.parent.resolve()})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source)) from None


def load_suite(path: str | Path) -> SuiteSpec:
    """Load a suite file and its dataset; every case is resolved and validated."""
    path = Path(path)
    source = load_yaml(path)
    if not isinstance(source.data, dict):
        raise ConfigError(f"{path}:1: expected a mapping with name, dataset and scorers")
    raw_dataset = source.data.get("dataset")
    if isinstance(raw_dataset, dict) and "cases" in raw_dataset and "path" in raw_dataset:
        raise ConfigError(
            f"{source.where(('dataset', 'path'))}: dataset: give either 'cases' or 'path', not both"
        )
    try:
        suite = SuiteSpec.model_validate({**source.data, "source": str(path)})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source)) from None
    dataset = suite.dataset
    if dataset.path is not None:
        data_path = Path(dataset.path)
        if not data_path.is_absolute():
            data_path = path.parent / data_path
        dataset.cases = load_cases(data_path, dataset.columns, dataset.format)
    elif dataset.cases is not None:
        _check_unique_ids(dataset.cases, source)
    if dataset.limit is not None and dataset.cases is not None:
        dataset.cases = dataset.cases[: dataset.limit]
    if not dataset.cases:
        raise ConfigError(f"{source.where(('dataset',))}: dataset: the suite has no cases")
    return suite


def _check_unique_ids(cases: list[Case], source: LocatedData) -> None:
    seen: dict[str, int] = {}
    for index, case in enumerate(cases):
        if case.id in seen:
            raise ConfigError(
                f"{source.where(('dataset', 'cases', index, 'id'))}: dataset.cases.{index}.id: "
                f"duplicate case id {case.id!r} (first used by case {seen[case.id]})"
            )
        seen[case.id] = index


_CASE_FIELDS = ("id", "input", "expected", "messages", "passages", "metadata")


def load_cases(path: Path, columns: dict[str, str], fmt: str | None = None) -> list[Case]:
    """Rows of a JSONL or CSV file as cases.

    ``columns`` maps a case field (id, input, expected, messages, metadata) to the column that
    holds it; columns not mapped to a case field become template ``vars``. A bad row raises
    :class:`ConfigError` naming ``file:line`` and the field.
    """
    unknown = set(columns) - set(_CASE_FIELDS)
    if unknown:
        raise ConfigError(
            f"{path}: columns: unknown case field(s) {sorted(unknown)}; "
            f"map any of {list(_CASE_FIELDS)} to a column name"
        )
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    rows = _read_csv(path) if fmt == "csv" else _read_jsonl(path)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        case = _row_to_case(row, columns, line, path)
        if case.id in seen:
            raise ConfigError(
                f"{path}:{line}: id: duplicate case id {case.id!r} (first on line {seen[case.id]})"
            )
        seen[case.id] = line
        cases.append(case)
    return cases


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: dataset file not found", hint="check dataset.path") from None
    with handle:
        try:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ConfigError(
                        f"{path}:{number}: invalid JSON at column {exc.colno}: {exc.msg}",
                        hint="each line must be one JSON object",
                    ) from None
                if not isinstance(row, dict):
                    raise ConfigError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
                rows.append((number, row))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return rows


def _read_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8", newline="")
    except FileNotFoundError:
        raise ConfigError(f"{path}: dataset file not found", hint="check dataset.path") from None
    rows: list[tuple[int, dict[str, Any]]] = []
    with handle:
        reader = csv.DictReader(handle)
        try:
            for row in reader:
                if None in row:
                    raise ConfigError(f"{path}:{reader.line_num}: more values than header columns")
                rows.append((reader.line_num, dict(row)))
        except csv.Error as exc:
            raise ConfigError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return rows


def _row_to_case(row: dict[str, Any], columns: dict[str, str], line: int, path: Path) -> Case:
    fields: dict[str, Any] = {}
    mapped_columns = set()
    for field in _CASE_FIELDS:
        column = columns.get(field, field)
        if column in row:
            fields[field] = row[column]
            mapped_columns.add(column)
        elif field in columns:
            raise ConfigError(
                f"{path}:{line}: column {column!r} (mapped to case field {field!r}) is missing",
                hint=f"the row has columns {sorted(row)}",
            )
    fields.setdefault("id", f"row-{line}")
    given_vars = row.get("vars")
    variables = dict(given_vars) if isinstance(given_vars, dict) else {}
    variables.update({k: v for k, v in row.items() if k not in mapped_columns and k != "vars"})
    # Mapped columns stay reachable from templates under their own names too.
    variables.update({k: row[k] for k in mapped_columns if k not in _CASE_FIELDS})
    fields["vars"] = variables
    try:
        return Case.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in error["loc"])
        raise ConfigError(f"{path}:{line}: {field}: {error['msg']}") from None
