"""The multimodal tier: unit-style requests whose user message carries images, PDF pages or
audio (``tier: multimodal``).

Before the run is recorded, every case's attachments are checked (the file exists, its
bytes are a supported format) and so is every request against the limits of every model the
suite runs on (:func:`benchroute.providers.check_media`): a wrong file or an oversized scan
stops the run with one line naming the suite file, the case, the attachment and the limit.

Each item then sends the case's prompt with its attachments as content parts of the last
user message (see :mod:`benchroute.suites._media`: rendered PDF pages, data-URI images,
``input_audio``). The stored messages keep the text and replace each payload with a short
reference (``<image invoice-01.pdf#page=1, image/png, 91,204 bytes>``): a result row never
holds megabytes of base64. ``details.media`` records, per result, the modality (``image``,
``audio``, ``file``; ``text`` for a case without attachments), and the parts with their bytes
and pixel sizes, which the per-modality latency figures and budgets read.

``degrade:`` adds, for every case with attachments, a copy per (kind, level) whose images
(rendered PDF pages too) or audio are degraded (:mod:`benchroute.suites._degrade`), id
``<case>#<kind>=<level>`` with ``metadata.degradation`` naming the original: the report's
robustness curves compare each level with the originals.

The response cache keys on the whole request, attachments included, so two scans with the
same prompt are two entries.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import ConfigError
from ..providers import CompletionRequest, Message, check_media
from ..suites import AUDIO_KINDS, MediaFile, MediaPart, degraded_case, inspect_case, media_parts
from ._tiers import WorkItem
from ._unit import UnitTier

if TYPE_CHECKING:
    from ..config import Case, ModelSpec, SuiteSpec
    from ._context import ExecutionContext
    from ._prompting import PromptBuilder

# Case requests built at most this many at a time (a PDF page render holds its bitmap).
_RENDER_CONCURRENCY = 2


def modality_of(records: list[MediaPart]) -> str:
    """The modality a request is reported under: the attachments' (``image`` beats ``file``
    beats ``audio`` when mixed), ``text`` with none."""
    kinds = {record.modality for record in records}
    for kind in ("image", "file", "audio"):
        if kind in kinds:
            return kind
    return "text"


def _placeholder(record: MediaPart | None) -> dict[str, Any]:
    label = (
        f"<{record.modality} {record.source}, {record.media_type}, {record.bytes:,} bytes>"
        if record
        else "<attachment>"
    )
    return {"type": "text", "text": label}


class MultimodalTier(UnitTier):
    """Requests with images, rendered PDF pages or audio, scored like unit requests."""

    accepts_attachments: ClassVar[bool] = True

    def __init__(self) -> None:
        self._files: dict[tuple[str, str], list[MediaFile]] = {}
        self._models: dict[str, list[str]] = {}
        self._parts: dict[tuple[str, str], tuple[list[dict[str, Any]], list[MediaPart]]] = {}
        self._render = asyncio.Semaphore(_RENDER_CONCURRENCY)

    def plan(self, suite: SuiteSpec, models: list[str]) -> list[WorkItem]:
        """Every case, and for each case with attachments a degraded copy per (kind, level)
        of ``degrade:`` that applies to its files (image kinds to images and PDF pages,
        audio kinds to audio), linked to its original."""
        self._models[suite.name] = list(models)
        variants = suite.degrade.variants()
        cases: list[Case] = []
        for case in suite.dataset.cases or []:
            cases.append(case)
            if not variants or not case.attachments:
                continue
            files = self._case_files(suite, case)
            kinds = {"audio" if f.kind == "audio" else "image" for f in files}
            for kind, level in variants:
                if ("audio" if kind in AUDIO_KINDS else "image") in kinds:
                    cases.append(degraded_case(case, kind, level))
        return [
            WorkItem(suite, case, model, repeat)
            for case in cases
            for model in models
            for repeat in range(suite.repeats)
        ]

    def prepare(self, ctx: ExecutionContext, suite: SuiteSpec) -> None:
        image_degradations = [kind for kind, _ in suite.degrade.variants() if kind not in AUDIO_KINDS]
        if image_degradations and suite.media.pdf.send == "file":
            attached = [a.path.lower() for c in suite.dataset.cases or [] for a in c.attachments]
            if any(path.endswith(".pdf") for path in attached):
                raise ConfigError(
                    f"{suite.source or suite.name}: degrade: {image_degradations[0]} degrades pixels, "
                    "but media.pdf.send: file sends PDFs as they are",
                    hint="use media.pdf.send: images (pages rendered, then degraded)",
                )
        for case in suite.dataset.cases or []:
            files = self._case_files(suite, case)
            if not files:
                continue
            for name in self._models.get(suite.name, []):
                spec = ctx.model(name)
                parts = [
                    (
                        "file"
                        if f.kind == "pdf" and suite.media.pdf.send == "file"
                        else ("image" if f.kind == "pdf" else f.kind),
                        "image/png" if f.kind == "pdf" and suite.media.pdf.send == "images" else f.media_type,
                        f.size,
                        f.path.name,
                    )
                    for f in files
                ]
                problem = check_media(name, spec.provider, parts, spec.settings)
                if problem is not None:
                    raise ConfigError(
                        f"{suite.source or suite.name}: case {case.id!r}: attachments: {problem}",
                        hint="choose models that take these files (models: in the suite) or change the files",
                    )

    def _case_files(self, suite: SuiteSpec, case: Case) -> list[MediaFile]:
        key = (suite.name, _original_id(case))
        if key not in self._files:
            self._files[key] = inspect_case(suite, case)
        return self._files[key]

    def _media(self, suite: SuiteSpec, case: Case) -> tuple[list[dict[str, Any]], list[MediaPart]]:
        key = (suite.name, case.id)
        cached = self._parts.get(key)
        if cached is None:
            cached = media_parts(suite, self._case_files(suite, case), degradation=_degradation(case))
            # Only small suites keep rendered parts for the next model's request.
            if len(self._parts) < 64:
                self._parts[key] = cached
        return cached

    def _with_media(
        self, builder: PromptBuilder, item: WorkItem, spec: ModelSpec, parts: list[dict[str, Any]]
    ) -> CompletionRequest:
        request = builder.request(item.case, spec)
        if not parts:
            return request
        messages = list(request.messages)
        for index in range(len(messages) - 1, -1, -1):
            if messages[index].role == "user":
                message = messages[index]
                content = message.content
                text_parts: list[dict[str, Any]]
                if isinstance(content, list):
                    text_parts = [dict(p) if isinstance(p, dict) else p for p in content]
                else:
                    text_parts = [{"type": "text", "text": content or ""}] if content else []
                messages[index] = Message(role="user", content=[*text_parts, *parts])
                break
        else:
            messages.append(Message(role="user", content=list(parts)))
        return request.model_copy(update={"messages": messages})

    async def build(
        self, ctx: ExecutionContext, item: WorkItem, spec: ModelSpec
    ) -> tuple[CompletionRequest, list[dict[str, Any]], dict[str, Any] | None]:
        async with self._render:
            parts, records = await asyncio.to_thread(self._media, item.suite, item.case)
        request = self._with_media(ctx.prompts(item.suite), item, spec, parts)
        # Copies: the request's own wire messages are what is sent.
        stored = [dict(message) for message in request.wire_messages()]
        if parts:
            records_left = iter(records)
            for message in stored:
                content = message.get("content")
                if isinstance(content, list):
                    message["content"] = [
                        _placeholder(next(records_left, None)) if _is_media(part) else part
                        for part in content
                    ]
        details = {
            "media": {
                "modality": modality_of(records),
                "payload_bytes": sum(record.bytes for record in records),
                "parts": [
                    {
                        "modality": r.modality,
                        "media_type": r.media_type,
                        "bytes": r.bytes,
                        "source": r.source,
                        **({"width": r.width, "height": r.height} if r.width else {}),
                        **({"page": r.page} if r.page else {}),
                    }
                    for r in records
                ],
            }
        }
        return request, stored, details

    def cache_request(
        self, builder: PromptBuilder, item: WorkItem, spec: ModelSpec
    ) -> CompletionRequest | None:
        parts, _ = self._media(item.suite, item.case)
        return self._with_media(builder, item, spec, parts)


def _is_media(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") in ("image_url", "input_audio", "file")


def _original_id(case: Case) -> str:
    degradation = case.metadata.get("degradation")
    if isinstance(degradation, dict) and isinstance(degradation.get("original"), str):
        return str(degradation["original"])
    return case.id


def _degradation(case: Case) -> tuple[str, float] | None:
    degradation = case.metadata.get("degradation")
    if isinstance(degradation, dict) and "kind" in degradation and "level" in degradation:
        return str(degradation["kind"]), float(degradation["level"])
    return None
