"""``benchroute run --estimate`` with an unpriced model next to a priced one: the unpriced
requests' cost is unknown, so the total names them instead of adding $0 for them."""

from __future__ import annotations

import re
from pathlib import Path

from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project, write_suite

CASES = [{"id": f"c{i}", "input": f"answer {i}", "expected": f"answer {i}"} for i in range(2)]


def test_an_estimate_counts_unpriced_requests_apart_from_the_priced_total(
    tmp_path: Path, fake: FakeServer
) -> None:
    models = {
        "priced": {
            "provider": "openai",
            "model": "gpt-4o",
            "price_provider": "openai",
            "base_url": fake.base_url,
        },
        "llama": {"provider": "openai", "model": "llama", "base_url": fake.base_url},
    }
    project = write_project(tmp_path, models)
    suite = write_suite(tmp_path, "s", CASES, models=["priced", "llama"])
    ran = run_cli("run", str(suite), "--config", str(project), "--estimate")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    total = re.search(r"estimated total: (.+) for 4 request\(s\)", ran.stdout)
    assert total is not None, ran.stdout
    assert re.fullmatch(r"\$0\.\d{6} \+ 2 unpriced request\(s\)", total.group(1)), total.group(1)
    assert "counted as $0" not in ran.stdout
    assert "no price for llama: cost unknown, not in the total" in ran.stdout
    (row,) = [line for line in ran.stdout.splitlines() if "llama" in line and "│" in line]
    assert "unpriced" in row and "$0" not in row
    assert fake.requests == []


def test_an_estimate_with_only_unpriced_models_has_an_unknown_total(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(
        tmp_path, {"llama": {"provider": "openai", "model": "llama", "base_url": fake.base_url}}
    )
    suite = write_suite(tmp_path, "s", CASES)
    ran = run_cli("run", str(suite), "--config", str(project), "--estimate")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "estimated total: unknown (2 unpriced request(s)) for 2 request(s)" in ran.stdout
    assert "$0" not in ran.stdout
