"""The ``routing:`` block of benchroute.yaml: every mistake is one ConfigError naming
file:line and the field (unknown models, classes, metrics, regexes, empty rules, a shadow
canary decided on feedback, a judge canary without logged payloads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchroute._errors import ConfigError
from benchroute.config import load_project

HEAD = """\
models:
  a: {provider: openai, model: gpt-a, base_url: "http://127.0.0.1:9/v1"}
  b: {provider: openai, model: gpt-b, base_url: "http://127.0.0.1:9/v1"}
routing:
"""


def _load(tmp_path: Path, routing: str) -> str:
    path = tmp_path / "benchroute.yaml"
    path.write_text(HEAD + routing, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_project(path)
    return str(caught.value)


@pytest.mark.parametrize(
    ("routing", "line", "expected"),
    [
        ("  classes:\n    g: {suites: [s], pin: [zz]}\n", 6, "routing.classes.g.pin.0: unknown model 'zz'"),
        ("  classes:\n    g: {suites: [s], canary: {model: aa}}\n", 6, "unknown model 'aa'"),
        ("  classes:\n    g: {suites: [s], metric: accuracy}\n", 6, "expected pass_rate or score:<scorer>"),
        ("  classes:\n    g: {suites: []}\n", 6, "suites"),
        ("  classes:\n    g: {suites: [s]}\n  rules:\n    - {class: g, regex: '(('}\n", 8, "invalid regular"),
        ("  classes:\n    g: {suites: [s]}\n  rules:\n    - {class: g}\n", 8, "at least one condition"),
        (
            "  classes:\n    g: {suites: [s]}\n  rules:\n    - {class: h, tools: true}\n",
            8,
            "not one of routing.classes",
        ),
        ("  classes:\n    g: {suites: [s]}\n  default_class: h\n", 7, "default_class: 'h' is not one"),
        ("  classes:\n    g: {suites: [s]}\n  budgets: {zz: 5}\n", 7, "unknown model 'zz'"),
        ("  classes:\n    g: {suites: [s], min_score: 2}\n", 6, "min_score"),
        (
            "  classes:\n    g: {suites: [s], canary: {model: b, shadow: true}}\n",
            6,
            "shadow canary's replies never reach users",
        ),
        (
            "  classes:\n    g:\n      suites: [s]\n      canary: {model: b, criteria: {metric: judge}}\n",
            8,
            "gateway.log_payloads: true",
        ),
    ],
)
def test_routing_mistakes_name_file_line_and_field(
    tmp_path: Path, routing: str, line: int, expected: str
) -> None:
    message = _load(tmp_path, routing)
    assert expected in message, message
    assert f"benchroute.yaml:{line}" in message, message
    assert "\n" not in message.split(" — ")[0]


def test_a_good_block_loads(tmp_path: Path) -> None:
    path = tmp_path / "benchroute.yaml"
    path.write_text(
        HEAD + "  classes:\n    g: {suites: [s], canary: {model: b, percent: 5}}\n"
        "  rules: [{class: g, keywords: [hi]}]\n",
        encoding="utf-8",
    )
    project = load_project(path)
    assert project.routing.fallback_class() == "g"
    assert project.routing.class_constraints("g").min_score is None
