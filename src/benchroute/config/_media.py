"""Attachments of multimodal cases (images, PDFs, audio) and a suite's media settings.

A case attaches files by path: ``attachments: [invoice-01.pdf]`` or, with settings,
``attachments: [{path: scene.png, detail: low}]``; a dataset column mapped to
``attachments`` holds one path or several separated by ``;``. A relative path is resolved
against the dataset file's folder, else the suite file's. What kind a file is comes from its
bytes (PNG, JPEG, WebP, GIF, PDF, WAV, MP3), not only its name; it is checked, with its size
against the model's limits, before any request is sent.

A suite's ``media:`` says how files are sent::

    media:
      pdf: {dpi: 150, send: images, text_layer: false, max_pages: 20}
      image: {detail: auto}

``pdf.send: images`` renders each page with pdfium at ``dpi`` and sends the pages as images,
so the model must read pixels; ``text_layer: true`` adds the PDF's own text layer (when it
has one) as text. ``send: file`` sends the PDF itself (OpenAI ``file`` parts, Anthropic
``document`` blocks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MediaKind = Literal["image", "pdf", "audio"]
# What a request is reported under (latency budgets, per-modality figures).
Modality = Literal["text", "image", "audio", "file"]
Detail = Literal["auto", "low", "high"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Attachment(_Strict):
    """One file attached to a case's (last) user message."""

    path: str = Field(min_length=1, description="file path; relative to the dataset or suite file")
    kind: MediaKind | None = Field(default=None, description="image, pdf or audio (default: from the bytes)")
    detail: Detail | None = Field(default=None, description="image detail for OpenAI-style models")
    pages: list[int] | None = Field(default=None, description="PDF pages to send, from 1 (default: all)")

    @model_validator(mode="before")
    @classmethod
    def _path_alone(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _pages_positive(self) -> Attachment:
        if self.pages is not None and any(page < 1 for page in self.pages):
            raise ValueError("pages count from 1")
        return self


def split_attachments(value: Any) -> Any:
    """A dataset cell's attachments: ``a.png;b.pdf`` is two paths; lists pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


class PdfSpec(_Strict):
    dpi: int = Field(default=150, ge=36, le=600, description="rendering resolution of PDF pages")
    send: Literal["images", "file"] = Field(
        default="images", description="images: rendered pages (pixels only); file: the PDF itself"
    )
    text_layer: bool = Field(default=False, description="with send: images, add the PDF's text layer as text")
    max_pages: int = Field(default=20, ge=1, le=500, description="pages rendered per PDF at most")


class ImageSpec(_Strict):
    detail: Detail = Field(default="auto", description="OpenAI image detail: auto, low or high")


class MediaSpec(_Strict):
    """How a suite's attachments are sent."""

    pdf: PdfSpec = Field(default_factory=PdfSpec)
    image: ImageSpec = Field(default_factory=ImageSpec)


class LatencyBudget(_Strict):
    """A latency budget for one modality's requests (milliseconds, end to end)."""

    p50_ms: float | None = Field(default=None, gt=0)
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=None, gt=0)
    ttft_p95_ms: float | None = Field(default=None, gt=0, description="95th percentile time to first token")

    def limits(self) -> list[tuple[str, float]]:
        """The budgets that are set, as (figure name, limit)."""
        return [
            (name, value)
            for name, value in (
                ("p50_ms", self.p50_ms),
                ("p95_ms", self.p95_ms),
                ("p99_ms", self.p99_ms),
                ("ttft_p95_ms", self.ttft_p95_ms),
            )
            if value is not None
        ]


DEGRADATION_KINDS = (
    "downscale",
    "blur",
    "jpeg",
    "rotate",
    "noise",
    "contrast",
    "snr_db",
    "resample_hz",
    "clip",
)


class DegradeSpec(_Strict):
    """Degraded copies of every case's attachments, each linked to its original.

    Levels per kind; each (kind, level) makes one copy of every case with attachments
    (id ``<case>#<kind>=<level>``). Images (and rendered PDF pages): ``downscale`` (factor of
    the side, e.g. 0.5), ``blur`` (gaussian radius, px), ``jpeg`` (quality 1-95), ``rotate``
    (degrees), ``noise`` (gaussian sigma on 0-255), ``contrast`` (factor, 1 = unchanged).
    Audio (WAV): ``snr_db`` (white noise at this signal-to-noise ratio), ``resample_hz``
    (down to this rate and back), ``clip`` (clipped at this share of full scale).
    """

    downscale: list[float] = Field(default_factory=list)
    blur: list[float] = Field(default_factory=list)
    jpeg: list[int] = Field(default_factory=list)
    rotate: list[float] = Field(default_factory=list)
    noise: list[float] = Field(default_factory=list)
    contrast: list[float] = Field(default_factory=list)
    snr_db: list[float] = Field(default_factory=list)
    resample_hz: list[int] = Field(default_factory=list)
    clip: list[float] = Field(default_factory=list)

    @model_validator(mode="after")
    def _levels_in_range(self) -> DegradeSpec:
        checks: dict[str, Callable[[float], bool]] = {
            "downscale": lambda v: 0 < v < 1,
            "blur": lambda v: 0 < v <= 50,
            "jpeg": lambda v: 1 <= v <= 95,
            "rotate": lambda v: -180 <= v <= 180 and v != 0,
            "noise": lambda v: 0 < v <= 255,
            "contrast": lambda v: 0 <= v < 1 or v > 1,
            "snr_db": lambda v: -20 <= v <= 80,
            "resample_hz": lambda v: 1000 <= v <= 48000,
            "clip": lambda v: 0 < v < 1,
        }
        hints = {
            "downscale": "a factor between 0 and 1",
            "blur": "a radius in pixels, 0 < r <= 50",
            "jpeg": "a quality from 1 to 95",
            "rotate": "degrees, not 0",
            "noise": "a sigma between 0 and 255",
            "contrast": "a factor other than 1",
            "snr_db": "decibels from -20 to 80",
            "resample_hz": "a rate from 1000 to 48000",
            "clip": "a share of full scale between 0 and 1",
        }
        for kind, ok in checks.items():
            for level in getattr(self, kind):
                if not ok(level):
                    raise ValueError(f"{kind}: {level} is out of range ({hints[kind]})")
        return self

    def variants(self) -> list[tuple[str, float]]:
        """Every (kind, level), in the order of DEGRADATION_KINDS and of the levels."""
        return [(kind, float(level)) for kind in DEGRADATION_KINDS for level in getattr(self, kind)]
