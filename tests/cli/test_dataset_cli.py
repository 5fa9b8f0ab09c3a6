"""``benchroute dataset`` as a user meets it, through the real command (a subprocess) and a
real store: bad rows named by file:line:field, ``--skip-bad`` counting them, ``--no-scrub``
needing a reason, CSV column mappings, duplicates, seeded sampling, a suite pinned to a
golden set's version, perturbation (a paraphrase by a model of the fake server), labels from
a CSV and contamination probes. No command may print a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project

PRICES = {"input_per_mtok": 0.1, "output_per_mtok": 0.2}
QUESTIONS = [
    "How do I reset my password on the billing portal?",
    "Can I move my subscription renewal date to the first of the month?",
    "Why was my invoice for March charged twice?",
    "Which plan includes priority support and phone callbacks?",
    "How long does a refund take to reach my card?",
    "Is there an export of all my tickets as CSV?",
    "What does the error 'quota exceeded' mean for my API key?",
    "Can two people share one seat of the team plan?",
]


def _chat(question: str, answer: str = "Here is how.", **extra: Any) -> str:
    row = {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}
    return json.dumps({**row, **extra})


def _ok(done: Any) -> str:
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Traceback" not in out
    return out


def _one_line_error(done: Any, code: int = 2) -> str:
    err = done.stderr.strip()
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert err.startswith("error:"), err
    assert len(err.splitlines()) == 1, err
    return err


class Project:
    def __init__(self, folder: Path, server: FakeServer) -> None:
        self.folder, self.server = folder, server
        models = {
            "writer": {
                "provider": "openai",
                "base_url": server.base_url,
                "model": "writer",
                "prices": PRICES,
            },
        }
        write_project(folder, models)

    def cli(self, *args: str, timeout: float = 180) -> Any:
        return run_cli(*args, cwd=self.folder, timeout=timeout)


def _writer(model: str, messages: list[dict[str, Any]]) -> str:
    text = str(messages[-1]["content"])
    if "Rewrite the user's text" in str(messages[0]["content"]):
        return "Could you tell me: " + text[0].lower() + text[1:]
    return "The answer is 4."


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    with FakeServer() as server:
        server.responder = _writer  # type: ignore[assignment]
        yield Project(tmp_path_factory.mktemp("dataset-cli"), server)


def test_a_bad_row_names_file_line_and_field_and_writes_nothing(project: Project) -> None:
    log = project.folder / "bad.jsonl"
    log.write_text(
        "\n".join(
            [_chat(QUESTIONS[0]), _chat(QUESTIONS[1]), '{"messages": [{"role": "user"', _chat(QUESTIONS[2])]
        )
        + "\n"
    )
    err = _one_line_error(project.cli("dataset", "import", str(log), "--name", "bad"))
    assert "bad.jsonl:3" in err and "--skip-bad" in err
    listed = _ok(project.cli("dataset", "list"))
    assert "bad " not in listed and "bad@" not in listed
    done = project.cli("dataset", "import", str(log), "--name", "bad", "--skip-bad", "--report", "r.json")
    out = _ok(done)
    assert "3 imported, 1 bad" in out, out
    report = json.loads((project.folder / "r.json").read_text())
    assert report["import"]["bad"] == 1
    assert report["import"]["bad_rows"][0]["row"] == 3
    assert report["import"]["bad_rows"][0]["location"].startswith("bad.jsonl:3")


def test_a_row_without_user_text_is_bad_with_its_field(project: Project) -> None:
    log = project.folder / "nouser.jsonl"
    log.write_text(
        _chat(QUESTIONS[0]) + "\n" + json.dumps({"messages": [{"role": "user", "content": 5}]}) + "\n"
    )
    err = _one_line_error(project.cli("dataset", "import", str(log), "--name", "nouser"))
    assert "nouser.jsonl:2" in err and "messages" in err, err


def test_no_scrub_needs_a_reason_which_is_stored(project: Project) -> None:
    log = project.folder / "synthetic.jsonl"
    log.write_text(_chat("Write to ada@example.org about the outage") + "\n")
    err = _one_line_error(project.cli("dataset", "import", str(log), "--name", "raw", "--no-scrub"))
    assert "--reason" in err
    err = _one_line_error(project.cli("dataset", "import", str(log), "--name", "raw", "--reason", "x"))
    assert "--no-scrub" in err
    _ok(
        project.cli(
            "dataset", "import", str(log), "--name", "raw", "--no-scrub", "--reason", "synthetic data"
        )
    )
    shown = _ok(project.cli("dataset", "show", "raw"))
    assert "synthetic data" in shown
    assert "ada@example.org" in shown  # kept as asked: the reason says why that is safe
    # Scrubbed by default: the same row imported without --no-scrub keeps no address.
    _ok(project.cli("dataset", "import", str(log), "--name", "clean"))
    exported = project.folder / "clean.jsonl"
    _ok(project.cli("dataset", "export", "clean", "-o", str(exported)))
    assert "ada@example.org" not in exported.read_text() and "<EMAIL_1>" in exported.read_text()


def test_csv_with_a_column_mapping_and_a_missing_column(project: Project) -> None:
    table = project.folder / "faq.csv"
    table.write_text("question,answer,team\n" + "".join(f'"{q}",yes,billing\n' for q in QUESTIONS))
    mapping = ("--column", "input=question", "--column", "expected=answer", "--column", "class=team")
    out = _ok(project.cli("dataset", "import", str(table), "--name", "faq", *mapping))
    assert f"saved faq@1: {len(QUESTIONS)} cases" in out
    exported = project.folder / "faq.jsonl"
    _ok(project.cli("dataset", "export", "faq", "-o", str(exported)))
    first = json.loads(exported.read_text().splitlines()[0])
    assert first["input"] == QUESTIONS[0] and first["expected"] == "yes"
    assert "billing" in json.dumps(first), first  # class=team: the case's class
    err = _one_line_error(
        project.cli("dataset", "import", str(table), "--name", "faq2", "--column", "input=q")
    )
    assert "faq.csv" in err and "'q'" in err and "question" in err, err


def test_exact_and_near_duplicates_go_and_versions_stay(project: Project) -> None:
    rows = [_chat(q) for q in QUESTIONS]
    rows.append(_chat(QUESTIONS[0]))  # exact
    rows.append(_chat(QUESTIONS[1].replace("first of the month", "first of every month")))  # near
    log = project.folder / "dupes.jsonl"
    log.write_text("\n".join(rows) + "\n")
    out = _ok(project.cli("dataset", "import", str(log), "--name", "dupes"))
    assert "1 exact duplicates dropped" in out, out
    out = _ok(project.cli("dataset", "dedupe", "dupes", "--threshold", "0.6"))
    assert "1 near duplicates dropped" in out, out
    assert f"saved dupes@2: {len(QUESTIONS)} cases" in out
    diff = _ok(project.cli("dataset", "diff", "dupes@1", "dupes@2"))
    assert "removed" in diff.lower() or "-1" in diff, diff


def test_sampling_is_seeded_and_a_suite_pins_a_golden_version(project: Project) -> None:
    rows = [_chat(f"{q} (ticket {i})", metadata={"class": "billing" if i % 2 else "account"})
            for i, q in enumerate(QUESTIONS * 3)]  # fmt: skip
    log = project.folder / "pool.jsonl"
    log.write_text("\n".join(rows) + "\n")
    _ok(project.cli("dataset", "import", str(log), "--name", "pool"))
    for golden in ("gold-a", "gold-b"):
        _ok(project.cli("dataset", "sample", "pool", "--to", golden, "--size", "6", "--seed", "11"))
    ids = []
    for golden in ("gold-a", "gold-b"):
        path = project.folder / f"{golden}.jsonl"
        _ok(project.cli("dataset", "export", golden, "-o", str(path)))
        ids.append([json.loads(line)["id"] for line in path.read_text().splitlines()])
    assert ids[0] == ids[1] and len(ids[0]) == 6
    out = _ok(project.cli("dataset", "sample", "pool", "--to", "gold-a", "--size", "3", "--append"))
    assert "saved gold-a@2: 9 cases" in out, out
    suite = project.folder / "pinned.yaml"
    suite.write_text(
        "name: pinned\ntier: unit\ndataset:\n  golden: gold-a\n  version: 1\n"
        "prompt: '{input}'\nscorers: [contains]\nmodels: [writer]\n"
    )
    out = _ok(project.cli("run", str(suite), "--no-cache"))
    assert "6" in out
    assert "pinned" in _ok_stdout(project.cli("runs", "list")), "the pinned suite stored a run"
    suite.write_text(suite.read_text().replace("version: 1", "version: 7"))
    done = project.cli("run", str(suite))
    err_line = _one_line_error(done)
    assert "pinned.yaml" in err_line and "version" in err_line, err_line


def _ok_stdout(done: Any) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return str(done.stdout)


def test_perturb_links_copies_and_paraphrases_through_a_model(project: Project) -> None:
    rows = [
        _chat("Which planet is largest? A) Mars B) Jupiter C) Venus D) Earth", "B"),
        _chat("Please summarise the ticket. Keep it short. Use a friendly tone.", "ok"),
    ]
    log = project.folder / "mc.jsonl"
    log.write_text("\n".join(rows) + "\n")
    _ok(project.cli("dataset", "import", str(log), "--name", "mc"))
    err = _one_line_error(project.cli("dataset", "perturb", "mc", "-k", "optons"))
    assert "unknown perturbation 'optons'" in err and "did you mean `options`" in err, err
    err = _one_line_error(project.cli("dataset", "perturb", "mc", "-k", "paraphrase"))
    assert "--model" in err
    out = _ok(project.cli("dataset", "perturb", "mc", "-k", "options,typos,paraphrase", "-m", "writer"))
    assert "saved mc@2" in out, out
    path = project.folder / "mc2.jsonl"
    _ok(project.cli("dataset", "export", "mc@2", "-o", str(path)))
    cases = {c["id"]: c for c in map(json.loads, path.read_text().splitlines())}
    shuffled = cases["mc-1~options"]
    text = shuffled["messages"][0]["content"]
    letter = shuffled["expected"]
    assert f"{letter}) Jupiter" in text, (text, letter)
    assert shuffled["metadata"]["original_id"] == "mc-1"
    assert shuffled["metadata"]["perturbation"] == "options"
    para = cases["mc-2~paraphrase"]
    assert para["messages"][0]["content"].startswith("Could you tell me:")
    assert "mc-1" in cases and "mc-2" in cases  # the originals stay beside their copies
    shown = _ok(project.cli("dataset", "show", "mc@2"))
    assert "perturb" in shown


def test_labels_from_a_csv_make_a_new_version(project: Project) -> None:
    log = project.folder / "unlabelled.jsonl"
    log.write_text("\n".join(json.dumps({"input": q}) for q in QUESTIONS[:3]) + "\n")
    _ok(project.cli("dataset", "import", str(log), "--name", "unl", "--format", "jsonl"))
    ids_path = project.folder / "unl.jsonl"
    _ok(project.cli("dataset", "export", "unl", "-o", str(ids_path)))
    ids = [json.loads(line)["id"] for line in ids_path.read_text().splitlines()]
    labels = project.folder / "labels.csv"
    labels.write_text("id,expected\n" + "".join(f"{i},answer {n}\n" for n, i in enumerate(ids[:2])))
    out = _ok(project.cli("dataset", "label", "unl", "--csv", str(labels)))
    assert "2 labelled" in out and "saved unl@2" in out, out
    err = _one_line_error(project.cli("dataset", "label", "unl", "--csv", str(labels), "--editor"))
    assert "one of" in err


def test_probe_flags_overlap_with_exit_1(project: Project) -> None:
    long = (
        "The quarterly maintenance window for the payments cluster starts at midnight and the on call "
        "engineer must confirm that every replica has caught up before the primary is restarted"
    )
    log = project.folder / "probe.jsonl"
    log.write_text(json.dumps({"input": long}) + "\n" + json.dumps({"input": QUESTIONS[0]}) + "\n")
    _ok(project.cli("dataset", "import", str(log), "--name", "probe", "--format", "jsonl"))
    corpus = project.folder / "corpus.txt"
    corpus.write_text("Some preface text. " + long + " And more text after it.\n")
    done = project.cli("dataset", "probe", "probe", "--corpus", str(corpus))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "1 of" in done.stdout and "contaminated" in done.stdout
    err = _one_line_error(project.cli("dataset", "probe", "probe"))
    assert "--corpus" in err


def test_an_unknown_dataset_or_version_is_one_line(project: Project) -> None:
    err = _one_line_error(project.cli("dataset", "show", "nosuch"))
    assert "nosuch" in err
    err = _one_line_error(project.cli("dataset", "show", "pool@9"))
    assert "pool" in err and "9" in err
