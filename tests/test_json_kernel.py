"""JSON from the wire keeps every integer exact (orjson alone reads one outside 64 bits as a
float), reads the rest like orjson, and raises ValueError for what is not JSON."""

from __future__ import annotations

import pytest

from benchroute._json import loads
from benchroute.providers._http import loads_object


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 123456789012345678901234567890}',
        b'{"a": -9223372036854775809, "b": [18446744073709551616]}',
        '{"account_id": 123456789012345678901}',
    ],
)
def test_integers_beyond_64_bits_stay_exact(raw: bytes | str) -> None:
    value = loads(raw)
    number = value.get("a", value.get("account_id"))
    assert isinstance(number, int) and str(number) in (raw if isinstance(raw, str) else raw.decode())


def test_the_rest_is_read_as_json_and_bad_input_is_a_value_error() -> None:
    assert loads(b'{"x": 18446744073709551615, "s": "12345678901234567890 in text"}') == {
        "x": 18446744073709551615,
        "s": "12345678901234567890 in text",
    }
    assert loads('[1.5, "\\u00e9", null, true]') == [1.5, "é", None, True]
    for bad in (b"{", b"", b"\xff", b'{"a": NaN}'):
        with pytest.raises(ValueError):
            loads(bad)


def test_a_provider_reply_keeps_a_long_integer_in_its_tool_arguments() -> None:
    reply = loads_object(b'{"choices": [{"message": {"tool_input": {"id": 123456789012345678901}}}]}', "m")
    assert reply["choices"][0]["message"]["tool_input"]["id"] == 123456789012345678901
    assert loads_object(b'{"a": NaN}', "m")["a"] != 0  # what orjson refuses, json still reads
