"""Reading ``benchroute.yaml``, suite files and their datasets, with file:line errors."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._errors import ConfigError, did_you_mean
from ._models import Case, ProjectConfig, ScorerEntry, ScorerGroup, ScorerSpec, SuiteSpec
from ._routing import routing_models
from ._yaml import Loc, LocatedData, describe_validation_error, load_yaml

PROJECT_FILE = "benchroute.yaml"

GoldenLoader = Callable[[str, int | None], tuple[list[Case], int]]
"""The cases of a stored golden set and the version they are (``(name, version or None for
the newest)``); raises :class:`LookupError` with a message when there is no such set.

Golden sets live in the store, above this package: the CLI passes a loader in."""

NameCheck = Callable[[str], str | None]
"""Why a registry name cannot be used (``"unknown scorer 'x' (did you mean ...)"``), or None.

The registries live above this package (scorers, providers), so their callers pass a check
in; the loader adds the ``file:line: field`` of the name.
"""


def find_project_file(start: Path | None = None) -> Path | None:
    """The nearest ``benchroute.yaml`` in ``start`` or its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def load_project(path: str | Path | None = None, *, provider_check: NameCheck | None = None) -> ProjectConfig:
    """Load a project file; with no path, the nearest one upwards from the working directory.

    With no project file at all, an empty project rooted at the working directory is returned
    (suites can then only use models that a plugin provides by default). ``provider_check``
    validates each model's ``provider:`` against the provider registry at load time.
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
    _check_routing_classes(source)
    try:
        project = ProjectConfig.model_validate({**source.data, "root": path.parent.resolve()})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source, model=ProjectConfig)) from None
    if provider_check is not None:
        for name, spec in project.models.items():
            problem = provider_check(spec.provider)
            if problem is not None:
                loc = ("models", name, "provider")
                raise ConfigError(f"{source.where(loc)}: models.{name}.provider: {problem}")
    _check_gateway_aliases(project, source)
    _check_routing_models(project, source)
    return project


def _check_routing_classes(source: LocatedData) -> None:
    """A rule's ``class`` and ``default_class`` name a class of ``routing.classes``, checked
    on the file's data so the error names their own line (the model's check would name the
    ``routing:`` line)."""
    routing = source.data.get("routing") if isinstance(source.data, dict) else None
    if not isinstance(routing, dict) or not isinstance(routing.get("classes"), dict):
        return
    classes = [str(name) for name in routing["classes"]]
    named: list[tuple[Loc, object]] = [(("routing", "default_class"), routing.get("default_class"))]
    rules = routing.get("rules")
    if isinstance(rules, list):
        named += [
            (("routing", "rules", i, "class"), r.get("class"))
            for i, r in enumerate(rules)
            if isinstance(r, dict)
        ]
    for loc, name in named:
        if isinstance(name, str) and classes and name not in classes:
            field = ".".join(str(part) for part in loc)
            raise ConfigError(
                f"{source.where(loc)}: {field}: {name!r} is not one of routing.classes"
                f"{did_you_mean(name, classes)}",
                hint="classes: " + ", ".join(classes),
            )


def _check_routing_models(project: ProjectConfig, source: LocatedData) -> None:
    """Every model the ``routing:`` block names is defined under ``models:``."""
    for name, klass in project.routing.classes.items():
        canary = klass.canary
        if canary is not None and canary.criteria.metric == "judge" and not project.gateway.log_payloads:
            where: Loc = ("routing", "classes", name, "canary", "criteria", "metric")
            raise ConfigError(
                f"{source.where(where)}: routing.classes.{name}.canary.criteria.metric: judge needs the "
                "replies in the request log",
                hint="set gateway.log_payloads: true (or decide on feedback, error_rate, latency or cost)",
            )
    for loc, name in routing_models(project.routing).items():
        if name not in project.models:
            known = ", ".join(sorted(project.models)) or "(none)"
            field = ".".join(str(part) for part in loc)
            raise ConfigError(
                f"{source.where(loc)}: {field}: unknown model {name!r}"
                f"{did_you_mean(name, list(project.models))}",
                hint=f"routing names models defined under 'models:' ({known})",
            )


def _check_gateway_aliases(project: ProjectConfig, source: LocatedData) -> None:
    """Every candidate of a ``gateway.aliases`` entry is a model defined under ``models:``."""
    for alias, names in project.gateway.aliases.items():
        if not names:
            loc: Loc = ("gateway", "aliases", alias)
            raise ConfigError(f"{source.where(loc)}: gateway.aliases.{alias}: lists no models")
        for index, name in enumerate(names):
            if name not in project.models:
                loc = ("gateway", "aliases", alias, index)
                known = ", ".join(sorted(project.models)) or "(none)"
                raise ConfigError(
                    f"{source.where(loc)}: gateway.aliases.{alias}[{index}]: unknown model "
                    f"{name!r}{did_you_mean(name, list(project.models))}",
                    hint=f"candidates are model names defined under 'models:' ({known})",
                )


def load_suite(
    path: str | Path,
    *,
    scorer_check: NameCheck | None = None,
    model_names: Collection[str] | None = None,
    golden_loader: GoldenLoader | None = None,
) -> SuiteSpec:
    """Load a suite file and its dataset; every case is resolved and validated.

    ``scorer_check`` validates every scorer name (suite scorers, groups, conversation
    assertions, stop scorers) against the scorer registry, and ``model_names`` the suite's
    ``models:`` against the project's, so a misspelt name fails at load with its
    ``file:line: field`` before any run is created. ``golden_loader`` reads a stored golden
    set (``dataset: {golden: NAME, version: N}``); the resolved version is set on the suite's
    ``dataset.version``, so the run's provenance names the cases it ran.
    """
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
        raise ConfigError(describe_validation_error(exc, source, model=SuiteSpec)) from None
    dataset = suite.dataset
    if dataset.path is not None:
        data_path = Path(dataset.path)
        if not data_path.is_absolute():
            data_path = path.parent / data_path
        dataset.cases = load_cases(data_path, dataset.columns, dataset.format)
    elif dataset.golden is not None:
        where = source.where(("dataset", "golden"))
        if golden_loader is None:
            raise ConfigError(
                f"{where}: dataset.golden: a stored golden set is read from the project's store",
                hint="run the suite with the benchroute CLI (or pass golden_loader= to load_suite)",
            )
        try:
            dataset.cases, dataset.version = golden_loader(dataset.golden, dataset.version)
        except LookupError as exc:
            message = exc.args[0] if exc.args else str(exc)
            raise ConfigError(
                f"{where}: dataset.golden: {message}", hint="`benchroute dataset list` shows the stored sets"
            ) from None
    elif dataset.cases is not None:
        _check_unique_ids(dataset.cases, source)
    if dataset.limit is not None and dataset.cases is not None:
        dataset.cases = dataset.cases[: dataset.limit]
    if not dataset.cases:
        raise ConfigError(f"{source.where(('dataset',))}: dataset: the suite has no cases")
    if model_names is not None:
        _check_models(suite, source, model_names)
    for loc, spec in _scorer_names(suite):
        if dataset.path is None or loc[0] != "dataset":
            spec.at_line(source.line_of(loc[:-1]))
    if scorer_check is not None:
        for loc, spec in _scorer_names(suite):
            name = spec.name
            problem = scorer_check(name)
            if problem is not None:
                field = ".".join(str(part) for part in loc)
                where = source.where(loc) if dataset.path is None or loc[0] != "dataset" else dataset.path
                raise ConfigError(f"{where}: {field}: {problem}")
    return suite


def _check_models(suite: SuiteSpec, source: LocatedData, known: Collection[str]) -> None:
    for index, name in enumerate(suite.models or []):
        if name not in known:
            loc = ("models", index)
            listed = ", ".join(known) or "none"
            raise ConfigError(
                f"{source.where(loc)}: models.{index}: unknown model {name!r}{did_you_mean(name, known)}",
                hint=f"models defined in benchroute.yaml: {listed}",
            )


def _scorer_names(suite: SuiteSpec) -> Iterator[tuple[Loc, ScorerSpec]]:
    """Every scorer a suite uses, with the path of the field that holds its name."""
    for index, entry in enumerate(suite.scorers):
        yield from _entry_names(entry, ("scorers", index))
    for number, case in enumerate(suite.dataset.cases or []):
        base: Loc = ("dataset", "cases", number)
        for index, entry in enumerate(case.assertions):
            yield from _entry_names(entry, (*base, "assertions", index))
        for turn_number, turn in enumerate(case.turns or []):
            for index, entry in enumerate(turn.assertions):
                yield from _entry_names(entry, (*base, "turns", turn_number, "assert", index))
        stop = case.simulated_user.stop.scorer if case.simulated_user else None
        if stop is not None:
            yield (*base, "simulated_user", "stop", "scorer", "name"), stop


def _entry_names(entry: ScorerEntry, loc: Loc) -> Iterator[tuple[Loc, ScorerSpec]]:
    if isinstance(entry, ScorerGroup):
        for index, member in enumerate(entry.members):
            yield (*loc, entry.mode, index, "name"), member
    else:
        yield (*loc, "name"), entry


def _check_unique_ids(cases: list[Case], source: LocatedData) -> None:
    seen: dict[str, int] = {}
    for index, case in enumerate(cases):
        if case.id in seen:
            raise ConfigError(
                f"{source.where(('dataset', 'cases', index, 'id'))}: dataset.cases.{index}.id: "
                f"duplicate case id {case.id!r} (first used by case {seen[case.id]})"
            )
        seen[case.id] = index


_CASE_FIELDS = ("id", "input", "expected", "messages", "passages", "metadata", "attachments")


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
    texts: dict[int, str] = {}
    rows = _read_csv(path) if fmt == "csv" else _read_jsonl(path, texts)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        case = _row_to_case(row, columns, line, path, texts.get(line))
        if case.id in seen:
            where = _place(path, line, texts.get(line), columns.get("id", "id"))
            raise ConfigError(f"{where}: id: duplicate case id {case.id!r} (first on line {seen[case.id]})")
        seen[case.id] = line
        cases.append(case)
    return cases


def _place(path: Path, line: int, text: str | None, key: Any = None) -> str:
    """``file:line:column`` of a JSONL row's top-level ``key`` (``file:line`` when not found,
    or for CSV rows), the form editors and CI annotations jump to."""
    if text is not None and isinstance(key, str):
        quoted = json.dumps(key)
        start = 0
        while (found := text.find(quoted, start)) >= 0:
            after = text[found + len(quoted) :].lstrip()
            if after.startswith(":"):  # a key, not the same text as a value
                return f"{path}:{line}:{found + 1}"
            start = found + 1
    return f"{path}:{line}"


def _read_jsonl(path: Path, texts: dict[int, str] | None = None) -> list[tuple[int, dict[str, Any]]]:
    """The JSON objects of a JSONL file with their line numbers; each line's text goes into
    ``texts`` (so later errors can name a column)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        handle = path.open(encoding="utf-8-sig")  # a byte-order mark is not part of line 1
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
                        f"{path}:{number}:{exc.colno}: invalid JSON: {exc.msg}",
                        hint="each line must be one JSON object",
                    ) from None
                if not isinstance(row, dict):
                    column = len(text) - len(text.lstrip()) + 1
                    raise ConfigError(
                        f"{path}:{number}:{column}: expected a JSON object, got {type(row).__name__}",
                        hint='each line must be one JSON object: {"id": ..., "input": ...}',
                    )
                rows.append((number, row))
                if texts is not None:
                    texts[number] = text
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return rows


def _read_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")  # Excel writes a byte-order mark
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


def _row_to_case(
    row: dict[str, Any], columns: dict[str, str], line: int, path: Path, text: str | None = None
) -> Case:
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
        top = error["loc"][0] if error["loc"] else None
        # The row's own column name for a mapped field (``question`` for ``input``).
        key = columns.get(str(top), top) if top in _CASE_FIELDS else top
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = f"unknown case field{did_you_mean(str(top), Case.model_fields)}"
        got = error.get("input")
        if error["type"] not in ("missing", "extra_forbidden") and isinstance(got, str | int | float | bool):
            message += f" (got {got!r})"
        raise ConfigError(f"{_place(path, line, text, key)}: {field}: {message}") from None
