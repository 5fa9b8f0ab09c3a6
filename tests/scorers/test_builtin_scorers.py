"""Built-in scorers, built by name through the registry (the entry-point path)."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from benchroute import Case, Completion, ConfigError, Score, ScorerSpec, Usage
from benchroute.scorers import build_scorer, import_plugins, registered_scorers

BUILT_INS = ("exact", "contains", "regex", "json_valid", "json_schema", "max_length")


def run(
    name: str,
    text: str,
    *,
    expected: Any = None,
    args: dict[str, Any] | None = None,
    threshold: float | None = None,
    usage: Usage | None = None,
) -> Score:
    scorer = build_scorer(ScorerSpec(name=name, args=args or {}, threshold=threshold))
    completion = Completion(text=text, usage=usage or Usage())
    return asyncio.run(scorer(completion, Case(id="c1", input="q", expected=expected)))


def build_error(name: str, args: dict[str, Any] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        build_scorer(ScorerSpec(name=name, args=args or {}), where="suite.yaml:9")
    return str(info.value)


# --- registry ----------------------------------------------------------------------------------


def test_registered_scorers_contains_all_built_ins() -> None:
    registered = registered_scorers()
    assert set(BUILT_INS) <= set(registered)
    for name in BUILT_INS:
        assert callable(registered[name])


def test_unknown_scorer_lists_known_ones() -> None:
    message = build_error("exactly")
    assert "unknown scorer 'exactly'" in message
    for name in BUILT_INS:
        assert name in message


def test_custom_scorer_from_a_plugin_file_is_buildable_by_name(tmp_path: Path) -> None:
    (tmp_path / "my_scorers.py").write_text(
        textwrap.dedent(
            """
            import benchroute


            @benchroute.scorer("my_len")
            def my_len(limit=5, threshold=1.0):
                async def score(completion, case):
                    length = len(completion.text)
                    value = 1.0 if length <= limit else 0.0
                    return benchroute.Score(value, value >= threshold, f"len {length}", "my_len")

                return score
            """
        ),
        encoding="utf-8",
    )
    import_plugins(["my_scorers.py"], tmp_path)
    assert "my_len" in registered_scorers()
    short = run("my_len", "abc", args={"limit": 3})
    assert (short.value, short.passed, short.reason, short.scorer) == (1.0, True, "len 3", "my_len")
    long = run("my_len", "abcd", args={"limit": 3})
    assert (long.value, long.passed) == (0.0, False)
    # Its arguments are checked like a built-in's.
    assert "scorer 'my_len'" in build_error("my_len", {"limti": 3})


def test_same_named_plugin_files_in_two_projects_both_register(tmp_path: Path) -> None:
    for project, name in (("one", "plugin_one"), ("two", "plugin_two")):
        folder = tmp_path / project
        folder.mkdir()
        (folder / "scorers.py").write_text(
            textwrap.dedent(
                f"""
                import benchroute


                @benchroute.scorer("{name}")
                def factory():
                    async def score(completion, case):
                        return benchroute.Score(1.0, True, "{name}", "{name}")

                    return score
                """
            ),
            encoding="utf-8",
        )
        import_plugins(["scorers.py"], folder)
    assert run("plugin_one", "x").reason == "plugin_one"
    assert run("plugin_two", "x").reason == "plugin_two"


def test_import_plugins_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        import_plugins(["absent.py"], tmp_path)
    assert "imports: absent.py: file not found" in str(info.value)

    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        import_plugins(["broken_plugin.py"], tmp_path)
    assert "imports: broken_plugin.py: RuntimeError: boom" in str(info.value)

    with pytest.raises(ConfigError) as info:
        import_plugins(["benchroute_no_such_module_xyz"], tmp_path)
    assert "imports: benchroute_no_such_module_xyz" in str(info.value)


# --- wrong arguments ---------------------------------------------------------------------------


def test_regex_without_pattern() -> None:
    message = build_error("regex")
    assert "suite.yaml:9: scorer 'regex'" in message
    assert "'pattern'" in message


def test_invalid_regex() -> None:
    message = build_error("regex", {"pattern": "(unclosed"})
    assert "suite.yaml:9: scorer 'regex'" in message
    assert "invalid regular expression" in message


def test_contains_with_unknown_mode() -> None:
    message = build_error("contains", {"values": ["x"], "mode": "some"})
    assert "suite.yaml:9: scorer 'contains'" in message
    assert "'some'" in message


def test_unexpected_argument_lists_the_allowed_ones() -> None:
    message = build_error("exact", {"ignorecase": True})
    assert "scorer 'exact'" in message
    assert "ignorecase" in message
    assert "ignore_case" in message  # from the hint listing the real arguments


@pytest.mark.parametrize(
    ("name", "args", "needle"),
    [
        ("max_length", {"max": 10, "unit": "lines"}, "unit must be"),
        ("max_length", {"max": -1}, "max must be >= 0"),
        ("max_length", {}, "'max'"),
        ("json_schema", {}, "exactly one of 'schema' or 'schema_path'"),
        ("json_schema", {"schema": {"type": "nonsense"}}, "invalid JSON Schema"),
        ("json_schema", {"schema_path": "/nonexistent/schema.json"}, "schema_path"),
    ],
)
def test_bad_arguments_name_the_scorer(name: str, args: dict[str, Any], needle: str) -> None:
    message = build_error(name, args)
    assert f"scorer {name!r}" in message
    assert needle in message


# --- exact -------------------------------------------------------------------------------------


def test_exact_passes() -> None:
    assert run("exact", "Paris", expected="Paris").passed
    assert run("exact", "  Paris\n", expected="Paris").passed  # strip by default
    assert run("exact", "berlin", expected=["Berlin", "berlin"]).passed
    assert run("exact", "PARIS", expected="paris", args={"ignore_case": True}).passed
    assert run("exact", "a  b\nc", expected="a b c", args={"collapse_whitespace": True}).passed
    assert run("exact", "42", args={"expected": 42}).passed
    score = run("exact", "Paris", expected="Paris")
    assert (score.value, score.reason, score.scorer) == (1.0, "exact match", "exact")


def test_exact_fails() -> None:
    score = run("exact", "paris", expected="Paris")
    assert (score.value, score.passed) == (0.0, False)
    assert score.reason == "expected 'Paris', got 'paris'"
    assert not run("exact", " Paris", expected="Paris", args={"strip": False}).passed
    assert not run("exact", "Paris!", expected=["Paris", "paris"]).passed
    no_expected = run("exact", "anything")
    assert (no_expected.passed, no_expected.reason) == (False, "the case has no expected value")
    # A None item (a blank cell) is no expected value, not the text "None".
    blank = run("exact", "None", expected=[None])
    assert (blank.passed, blank.reason) == (False, "the case has no expected value")
    assert run("exact", "Paris", expected=[None, "Paris"]).passed
    assert not run("contains", "None of these", args={"values": [None]}).passed


def test_exact_threshold_zero_passes_a_mismatch() -> None:
    score = run("exact", "no", expected="yes", threshold=0.0)
    assert (score.value, score.passed) == (0.0, True)


# --- contains ----------------------------------------------------------------------------------


def test_contains_passes() -> None:
    assert run("contains", "The capital is PARIS.", expected="Paris").passed  # ignore_case default
    assert run("contains", "Rome or Paris", args={"values": ["Berlin", "Paris"]}).passed
    both = run("contains", "red and blue", args={"values": ["red", "blue"], "mode": "all"})
    assert (both.value, both.passed, both.reason) == (1.0, True, "found all")
    clean = run("contains", "a polite reply", args={"values": ["damn"], "negate": True})
    assert (clean.value, clean.passed) == (1.0, True)


def test_contains_fails() -> None:
    assert not run("contains", "PARIS", args={"values": ["Paris"], "ignore_case": False}).passed
    none = run("contains", "London", args={"values": ["Paris", "Rome"]})
    assert (none.value, none.passed) == (0.0, False)
    assert "none of" in none.reason
    half = run("contains", "red only", args={"values": ["red", "blue"], "mode": "all"})
    assert (half.value, half.passed) == (0.5, False)
    assert half.reason == "missing ['blue']"
    forbidden = run("contains", "oh DAMN", args={"values": ["damn"], "negate": True})
    assert (forbidden.value, forbidden.passed) == (0.0, False)
    assert forbidden.reason == "contains forbidden 'damn'"
    nothing = run("contains", "text")
    assert (nothing.passed, nothing.reason) == (False, "no values to look for")


def test_contains_partial_credit_meets_a_lower_threshold() -> None:
    half = run("contains", "red only", args={"values": ["red", "blue"], "mode": "all"}, threshold=0.5)
    assert (half.value, half.passed) == (0.5, True)


# --- regex -------------------------------------------------------------------------------------


def test_regex_passes() -> None:
    score = run("regex", "Answer: 42.", args={"pattern": r"\d+"})
    assert (score.value, score.passed, score.reason) == (1.0, True, "matched '42'")
    assert run("regex", "ANSWER", args={"pattern": "answer", "ignore_case": True}).passed
    assert run("regex", "x\nline two", args={"pattern": "^line", "multiline": True}).passed
    assert run("regex", "  2024-01-31\n", args={"pattern": r"\d{4}-\d\d-\d\d", "full_match": True}).passed
    assert run("regex", "all good", args={"pattern": "error", "negate": True}).passed


def test_regex_fails() -> None:
    score = run("regex", "no digits", args={"pattern": r"\d+"})
    assert (score.value, score.passed) == (0.0, False)
    assert score.reason == r"no match for '\\d+'"
    assert not run("regex", "ANSWER", args={"pattern": "answer"}).passed
    assert not run("regex", "x\nline two", args={"pattern": "^line"}).passed
    date = {"pattern": r"\d{4}-\d\d-\d\d", "full_match": True}
    assert not run("regex", "date: 2024-01-31", args=date).passed
    negated = run("regex", "an error here", args={"pattern": "error", "negate": True})
    assert (negated.value, negated.passed) == (0.0, False)
    assert negated.reason == "matched forbidden pattern at 3"


# --- json_valid --------------------------------------------------------------------------------


def test_json_valid_passes() -> None:
    for text in ['{"a": [1, 2]}', "[]", '"text"', "null", '  {"a": 1}\n']:
        score = run("json_valid", text)
        assert (score.value, score.passed, score.reason) == (1.0, True, "valid JSON"), text
    fenced = 'Here you go:\n```json\n{"a": 1}\n```\nAnything else?'
    assert run("json_valid", fenced).passed


def test_json_valid_fails() -> None:
    truncated = run("json_valid", '{"a": [1, 2')
    assert (truncated.value, truncated.passed) == (0.0, False)
    assert truncated.reason.startswith("invalid JSON at line 1 column 12")
    assert not run("json_valid", "{'a': 1}").passed  # Python, not JSON
    assert not run("json_valid", 'Sure! {"a": 1}').passed
    fenced = 'Here you go:\n```json\n{"a": 1}\n```'
    assert not run("json_valid", fenced, args={"extract": False}).passed


@pytest.mark.parametrize("text", ["NaN", '{"a": Infinity}', "[-Infinity]"])
def test_json_valid_rejects_python_only_constants(text: str) -> None:
    score = run("json_valid", text)
    assert (score.value, score.passed) == (0.0, False)
    assert "is not a JSON value" in score.reason


# --- json_schema -------------------------------------------------------------------------------

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age"],
}


def test_json_schema_passes() -> None:
    score = run("json_schema", '{"name": "Ada", "age": 36}', args={"schema": PERSON})
    assert (score.value, score.passed, score.reason) == (1.0, True, "matches the schema")
    fenced = '```json\n{"name": "Ada", "age": 36, "tags": ["x"]}\n```'
    assert run("json_schema", fenced, args={"schema": PERSON}).passed


def test_json_schema_from_a_file(tmp_path: Path) -> None:
    schema_file = tmp_path / "person.json"
    schema_file.write_text(json.dumps(PERSON), encoding="utf-8")
    args = {"schema_path": str(schema_file)}
    assert run("json_schema", '{"name": "Ada", "age": 36}', args=args).passed
    assert run("json_schema", '{"name": "Ada", "age": -1}', args=args).reason.startswith("$.age: ")


def test_json_schema_reason_names_the_failing_path() -> None:
    wrong_type = run("json_schema", '{"name": "Ada", "age": "old"}', args={"schema": PERSON})
    assert (wrong_type.value, wrong_type.passed) == (0.0, False)
    assert wrong_type.reason == "$.age: 'old' is not of type 'integer'"
    nested = run("json_schema", '{"name": "Ada", "age": 1, "tags": ["a", 2]}', args={"schema": PERSON})
    assert nested.reason == "$.tags[1]: 2 is not of type 'string'"
    missing = run("json_schema", '{"name": "Ada"}', args={"schema": PERSON})
    assert missing.reason == "$: 'age' is a required property"


def test_json_schema_fails_on_invalid_json() -> None:
    score = run("json_schema", '{"a": [1, 2', args={"schema": PERSON})
    assert (score.value, score.passed) == (0.0, False)
    assert score.reason.startswith("invalid JSON")


# --- max_length --------------------------------------------------------------------------------


def test_max_length_passes() -> None:
    score = run("max_length", "12345", args={"max": 5})
    assert (score.value, score.passed, score.reason) == (1.0, True, "5 chars (max 5)")
    assert run("max_length", "one two three", args={"max": 3, "unit": "words"}).passed
    tokens = run("max_length", "x" * 1000, args={"max": 10, "unit": "tokens"}, usage=Usage(output_tokens=10))
    assert tokens.passed
    assert tokens.reason == "10 tokens (max 10)"


def test_max_length_fails() -> None:
    score = run("max_length", "123456", args={"max": 5})
    assert (score.value, score.passed, score.reason) == (0.0, False, "6 chars (max 5)")
    assert not run("max_length", "one two three four", args={"max": 3, "unit": "words"}).passed
    tokens = run("max_length", "x", args={"max": 10, "unit": "tokens"}, usage=Usage(output_tokens=11))
    assert (tokens.passed, tokens.reason) == (False, "11 tokens (max 10)")


# --- malformed model output is scored, never crashed on ----------------------------------------

MALFORMED = {
    "empty": "",
    "one_megabyte": "x" * 1_000_000,
    "replacement_chars": b"caf\xc3 \xff ok".decode("utf-8", errors="replace"),
    "lone_surrogates": b"caf\xc3 \xff\xfe ok".decode("utf-8", errors="surrogateescape"),
    "truncated_json": '{"a": [1, 2',
    "many_open_fences": "```json\n" * 100_000,
    "deeply_nested": "[" * 100_000 + "]" * 100_000,
}

SPECS = {
    "exact": {},
    "contains": {"values": ["ok"]},
    "regex": {"pattern": r"ok$"},
    "json_valid": {},
    "json_schema": {"schema": {"type": "array"}},
    "max_length": {"max": 100},
}


@pytest.mark.parametrize("name", BUILT_INS)
@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_output_is_scored(name: str, kind: str) -> None:
    score = run(name, MALFORMED[kind], expected="ok", args=SPECS[name])
    assert isinstance(score, Score)
    assert score.scorer == name
    assert 0.0 <= score.value <= 1.0
    assert score.passed == (score.value >= 1.0)
    assert isinstance(score.reason, str)
    assert score.reason
    assert len(score.reason) < 500  # a reason never echoes a whole huge output


def test_malformed_output_specific_values() -> None:
    for kind in ("empty", "one_megabyte", "truncated_json", "deeply_nested"):
        assert run("json_valid", MALFORMED[kind]).value == 0.0, kind
    assert run("json_valid", "").reason == "empty output"
    assert "nested too deeply" in run("json_valid", MALFORMED["deeply_nested"]).reason
    assert run("exact", "", expected="ok").value == 0.0
    assert run("max_length", "", args={"max": 0}).passed
    assert not run("max_length", MALFORMED["one_megabyte"], args={"max": 999_999}).passed
    # Undecodable bytes around the answer do not hide it.
    assert run("contains", MALFORMED["replacement_chars"], args={"values": ["ok"]}).passed
    assert run("contains", MALFORMED["lone_surrogates"], args={"values": ["ok"]}).passed
    assert run("regex", MALFORMED["lone_surrogates"], args={"pattern": "ok$"}).passed
    assert run("max_length", MALFORMED["lone_surrogates"], args={"max": 10}).passed


def test_json_schema_too_deep_to_validate_is_a_failure() -> None:
    recursive = {"$ref": "#/$defs/n", "$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}}
    shallow = run("json_schema", "[[[]]]", args={"schema": recursive})
    assert shallow.passed
    deep = run("json_schema", "[" * 500 + "]" * 500, args={"schema": recursive})
    assert (deep.value, deep.passed) == (0.0, False)
    assert deep.reason == "nested too deeply to validate"  # parsed, but too deep for jsonschema
