"""Turning a case into a request: template rendering, system prompts, parameters."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .._errors import ConfigError
from ..config import Case, ModelSpec, SuiteSpec
from ..providers import CompletionRequest, Message

_REQUEST_FIELDS = frozenset(CompletionRequest.optional_field_names())
_PLAIN_INPUT = {"{{ input }}", "{{input}}"}


class PromptBuilder:
    """Renders a suite's prompt and system templates for its cases (compiled once)."""

    def __init__(self, suite: SuiteSpec) -> None:
        self.suite = suite
        self._prompt = (
            None if suite.prompt.strip() in _PLAIN_INPUT else _compile(suite.prompt, suite, "prompt")
        )
        self._system = _compile(suite.system, suite, "system") if suite.system else None
        self._fields, self._extra = split_params(suite.params, f"{suite.source or suite.name}: params")

    def messages(self, case: Case, spec: ModelSpec) -> list[Message]:
        context: dict[str, Any] | None = None
        systems = [spec.system_prompt] if spec.system_prompt else []
        if self._system is not None:
            context = _context(case)
            systems.append(self._render(self._system, context, case, "system"))
        messages = [Message(role="system", content="\n\n".join(systems))] if systems else []
        if case.messages is not None:
            return messages + list(case.messages)
        if self._prompt is None:
            if case.input is None:
                raise ConfigError(
                    f"{self.suite.source or self.suite.name}: case {case.id!r} has no 'input' "
                    "and the suite has no prompt template",
                    hint="give each case an input (or map a column to it), or set prompt:",
                )
            text = case.input
        else:
            text = self._render(self._prompt, context or _context(case), case, "prompt")
        messages.append(Message(role="user", content=text))
        return messages

    def request(self, case: Case, spec: ModelSpec) -> CompletionRequest:
        return CompletionRequest(messages=self.messages(case, spec), **self._fields, extra=dict(self._extra))

    def _render(self, template: Any, context: dict[str, Any], case: Case, field: str) -> str:
        import jinja2

        try:
            return str(template.render(context))
        except jinja2.UndefinedError as exc:
            raise ConfigError(
                f"{self.suite.source or self.suite.name}: {field}: case {case.id!r}: {exc.message}",
                hint=f"the case's variables are: {sorted(context)}",
            ) from None


def split_params(params: dict[str, Any], where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``params`` as (request settings, extra wire fields); a malformed setting (e.g.
    ``temperature: hot``) raises :class:`ConfigError` naming ``where`` and the field."""
    from pydantic import ValidationError

    fields = {k: v for k, v in params.items() if k in _REQUEST_FIELDS}
    extra = {k: v for k, v in params.items() if k not in _REQUEST_FIELDS}
    try:
        CompletionRequest(messages=[], **fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"])
        raise ConfigError(
            f"{where}.{name}: {error['msg']} (got {error.get('input')!r})",
            hint=f"request settings: {', '.join(sorted(_REQUEST_FIELDS))}",
        ) from None
    return fields, extra


def _context(case: Case) -> dict[str, Any]:
    return {
        **case.vars,
        "input": case.input,
        "expected": case.expected,
        "id": case.id,
        "passages": case.passages or [],
    }


def _compile(source: str, suite: SuiteSpec, field: str) -> Any:
    import jinja2  # only suites with templates pay for the import

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        return environment.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"{suite.source or suite.name}: {field}: template error on its line {exc.lineno}: {exc.message}"
        ) from None


def estimate_tokens(request: CompletionRequest) -> int:
    """A cheap upper-ish estimate for the TPM budget: ~4 characters per token."""
    chars = sum(len(m.text()) for m in request.messages)
    return chars // 4 + 4 * len(request.messages) + (request.max_tokens or 256)


def cache_key(spec: ModelSpec, request: CompletionRequest, repeat: int = 0) -> str:
    """Identifies a response by endpoint, model, parameters, messages and repeat: each repeat
    is its own sample (pass@k needs independent samples), so rerunning a suite reuses each
    repeat's own earlier reply, never repeat 0's."""
    identity = {
        "repeat": repeat,
        "provider": spec.provider,
        "base_url": spec.base_url,
        "model": spec.model,
        "params": spec.params,
        "request": request.model_dump(mode="json", exclude_none=True),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
