"""Degraded copies of images and audio, for robustness curves (``degrade:`` of a suite).

Each function takes the bytes a model would be sent and returns degraded bytes of the same
kind, deterministically (noise is seeded by the kind, the level and the input's digest, so
a rerun sends the same pixels and the response cache still applies):

* images (PNG/JPEG/WebP/GIF in, PNG out; JPEG out for ``jpeg``): ``downscale`` by a factor,
  gaussian ``blur`` of a radius, ``jpeg`` re-encoding at a quality, ``rotate`` by degrees
  (white fill, the canvas kept), gaussian ``noise`` of a sigma, ``contrast`` by a factor;
* WAV audio (16-bit PCM): white noise at ``snr_db``, ``resample_hz`` (down to the rate and back
  up with scipy's polyphase filter, which removes what lies above its Nyquist frequency),
  ``clip`` at a share of full scale.

:func:`degraded_case` makes the linked copy of a case: id ``<id>#<kind>=<level>``,
``metadata.degradation = {kind, level, original}``.
"""

from __future__ import annotations

import hashlib
import io
import wave

from ..config import Case

IMAGE_KINDS = frozenset({"downscale", "blur", "jpeg", "rotate", "noise", "contrast"})
AUDIO_KINDS = frozenset({"snr_db", "resample_hz", "clip"})


def level_text(level: float) -> str:
    return f"{level:g}"


def variant_id(case_id: str, kind: str, level: float) -> str:
    return f"{case_id}#{kind}={level_text(level)}"


def degraded_case(case: Case, kind: str, level: float) -> Case:
    """The copy of ``case`` whose attachments are degraded by ``kind`` at ``level``."""
    metadata = {**case.metadata, "degradation": {"kind": kind, "level": level, "original": case.id}}
    return case.model_copy(update={"id": variant_id(case.id, kind, level), "metadata": metadata})


def _seed(kind: str, level: float, data: bytes) -> int:
    digest = hashlib.sha256(f"{kind}:{level!r}:".encode() + hashlib.sha256(data).digest()).digest()
    return int.from_bytes(digest[:8], "big")


def degrade_image(data: bytes, kind: str, level: float) -> tuple[bytes, str]:
    """(bytes, media type) of the image degraded by ``kind`` at ``level``."""
    import numpy as np
    from PIL import Image, ImageEnhance, ImageFilter

    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGB") if opened.mode not in ("L", "RGB") else opened.copy()
    if kind == "downscale":
        size = (max(1, round(image.width * level)), max(1, round(image.height * level)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    elif kind == "blur":
        image = image.filter(ImageFilter.GaussianBlur(radius=level))
    elif kind == "rotate":
        fill = 255 if image.mode == "L" else (255, 255, 255)
        image = image.rotate(level, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=fill)
    elif kind == "noise":
        pixels = np.asarray(image, dtype=np.float32)
        noise = np.random.default_rng(_seed(kind, level, data)).normal(0.0, level, pixels.shape)
        image = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8), mode=image.mode)
    elif kind == "contrast":
        image = ImageEnhance.Contrast(image).enhance(level)
    elif kind == "jpeg":
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=int(level))
        return buffer.getvalue(), "image/jpeg"
    else:
        raise ValueError(f"{kind!r} is not an image degradation")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), "image/png"


def degrade_audio(data: bytes, kind: str, level: float) -> bytes:
    """WAV bytes of the clip degraded by ``kind`` at ``level`` (16-bit PCM in and out)."""
    import numpy as np

    with wave.open(io.BytesIO(data), "rb") as clip:
        channels, width, rate = clip.getnchannels(), clip.getsampwidth(), clip.getframerate()
        frames = clip.readframes(clip.getnframes())
    if width != 2:
        raise ValueError(f"audio degradations take 16-bit PCM WAV (this clip has {8 * width}-bit samples)")
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64).reshape(-1, channels)
    if kind == "snr_db":
        power = float(np.mean(samples**2)) or 1.0
        noise_power = power / (10 ** (level / 10))
        rng = np.random.default_rng(_seed(kind, level, data))
        samples = samples + rng.normal(0.0, noise_power**0.5, samples.shape)
    elif kind == "resample_hz":
        target = int(level)
        if target < rate:
            from math import gcd

            from scipy.signal import resample_poly

            factor = gcd(target, rate)
            count = samples.shape[0]
            low = resample_poly(samples, target // factor, rate // factor, axis=0)
            samples = resample_poly(low, rate // factor, target // factor, axis=0)[:count]
            if samples.shape[0] < count:
                samples = np.pad(samples, ((0, count - samples.shape[0]), (0, 0)))
    elif kind == "clip":
        limit = level * 32767
        samples = np.clip(samples, -limit, limit)
    else:
        raise ValueError(f"{kind!r} is not an audio degradation")
    out = io.BytesIO()
    with wave.open(out, "wb") as clip:
        clip.setnchannels(channels)
        clip.setsampwidth(2)
        clip.setframerate(rate)
        clip.writeframes(np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes())
    return out.getvalue()
