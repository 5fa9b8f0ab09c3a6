"""Importing cases: chat JSONL, CSV, case JSONL, LangSmith and Langfuse exports and the
gateway's request log (a real SQLite store), detection, bad rows with and without
``skip_bad``, a report that never holds row text, and streaming in bounded memory."""

from __future__ import annotations

import csv
import gzip
import json
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from benchroute import ConfigError
from benchroute.config import Case
from benchroute.store import PolicyStore, RequestLog, Store
from benchroute.suites._imports import import_file, import_gateway

SECRET = "jane.doe@example.com"  # stands for personal data a bad row may hold


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _valid(case: dict[str, Any]) -> None:
    """Every imported case is a valid Case, and is what dumping it gives."""
    assert Case.model_validate(case).model_dump(mode="json", exclude_defaults=True) == case


# --- chat JSONL --------------------------------------------------------------------------------

TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]


def test_chat_jsonl_last_assistant_message_becomes_expected(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "logs.jsonl",
        [
            {
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi there"},
                    {"role": "assistant", "content": "Hello!", "refusal": None},
                ],
                "model": "gpt-small",
                "metadata": {"task_class": "chat", "team": "support"},
            },
            "",  # blank lines are not rows
            {
                "id": "t-1",
                "tools": TOOLS,
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "Look up x"}]},
                    {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "x is 3"},
                    {"role": "assistant", "content": "x is 3."},
                ],
            },
            {
                "messages": [
                    {"role": "user", "content": "Call the tool"},
                    {"role": "assistant", "tool_calls": [TOOL_CALL]},
                ]
            },
            {"messages": [{"role": "user", "content": "No reply logged"}]},
        ],
    )
    imported = import_file(path)
    cases = list(imported)
    for case in cases:
        _valid(case)
    first, tools, call, open_ = cases
    assert first["id"] == "logs-1" and first["expected"] == "Hello!"
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert first["metadata"] == {
        "task_class": "chat",
        "team": "support",
        "source": {"kind": "jsonl", "file": "logs.jsonl", "line": 1},
        "route": "gpt-small",
        "prompt_chars": len("Be brief.") + len("Hi there"),
    }
    assert tools["id"] == "t-1" and tools["expected"] == "x is 3."
    assert [m["role"] for m in tools["messages"]] == ["user", "assistant", "tool"]
    assert (
        tools["messages"][1]["tool_calls"] == [TOOL_CALL] and tools["messages"][2]["tool_call_id"] == "call_1"
    )
    assert tools["metadata"]["tools"] == TOOLS and tools["metadata"]["source"]["line"] == 3
    assert call["expected"] == {"content": None, "tool_calls": [TOOL_CALL]}
    assert "expected" not in open_ and len(open_["messages"]) == 1
    assert imported.report.to_json() | {"bad_rows": []} == {
        "source": "logs.jsonl",
        "format": "chat",
        "rows_read": 4,
        "imported": 4,
        "bad": 0,
        "bad_rows": [],
        "skipped": {},
        "warnings": {},
        "exact_duplicates": 0,
        "filters": {},
        "notes": [],
    }


def test_chat_completion_and_response_shapes(tmp_path: Path) -> None:
    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris"}}]}
    path = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {"messages": [{"role": "user", "content": "Capital of France?"}], "completion": "Paris"},
            {"messages": [{"role": "user", "content": "Capital of France?"}], "response": completion},
            {"prompt": "Capital of Italy?", "completion": "Rome"},
            {"custom_id": "batch-7", "body": {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}},
            {"messages": [{"role": "user", "content": "odd"}], "response": {"weird": 1}},
        ],
    )
    imported = import_file(path)
    cases = list(imported)
    assert [c.get("expected") for c in cases] == ["Paris", "Paris", "Rome", None, None]
    assert cases[2]["messages"] == [{"role": "user", "content": "Capital of Italy?"}]
    assert cases[3]["id"] == "batch-7"
    assert imported.report.warnings == {"response: reply shape not understood, no expected": 1}


# --- CSV and case JSONL ------------------------------------------------------------------------


def test_csv_with_a_column_mapping(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as handle:  # Excel's byte-order mark
        writer = csv.writer(handle)
        writer.writerow(["question", "answer", "category", "score", "meta", "lang"])
        writer.writerow(["Where is my\nparcel?", "On its way", "shipping", "1", '{"team": "eu"}', "en"])
        writer.writerow(["Refund please", "", "billing", "", "", "de"])
    imported = import_file(
        path,
        columns={
            "input": "question",
            "expected": "answer",
            "task_class": "category",
            "feedback": "score",
            "metadata": "meta",
        },
    )
    first, second = list(imported)
    _valid(first)
    assert imported.report.format == "csv"
    assert first["input"] == "Where is my\nparcel?" and first["expected"] == "On its way"
    assert first["id"] == "tickets-3"  # the line the row ends on (its cell spans two)
    assert first["metadata"] == {
        "team": "eu",
        "source": {"kind": "csv", "file": "tickets.csv", "line": 3},
        "task_class": "shipping",
        "feedback": 1.0,
        "prompt_chars": len("Where is my\nparcel?"),
    }
    # Unmapped columns are template vars; mapped ones stay reachable by their own names.
    assert first["vars"]["lang"] == "en" and first["vars"]["question"] == "Where is my\nparcel?"
    assert "expected" not in second and "feedback" not in second["metadata"]


def test_csv_header_problems_raise_at_once(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("question,answer\nq,a\n")
    with pytest.raises(ConfigError, match=r"t\.csv:1: mapped column\(s\) \['prompt'\]") as info:
        import_file(path, columns={"input": "prompt"})
    assert "question" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="no column holds the user message"):
        import_file(path)
    with pytest.raises(ConfigError, match=r"unknown case field\(s\) \['inptu'\]"):
        import_file(path, columns={"inptu": "question"})


def test_case_jsonl_and_tsv_and_gzip(tmp_path: Path) -> None:
    rows = [{"id": 7, "question": "2+2?", "answer": "4", "metadata": {"outcome": "ok"}}]
    path = write_jsonl(tmp_path / "cases.jsonl", rows)
    (case,) = import_file(path, columns={"input": "question", "expected": "answer"})
    assert case["id"] == "7" and case["input"] == "2+2?" and case["expected"] == "4"
    assert case["metadata"]["outcome"] == "ok" and case["metadata"]["source"]["kind"] == "jsonl"
    wrong = write_jsonl(tmp_path / "wrong.jsonl", [{"question": ["not", "text"], "answer": "4"}])
    with pytest.raises(ConfigError, match=r"wrong\.jsonl:1:question: Input should be a valid string"):
        list(import_file(wrong, columns={"input": "question", "expected": "answer"}))
    tsv = tmp_path / "cases.tsv"
    tsv.write_text("input\texpected\nhello\tworld\n")
    (row,) = import_file(tsv)
    assert (row["input"], row["expected"]) == ("hello", "world")
    packed = tmp_path / "chat.jsonl.gz"
    with gzip.open(packed, "wt") as handle:
        handle.write(json.dumps({"messages": [{"role": "user", "content": "zipped"}]}) + "\n")
    imported = import_file(packed)
    assert [c["messages"][0]["content"] for c in imported] == ["zipped"]
    assert imported.report.format == "chat" and imported.report.source == "chat.jsonl.gz"


# --- trace exports ------------------------------------------------------------------------------


def _lc(kind: str, content: str, **kwargs: Any) -> dict[str, Any]:
    return {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", kind],
            "kwargs": {"content": content, **kwargs}}  # fmt: skip


def test_langsmith_runs(tmp_path: Path) -> None:
    llm_run = {
        "id": "run-1",
        "run_type": "llm",
        "inputs": {"messages": [[_lc("SystemMessage", "Be kind."), _lc("HumanMessage", "Hi!")]]},
        "outputs": {"generations": [[{"text": "Hello", "message": _lc("AIMessage", "Hello")}]]},
        "extra": {
            "invocation_params": {"model": "gpt-4o-mini"},
            "metadata": {"ls_provider": "openai", "app": "x"},
        },
        "feedback_stats": {"thumbs": {"n": 2, "avg": 1.0}},
        "error": None,
    }
    tool_run = {
        "id": "run-2",
        "run_type": "llm",
        "inputs": {"messages": [{"type": "human", "content": "Weather?"}]},
        "outputs": {"generations": [[{"text": "", "message": _lc(
            "AIMessage", "", tool_calls=[{"name": "weather", "args": {"city": "Oslo"}, "id": "c1"}])}]]},
    }  # fmt: skip
    chain_run = {
        "id": "run-3",
        "run_type": "chain",
        "inputs": {"question": "Why?"},
        "outputs": {"output": "Because."},
    }
    failed = {
        "id": "run-4",
        "run_type": "llm",
        "inputs": {"prompts": ["Human: hi"]},
        "outputs": None,
        "error": "429",
    }
    path = write_jsonl(tmp_path / "runs.jsonl", [llm_run, tool_run, chain_run, failed])
    imported = import_file(path)
    assert imported.report.format == "langsmith"
    cases = {c["id"]: c for c in imported}
    assert set(cases) == {"run-1", "run-2", "run-4"}
    assert imported.report.skipped == {"not an LLM run (run_type chain)": 1}
    first = cases["run-1"]
    _valid(first)
    assert first["messages"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Hi!"},
    ]
    assert first["expected"] == "Hello"
    assert first["metadata"] == {
        "app": "x",
        "source": {"kind": "trace", "file": "runs.jsonl", "line": 1, "run_id": "run-1"},
        "route": "gpt-4o-mini",
        "outcome": "positive",
        "feedback": 1.0,
        "prompt_chars": len("Be kind.Hi!"),
    }
    call = cases["run-2"]["expected"]["tool_calls"][0]
    assert call["function"] == {"name": "weather", "arguments": '{"city": "Oslo"}'} and call["id"] == "c1"
    assert cases["run-4"]["metadata"]["outcome"] == "error" and "expected" not in cases["run-4"]
    everything = {c["id"]: c for c in import_file(path, llm_only=False, status="ok")}
    assert set(everything) == {"run-1", "run-2", "run-3"}
    assert everything["run-3"]["messages"] == [{"role": "user", "content": "Why?"}]
    assert everything["run-3"]["expected"] == "Because."


def test_langfuse_observations(tmp_path: Path) -> None:
    generation = {
        "id": "obs-1",
        "traceId": "tr-1",
        "type": "GENERATION",
        "model": "claude-haiku",
        "input": [{"role": "user", "content": "Summarise this."}],
        "output": {"role": "assistant", "content": "A summary."},
        "metadata": {"task_class": "summarise"},
        "scores": [{"name": "quality", "value": 0.0}],
        "level": "DEFAULT",
    }
    span = {"id": "obs-2", "traceId": "tr-1", "type": "SPAN", "input": {"q": 1}, "output": None}
    prompt_only = {"id": "obs-3", "type": "GENERATION", "input": {"prompt": "Translate: hi"}, "output": "hei"}
    path = write_jsonl(tmp_path / "observations.jsonl", [generation, span, prompt_only])
    imported = import_file(path)
    assert imported.report.format == "langfuse"
    first, third = list(imported)
    _valid(first)
    assert first["expected"] == "A summary." and first["messages"][0]["content"] == "Summarise this."
    assert first["metadata"]["task_class"] == "summarise" and first["metadata"]["route"] == "claude-haiku"
    assert first["metadata"]["outcome"] == "negative" and first["metadata"]["feedback"] == 0.0
    assert third["messages"] == [{"role": "user", "content": "Translate: hi"}] and third["expected"] == "hei"
    assert imported.report.skipped == {"not a generation (type SPAN)": 1}


def test_format_detection(tmp_path: Path) -> None:
    samples = {
        "chat": {"messages": [{"role": "user", "content": "hi"}]},
        "langsmith": {"id": "r", "run_type": "llm", "inputs": {"prompt": "hi"}, "outputs": {}},
        "langfuse": {"id": "o", "type": "GENERATION", "input": "hi", "output": "yo"},
        "jsonl": {"input": "hi", "expected": "yo"},
    }
    for name, row in samples.items():
        path = write_jsonl(tmp_path / f"{name}.jsonl", ["", "{not json", row])
        assert import_file(path, skip_bad=True).report.format == name
    (tmp_path / "t.csv").write_text("input\nhi\n")
    assert import_file(tmp_path / "t.csv").report.format == "csv"
    write_jsonl(tmp_path / "odd.jsonl", [{"foo": 1}])
    with pytest.raises(ConfigError, match="cannot tell the format") as info:
        import_file(tmp_path / "odd.jsonl")
    assert "langsmith" in (info.value.hint or "")
    (tmp_path / "array.json").write_text(json.dumps([{"messages": []}]))
    with pytest.raises(ConfigError, match="a JSON array, not JSON Lines"):
        list(import_file(tmp_path / "array.json", format="chat"))
    with pytest.raises(ConfigError, match="file not found"):
        import_file(tmp_path / "missing.jsonl", format="chat")
    with pytest.raises(ConfigError, match="format 'xml' is not known"):
        import_file(tmp_path / "t.csv", format="xml")


# --- bad rows -----------------------------------------------------------------------------------

BAD_ROWS: list[Any] = [
    {"messages": [{"role": "user", "content": "fine"}]},
    '{"messages": [{"role": "user", "content": "' + SECRET + '"',  # cut short
    {"messages": [{"role": "assistant", "content": SECRET}, {"role": "assistant", "content": "x"}]},
    {"messages": [{"role": "bot", "content": SECRET}]},
    {"messages": [{"role": "user", "content": 42}]},
    {"messages": "just text " + SECRET},
    [SECRET],
    {"messages": [{"role": "user", "content": "fine too"}], "metadata": SECRET},
]
EXPECTED_BAD = [
    ("bad.jsonl:2:json", "invalid JSON at column"),
    ("bad.jsonl:3:messages", "no user message"),
    ("bad.jsonl:4:messages.0.role", "unknown or missing role"),
    ("bad.jsonl:5:messages.0.content", "content must be text or a list of parts, got int"),
    ("bad.jsonl:6:messages", "messages must be a list, got str"),
    ("bad.jsonl:7:json", "expected a JSON object, got list"),
    ("bad.jsonl:8:metadata", "metadata must be an object, got str"),
]


def test_a_bad_row_raises_naming_file_line_and_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", BAD_ROWS)
    stream = import_file(path)
    assert next(stream)["messages"][0]["content"] == "fine"
    with pytest.raises(ConfigError) as info:
        next(stream)
    assert info.value.message.startswith(f"{path}:2:json: invalid JSON at column")
    assert "--skip-bad" in (info.value.hint or "")
    for number, (location, reason) in enumerate(EXPECTED_BAD[1:], start=1):
        rows = [BAD_ROWS[0]] * (number + 1) + [BAD_ROWS[number + 1]]  # the bad row on its own line
        single = write_jsonl(tmp_path / "bad.jsonl", rows)
        line = location.split(":")[1]
        moved = location.replace(f":{line}:", f":{number + 2}:")
        with pytest.raises(ConfigError) as info:
            list(import_file(single, format="chat"))
        assert info.value.message.startswith(f"{tmp_path}/{moved}: {reason}"), info.value.message
        assert SECRET not in str(info.value)


def test_skip_bad_counts_rows_and_keeps_no_row_text(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", BAD_ROWS)
    imported = import_file(path, format="chat", skip_bad=True, max_bad_rows=5)
    assert [c["messages"][0]["content"] for c in imported] == ["fine"]
    report = imported.report
    assert (report.rows_read, report.imported, report.bad) == (8, 1, 7)
    assert [b.location for b in report.bad_rows] == [location for location, _ in EXPECTED_BAD[:5]]
    for (_, reason), bad in zip(EXPECTED_BAD, report.bad_rows, strict=False):
        assert bad.reason.startswith(reason)
    text = json.dumps(report.to_json())
    assert SECRET not in text and "jane" not in text
    assert json.loads(text)["bad_rows"][0] == {
        "location": "bad.jsonl:2:json",
        "row": 2,
        "field": "json",
        "reason": report.bad_rows[0].reason,
        "hint": "each line must be one JSON object",
    }


def test_drop_duplicates_counts_exact_copies(tmp_path: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": "Reset my password"}], "completion": "Sure"},
        {"messages": [{"role": "user", "content": "  reset MY password "}], "completion": "sure"},
        {"messages": [{"role": "user", "content": "Reset my password"}], "completion": "Done"},
    ]
    imported = import_file(write_jsonl(tmp_path / "d.jsonl", rows), drop_duplicates=True)
    assert [c["id"] for c in imported] == ["d-1", "d-3"]
    assert (imported.report.imported, imported.report.duplicates) == (2, 1)


# --- streaming memory ---------------------------------------------------------------------------


def test_a_50_mb_file_streams_in_a_few_mb(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    filler = "lorem ipsum dolor sit amet " * 180  # ~5 kB a row
    with path.open("w") as handle:
        for number in range(10_200):
            row = {
                "messages": [
                    {"role": "system", "content": "You are a support agent."},
                    {"role": "user", "content": f"ticket {number}: {filler}"},
                    {"role": "assistant", "content": "Thanks, resolved."},
                ],
                "metadata": {"task_class": "support"},
            }
            handle.write(json.dumps(row) + "\n")
    assert path.stat().st_size > 50_000_000
    list(
        import_file(
            write_jsonl(tmp_path / "warm.jsonl", ["{}", {"messages": [{"role": "user", "content": "x"}]}]),
            skip_bad=True,
        )
    )
    tracemalloc.start()
    try:
        started = time.perf_counter()
        count = sum(1 for _ in import_file(path))
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 10_200
    assert peak < 4_000_000, f"peak {peak / 1e6:.1f} MB"
    rate = path.stat().st_size / elapsed / 1e6
    print(f"50 MB: peak {peak / 1e6:.2f} MB traced, {rate:.0f} MB/s under tracemalloc")


# --- the gateway's request log ------------------------------------------------------------------


def _request(
    rid: str, ts: float, text: str, *, status: int = 200, payload: bool = True, **extra: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": rid, "receipt_id": f"rc-{rid}", "created_ts": ts, "alias": "benchroute", "attempts": 1,
        "status": status, "stream": False, "receipt": {}, "model": "small", **extra,
    }  # fmt: skip
    if payload:
        row["request_payload"] = {"model": "benchroute", "messages": [{"role": "user", "content": text}]}
        if status == 200:
            row["response_payload"] = {
                "choices": [{"message": {"role": "assistant", "content": f"re: {text}"}}]
            }
    return row


@pytest.fixture
def gateway_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    t0 = datetime(2025, 3, 1, tzinfo=UTC).timestamp()
    RequestLog(store).add_requests(
        [
            _request("r1", t0, "first", task_class="support", policy_version=1),
            _request("r2", t0, "same second", task_class="support", policy_version=1),  # one timestamp
            _request("r3", t0, "third", task_class="code", policy_version=1),
            _request("r4", t0 + 10, "failed", status=502, task_class="support"),
            _request("r5", t0 + 20, "no payload", payload=False, task_class="support"),
            _request("r6", t0 + 86_400, "next day", task_class="support"),
            _request("r7", t0 + 86_500, "an alias request"),
            {**_request("r8", t0 + 86_600, "broken", task_class="support"), "request_payload": {"prompt": 1}},
        ]
    )
    PolicyStore(store).add_feedback(
        [
            {"id": "f1", "request_id": "r1", "created_ts": t0, "score": 1.0, "thumbs": 1, "source": "user"},
            {"id": "f2", "request_id": "r2", "created_ts": t0, "score": 0.0, "thumbs": -1, "source": "user"},
            {
                "id": "f3",
                "request_id": "r3",
                "created_ts": t0,
                "score": 1.0,
                "source": "judge",
            },  # not a user's
        ]
    )
    return store


def test_gateway_import_turns_logged_requests_into_cases(gateway_store: Store) -> None:
    imported = import_gateway(gateway_store, skip_bad=True, page_size=2)
    cases = {c["id"]: c for c in imported}
    assert list(cases) == ["r1", "r2", "r3", "r6", "r7"]
    first = cases["r1"]
    _valid(first)
    assert first["messages"] == [{"role": "user", "content": "first"}] and first["expected"] == "re: first"
    assert first["metadata"] == {
        "feedback": 1.0,
        "source": {
            "kind": "gateway",
            "request_id": "r1",
            "created_ts": first["metadata"]["source"]["created_ts"],
        },
        "task_class": "support",
        "route": "small",
        "outcome": "positive",
        "prompt_chars": 5,
    }
    assert cases["r2"]["metadata"]["outcome"] == "negative"
    assert cases["r3"]["metadata"]["feedback"] is None and cases["r3"]["metadata"]["outcome"] == "ok"
    assert "task_class" not in cases["r7"]["metadata"]
    report = imported.report
    assert report.rows_read == 8 and report.imported == 5 and report.bad == 1
    assert report.skipped == {"status not ok (only ok requests imported)": 1, "no payload logged": 1}
    assert any("gateway.log_payloads: true" in note for note in report.notes)
    assert report.bad_rows[0].location == "gateway:r8:request_payload.messages"
    with pytest.raises(ConfigError, match=r"^gateway:r8:request_payload\.messages: no messages"):
        list(import_gateway(gateway_store))


def test_gateway_filters(gateway_store: Store) -> None:
    def ids(**filters: Any) -> list[str]:
        return [c["id"] for c in import_gateway(gateway_store, skip_bad=True, page_size=1, **filters)]

    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    assert ids(task_class="support") == ["r1", "r2", "r6"]
    assert ids(task_class="support", status="any") == ["r1", "r2", "r4", "r6"]
    assert ids(status="error") == ["r4"]
    assert ids(until=datetime(2025, 3, 2)) == ["r1", "r2", "r3"]  # naive: UTC
    assert ids(since=t0.timestamp() + 1) == ["r6", "r7"]
    assert ids(feedback="positive") == ["r1"]
    assert ids(feedback="negative") == ["r2"]
    assert ids(feedback="any") == ["r1", "r2"]
    assert ids(feedback="none", task_class="support") == ["r6"]
    report = import_gateway(gateway_store, feedback="positive", task_class="support").report
    assert report.filters == {
        "task_class": "support", "since_ts": None, "until_ts": None, "status": "ok", "feedback": "positive",
    }  # fmt: skip
    with pytest.raises(ConfigError, match="feedback 'great' is not known"):
        import_gateway(gateway_store, feedback="great")  # type: ignore[arg-type]


def test_gateway_paging_passes_over_many_rows_with_one_timestamp(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    RequestLog(store).add_requests(
        [_request(f"q{n:03d}", 1000.0 + n // 7, f"q {n}", task_class="c") for n in range(60)]
    )
    for task_class in (None, "c"):
        got = [c["id"] for c in import_gateway(store, task_class=task_class, page_size=3)]
        assert got == [f"q{n:03d}" for n in range(60)]
