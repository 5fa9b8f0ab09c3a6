"""Attachments in requests to the fake server: validated as the real APIs do, and keyed.

The fake server refuses a malformed attachment with the 400 a real API gives (a data: URL
that is not base64, bytes that are not the declared image type, an audio format other than
wav/mp3, a PDF that does not start ``%PDF``, an image over the API's size limit), so a
client bug shows in tests, not first in production. Accepted attachments are decoded and
identified by the SHA-256 of their bytes: :meth:`FakeServer.answer_attachments` scripts a
reply per attachment digest (the same file always gets the same scripted answer, whatever
the prompt), and :func:`attachments` lists what a request carried for assertions.

OpenAI parts: ``image_url`` (data: or http(s) URL, ``detail`` auto/low/high),
``input_audio`` (``{data, format}``), ``file`` (``{file_data: data:application/pdf;...}``).
Anthropic blocks: ``image`` and ``document`` with ``base64`` (or ``url``) sources.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

_IMAGE_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
OPENAI_IMAGE_LIMIT = 20 * 1024 * 1024
ANTHROPIC_IMAGE_LIMIT = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment a request carried."""

    kind: str  # image | audio | file
    media_type: str
    sha256: str
    size: int
    detail: str | None = None


def _image_matches(media_type: str, data: bytes) -> bool:
    if media_type == "image/webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return any(data.startswith(magic) for magic in _IMAGE_MAGIC.get(media_type, ()))


def _decode(data: object) -> bytes | None:
    if not isinstance(data, str) or not data:
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def _data_url(url: str) -> tuple[str, bytes | None] | None:
    """(media type, bytes or None when not base64) of a data: URL; None for another URL."""
    if not url.startswith("data:"):
        return None
    header, sep, payload = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not sep or encoding != "base64":
        return media_type, None
    return media_type, _decode(payload)


def _image(media_type: str, data: bytes | None, limit: int, detail: str | None) -> Attachment | str:
    if data is None:
        return "Invalid image: the data is not valid base64."
    if media_type not in ("image/png", "image/jpeg", "image/gif", "image/webp"):
        return f"Invalid image: unsupported media type {media_type!r} (png, jpeg, gif or webp)."
    if not _image_matches(media_type, data):
        return f"Invalid image: the data is not a valid {media_type.split('/')[1].upper()} image."
    if len(data) > limit:
        return f"Invalid image: {len(data)} bytes is over the {limit // (1024 * 1024)} MB limit."
    return Attachment("image", media_type, hashlib.sha256(data).hexdigest(), len(data), detail)


def _openai_part(part: dict[str, Any]) -> Attachment | str | None:
    kind = part.get("type")
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        detail = image.get("detail") if isinstance(image, dict) else None
        if detail is not None and detail not in ("auto", "low", "high"):
            return f"Invalid value for 'detail': {detail!r}; supported values are 'auto', 'low' and 'high'."
        if not isinstance(url, str) or not url:
            return "Missing required parameter: 'image_url.url'."
        parsed = _data_url(url)
        if parsed is None:
            if url.startswith(("http://", "https://")):
                return Attachment("image", "url", hashlib.sha256(url.encode()).hexdigest(), 0, detail)
            return "Invalid image URL: expected a base64 data: URL or an http(s) URL."
        return _image(parsed[0], parsed[1], OPENAI_IMAGE_LIMIT, detail)
    if kind == "input_audio":
        audio = part.get("input_audio")
        if not isinstance(audio, dict):
            return "Missing required parameter: 'input_audio'."
        audio_format = audio.get("format")
        if audio_format not in ("wav", "mp3"):
            return (
                f"Invalid value for 'input_audio.format': {audio_format!r}; "
                "supported values are 'wav' and 'mp3'."
            )
        data = _decode(audio.get("data"))
        if data is None:
            return "Invalid 'input_audio.data': expected base64-encoded audio."
        looks_right = (
            data[:4] == b"RIFF" and data[8:12] == b"WAVE"
            if audio_format == "wav"
            else data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
        )
        if not looks_right:
            return f"Invalid 'input_audio.data': the data is not {audio_format} audio."
        return Attachment(
            "audio",
            f"audio/{'mpeg' if audio_format == 'mp3' else 'wav'}",
            hashlib.sha256(data).hexdigest(),
            len(data),
        )
    if kind == "file":
        file = part.get("file")
        file_data = file.get("file_data") if isinstance(file, dict) else None
        if not isinstance(file_data, str):
            return "Missing required parameter: 'file.file_data' (or 'file.file_id')."
        parsed = _data_url(file_data)
        if parsed is None or parsed[1] is None:
            return "Invalid 'file.file_data': expected a base64 data: URL."
        media_type, data = parsed
        assert data is not None
        if media_type != "application/pdf" or not data.startswith(b"%PDF-"):
            return "Invalid file: only PDF files are supported for 'file' parts."
        return Attachment("file", media_type, hashlib.sha256(data).hexdigest(), len(data))
    return None


def _anthropic_block(block: dict[str, Any]) -> Attachment | str | None:
    kind = block.get("type")
    if kind not in ("image", "document"):
        return None
    source = block.get("source")
    if not isinstance(source, dict):
        return f"messages: {kind}.source: Field required"
    if source.get("type") == "url":
        url = str(source.get("url") or "")
        return Attachment(
            kind if kind == "image" else "file", "url", hashlib.sha256(url.encode()).hexdigest(), 0
        )
    if source.get("type") != "base64":
        return f"messages: {kind}.source.type: Input should be 'base64' or 'url'"
    media_type = str(source.get("media_type") or "")
    data = _decode(source.get("data"))
    if kind == "image":
        found = _image(media_type, data, ANTHROPIC_IMAGE_LIMIT, None)
        return found if isinstance(found, Attachment) else f"messages: image.source: {found}"
    if data is None or media_type != "application/pdf" or not data.startswith(b"%PDF-"):
        return "messages: document.source: the PDF specified was not valid."
    return Attachment("file", media_type, hashlib.sha256(data).hexdigest(), len(data))


def _parts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            out.extend(part for part in content if isinstance(part, dict))
    return out


def check_attachments(messages: list[dict[str, Any]], dialect: str) -> tuple[list[Attachment], str | None]:
    """The attachments of a request's messages, or the 400 message of the first bad one."""
    read = _anthropic_block if dialect == "anthropic" else _openai_part
    found: list[Attachment] = []
    for part in _parts(messages):
        outcome = read(part)
        if isinstance(outcome, str):
            return found, outcome
        if outcome is not None:
            found.append(outcome)
    return found, None


def attachments(messages: list[dict[str, Any]], dialect: str = "openai") -> list[Attachment]:
    """The valid attachments a request carried (for assertions on recorded requests)."""
    return check_attachments(messages, dialect)[0]


# --- input tokens of attachments, counted as the providers document ---------------------------


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, JPEG or WebP from its header, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
        if chunk == b"VP8 " and len(data) >= 30:
            return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(
                data[28:30], "little"
            ) & 0x3FFF
        if chunk == b"VP8L" and len(data) >= 25:
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        return None
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                index += 1
                continue
            marker = data[index + 1]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                return int.from_bytes(data[index + 7 : index + 9], "big"), int.from_bytes(
                    data[index + 5 : index + 7], "big"
                )
            length = int.from_bytes(data[index + 2 : index + 4], "big")
            index += 2 + max(length, 2)
    return None


def openai_image_tokens(size: tuple[int, int] | None, detail: str | None) -> int:
    """OpenAI's vision token count: 85 for ``low``; else the image fit into 2048 x 2048,
    its short side scaled to 768, and 170 per 512-pixel tile plus 85."""
    if detail == "low" or size is None:
        return 85
    fitted = min(1.0, 2048 / max(size))
    width, height = size[0] * fitted, size[1] * fitted
    shortened = min(1.0, 768 / min(width, height))
    width, height = width * shortened, height * shortened
    tiles = -(-int(width) // 512) * -(-int(height) // 512)
    return 85 + 170 * tiles


def anthropic_image_tokens(size: tuple[int, int] | None) -> int:
    """Anthropic's estimate: width x height / 750 (after fitting into 1568 px on the long side)."""
    if size is None:
        return 1600
    width, height = size
    scale = min(1.0, 1568 / max(width, height))
    return max(1, round(width * scale * height * scale / 750))


def attachment_tokens(messages: list[dict[str, Any]], dialect: str) -> int:
    """Input tokens the request's images (and audio: 10 per second) add to its text."""
    total = 0
    for part in _parts(messages):
        kind = part.get("type")
        if kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            detail = image.get("detail") if isinstance(image, dict) else None
            parsed = _data_url(url) if isinstance(url, str) else None
            data = parsed[1] if parsed is not None else None
            total += openai_image_tokens(image_size(data) if data else None, detail)
        elif kind == "image" and dialect == "anthropic":
            source = part.get("source")
            data = _decode(source.get("data")) if isinstance(source, dict) else None
            total += anthropic_image_tokens(image_size(data) if data else None)
        elif kind == "input_audio":
            audio = part.get("input_audio")
            data = _decode(audio.get("data")) if isinstance(audio, dict) else None
            if data and data[:4] == b"RIFF" and len(data) >= 44:
                rate = int.from_bytes(data[28:32], "little") or 1  # bytes per second
                total += max(1, round(10 * (len(data) - 44) / rate))
    return total
