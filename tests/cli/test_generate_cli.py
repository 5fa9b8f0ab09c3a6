"""`benchroute dataset generate tables`: documents, ground truth and a suite that loads."""

from __future__ import annotations

import json
from pathlib import Path

from benchroute.config import load_suite
from tests.conftest import run_cli


def test_generate_tables_writes_documents_cases_and_a_suite(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    done = run_cli("dataset", "generate", "tables", str(out), "--count", "3", "--seed", "5")
    assert done.returncode == 0, done.stderr
    assert "wrote 3 scanned invoices" in done.stderr, done.stderr
    cases = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    assert [c["id"] for c in cases] == ["invoice-01", "invoice-02", "invoice-03"]
    for case in cases:
        assert (out / case["attachments"][0]).read_bytes().startswith(b"%PDF-")
        assert (out / case["metadata"]["png"]).read_bytes().startswith(b"\x89PNG")
        assert case["expected"]["header"] == ["Item", "Qty", "Unit price", "Amount"]
        assert set(case["metadata"]["fields"]) == {"invoice_no", "date", "vendor", "total"}
    suite = load_suite(out / "suite.yaml")
    assert suite.tier == "multimodal" and len(suite.dataset.cases or []) == 3
    again = tmp_path / "again"
    run_cli("dataset", "generate", "tables", str(again), "--count", "3", "--seed", "5")
    assert (again / "invoice-02.png").read_bytes() == (out / "invoice-02.png").read_bytes()

    bad = run_cli("dataset", "generate", "pictures", str(out))
    assert bad.returncode == 2 and "unknown kind 'pictures'" in bad.stderr and "Traceback" not in bad.stderr
