"""Reading a case's attachments into what a model is sent: images, rendered PDF pages, audio.

:func:`inspect_attachment` checks one file without decoding it (it exists, its bytes are one
of the supported formats, its declared kind agrees) and is run for every case before a run
starts, so a missing or wrong file stops the run with one line naming the suite file, the
case and the field. :func:`media_parts` then turns a case's attachments into OpenAI-style
content parts, the form every adapter translates from:

* an image: ``{"type": "image_url", "image_url": {"url": "data:image/png;base64,...",
  "detail": ...}}``;
* a PDF, with ``media.pdf.send: images`` (default): each page rendered by pdfium at
  ``media.pdf.dpi`` and sent as a PNG image part, so the model must read pixels; with
  ``text_layer: true`` the page's own text layer follows as a text part; with
  ``send: file``: ``{"type": "file", "file": {"filename": ..., "file_data": "data:..."}}``;
* audio: ``{"type": "input_audio", "input_audio": {"data": "<base64>", "format": "wav"}}``.

Each part comes with a :class:`MediaPart` record (modality, bytes, pixel size, pages) that
the run stores per result, so payload size is reported per modality.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from ..config import Attachment, Case, MediaSpec, SuiteSpec

# Magic bytes of the formats sent to models.
_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image", "image/png"),
    (b"\xff\xd8\xff", 0, "image", "image/jpeg"),
    (b"GIF87a", 0, "image", "image/gif"),
    (b"GIF89a", 0, "image", "image/gif"),
    (b"%PDF-", 0, "pdf", "application/pdf"),
    (b"ID3", 0, "audio", "audio/mpeg"),
)
_EXTENSIONS = {
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".webp": "image",
    ".gif": "image",
    ".pdf": "pdf",
    ".wav": "audio",
    ".mp3": "audio",
}


def sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, media type) of a file from its first bytes, or None when unsupported."""
    for magic, offset, kind, media_type in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return kind, media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio", "audio/wav"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio", "audio/mpeg"  # an MPEG audio frame header without ID3 tag
    return None


@dataclass(frozen=True, slots=True)
class MediaFile:
    """One checked attachment: where it is, what it is, how big."""

    path: Path
    kind: str
    media_type: str
    size: int
    attachment: Attachment


@dataclass(frozen=True, slots=True)
class MediaPart:
    """What one content part carries: its modality, payload bytes, and source."""

    modality: str  # image | audio | file
    media_type: str
    bytes: int
    source: str
    width: int | None = None
    height: int | None = None
    page: int | None = None


def _where(suite: SuiteSpec, case: Case, index: int) -> str:
    return f"{suite.source or suite.name}: case {case.id!r}: attachments.{index}"


def resolve(suite: SuiteSpec, attachment: Attachment) -> Path:
    """The attachment's file: absolute, else under the dataset file's folder, else the suite
    file's."""
    path = Path(attachment.path).expanduser()
    if path.is_absolute():
        return path
    bases: list[Path] = []
    if suite.dataset.path:
        data = Path(suite.dataset.path)
        if not data.is_absolute() and suite.source:
            data = Path(suite.source).parent / data
        bases.append(data.parent)
    if suite.source:
        bases.append(Path(suite.source).parent)
    bases.append(Path.cwd())
    for base in bases:
        if (base / path).exists():
            return base / path
    return bases[0] / path


def inspect_attachment(suite: SuiteSpec, case: Case, index: int) -> MediaFile:
    """Check attachment ``index`` of ``case`` (exists, supported format, declared kind)."""
    attachment = case.attachments[index]
    where = _where(suite, case, index)
    path = resolve(suite, attachment)
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError(
            f"{where}: file not found: {path}", hint="paths are relative to the dataset file's folder"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror or exc}") from None
    found = sniff(head)
    if found is None:
        by_name = _EXTENSIONS.get(path.suffix.lower())
        raise ConfigError(
            f"{where}: {path.name} is not a PNG, JPEG, WebP, GIF, PDF, WAV or MP3 file"
            + (f" (its name says {by_name}, its bytes do not)" if by_name else ""),
            hint="convert it, e.g. to PNG for images or WAV for audio",
        )
    kind, media_type = found
    if attachment.kind is not None and attachment.kind != kind:
        raise ConfigError(f"{where}: kind: {attachment.kind} given, but {path.name} is {media_type}")
    if attachment.pages is not None and kind != "pdf":
        raise ConfigError(f"{where}: pages: only a PDF has pages ({path.name} is {media_type})")
    if size == 0:
        raise ConfigError(f"{where}: {path.name} is empty")
    return MediaFile(path, kind, media_type, size, attachment)


def inspect_case(suite: SuiteSpec, case: Case) -> list[MediaFile]:
    return [inspect_attachment(suite, case, index) for index in range(len(case.attachments))]


def _data_uri(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _image_size(data: bytes) -> tuple[int | None, int | None]:
    try:
        from PIL import Image
    except ImportError:
        return None, None
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return None, None


def render_pdf(
    path: Path, *, dpi: int, pages: list[int] | None, max_pages: int
) -> list[tuple[int, bytes, str]]:
    """(page number, PNG bytes, text layer) of a PDF's pages, rendered with pdfium."""
    try:
        import pypdfium2 as pdfium
    except ImportError:
        raise ConfigError(
            "rendering PDF pages needs pypdfium2", hint="pip install 'benchroute[multimodal]'"
        ) from None
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise ConfigError(
            f"{path}: not a readable PDF ({exc})", hint="open it in a PDF viewer to check"
        ) from None
    try:
        count = len(document)
        wanted = pages or list(range(1, count + 1))
        missing = [page for page in wanted if page > count]
        if missing:
            raise ConfigError(f"{path}: pages {missing} asked for, the PDF has {count}")
        if len(wanted) > max_pages:
            raise ConfigError(
                f"{path}: {len(wanted)} pages, media.pdf.max_pages is {max_pages}",
                hint="choose pages: [...] or raise media.pdf.max_pages",
            )
        out: list[tuple[int, bytes, str]] = []
        for number in wanted:
            page = document[number - 1]
            bitmap = page.render(scale=dpi / 72)
            image = bitmap.to_pil()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=False)
            text_page = page.get_textpage()
            text = text_page.get_text_bounded()
            out.append((number, buffer.getvalue(), text))
        return out
    finally:
        document.close()


def _image_part(media_type: str, data: bytes, detail: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": _data_uri(media_type, data), "detail": detail}}


def media_parts(
    suite: SuiteSpec,
    files: list[MediaFile],
    media: MediaSpec | None = None,
    degradation: tuple[str, float] | None = None,
) -> tuple[list[dict[str, Any]], list[MediaPart]]:
    """OpenAI-style content parts for checked attachments, and what each carries;
    ``degradation`` (kind, level) degrades every image (rendered pages too) or audio clip it
    applies to (see :mod:`._degrade`)."""
    from ._degrade import AUDIO_KINDS, IMAGE_KINDS, degrade_audio, degrade_image

    settings = media or suite.media
    image_kind = degradation if degradation is not None and degradation[0] in IMAGE_KINDS else None
    audio_kind = degradation if degradation is not None and degradation[0] in AUDIO_KINDS else None
    parts: list[dict[str, Any]] = []
    records: list[MediaPart] = []
    for item in files:
        data = item.path.read_bytes()
        name = item.path.name
        detail = item.attachment.detail or settings.image.detail
        if item.kind == "image":
            media_type = item.media_type
            if image_kind is not None:
                data, media_type = degrade_image(data, *image_kind)
            parts.append(_image_part(media_type, data, detail))
            width, height = _image_size(data)
            records.append(MediaPart("image", media_type, len(data), name, width, height))
        elif item.kind == "audio":
            if audio_kind is not None:
                if item.media_type != "audio/wav":
                    raise ConfigError(
                        f"{item.path}: audio degradations take WAV files ({item.media_type} given)",
                        hint="convert it to WAV (e.g. ffmpeg -i in.mp3 out.wav)",
                    )
                data = degrade_audio(data, *audio_kind)
            audio_format = "mp3" if item.media_type == "audio/mpeg" else "wav"
            encoded = base64.b64encode(data).decode("ascii")
            parts.append({"type": "input_audio", "input_audio": {"data": encoded, "format": audio_format}})
            records.append(MediaPart("audio", item.media_type, len(data), name))
        elif settings.pdf.send == "file":
            parts.append(
                {"type": "file", "file": {"filename": name, "file_data": _data_uri("application/pdf", data)}}
            )
            records.append(MediaPart("file", "application/pdf", len(data), name))
        else:
            rendered = render_pdf(
                item.path, dpi=settings.pdf.dpi, pages=item.attachment.pages, max_pages=settings.pdf.max_pages
            )
            for number, png, text in rendered:
                page, page_type = (
                    (png, "image/png") if image_kind is None else degrade_image(png, *image_kind)
                )
                parts.append(_image_part(page_type, page, detail))
                width, height = _image_size(page)
                source = f"{name}#page={number}"
                records.append(MediaPart("image", page_type, len(page), source, width, height, number))
                if settings.pdf.text_layer and text.strip():
                    parts.append(
                        {"type": "text", "text": f"[text layer of {name}, page {number}]\n{text.strip()}"}
                    )
    return parts, records
