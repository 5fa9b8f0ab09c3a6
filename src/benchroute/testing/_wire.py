"""Wire formats of the fake server: OpenAI chat completions and Anthropic Messages.

The server decides *what* to answer (a text, tool calls, a token count, an error) without
caring which API asked; a :class:`Dialect` turns that decision into the bytes the real
provider would send. Two dialects exist, one per route, and they are stateless singletons so
the hot path does no per-request setup beyond building the answer dictionaries.

Token counts are a deterministic stand-in for a tokenizer: a word is a run of non-space
characters, a prompt costs its words plus 3 per message (the role and separators real chat
templates add), and a reply costs its words. That is crude but stable, which is what tests
and cost calculations against a fake need. ``max_tokens`` truncates the reply at that many
words, keeping the original spacing so a truncated reply is a prefix of the full one.

Streams are produced as a list of SSE frames rather than written here: the server writes
them one by one (so clients really see several chunks) and can stop part-way to simulate a
cut connection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

_WORD: Final = re.compile(r"\S+")
_PIECE: Final = re.compile(r"\s*\S+")
_DONE: Final = b"data: [DONE]\n\n"


def dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def content_text(content: object) -> str:
    """The text of a message ``content``: a string, or the text parts of a part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def word_count(text: str) -> int:
    return len(text.split())


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(word_count(content_text(m.get("content"))) + 3 for m in messages)


def truncate_words(text: str, limit: int) -> str:
    """``text`` cut after its ``limit``-th word (``limit`` < word count)."""
    end = 0
    for index, match in enumerate(_WORD.finditer(text)):
        if index == limit:
            break
        end = match.end()
    return text[:end]


def split_pieces(text: str) -> list[str]:
    """Word-sized stream pieces that concatenate back to exactly ``text``."""
    pieces = _PIECE.findall(text)
    used = sum(map(len, pieces))
    if used < len(text):
        pieces.append(text[used:])
    return pieces


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as OpenAI carries it


def normalise_tool_calls(calls: list[dict[str, Any]] | None) -> list[ToolCall]:
    """Accept OpenAI-shaped calls, or the shorthand ``{"name": ..., "arguments": {...}}``."""
    out: list[ToolCall] = []
    for index, call in enumerate(calls or ()):
        function = call.get("function")
        spec: dict[str, Any] = function if isinstance(function, dict) else call
        arguments = spec.get("arguments", spec.get("input", {}))
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        call_id = str(call.get("id") or f"call_fake{index}")
        out.append(ToolCall(id=call_id, name=str(spec.get("name", "")), arguments=arguments))
    return out


@dataclass(slots=True)
class Answer:
    """A successful answer, API-neutral. ``finish`` is "stop", "length" or "tool_calls"."""

    id: str
    model: str
    created: int
    text: str
    tool_calls: list[ToolCall]
    finish: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    # What an OpenAI reply reports as ``system_fingerprint`` (a scripted model version's).
    system_fingerprint: str = "fp_fake"


class Dialect:
    """How one API spells requests, answers and errors."""

    name: str = ""
    id_prefix: str = ""

    def authorized(self, headers: Any, api_key: str) -> bool:
        raise NotImplementedError

    def error(self, status: int, message: str) -> bytes:
        raise NotImplementedError

    def validate(self, body: dict[str, Any]) -> str | None:
        """A 400 message for a body the real API would refuse, else ``None``."""
        raise NotImplementedError

    def conversation(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The messages as a responder sees them (system first, OpenAI-style roles)."""
        raise NotImplementedError

    def max_tokens(self, body: dict[str, Any]) -> int | None:
        raise NotImplementedError

    def include_usage(self, body: dict[str, Any]) -> bool:
        return False

    def render(self, answer: Answer) -> bytes:
        raise NotImplementedError

    def frames(self, answer: Answer, include_usage: bool) -> list[bytes]:
        raise NotImplementedError

    def lead_frames(self, answer: Answer) -> int:
        """How many frames open a stream before its first content (role, message start)."""
        return 1

    def cut_frames(self, answer: Answer) -> list[bytes]:
        """The first part of a stream, for a connection that is about to be cut."""
        frames = self.frames(answer, False)
        # Keep the opening frames and about half of the text so the client has already
        # accepted a 200 and some content when the connection dies.
        return frames[: max(2, len(frames) // 2)]

    def malformed(self, stream: bool) -> bytes:
        raise NotImplementedError

    def garbage(self, answer: Answer, stream: bool) -> bytes:
        raise NotImplementedError


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check_messages(body: dict[str, Any]) -> str | None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "'messages' is a required property and must be an array"
    if not all(isinstance(m, dict) for m in messages):
        return "each item of 'messages' must be an object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    return None


class OpenAIDialect(Dialect):
    name = "openai"
    id_prefix = "chatcmpl-fake"

    _ERROR_TYPES: Final = {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("invalid_request_error", "permission_denied"),
        404: ("invalid_request_error", "model_not_found"),
        429: ("requests", "rate_limit_exceeded"),
    }

    def authorized(self, headers: Any, api_key: str) -> bool:
        return bool(headers.get("Authorization") == f"Bearer {api_key}")

    def error(self, status: int, message: str) -> bytes:
        kind, code = self._ERROR_TYPES.get(status, ("server_error", None))
        return dumps({"error": {"message": message, "type": kind, "code": code}})

    def validate(self, body: dict[str, Any]) -> str | None:
        problem = _check_messages(body)
        if problem is not None:
            return problem
        for key in ("max_tokens", "max_completion_tokens"):
            if body.get(key) is not None and not _positive_int(body[key]):
                return f"'{key}' must be an integer >= 1"
        return None

    def conversation(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = body["messages"]
        return messages

    def max_tokens(self, body: dict[str, Any]) -> int | None:
        limit = body.get("max_completion_tokens")
        if limit is None:
            limit = body.get("max_tokens")
        return limit if isinstance(limit, int) else None

    def include_usage(self, body: dict[str, Any]) -> bool:
        options = body.get("stream_options")
        return isinstance(options, dict) and bool(options.get("include_usage"))

    def _usage(self, answer: Answer) -> dict[str, Any]:
        return {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": answer.cached_tokens},
        }

    def _head(self, answer: Answer, obj: str) -> dict[str, Any]:
        return {
            "id": answer.id,
            "object": obj,
            "created": answer.created,
            "model": answer.model,
            "system_fingerprint": answer.system_fingerprint,
        }

    def render(self, answer: Answer) -> bytes:
        message: dict[str, Any] = {
            "role": "assistant",
            # Like the real API: no text alongside tool calls is null, not "".
            "content": answer.text if answer.text or not answer.tool_calls else None,
            "refusal": None,
        }
        if answer.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in answer.tool_calls
            ]
        out = self._head(answer, "chat.completion")
        out["choices"] = [{"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish}]
        out["usage"] = self._usage(answer)
        return dumps(out)

    def frames(self, answer: Answer, include_usage: bool) -> list[bytes]:
        head = self._head(answer, "chat.completion.chunk")

        def frame(delta: dict[str, Any], finish: str | None = None) -> bytes:
            chunk = dict(head)
            chunk["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            if include_usage:
                chunk["usage"] = None
            return b"data: " + dumps(chunk) + b"\n\n"

        frames = [frame({"role": "assistant", "content": ""})]
        frames.extend(frame({"content": piece}) for piece in split_pieces(answer.text))
        for index, call in enumerate(answer.tool_calls):
            delta = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            frames.append(frame({"tool_calls": [delta]}))
        frames.append(frame({}, answer.finish))
        if include_usage:
            chunk = dict(head)
            chunk["choices"] = []
            chunk["usage"] = self._usage(answer)
            frames.append(b"data: " + dumps(chunk) + b"\n\n")
        frames.append(_DONE)
        return frames

    def malformed(self, stream: bool) -> bytes:
        if stream:
            return b'data: {"choices": [\n\n' + _DONE
        return b'{"choices": ['

    def garbage(self, answer: Answer, stream: bool) -> bytes:
        # Plausible envelope, no "choices": the failure a client is least likely to expect.
        if stream:
            return b"data: " + dumps(self._head(answer, "chat.completion.chunk")) + b"\n\n" + _DONE
        return dumps(self._head(answer, "chat.completion"))


class AnthropicDialect(Dialect):
    name = "anthropic"
    id_prefix = "msg_fake"

    _ERROR_TYPES: Final = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        529: "overloaded_error",
    }
    _STOP_REASONS: Final = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}

    def authorized(self, headers: Any, api_key: str) -> bool:
        return bool(headers.get("x-api-key") == api_key)

    def lead_frames(self, answer: Answer) -> int:
        # message_start, then a text block's content_block_start (a tool_use start is content).
        return 2 if answer.text or not answer.tool_calls else 1

    def error(self, status: int, message: str) -> bytes:
        kind = self._ERROR_TYPES.get(status, "api_error")
        return dumps({"type": "error", "error": {"type": kind, "message": message}})

    def validate(self, body: dict[str, Any]) -> str | None:
        problem = _check_messages(body)
        if problem is not None:
            return problem
        if not _positive_int(body.get("max_tokens")):
            return "max_tokens: Field required (an integer >= 1)"
        system = body.get("system")
        if system is not None and not isinstance(system, str | list):
            return "system: Input should be a string or a list of text blocks"
        return _check_anthropic_shapes(body)

    def conversation(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = body["messages"]
        system = content_text(body.get("system"))
        if system:
            return [{"role": "system", "content": system}, *messages]
        return messages

    def max_tokens(self, body: dict[str, Any]) -> int | None:
        limit = body.get("max_tokens")
        return limit if isinstance(limit, int) else None

    def _message(self, answer: Answer, content: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": answer.id,
            "type": "message",
            "role": "assistant",
            "model": answer.model,
            "content": content,
            "stop_reason": None,
            "stop_sequence": None,
        }

    def _usage(self, answer: Answer, output_tokens: int) -> dict[str, Any]:
        return {
            "input_tokens": answer.prompt_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": answer.cached_tokens,
        }

    def render(self, answer: Answer) -> bytes:
        content: list[dict[str, Any]] = []
        if answer.text or not answer.tool_calls:
            content.append({"type": "text", "text": answer.text})
        content.extend(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call)}
            for call in answer.tool_calls
        )
        out = self._message(answer, content)
        out["stop_reason"] = self._STOP_REASONS[answer.finish]
        out["usage"] = self._usage(answer, answer.completion_tokens)
        return dumps(out)

    def frames(self, answer: Answer, include_usage: bool) -> list[bytes]:
        def event(kind: str, data: dict[str, Any]) -> bytes:
            # "type" first, as the real API orders it, for anyone reading a capture.
            payload = {"type": kind, **data}
            return b"event: " + kind.encode() + b"\ndata: " + dumps(payload) + b"\n\n"

        start = self._message(answer, [])
        start["usage"] = self._usage(answer, 1)
        frames = [event("message_start", {"message": start})]
        index = 0
        if answer.text or not answer.tool_calls:
            text_block = {"type": "text", "text": ""}
            frames.append(event("content_block_start", {"index": 0, "content_block": text_block}))
            frames.extend(
                event(
                    "content_block_delta",
                    {"index": 0, "delta": {"type": "text_delta", "text": piece}},
                )
                for piece in split_pieces(answer.text)
            )
            frames.append(event("content_block_stop", {"index": 0}))
            index = 1
        for call in answer.tool_calls:
            block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
            frames.append(event("content_block_start", {"index": index, "content_block": block}))
            # The real API sends a tool's input as several partial JSON pieces.
            step = max(1, -(-len(call.arguments) // 3))
            for offset in range(0, len(call.arguments), step):
                piece = call.arguments[offset : offset + step]
                delta = {"type": "input_json_delta", "partial_json": piece}
                frames.append(event("content_block_delta", {"index": index, "delta": delta}))
            frames.append(event("content_block_stop", {"index": index}))
            index += 1
        stop = {"stop_reason": self._STOP_REASONS[answer.finish], "stop_sequence": None}
        usage = {"output_tokens": answer.completion_tokens}
        frames.append(event("message_delta", {"delta": stop, "usage": usage}))
        frames.append(event("message_stop", {}))
        return frames

    def malformed(self, stream: bool) -> bytes:
        if stream:
            return b'event: message_start\ndata: {"type": "message_start", "message": {\n\n'
        return b'{"content": ['

    def garbage(self, answer: Answer, stream: bool) -> bytes:
        if stream:
            return b'event: message_start\ndata: {"type": "message_start"}\n\n'
        return dumps({"id": answer.id, "type": "message", "role": "assistant"})


_BLOCK_TYPES: Final = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"}
)


def _check_anthropic_shapes(body: dict[str, Any]) -> str | None:
    """What the real Messages API refuses that an OpenAI-shaped body would carry: other
    roles, OpenAI content parts (``image_url``), tools without ``input_schema``, OpenAI's
    ``tool_choice`` spelling."""
    for index, message in enumerate(body["messages"]):
        if message.get("role") not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        for part, block in enumerate(content if isinstance(content, list) else ()):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind not in _BLOCK_TYPES:
                return f"messages.{index}.content.{part}.type: unknown block type {kind!r}"
            source = block.get("source")
            if kind == "image" and not (isinstance(source, dict) and source.get("type") in ("base64", "url")):
                return f"messages.{index}.content.{part}.source: an image needs a base64 or url source"
    for index, tool in enumerate(body.get("tools") or ()):
        if not isinstance(tool, dict) or "name" not in tool or "input_schema" not in tool:
            return f"tools.{index}: a tool needs name and input_schema"
    choice = body.get("tool_choice")
    if choice is not None and not (
        isinstance(choice, dict) and choice.get("type") in ("auto", "any", "tool", "none")
    ):
        return "tool_choice: Input should be an object with type auto, any, tool or none"
    return None


def _input(call: ToolCall) -> object:
    try:
        return json.loads(call.arguments)
    except ValueError:
        return {}


OPENAI: Final = OpenAIDialect()
ANTHROPIC: Final = AnthropicDialect()
