"""What each provider kind accepts as attachments, and the limits the APIs document.

A multimodal suite checks every case's files against the limits of every model it runs on
before the first request (:func:`check_media`), so a 30 MB scan or an audio clip sent to a
model that takes no audio fails at once with the file, the case and the limit, not as a
provider's 400 on case 17 after sixteen paid calls.

Limits by kind (from the providers' documentation, 2026):

* ``openai`` (and OpenAI-compatible servers, the default for plugin kinds): images PNG,
  JPEG, WebP, non-animated GIF up to 20 MB each, 500 per request, 50 MB per request;
  ``input_audio`` WAV or MP3 up to 25 MB; PDF ``file`` parts up to 32 MB.
* ``anthropic``: images JPEG, PNG, GIF, WebP up to 5 MB each and 100 per request; PDFs up
  to 32 MB as ``document`` blocks; no audio input.
* ``local`` (the embedded llama.cpp text models): no attachments.
* ``tesseract`` (the offline OCR baseline): images and PDFs (rendered), no audio.

A model's ``settings.media`` in ``benchroute.yaml`` may override these for a server whose
limits differ: ``{accepts: [image], max_image_mb: 10}``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class MediaLimits:
    accepts: frozenset[str]  # image | audio | file (a PDF sent as itself)
    max_image_bytes: int | None = None
    max_images: int | None = None
    max_request_bytes: int | None = None
    max_audio_bytes: int | None = None
    max_file_bytes: int | None = None
    image_types: frozenset[str] = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})


_OPENAI = MediaLimits(
    accepts=frozenset({"image", "audio", "file"}),
    max_image_bytes=20 * MB,
    max_images=500,
    max_request_bytes=50 * MB,
    max_audio_bytes=25 * MB,
    max_file_bytes=32 * MB,
)
_LIMITS: dict[str, MediaLimits] = {
    "openai": _OPENAI,
    "anthropic": MediaLimits(
        accepts=frozenset({"image", "file"}),
        max_image_bytes=5 * MB,
        max_images=100,
        max_request_bytes=32 * MB,
        max_file_bytes=32 * MB,
    ),
    "local": MediaLimits(accepts=frozenset()),
    "tesseract": MediaLimits(accepts=frozenset({"image"}), max_image_bytes=200 * MB),
}


def media_limits(provider: str, settings: dict[str, Any] | None = None) -> MediaLimits:
    """The limits of a provider kind, with a model's ``settings.media`` overrides."""
    limits = _LIMITS.get(provider, _OPENAI)
    override = (settings or {}).get("media")
    if not isinstance(override, dict):
        return limits
    changes: dict[str, Any] = {}
    if "accepts" in override:
        changes["accepts"] = frozenset(str(kind) for kind in override["accepts"])
    for key, field in (
        ("max_image_mb", "max_image_bytes"),
        ("max_request_mb", "max_request_bytes"),
        ("max_audio_mb", "max_audio_bytes"),
        ("max_file_mb", "max_file_bytes"),
    ):
        if key in override:
            changes[field] = int(float(override[key]) * MB)
    if "max_images" in override:
        changes["max_images"] = int(override["max_images"])
    return replace(limits, **changes)


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"


def check_media(
    model: str, provider: str, parts: list[tuple[str, str, int, str]], settings: dict[str, Any] | None = None
) -> str | None:
    """Why ``model`` cannot take these parts, or None. ``parts``: (modality, media type,
    bytes, source name) of one request's attachments."""
    limits = media_limits(provider, settings)
    names = {"image": "images", "audio": "audio", "file": "PDF files"}
    for modality, media_type, size, source in parts:
        if modality not in limits.accepts:
            accepted = ", ".join(sorted(names[k] for k in limits.accepts)) or "no attachments"
            hint = (
                " (send PDFs as rendered pages: media.pdf.send: images)"
                if modality == "file" and "image" in limits.accepts
                else ""
            )
            what = names.get(modality, modality)
            return f"{source}: model {model!r} ({provider}) does not accept {what}; it takes {accepted}{hint}"
        if modality == "image":
            if media_type not in limits.image_types:
                types = ", ".join(sorted(limits.image_types))
                return f"{source}: {media_type} is not an image type {provider} accepts ({types})"
            if limits.max_image_bytes is not None and size > limits.max_image_bytes:
                return (
                    f"{source}: {_mb(size)} is over {provider}'s {_mb(limits.max_image_bytes)} per image "
                    "(downscale it or lower media.pdf.dpi)"
                )
        if modality == "audio" and limits.max_audio_bytes is not None and size > limits.max_audio_bytes:
            return f"{source}: {_mb(size)} is over {provider}'s {_mb(limits.max_audio_bytes)} per audio clip"
        if modality == "file" and limits.max_file_bytes is not None and size > limits.max_file_bytes:
            return f"{source}: {_mb(size)} is over {provider}'s {_mb(limits.max_file_bytes)} per PDF"
    images = sum(1 for part in parts if part[0] == "image")
    if limits.max_images is not None and images > limits.max_images:
        return f"{images} images in one request; {provider} takes at most {limits.max_images}"
    total = sum(part[2] for part in parts)
    if limits.max_request_bytes is not None and total * 4 / 3 > limits.max_request_bytes:
        return (
            f"{_mb(int(total * 4 / 3))} of attachments (base64) in one request; "
            f"{provider} takes at most {_mb(limits.max_request_bytes)}"
        )
    return None
