"""The holdout scrubber: typed placeholders consistent within a conversation, numbering per
case, idempotence, fakes that stay valid and deterministic, custom patterns, the leak check,
and reports that hold counts, never values."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchroute import ConfigError
from benchroute.suites import CustomRecognizer, LeakError, Scrubber, ScrubPipeline, leak_check

PLACEHOLDER = re.compile(r"<([A-Z_]+)_(\d+)>")


@pytest.fixture(scope="module")
def scrubber() -> Scrubber:
    return Scrubber()


def _conversation(*turns: str) -> dict[str, Any]:
    roles = ("user", "assistant")
    return {"id": "t1", "messages": [{"role": roles[i % 2], "content": text} for i, text in enumerate(turns)]}


def test_a_value_keeps_its_placeholder_across_turns_and_fields(scrubber: Scrubber) -> None:
    case = _conversation(
        "Hi, write to ada.lovelace@example.org or call +44 20 7946 0958.",
        "Thanks. Is ada.lovelace@example.org the address on the account?",
        "Yes; my work one is ada@analytical.co.uk. Phone +44-20-7946-0958 works too.",
    )
    case["expected"] = "We will reach you at ada.lovelace@example.org."
    scrubbed, counts = scrubber.scrub_case(case)
    texts = [m["content"] for m in scrubbed["messages"]]
    assert "<EMAIL_1>" in texts[0] and "<EMAIL_1>" in texts[1] and "<EMAIL_2>" in texts[2]
    assert "<PHONE_1>" in texts[0] and "<PHONE_1>" in texts[2]  # one number, two writings
    assert scrubbed["expected"] == "We will reach you at <EMAIL_1>."
    assert counts["EMAIL"] == 4 and counts["PHONE"] == 2  # occurrences replaced
    assert case["messages"][0]["content"].startswith("Hi, write to ada.lovelace")  # input untouched


def test_numbering_starts_again_in_each_case(scrubber: Scrubber) -> None:
    one, _ = scrubber.scrub_case({"id": "a", "input": "mail bo@example.net and cy@example.net"})
    two, _ = scrubber.scrub_case({"id": "b", "input": "mail cy@example.net"})
    assert one["input"] == "mail <EMAIL_1> and <EMAIL_2>"
    assert two["input"] == "mail <EMAIL_1>"


def test_a_case_already_scrubbed_keeps_its_numbers(scrubber: Scrubber) -> None:
    case = {"id": "c", "input": "old <EMAIL_1>, new dee@example.com"}
    scrubbed, _ = scrubber.scrub_case(case)
    assert scrubbed["input"] == "old <EMAIL_1>, new <EMAIL_2>"


def test_names_across_turns_and_a_person_field(scrubber: Scrubber) -> None:
    case = _conversation(
        "Hello, this is Margaret Okafor from the finance team.", "Thanks Margaret, one moment."
    )
    case["vars"] = {"customer": "Margaret Okafor"}
    scrubbed, counts = scrubber.scrub_case(case)
    text = json.dumps(scrubbed)
    assert "Margaret" not in text and "Okafor" not in text
    assert "<PERSON_1>" in scrubbed["messages"][1]["content"] and scrubbed["vars"]["customer"] == "<PERSON_1>"
    assert counts["PERSON"] >= 2


def test_decoys_stay(scrubber: Scrubber) -> None:
    text = (
        "Order ORD-2024-118822 shipped 2024-03-05; v2.14.1; total 1,249.00 EUR; "
        "card 4111 1111 1111 1112 was refused; id 0b7e2c6a-51c4-4e4c-9f8d-2f1f7d3c8a10."
    )
    assert scrubber.scrub_text(text) == text


# --- properties -------------------------------------------------------------------------------

_FIRST = ["Ana", "Jonas", "Priya", "Kenji", "Olu", "Marta", "Liam", "Sofia"]
_LAST = ["Souza", "Becker", "Raman", "Tanaka", "Adeyemi", "Novak", "Walsh", "Rossi"]
_values = {
    "email": st.from_regex(r"[a-z]{2,8}\.[a-z]{2,8}@(example|mailhost|corp)\.(org|com|net)", fullmatch=True),
    "ipv4": st.tuples(*[st.integers(11, 223)] * 4).map(lambda t: ".".join(map(str, t))),
    "card": st.sampled_from(["4111 1111 1111 1111", "5500-0000-0000-0004", "340000000000009"]),
    "iban": st.sampled_from(
        ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR1420041010050500013M02606"]
    ),
    "phone": st.sampled_from(["+44 20 7946 0958", "+1 (415) 555-2671", "+49 30 901820", "+33 1 42 68 53 00"]),
    "name": st.tuples(st.sampled_from(_FIRST), st.sampled_from(_LAST)).map(" ".join),
}
_TEMPLATES = [
    "Please contact {} about the refund.",
    "My details: {}.",
    "Logged from {} at 10:02.",
    "{} asked us to update the record.",
    "Can you confirm {} is right?",
]
_turn = st.tuples(st.sampled_from(_TEMPLATES), st.sampled_from(sorted(_values))).flatmap(
    lambda pair: _values[pair[1]].map(lambda value: (pair[0].format(value), value, pair[1]))
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(turns=st.lists(_turn, min_size=1, max_size=5))
def test_scrubbing_is_idempotent_and_consistent_within_a_conversation(
    scrubber: Scrubber, turns: list[tuple[str, str, str]]
) -> None:
    case = _conversation(*(text for text, _, _ in turns))
    once, _ = scrubber.scrub_case(case)
    twice, again = scrubber.scrub_case(once)
    assert twice == once and not again  # idempotent: nothing new found, nothing renumbered
    written = json.dumps(once)
    for _, value, kind in turns:
        if kind != "name":  # typed values always go; names (NER, no checksum) mostly: see the corpus test
            assert value not in written, value
    # Consistency: each raw value maps to one placeholder, wherever it occurs in the case.
    seen: dict[str, set[str]] = {}
    for (text, value, _), message in zip(turns, once["messages"], strict=True):
        before, _, after = text.partition(value)
        content = message["content"]
        if content.startswith(before) and content.endswith(after):
            seen.setdefault(value, set()).add(content[len(before) : len(content) - len(after)])
    assert all(len(tags) == 1 for tags in seen.values()), seen
    placeholders = {tag for tags in seen.values() for tag in tags}
    assert len(placeholders) == len(seen)  # two values never share one


# --- fakes ------------------------------------------------------------------------------------


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _iban_ok(iban: str) -> bool:
    compact = iban.replace(" ", "")
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def test_fakes_are_valid_deterministic_and_never_the_value() -> None:
    fake = Scrubber(fake=True, seed=5, names=False)
    case = {
        "id": "f",
        "input": "card 4111 1111 1111 1111, iban DE89 3704 0044 0532 0130 00, mail ada@example.org",
        "expected": "card 4111 1111 1111 1111",
    }
    out, counts = fake.scrub_case(case)
    text = out["input"]
    assert "4111 1111 1111 1111" not in text and "DE89 3704 0044 0532 0130 00" not in text
    card = re.search(r"card ([\d ]+),", text)
    iban = re.search(r"iban ([A-Z]{2}\d{2}[\d ]+?), mail", text)
    assert card and iban, text
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", card.group(1)) and _luhn_ok(
        card.group(1).replace(" ", "")
    )
    assert iban.group(1).startswith("DE") and _iban_ok(iban.group(1))
    assert out["expected"] == f"card {card.group(1)}"  # the same value, the same fake
    assert counts["CREDIT_CARD"] == 2
    again, _ = Scrubber(fake=True, seed=5, names=False).scrub_case(case)
    assert again == out  # deterministic per (seed, value)
    assert not fake.leak_check([out])  # its fakes are known, not leaks
    assert "4111" not in json.dumps(out["metadata"]["scrub"])  # digests of fakes, no values


# --- custom patterns, leak check, reports ---------------------------------------------------


def test_a_custom_pattern_replaces_its_value_group() -> None:
    custom = CustomRecognizer("EMPLOYEE_ID", r"\bemp[-_](?P<value>\d{6})\b", 0.9)
    out, counts = Scrubber(custom=[custom], names=False).scrub_case(
        {"id": "e", "input": "ticket by emp-481516"}
    )
    assert out["input"] == "ticket by emp-<EMPLOYEE_ID_1>" and counts["EMPLOYEE_ID"] == 1


@pytest.mark.parametrize(
    ("recognizer", "message"),
    [
        (
            CustomRecognizer("EMP", r"emp-(\d+", source="benchroute.yaml:12"),
            r"benchroute\.yaml:12: .*invalid regex",
        ),
        (CustomRecognizer("emp id", r"\d+"), "not an upper-case tag"),
        (CustomRecognizer("EMP", r"\d+", score=3.0), "score must be between 0 and 1"),
    ],
)
def test_a_bad_custom_pattern_is_a_config_error(recognizer: CustomRecognizer, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Scrubber(custom=[recognizer], names=False)


def test_the_leak_check_names_the_field_and_masks_the_value(scrubber: Scrubber) -> None:
    leaks = leak_check(
        [
            {
                "id": "k",
                "input": "fine",
                "messages": [{"role": "user", "content": "mail joe.bloggs@example.com"}],
            }
        ],
        scrubber=scrubber,
    )
    assert len(leaks) == 1
    leak = leaks[0]
    assert (leak.case_id, leak.path, leak.entity) == ("k", "messages.0.content", "EMAIL")
    assert "joe.bloggs" not in str(leak) and "example.com" in leak.masked


def test_the_pipeline_refuses_to_save_what_it_cannot_scrub() -> None:
    class Blind(Scrubber):
        def scrub_cases(self, cases: Any, *, batch_size: int = 64) -> Any:  # a scrubber that misses
            return iter(cases)

        def scrub_case(self, case: dict[str, Any]) -> Any:
            return case, {}

    pipeline = ScrubPipeline()
    pipeline.scrubber.__class__ = Blind
    with pytest.raises(LeakError, match=r"case z: input \(.*\*\*\*.*\).*nothing was saved") as raised:
        list(pipeline.stream([{"id": "z", "input": "card 4111 1111 1111 1111"}]))
    assert "4111 1111 1111 1111" not in str(raised.value)


def test_the_report_counts_without_values() -> None:
    pipeline = ScrubPipeline()
    cases = [
        {"id": "1", "input": "mail ann@example.org, ip 203.0.113.9"},
        {"id": "ann@example.org", "input": "Hello, I'm Rosa Delgado."},
        {"id": "3", "input": "nothing here"},
    ]
    out = list(pipeline.stream(cases))
    report = pipeline.report()
    assert report["entities"] == {"EMAIL": 1, "IP_ADDRESS": 1} and report["names"] == 1
    assert report["cases_seen"] == 3 and report["cases_changed"] == 2
    assert report["ids_replaced"] == 1 and out[1]["id"].startswith("case-")
    text = json.dumps(report) + json.dumps(out)
    for raw in ("ann@example.org", "203.0.113.9", "Rosa", "Delgado"):
        assert raw not in text
