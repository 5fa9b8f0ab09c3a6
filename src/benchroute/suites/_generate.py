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
