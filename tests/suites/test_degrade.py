"""Degradations: deterministic, of the asked strength, and measured where a figure exists
(the SNR of added noise, the band a resample removes, the clip level)."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
from PIL import Image

from benchroute.config import Case, DegradeSpec
from benchroute.suites import degrade_audio, degrade_image, degraded_case, variant_id


def _png(size: tuple[int, int] = (200, 120)) -> bytes:
    image = Image.new("L", size, 255)
    for x in range(20, 180, 20):
        image.paste(0, (x, 20, x + 6, 100))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _wav(signal: np.ndarray, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.round(signal).astype("<i2").tobytes())
    return buffer.getvalue()


def _samples(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data), "rb") as clip:
        return np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2").astype(np.float64)


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_image_degradations_are_deterministic_and_of_the_asked_strength() -> None:
    original = _png()
    for kind, level in [
        ("blur", 2.0),
        ("noise", 20.0),
        ("rotate", 5.0),
        ("contrast", 0.4),
        ("downscale", 0.5),
    ]:
        first, media_type = degrade_image(original, kind, level)
        again, _ = degrade_image(original, kind, level)
        assert first == again and media_type == "image/png", kind
        assert first != original, kind
    small, _ = degrade_image(original, "downscale", 0.25)
    assert _open(small).size == (50, 30)
    jpeg, media_type = degrade_image(original, "jpeg", 10)
    assert media_type == "image/jpeg" and jpeg[:3] == b"\xff\xd8\xff"
    grey = io.BytesIO()
    Image.new("L", (100, 100), 128).save(grey, format="PNG")
    noisy = np.asarray(_open(degrade_image(grey.getvalue(), "noise", 20.0)[0]), dtype=float)
    assert float(np.std(noisy - 128)) == pytest.approx(20, abs=1)  # mid-grey: nothing clips
    flat = np.asarray(_open(degrade_image(original, "contrast", 0.4)[0]), dtype=float)
    assert flat.max() - flat.min() == pytest.approx(0.4 * 255, abs=3)


def test_audio_noise_at_an_snr() -> None:
    t = np.arange(16000) / 16000
    tone = 8000 * np.sin(2 * np.pi * 440 * t)
    noisy = _samples(degrade_audio(_wav(tone), "snr_db", 10))
    noise = noisy - np.round(tone)
    snr = 10 * np.log10(np.mean(tone**2) / np.mean(noise**2))
    assert snr == pytest.approx(10, abs=0.3)


def test_audio_resample_removes_the_band_above_the_new_nyquist() -> None:
    t = np.arange(16000) / 16000
    signal = 6000 * np.sin(2 * np.pi * 300 * t) + 6000 * np.sin(2 * np.pi * 6000 * t)
    out = _samples(degrade_audio(_wav(signal), "resample_hz", 8000))
    spectrum = np.abs(np.fft.rfft(out))
    assert len(out) == len(signal)
    assert spectrum[6000] < 0.05 * spectrum[300]  # 6 kHz is above 8 kHz's Nyquist (4 kHz)


def test_audio_clip() -> None:
    t = np.arange(8000) / 8000
    out = _samples(degrade_audio(_wav(30000 * np.sin(2 * np.pi * 50 * t), 8000), "clip", 0.5))
    assert out.max() == pytest.approx(0.5 * 32767, abs=1) and out.min() == pytest.approx(-0.5 * 32767, abs=1)


def test_degraded_cases_link_to_their_originals() -> None:
    case = Case(id="inv-1", input="read", attachments=["a.png"], metadata={"tag": "x"})
    copy = degraded_case(case, "blur", 3.0)
    assert copy.id == variant_id("inv-1", "blur", 3.0) == "inv-1#blur=3"
    assert copy.metadata == {"tag": "x", "degradation": {"kind": "blur", "level": 3.0, "original": "inv-1"}}
    assert copy.attachments == case.attachments


def test_degrade_spec_levels_are_checked() -> None:
    assert DegradeSpec(blur=[1, 2], snr_db=[10]).variants() == [
        ("blur", 1.0),
        ("blur", 2.0),
        ("snr_db", 10.0),
    ]
    for bad in ({"downscale": [1.5]}, {"jpeg": [0]}, {"rotate": [0]}, {"clip": [1]}):
        with pytest.raises(ValueError, match="out of range"):
            DegradeSpec.model_validate(bad)
