"""The offline OCR baseline: ``provider: tesseract`` reads a request's images with Tesseract.

A floor for document suites that needs no key and no model download: Debian's
``tesseract-ocr`` (installed by ``scripts/setup.sh``) reads every image part of the request
(PDF pages arrive already rendered by the multimodal tier), and the reply is what it read.
With ``output: table`` (or ``auto``, the default, when the prompt asks for a table) the words'
positions (Tesseract's TSV output) are turned into a Markdown table: the lines whose words
split into two or more cells at wide gaps form the table, and each cell goes to the column
whose left or right edge it lines up with; other lines are kept as text above it. A
vision-language model that cannot beat this floor on a suite is not reading the document.

Settings (``settings:`` of the model): ``lang`` (default ``eng``), ``psm`` (page
segmentation mode, default 6: one uniform block), ``output`` (``auto``, ``text``, ``table``),
``binary`` (default ``tesseract`` on PATH), ``timeout_s`` per image. A Tesseract call costs
no tokens: give the model ``prices: {input_per_mtok: 0, output_per_mtok: 0}`` to rank it as
free, or leave it unpriced (its cost is then unknown, never 0).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import re
import shutil
import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from .._errors import ConfigError
from ._context import ProviderContext
from ._registry import provider_settings
from ._types import Completion, CompletionRequest, ProviderError, Usage

if TYPE_CHECKING:
    from ..config import ModelSpec

_TABLE_PROMPT = re.compile(r"\btable\b|\bcolumns?\b|\brows?\b", re.I)


class TesseractSettings(BaseModel):
    """Settings of the ``tesseract`` kind."""

    model_config = ConfigDict(extra="forbid")

    lang: str = Field(default="eng", description="Tesseract language(s), e.g. eng or eng+deu")
    psm: int = Field(default=6, ge=0, le=13, description="page segmentation mode")
    output: Literal["auto", "text", "table"] = Field(
        default="auto", description="plain text or a Markdown table"
    )
    binary: str = Field(default="tesseract", description="the tesseract executable")
    timeout_s: float = Field(default=120.0, gt=0, description="seconds per image")


@dataclass(slots=True)
class _Word:
    text: str
    left: int
    top: int
    width: int
    height: int
    line: tuple[int, int, int]

    @property
    def right(self) -> int:
        return self.left + self.width


def _images(request: CompletionRequest) -> list[bytes]:
    images: list[bytes] = []
    for message in request.messages:
        content = message.content
        if not isinstance(content, list):
            continue
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str) and url.startswith("data:") and "," in url:
                images.append(base64.b64decode(url.split(",", 1)[1]))
            else:
                raise ProviderError(
                    "tesseract reads images sent as data: URLs only",
                    kind="bad_request",
                    hint="attach local files",
                )
    return images


def _words(tsv: str) -> list[_Word]:
    words: list[_Word] = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        try:
            words.append(
                _Word(
                    text,
                    int(row["left"]),
                    int(row["top"]),
                    int(row["width"]),
                    int(row["height"]),
                    (int(row["block_num"]), int(row["par_num"]), int(row["line_num"])),
                )
            )
        except (KeyError, ValueError):
            continue
    return words


def _cells(line: list[_Word], gap: float) -> list[list[_Word]]:
    cells: list[list[_Word]] = [[line[0]]]
    for word in line[1:]:
        if word.left - cells[-1][-1].right > gap:
            cells.append([word])
        else:
            cells[-1].append(word)
    return cells


def table_from_words(words: list[_Word]) -> str:
    """Text lines, then the longest run of multi-cell lines as a Markdown table."""
    if not words:
        return ""
    lines: dict[tuple[int, int, int], list[_Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    ordered = sorted(lines.values(), key=lambda ws: min(w.top for w in ws))
    height = statistics.median(w.height for w in words)
    gap = 1.6 * height
    split = [_cells(sorted(line, key=lambda w: w.left), gap) for line in ordered]
    best: tuple[int, int] = (0, 0)
    start = None
    for index, cells in enumerate([*split, []]):
        if len(cells) >= 2:
            start = index if start is None else start
            continue
        if start is not None and index - start > best[1] - best[0]:
            best = (start, index)
        start = None
    text_lines = [" ".join(w.text for cell in cells for w in cell) for cells in split]
    if best[1] - best[0] < 2:
        return "\n".join(text_lines)
    rows = split[best[0] : best[1]]
    anchor = max(rows, key=len)
    edges = [(cell[0].left, cell[-1].right) for cell in anchor]
    table: list[list[str]] = []
    for cells in rows:
        row = [""] * len(edges)
        for cell in cells:
            left, right = cell[0].left, cell[-1].right
            column = min(
                range(len(edges)),
                key=lambda c: min(abs(left - edges[c][0]), abs(right - edges[c][1])),
            )
            text = " ".join(w.text for w in cell)
            row[column] = f"{row[column]} {text}".strip()
        table.append(row)
    markdown = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(edges)]
    markdown += ["| " + " | ".join(row) + " |" for row in table[1:]]
    before = text_lines[: best[0]]
    after = text_lines[best[1] :]
    return "\n".join([*before, "", *markdown, "", *after]).strip()


class TesseractProvider:
    """Tesseract OCR over the request's images (see the module docstring)."""

    supports_streaming: ClassVar[bool] = False
    settings_model: ClassVar[type[BaseModel]] = TesseractSettings

    def __init__(self, spec: ModelSpec, context: ProviderContext) -> None:
        self.spec = spec
        self.settings = provider_settings(spec, TesseractSettings)
        found = shutil.which(self.settings.binary)
        if found is None:
            raise ConfigError(
                f"model {spec.name!r}: tesseract is not installed ({self.settings.binary!r} is not on PATH)",
                hint="sudo apt-get install tesseract-ocr (scripts/setup.sh installs it)",
            )
        self._binary = found

    async def _ocr(self, image: bytes, tsv: bool) -> str:
        args = [self._binary, "stdin", "stdout", "-l", self.settings.lang, "--psm", str(self.settings.psm)]
        if tsv:
            args.append("tsv")
        process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(image), self.settings.timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise ProviderError(
                f"tesseract took over {self.settings.timeout_s:g} s on one image", kind="timeout"
            ) from None
        if process.returncode != 0:
            message = err.decode("utf-8", "replace").strip().splitlines()
            raise ProviderError(
                f"tesseract failed: {message[-1] if message else f'exit {process.returncode}'}",
                kind="bad_request",
                hint="check settings.lang is installed (tesseract --list-langs)",
            )
        return out.decode("utf-8", "replace")

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        images = _images(request)
        if not images:
            raise ProviderError(
                f"model {self.spec.name!r} (tesseract) got no image to read",
                kind="bad_request",
                hint="tesseract answers multimodal suites with image or PDF attachments",
            )
        output = self.settings.output
        if output == "auto":
            prompt = " ".join(m.text() for m in request.messages if m.role in ("user", "system"))
            output = "table" if _TABLE_PROMPT.search(prompt) else "text"
        pages: list[str] = []
        for image in images:
            if output == "table":
                pages.append(table_from_words(_words(await self._ocr(image, tsv=True))))
            else:
                pages.append((await self._ocr(image, tsv=False)).strip())
        text = "\n\n".join(page for page in pages if page)
        latency = (time.perf_counter() - started) * 1000
        return Completion(
            text=text,
            finish_reason="stop",
            usage=Usage(input_tokens=0, output_tokens=0),
            served_model=f"tesseract-{self.settings.lang}-psm{self.settings.psm}",
            latency_ms=latency,
        )
