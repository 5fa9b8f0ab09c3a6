"""Translation between OpenAI chat completions and Anthropic's Messages API, both ways.

A request in OpenAI's shape becomes a Messages body: system and developer messages move to
``system``; image parts (``data:`` URLs become base64 sources, http(s) URLs url sources), PDF
``file`` parts become ``document`` blocks,
assistant tool calls become ``tool_use`` blocks and ``tool`` messages ``tool_result``
blocks (consecutive results share one user turn, as the API wants them); tools and
``tool_choice`` take Anthropic's spelling (``required`` is ``any``, a named function is a
``tool`` choice, ``parallel_tool_calls: false`` sets ``disable_parallel_tool_use``).

``response_format`` follows Anthropic's own advice for JSON output: a ``json_schema`` is
sent as one tool whose input schema is the schema (forced when the request has no tools of
its own; a schema whose top level is not an object is wrapped in one), and that tool's
input comes back as the answer's text with ``finish_reason`` ``stop``, as OpenAI returns a
structured answer. ``json_object`` has no schema to give, so it is an instruction appended
to the system prompt.

Of the OpenAI fields the request model does not name, ``max_completion_tokens``, ``user``
(``metadata.user_id``) and ``parallel_tool_calls`` are translated; ``n`` > 1, ``logprobs``
and audio output have no Anthropic equivalent and are refused (a gateway answers 400
rather than a reply that lacks what was asked); the rest (``seed``, the penalties,
``logit_bias``, ``store``, ``service_tier``, ...) are sampling hints and bookkeeping the
Messages API does not take, and are left out.

The reply comes back in OpenAI's shape: ``tool_use`` blocks as tool calls with their input
as JSON text, ``stop_reason`` in OpenAI's vocabulary, and a stream's events
(``message_start`` ... ``message_stop``) as ``chat.completion.chunk`` pieces by
:class:`StreamTranslator`.
"""

from __future__ import annotations

import json
import time
from typing import Any, Final

from ._types import Completion, CompletionRequest, ProviderError, StreamChunk, Usage

__all__ = ["FINISH_REASONS", "StreamTranslator", "messages_body", "parse_message"]

FINISH_REASONS: Final = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
JSON_OBJECT_INSTRUCTION: Final = "Reply with one JSON object and nothing else: no prose, no code fence."
_DEFAULT_JSON_TOOL: Final = "json_response"
# A json_schema whose top level is not an object is wrapped under this key (tool inputs are
# objects) and unwrapped from the reply.
_WRAPPED: Final = "value"
_REFUSED_FIELDS: Final = {
    "logprobs": "log probabilities are not available from the Anthropic API",
    "top_logprobs": "log probabilities are not available from the Anthropic API",
    "audio": "audio output is not available from the Anthropic API",
}


def _bad_request(where: str, message: str) -> ProviderError:
    return ProviderError(f"{where}: {message}", kind="bad_request", status=400)


class JsonTool:
    """The tool a ``json_schema`` response format is sent as, and how to read it back."""

    __slots__ = ("name", "wrapped")

    def __init__(self, name: str, wrapped: bool) -> None:
        self.name = name
        self.wrapped = wrapped

    def text(self, arguments: object) -> str:
        """The tool input (a dict, or JSON text as streamed) as the answer's JSON text."""
        if self.wrapped:
            value = json.loads(arguments) if isinstance(arguments, str) else arguments
            if isinstance(value, dict):
                value = value.get(_WRAPPED)
            return json.dumps(value, ensure_ascii=False)
        if isinstance(arguments, str):
            return arguments
        return json.dumps(arguments, ensure_ascii=False)


# -- requests ----------------------------------------------------------------------------


def _image(url: object, where: str) -> dict[str, Any]:
    if not isinstance(url, str) or not url:
        raise _bad_request(where, "an image_url part without a url")
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not sep or encoding != "base64" or not media_type:
            raise _bad_request(where, "an image data: URL must be data:<media type>;base64,<data>")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise _bad_request(where, f"an image url must be a data: or http(s) URL (got {url[:40]!r})")


def _document(file: object, where: str) -> dict[str, Any]:
    """An OpenAI ``file`` part (a PDF as a data: URL) as an Anthropic ``document`` block."""
    data_url = file.get("file_data") if isinstance(file, dict) else None
    if not isinstance(data_url, str) or not data_url.startswith("data:"):
        raise _bad_request(where, "a file part needs file_data as a data:application/pdf;base64,... URL")
    header, sep, data = data_url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not sep or encoding != "base64" or media_type != "application/pdf":
        raise _bad_request(where, f"a document must be data:application/pdf;base64,... (got {header[:40]!r})")
    block: dict[str, Any] = {
        "type": "document",
        "source": {"type": "base64", "media_type": media_type, "data": data},
    }
    filename = file.get("filename") if isinstance(file, dict) else None
    if isinstance(filename, str) and filename:
        block["title"] = filename
    return block


def _blocks(content: object, where: str) -> str | list[dict[str, Any]]:
    """A message ``content`` as Anthropic content: a string stays one; parts translate."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad_request(where, "message content must be a string or a list of parts")
    blocks: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, dict):
            raise _bad_request(where, "each content part must be an object")
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            image = part.get("image_url")
            blocks.append(_image(image.get("url") if isinstance(image, dict) else image, where))
        elif kind == "file":
            blocks.append(_document(part.get("file"), where))
        elif kind == "input_audio":
            raise _bad_request(
                where, "the Anthropic API takes no audio input (input_audio parts); use a model that does"
            )
        elif kind in ("image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"):
            blocks.append(part)  # already Anthropic's shape (a suite may write it natively)
        else:
            raise _bad_request(where, f"content part type {kind!r} is not supported by the Anthropic API")
    return blocks


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def _arguments(raw: object, where: str) -> object:
    if isinstance(raw, dict):
        return raw
    if raw is None or raw == "":
        return {}
    try:
        return json.loads(str(raw))
    except ValueError:
        raise _bad_request(where, "a tool call's arguments are not valid JSON") from None


def _assistant(message: dict[str, Any], where: str) -> dict[str, Any]:
    content = _blocks(message.get("content"), where)
    calls = message.get("tool_calls") or []
    if not calls:
        return {"role": "assistant", "content": content}
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) and content else []
    if isinstance(content, list):
        blocks.extend(content)
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise _bad_request(where, "an assistant tool call without a function")
        use: dict[str, Any] = {
            "type": "tool_use",
            "id": call.get("id") or "",
            "name": function.get("name") or "",
            "input": _arguments(function.get("arguments"), where),
        }
        blocks.append(use)
    return {"role": "assistant", "content": blocks}


def _tool_result(message: dict[str, Any], where: str) -> dict[str, Any]:
    content = _blocks(message.get("content"), where)
    return {"type": "tool_result", "tool_use_id": message.get("tool_call_id") or "", "content": content}


def _conversation(messages: list[dict[str, Any]], where: str) -> tuple[list[str], list[dict[str, Any]]]:
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text_of(message.get("content")))
        elif role == "assistant":
            out.append(_assistant(message, where))
        elif role == "tool":
            result = _tool_result(message, where)
            previous = out[-1] if out else None
            if (
                previous is not None
                and previous["role"] == "user"
                and isinstance(previous["content"], list)
                and all(b.get("type") == "tool_result" for b in previous["content"])
            ):
                previous["content"].append(result)
            else:
                out.append({"role": "user", "content": [result]})
        else:
            out.append({"role": "user", "content": _blocks(message.get("content"), where)})
    return system, out


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool definition in Anthropic's shape; OpenAI-shaped ones are converted."""
    function = tool.get("function")
    if tool.get("type") != "function" or not isinstance(function, dict):
        return tool
    out: dict[str, Any] = {"name": function.get("name", "")}
    if function.get("description"):
        out["description"] = function["description"]
    out["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return out


def _tool_choice(choice: object, where: str) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        mapped = {"auto": "auto", "required": "any", "any": "any", "none": "none"}.get(choice)
        if mapped is None:
            raise _bad_request(where, f"tool_choice {choice!r} is not one of auto, required, none")
        return {"type": mapped}
    if isinstance(choice, dict):
        function = choice.get("function")
        if choice.get("type") == "function" and isinstance(function, dict):
            return {"type": "tool", "name": function.get("name", "")}
        if choice.get("type") in ("auto", "any", "tool", "none"):
            return dict(choice)
    raise _bad_request(where, f"tool_choice {choice!r} is not understood")


def _response_format(
    fmt: dict[str, Any] | None, body: dict[str, Any], system: list[str], where: str
) -> JsonTool | None:
    if not fmt or fmt.get("type") in (None, "text"):
        return None
    kind = fmt.get("type")
    if kind == "json_object":
        system.append(JSON_OBJECT_INSTRUCTION)
        return None
    if kind != "json_schema":
        raise _bad_request(where, f"response_format type {kind!r} is not supported")
    given = fmt.get("json_schema")
    spec: dict[str, Any] = given if isinstance(given, dict) else {}
    given_schema = spec.get("schema")
    schema: dict[str, Any] = given_schema if isinstance(given_schema, dict) else {"type": "object"}
    name = str(spec.get("name") or _DEFAULT_JSON_TOOL)
    wrapped = schema.get("type") != "object"
    if wrapped:
        schema = {"type": "object", "properties": {_WRAPPED: schema}, "required": [_WRAPPED]}
    tool: dict[str, Any] = {
        "name": name,
        "description": spec.get("description") or "Give the answer as this tool's input.",
        "input_schema": schema,
    }
    tools = body.setdefault("tools", [])
    if not tools:
        body["tool_choice"] = {"type": "tool", "name": name}
    tools.append(tool)
    return JsonTool(name, wrapped)


def messages_body(
    request: CompletionRequest,
    model: str,
    defaults: dict[str, Any],
    default_max_tokens: int,
    where: str,
) -> tuple[dict[str, Any], JsonTool | None]:
    """The Messages API body for ``request`` (see the module doc), and the JSON tool a
    ``json_schema`` response format was sent as, if any."""
    fields = request.openai_fields
    for name, reason in _REFUSED_FIELDS.items():
        if fields.get(name):
            raise _bad_request(where, reason)
    n = fields.get("n")
    if isinstance(n, int) and n > 1:
        raise _bad_request(where, "n > 1 (several choices) is not available from the Anthropic API")
    system, messages = _conversation(request.wire_messages(), where)
    body: dict[str, Any] = {"model": model, **defaults}
    body["messages"] = messages
    body["max_tokens"] = (
        request.max_tokens
        or fields.get("max_completion_tokens")
        or body.get("max_tokens")
        or default_max_tokens
    )
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = [request.stop] if isinstance(request.stop, str) else list(request.stop)
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
    choice = _tool_choice(request.tool_choice, where)
    if fields.get("parallel_tool_calls") is False:
        choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
    if choice is not None:
        body["tool_choice"] = choice
    user = fields.get("user")
    if isinstance(user, str) and user:
        body["metadata"] = {"user_id": user}
    json_tool = _response_format(request.response_format, body, system, where)
    system = [part for part in system if part]
    if system:
        body["system"] = "\n\n".join(system)
    body.update(request.extra)
    return body, json_tool


# -- replies -----------------------------------------------------------------------------


def anthropic_usage(raw: object, previous: Usage | None = None) -> Usage:
    """Anthropic's usage object as a :class:`Usage` (a stream sends it in two parts)."""
    usage = previous.model_copy() if previous else Usage()
    if not isinstance(raw, dict):
        return usage
    if "input_tokens" in raw:
        cache_read = int(raw.get("cache_read_input_tokens") or 0)
        cache_creation = int(raw.get("cache_creation_input_tokens") or 0)
        # Anthropic's input_tokens excludes the cache reads and writes; ours includes them.
        usage.input_tokens = int(raw.get("input_tokens") or 0) + cache_read + cache_creation
        usage.cached_input_tokens = cache_read
        usage.cache_write_tokens = cache_creation
    if "output_tokens" in raw:
        # output_tokens already counts extended-thinking tokens; the detail only splits them out.
        usage.output_tokens = int(raw.get("output_tokens") or 0)
        details = raw.get("output_tokens_details")
        if isinstance(details, dict) and details.get("thinking_tokens") is not None:
            usage.reasoning_tokens = int(details.get("thinking_tokens") or 0)
    return usage


def tool_call(call_id: object, name: object, arguments: str) -> dict[str, Any]:
    """An OpenAI-shaped tool call."""
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name if isinstance(name, str) else "", "arguments": arguments},
    }


def _finish(stop_reason: object, json_answer: bool) -> str | None:
    if not isinstance(stop_reason, str):
        return None
    if json_answer and stop_reason == "tool_use":
        return "stop"
    return FINISH_REASONS.get(stop_reason, stop_reason)


def _choice(text: str, calls: list[dict[str, Any]], reasoning: str, finish: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not calls else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        message["reasoning_content"] = reasoning
    return {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}


def parse_message(reply: dict[str, Any], json_tool: JsonTool | None, where: str, raw: bytes) -> Completion:
    """A non-streamed Messages reply as a :class:`Completion` (latency left to the caller)."""
    from ._http import malformed

    content = reply.get("content")
    if not isinstance(content, list):
        raise malformed(where, "no 'content' list in the reply", raw)
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    json_answer = False
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "thinking":
            reasoning.append(str(block.get("thinking", "")))
        elif kind == "tool_use":
            if json_tool is not None and block.get("name") == json_tool.name:
                texts.append(json_tool.text(block.get("input") or {}))
                json_answer = True
            else:
                arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
                calls.append(tool_call(block.get("id"), block.get("name"), arguments))
    # A structured answer is the tool input alone, as OpenAI's is the JSON alone.
    text = texts[-1] if json_answer else "".join(texts)
    finish = _finish(reply.get("stop_reason"), json_answer and not calls)
    raw_usage = reply.get("usage")
    reply_id = reply.get("id")
    return Completion(
        text=text,
        tool_calls=calls,
        finish_reason=finish,
        usage=anthropic_usage(raw_usage),
        served_model=reply.get("model"),
        id=reply_id if isinstance(reply_id, str) else None,
        created=int(time.time()),
        raw_usage=raw_usage if isinstance(raw_usage, dict) else None,
        choices=[_choice(text, calls, "".join(reasoning), finish)],
    )


class StreamTranslator:
    """Anthropic stream events in, ``chat.completion.chunk`` pieces out; it also gathers
    the whole reply (text, tool calls, usage, time to first content) for a caller that
    wants a :class:`Completion` at the end."""

    def __init__(self, json_tool: JsonTool | None, where: str, started: float) -> None:
        self.json_tool = json_tool
        self.where = where
        self.started = started
        self.id = "msg"
        self.created = int(time.time())
        self.model: str | None = None
        self.usage = Usage()
        self.raw_usage: dict[str, Any] = {}
        self.stop_reason: str | None = None
        self.finished = False
        self.ttft_ms: float | None = None
        self.text: list[str] = []
        self.reasoning: list[str] = []
        # Content block index -> (tool-call index, or -1 for the JSON tool; start block; pieces).
        self._tools: dict[int, tuple[int, dict[str, Any], list[str]]] = {}
        self._json_answer = False

    def _chunk(
        self, delta: dict[str, Any] | None, finish: str | None = None, content: bool = False
    ) -> StreamChunk:
        data: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model or "",
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if content and self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.started) * 1000
        return StreamChunk(data=data, content=content, finish_reason=finish)

    def feed(self, event: dict[str, Any]) -> StreamChunk | None:
        """The chunk for one event, or ``None`` for events a client need not see."""
        kind = event.get("type")
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "message_start":
            message = event.get("message") or {}
            self.id = str(message.get("id") or self.id)
            self.model = message.get("model") or self.model
            self._merge_usage(message.get("usage"))
            return self._chunk({"role": "assistant", "content": ""})
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") != "tool_use":
                return None
            index = int(event.get("index", len(self._tools)))
            if self.json_tool is not None and block.get("name") == self.json_tool.name:
                self._tools[index] = (-1, block, [])
                self._json_answer = True
                return None
            position = sum(1 for slot in self._tools.values() if slot[0] >= 0)
            self._tools[index] = (position, block, [])
            call = {
                "index": position,
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name") or "", "arguments": ""},
            }
            return self._chunk({"tool_calls": [call]}, content=True)
        if kind == "content_block_stop":
            return self._json_close(int(event.get("index", -1)))
        if kind == "message_delta":
            self.stop_reason = (event.get("delta") or {}).get("stop_reason") or self.stop_reason
            self._merge_usage(event.get("usage"))
            return self._chunk({}, self.finish_reason)
        if kind == "message_stop":
            self.finished = True
            return StreamChunk(
                data={
                    "id": self.id,
                    "object": "chat.completion.chunk",
                    "created": self.created,
                    "model": self.model or "",
                    "choices": [],
                    "usage": self.usage.openai(),
                },
                content=False,
                usage=self.usage,
            )
        if kind == "error":
            error = event.get("error") or {}
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ProviderError(f"{self.where}: stream error: {message}", kind="server_error")
        return None  # ping, and event types added later

    def _delta(self, event: dict[str, Any]) -> StreamChunk | None:
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            text = str(delta.get("text", ""))
            self.text.append(text)
            return self._chunk({"content": text}, content=bool(text))
        if kind == "thinking_delta":
            thinking = str(delta.get("thinking", ""))
            self.reasoning.append(thinking)
            return self._chunk({"reasoning_content": thinking}, content=bool(thinking))
        if kind == "input_json_delta":
            slot = self._tools.get(int(event.get("index", -1)))
            if slot is None:
                from ._http import malformed

                raise malformed(self.where, "input_json_delta for a block that is not tool_use")
            piece = str(delta.get("partial_json") or "")
            slot[2].append(piece)
            if slot[0] < 0:
                if self.json_tool is not None and not self.json_tool.wrapped and piece:
                    self.text.append(piece)
                    return self._chunk({"content": piece}, content=True)
                return None  # a wrapped value is sent whole when its block closes
            call = {"index": slot[0], "function": {"arguments": piece}}
            return self._chunk({"tool_calls": [call]}, content=bool(piece))
        return None  # signature_delta, citations

    def _json_close(self, index: int) -> StreamChunk | None:
        slot = self._tools.get(index)
        if slot is None or slot[0] >= 0 or self.json_tool is None:
            return None
        arguments = "".join(slot[2]) or json.dumps(slot[1].get("input") or {})
        if not self.json_tool.wrapped:
            if slot[2]:
                return None  # already streamed piece by piece
            self.text.append(arguments)
            return self._chunk({"content": arguments}, content=True)
        text = self.json_tool.text(arguments)
        self.text.append(text)
        return self._chunk({"content": text}, content=True)

    def _merge_usage(self, raw: object) -> None:
        if isinstance(raw, dict):
            self.raw_usage.update(raw)
            self.usage = anthropic_usage(raw, self.usage)

    @property
    def finish_reason(self) -> str | None:
        return _finish(self.stop_reason, self._json_answer and not self.tool_calls())

    def tool_calls(self) -> list[dict[str, Any]]:
        calls = []
        for _, (position, block, pieces) in sorted(self._tools.items()):
            if position < 0:
                continue
            # No input_json_delta (or only empty ones): the start block's input is the input.
            arguments = "".join(pieces) or json.dumps(block.get("input") or {})
            calls.append(tool_call(block.get("id"), block.get("name"), arguments))
        return calls

    def completion(self) -> Completion:
        """The whole reply, once the stream has ended."""
        calls = self.tool_calls()
        text = "".join(self.text)
        finish = self.finish_reason
        return Completion(
            text=text,
            tool_calls=calls,
            finish_reason=finish,
            usage=self.usage,
            served_model=self.model,
            latency_ms=(time.perf_counter() - self.started) * 1000,
            ttft_ms=self.ttft_ms,
            id=self.id,
            created=self.created,
            raw_usage=dict(self.raw_usage) or None,
            choices=[_choice(text, calls, "".join(self.reasoning), finish)],
        )
