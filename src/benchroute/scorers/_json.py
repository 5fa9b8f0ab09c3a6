"""JSON scorers: the output parses as JSON, and validates against a JSON Schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..config import Case
from ..types import Completion
from ._base import Score, Scorer, threshold_passed

_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.DOTALL)


def extract_json_text(text: str) -> str:
    """The JSON part of a reply: the first fenced block if there is one, else the text."""
    match = _FENCE.search(text)
    return (match.group(1) if match else text).strip()


def _parse(text: str, extract: bool) -> tuple[Any, str | None]:
    candidate = extract_json_text(text) if extract else text.strip()
    if not candidate:
        return None, "empty output"
    try:
        return json.loads(candidate, parse_constant=_reject_constant), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
    except ValueError as exc:
        return None, f"invalid JSON: {exc}"
    except RecursionError:
        return None, "invalid JSON: nested too deeply to parse"


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN, Infinity and -Infinity; JSON (RFC 8259) does not.
    raise ValueError(f"{name} is not a JSON value")


def json_valid(*, extract: bool = True, threshold: float = 1.0) -> Scorer:
    """1 when the output (or its fenced ```json block, with ``extract``) is valid JSON."""

    async def score(completion: Completion, case: Case) -> Score:
        _, error = _parse(completion.text, extract)
        value = 0.0 if error else 1.0
        return Score(value, threshold_passed(value, threshold), error or "valid JSON", "json_valid")

    return score


def json_schema(
    schema: dict[str, Any] | None = None,
    *,
    schema_path: str | None = None,
    extract: bool = True,
    threshold: float = 1.0,
) -> Scorer:
    """1 when the output is JSON that validates against ``schema`` (inline, or a file at
    ``schema_path``); the reason names the failing path."""
    import jsonschema  # imported here: only suites that use the scorer pay for it

    if (schema is None) == (schema_path is None):
        raise ValueError("give exactly one of 'schema' or 'schema_path'")
    if schema_path is not None:
        try:
            schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"schema_path {schema_path}: {exc}") from None
    assert schema is not None
    validator_cls = jsonschema.validators.validator_for(schema)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"invalid JSON Schema: {exc.message}") from None
    validator = validator_cls(schema)

    async def score(completion: Completion, case: Case) -> Score:
        document, error = _parse(completion.text, extract)
        if error:
            return Score(0.0, threshold_passed(0.0, threshold), error, "json_schema")
        try:
            best = jsonschema.exceptions.best_match(validator.iter_errors(document))
        except RecursionError:
            return Score(
                0.0, threshold_passed(0.0, threshold), "nested too deeply to validate", "json_schema"
            )
        if best is None:
            return Score(1.0, threshold_passed(1.0, threshold), "matches the schema", "json_schema")
        where = "$" + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in best.path)
        return Score(0.0, threshold_passed(0.0, threshold), f"{where}: {best.message}", "json_schema")

    return score
