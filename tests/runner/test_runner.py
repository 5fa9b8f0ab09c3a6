"""The runner against the fake server: limits, retries, errors, caching."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchroute.config import load_project, load_suite
from benchroute.runner import Runner, RunOptions
from benchroute.store import Store
from benchroute.testing import FakeServer, Reply
from tests.conftest import write_project, write_suite


def _run(project_path: Path, suites: list[Path], **options: object):  # type: ignore[no-untyped-def]
    project = load_project(project_path)
    store = Store(project.store_url())
    runner = Runner(project, store, RunOptions(**options))  # type: ignore[arg-type]
    outcome = asyncio.run(runner.run([load_suite(s) for s in suites]))
    return outcome, store


def _echo_cases(n: int) -> list[dict[str, object]]:
    return [{"id": f"c{i}", "input": f"answer {i}", "expected": f"answer {i}"} for i in range(n)]


def test_rate_limited_run_scores_every_case_and_keeps_under_rpm(tmp_path: Path, fake: FakeServer) -> None:
    rpm = 1200  # 20 requests per second
    fake.fault("rate_limit", rate=0.2, retry_after=1, seed=7)
    project = write_project(
        tmp_path,
        # Enough retries that a case meeting several 429s in a row still finishes.
        {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m", "rpm": rpm, "max_retries": 12}},
    )
    suite = write_suite(tmp_path, "s", _echo_cases(200))
    outcome, _ = _run(project, [suite], concurrency=16, use_cache=False)

    assert outcome.status == "completed"
    assert len(outcome.results) == 200
    assert all(r.passed and r.error is None for r in outcome.results)
    requests = fake.requests
    throttled = [r for r in requests if r.status == 429]
    assert 20 <= len(throttled) <= 90  # ~20% of ~250
    assert sum(r.retries for r in outcome.results) == len(throttled)
    # The measured rate never exceeds the configured RPM: at most rate*T + 1 in any window.
    times = sorted(r.time for r in requests)
    per_second = rpm / 60
    for window in (1.0, 2.0, 5.0):
        for i, start in enumerate(times):
            j = i
            while j < len(times) and times[j] < start + window:
                j += 1
            assert j - i <= per_second * window + 1, (window, j - i)
    overall = (len(times) - 1) / (times[-1] - times[0])
    assert overall <= per_second * 1.02


def test_retry_after_is_honoured(tmp_path: Path, fake: FakeServer) -> None:
    fake.fault("rate_limit", count=1, retry_after=1.0)
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", _echo_cases(1))
    outcome, _ = _run(project, [suite], use_cache=False)
    first, second = fake.requests
    assert first.status == 429 and second.status == 200
    assert 1.0 <= second.time - first.time < 1.5
    assert outcome.results[0].retries == 1 and outcome.results[0].passed


def test_timeouts_and_server_errors_are_retried(tmp_path: Path, fake: FakeServer) -> None:
    fake.fault("hang", count=1, hang_seconds=5)
    fake.fault("server_error", count=1)
    project = write_project(
        tmp_path,
        {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m", "timeout": 0.5}},
    )
    suite = write_suite(tmp_path, "s", _echo_cases(3))
    outcome, _ = _run(project, [suite], concurrency=1, use_cache=False)
    assert all(r.passed for r in outcome.results)
    assert sum(r.retries for r in outcome.results) == 2


def test_retries_are_bounded_and_the_error_is_stored(tmp_path: Path, fake: FakeServer) -> None:
    fake.fault("server_error", rate=1.0)
    project = write_project(
        tmp_path,
        {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m", "max_retries": 2}},
    )
    suite = write_suite(tmp_path, "s", _echo_cases(2))
    outcome, _ = _run(project, [suite], use_cache=False)
    assert len(fake.requests) == 6
    assert all(r.error and "HTTP 500" in r.error and r.retries == 2 for r in outcome.results)
    assert all(not r.passed for r in outcome.results)


def test_malformed_reply_is_an_error_result_and_others_are_kept(tmp_path: Path, fake: FakeServer) -> None:
    fake.script("m", ["answer 0", Reply(body='{"choices": [', status=200), "answer 2"])
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", _echo_cases(3))
    outcome, store = _run(project, [suite], concurrency=1, use_cache=False)
    by_case = {r.case_id: r for r in store.results(outcome.run_id)}
    assert by_case["c0"].passed and by_case["c2"].passed
    assert by_case["c1"].error_kind == "malformed_reply"
    assert "malformed reply" in (by_case["c1"].error or "")
    assert outcome.status == "completed"


def test_streaming_records_ttft_and_retries_a_cut_stream(tmp_path: Path, fake: FakeServer) -> None:
    fake.latency = 0.05
    fake.fault("cut_stream", count=1)
    project = write_project(
        tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m", "stream": True}}
    )
    suite = write_suite(tmp_path, "s", _echo_cases(2))
    outcome, _ = _run(project, [suite], concurrency=1, use_cache=False)
    assert all(r.passed for r in outcome.results)
    assert sum(r.retries for r in outcome.results) == 1
    for r in outcome.results:
        assert r.ttft_ms is not None and r.latency_ms is not None and r.ttft_ms <= r.latency_ms
        assert r.output_tokens > 0


def test_response_cache_avoids_repeat_calls(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", _echo_cases(5))
    first, _ = _run(project, [suite])
    assert len(fake.requests) == 5 and not any(r.cached for r in first.results)
    second, _ = _run(project, [suite])
    assert len(fake.requests) == 5
    assert all(r.cached and r.passed for r in second.results)
    third, _ = _run(project, [suite], use_cache=False)
    assert len(fake.requests) == 10 and not any(r.cached for r in third.results)


def test_repeats_and_models_multiply(tmp_path: Path, fake: FakeServer) -> None:
    spec = {"provider": "openai", "base_url": fake.base_url}
    project = write_project(tmp_path, {"a": {**spec, "model": "a"}, "b": {**spec, "model": "b"}})
    suite = write_suite(tmp_path, "s", _echo_cases(4), repeats=3)
    outcome, _ = _run(project, [suite], use_cache=False)
    keys = {(r.case_id, r.model, r.repeat) for r in outcome.results}
    assert len(outcome.results) == len(keys) == 4 * 2 * 3


def test_served_model_and_fingerprint_are_recorded(tmp_path: Path) -> None:
    with FakeServer(served_model_suffix="-2024-08-06") as fake:
        project = write_project(
            tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "gpt"}}
        )
        suite = write_suite(tmp_path, "s", _echo_cases(1))
        outcome, _ = _run(project, [suite], use_cache=False)
    result = outcome.results[0]
    assert result.served_model == "gpt-2024-08-06"
    assert result.system_fingerprint == "fp_fake"


def test_tpm_limit_spaces_requests_by_actual_usage(tmp_path: Path, fake: FakeServer) -> None:
    # Every reply is 100 words (~100 completion tokens at the fake server); a 12,000 TPM budget
    # is 200 tokens/s with one second of burst, so six ~110-token requests need >= ~2.3 s.
    long_reply = " ".join(["word"] * 100)
    fake.responder = lambda model, messages: long_reply
    project = write_project(
        tmp_path,
        {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m", "tpm": 12000}},
    )
    suite = write_suite(tmp_path, "s", _echo_cases(6), params={"max_tokens": 200})
    outcome, _ = _run(project, [suite], concurrency=6, use_cache=False)
    times = sorted(r.time for r in fake.requests)
    used = sum(r.input_tokens + r.output_tokens for r in outcome.results)
    assert used >= 600
    assert times[-1] - times[0] >= 1.5


def test_path_arguments_are_relative_to_the_suite_file(tmp_path: Path, fake: FakeServer) -> None:
    suites = tmp_path / "suites"
    (suites / "schemas").mkdir(parents=True)
    (suites / "schemas" / "user.json").write_text('{"type": "object", "required": ["name"]}')
    fake.script("m", ['{"name": "Ada"}', '{"age": 3}'])
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(
        suites,
        "s",
        [{"id": "a", "input": "x"}, {"id": "b", "input": "y"}],
        scorers=[{"name": "json_schema", "args": {"schema_path": "schemas/user.json"}}],
    )
    outcome, _ = _run(project, [suite], concurrency=1, use_cache=False)
    by_case = {r.case_id: r for r in outcome.results}
    assert by_case["a"].passed and not by_case["b"].passed
    assert "name" in by_case["b"].scores[0]["reason"]


def test_each_repeat_is_its_own_sample_in_the_cache(tmp_path: Path, fake: FakeServer) -> None:
    counter = iter(range(1000))
    fake.responder = lambda model, messages: f"sample {next(counter)}"
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    suite = write_suite(tmp_path, "s", [{"id": "a", "input": "q"}], repeats=4)
    first, _ = _run(project, [suite], concurrency=1)
    assert len(fake.requests) == 4
    assert len({r.output for r in first.results}) == 4 and not any(r.cached for r in first.results)
    second, _ = _run(project, [suite], concurrency=1)
    assert len(fake.requests) == 4  # every repeat reuses its own earlier sample
    assert {(r.repeat, r.output) for r in second.results} == {(r.repeat, r.output) for r in first.results}


def test_unreachable_endpoint_stops_after_a_short_retry(tmp_path: Path) -> None:
    import time as clock

    project = write_project(
        tmp_path, {"m": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}}
    )
    suite = write_suite(tmp_path, "s", _echo_cases(20))
    started = clock.monotonic()
    outcome, _ = _run(project, [suite], concurrency=4, use_cache=False)
    assert clock.monotonic() - started < 10  # not 8 retries with backoff per case
    assert outcome.status == "failed" and outcome.results == []
    assert len(outcome.errors) == 1 and "cannot connect" in outcome.errors[0]


def test_a_failing_worker_marks_the_run_failed_not_completed(tmp_path: Path, fake: FakeServer) -> None:
    import pytest

    from benchroute import ConfigError

    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    # The template needs a variable only some cases have: the run fails on the first case without it.
    cases = [{"id": f"c{i}", "vars": {"name": "x"}} for i in range(5)] + [{"id": "bad", "vars": {}}]
    suite = write_suite(tmp_path, "s", cases, prompt="Hello {{ name }}")
    loaded = load_project(project)
    store = Store(loaded.store_url())
    runner = Runner(loaded, store, RunOptions(concurrency=2, use_cache=False))
    with pytest.raises(ConfigError, match="bad"):
        asyncio.run(runner.run([load_suite(suite)]))
    ((run, _),) = store.list_runs()
    assert run.status == "failed" and run.error is not None and "name" in run.error


def test_the_writer_scrubs_keys_from_details_as_from_scores(tmp_path: Path) -> None:
    """A conversation's transcript repeats its turns' score reasons: the same redaction
    boundary applies to it before anything is stored."""
    from benchroute.config import ModelSpec
    from benchroute.providers import Secrets
    from benchroute.runner._runner import _Writer
    from benchroute.store import Result

    secrets = Secrets({"KEY": "sk-live-123456"})
    secrets.key_for(ModelSpec(name="m", provider="openai", model="x", api_key_env="KEY"))
    reason = "turn 1: judge failed: 401 for key sk-live-123456"
    result = Result(
        run_id="r",
        suite="s",
        case_id="c",
        model="m",
        repeat=0,
        messages=[],
        output="x",
        scores=[{"scorer": "judge", "value": 0.0, "passed": False, "reason": reason}],
        score=0.0,
        passed=False,
        details={"kind": "conversation", "messages": [{"turn": 1, "scores": [{"reason": reason}]}]},
    )
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    writer = _Writer(store, RunOptions(flush_interval_s=3600), secrets.redact)
    writer.add(result, None)
    assert "sk-live" not in str(result.scores) and "sk-live" not in str(result.details)
    assert result.details["messages"][0]["scores"][0]["reason"].endswith("key ***")  # type: ignore[index]
    store.close()


def test_outcome_repr_is_a_summary_not_every_result(tmp_path: Path, fake: FakeServer) -> None:
    # asyncio formats the finished main task (its result included) when a run ends.
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    outcome, _ = _run(project, [write_suite(tmp_path, "s", _echo_cases(50))])
    assert len(outcome.results) == 50
    text = repr(outcome)
    assert outcome.run_id in text and "results=<50>" in text and len(text) < 200


def test_a_partly_cached_suite_sends_only_what_is_not_cached(tmp_path: Path, fake: FakeServer) -> None:
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    _run(project, [write_suite(tmp_path, "s", _echo_cases(3))])
    assert len(fake.requests) == 3
    outcome, _ = _run(project, [write_suite(tmp_path, "s", _echo_cases(5))])
    assert len(fake.requests) == 5  # only c3 and c4 were sent
    cached = {r.case_id: r.cached for r in outcome.results}
    assert cached == {"c0": True, "c1": True, "c2": True, "c3": False, "c4": False}
    assert all(r.passed for r in outcome.results)


def test_a_cached_rerun_reads_each_stored_reply_for_its_own_case(tmp_path: Path, fake: FakeServer) -> None:
    # More cached replies than one read batch, two of them for the same request.
    project = write_project(tmp_path, {"m": {"provider": "openai", "base_url": fake.base_url, "model": "m"}})
    cases = [*_echo_cases(300), {"id": "twin", "input": "answer 7", "expected": "answer 7"}]
    suite = write_suite(tmp_path, "s", cases)
    _run(project, [suite], concurrency=16)
    assert len(fake.requests) == 301  # an empty cache: "twin" is sent as well as c7
    second, _ = _run(project, [suite], concurrency=16)
    assert len(fake.requests) == 301 and all(r.cached for r in second.results)
    outputs = {r.case_id: r.output for r in second.results}
    assert all(outputs[f"c{i}"] == f"answer {i}" for i in range(300)) and outputs["twin"] == "answer 7"
    assert all(r.passed for r in second.results)


def test_a_run_needs_at_least_one_worker() -> None:
    from benchroute._errors import ConfigError

    with pytest.raises(ConfigError, match="at least one worker"):
        RunOptions(concurrency=0)
