"""Labelling: by hand in $EDITOR (a script stands in for the person), from a CSV file, by a
reference model and by a judge (both the fake server over HTTP, faults included)."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from benchroute import ConfigError
from benchroute.config import Case, ModelSpec
from benchroute.suites._label import (
    LabelResult,
    editor_command,
    label_by_editor,
    label_by_judge,
    label_by_reference,
    label_from_csv,
)
from benchroute.testing import FakeServer

CASES = [
    Case(id="c1", input="What is the capital of France?"),
    Case.model_validate(
        {
            "id": "c2",
            "messages": [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "Name a primary colour.\nJust one."},
            ],
        }
    ),
    Case(id="c3", input="How many legs has a spider?", expected="8"),
    Case(id="c4", input="Largest planet?"),
    Case(id="c5", input="Boiling point of water in Celsius?"),
]

# --- by hand ------------------------------------------------------------------------------------

EDITOR = textwrap.dedent(
    """
    import json, re, sys
    from pathlib import Path

    plan_path, log_path, target = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    text = target.read_text(encoding="utf-8")
    case = re.search(r"^# benchroute dataset label: case (\\S+)", text, re.M).group(1)
    plan = json.loads(plan_path.read_text())
    steps = plan.get(case, ["keep"])
    with log_path.open("a") as log:
        log.write(json.dumps({"case": case, "text": text}) + "\\n")
    calls = sum(1 for line in log_path.read_text().splitlines() if json.loads(line)["case"] == case)
    step = steps[min(calls, len(steps)) - 1]
    if step == "fail":
        sys.exit(1)
    if step == "interrupt":  # Ctrl-C reaches the waiting labeller
        import os, signal, time
        os.kill(os.getppid(), signal.SIGINT)
        time.sleep(0.5)
    if step == "bad":
        target.write_text(text.replace("quit: false", "quit: false\\nexpected: [unclosed"), encoding="utf-8")
    elif step == "blank":
        target.write_text("", encoding="utf-8")
    elif step != "keep":
        value, stop = step if isinstance(step, list) else (step, False)
        text = text.replace("\\nexpected: [unclosed", "")  # the person fixes their mistake
        # JSON is YAML: a string with newlines is written as a double-quoted scalar.
        fields = f"expected: {json.dumps(value)}\\nquit: {'true' if stop else 'false'}\\n"
        body = re.sub(r"^expected:.*\\nquit: false\\n?", lambda _: fields, text, flags=re.M | re.S)
        target.write_text(body, encoding="utf-8")
    """
)


class Editor:
    """A scripted editor: ``plan`` maps a case id to what each session of it does."""

    def __init__(self, tmp_path: Path, plan: dict[str, list[Any]]) -> None:
        self.script = tmp_path / "editor.py"
        self.script.write_text(EDITOR, encoding="utf-8")
        self.plan = tmp_path / "plan.json"
        self.plan.write_text(json.dumps(plan), encoding="utf-8")
        self.log = tmp_path / "sessions.jsonl"
        self.log.touch()
        self.files = tmp_path / "files"
        self.files.mkdir()

    @property
    def command(self) -> list[str]:
        return [sys.executable, str(self.script), str(self.plan), str(self.log)]

    def sessions(self) -> list[dict[str, str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def run(self, cases: list[Case] = CASES, **options: Any) -> LabelResult:
        return label_by_editor(cases, editor=self.command, directory=self.files, **options)


def test_labels_by_hand_until_the_person_quits(tmp_path: Path) -> None:
    editor = Editor(
        tmp_path,
        {"c1": ["Paris"], "c2": ["keep"], "c4": [["Jupiter", True]], "c5": ["100"]},
    )
    result = editor.run()
    assert result.by == "hand"
    assert result.labelled == ["c1", "c4"]
    assert result.stopped  # quit on c4: c5 was never shown
    by_id = {case.id: case for case in result.cases}
    assert [case.id for case in result.cases] == ["c1", "c2", "c3", "c4", "c5"]
    assert by_id["c1"].expected == "Paris" and by_id["c1"].metadata["label"] == {"by": "hand"}
    assert by_id["c4"].expected == "Jupiter"
    assert by_id["c2"].expected is None and "label" not in by_id["c2"].metadata  # unchanged: skipped
    assert by_id["c5"].expected is None
    assert by_id["c3"].expected == "8" and "label" not in by_id["c3"].metadata  # had one: not shown
    assert [s["case"] for s in editor.sessions()] == ["c1", "c2", "c4"]
    assert not list(editor.files.iterdir())  # temporary files removed


def test_the_file_shows_the_conversation_as_comments(tmp_path: Path) -> None:
    editor = Editor(tmp_path, {})
    editor.run([CASES[1]])
    text = editor.sessions()[0]["text"]
    assert "# [system]\n#   Answer briefly." in text
    assert "# [user]\n#   Name a primary colour.\n#   Just one." in text
    assert "\nexpected: null\nquit: false" in text
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert body == ["expected: null", "quit: false"]  # the conversation is read-only


def test_a_yaml_error_reopens_the_edit_with_the_line(tmp_path: Path) -> None:
    editor = Editor(tmp_path, {"c1": ["bad", "Paris"]})
    result = editor.run([CASES[0]])
    assert result.labelled == ["c1"] and result.cases[0].expected == "Paris"
    _first, second = editor.sessions()
    assert "expected: [unclosed" in second["text"]  # the person's own edit comes back
    error = next(line for line in second["text"].splitlines() if line.startswith("# ERROR:"))
    assert ".yaml:" in error and "not valid YAML" in error


def test_a_file_that_never_parses_is_kept_and_reported(tmp_path: Path) -> None:
    editor = Editor(tmp_path, {"c1": ["bad"], "c4": ["Jupiter"]})
    result = editor.run([CASES[0], CASES[3]], attempts=2)
    assert result.labelled == ["c4"]
    assert [case_id for case_id, _ in result.errors] == ["c1"]
    why = result.errors[0][1]
    assert "not valid YAML" in why and "(file kept)" in why
    kept = list(editor.files.iterdir())
    assert len(kept) == 1 and why.startswith(str(kept[0]) + ":")
    assert "[unclosed" in kept[0].read_text()
    assert result.to_json()["errors"][0]["id"] == "c1"


def test_an_editor_that_exits_with_an_error_stops_and_keeps_what_was_done(tmp_path: Path) -> None:
    editor = Editor(tmp_path, {"c1": ["Paris"], "c2": ["fail"], "c4": ["Jupiter"]})
    result = editor.run()
    assert result.stopped and result.labelled == ["c1"]
    assert [case.id for case in result.cases] == ["c1", "c2", "c3", "c4", "c5"]


def test_ctrl_c_stops_and_keeps_what_was_done(tmp_path: Path) -> None:
    editor = Editor(tmp_path, {"c1": ["Paris"], "c2": ["interrupt"]})
    result = editor.run()
    assert result.stopped and result.labelled == ["c1"]
    assert [case.id for case in result.cases] == ["c1", "c2", "c3", "c4", "c5"]
    assert not list(editor.files.iterdir())


def test_empty_answers_skip_and_every_case_can_be_relabelled(tmp_path: Path) -> None:
    editor = Editor(tmp_path, {"c1": ["blank"], "c3": ["eight"], "c4": [""], "c5": ["2024-05-01"]})
    result = editor.run(only_missing=False)
    by_id = {case.id: case for case in result.cases}
    assert sorted(result.labelled) == ["c3", "c5"]
    assert by_id["c3"].expected == "eight"
    assert by_id["c5"].expected == "2024-05-01"  # a date stays text
    assert not result.stopped and not result.errors


def test_structured_and_multiline_answers(tmp_path: Path) -> None:
    editor = Editor(
        tmp_path, {"c1": [{"city": "Paris", "country": "France"}], "c4": ["Jupiter,\nthe gas giant"]}
    )
    result = editor.run([CASES[0], CASES[3]])
    assert result.cases[0].expected == {"city": "Paris", "country": "France"}
    assert result.cases[1].expected == "Jupiter,\nthe gas giant"


def test_a_multiline_answer_is_shown_as_a_block(tmp_path: Path) -> None:
    editor = Editor(tmp_path, {})
    case = Case(id="m1", input="Two lines?", expected="first line\nsecond line")
    result = editor.run([case], only_missing=False)
    assert "expected: |-\n  first line\n  second line\nquit: false" in editor.sessions()[0]["text"]
    assert result.skipped == ["m1"] and result.cases == [case]  # unchanged


def test_editor_command_order() -> None:
    assert editor_command({"EDITOR": "code --wait", "VISUAL": "emacs"}) == ["code", "--wait"]
    assert editor_command({"VISUAL": "nano"}) == ["nano"]
    assert editor_command({"EDITOR": " "}) == ["vi"]


def test_a_missing_editor_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot run the editor"):
        label_by_editor(CASES, editor=[str(tmp_path / "no-such-editor")])


# --- from CSV -----------------------------------------------------------------------------------


def test_labels_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        '\ufeffcase,answer,note\nc1,Paris,ok\nc2,"Red,\nor blue",multi-line\nc4,,left empty\nc3,8 legs,\n',
        encoding="utf-8",
    )
    result = label_from_csv(CASES, path, id_column="case", expected_column="answer")
    by_id = {case.id: case for case in result.cases}
    assert sorted(result.labelled) == ["c1", "c2", "c3"]
    assert by_id["c2"].expected == "Red,\nor blue"
    assert by_id["c3"].expected == "8 legs" and by_id["c3"].metadata["label"] == {"by": "csv"}
    assert by_id["c4"].expected is None and "c4" in result.skipped
    kept = label_from_csv(CASES, path, id_column="case", expected_column="answer", only_missing=True)
    assert {case.id: case for case in kept.cases}["c3"].expected == "8"


def test_csv_json_cells(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text('id,expected\nc1,"{""city"": ""Paris""}"\nc4,5\n', encoding="utf-8")
    result = label_from_csv(CASES, path, expected_format="json")
    assert result.cases[0].expected == {"city": "Paris"} and result.cases[3].expected == 5
    path.write_text("id,expected\nc1,{not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"labels\.csv:2: expected: not JSON"):
        label_from_csv(CASES, path, expected_format="json")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("id,expected\nc1,Paris\nnope,x\n", r"labels\.csv:3: id: 'nope' is not a case of the dataset"),
        ('id,expected\nc1,Paris\nc4,"a\nb"\nc1,Lyon\n', r"labels\.csv:5: id: 'c1' repeats line 2"),
        ("id,expected\nc1,Paris\nc1,Lyon\nzz,1\n", r"labels\.csv:3: .*\(and 1 more bad row\(s\)\)"),
        ("id,answer\nc1,Paris\n", r"labels\.csv:1: no column 'expected' \(columns: id, answer\)"),
        ("id,expected\n,Paris\n", r"labels\.csv:2: id: empty"),
    ],
)
def test_bad_csv_rows_name_file_and_line_and_apply_nothing(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        label_from_csv(CASES, path)
    assert caught.value.hint


def test_a_missing_csv_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the label file"):
        label_from_csv(CASES, tmp_path / "none.csv")


# --- by a reference model -----------------------------------------------------------------------


def models(fake: FakeServer, *names: str, **extra: Any) -> dict[str, ModelSpec]:
    return {
        name: ModelSpec(
            name=name, provider="openai", base_url=fake.base_url, model=name, max_retries=0, **extra
        )
        for name in names
    }


def test_a_reference_models_replies_become_expected(fake: FakeServer) -> None:
    fake.answers(
        {
            "What is the capital of France?": "  Paris  ",
            "Name a primary colour.\nJust one.": "Red",
            "Largest planet?": "Jupiter",
        }
    )
    fake.fault("server_error", count=1)
    logged = Case.model_validate(
        {
            "id": "c6",
            "messages": [
                {"role": "user", "content": "Largest planet?"},
                {"role": "assistant", "content": "Saturn (the logged reply)"},
            ],
        }
    )
    templated = Case(id="c7", vars={"question": "asked by a template"})
    result = asyncio.run(
        label_by_reference([*CASES, logged, templated], "ref", models(fake, "ref"), concurrency=1)
    )
    by_id = {case.id: case for case in result.cases}
    assert result.by == "reference:ref"
    # c1 met the fault: an error, the case left unlabelled; c5 has no scripted answer (echo).
    assert [case_id for case_id, _ in result.errors] == ["c1", "c7"]
    assert "500" in dict(result.errors)["c1"] and "no user message" in dict(result.errors)["c7"]
    assert by_id["c1"].expected is None and "label" not in by_id["c1"].metadata
    assert by_id["c2"].expected == "Red" and by_id["c2"].metadata["label"] == {"by": "reference:ref"}
    assert by_id["c3"].expected == "8" and "c3" in result.skipped  # had an expected
    assert by_id["c6"].expected == "Jupiter"  # asked without the logged assistant turn
    sent = [r.body for r in fake.requests if r.body is not None]
    assert all(m["role"] != "assistant" for body in sent for m in body["messages"])
    assert len(sent) == 5  # c1 (faulted), c2, c4, c5, c6


def test_an_undefined_reference_model_is_a_config_error(fake: FakeServer) -> None:
    with pytest.raises(ConfigError, match="reference model 'nope' is not defined"):
        asyncio.run(label_by_reference(CASES, "nope", models(fake, "ref")))


def test_the_reference_models_system_prompt_is_sent(fake: FakeServer) -> None:
    specs = models(fake, "ref", system_prompt="Be exact.")
    asyncio.run(label_by_reference([CASES[0], CASES[1]], "ref", specs))
    first, second = sorted(fake.requests, key=lambda r: len(json.dumps(r.body)))
    assert first.body is not None and second.body is not None
    assert first.body["messages"][0] == {"role": "system", "content": "Be exact."}
    assert [m["content"] for m in second.body["messages"] if m["role"] == "system"] == ["Answer briefly."]


# --- by a judge ---------------------------------------------------------------------------------

LOGGED = [
    Case(id="j1", input="What is the capital of France?", expected="Paris."),
    Case(id="j2", input="What is the capital of Italy?", expected="Lyon."),
    Case(id="j3", input="Capital of Spain?", metadata={"logged_reply": "Madrid, Paris's rival."}),
    Case(id="j4", input="Capital of Peru?", expected="Paris again."),
    Case(id="j5", input="Capital of Chile?"),  # no logged reply: nothing to judge
    Case(id="j6", input="Capital of Japan?", expected="Paris.", metadata={"label": {"by": "hand"}}),
]


def judge_responder(model: str, messages: list[dict[str, Any]]) -> str:
    """Accepts any answer that mentions Paris; cannot decide about Peru; fails nothing."""
    prompt = messages[-1]["content"]
    answer = prompt.split("[BEGIN ANSWER]")[1]
    if "Peru" in prompt:
        return "I would rather not say."
    return "Correct and complete.\nScore: 5" if "Paris" in answer else "Wrong capital.\nScore: 1"


def test_a_judge_keeps_accepted_replies_and_drops_rejected_ones(fake: FakeServer) -> None:
    fake.responder = judge_responder
    result = asyncio.run(label_by_judge(LOGGED, "judge", models(fake, "judge")))
    by_id = {case.id: case for case in result.cases}
    assert result.by == "judge:judge"
    assert sorted(result.labelled) == ["j1", "j3"]
    assert by_id["j1"].expected == "Paris." and by_id["j1"].metadata["label"] == {"by": "judge:judge"}
    assert by_id["j3"].expected == "Madrid, Paris's rival."  # the logged reply from metadata
    assert result.rejected == ["j2"] and "j2" not in by_id  # dropped
    # No verdict in the judge's reply: an error, never a rejection; the case stays as it was.
    assert [case_id for case_id, _ in result.errors] == ["j4"]
    assert by_id["j4"].expected == "Paris again." and "label" not in by_id["j4"].metadata
    assert sorted(result.skipped) == ["j5", "j6"]
    assert len(fake.requests) == 4
    assert all(
        "[BEGIN REFERENCE ANSWER]" not in r.body["messages"][-1]["content"] for r in fake.requests if r.body
    )


def test_rejected_replies_can_be_kept_unlabelled(fake: FakeServer) -> None:
    fake.responder = judge_responder
    result = asyncio.run(label_by_judge(LOGGED[:2], "judge", models(fake, "judge"), on_reject="unlabel"))
    rejected = result.cases[1]
    assert rejected.id == "j2" and rejected.expected is None
    assert rejected.metadata == {"logged_reply": "Lyon."}


def test_a_failing_judge_is_an_error_not_a_rejection(fake: FakeServer) -> None:
    fake.responder = judge_responder
    fake.fault("server_error", model="judge")
    result = asyncio.run(label_by_judge(LOGGED, "judge", models(fake, "judge"), relabel=True))
    assert not result.labelled and not result.rejected
    assert sorted(case_id for case_id, _ in result.errors) == ["j1", "j2", "j3", "j4", "j6"]
    assert [case.id for case in result.cases] == [case.id for case in LOGGED]
    assert [case.expected for case in result.cases] == [case.expected for case in LOGGED]
    assert result.to_json()["errors"][0]["error"].startswith("rubric: judge call failed")


def test_judge_settings_are_checked(fake: FakeServer) -> None:
    with pytest.raises(ValueError, match="on_reject"):
        asyncio.run(label_by_judge(LOGGED, "judge", models(fake, "judge"), on_reject="keep"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="judge model 'other' is not defined"):
        asyncio.run(label_by_judge(LOGGED, "other", models(fake, "judge")))
