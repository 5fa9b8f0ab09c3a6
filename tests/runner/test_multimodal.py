"""The multimodal tier end to end: generated scanned invoices (PDFs rendered page by page),
sent as image parts to the fake server scripted per attachment with correct and corrupted
tables, scored by table_cells and TEDS; the same suite against the Tesseract baseline; and
the checks that stop a run before any request (missing file, a model that takes no images,
an image over a provider's limit, attachments in a unit suite)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchroute import ConfigError
from benchroute.config import load_project, load_suite
from benchroute.runner import Runner, RunOptions, RunOutcome
from benchroute.store import Store
from benchroute.suites import generate_tables, inspect_case, markdown_table, media_parts
from benchroute.testing import FakeServer
from tests.conftest import write_project

COUNT = 20


def _run(project: Path, suite: Path, **options: object) -> tuple[RunOutcome, Store]:
    loaded = load_project(project)
    store = Store(loaded.store_url())
    runner = Runner(loaded, store, RunOptions(use_cache=False, **options))  # type: ignore[arg-type]
    return asyncio.run(runner.run([load_suite(suite)])), store


def _corrupt(rows: list[list[str]], rng: random.Random, cells: int, drop_row: bool) -> list[list[str]]:
    out = [row[:] for row in rows]
    if drop_row and len(out) > 1:
        del out[rng.randrange(len(out))]
    for _ in range(cells):
        r, c = rng.randrange(len(out)), rng.randrange(len(out[0]))
        out[r][c] = out[r][c][::-1] + "7"
    return out


@pytest.fixture(scope="module")
def invoices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("invoices")
    generate_tables(folder, count=COUNT, seed=7)
    return folder


def _page_digests(suite_path: Path) -> dict[str, str]:
    """case id -> SHA-256 of the rendered page the tier sends (computed the tier's way)."""
    suite = load_suite(suite_path)
    digests = {}
    for case in suite.dataset.cases or []:
        parts, _ = media_parts(suite, inspect_case(suite, case))
        (image,) = [p for p in parts if p["type"] == "image_url"]
        data = base64.b64decode(image["image_url"]["url"].split(",", 1)[1])
        digests[case.id] = hashlib.sha256(data).hexdigest()
    return digests


def _means(store: Store, run_id: str, scorer: str) -> dict[str, float]:
    by_model: dict[str, list[float]] = {}
    for result in store.results(run_id):
        value = next(s["value"] for s in result.scores if s["scorer"] == scorer)
        by_model.setdefault(result.model, []).append(value)
    return {model: statistics.mean(values) for model, values in by_model.items()}


def test_table_scores_order_correct_and_corrupted_tables(invoices: Path, fake: FakeServer) -> None:
    suite_path = invoices / "suite.yaml"
    cases = [json.loads(line) for line in (invoices / "cases.jsonl").read_text().splitlines()]
    digests = _page_digests(suite_path)
    rng = random.Random(3)
    for case in cases:
        header, rows = case["expected"]["header"], case["expected"]["rows"]
        digest = digests[case["id"]]
        fake.answer_attachments({digest: "Here it is:\n\n" + markdown_table([header, *rows])}, model="exact")
        fake.answer_attachments(
            {digest: markdown_table([header, *_corrupt(rows, rng, 2, False)])}, model="sloppy"
        )
        fake.answer_attachments(
            {digest: markdown_table([header, *_corrupt(rows, rng, 6, True)])}, model="poor"
        )
    models = {
        name: {"provider": "openai", "base_url": fake.base_url, "model": name}
        for name in ("exact", "sloppy", "poor")
    }
    project = write_project(invoices, models)

    outcome, store = _run(project, suite_path)

    assert outcome.status == "completed" and not outcome.errors
    results = store.results(outcome.run_id)
    assert len(results) == 3 * COUNT
    cells, teds = _means(store, outcome.run_id, "table_cells"), _means(store, outcome.run_id, "teds")
    print(f"table_cells means: {cells}\nteds means: {teds}")
    assert cells["exact"] == pytest.approx(1.0) and teds["exact"] == pytest.approx(1.0)
    assert cells["exact"] > cells["sloppy"] > cells["poor"]
    assert teds["exact"] > teds["sloppy"] > teds["poor"]

    # Every request carried its one rendered page as a PNG image part; no stored row holds
    # base64, and each result says what it sent.
    chat = [r for r in fake.requests if r.path.endswith("/chat/completions")]
    assert len(chat) == 3 * COUNT
    assert all(len(r.attachments) == 1 and r.attachments[0].media_type == "image/png" for r in chat)
    for result in results:
        stored = json.dumps(result.messages)
        assert "base64" not in stored and "<image invoice-" in stored
        media = (result.details or {})["media"]
        assert media["modality"] == "image" and media["payload_bytes"] > 10_000
        assert media["parts"][0]["page"] == 1 and media["parts"][0]["width"] > 1000  # 150 dpi letter


def test_the_same_suite_runs_against_tesseract(invoices: Path, tmp_path: Path) -> None:
    if shutil.which("tesseract") is None:
        pytest.fail("tesseract is not installed: scripts/setup.sh installs tesseract-ocr")
    # Five of the documents keep this test quick; the suite is the generated one.
    data = tmp_path / "data"
    data.mkdir()
    lines = (invoices / "cases.jsonl").read_text().splitlines()[:5]
    for line in lines:
        shutil.copy(invoices / json.loads(line)["attachments"][0], data)
    (data / "cases.jsonl").write_text("\n".join(lines) + "\n")
    suite = yaml.safe_load((invoices / "suite.yaml").read_text())
    (data / "suite.yaml").write_text(yaml.safe_dump(suite))
    project = write_project(
        tmp_path,
        {
            "ocr": {
                "provider": "tesseract",
                "model": "tesseract",
                "prices": {"input_per_mtok": 0, "output_per_mtok": 0},
            }
        },
    )

    outcome, store = _run(project, data / "suite.yaml")

    assert outcome.status == "completed" and not outcome.errors, outcome.errors
    cells = _means(store, outcome.run_id, "table_cells")["ocr"]
    teds = _means(store, outcome.run_id, "teds")["ocr"]
    print(f"tesseract floor on 5 scanned invoices: cell F1 {cells:.3f}, TEDS {teds:.3f}")
    assert cells > 0.8 and teds > 0.8
    assert all(r.cost_usd == 0.0 and (r.latency_ms or 0) > 0 for r in store.results(outcome.run_id))


def _suite(folder: Path, cases: list[dict[str, Any]], tier: str = "multimodal", **extra: Any) -> Path:
    path = folder / "mm.yaml"
    data = {"name": "mm", "tier": tier, "dataset": {"cases": cases}, "scorers": ["contains"], **extra}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_files_are_checked_before_any_request(invoices: Path, tmp_path: Path, fake: FakeServer) -> None:
    shutil.copy(invoices / "invoice-01.png", tmp_path / "scan.png")
    (tmp_path / "notes.png").write_text("not an image")
    project = write_project(
        tmp_path,
        {
            "gpt": {"provider": "openai", "base_url": fake.base_url, "model": "gpt"},
            "claude": {"provider": "anthropic", "base_url": fake.base_url, "model": "claude"},
            "small": {"provider": "local", "model": "smollm2"},
        },
    )
    case = {"id": "c1", "input": "read it", "expected": "x"}

    missing = _suite(tmp_path, [{**case, "attachments": ["nope.png"]}], models=["gpt"])
    with pytest.raises(ConfigError, match=r"mm.yaml: case 'c1': attachments.0: file not found"):
        _run(project, missing)

    wrong = _suite(tmp_path, [{**case, "attachments": ["notes.png"]}], models=["gpt"])
    with pytest.raises(
        ConfigError, match=r"attachments.0: notes.png is not a PNG, JPEG.*its name says image"
    ):
        _run(project, wrong)

    text_only = _suite(tmp_path, [{**case, "attachments": ["scan.png"]}], models=["small"])
    with pytest.raises(ConfigError, match=r"scan.png: model 'small' \(local\) does not accept images"):
        _run(project, text_only)

    # an image over Anthropic's 5 MB per image: noise does not compress
    from PIL import Image

    big = Image.frombytes("RGB", (1800, 1800), random.Random(0).randbytes(1800 * 1800 * 3))
    big.save(tmp_path / "big.png")
    assert (tmp_path / "big.png").stat().st_size > 5 * 1024 * 1024
    oversized = _suite(tmp_path, [{**case, "attachments": ["big.png"]}], models=["gpt", "claude"])
    with pytest.raises(ConfigError, match=r"big.png: \d+\.\d MB is over anthropic's 5.0 MB per image"):
        _run(project, oversized)
    assert fake.requests == []

    with pytest.raises(ConfigError, match=r"'attachments' need a multimodal suite: set 'tier: multimodal'"):
        load_suite(_suite(tmp_path, [{**case, "attachments": ["scan.png"]}], tier="unit"))


def test_pdf_as_file_and_text_layer_options(invoices: Path, tmp_path: Path, fake: FakeServer) -> None:
    shutil.copy(invoices / "invoice-02.pdf", tmp_path / "doc.pdf")
    project = write_project(
        tmp_path, {"gpt": {"provider": "openai", "base_url": fake.base_url, "model": "gpt"}}
    )
    case = {
        "id": "c1",
        "input": "read it",
        "expected": "read",
        "attachments": [{"path": "doc.pdf", "detail": "high"}],
    }

    as_file = _suite(tmp_path, [case], media={"pdf": {"send": "file"}})
    outcome, store = _run(project, as_file)
    assert not outcome.errors
    (request,) = fake.requests
    assert request.attachments[0].kind == "file" and request.attachments[0].media_type == "application/pdf"
    (result,) = store.results(outcome.run_id)
    assert (result.details or {})["media"]["modality"] == "file"

    fake.reset()
    as_pages = _suite(tmp_path, [case], media={"pdf": {"dpi": 72}})
    outcome, store = _run(project, as_pages)
    (request,) = fake.requests
    content = request.body["messages"][-1]["content"]  # type: ignore[index]
    part = next(p for p in content if p["type"] == "image_url")
    assert part["image_url"]["detail"] == "high"
    (result,) = store.results(outcome.run_id)
    assert (result.details or {})["media"]["parts"][0]["width"] == 612  # 8.5 in at 72 dpi
