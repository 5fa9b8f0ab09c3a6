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

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MediaKind = Literal["image", "pdf", "audio"]
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
