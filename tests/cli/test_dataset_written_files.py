"""The done-when of private holdouts, through the real command: a labelled log of well over
1,000 lines (``tests/suites/_pii_corpus.py``: several countries' phone numbers and IBANs,
cards with Luhn-invalid decoys, IPv4/IPv6, SSNs, credential URLs, names) goes through
``benchroute dataset import``, ``scrub``, ``sample`` and ``export``; then every file the
commands wrote (the SQLite store with its WAL, the exported JSONL, the JSON report) and
everything they printed is searched for every raw typed value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.suites._pii_corpus import NAMES, build_corpus


@pytest.fixture(scope="module", params=["dev", "holdout"])
def imported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    kind = request.param
    folder = tmp_path_factory.mktemp(f"written-{kind}")
    corpus = build_corpus(kind, lines=1200)
    assert sum(lc.lines for lc in corpus) >= 1000
    log = folder / "production.jsonl"
    log.write_text("".join(json.dumps(lc.case, ensure_ascii=False) + "\n" for lc in corpus))
    db = f"sqlite:///{folder / 'store.db'}"
    outputs: list[str] = []
    import_options = ("--keep-duplicates", "--report", "report.json")
    steps = [
        ("dataset", "import", str(log), "--name", "pool", "--format", "jsonl", *import_options),
        ("dataset", "scrub", "pool"),
        ("dataset", "sample", "pool", "--to", "golden", "--size", "60", "--seed", "3"),
        ("dataset", "export", "pool", "-o", "pool.jsonl"),
        ("dataset", "export", "golden", "-o", "golden.jsonl"),
        ("dataset", "show", "pool", "-n", "50"),
        ("dataset", "list"),
    ]
    for step in steps:
        done = run_cli(*step, "--db", db, cwd=folder, timeout=600)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
        outputs.append(done.stdout + done.stderr)
    return {"folder": folder, "corpus": corpus, "outputs": outputs}


def _written(folder: Path) -> dict[str, str]:
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name == "production.jsonl":
            continue
        files[path.name] = path.read_bytes().decode("utf-8", errors="replace")
    return files


def test_no_raw_typed_value_in_any_written_file_or_output(imported: dict[str, object]) -> None:
    folder = imported["folder"]
    corpus = imported["corpus"]
    assert isinstance(folder, Path) and isinstance(corpus, list)
    files = _written(folder)
    assert {"store.db", "report.json", "pool.jsonl", "golden.jsonl"} <= set(files)
    files["(printed)"] = "\n".join(imported["outputs"])  # type: ignore[arg-type]
    values = {e.value for lc in corpus for e in lc.entities if e.tag != NAMES}
    assert len(values) > 500
    leaks = {name: sorted(v for v in values if v in text) for name, text in files.items()}
    assert all(not found for found in leaks.values()), {k: v[:5] for k, v in leaks.items() if v}


def test_names_are_counted_apart_and_mostly_gone(imported: dict[str, object]) -> None:
    folder = imported["folder"]
    corpus = imported["corpus"]
    assert isinstance(folder, Path) and isinstance(corpus, list)
    exported = (folder / "pool.jsonl").read_text()
    names = [e.value for lc in corpus for e in lc.entities if e.tag == NAMES]
    left = [name for name in names if name in exported]
    # Names have no checksum: the NER model and the context rules miss a few (reported, not
    # hidden); the floor sits below what tests/suites/test_scrub_corpus.py measures.
    assert len(left) / len(names) <= 0.10, left[:10]
    report = json.loads((folder / "report.json").read_text())
    scrub = report["scrub"]
    assert scrub["names"] > 0 and "PERSON" not in scrub["entities"], scrub


def test_the_scrubbed_set_keeps_its_decoys(imported: dict[str, object]) -> None:
    folder = imported["folder"]
    corpus = imported["corpus"]
    assert isinstance(folder, Path) and isinstance(corpus, list)
    exported = (folder / "pool.jsonl").read_text()
    decoys = [d.value for lc in corpus for d in lc.decoys]
    gone = [value for value in decoys if json.dumps(value, ensure_ascii=False)[1:-1] not in exported]
    # Precision: order numbers, versions, dates, Luhn-invalid cards, IBANs with a wrong
    # checksum and unissued SSNs stay as they were.
    assert len(gone) / len(decoys) <= 0.02, gone[:10]
