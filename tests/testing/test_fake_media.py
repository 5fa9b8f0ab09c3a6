"""The fake server's attachments: refused as the real APIs refuse them, scripted by digest,
and translated by the Anthropic adapter into document blocks. Over HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import wave
from typing import Any

import aiohttp
import pytest

from benchroute.config import ModelSpec
from benchroute.providers import CompletionRequest, ProviderContext, ProviderError, Secrets, create_provider
from benchroute.testing import FakeServer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n%fake\n"


def _wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return buffer.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _post(fake: FakeServer, parts: list[dict[str, Any]], model: str = "m") -> tuple[int, dict[str, Any]]:
    async def go() -> tuple[int, dict[str, Any]]:
        body = {
            "model": model,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "q"}, *parts]}],
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{fake.base_url}/chat/completions", json=body) as r,
        ):
            return r.status, await r.json()

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64,%%%"}}, "not valid base64"),
        (
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_b64(PDF)}"}},
            "not a valid PNG",
        ),
        (
            {
                "type": "image_url",
                "image_url": {"url": f"data:image/png;base64,{_b64(PNG)}", "detail": "ultra"},
            },
            "detail",
        ),
        (
            {"type": "image_url", "image_url": {"url": f"data:image/tiff;base64,{_b64(PNG)}"}},
            "unsupported media type",
        ),
        ({"type": "input_audio", "input_audio": {"data": _b64(_wav()), "format": "flac"}}, "'wav' and 'mp3'"),
        ({"type": "input_audio", "input_audio": {"data": _b64(PNG), "format": "wav"}}, "not wav audio"),
        (
            {
                "type": "file",
                "file": {"filename": "a.pdf", "file_data": f"data:application/pdf;base64,{_b64(PNG)}"},
            },
            "only PDF",
        ),
    ],
)
def test_malformed_attachments_are_refused_with_a_400(
    fake: FakeServer, part: dict[str, Any], message: str
) -> None:
    status, body = _post(fake, [part])
    assert status == 400
    assert message in body["error"]["message"]


def test_attachments_are_recorded_and_answered_by_digest(fake: FakeServer) -> None:
    audio = _wav()
    fake.answer_attachments({hashlib.sha256(audio).hexdigest(): "heard it"})
    fake.answer_attachments({hashlib.sha256(PNG).hexdigest(): "saw it (m2)"}, model="m2")
    parts = [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_b64(PNG)}", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": _b64(audio), "format": "wav"}},
        {
            "type": "file",
            "file": {"filename": "a.pdf", "file_data": f"data:application/pdf;base64,{_b64(PDF)}"},
        },
    ]
    status, body = _post(fake, parts)
    assert status == 200 and body["choices"][0]["message"]["content"] == "heard it"
    status, body = _post(fake, parts, model="m2")
    assert body["choices"][0]["message"]["content"] == "saw it (m2)"
    recorded = fake.requests[0].attachments
    assert [(a.kind, a.media_type, a.size) for a in recorded] == [
        ("image", "image/png", len(PNG)),
        ("audio", "audio/wav", len(audio)),
        ("file", "application/pdf", len(PDF)),
    ]
    assert recorded[0].detail == "low"


def test_anthropic_adapter_sends_pdfs_as_documents_and_refuses_audio(fake: FakeServer) -> None:
    spec = ModelSpec(name="c", provider="anthropic", base_url=fake.url, model="claude-x")
    fake.answer_attachments({hashlib.sha256(PDF).hexdigest(): "read the pdf"})

    async def go(parts: list[dict[str, Any]]) -> str:
        context = ProviderContext(secrets=Secrets({}))
        try:
            provider = create_provider(spec, context)
            content = [{"type": "text", "text": "q"}, *parts]
            request = CompletionRequest.from_openai(
                {"model": "c", "messages": [{"role": "user", "content": content}]}
            )
            return (await provider.complete(request)).text
        finally:
            await context.aclose()

    pdf = {
        "type": "file",
        "file": {"filename": "a.pdf", "file_data": f"data:application/pdf;base64,{_b64(PDF)}"},
    }
    assert asyncio.run(go([pdf])) == "read the pdf"
    (request,) = fake.requests
    block = request.body["messages"][0]["content"][1]  # type: ignore[index]
    assert block == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": _b64(PDF)},
        "title": "a.pdf",
    }
    with pytest.raises(ProviderError, match="takes no audio input"):
        asyncio.run(go([{"type": "input_audio", "input_audio": {"data": _b64(_wav()), "format": "wav"}}]))


def test_images_and_audio_add_input_tokens_as_billed(fake: FakeServer) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1024, 1024), (200, 10, 10)).save(buffer, format="PNG")
    square = _b64(buffer.getvalue())
    _, text_only = _post(fake, [])
    _, high = _post(
        fake,
        [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{square}", "detail": "high"}}],
    )
    _, low = _post(
        fake,
        [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{square}", "detail": "low"}}],
    )
    # OpenAI's documented counts: 1024 x 1024 at high detail is 4 tiles, 85 + 4 x 170 = 765; low is 85
    base = text_only["usage"]["prompt_tokens"]
    assert high["usage"]["prompt_tokens"] - base == 765
    assert low["usage"]["prompt_tokens"] - base == 85
    _, audio = _post(fake, [{"type": "input_audio", "input_audio": {"data": _b64(_wav()), "format": "wav"}}])
    assert audio["usage"]["prompt_tokens"] - base == 1  # 0.1 s of audio at 10 tokens a second
