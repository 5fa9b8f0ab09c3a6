"""Test documents made by the project: invoices with line-item tables, with a scanned look.

``benchroute dataset generate tables DIR --count 20 --seed 0`` writes, per document, a PDF
(a scan: the page is an image, with no text layer, so a model must read pixels) and a PNG of
the same page, and ``cases.jsonl`` with the ground truth: the line-item table (header and
rows, as ``expected``) and the invoice's fields (``metadata.fields``: invoice number, date,
vendor, total), plus ``suite.yaml``, a multimodal suite over them scored by ``table_cells``
and ``teds``.

Everything is drawn with Pillow's built-in scalable font (no font files, no downloads) and
made to look scanned, by seeded amounts per document: a small rotation, a lower resolution
(``--dpi``, default 110), blur, gaussian noise and JPEG artefacts. The same seed makes the
same documents byte for byte on the same Pillow version.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ITEMS = (
    "Paper A4 box",
    "Toner cartridge",
    "USB-C cable",
    "Desk lamp",
    "Office chair",
    "Stapler",
    "Notebook pack",
    "Monitor stand",
    "Keyboard",
    "Wireless mouse",
    "Label printer",
    "Shredder",
    "Whiteboard",
    "Marker set",
    "Headset",
    "Webcam",
    "Ethernet switch",
    "HDMI adapter",
    "Laptop sleeve",
    "Filing cabinet",
    "Coffee beans 1kg",
    "Water filter",
    "Desk organiser",
    "Power strip",
    "SSD 1TB",
    "Router",
    "Projector bulb",
    "Envelope pack",
    "Binder clips",
)
_VENDORS = (
    "Acme Office Supply GmbH",
    "Northwind Traders Ltd",
    "Contoso Systems Inc",
    "Globex Papier SARL",
    "Initech Hardware BV",
    "Umbrella Logistics AB",
    "Stark Components Oy",
    "Wayne Stationery LLC",
)
HEADER = ["Item", "Qty", "Unit price", "Amount"]


@dataclass(slots=True)
class Invoice:
    number: str
    date: dt.date
    vendor: str
    rows: list[list[str]]
    total: str
    fields: dict[str, str] = field(default_factory=dict)


def _money(value: float) -> str:
    return f"{value:,.2f}"


def make_invoice(rng: random.Random, index: int) -> Invoice:
    count = rng.randint(3, 7)
    rows: list[list[str]] = []
    total = 0.0
    for name in rng.sample(_ITEMS, count):
        qty = rng.randint(1, 24)
        price = round(rng.uniform(1.5, 480.0), 2)
        amount = round(qty * price, 2)
        total += amount
        rows.append([name, str(qty), _money(price), _money(amount)])
    date = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 330))
    number = f"INV-{2026}-{rng.randint(1000, 9999)}-{index:02d}"
    vendor = rng.choice(_VENDORS)
    invoice = Invoice(number, date, vendor, rows, _money(round(total, 2)))
    invoice.fields = {
        "invoice_no": number,
        "date": date.isoformat(),
        "vendor": vendor,
        "total": invoice.total,
    }
    return invoice


def render_invoice(invoice: Invoice, *, width: int = 1700, height: int = 2200) -> Any:
    """The invoice as a clean page image (200 dpi letter-ish), black on white."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    big = ImageFont.load_default(size=64)
    body = ImageFont.load_default(size=36)
    small = ImageFont.load_default(size=30)
    x0 = 120
    draw.text((x0, 120), invoice.vendor, font=big, fill=0)
    draw.text((x0, 230), "INVOICE", font=body, fill=0)
    draw.text((x0, 320), f"Invoice No: {invoice.number}", font=body, fill=0)
    draw.text((x0, 380), f"Date: {invoice.date.isoformat()}", font=body, fill=0)
    columns = [x0, x0 + 640, x0 + 860, x0 + 1180]
    right_edges = [None, x0 + 800, x0 + 1120, width - 140]
    top = 520
    row_height = 78
    draw.line((x0 - 10, top - 14, width - 120, top - 14), fill=0, width=3)
    for c, label in enumerate(HEADER):
        _cell(draw, label, columns[c], right_edges[c], top, body)
    draw.line((x0 - 10, top + row_height - 20, width - 120, top + row_height - 20), fill=0, width=2)
    for r, row in enumerate(invoice.rows, start=1):
        y = top + r * row_height
        for c, value in enumerate(row):
            _cell(draw, value, columns[c], right_edges[c], y, body)
    bottom = top + (len(invoice.rows) + 1) * row_height
    draw.line((x0 - 10, bottom - 20, width - 120, bottom - 20), fill=0, width=3)
    _cell(draw, f"Total: {invoice.total}", columns[2], right_edges[3], bottom + 10, body)
    draw.text(
        (x0, height - 200), "Payment due within 30 days. Thank you for your business.", font=small, fill=0
    )
    return page


def _cell(draw: Any, text: str, left: int, right: int | None, y: int, font: Any) -> None:
    if right is None:
        draw.text((left, y), text, font=font, fill=0)
        return
    width = draw.textlength(text, font=font)
    draw.text((right - width, y), text, font=font, fill=0)


def scanned(page: Any, rng: random.Random, *, dpi: int = 110) -> Any:
    """A clean 200-dpi page made to look scanned: rotated, resampled to ``dpi``, blurred,
    noisy and JPEG-compressed, by seeded amounts."""
    import numpy as np
    from PIL import Image, ImageFilter

    angle = rng.uniform(-1.6, 1.6)
    image = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    scale = dpi / 200
    image = image.resize((int(image.width * scale), int(image.height * scale)), Image.Resampling.BILINEAR)
    image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 0.8)))
    pixels = np.asarray(image, dtype=np.float32)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(6, 14), pixels.shape)
    grey = np.clip(pixels * rng.uniform(0.9, 1.0) + noise + rng.uniform(0, 12), 0, 255).astype(np.uint8)
    image = Image.fromarray(grey, mode="L")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=rng.randint(55, 80))
    buffer.seek(0)
    return Image.open(buffer).convert("L")


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


SUITE_TEMPLATE = """\
# A multimodal suite over generated scanned invoices (benchroute dataset generate tables).
name: {name}
tier: multimodal
description: Line-item tables read from scanned invoices (PDF pages rendered at {render_dpi} dpi).
prompt: |
  Extract the line-item table of this invoice. Answer with a Markdown table with the
  columns Item, Qty, Unit price, Amount, one row per line item, and nothing else.
media:
  pdf: {{dpi: {render_dpi}, send: images}}
dataset:
  path: cases.jsonl
scorers:
  - name: table_cells
    threshold: 0.9
  - name: teds
    threshold: 0.9
"""


def generate_tables(
    out: Path, *, count: int = 20, seed: int = 0, dpi: int = 110, name: str = "scanned-invoices"
) -> list[dict[str, Any]]:
    """Write ``count`` scanned invoices (PDF and PNG), ``cases.jsonl`` and ``suite.yaml``
    into ``out``; returns the cases."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    for index in range(1, count + 1):
        invoice = make_invoice(rng, index)
        image = scanned(render_invoice(invoice), rng, dpi=dpi)
        stem = f"invoice-{index:02d}"
        image.save(out / f"{stem}.png", format="PNG")
        image.save(out / f"{stem}.pdf", format="PDF", resolution=float(dpi))
        cases.append(
            {
                "id": stem,
                "attachments": [f"{stem}.pdf"],
                "expected": {"header": HEADER, "rows": invoice.rows},
                "metadata": {"fields": invoice.fields, "png": f"{stem}.png", "dpi": dpi, "seed": seed},
            }
        )
    with (out / "cases.jsonl").open("w", encoding="utf-8") as handle:
        for case in cases:
            handle.write(json.dumps(case) + "\n")
    (out / "suite.yaml").write_text(
        SUITE_TEMPLATE.format(name=name, render_dpi=max(150, dpi)), encoding="utf-8"
    )
    return cases


# --- scenes of shapes and objects, with annotations (POPE and CHAIR) --------------------------

SCENE_OBJECTS = ("circle", "square", "triangle", "star", "house", "tree", "sun", "cloud")
_COLOURS = {
    "red": (200, 40, 40),
    "blue": (40, 80, 200),
    "green": (40, 150, 60),
    "orange": (240, 140, 20),
    "purple": (130, 60, 170),
    "black": (20, 20, 20),
}


def _draw_object(draw: Any, name: str, box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> None:
    import math

    x0, y0, x1, y1 = box
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    if name == "circle":
        draw.ellipse(box, fill=colour)
    elif name == "square":
        draw.rectangle(box, fill=colour)
    elif name == "triangle":
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=colour)
    elif name == "star":
        points = []
        for i in range(10):
            radius = (w / 2) if i % 2 == 0 else (w / 5)
            angle = math.pi / 2 + i * math.pi / 5
            points.append((cx + radius * math.cos(angle), cy - radius * math.sin(angle)))
        draw.polygon(points, fill=colour)
    elif name == "house":
        draw.rectangle((x0, cy, x1, y1), fill=colour)
        draw.polygon([(x0 - w * 0.1, cy), (cx, y0), (x1 + w * 0.1, cy)], fill=(120, 50, 30))
        draw.rectangle((cx - w * 0.1, y1 - h * 0.3, cx + w * 0.1, y1), fill=(250, 250, 250))
    elif name == "tree":
        draw.rectangle((cx - w * 0.08, cy, cx + w * 0.08, y1), fill=(110, 70, 30))
        draw.ellipse((x0, y0, x1, cy + h * 0.15), fill=(40, 140, 50))
    elif name == "sun":
        draw.ellipse((x0 + w * 0.2, y0 + h * 0.2, x1 - w * 0.2, y1 - h * 0.2), fill=(245, 200, 30))
        for i in range(8):
            angle = i * math.pi / 4
            draw.line(
                (
                    cx + w * 0.33 * math.cos(angle),
                    cy + h * 0.33 * math.sin(angle),
                    cx + w * 0.5 * math.cos(angle),
                    cy + h * 0.5 * math.sin(angle),
                ),
                fill=(245, 200, 30),
                width=max(2, int(w / 20)),
            )
    elif name == "cloud":
        grey = (190, 195, 205)
        draw.ellipse((x0, cy - h * 0.1, cx + w * 0.1, y1 - h * 0.1), fill=grey)
        draw.ellipse((cx - w * 0.2, y0 + h * 0.1, x1 - w * 0.1, cy + h * 0.3), fill=grey)
        draw.ellipse((cx, cy - h * 0.15, x1, y1 - h * 0.15), fill=grey)
    else:  # pragma: no cover - SCENE_OBJECTS lists what is drawn
        raise ValueError(name)


def render_scene(rng: random.Random, objects: list[str], size: int = 512) -> Any:
    """A scene with ``objects`` placed in distinct cells of a 3 x 3 grid, on a light background."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    cell = size // 3
    for name, slot in zip(objects, rng.sample(range(9), len(objects)), strict=False):
        row, column = divmod(slot, 3)
        margin = rng.randint(cell // 10, cell // 5)
        box = (
            column * cell + margin,
            row * cell + margin,
            (column + 1) * cell - margin,
            (row + 1) * cell - margin,
        )
        colour = rng.choice(list(_COLOURS.values()))
        _draw_object(draw, name, box, colour)
    return image


SCENES_SUITES = {
    "describe": """\
# Describe generated scenes; CHAIR counts objects named that are not in the picture.
name: {name}-describe
tier: multimodal
prompt: Describe this picture in one or two sentences. Name every object you can see.
dataset:
  path: describe.jsonl
scorers:
  - chair
""",
    "pope": """\
# POPE-style yes/no probes about objects present and absent in generated scenes.
name: {name}-pope
tier: multimodal
prompt: "{{{{ input }}}} Answer yes or no."
dataset:
  path: pope.jsonl
scorers:
  - pope
""",
}


def generate_scenes(
    out: Path, *, count: int = 20, seed: int = 0, name: str = "scenes"
) -> list[dict[str, Any]]:
    """``count`` scenes of 2 to 4 objects (PNG), a describe case per scene (``describe.jsonl``,
    expected: the objects, for ``chair``) and two POPE probes per scene, one present and one
    absent object (``pope.jsonl``, expected yes/no), with a suite for each."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    describe: list[dict[str, Any]] = []
    pope: list[dict[str, Any]] = []
    for index in range(1, count + 1):
        objects = rng.sample(SCENE_OBJECTS, rng.randint(2, 4))
        stem = f"scene-{index:02d}"
        render_scene(rng, objects).save(out / f"{stem}.png", format="PNG")
        describe.append({"id": stem, "attachments": [f"{stem}.png"], "expected": sorted(objects)})
        present = rng.choice(objects)
        absent = rng.choice([o for o in SCENE_OBJECTS if o not in objects])
        for probe, answer in ((present, "yes"), (absent, "no")):
            pope.append(
                {
                    "id": f"{stem}-{probe}",
                    "input": f"Is there a {probe} in the image?",
                    "attachments": [f"{stem}.png"],
                    "expected": answer,
                    "metadata": {"objects": sorted(objects), "probe": probe},
                }
            )
    for file_name, rows in (("describe.jsonl", describe), ("pope.jsonl", pope)):
        with (out / file_name).open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
    for kind, template in SCENES_SUITES.items():
        (out / f"{kind}.yaml").write_text(template.format(name=name), encoding="utf-8")
    return describe + pope


# --- spoken sentences (espeak-ng), for transcription suites ---------------------------------

SENTENCES = (
    "The invoice is due at the end of the month.",
    "Please send the signed contract to the legal team.",
    "Our flight to Berlin leaves at seven in the morning.",
    "The server restarted twice during the night.",
    "Turn left at the second traffic light.",
    "The meeting moved from Tuesday to Thursday afternoon.",
    "Add two cups of flour and a pinch of salt.",
    "The package was delivered to the wrong address.",
    "Battery levels are low on three of the sensors.",
    "She ordered twelve chairs and one large table.",
    "The train to Lyon is delayed by twenty minutes.",
    "Reset your password before logging in again.",
    "The quarterly report shows a small increase in sales.",
    "Water the plants every other day in summer.",
    "The museum opens at ten and closes at six.",
    "Keep the receipt in case you need a refund.",
    "Heavy rain is expected along the coast tonight.",
    "The new printer is on the third floor.",
    "Call the support line if the light keeps blinking.",
    "The library returns are due next Friday.",
)

SPEECH_SUITE = """\
# Transcribe generated speech (espeak-ng); scored by word and character error rate.
name: {name}
tier: multimodal
prompt: Transcribe this audio exactly. Answer with the words only.
dataset:
  path: cases.jsonl
scorers:
  - name: wer
    args: {{ignore_case: true, ignore_punctuation: true}}
  - name: cer
    args: {{ignore_case: true, ignore_punctuation: true}}
"""


def generate_speech(
    out: Path, *, count: int = 20, seed: int = 0, name: str = "speech", binary: str = "espeak-ng"
) -> list[dict[str, Any]]:
    """``count`` spoken sentences as 16 kHz WAV (espeak-ng, voices and speeds varied by the
    seed), ``cases.jsonl`` (expected: the sentence) and ``suite.yaml``."""
    import shutil
    import subprocess

    found = shutil.which(binary)
    if found is None:
        raise FileNotFoundError(f"{binary} is not installed (sudo apt-get install espeak-ng)")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    voices = ("en", "en-us", "en-gb-x-rp")
    for index in range(1, count + 1):
        sentence = (
            SENTENCES[(index - 1) % len(SENTENCES)] if count <= len(SENTENCES) else rng.choice(SENTENCES)
        )
        stem = f"speech-{index:02d}"
        voice, speed, pitch = rng.choice(voices), rng.randint(140, 185), rng.randint(35, 65)
        subprocess.run(
            [
                found,
                "-v",
                voice,
                "-s",
                str(speed),
                "-p",
                str(pitch),
                "-w",
                str(out / f"{stem}.wav"),
                sentence,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        cases.append(
            {
                "id": stem,
                "attachments": [f"{stem}.wav"],
                "expected": sentence,
                "metadata": {"voice": voice, "speed": speed},
            }
        )
    with (out / "cases.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(case) + "\n" for case in cases)
    (out / "suite.yaml").write_text(SPEECH_SUITE.format(name=name), encoding="utf-8")
    return cases
