"""``benchroute judge calibrate`` against the fake server scripting the judge's verdicts, and
the run-start warning for the embedded judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchroute.scorers._judge_quality import agreement
from benchroute.testing import FakeServer
from tests.conftest import run_cli, write_project, write_suite

# Answer text -> what the scripted judge replies. Labelled good: 3 judged good, 1 judged bad,
# 1 unparseable reply. Labelled bad: 1 judged good, 2 judged bad.
VERDICTS = {
    "Paris.": "Correct.\nScore: 5",
    "Tokyo.": "Score: 4",
    "Canberra.": "Score: 5",
    "42.": "Wrong, I think.\nScore: 2",
    "Seven.": "I cannot grade this.",
    "Lyon.": "Score: 5",
    "Osaka.": "Score: 1",
    "Sydney.": "Score: 2",
}
LABELS = {
    "Paris.": "good",
    "Tokyo.": "good",
    "Canberra.": "good",
    "42.": "good",
    "Seven.": "good",
    "Lyon.": "bad",
    "Osaka.": "bad",
    "Sydney.": "bad",
}


def _answer_in(messages: list[dict[str, object]]) -> str:
    prompt = str(messages[-1]["content"])
    return prompt.split("[BEGIN ANSWER]\n", 1)[1].split("\n[END ANSWER]", 1)[0]


def _calibration_set(folder: Path) -> Path:
    path = folder / "calibration.jsonl"
    rows = [
        {"id": answer, "question": "q?", "criteria": "Is it right?", "answer": answer, "label": label}
        for answer, label in LABELS.items()
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return path


def test_calibrate_reports_agreement_kappa_confusion_and_errors_apart(
    tmp_path: Path, fake: FakeServer
) -> None:
    fake.responder = lambda model, messages: VERDICTS[_answer_in(messages)]
    project = write_project(
        tmp_path, {"strict": {"provider": "openai", "base_url": fake.base_url, "model": "judge-1"}}
    )
    options = ["--set", str(_calibration_set(tmp_path)), "--judge", "strict", "--config", str(project)]
    ran = run_cli("judge", "calibrate", *options, "--json")
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert (report["judge"], report["items"], report["judged"]) == ("strict", 8, 7)
    assert report["confusion"] == {
        "labelled_good_judged_good": 3,
        "labelled_good_judged_bad": 1,
        "labelled_bad_judged_good": 1,
        "labelled_bad_judged_bad": 2,
    }
    assert report["accuracy"] == pytest.approx(5 / 7)
    # p_o = 5/7; labels 4 good 3 bad, verdicts 4 good 3 bad: p_e = (16 + 9) / 49.
    expected_kappa = (5 / 7 - 25 / 49) / (1 - 25 / 49)
    assert report["kappa"] == pytest.approx(expected_kappa)
    assert [e["id"] for e in report["errors"]] == ["Seven."]  # an error, never a verdict
    assert len(fake.requests) == 8
    table = run_cli("judge", "calibrate", *options)
    assert table.returncode == 0, table.stderr
    assert "accuracy 0.714" in table.stdout and f"Cohen's kappa {expected_kappa:.3f}" in table.stdout
    assert "error:" in table.stdout and "Seven." in table.stdout


@pytest.mark.parametrize("as_json", [False, True])
def test_calibrate_fails_when_nothing_was_judged(tmp_path: Path, fake: FakeServer, as_json: bool) -> None:
    fake.responder = lambda model, messages: "I cannot grade this."
    project = write_project(
        tmp_path, {"strict": {"provider": "openai", "base_url": fake.base_url, "model": "judge-1"}}
    )
    options = ["--set", str(_calibration_set(tmp_path)), "--judge", "strict", "--config", str(project)]
    ran = run_cli("judge", "calibrate", *options, *(["--json"] if as_json else []))
    assert ran.returncode == 3, ran.stderr
    assert "no item of 8 was judged (8 errors)" in ran.stderr and "Traceback" not in ran.stderr
    if as_json:
        assert json.loads(ran.stdout)["judged"] == 0  # the report is still printed
    else:
        assert "judged 0 · errors 8" in ran.stdout


def test_calibrate_names_an_undefined_judge_and_a_bad_line(tmp_path: Path) -> None:
    project = write_project(tmp_path, {})
    calibration = _calibration_set(tmp_path)
    ran = run_cli(
        "judge", "calibrate", "--set", str(calibration), "--judge", "nope", "--config", str(project)
    )
    assert ran.returncode == 2 and "--judge: judge model 'nope' is not defined" in ran.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "q", "criteria": "c", "answer": "a", "label": "fine"}\n')
    ran = run_cli("judge", "calibrate", "--set", str(broken), "--config", str(project))
    assert ran.returncode == 2 and f"{broken}:1: label: 'fine' is not 'good' or 'bad'" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_kappa_is_zero_for_a_constant_judge_and_one_for_a_perfect_one() -> None:
    labels = ["good", "bad"] * 5
    assert agreement([(label, "good") for label in labels])[1] == 0.0
    assert agreement([(label, label) for label in labels])[:2] == (1.0, 1.0)
    assert agreement([]) == (None, None, None)


def test_a_run_judging_with_the_embedded_model_says_so_before_it_starts(
    tmp_path: Path, fake: FakeServer
) -> None:
    fake.responder = lambda model, messages: "Score: 5"
    models = {
        "m": {"provider": "openai", "base_url": fake.base_url, "model": "m"},
        "strong": {"provider": "openai", "base_url": fake.base_url, "model": "strong-judge"},
    }
    project = write_project(tmp_path, models)
    cases = [{"id": "c0", "input": "hi", "expected": "hi"}]
    rubric = [{"name": "rubric", "args": {"criteria": "polite"}}]
    weak = write_suite(tmp_path, "weak", cases, scorers=rubric)
    ran = run_cli("run", str(weak), "--config", str(project), "--estimate")
    assert ran.returncode == 0, ran.stderr  # an estimate sends nothing and builds no judge
    strong = write_suite(tmp_path, "strong", cases, scorers=rubric, judge="strong")
    plain = write_suite(tmp_path, "plain", cases)
    from benchroute.config import load_project, load_suite
    from benchroute.scorers import EMBEDDED_JUDGE_WARNING, embedded_judge_suites

    loaded = load_project(project)
    suites = [load_suite(path) for path in (weak, strong, plain)]
    assert embedded_judge_suites(suites, loaded.models, loaded.judge) == ["weak"]
    assert embedded_judge_suites(suites, loaded.models, "strong") == []
    assert "135M" in EMBEDDED_JUDGE_WARNING and "judge:" in EMBEDDED_JUDGE_WARNING
    from rich.console import Console

    from benchroute.cli._judge import warn_embedded_judge

    console = Console(record=True, width=300)
    warn_embedded_judge(loaded, suites, console)
    assert console.export_text().strip() == f"warning: suite weak: {EMBEDDED_JUDGE_WARNING}"


def test_the_embedded_judge_is_found_in_conversation_assertions_and_stop_scorers() -> None:
    from benchroute.config import ModelSpec, SuiteSpec
    from benchroute.scorers import embedded_judge_suites

    rubric = {"name": "rubric", "args": {"criteria": "polite"}}
    plain = {"name": "max_total_tokens", "args": {"max": 1000}}

    def suite(name: str, case: dict[str, object]) -> SuiteSpec:
        data = {"name": name, "tier": "conversation", "dataset": {"cases": [case]}, "scorers": [plain]}
        return SuiteSpec.model_validate(data)

    sim = {"model": "sim", "persona": "A student.", "goal": "Learn."}
    suites = [
        suite("turn", {"id": "c", "turns": [{"user": "hi", "assert": [rubric]}]}),
        suite("case", {"id": "c", "turns": [{"user": "hi"}], "assertions": [{"any": [plain, rubric]}]}),
        suite("stop", {"id": "c", "simulated_user": {**sim, "stop": {"scorer": rubric}}}),
        suite("none", {"id": "c", "turns": [{"user": "hi", "assert": [plain]}]}),
    ]
    models = {"sim": ModelSpec(name="sim", provider="openai", base_url="http://127.0.0.1:9", model="sim")}
    assert embedded_judge_suites(suites, models) == ["turn", "case", "stop"]
