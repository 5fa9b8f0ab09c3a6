"""The shapes every part of benchroute speaks: a chat :class:`Message`, a
:class:`CompletionRequest` in, a :class:`Completion` (with its :class:`Usage`) out, and the
:class:`StreamChunk` a streamed reply arrives in.

These are the stable contract between configuration (a case's messages), the runner, the
gateway, the providers and the scorers. They live below all of those packages so that none
has to import another to name a message: ``config`` and ``providers`` both use them without
importing each other. ``benchroute`` and ``benchroute.providers`` re-export them under the
same names.

They are OpenAI-shaped because that is the shape a gateway speaks to its clients: a request
or message keeps fields it does not know (``extra="allow"``) and an OpenAI-compatible
adapter sends them on untouched; a completion keeps the reply's ``id``, every choice as the
wire sent it, ``logprobs``, ``refusal`` and the provider's raw ``usage`` object, beside the
parsed figures the runner uses. Adapters of other APIs (Anthropic) translate into the same
shape, ``finish_reason`` included (``stop``, ``length``, ``tool_calls``, ``content_filter``).
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = ["Completion", "CompletionRequest", "Message", "Role", "StreamChunk", "Usage"]

Role = Literal["system", "developer", "user", "assistant", "tool"]


class Message(BaseModel):
    """One chat message. ``content`` may be a list of parts (text, image_url, ...).

    Fields this model does not name (``refusal``, ``audio``, a provider's own) are kept and
    sent on by OpenAI-compatible adapters; a suite file's messages are validated strictly by
    the config's own subclass instead.
    """

    model_config = ConfigDict(extra="allow")

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


_CALLER_CHOSEN: Final = frozenset({"model", "stream", "stream_options"})


@functools.cache
def _optional_field_names(model: type[BaseModel]) -> tuple[str, ...]:
    # Computed once per class: reading pydantic's field map is slow on a per-request path.
    return tuple(name for name in model.model_fields if name not in ("messages", "extra"))


class CompletionRequest(BaseModel):
    """What the runner or the gateway asks a model for.

    ``extra`` holds provider-native wire fields (a suite's ``params`` the request does not
    name): every adapter sends them verbatim. Unknown *OpenAI* fields given to the model
    itself (``n``, ``logprobs``, ``user``, ``parallel_tool_calls`` ... as a gateway client
    sends them) are kept in :attr:`openai_fields`: an OpenAI-compatible adapter sends them
    as they are, other adapters translate the ones their API has and leave out the rest.
    """

    model_config = ConfigDict(extra="allow")

    messages: list[Message]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
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

    @property
    def openai_fields(self) -> dict[str, Any]:
        """The OpenAI request fields this model does not name, as given (see class doc)."""
        return self.__pydantic_extra__ or {}

    def wire_messages(self) -> list[dict[str, Any]]:
        """The messages as plain dicts (computed once: the runner stores them and the
        adapter sends them). A request made by :meth:`from_openai` keeps the caller's own
        dicts, byte for byte what the client sent."""
        if self._wire_messages is None:
            self._wire_messages = [m.model_dump(exclude_none=True) for m in self.messages]
        return self._wire_messages

    @classmethod
    def from_openai(cls, body: Mapping[str, Any]) -> CompletionRequest:
        """A request from an OpenAI chat-completions body, as a gateway receives it.

        ``model``, ``stream`` and ``stream_options`` are left out: the caller chooses the
        endpoint and whether to stream. Every other field is kept (unknown ones in
        :attr:`openai_fields`), and the body's message dicts are what the adapter sends.
        Raises pydantic's ``ValidationError`` for a body that is not a chat request.
        """
        fields = {key: value for key, value in body.items() if key not in _CALLER_CHOSEN}
        request = cls.model_validate(fields)
        messages = body.get("messages")
        if isinstance(messages, list):
            request._wire_messages = messages
        return request


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

    def openai(self) -> dict[str, Any]:
        """These counts as an OpenAI ``usage`` object (for a reply translated from another
        API; an OpenAI-compatible reply keeps its own object in ``raw_usage``)."""
        return {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_input_tokens},
            "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
        }


class Completion(BaseModel):
    """A model's answer and what it took to get it.

    ``text``, ``tool_calls``, ``finish_reason`` and ``refusal`` are those of the first
    choice; ``choices`` holds every choice as an OpenAI ``chat.completion`` spells it (the
    wire's own dicts from an OpenAI-compatible endpoint, translated ones otherwise). It is
    kept for a gateway to answer with and left out of dumps (stored replies carry the parsed
    fields). ``raw_usage`` is the provider's usage object as sent, in its own shape.
    """

    text: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    served_model: str | None = None
    system_fingerprint: str | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    id: str | None = None
    created: int | None = None
    refusal: str | None = None
    logprobs: dict[str, Any] | None = None
    raw_usage: dict[str, Any] | None = None
    choices: list[dict[str, Any]] = Field(default_factory=list, exclude=True)
    _wire: bytes | None = PrivateAttr(default=None)

    @property
    def wire_body(self) -> bytes | None:
        """The reply body exactly as an OpenAI-compatible endpoint sent it (``None`` for a
        translated or cached reply): a gateway may forward these bytes as they are."""
        return self._wire

    def to_openai(self, model: str | None = None) -> dict[str, Any]:
        """This completion as an OpenAI ``chat.completion`` object (``model`` defaults to
        the served model)."""
        choices = self.choices or [
            {
                "index": 0,
                "message": _message_dict(self.text, self.tool_calls, self.refusal),
                "logprobs": self.logprobs,
                "finish_reason": self.finish_reason,
            }
        ]
        raw = self.raw_usage
        usage = raw if raw is not None and "prompt_tokens" in raw else self.usage.openai()
        body: dict[str, Any] = {
            "id": self.id or "chatcmpl-benchroute",
            "object": "chat.completion",
            "created": self.created if self.created is not None else int(time.time()),
            "model": model or self.served_model or "",
            "choices": choices,
            "usage": usage,
        }
        if self.system_fingerprint is not None:
            body["system_fingerprint"] = self.system_fingerprint
        return body


def _message_dict(text: str, tool_calls: list[dict[str, Any]], refusal: str | None) -> dict[str, Any]:
    # The OpenAI API sends null, not "", for the content of a tool-call-only reply.
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not tool_calls else None,
        "refusal": refusal,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


# What makes a chunk carry answer content, found in its JSON bytes without parsing them: a
# non-empty string for a delta's content, refusal or reasoning, or any tool-call delta.
# A key's quotes cannot occur unescaped inside a JSON string, so these only match keys.
_CONTENT: Final = re.compile(
    rb'"(?:content|refusal|reasoning_content|reasoning)"\s*:\s*"[^"]|"tool_calls"\s*:\s*\[\s*\{'
)


_CONTENT_KEYS: Final = (b'"content":"', b'"refusal":"', b'"reasoning_content":"', b'"reasoning":"')


def carries_content(raw: bytes) -> bool:
    """Whether a chunk's JSON carries answer content (see :class:`StreamChunk`): substring
    searches for compact JSON (what OpenAI-compatible servers send), a regular expression
    when the JSON has spaces after its colons."""
    if b'"tool_calls":[{' in raw:
        return True
    for key in _CONTENT_KEYS:
        at = raw.find(key)
        while at >= 0:
            end = at + len(key)
            if raw[end : end + 1] != b'"':  # a non-empty string
                return True
            at = raw.find(key, end)
    if b'": ' in raw or b'" :' in raw:
        return _CONTENT.search(raw) is not None
    return False


class StreamChunk:
    """One piece of a streamed reply: an OpenAI ``chat.completion.chunk``.

    A gateway forwards :meth:`sse` (or :attr:`raw`) to its client as it is; the chunk holds
    either the JSON bytes the endpoint sent (an OpenAI-compatible stream: parsed only when
    :attr:`data` is read) or a translated dict (serialised only when :attr:`raw` is read).
    The parsed figures a gateway needs per chunk are plain attributes:

    - ``content``: the chunk carries answer content (text, a refusal, reasoning or a tool-call
      delta). The first such chunk is the stream's first content byte: before it a failed
      stream may be retried elsewhere, after it never.
    - ``finish_reason``: the first choice's, when this chunk ends it (OpenAI's vocabulary).
    - ``usage``: the token counts, on the usage chunk that closes every stream (``choices`` is
      empty there; the adapters always ask for it, so drop it if the client did not).
    - ``pending``: more chunks of the stream had already arrived with this one, so a forwarder
      may hold it and send them together (one write instead of several; nothing waits).
    """

    __slots__ = ("_data", "_raw", "content", "finish_reason", "pending", "usage")

    def __init__(
        self,
        *,
        raw: bytes | None = None,
        data: dict[str, Any] | None = None,
        content: bool | None = None,
        finish_reason: str | None = None,
        usage: Usage | None = None,
        pending: bool = False,
    ) -> None:
        if raw is None and data is None:
            raise ValueError("a StreamChunk needs its raw bytes or its data")
        self.pending = pending
        self._raw = raw
        self._data = data
        if content is None:
            content = carries_content(self.raw)
        self.content = content
        self.finish_reason = finish_reason
        self.usage = usage

    @property
    def raw(self) -> bytes:
        """The chunk's JSON, what follows ``data: `` on its server-sent-event line."""
        if self._raw is None:
            self._raw = _dumps(self._data)
        return self._raw

    @property
    def data(self) -> dict[str, Any]:
        """The chunk as a dict (parsed on first use for a forwarded chunk)."""
        if self._data is None:
            parsed = json.loads(self._raw or b"{}")
            self._data = parsed if isinstance(parsed, dict) else {}
        return self._data

    def sse(self) -> bytes:
        """The chunk as one server-sent event: ``data: {...}`` and a blank line."""
        return b"data: " + self.raw + b"\n\n"

    @property
    def text(self) -> str:
        """The text this chunk adds to the first choice (``""`` if none)."""
        for choice in self.data.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                delta = choice.get("delta")
                content = delta.get("content") if isinstance(delta, dict) else None
                return content if isinstance(content, str) else ""
        return ""

    def __repr__(self) -> str:
        return f"StreamChunk(content={self.content}, finish_reason={self.finish_reason!r}, raw={self.raw!r})"
