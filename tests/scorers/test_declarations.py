"""Scorers declare what they contribute and need; the registry records the registered name and
the declared kind in every score, and stops a suite whose scorer's extra is missing before any
request is sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchroute import ConfigError
from benchroute.analysis import leaderboard, pass_at_k_by_model
from benchroute.config import Case, ScorerSpec, load_project, load_suite
from benchroute.runner import Runner, RunOptions
from benchroute.scorers import (
    EFFICIENCY,
    FUNCTIONAL_PASS,
    SECURITY_FINDINGS,
    Score,
    build_scorer,
    check_scorer,
    get_scorer_factory,
    score_kind,
    scorer,
    scorer_info,
)
from benchroute.store import Result, Store
from benchroute.testing import FakeServer
from benchroute.types import Completion, Usage
from tests.conftest import run_cli, write_project, write_suite

MISSING_MODULE = "benchroute_test_module_that_does_not_exist"

# Third-party-style registrations of built-ins under names analysis has never heard of.
scorer("lean_tokens")(get_scorer_factory("token_efficiency"))
scorer("runs_its_tests")(get_scorer_factory("code_tests"))


@scorer("needs_a_missing_module", requires=(MISSING_MODULE,), extra="scorers")
def needs_a_missing_module(*, threshold: float = 1.0) -> object:
    async def score(completion: Completion, case: Case) -> Score:  # pragma: no cover - never built
        return Score(1.0, True)

    return score


@scorer("acme_functional", metric=FUNCTIONAL_PASS)
def acme_functional(*, threshold: float = 1.0) -> object:
    """A plugin's own functional-correctness scorer: passes when the reply says PASS."""

    async def score(completion: Completion, case: Case) -> Score:
        ok = "PASS" in completion.text
        return Score(1.0 if ok else 0.0, ok, "", "whatever_it_calls_itself")

    return score


def _score(name: str, text: str, output_tokens: int, case: Case) -> dict[str, object]:
    built = build_scorer(ScorerSpec(name=name))
    completion = Completion(text=text, usage=Usage(input_tokens=10, output_tokens=output_tokens))
    return asyncio.run(built(completion, case)).to_json()


def _result(case_id: str, repeat: int, scores: list[dict[str, object]], passed: bool) -> Result:
    return Result(
        run_id="r",
        suite="s",
        case_id=case_id,
        model="m",
        repeat=repeat,
        messages=[],
        output="",
        scores=scores,
        score=1.0 if passed else 0.0,
        passed=passed,
        output_tokens=40,
        cost_usd=0.001,
        latency_ms=5.0,
    )


def test_builtins_declare_their_kind_and_requirements() -> None:
    assert scorer_info(get_scorer_factory("token_efficiency")).metric == EFFICIENCY
    assert scorer_info(get_scorer_factory("code_tests")).metric == FUNCTIONAL_PASS
    security = scorer_info(get_scorer_factory("code_security"))
    assert security.metric == SECURITY_FINDINGS and security.requires == ("bandit",)
    assert security.extra == "code"
    assert "presidio_analyzer" in scorer_info(get_scorer_factory("pii_leakage")).requires
    assert scorer_info(get_scorer_factory("semantic_similarity")).embeddings
    # Registering a built-in under a second name keeps its declaration.
    assert scorer_info(get_scorer_factory("lean_tokens")).metric == EFFICIENCY


def test_scores_carry_the_registered_name_and_declared_kind() -> None:
    case = Case(id="c", input="q")
    stored = _score("lean_tokens", "Paris is the capital of France.", 8, case)
    assert stored["scorer"] == "lean_tokens" and stored["kind"] == EFFICIENCY
    plugin = _score("acme_functional", "PASS", 1, case)
    assert plugin["scorer"] == "acme_functional" and plugin["kind"] == FUNCTIONAL_PASS
    plain = _score("exact", "x", 1, Case(id="c", input="q", expected="x"))
    assert plain["scorer"] == "exact" and "kind" not in plain and score_kind(plain) is None


def test_scores_stored_before_kinds_are_read_by_builtin_name() -> None:
    assert score_kind({"scorer": "code_tests", "passed": True}) == FUNCTIONAL_PASS
    assert score_kind({"scorer": "token_efficiency", "value": 0.5}) == EFFICIENCY
    assert score_kind({"scorer": "code_tests", "kind": None}) is None


def test_leaderboard_and_pass_at_k_find_renamed_scorers() -> None:
    case = Case(id="c", input="q")
    padded = (
        "Paris is the capital of France. This is an important point to keep in mind. "
        "I hope this helps, and feel free to ask if you have any other questions!"
    )
    efficiency = _score("lean_tokens", padded, 40, case)
    assert efficiency["kind"] == EFFICIENCY and efficiency["details"]["wasted_output_tokens"] > 0  # type: ignore[index]
    functional = {"scorer": "runs_its_tests", "kind": FUNCTIONAL_PASS, "value": 1.0, "passed": True}
    failing = {**functional, "value": 0.0, "passed": False}
    style = {"scorer": "style", "value": 0.0, "passed": False}  # fails every case as a whole
    results = [
        _result("a", 0, [efficiency, functional, style], passed=False),
        _result("a", 1, [efficiency, failing, style], passed=False),
        _result("b", 0, [efficiency, failing, style], passed=False),
        _result("b", 1, [efficiency, failing, style], passed=False),
    ]
    (summary,) = leaderboard(results, prices={"m": {"output_per_mtok": 10.0}})
    assert summary.efficiency is not None and summary.efficiency < 1.0
    assert summary.wasted_usd_per_1k is not None and summary.wasted_usd_per_1k > 0
    by_kind = pass_at_k_by_model(results, [1, 2], kind=FUNCTIONAL_PASS)
    assert by_kind["m"] == {1: 0.25, 2: 0.5}  # case a: 1 of 2 passed; case b: none
    assert pass_at_k_by_model(results, [1])["m"] == {1: 0.0}  # whole-case pass


def test_code_tests_under_another_name_counts_for_pass_at_k() -> None:
    case = Case(id="c", input="write add", metadata={"tests": "assert add(2, 3) == 5"})
    spec = ScorerSpec(name="runs_its_tests", args={"style": "asserts"})
    built = build_scorer(spec)
    reply = Completion(text="```python\ndef add(a, b):\n    return a + b\n```")
    stored = asyncio.run(built(reply, case)).to_json()
    assert stored["scorer"] == "runs_its_tests" and stored["kind"] == FUNCTIONAL_PASS
    assert stored["passed"] is True
    result = _result("c", 0, [stored, {"scorer": "style", "value": 0.0, "passed": False}], passed=False)
    assert pass_at_k_by_model([result], [1], kind=FUNCTIONAL_PASS)["m"] == {1: 1.0}


def test_a_missing_requirement_is_a_config_error_naming_scorer_and_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        build_scorer(ScorerSpec(name="needs_a_missing_module"), where="suite.yaml:7")
    message = str(caught.value)
    assert message.startswith("suite.yaml:7: scorer 'needs_a_missing_module' needs " + MISSING_MODULE)
    assert "pip install 'benchroute[scorers]'" in message
    with pytest.raises(ConfigError, match="needs_a_missing_module"):
        check_scorer("needs_a_missing_module")


def test_local_embeddings_are_required_only_when_the_context_embeds_locally() -> None:
    from benchroute.scorers import required_modules

    factory = get_scorer_factory("semantic_similarity")
    assert "sentence_transformers" in required_modules(factory, local_embeddings=True)
    assert required_modules(factory, local_embeddings=False) == ()


def _models(fake: FakeServer) -> dict[str, dict[str, object]]:
    return {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}}


def test_runner_stops_before_any_request(tmp_path: Path, fake: FakeServer) -> None:
    project_path = write_project(
        tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}}
    )
    cases = [{"id": "a", "input": "q", "expected": "x"}]
    suite_path = write_suite(tmp_path, "s", cases, scorers=["exact", "needs_a_missing_module"])
    project = load_project(project_path)
    suite = load_suite(suite_path)
    with pytest.raises(ConfigError, match="needs_a_missing_module"):
        asyncio.run(Runner(project, Store(project.store_url()), RunOptions()).run([suite]))
    assert fake.requests == []


_PLUGIN = f"""
from benchroute import scorer


@scorer("needs_a_missing_module", requires=({MISSING_MODULE!r},), extra="scorers")
def needs_a_missing_module(*, threshold: float = 1.0):
    async def score(completion, case):
        raise AssertionError("never called")

    return score
"""


def test_cli_names_file_line_scorer_and_fix_and_sends_nothing(tmp_path: Path, fake: FakeServer) -> None:
    (tmp_path / "plugin.py").write_text(_PLUGIN)
    project = write_project(
        tmp_path,
        {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}},
        imports=["plugin.py"],
    )
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: s\ndataset:\n  cases:\n    - {id: a, input: x, expected: x}\nscorers:\n"
        "  - exact\n  - name: needs_a_missing_module\n"
    )
    proc = run_cli("run", str(suite), "--config", str(project))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{suite}:7: scorers.1.name: scorer 'needs_a_missing_module' needs {MISSING_MODULE}" in proc.stderr
    assert "pip install 'benchroute[scorers]'" in proc.stderr
    assert fake.requests == []


_RENAMING_PLUGIN = """
from benchroute import Score, scorer
from benchroute.scorers import FUNCTIONAL_PASS, get_scorer_factory

scorer("lean_tokens")(get_scorer_factory("token_efficiency"))


@scorer("acme_functional", metric=FUNCTIONAL_PASS)
def acme_functional(threshold: float = 1.0):
    async def score(completion, case):
        ok = "PASS" in completion.text
        return Score(1.0 if ok else 0.0, ok)

    return score
"""


def test_cli_reports_pass_at_k_and_efficiency_from_scorers_under_other_names(
    tmp_path: Path, fake: FakeServer
) -> None:
    (tmp_path / "plugin.py").write_text(_RENAMING_PLUGIN)
    models = _models(fake)
    models["m"]["prices"] = {"input_per_mtok": 1.0, "output_per_mtok": 10.0}
    project = write_project(tmp_path, models, imports=["plugin.py"])
    fake.script("m", ["PASS. This is an important point to keep in mind. I hope this helps!"] * 2)
    cases = [{"id": "a", "input": "q", "expected": "never"}, {"id": "b", "input": "q2", "expected": "never"}]
    suite = write_suite(
        tmp_path, "s", cases, scorers=["exact", "acme_functional", "lean_tokens"], pass_at_k=[1]
    )
    proc = run_cli("run", str(suite), "--config", str(project), "--no-cache", "--wide")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = proc.stdout[proc.stdout.index("pass@k by model") :]
    assert "pass@1" in table and "100.0%" in table  # every case failed 'exact' as a whole
    assert "efficiency" in proc.stdout and "lean_tokens" in proc.stdout
