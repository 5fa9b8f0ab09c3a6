"""Importing cases from production: chat logs, CSV, the gateway's request log, trace exports.

Every importer is a *stream*: it reads one row, turns it into a case dict (the shape
``Case.model_dump(mode="json", exclude_defaults=True)`` gives) and hands it on, so a 1 GB
log needs no more memory than its longest row. :func:`import_file` reads a file (``.gz``
too) in one of the :data:`IMPORT_FORMATS` or detects it (``format="auto"``) from the name
and the first rows; :func:`import_gateway` pages through the store's request log.

Each case carries ``metadata.source`` (file and line, or the request id) and, when the
source says so, ``task_class``, ``route`` (the model that served it), ``outcome``
(``ok``/``error``/``positive``/``negative``), ``feedback`` (a score) and ``prompt_chars``.
A conversation whose last message is the assistant's reply becomes the conversation up to
it plus ``expected`` (the logged reply: text, or ``{"content", "tool_calls"}`` for a tool
call); request-level ``tools`` go to ``metadata.tools`` (a case has no field for them).

A bad row (invalid JSON, no user message, a field of the wrong type) raises
:class:`~benchroute.ConfigError` naming ``file:line:field``, unless ``skip_bad=True``: then
it is counted and the first ones are listed in the :class:`ImportReport`. The report holds
locations, field names and fixed reasons only — never text from a row, which may hold
personal data that has not been scrubbed yet.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, cast

from pydantic import ValidationError

from .._errors import ConfigError
from .._json import loads as json_loads
from ..config import Case
from ._dedupe import ExactDeduper

if TYPE_CHECKING:
    from ..store import Store

ROLES = ("system", "developer", "user", "assistant", "tool")
# LangChain's message types and class names, and older spellings, as OpenAI roles.
_ROLE_ALIASES = {
    "human": "user",
    "ai": "assistant",
    "function": "tool",
    "HumanMessage": "user",
    "HumanMessageChunk": "user",
    "AIMessage": "assistant",
    "AIMessageChunk": "assistant",
    "SystemMessage": "system",
    "ToolMessage": "tool",
    "FunctionMessage": "tool",
}
_PROMPT_KEYS = ("messages", "prompt", "prompts", "input", "question", "query", "text")
_REPLY_KEYS = ("output", "completion", "response", "text", "content", "answer", "result")
_CASE_FIELDS = ("id", "input", "expected", "messages", "passages", "metadata")
_META_FIELDS = ("task_class", "route", "outcome", "feedback")
_SNIFF_LINES = 20
_SKIP_HINT = "or pass --skip-bad (skip_bad=True) to skip such rows and count them in the report"

StatusFilter = Literal["ok", "error", "any"]
FeedbackFilter = Literal["positive", "negative", "any", "none"]


class _RowError(Exception):
    """A bad row: the field at fault, a fixed reason (never row text) and the fix."""

    def __init__(self, field: str, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.field, self.reason, self.hint = field, reason, hint


class _Skip(Exception):
    """A good row this import leaves out on purpose (the reason is counted)."""


@dataclass(frozen=True)
class BadRow:
    """Where a bad row is and what is wrong with it."""

    location: str  # file:line:field (gateway:<request id>:field)
    row: int | str  # the line number, or the request id
    field: str
    reason: str
    hint: str | None = None


@dataclass
class ImportReport:
    """What an import read, took, left out and why; filled while the cases stream."""

    source: str
    format: str
    rows_read: int = 0
    imported: int = 0
    bad: int = 0
    duplicates: int = 0  # exact duplicates dropped (``drop_duplicates=True``)
    bad_rows: list[BadRow] = field(default_factory=list)  # the first ``max_bad_rows``
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> rows
    warnings: Counter[str] = field(default_factory=Counter)  # imported, with something left out
    filters: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    max_bad_rows: int = 20

    def add_bad(self, bad: BadRow) -> None:
        self.bad += 1
        if len(self.bad_rows) < self.max_bad_rows:
            self.bad_rows.append(bad)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "rows_read": self.rows_read,
            "imported": self.imported,
            "bad": self.bad,
            "bad_rows": [
                {"location": b.location, "row": b.row, "field": b.field, "reason": b.reason, "hint": b.hint}
                for b in self.bad_rows
            ],
            "skipped": dict(self.skipped),
            "warnings": dict(self.warnings),
            "exact_duplicates": self.duplicates,
            "filters": dict(self.filters),
            "notes": list(self.notes),
        }


class ImportedCases:
    """The cases of one import, streamed (iterate once); :attr:`report` fills as they go."""

    def __init__(self, cases: Iterator[dict[str, Any]], report: ImportReport) -> None:
        self._cases = cases
        self.report = report

    def __iter__(self) -> ImportedCases:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._cases)


# --- rows to cases: the shapes the formats share ------------------------------------------------


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _part(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"type": "text", "text": value}
    if not isinstance(value, dict):
        raise _RowError(where, f"a content part must be an object, got {_kind(value)}")
    return value


def _content(value: Any, where: str) -> str | list[dict[str, Any]] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_part(part, f"{where}.{i}") for i, part in enumerate(value)]
    raise _RowError(where, f"content must be text or a list of parts, got {_kind(value)}")


def _tool_calls(body: Mapping[str, Any], where: str) -> list[dict[str, Any]] | None:
    extra = body.get("additional_kwargs")
    calls = body.get("tool_calls")
    if isinstance(extra, dict) and isinstance(extra.get("tool_calls"), list):
        calls = extra["tool_calls"]  # LangChain keeps the OpenAI form here
    if calls is None or calls == []:
        return None
    if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
        raise _RowError(f"{where}.tool_calls", "tool_calls must be a list of objects")
    return [
        {
            "id": c.get("id"),
            "type": "function",
            "function": {"name": c.get("name"), "arguments": json.dumps(c.get("args"), ensure_ascii=False)},
        }
        if "args" in c and "function" not in c  # LangChain's {name, args, id}
        else c
        for c in calls
    ]


def _message(value: Any, where: str) -> dict[str, Any]:
    """An OpenAI chat message from an OpenAI, LangChain (serialised or dict) message."""
    if not isinstance(value, dict):
        raise _RowError(where, f"a message must be an object, got {_kind(value)}")
    body: Mapping[str, Any] = value
    role: Any
    if value.get("lc") == 1 and isinstance(value.get("kwargs"), dict):
        body = value["kwargs"]
        names = value.get("id")
        role = body.get("role") or (names[-1] if isinstance(names, list) and names else None)
    elif "role" in value:
        role = value["role"]
    elif isinstance(value.get("data"), dict):
        body, role = value["data"], value.get("type")
    else:
        role = value.get("type")
    role = _ROLE_ALIASES.get(role, role) if isinstance(role, str) else role
    if role not in ROLES:
        raise _RowError(f"{where}.role", "unknown or missing role", hint=f"roles are {', '.join(ROLES)}")
    message: dict[str, Any] = {"role": role, "content": _content(body.get("content"), f"{where}.content")}
    calls = _tool_calls(body, where)
    if calls is not None:
        message["tool_calls"] = calls
    for key in ("name", "tool_call_id"):
        if isinstance(body.get(key), str):
            message[key] = body[key]
    return message


def _messages(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _RowError(where, f"messages must be a list, got {_kind(value)}")
    if value and all(isinstance(item, list) for item in value):  # LangSmith's batch: [[...]]
        value, where = value[0], f"{where}.0"
    return [_message(item, f"{where}.{i}") for i, item in enumerate(value)]


def _prompt(value: Any, where: str) -> list[dict[str, Any]]:
    """The conversation in a trace's input: messages, a prompt text, or {messages|prompt|...}."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list):
        if value and all(isinstance(item, str) for item in value):  # {"prompts": ["..."]}
            return [{"role": "user", "content": value[0]}]
        return _messages(value, where)
    if isinstance(value, dict):
        if "role" in value or value.get("lc") == 1:
            return [_message(value, where)]
        for key in _PROMPT_KEYS:
            if key in value:
                return _prompt(value[key], f"{where}.{key}")
        texts = [key for key, item in value.items() if isinstance(item, str)]
        if len(texts) == 1:  # a chain's {"<variable>": "..."}
            return [{"role": "user", "content": value[texts[0]]}]
    raise _RowError(
        where,
        f"no messages or prompt found in {_kind(value)}",
        hint=f"give messages, or a prompt under one of {', '.join(_PROMPT_KEYS)}",
    )


def _expected_of(message: Mapping[str, Any]) -> Any:
    content = message.get("content")
    text = content if isinstance(content, str) or content is None else _parts_text(content)
    if message.get("tool_calls"):
        return {"content": text, "tool_calls": message["tool_calls"]}
    return text


def _parts_text(parts: Iterable[Any]) -> str:
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text")


def _reply(value: Any, where: str) -> tuple[Any, bool]:
    """The logged reply in an output (text, a completion, generations, a message ...) and
    whether its shape was understood."""
    if value is None or isinstance(value, str):
        return value, True
    if isinstance(value, list):
        if value and isinstance(value[0], list):  # generations: [[...]]
            return _reply(value[0], f"{where}.0")
        if value and all(isinstance(item, dict) and ("role" in item or "lc" in item) for item in value):
            last = _message(value[-1], f"{where}.{len(value) - 1}")
            return (_expected_of(last), True) if last["role"] == "assistant" else (None, False)
        return _reply(value[0], f"{where}.0") if value else (None, True)
    if not isinstance(value, dict):
        return None, False
    choices = value.get("choices")
    if isinstance(choices, list):
        if not choices or not isinstance(choices[0], dict):
            return None, not choices
        first = choices[0]
        if isinstance(first.get("message"), dict):
            return _expected_of(_message(first["message"], f"{where}.choices.0.message")), True
        return _reply(first.get("text"), f"{where}.choices.0.text")
    if "generations" in value:
        return _reply(value["generations"], f"{where}.generations")
    if "role" in value or value.get("lc") == 1 or isinstance(value.get("data"), dict):
        return _expected_of(_message(value, where)), True
    if isinstance(value.get("message"), dict):
        return _expected_of(_message(value["message"], f"{where}.message")), True
    for key in _REPLY_KEYS:
        if key in value:
            return _reply(value[key], f"{where}.{key}")
    return None, False


def _prompt_chars(messages: Iterable[Mapping[str, Any]]) -> int:
    total = 0
    for message in messages:
        content = message.get("content")
        total += len(content) if isinstance(content, str) else len(_parts_text(content or ()))
    return total


def _outcome(error: bool, feedback: float | None) -> str:
    """error, else positive/negative by the feedback score (0.5 itself: mixed, ``ok``)."""
    if error:
        return "error"
    if feedback is not None and feedback != 0.5:
        return "positive" if feedback > 0.5 else "negative"
    return "ok"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


@dataclass
class _Row:
    """What a converter needs about the row in hand."""

    source: dict[str, Any]  # metadata.source
    default_id: str  # ``<file stem>-<line>``, or the request id
    report: ImportReport


def _case(
    row: _Row,
    *,
    case_id: Any,
    messages: list[dict[str, Any]] | None = None,
    input: Any = None,
    expected: Any = None,
    metadata: Mapping[str, Any] | None = None,
    known: Mapping[str, Any] | None = None,
    tools: Any = None,
    where: str = "messages",
    renames: Mapping[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A validated case dict. ``known``: metadata the source states (task class, route ...),
    used where the row's own metadata does not say. ``where``: the field that holds the
    conversation, for the message when it has no user message; ``renames``: case field ->
    the row's column, so an error names the column the user wrote."""
    if messages is not None and not any(m["role"] == "user" for m in messages):
        raise _RowError(where, "no user message", hint="a case needs at least one user message")
    meta: dict[str, Any] = dict(metadata or {})
    meta["source"] = row.source
    for key, value in (known or {}).items():
        if value is not None:
            meta.setdefault(key, value)
    if messages is not None:
        meta.setdefault("prompt_chars", _prompt_chars(messages))
    elif isinstance(input, str):
        meta.setdefault("prompt_chars", len(input))
    if isinstance(tools, list) and tools:
        meta.setdefault("tools", tools)
    body: dict[str, Any] = {
        "id": case_id if isinstance(case_id, str | int) and case_id != "" else row.default_id
    }
    if messages is not None:
        body["messages"] = messages
    if input is not None:
        body["input"] = input
    if expected is not None:
        body["expected"] = expected
    body.update(fields)
    body["metadata"] = meta
    try:
        case = Case.model_validate(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = [str(p) for p in error["loc"]]
        if loc and renames and loc[0] in renames:
            loc[0] = renames[loc[0]]
        raise _RowError(".".join(loc) or "row", error["msg"]) from None
    return case.model_dump(mode="json", exclude_defaults=True)


def _row_metadata(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _RowError(where, f"metadata must be an object, got {_kind(value)}")
    return value


def _check_status(error: bool, status: StatusFilter) -> None:
    if status == "ok" and error:
        raise _Skip("error (only ok rows imported)")
    if status == "error" and not error:
        raise _Skip("ok (only error rows imported)")


# --- the formats --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    columns: Mapping[str, str]
    llm_only: bool
    status: StatusFilter


def _chat(record: Any, row: _Row, options: _Options) -> dict[str, Any]:
    """``{"messages": [...]}`` (last assistant message: the reply), ``{"messages"|"prompt",
    "completion"|"response"}``, or an OpenAI batch line ``{"custom_id", "body": {...}}``."""
    case_id = record.get("id")
    if isinstance(record.get("body"), dict) and "messages" in record["body"]:
        case_id, record = record.get("custom_id", case_id), record["body"]
    reply_key = next((key for key in ("completion", "response") if key in record), None)
    where = "messages" if "messages" in record else "prompt"
    if "messages" in record:
        messages = _messages(record["messages"], "messages")
    elif "prompt" in record:
        messages = _prompt(record["prompt"], "prompt")
    else:
        raise _RowError("messages", "no messages", hint='give {"messages": [{"role": "user", ...}]}')
    expected = None
    if reply_key is not None:
        expected, understood = _reply(record[reply_key], reply_key)
        if not understood:
            row.report.warnings[f"{reply_key}: reply shape not understood, no expected"] += 1
    elif messages and messages[-1]["role"] == "assistant" and len(messages) > 1:
        expected = _expected_of(messages.pop())
    metadata = _row_metadata(record.get("metadata"), "metadata")
    model = record.get("model")
    return _case(
        row,
        case_id=case_id,
        messages=messages,
        expected=expected,
        metadata=metadata,
        known={"route": model if isinstance(model, str) else None},
        tools=record.get("tools"),
        where=where,
    )


def _mapped(record: Mapping[str, Any], row: _Row, options: _Options, *, cells: bool) -> dict[str, Any]:
    """A row mapped to a case the way ``load_cases``' ``columns`` does (``cells``: CSV text,
    so ``messages``/``metadata``/``passages`` hold JSON, ``feedback`` a number, empty means
    absent)."""
    columns = options.columns
    taken: dict[str, Any] = {}
    mapped: set[str] = set()
    for name in (*_CASE_FIELDS, *_META_FIELDS):
        column = columns.get(name, name)
        if column not in record:
            if name in columns:
                raise _RowError(column, f"column mapped to {name!r} is missing")
            continue
        value = record[column]
        mapped.add(column)
        if cells and value == "":
            continue
        if cells and name in ("messages", "metadata", "passages"):
            try:
                value = json.loads(value)
            except ValueError:
                raise _RowError(column, f"{name} must be JSON in a CSV cell") from None
        if name == "feedback":
            try:
                value = float(value) if cells else value
            except ValueError:
                raise _RowError(column, "feedback must be a number") from None
            if _number(value) is None:
                raise _RowError(column, f"feedback must be a number, got {_kind(value)}")
        taken[name] = value
    if "input" not in taken and "messages" not in taken:
        input_column = columns.get("input", "input")
        raise _RowError(input_column, "no user message", hint="map `input` or `messages` to a column")
    given_vars = record.get("vars")
    variables = dict(given_vars) if isinstance(given_vars, dict) else {}
    variables.update({k: v for k, v in record.items() if k not in mapped and k != "vars"})
    variables.update({k: record[k] for k in mapped if k not in _CASE_FIELDS})  # as load_cases does
    messages = (
        _messages(taken["messages"], columns.get("messages", "messages")) if "messages" in taken else None
    )
    extra = {"passages": taken["passages"]} if "passages" in taken else {}
    if variables:
        extra["vars"] = variables
    known = {name: taken.get(name) for name in _META_FIELDS if name in taken}
    return _case(
        row,
        case_id=taken.get("id"),
        messages=messages,
        input=taken.get("input"),
        expected=taken.get("expected"),
        metadata=_row_metadata(taken.get("metadata"), columns.get("metadata", "metadata")),
        known=known,
        where=columns.get("messages", "messages") if "messages" in taken else columns.get("input", "input"),
        renames=columns,
        **extra,
    )


def _langsmith(record: Any, row: _Row, options: _Options) -> dict[str, Any]:
    """A LangSmith run: ``{"id", "run_type", "inputs", "outputs", "error", "extra", ...}``."""
    run_type = record.get("run_type")
    if options.llm_only and run_type != "llm":
        known = ("chain", "tool", "retriever", "prompt", "parser", "embedding")
        raise _Skip(f"not an LLM run (run_type {run_type if run_type in known else 'other'})")
    _check_status(bool(record.get("error")), options.status)
    inputs = record.get("inputs")
    if not isinstance(inputs, dict):
        raise _RowError("inputs", f"inputs must be an object, got {_kind(inputs)}")
    messages = _prompt(inputs, "inputs")
    expected, understood = _reply(record.get("outputs"), "outputs")
    if not understood:
        row.report.warnings["outputs: reply shape not understood, no expected"] += 1
    extra: dict[str, Any] = record["extra"] if isinstance(record.get("extra"), dict) else {}
    params: dict[str, Any] = (
        extra["invocation_params"] if isinstance(extra.get("invocation_params"), dict) else {}
    )
    metadata = _row_metadata(extra.get("metadata"), "extra.metadata")
    model = params.get("model") or params.get("model_name") or metadata.get("ls_model_name")
    stats = record.get("feedback_stats")
    score = (
        _mean(_number(s.get("avg")) for s in stats.values() if isinstance(s, dict))
        if isinstance(stats, dict)
        else None
    )
    return _case(
        row,
        case_id=record.get("id"),
        messages=messages,
        expected=expected,
        metadata={k: v for k, v in metadata.items() if not k.startswith("ls_")},
        known={
            "route": model if isinstance(model, str) else None,
            "outcome": _outcome(bool(record.get("error")), score),
            "feedback": score,
        },
        tools=params.get("tools") or inputs.get("tools"),
        where="inputs",
    )


def _langfuse(record: Any, row: _Row, options: _Options) -> dict[str, Any]:
    """A Langfuse observation: ``{"id", "type": "GENERATION", "input", "output", "model",
    "metadata", "level", "scores", ...}``."""
    kind = record.get("type")
    if options.llm_only and kind != "GENERATION":
        raise _Skip(f"not a generation (type {kind if kind in ('SPAN', 'EVENT') else 'other'})")
    error = record.get("level") == "ERROR"
    _check_status(error, options.status)
    if "input" not in record:
        raise _RowError("input", "no input", hint="a generation needs its input (messages or a prompt)")
    messages = _prompt(record["input"], "input")
    expected, understood = _reply(record.get("output"), "output")
    if not understood:
        row.report.warnings["output: reply shape not understood, no expected"] += 1
    scores = record.get("scores")
    score = (
        _mean(_number(s.get("value")) for s in scores if isinstance(s, dict))
        if isinstance(scores, list)
        else None
    )
    source_input = record["input"]
    model = record.get("model")
    return _case(
        row,
        case_id=record.get("id"),
        messages=messages,
        expected=expected,
        metadata=_row_metadata(record.get("metadata"), "metadata"),
        known={
            "route": model if isinstance(model, str) else None,
            "outcome": _outcome(error, score),
            "feedback": score,
        },
        tools=source_input.get("tools") if isinstance(source_input, dict) else None,
        where="input",
    )


_Converter = Callable[[Any, _Row, _Options], dict[str, Any]]


@dataclass(frozen=True)
class _Format:
    convert: _Converter
    sniff: Callable[[Mapping[str, Any]], bool]
    kind: str  # metadata.source.kind


def _is_langsmith(row: Mapping[str, Any]) -> bool:
    return "run_type" in row or ("inputs" in row and "outputs" in row)


def _is_langfuse(row: Mapping[str, Any]) -> bool:
    return row.get("type") in ("GENERATION", "SPAN", "EVENT") or (
        "input" in row and any(key in row for key in ("traceId", "observations", "startTime"))
    )


def _is_chat(row: Mapping[str, Any]) -> bool:
    body = row.get("body")
    return (
        "messages" in row
        or ("prompt" in row and ("completion" in row or "response" in row))
        or (isinstance(body, dict) and "messages" in body)
    )


# Detection tries these in order: the trace formats have the most telling keys.
IMPORT_FORMATS: dict[str, _Format] = {
    "langsmith": _Format(_langsmith, _is_langsmith, "trace"),
    "langfuse": _Format(_langfuse, _is_langfuse, "trace"),
    "chat": _Format(_chat, _is_chat, "jsonl"),
    "jsonl": _Format(
        lambda record, row, options: _mapped(record, row, options, cells=False),
        lambda row: "input" in row or "vars" in row,
        "jsonl",
    ),
    "csv": _Format(
        lambda record, row, options: _mapped(record, row, options, cells=True), lambda row: False, "csv"
    ),
}


# --- files ----------------------------------------------------------------------------------------


def _open(path: Path) -> IO[bytes]:
    try:
        if path.suffix.lower() == ".gz":
            return cast(IO[bytes], gzip.open(path, "rb"))
        return path.open("rb")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found", hint="check the path") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return suffixes[-1] if suffixes else ""


def _detect(path: Path, columns: Mapping[str, str]) -> str:
    if _suffix(path) in (".csv", ".tsv"):
        return "csv"
    with _open(path) as handle:
        for _, raw in zip(range(_SNIFF_LINES), handle, strict=False):
            text = raw.strip().removeprefix(b"\xef\xbb\xbf")
            if text.startswith(b"["):
                break  # reported by the reader
            try:
                row = json_loads(text) if text else None
            except ValueError:
                continue
            if not isinstance(row, dict):
                continue
            if columns:
                return "jsonl"
            for name, fmt in IMPORT_FORMATS.items():
                if fmt.sniff(row):
                    return name
    raise ConfigError(
        f"{path}: cannot tell the format from its first rows",
        hint=f"give the format: one of {', '.join(IMPORT_FORMATS)}",
    )


def _json_records(path: Path, handle: IO[bytes]) -> Iterator[tuple[int, Any]]:
    """(line, parsed object or a _RowError) for each non-blank line, one line in memory."""
    for number, raw in enumerate(handle, start=1):
        text = raw.strip()
        if number == 1:
            text = text.removeprefix(b"\xef\xbb\xbf")
            if text.startswith(b"["):
                raise ConfigError(
                    f"{path}:1: a JSON array, not JSON Lines",
                    hint="write one object per line (jq -c '.[]' file.json > file.jsonl)",
                )
        if not text:
            continue
        try:
            record = json_loads(text)
        except ValueError as exc:
            column = getattr(exc, "colno", None)
            reason = f"invalid JSON{f' at column {column}' if column else ''}"
            yield number, _RowError("json", reason, hint="each line must be one JSON object")
            continue
        if not isinstance(record, dict):
            yield number, _RowError("json", f"expected a JSON object, got {_kind(record)}")
            continue
        yield number, record


def _csv_records(path: Path, handle: IO[bytes], columns: Mapping[str, str]) -> Iterator[tuple[int, Any]]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text, delimiter="\t" if _suffix(path) == ".tsv" else ",")
    try:
        header = reader.fieldnames or []
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}:1: the header cannot be read ({exc})") from None
    missing = sorted(columns[name] for name in columns if columns[name] not in header)
    if missing:
        raise ConfigError(
            f"{path}:1: mapped column(s) {missing} are not in the header",
            hint=f"the header has {header}",
        )
    if columns.get("input", "input") not in header and columns.get("messages", "messages") not in header:
        raise ConfigError(
            f"{path}:1: no column holds the user message",
            hint=f"map `input` (or `messages`) to one of {header}",
        )
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, _RowError("csv", f"malformed CSV ({exc})")
            continue
        except UnicodeDecodeError:
            raise ConfigError(f"{path}:{reader.line_num}: not UTF-8 text") from None
        if None in record:
            yield reader.line_num, _RowError("csv", "more values than header columns")
            continue
        yield reader.line_num, record


def _check_columns(columns: Mapping[str, str]) -> None:
    unknown = sorted(set(columns) - {*_CASE_FIELDS, *_META_FIELDS})
    if unknown:
        raise ConfigError(
            f"columns: unknown case field(s) {unknown}",
            hint=f"map any of {[*_CASE_FIELDS, *_META_FIELDS]} to a column name",
        )


def import_file(
    path: str | Path,
    *,
    format: str = "auto",
    columns: Mapping[str, str] | None = None,
    skip_bad: bool = False,
    llm_only: bool = True,
    status: StatusFilter = "any",
    drop_duplicates: bool = False,
    max_bad_rows: int = 20,
) -> ImportedCases:
    """Stream the cases of a chat JSONL, CSV/TSV, case JSONL or trace export file.

    ``format``: one of :data:`IMPORT_FORMATS` or ``auto`` (``.csv``/``.tsv`` by name, JSON
    Lines by the keys of the first rows). ``columns`` maps case fields (and ``task_class``,
    ``route``, ``outcome``, ``feedback``) to column names, as a suite's ``dataset.columns``.
    ``llm_only``: trace exports keep LLM runs / generations only. ``status``: trace runs
    that errored (``error``), that did not (``ok``), or both. ``drop_duplicates``: leave out
    exact duplicates (16-byte digests, see :class:`ExactDeduper`). File-level problems (no
    such file, unknown format, a CSV header without the mapped columns) raise at once; row
    problems as the rows are read."""
    path = Path(path)
    mapping = dict(columns or {})
    _check_columns(mapping)
    if status not in ("ok", "error", "any"):
        raise ConfigError(f"status {status!r} is not known", hint="use ok, error or any")
    fmt_name = _detect(path, mapping) if format == "auto" else format
    if fmt_name not in IMPORT_FORMATS:
        raise ConfigError(
            f"format {format!r} is not known", hint=f"use auto or one of {', '.join(IMPORT_FORMATS)}"
        )
    handle = _open(path)
    records = _csv_records(path, handle, mapping) if fmt_name == "csv" else _json_records(path, handle)
    if fmt_name == "csv":
        try:
            records = _prime(records)  # the header is checked now, not at the first row
        except ConfigError:
            handle.close()
            raise
    report = ImportReport(source=path.name, format=fmt_name, max_bad_rows=max_bad_rows)
    options = _Options(mapping, llm_only, status)
    if status != "any":
        report.filters["status"] = status
    cases = _file_cases(path, handle, records, IMPORT_FORMATS[fmt_name], options, report, skip_bad)
    return _finish(cases, report, drop_duplicates)


def _prime(records: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    first = next(records, None)

    def chained() -> Iterator[tuple[int, Any]]:
        if first is not None:
            yield first
        yield from records

    return chained()


def _file_cases(
    path: Path,
    handle: IO[bytes],
    records: Iterator[tuple[int, Any]],
    fmt: _Format,
    options: _Options,
    report: ImportReport,
    skip_bad: bool,
) -> Iterator[dict[str, Any]]:
    stem = path.name.split(".")[0] or path.name
    with handle:
        for line, record in records:
            report.rows_read += 1
            row = _Row({"kind": fmt.kind, "file": path.name, "line": line}, f"{stem}-{line}", report)
            try:
                if isinstance(record, _RowError):
                    raise record
                if fmt.kind == "trace" and isinstance(record.get("id"), str):
                    row.source["run_id"] = record["id"]
                case = fmt.convert(record, row, options)
            except _Skip as skip:
                report.skipped[str(skip)] += 1
                continue
            except _RowError as error:
                _bad(report, skip_bad, str(path), path.name, line, error)
                continue
            report.imported += 1
            yield case


def _bad(
    report: ImportReport, skip_bad: bool, shown: str, name: str, row: int | str, error: _RowError
) -> None:
    if not skip_bad:
        hint = f"{error.hint}; {_SKIP_HINT}" if error.hint else _SKIP_HINT
        raise ConfigError(f"{shown}:{row}:{error.field}: {error.reason}", hint=hint)
    report.add_bad(BadRow(f"{name}:{row}:{error.field}", row, error.field, error.reason, error.hint))


def _finish(cases: Iterator[dict[str, Any]], report: ImportReport, drop_duplicates: bool) -> ImportedCases:
    if not drop_duplicates:
        return ImportedCases(cases, report)
    deduper = ExactDeduper()

    def unique() -> Iterator[dict[str, Any]]:
        for case in cases:
            if deduper.is_new(case):
                yield case
            else:
                report.imported -= 1
                report.duplicates += 1

    return ImportedCases(unique(), report)


# --- the gateway's request log -------------------------------------------------------------------


def _epoch(value: float | datetime | None) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    if value.tzinfo is None:  # a naive time is UTC, as the log's timestamps are
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _pages(
    fetch: Callable[[float | None, int], list[dict[str, Any]]], since: float | None, size: int
) -> Iterator[dict[str, Any]]:
    """Rows of an oldest-first query, ``size`` at a time, by their ``created_ts``: each page
    starts at the last one's timestamp and passes over the rows already given there."""
    cursor = since
    given_at_cursor: set[str] = set()
    while True:
        limit = size + len(given_at_cursor)
        rows = fetch(cursor, limit)
        fresh = [r for r in rows if not (r["created_ts"] == cursor and r["id"] in given_at_cursor)]
        yield from fresh
        if len(rows) < limit or not rows:
            return
        last = rows[-1]["created_ts"]
        at_last = {r["id"] for r in fresh if r["created_ts"] == last}
        given_at_cursor = given_at_cursor | at_last if last == cursor else at_last
        cursor = last


def import_gateway(
    store: Store,
    *,
    task_class: str | None = None,
    since: float | datetime | None = None,
    until: float | datetime | None = None,
    status: StatusFilter = "ok",
    feedback: FeedbackFilter | None = None,
    skip_bad: bool = False,
    drop_duplicates: bool = False,
    page_size: int = 200,
    max_bad_rows: int = 20,
) -> ImportedCases:
    """Stream the requests the gateway logged as cases, oldest first.

    ``task_class``: only requests routed to that class. ``since`` (inclusive) / ``until``
    (exclusive): epoch seconds or datetimes (naive: UTC). ``status``: ``ok`` (HTTP 200, the
    default), ``error`` or ``any``. ``feedback``: user feedback ``positive`` (mean score above
    0.5), ``negative`` (below), ``any`` (some given), ``none`` (none given); None: no filter.
    Only requests logged with their payloads (``gateway.log_payloads: true``) can become cases;
    the others are counted as skipped. ``page_size`` rows are read at a time."""
    from ..store import PolicyStore, RequestLog

    if status not in ("ok", "error", "any"):
        raise ConfigError(f"status {status!r} is not known", hint="use ok, error or any")
    if feedback not in (None, "positive", "negative", "any", "none"):
        raise ConfigError(f"feedback {feedback!r} is not known", hint="use positive, negative, any or none")
    log, policies = RequestLog(store), PolicyStore(store)
    since_ts, until_ts = _epoch(since), _epoch(until)
    report = ImportReport(source="gateway", format="gateway", max_bad_rows=max_bad_rows)
    report.filters.update(
        {
            "task_class": task_class,
            "since_ts": since_ts,
            "until_ts": until_ts,
            "status": status,
            "feedback": feedback,
        }
    )

    def wanted(row: Mapping[str, Any], score: float | None) -> bool:
        report.rows_read += 1
        ok = row["status"] == 200
        reason = None
        if status == "ok" and not ok:
            reason = "status not ok (only ok requests imported)"
        elif status == "error" and ok:
            reason = "status ok (only error requests imported)"
        elif feedback is not None and not _feedback_matches(feedback, score):
            reason = f"feedback filter ({feedback})"
        if reason is not None:
            report.skipped[reason] += 1
        return reason is None

    def scored_pages() -> Iterator[tuple[dict[str, Any], float | None]]:
        """(request row with payloads, mean user feedback score) in log order."""
        if task_class is not None:  # the routed rows carry their score; payloads by id after
            routed = _pages(
                lambda cursor, limit: policies.routed_requests(
                    task_class=task_class, since_ts=cursor, limit=limit
                ),
                since_ts,
                page_size,
            )
            for chunk in _chunks(_until(routed, until_ts), page_size):
                chosen = [row for row in chunk if wanted(row, row["feedback_score"])]
                full = {row["id"]: row for row in log.requests_by_id(row["id"] for row in chosen)}
                for row in chosen:
                    yield full[row["id"]], row["feedback_score"]
            return
        rows = _pages(lambda cursor, limit: log.requests(since_ts=cursor, limit=limit), since_ts, page_size)
        for chunk in _chunks(_until(rows, until_ts), page_size):
            scores: dict[str, list[float | None]] = {}
            for given in policies.feedback(request_ids=[row["id"] for row in chunk]):
                if given["source"] == "user":
                    scores.setdefault(given["request_id"], []).append(given["score"])
            for row in chunk:
                score = _mean(scores.get(row["id"], ()))
                if wanted(row, score):
                    yield row, score

    def cases() -> Iterator[dict[str, Any]]:
        for row, score in scored_pages():
            try:
                if row.get("request_payload") is None:
                    report.skipped["no payload logged"] += 1
                    report.note("requests without payloads were skipped: set gateway.log_payloads: true")
                    continue
                case = _gateway_case(row, score, report)
            except _RowError as error:
                _bad(report, skip_bad, "gateway", "gateway", row["id"], error)
                continue
            report.imported += 1
            yield case

    return _finish(cases(), report, drop_duplicates)


def _feedback_matches(wanted: FeedbackFilter, score: float | None) -> bool:
    if wanted == "any":
        return score is not None
    if wanted == "none":
        return score is None
    return _outcome(False, score) == wanted


def _until(rows: Iterator[dict[str, Any]], until_ts: float | None) -> Iterator[dict[str, Any]]:
    for row in rows:
        if until_ts is not None and row["created_ts"] >= until_ts:
            return  # oldest first: the rest are later still
        yield row


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _payload(text: Any, where: str) -> Any:
    try:
        return json_loads(text) if isinstance(text, str | bytes) else text
    except ValueError:
        raise _RowError(where, "invalid JSON") from None


def _gateway_case(row: Mapping[str, Any], score: float | None, report: ImportReport) -> dict[str, Any]:
    request = _payload(row["request_payload"], "request_payload")
    if not isinstance(request, dict):
        raise _RowError("request_payload", f"expected a JSON object, got {_kind(request)}")
    if "messages" not in request:
        raise _RowError("request_payload.messages", "no messages")
    messages = _messages(request["messages"], "request_payload.messages")
    expected = None
    if row.get("response_payload") is not None:
        expected, understood = _reply(
            _payload(row["response_payload"], "response_payload"), "response_payload"
        )
        if not understood:
            report.warnings["response_payload: reply shape not understood, no expected"] += 1
    elif row["status"] == 200:
        report.warnings["no response payload (a streamed reply), no expected"] += 1
    source = {"kind": "gateway", "request_id": row["id"], "created_ts": row["created_ts"]}
    return _case(
        _Row(source, row["id"], report),
        case_id=row["id"],
        messages=messages,
        expected=expected,
        metadata={"feedback": score},  # the log knows when none was given: None, not absent
        known={
            "task_class": row.get("task_class"),
            "route": row.get("model"),
            "outcome": _outcome(row["status"] != 200, score),
        },
        tools=request.get("tools"),
        where="request_payload.messages",
    )
