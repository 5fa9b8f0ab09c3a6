"""Transcripts and the conversation table as the terminal shows them."""

from __future__ import annotations

from rich.console import Console

from benchroute.reports import conversation_table, print_transcripts
from benchroute.scorers import Transcript, TranscriptTurn
from benchroute.store import Result


def _result(case: str, passed: bool, transcript: Transcript, scores: list[dict[str, object]]) -> Result:
    return Result(
        run_id="r",
        suite="chat",
        case_id=case,
        model="m",
        repeat=0,
        messages=[],
        output=transcript.turns[-1].assistant,
        scores=scores,
        score=1.0 if passed else 0.0,
        passed=passed,
        details=transcript.to_details(),
    )


def _render(*renderables: object) -> str:
    console = Console(record=True, width=160)
    for item in renderables:
        console.print(item)
    return console.export_text()


FAILED_TURN = {"scorer": "contains", "value": 0.0, "passed": False, "reason": "none of ['Ada']"}
scripted = Transcript(
    mode="scripted",
    stop_reason="script_end",
    turns=[
        TranscriptTurn(
            turn=1, user="I'm Ada.", assistant="Hello!", latency_ms=120, input_tokens=5, output_tokens=2
        ),
        TranscriptTurn(
            turn=2,
            user="Name?",
            assistant="No idea.",
            latency_ms=80,
            input_tokens=9,
            output_tokens=3,
            scores=[FAILED_TURN],
            passed=False,
        ),
    ],
)
simulated = Transcript(
    mode="simulated",
    stop_reason="goal",
    goal_reached=True,
    turns_to_goal=1,
    simulator_model="sim",
    turns=[TranscriptTurn(turn=1, user="Capital?", assistant="Paris.", latency_ms=300, user_latency_ms=50)],
)
RESULTS = [
    _result(
        "memory",
        False,
        scripted,
        [
            {**FAILED_TURN, "turn": 2},
            {"scorer": "remembers", "passed": False, "reason": "turn 2 does not mention 'Ada'"},
        ],
    ),
    _result(
        "tourist",
        True,
        simulated,
        [{"scorer": "goal_reached", "passed": True, "reason": "goal reached in 1 turn"}],
    ),
]


def test_a_transcript_shows_each_turn_with_its_marks() -> None:
    console = Console(record=True, width=160)
    matched = print_transcripts(console, RESULTS, case="memory")
    text = console.export_text()
    assert matched == 1 and "chat · memory · m ✗ failed · scripted · 2 turns · ended: script_end" in text
    lines = [line for line in text.splitlines() if line.strip()]
    row = next(line for line in lines if "No idea." in line)
    assert "80 ms" in row and "9→3" in row and "✗ contains: none of ['Ada']" in row
    assert text.index("I'm Ada.") < text.index("Hello!") < text.index("Name?") < text.index("No idea.")
    assert "conversation: ✗ remembers: turn 2 does not mention 'Ada'" in text
    assert "tourist" not in text


def test_simulated_transcripts_name_the_goal_and_the_simulator() -> None:
    console = Console(record=True, width=160)
    print_transcripts(console, RESULTS, limit=1)
    text = console.export_text()
    assert "memory" in text and "tourist · m" not in text and "1 more conversation(s) not shown" in text
    console = Console(record=True, width=160)
    print_transcripts(console, RESULTS, failures_only=False, case="tourist")
    text = console.export_text()
    assert "goal reached in 1 turns · simulator sim" in text and "user (sim)" in text and "50 ms" in text


def test_the_conversation_table() -> None:
    text = _render(conversation_table(RESULTS))
    row = next(line for line in text.splitlines() if line.startswith("│ m "))
    cells = [c.strip() for c in row.strip("│").split("│")]
    # passed, mean turns, goal reached, turns to goal, turns passed, turn p50, turn p95
    assert cells[1:] == [
        "1/2",
        "1.5",
        "100% (1/1)",
        "1.0",
        "0%",
        "120 ms",
        "282 ms",
    ]  # p95 of 80, 120, 300: 120 + 0.9 * 180
    assert conversation_table([]) is None
