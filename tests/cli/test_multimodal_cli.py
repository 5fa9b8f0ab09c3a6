"""A multimodal suite through the CLI: degraded copies linked to their originals, the score
against degradation level per model (Tesseract really reads worse when the scan is blurred
or shrunk), latency per modality against budgets in the run's tables, the gate and the JSON
and HTML reports. The fake server answers the vision model; Tesseract runs for real."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    out = tmp_path / "docs"
    done = run_cli("dataset", "generate", "tables", str(out), "--count", "3", "--seed", "11")
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load((out / "suite.yaml").read_text())
    spec["degrade"] = {"blur": [3, 6], "downscale": [0.3]}
    spec["budgets"] = {"image": {"p95_ms": 60}, "text": {"p95_ms": 5000}}
    # a text-only case: reported under the text modality
    (out / "cases.jsonl").write_text(
        (out / "cases.jsonl").read_text()
        + json.dumps({"id": "no-file", "input": "| a | b |", "expected": [["a", "b"]]})
        + "\n"
    )
    spec["prompt"] = "{{ input or 'Extract the line-item table of this invoice as a Markdown table.' }}"
    path = out / "suite.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_degradation_curves_budgets_and_reports(suite: Path, tmp_path: Path) -> None:
    if shutil.which("tesseract") is None:
        pytest.fail("tesseract is not installed: scripts/setup.sh installs tesseract-ocr")
    with FakeServer(latency=0.15) as fake:
        project = write_project(
            tmp_path,
            {
                "ocr": {
                    "provider": "tesseract",
                    "model": "tesseract",
                    "prices": {"input_per_mtok": 0, "output_per_mtok": 0},
                },
                "vision": {"provider": "openai", "base_url": fake.base_url, "model": "vision"},
            },
        )
        done = run_cli("run", str(suite), "--config", str(project), timeout=600)
        # 3 invoices x (original + 3 degraded copies) + 1 text case, for 2 models
        chat = [r for r in fake.requests if r.path.endswith("/chat/completions")]
        assert len(chat) == 3 * 4 + 1
    out = done.stdout + done.stderr
    assert done.returncode == 1, out  # the image budget is missed by the slow vision model
    assert "Latency by modality" in out and "Score against degradation level" in out
    assert re.search(r"budget\.image\.p95_ms", out), out
    assert "Traceback" not in out

    run_id = re.search(r"run ([0-9a-f]{12})", out)
    assert run_id is not None
    report = run_cli("report", run_id.group(1), "--format", "json", "--config", str(project))
    assert report.returncode == 0, report.stderr
    figures = json.loads(report.stdout)["multimodal"]
    by_key = {(m["modality"], m["model"]): m for m in figures["modalities"]}
    assert by_key[("image", "vision")]["within_budget"] is False
    assert by_key[("image", "vision")]["p95_ms"] > 60
    assert by_key[("text", "vision")]["within_budget"] is True
    assert by_key[("image", "ocr")]["mean_payload_bytes"] > 10_000
    curves = {(c["model"], c["kind"]): c for c in figures["degradation"]}
    blur = curves[("ocr", "blur")]
    assert [p["level"] for p in blur["points"]] == [3.0, 6.0]
    assert all(p["pairs"] == 3 for p in blur["points"])
    # Tesseract reads the clean scans well and worse as the blur grows
    print("tesseract blur curve:", blur["original_mean"], [p["score"] for p in blur["points"]])
    assert blur["original_mean"] > 0.8
    assert blur["points"][-1]["score"] < blur["original_mean"] - 0.2
    shrunk = curves[("ocr", "downscale")]["points"][0]
    assert shrunk["score"] < shrunk["original_mean"]

    html_file = tmp_path / "report.html"
    made = run_cli(
        "report", run_id.group(1), "--format", "html", "-o", str(html_file), "--config", str(project)
    )
    assert made.returncode == 0, made.stderr
    page = html_file.read_text()
    assert (
        'id="modalities"' in page
        and "chart-degradation-blur" in page
        and "chart-degradation-downscale" in page
    )
