"""YAML loading that remembers where every value came from.

pydantic reports a failing field as a path (``("scorers", 0, "threshold")``). To turn that
into ``suite.yaml:12`` we compose the YAML node tree ourselves and record the line of every
mapping key and sequence item while converting it to plain Python values.
"""

from __future__ import annotations

import difflib
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from .._errors import ConfigError, did_you_mean

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


def describe_validation_error(
    exc: ValidationError, source: LocatedData, prefix: Loc = (), model: type[BaseModel] | None = None
) -> str:
    """One message per failing field: ``file:line: field.path: what was expected``.

    With ``model`` (the class validated at ``prefix``), an unknown field names the closest
    allowed one.
    """
    parts: list[tuple[Loc, str, str]] = []  # (where in the data, error type, the line)
    misspelt: set[Loc] = set()  # fields a misspelt key was meant to be
    for error in exc.errors(include_url=False):
        loc = _data_loc(source.data, (*prefix, *error["loc"]))
        field = ".".join(str(p) for p in loc) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            allowed = _allowed_fields(model, loc[len(prefix) : -1]) if model is not None else set()
            closest = difflib.get_close_matches(str(loc[-1]), sorted(allowed), n=1) if loc else []
            if closest:
                misspelt.add((*loc[:-1], closest[0]))
            message = (
                f"unknown field{did_you_mean(str(loc[-1]), closest)}"
                if closest
                else "unknown field (check the spelling; see the docs for the allowed fields)"
            )
        elif error["type"] == "missing":
            message = "required field is missing"
        got = error.get("input")
        if error["type"] not in ("missing", "extra_forbidden") and isinstance(got, str | int | float | bool):
            message += f" (got {got!r})"
        parts.append((loc, error["type"], f"{source.where(loc)}: {field}: {message}"))
    # An unknown key beside the one missing field of the same mapping (``- scorer: contains``
    # for ``- name: contains``) is that field under another word, however unlike it is.
    missing_by_parent: dict[Loc, list[Loc]] = {}
    for loc, kind, _ in parts:
        if kind == "missing" and loc:
            missing_by_parent.setdefault(loc[:-1], []).append(loc)
    for index, (loc, kind, _) in enumerate(parts):
        if kind != "extra_forbidden" or not loc or any(m[:-1] == loc[:-1] for m in misspelt):
            continue
        wanted = missing_by_parent.get(loc[:-1], [])
        if len(wanted) == 1:
            misspelt.add(wanted[0])
            parent = ".".join(str(p) for p in loc[:-1]) or "(top level)"
            message = f"unknown field {str(loc[-1])!r} (did you mean `{wanted[0][-1]}`?)"
            parts[index] = (loc, kind, f"{source.where(loc)}: {parent}: {message}")
    # "scorers: required" next to "scorer: unknown field (did you mean `scorers`?)" says the
    # same thing twice, the second time without the line that holds the typo.
    kept = [line for loc, kind, line in parts if not (kind == "missing" and loc in misspelt)]
    return "\n".join(kept)


def _data_loc(data: Any, raw: tuple[Any, ...]) -> Loc:
    """pydantic's error path as a path into the loaded data: the member-type tags pydantic
    inserts for unions (``"str"``, ``"scorer"``, ...) are dropped, unless the data really
    has a key of that name (a misspelt ``scorer:`` must keep its name and line)."""
    out: list[str | int] = []
    current: Any = data
    for position, part in enumerate(raw):
        # A tag followed by more of the path is pydantic's, even when the data also has a key
        # of that name (``- scorer: contains``): only a last part can be the key itself.
        if _is_union_tag(part) and position < len(raw) - 1 and isinstance(current, dict):
            continue
        in_mapping = isinstance(current, dict) and part in current
        in_sequence = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_mapping or in_sequence:
            current = current[part]
        elif _is_union_tag(part):
            continue
        else:
            current = None
        out.append(part)
    return tuple(out)


def _allowed_fields(model: type[BaseModel], loc: Loc) -> set[str]:
    """The field names (and aliases) allowed at ``loc`` below ``model``; empty if unknown."""
    candidates: list[Any] = [model]
    for part in loc:
        following: list[Any] = []
        for candidate in candidates:
            for member in _members(candidate):
                if isinstance(member, type) and issubclass(member, BaseModel):
                    for name, info in member.model_fields.items():
                        if part in (name, info.alias):
                            following.append(info.annotation)
                elif isinstance(part, int | str):
                    args = get_args(member)
                    if get_origin(member) in (list, tuple) and args:
                        following.append(args[0])
                    elif get_origin(member) is dict and len(args) == 2:
                        following.append(args[1])
        candidates = following
    names: set[str] = set()
    for candidate in candidates:
        for member in _members(candidate):
            if isinstance(member, type) and issubclass(member, BaseModel):
                for name, info in member.model_fields.items():
                    if not info.exclude:
                        names.add(info.alias or name)
    return names


def _members(annotation: Any) -> list[Any]:
    """The alternatives of an annotation: unions and ``Annotated`` unwrapped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the member type name (e.g. "str", "list[...]") into loc for unions.
    return isinstance(part, str) and (
        part.endswith("]") or part in {"str", "int", "float", "bool", "scorer", "group"}
    )
