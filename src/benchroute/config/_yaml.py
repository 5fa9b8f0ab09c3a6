"""YAML loading that remembers where every value came from.

pydantic reports a failing field as a path (``("scorers", 0, "threshold")``). To turn that
into ``suite.yaml:12`` we compose the YAML node tree ourselves and record the line of every
mapping key and sequence item while converting it to plain Python values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .._errors import ConfigError

Loc = tuple[str | int, ...]


class LocatedData:
    """Plain data loaded from a file, with the line of each path in it."""

    def __init__(self, data: Any, lines: dict[Loc, int], path: Path) -> None:
        self.data = data
        self.lines = lines
        self.path = path

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest known prefix of ``loc`` (1-based)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None

    def where(self, loc: Loc) -> str:
        line = self.line_of(loc)
        return f"{self.path}:{line}" if line is not None else str(self.path)


def _convert(node: yaml.Node, loc: Loc, lines: dict[Loc, int], loader: yaml.SafeLoader) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a scalar", key_node.start_mark
                )
            key = loader.construct_object(key_node)
            out[key] = _convert(value_node, (*loc, key), lines, loader)
            lines[(*loc, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*loc, i), lines, loader) for i, item in enumerate(node.value)]
    # Scalars: the safe constructor resolves ints, floats, bools and nulls.
    return loader.construct_object(node, deep=True)


def load_yaml(path: Path) -> LocatedData:
    """Read a YAML file into plain data plus a path -> line map.

    Raises :class:`ConfigError` naming the file and line on a syntax error.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines: dict[Loc, int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        # Constructing scalars can fail too (unknown tags like ``!foo``, merge keys ``<<``).
        data = {} if node is None else _convert(node, (), lines, yaml.SafeLoader(""))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or "invalid YAML"
        raise ConfigError(
            f"{path}{line}: invalid YAML: {problem}",
            hint="check the indentation and quoting on that line",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    return LocatedData(data, lines, path)


def describe_validation_error(exc: ValidationError, source: LocatedData, prefix: Loc = ()) -> str:
    """One message per failing field: ``file:line: field.path: what was expected``."""
    parts: list[str] = []
    for error in exc.errors(include_url=False):
        loc: Loc = (*prefix, *(p for p in error["loc"] if not _is_union_tag(p)))
        field = ".".join(str(p) for p in loc) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see the docs for the allowed fields)"
        elif error["type"] == "missing":
            message = "required field is missing"
        got = error.get("input")
        if error["type"] not in ("missing", "extra_forbidden") and isinstance(got, str | int | float | bool):
            message += f" (got {got!r})"
        parts.append(f"{source.where(loc)}: {field}: {message}")
    return "\n".join(parts)


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the member type name (e.g. "str", "list[...]") into loc for unions.
    return isinstance(part, str) and (
        part.endswith("]") or part in {"str", "int", "float", "bool", "scorer", "group"}
    )
