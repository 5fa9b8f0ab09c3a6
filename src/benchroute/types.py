"""The shapes every part of benchroute speaks: a chat :class:`Message`, a
:class:`CompletionRequest` in, a :class:`Completion` (with its :class:`Usage`) out.

These are the stable contract between configuration (a case's messages), the runner, the
providers and the scorers. They live below all of those packages so that none has to import
another to name a message: ``config`` and ``providers`` both use them without importing each
other. ``benchroute`` and ``benchroute.providers`` re-export them under the same names.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = ["Completion", "CompletionRequest", "Message", "Role", "Usage"]

Role = Literal["system", "user", "assistant", "tool"]


class Message(BaseModel):
    """One chat message. ``content`` may be a list of parts (text, image_url, ...)."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The message's text, with non-text parts left out."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")


@functools.cache
def _optional_field_names(model: type[BaseModel]) -> tuple[str, ...]:
    # Computed once per class: reading pydantic's field map is slow on a per-request path.
    return tuple(name for name in model.model_fields if name not in ("messages", "extra"))


class CompletionRequest(BaseModel):
    """What the runner asks a model for. ``extra`` is passed through to the wire body."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    _wire_messages: list[dict[str, Any]] | None = PrivateAttr(default=None)

    @classmethod
    def optional_field_names(cls) -> tuple[str, ...]:
        """The optional request settings (every field but ``messages`` and ``extra``), in
        declaration order: the fields an adapter copies to the wire when they are set."""
        return _optional_field_names(cls)

    def set_fields(self) -> dict[str, Any]:
        """The optional request settings that are set (not ``None``), by field name."""
        return {
            name: value for name in self.optional_field_names() if (value := getattr(self, name)) is not None
        }

    def wire_messages(self) -> list[dict[str, Any]]:
        """The messages as plain dicts (computed once: the runner stores them and the
        adapter sends them)."""
        if self._wire_messages is None:
            self._wire_messages = [m.model_dump(exclude_none=True) for m in self.messages]
        return self._wire_messages


class Usage(BaseModel):
    """Token counts as reported by the provider (0 when it reports none).

    The counts nest the way genai-prices reads them: ``input_tokens`` is every prompt token,
    including ``cached_input_tokens`` (read from the provider's prompt cache) and
    ``cache_write_tokens`` (written to it); ``output_tokens`` is every generated token,
    including ``reasoning_tokens``. Nothing is priced twice.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Completion(BaseModel):
    """A model's answer and what it took to get it."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    served_model: str | None = None
    system_fingerprint: str | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
