"""Attaching expected answers to dataset cases (``benchroute dataset label``).

A golden set is only as good as its expected answers, so every label records who gave it, in
``metadata.label = {"by": ...}``: ``"hand"`` (a person in ``$EDITOR``), ``"csv"`` (a file a
person filled in), ``"reference:<model>"`` (a reference model's reply) or ``"judge:<model>"``
(a logged reply a judge accepted). Four ways in, one result type (:class:`LabelResult`):

* :func:`label_by_editor` writes each case to a temporary YAML file, the conversation shown
  read-only as comments and an ``expected:`` field to fill in, and runs ``$EDITOR`` (else
  ``$VISUAL``, else ``vi``) on it. An unchanged or empty ``expected`` skips the case; a file
  that is not valid YAML is opened again with the error on top (``file:line``), a few times,
  then kept on disk and reported. ``quit: true`` in the file, an editor that exits non-zero
  (vim's ``:cq``) or Ctrl-C stops the session: what was labelled so far is returned, marked
  ``stopped``, for the caller to save.
* :func:`label_from_csv` reads ``id,expected`` rows (column names configurable). An unknown
  id, a repeated id or a missing column is a :class:`ConfigError` naming ``file:line``, and
  nothing is applied: a half-applied label file is worse than none.
* :func:`label_by_reference` asks a reference model; its reply becomes ``expected``.
* :func:`label_by_judge` asks a judge (the scorers' ``rubric``) whether the logged reply (the
  case's ``expected`` from the log, else ``metadata.logged_reply``) is acceptable for the
  request. Accepted: the reply is kept as ``expected``. Rejected: the case is dropped from
  the result, or kept unlabelled with the reply moved to ``metadata.logged_reply`` so it can
  be labelled another way. A judge that fails is an error of that case, never a rejection.

Model calls go through providers only, from a :class:`~benchroute.scorers.ScoringContext`
(:func:`model_context` builds one whose calls are retried the way the runner retries, per
model ``max_retries``), at most ``concurrency`` at a time. A call that still fails is an
error for its case: counted and reported with the provider's message, the case left as it was.
Nothing here writes the dataset: the caller saves :attr:`LabelResult.cases`.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from .._errors import BenchrouteError, ConfigError
from ..config import Case, ModelSpec
from ..providers import Completion, CompletionRequest, Message, ProviderError
from ..resilience import RetryPolicy

if TYPE_CHECKING:
    from ..scorers import ScoringContext

__all__ = [
    "DEFAULT_ACCEPT_CRITERIA",
    "LabelResult",
    "case_request",
    "label_by_editor",
    "label_by_judge",
    "label_by_reference",
    "label_from_csv",
    "model_context",
]

DEFAULT_ACCEPT_CRITERIA = (
    "The reply is an acceptable answer to the user's last message: correct, complete for what "
    "was asked, and free of invented facts. It could serve as the reference answer for this request."
)
# The editor gets a few chances at a file that does not parse; then the file is kept for the
# user and the case reported, so a scripted or broken editor cannot loop forever.
EDITOR_ATTEMPTS = 3
_ERROR_CLIP = 200


@dataclass(slots=True)
class LabelResult:
    """What one labelling pass did. ``cases`` is the dataset after it, in input order: every
    case, labelled or not, except those a judge rejected with ``on_reject="drop"``."""

    by: str
    cases: list[Case] = field(default_factory=list)
    labelled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # left as they were (already labelled, unchanged)
    rejected: list[str] = field(default_factory=list)  # judge said no
    errors: list[tuple[str, str]] = field(default_factory=list)  # (case id, why)
    stopped: bool = False  # the editor session ended before the last case

    def to_json(self) -> dict[str, Any]:
        """Counts and ids (never the cases' text)."""
        return {
            "version": 1,
            "by": self.by,
            "cases": len(self.cases),
            "labelled": len(self.labelled),
            "skipped": len(self.skipped),
            "rejected": len(self.rejected),
            "errors": [{"id": case_id, "error": why} for case_id, why in self.errors],
            "stopped": self.stopped,
            "labelled_ids": list(self.labelled),
            "rejected_ids": list(self.rejected),
        }


def _labelled(case: Case, expected: Any, by: str, **metadata: Any) -> Case:
    meta = {**case.metadata, **metadata, "label": {"by": by}}
    return case.model_copy(update={"expected": expected, "metadata": meta})


def _has_label(case: Case) -> bool:
    return isinstance(case.metadata.get("label"), dict)


# --- model calls -------------------------------------------------------------------------------


def model_context(
    models: Mapping[str, ModelSpec],
    *,
    judge_model: str | None = None,
    retry: RetryPolicy | None = None,
) -> ScoringContext:
    """A :class:`ScoringContext` over ``models`` whose calls are retried like the runner's:
    ``retry`` if given, else per model ``max_retries`` retries of transient errors with
    backoff, any ``Retry-After`` honoured. Close it with ``await context.aclose()``."""
    from ..providers import Provider, ProviderContext, create_provider
    from ..scorers import ScoringContext

    providers_context = ProviderContext()
    providers: dict[str, Provider] = {}

    async def call(spec: ModelSpec, request: CompletionRequest) -> Completion:
        key = spec.name or spec.endpoint_id
        if key not in providers:
            providers[key] = create_provider(spec, providers_context)
        policy = retry or RetryPolicy(max_attempts=spec.max_retries + 1, max_retry_after_s=None)
        attempt = 0
        while True:
            try:
                return await providers[key].complete(request)
            except ProviderError as exc:
                wait = policy.delay(attempt, exc)
                if wait is None:
                    raise
            await asyncio.sleep(wait)
            attempt += 1

    named = {
        name: spec if spec.name else spec.model_copy(update={"name": name}) for name, spec in models.items()
    }
    return ScoringContext(named, providers=providers_context, judge_model=judge_model, caller=call)


def case_request(case: Case, spec: ModelSpec | None = None) -> CompletionRequest:
    """The request a model answers for ``case``: its messages up to the last user message
    (a trailing assistant message is the logged reply, not part of the question), else its
    ``input`` as one user message; the model's ``system_prompt`` first when the case has no
    system message. :class:`ConfigError` for a case whose prompt only a suite template makes."""
    if case.messages:
        messages = [Message.model_validate(m.model_dump(exclude_none=True)) for m in case.messages]
        while messages and messages[-1].role == "assistant":
            messages.pop()
    elif case.input is not None:
        messages = [Message(role="user", content=case.input)]
    else:
        messages = []
    if not any(m.role == "user" for m in messages):
        raise ConfigError(
            f"case {case.id!r}: no user message to answer",
            hint="give the case 'input' or 'messages' (a case filled by a suite template has neither)",
        )
    if spec is not None and spec.system_prompt and not any(m.role == "system" for m in messages):
        messages.insert(0, Message(role="system", content=spec.system_prompt))
    return CompletionRequest(messages=messages)


def _error_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= _ERROR_CLIP else text[: _ERROR_CLIP - 1] + "…"


async def _bounded(
    items: Sequence[Any], concurrency: int, work: Callable[[Any], Awaitable[Any]]
) -> list[Any]:
    """``work(item)`` for every item, at most ``concurrency`` at a time, results in order."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> Any:
        async with gate:
            return await work(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def _with_context(
    models: Mapping[str, ModelSpec],
    context: ScoringContext | None,
    judge_model: str | None,
    run: Callable[[ScoringContext], Awaitable[LabelResult]],
) -> LabelResult:
    own = context is None
    ctx = context if context is not None else model_context(models, judge_model=judge_model)
    try:
        return await run(ctx)
    finally:
        if own:
            await ctx.aclose()


def _check_model(context: ScoringContext, model: str, what: str) -> ModelSpec:
    if model not in context.models:
        known = ", ".join(sorted(context.models)) or "none"
        raise ConfigError(
            f"{what} model {model!r} is not defined",
            hint=f"define it under models: in benchroute.yaml, or name one of: {known}",
        )
    return context.models[model]


# --- by a reference model ----------------------------------------------------------------------


async def label_by_reference(
    cases: Sequence[Case],
    model: str,
    models: Mapping[str, ModelSpec],
    *,
    only_missing: bool = True,
    concurrency: int = 4,
    max_tokens: int | None = None,
    context: ScoringContext | None = None,
) -> LabelResult:
    """Label each case with ``model``'s reply to its conversation (see :func:`case_request`).

    ``only_missing``: cases that already have an ``expected`` are left alone. ``context``:
    share that context's providers (not closed here) instead of opening new ones."""
    by = f"reference:{model}"

    async def run(ctx: ScoringContext) -> LabelResult:
        spec = _check_model(ctx, model, "reference")
        result = LabelResult(by=by)
        todo = [c for c in cases if not (only_missing and c.expected is not None)]

        async def ask(case: Case) -> Case | str:
            try:
                request = case_request(case, spec).model_copy(update={"max_tokens": max_tokens})
                call = await ctx.generate(request, model=model)
            except BenchrouteError as exc:
                return _error_text(exc)
            text = call.completion.text.strip()
            if not text:
                return "the reference model's reply is empty"
            return _labelled(case, text, by)

        answers = dict(zip((c.id for c in todo), await _bounded(todo, concurrency, ask), strict=True))
        for case in cases:
            answer = answers.get(case.id)
            if answer is None:
                result.skipped.append(case.id)
                result.cases.append(case)
            elif isinstance(answer, str):
                result.errors.append((case.id, answer))
                result.cases.append(case)
            else:
                result.labelled.append(case.id)
                result.cases.append(answer)
        return result

    return await _with_context(models, context, None, run)


# --- by a judge --------------------------------------------------------------------------------


def logged_reply(case: Case) -> str | None:
    """The reply a judge is asked about: the case's ``expected`` (imported from the log), else
    ``metadata.logged_reply``; None when there is neither."""
    for value in (case.expected, case.metadata.get("logged_reply")):
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        if text.strip():
            return text
    return None


async def label_by_judge(
    cases: Sequence[Case],
    judge: str,
    models: Mapping[str, ModelSpec],
    *,
    criteria: str = DEFAULT_ACCEPT_CRITERIA,
    threshold: float = 0.75,
    on_reject: Literal["drop", "unlabel"] = "drop",
    relabel: bool = False,
    concurrency: int = 4,
    context: ScoringContext | None = None,
) -> LabelResult:
    """Keep the logged reply of each case as its expected answer when ``judge`` accepts it.

    The judge is the ``rubric`` scorer with ``criteria`` (1..5, normalised to 0..1); a reply
    is accepted when the score reaches ``threshold`` (0.75: a 4 of 5). Rejected cases are
    dropped from :attr:`LabelResult.cases` (``on_reject="drop"``) or kept with no
    ``expected`` and the reply under ``metadata.logged_reply`` (``"unlabel"``). Cases that
    already carry a label are skipped unless ``relabel``; cases with no logged reply are
    skipped. A judge failure is an error of that case, which stays as it was."""
    if on_reject not in ("drop", "unlabel"):
        raise ValueError(f"on_reject must be 'drop' or 'unlabel', got {on_reject!r}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    by = f"judge:{judge}"

    async def run(ctx: ScoringContext) -> LabelResult:
        from ..config import ScorerSpec
        from ..scorers import build_scorer

        _check_model(ctx, judge, "judge")
        scorer = build_scorer(
            ScorerSpec(
                name="rubric",
                args={"criteria": criteria, "include_reference": False, "judge_model": judge},
                threshold=threshold,
            ),
            "dataset label --judge",
            context=ctx,
        )
        todo = [c for c in cases if (relabel or not _has_label(c)) and logged_reply(c) is not None]

        async def ask(case: Case) -> bool | str:
            reply = logged_reply(case)
            assert reply is not None
            try:
                score = await scorer(Completion(text=reply), case.model_copy(update={"expected": None}))
            except BenchrouteError as exc:
                return _error_text(exc)
            return bool(score.passed)

        verdicts = dict(zip((c.id for c in todo), await _bounded(todo, concurrency, ask), strict=True))
        result = LabelResult(by=by)
        for case in cases:
            verdict = verdicts.get(case.id)
            if verdict is None:
                result.skipped.append(case.id)
                result.cases.append(case)
            elif isinstance(verdict, str):
                result.errors.append((case.id, verdict))
                result.cases.append(case)
            elif verdict:
                result.labelled.append(case.id)
                result.cases.append(_labelled(case, logged_reply(case), by))
            else:
                result.rejected.append(case.id)
                if on_reject == "unlabel":
                    meta = {k: v for k, v in case.metadata.items() if k != "label"}
                    meta["logged_reply"] = logged_reply(case)
                    result.cases.append(case.model_copy(update={"expected": None, "metadata": meta}))
        return result

    return await _with_context(models, context, judge, run)


# --- from a CSV file ---------------------------------------------------------------------------


def label_from_csv(
    cases: Sequence[Case],
    path: str | Path,
    *,
    id_column: str = "id",
    expected_column: str = "expected",
    expected_format: Literal["text", "json"] = "text",
    only_missing: bool = False,
) -> LabelResult:
    """Label cases from a CSV file of ``id,expected`` rows.

    Every row must name a case of the dataset, once. An empty expected cell leaves its case
    unlabelled; ``expected_format="json"`` reads each cell as JSON (a number, a list, an
    object). ``only_missing``: rows for cases that already have an ``expected`` are skipped.
    A bad file is a :class:`ConfigError` at its first bad row (``file:line``, with how many
    other rows are bad) and no label is applied."""
    path = Path(path)
    by_id = {case.id: case for case in cases}
    values: dict[str, Any] = {}
    seen: dict[str, int] = {}
    problems: list[str] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            for column, option in ((id_column, "--id-column"), (expected_column, "--expected-column")):
                if column not in columns:
                    raise ConfigError(
                        f"{path}:1: no column {column!r} (columns: {', '.join(columns) or 'none'})",
                        hint=f"name the column with {option}",
                    )
            line = reader.line_num + 1
            for row in reader:
                start, line = line, reader.line_num + 1
                case_id = (row.get(id_column) or "").strip()
                cell = row.get(expected_column)
                if not case_id:
                    problems.append(f"{path}:{start}: {id_column}: empty")
                    continue
                if case_id in seen:
                    problems.append(f"{path}:{start}: {id_column}: {case_id!r} repeats line {seen[case_id]}")
                    continue
                seen[case_id] = start
                if case_id not in by_id:
                    problems.append(f"{path}:{start}: {id_column}: {case_id!r} is not a case of the dataset")
                    continue
                if cell is None or not cell.strip():
                    continue
                if expected_format == "json":
                    try:
                        values[case_id] = json.loads(cell)
                    except json.JSONDecodeError as exc:
                        problems.append(f"{path}:{start}: {expected_column}: not JSON ({exc.msg})")
                        continue
                else:
                    values[case_id] = cell
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the label file ({exc.strerror})") from None
    except csv.Error as exc:
        raise ConfigError(f"{path}: not a CSV file ({exc})") from None
    if problems:
        more = f" (and {len(problems) - 1} more bad row(s))" if len(problems) > 1 else ""
        raise ConfigError(
            problems[0] + more,
            hint="fix or remove the rows: every row names one case of the dataset, once",
        )
    result = LabelResult(by="csv")
    for case in cases:
        if case.id in values and not (only_missing and case.expected is not None):
            result.labelled.append(case.id)
            result.cases.append(_labelled(case, values[case.id], "csv"))
        else:
            result.skipped.append(case.id)
            result.cases.append(case)
    return result


# --- by hand, in $EDITOR -----------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML as a person types it, except that dates stay text: ``2024-05-01`` is a label,
    not a ``datetime.date`` that JSON cannot store."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Dumper(yaml.SafeDumper):
    """Multi-line text as a ``|`` block, so an answer is edited as it reads."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)


def editor_command(env: Mapping[str, str] | None = None) -> list[str]:
    """``$EDITOR``, else ``$VISUAL``, else ``vi``, split like a shell would (``code --wait``)."""
    env = os.environ if env is None else env
    for name in ("EDITOR", "VISUAL"):
        value = env.get(name, "").strip()
        if value:
            return shlex.split(value)
    return ["vi"]


def _comment(text: str, indent: str = "") -> list[str]:
    return [f"# {indent}{line}".rstrip() for line in (text.splitlines() or [""])]


def _conversation_lines(case: Case) -> list[str]:
    lines: list[str] = []
    if case.messages:
        for message in case.messages:
            lines.append(f"# [{message.role}]")
            lines += _comment(message.text(), "  ")
    elif case.input is not None:
        lines.append("# [user]")
        lines += _comment(case.input, "  ")
    if case.vars:
        lines.append("# [vars]")
        lines += _comment(yaml.dump(case.vars, Dumper=_Dumper, allow_unicode=True, sort_keys=False), "  ")
    if case.passages:
        for number, passage in enumerate(case.passages, 1):
            lines.append(f"# [passage {number}]")
            lines += _comment(passage, "  ")
    logged = case.metadata.get("logged_reply")
    if logged is not None and logged != case.expected:
        lines.append("# [logged reply]")
        lines += _comment(logged if isinstance(logged, str) else json.dumps(logged, ensure_ascii=False), "  ")
    return lines


_ERROR_MARK = "# ERROR:"


def _editor_file(case: Case, position: str) -> str:
    head = [
        f"# benchroute dataset label: case {case.id} ({position})",
        "# Write the expected answer under `expected:`, save and quit the editor.",
        "# Left unchanged or empty, the case is skipped. `quit: true` saves this one and stops;",
        "# quitting the editor with an error (vim :cq) stops without this one.",
        "# Everything starting with # is read-only context.",
    ]
    body = yaml.dump(
        {"expected": case.expected, "quit": False},
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        width=100_000,
    )
    return "\n".join([*head, "#", "# --- conversation ---", *_conversation_lines(case), "#", body])


def _read_editor_file(path: Path) -> tuple[Any, bool]:
    """``(expected, quit)`` from an edited file; :class:`ValueError` naming the line."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ValueError(f"{line}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return None, False
    if not isinstance(data, dict):
        raise ValueError(f"{path}:1: expected `expected:` and `quit:` fields, got a {type(data).__name__}")
    unknown = sorted(str(key) for key in data if key not in ("expected", "quit"))
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)}; only `expected` and `quit`")
    stop = data.get("quit", False)
    if not isinstance(stop, bool):
        raise ValueError(f"{path}: quit: give true or false, got {stop!r}")
    return data.get("expected"), stop


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def label_by_editor(
    cases: Sequence[Case],
    *,
    only_missing: bool = True,
    editor: Sequence[str] | None = None,
    attempts: int = EDITOR_ATTEMPTS,
    directory: str | Path | None = None,
) -> LabelResult:
    """Label cases by hand, one editor session per case (see the module doc).

    ``editor``: the command to run (the file path is appended; default
    :func:`editor_command`). ``only_missing``: cases with an ``expected`` are skipped. A file
    that still does not parse after ``attempts`` sessions is kept and reported in
    :attr:`LabelResult.errors`. A stopped session returns what was done (``stopped``),
    the cases not reached unchanged."""
    command = list(editor) if editor is not None else editor_command()
    if not command:
        raise ConfigError("the editor command is empty", hint="set EDITOR, e.g. EDITOR=nano")
    result = LabelResult(by="hand")
    todo = [c for c in cases if not (only_missing and c.expected is not None)]
    done: dict[str, Case] = {}
    failed: set[str] = set()
    try:
        for index, case in enumerate(todo, 1):
            edit = _edit_one(case, f"{index} of {len(todo)}", command, attempts, directory)
            if edit.error is not None:
                result.errors.append((case.id, edit.error))
                failed.add(case.id)
            elif edit.changed:
                done[case.id] = _labelled(case, edit.expected, "hand")
            if edit.aborted or edit.stop:
                result.stopped = edit.aborted or index < len(todo)
                break
    except KeyboardInterrupt:
        result.stopped = True
    for case in cases:
        if case.id in done:
            result.labelled.append(case.id)
            result.cases.append(done[case.id])
        else:
            if case.id not in failed:
                result.skipped.append(case.id)
            result.cases.append(case)
    return result


@dataclass(frozen=True, slots=True)
class _Edit:
    """What one editor session gave: a new ``expected`` (``changed``), a request to stop after
    it (``quit: true``), an aborted editor (non-zero exit: this case not taken), or an error."""

    expected: Any = None
    changed: bool = False
    stop: bool = False
    aborted: bool = False
    error: str | None = None


def _edit_one(
    case: Case, position: str, command: list[str], attempts: int, directory: str | Path | None
) -> _Edit:
    """One case through the editor, re-opened up to ``attempts`` times while it does not parse."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in case.id)[:40]
    handle, name = tempfile.mkstemp(prefix=f"benchroute-label-{safe}-", suffix=".yaml", dir=directory)
    os.close(handle)
    path = Path(name)
    keep = False
    try:
        error: str | None = None
        text = _editor_file(case, position)
        for _ in range(max(1, attempts)):
            path.write_text(text, encoding="utf-8")
            try:
                done = subprocess.run([*command, str(path)], check=False)
            except OSError as exc:
                raise ConfigError(
                    f"cannot run the editor {command[0]!r} ({exc.strerror})",
                    hint="set EDITOR to an installed editor, e.g. EDITOR=nano",
                ) from None
            if done.returncode != 0:
                return _Edit(aborted=True)
            try:
                expected, stop = _read_editor_file(path)
            except ValueError as exc:
                # Open the person's own edit again, the error on top: retyping is not a fix.
                error = str(exc)
                edited = path.read_text(encoding="utf-8").splitlines()
                kept = [line for line in edited if not line.startswith(_ERROR_MARK)]
                text = "\n".join([f"{_ERROR_MARK} {error}", f"{_ERROR_MARK} fix it and save again", *kept])
                continue
            changed = not _empty(expected) and expected != case.expected
            return _Edit(expected if changed else None, changed, stop)
        keep = True
        return _Edit(error=f"{error} (file kept)")
    finally:
        if not keep:
            path.unlink(missing_ok=True)
