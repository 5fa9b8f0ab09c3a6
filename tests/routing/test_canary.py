"""Canaries: the sticky split (shares, stickiness across processes, independent salts), the
arms' running figures, and the verdict — guardrails and the always-valid decision measured
on seeded simulations that peek after every batch of 50 requests per arm."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from benchroute.analysis import SummaryStats
from benchroute.routing import ArmStats, CanaryCriteria, CanaryVerdict, bucket, evaluate_canary, in_canary

KEYS = [f"user-{i}" for i in range(5000)]
SEEDS = 100
BATCH = 50
HORIZON = 6000  # requests per arm
PRIMARY_RATE = 0.70

# --- the split ------------------------------------------------------------------------------


def test_bucket_is_blake2b_of_salt_and_key() -> None:
    digest = hashlib.blake2b(b"s1\x00alice", digest_size=8).digest()
    assert bucket("alice", "s1") == int.from_bytes(digest, "big") / 2**64
    # Pinned: a change of the hash would silently move every user to another arm.
    assert bucket("alice", "s1") == 0.703741051721837
    assert bucket("", "") == 0.5818916442384907
    values = [bucket(key, "salt") for key in KEYS[:1000]]
    assert all(0 <= v < 1 for v in values)
    assert len(set(values)) == 1000


def test_ten_percent_of_keys_go_to_the_canary() -> None:
    share = 100 * sum(in_canary(key, "canary-1", 10) for key in KEYS) / len(KEYS)
    assert 8 <= share <= 12, f"{share:.2f} % of {len(KEYS)} keys in a 10 % canary"
    assert not any(in_canary(key, "canary-1", 0) for key in KEYS)
    assert all(in_canary(key, "canary-1", 100) for key in KEYS)


def test_a_key_always_gets_the_same_arm_in_this_process() -> None:
    first = [in_canary(key, "canary-1", 10) for key in KEYS]
    second = [in_canary(key, "canary-1", 10) for key in KEYS]
    assert first == second


def test_a_key_gets_the_same_arm_in_a_fresh_process() -> None:
    # Another PYTHONHASHSEED: an implementation on hash() would split differently there.
    script = (
        "import json; from benchroute.routing import in_canary; "
        f"print(json.dumps([in_canary(f'user-{{i}}', 'canary-1', 10) for i in range({len(KEYS)})]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout) == [in_canary(key, "canary-1", 10) for key in KEYS]


def test_different_salts_split_independently() -> None:
    one = {key for key in KEYS if in_canary(key, "canary-1", 10)}
    two = {key for key in KEYS if in_canary(key, "canary-2", 10)}
    # Independent 10 % draws share about 1 % of keys (50 of 5,000; sd 7), not ~10 %.
    assert 25 <= len(one & two) <= 80, f"{len(one)}, {len(two)} keys, {len(one & two)} in both"
    correlation = np.corrcoef([bucket(k, "canary-1") for k in KEYS], [bucket(k, "canary-2") for k in KEYS])[
        0, 1
    ]
    assert abs(correlation) < 0.05, correlation


def test_raising_the_percent_keeps_the_keys_already_in() -> None:
    at_10 = {key for key in KEYS if in_canary(key, "canary-1", 10)}
    at_25 = {key for key in KEYS if in_canary(key, "canary-1", 25)}
    assert at_10 < at_25


def test_no_key_needs_a_fallback() -> None:
    with pytest.raises(ValueError, match="fallback"):
        in_canary(None, "canary-1", 10)
    for request_id in ("req-1", "req-2", "req-3"):
        assert in_canary(None, "canary-1", 40, fallback=request_id) == in_canary(request_id, "canary-1", 40)
    assert in_canary("user-7", "canary-1", 40, fallback="req-1") == in_canary("user-7", "canary-1", 40)
    for percent in (-1, 100.5):
        with pytest.raises(ValueError, match="percent"):
            in_canary("user-7", "canary-1", percent)


# --- the arms' figures ----------------------------------------------------------------------


def test_arm_stats_count_requests_and_leave_unknown_costs_out() -> None:
    arm = ArmStats()
    arm.observe(error=False, latency_ms=100.0, cost_usd=0.002)
    arm.observe(error=True, latency_ms=300.0, cost_usd=None)
    arm.observe(error=False, latency_ms=None, cost_usd=0.004)
    arm.observe_feedback(1.0)
    arm.observe_feedback(0.0)
    arm.observe_judge(0.75)
    assert (arm.requests, arm.errors, arm.unpriced) == (3, 1, 1)
    assert arm.error_rate == pytest.approx(1 / 3)
    assert (arm.cost.n, arm.cost.mean) == (2, pytest.approx(0.003))  # not 0.002: unknown is not $0
    assert (arm.latency.n, arm.latency.mean) == (2, 200.0)
    assert (arm.feedback.n, arm.feedback.mean, arm.judge.n) == (2, 0.5, 1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        arm.observe_feedback(1.5)
    with pytest.raises(ValueError, match="latency"):
        arm.observe(error=False, latency_ms=-1.0, cost_usd=None)
    assert arm.requests == 3  # a refused request is not counted


def test_p95_is_over_the_last_2000_latencies() -> None:
    arm = ArmStats()
    assert arm.p95_ms is None
    for latency in range(1, 1001):  # 1,000 fast requests, then 2,000 slow ones
        arm.observe(error=False, latency_ms=float(latency), cost_usd=None)
    for latency in range(10_001, 12_001):
        arm.observe(error=False, latency_ms=float(latency), cost_usd=None)
    # np.percentile of the last 2,000 (10,001..12,000), linear interpolation: 11,900.05.
    assert arm.p95_ms == pytest.approx(float(np.percentile(np.arange(10_001, 12_001), 95)))
    assert arm.latency.n == 3000  # the mean keeps every latency


def test_arm_stats_json_round_trip() -> None:
    arm = ArmStats()
    for i in range(2500):
        arm.observe(error=i % 17 == 0, latency_ms=100.0 + i, cost_usd=None if i % 5 == 0 else 1e-4 * (i % 7))
        arm.observe_feedback(float(i % 2))
    again = ArmStats.from_json(json.loads(json.dumps(arm.to_json())))
    assert again == arm
    assert again.p95_ms == arm.p95_ms
    again.observe(error=False, latency_ms=1.0, cost_usd=None)
    assert len(again.recent_latencies) == 2000  # the window keeps its bound after a reload
    broken = arm.to_json()
    del broken["errors"]
    with pytest.raises(ValueError, match="errors"):
        ArmStats.from_json(broken)


# --- the verdict ----------------------------------------------------------------------------


def _arm(requests: int, *, errors: int = 0, liked: int | None = None) -> ArmStats:
    """An arm of ``requests`` requests, each with a thumbs feedback (``liked`` of them up)."""
    feedback = SummaryStats() if liked is None else SummaryStats.of_events(liked, requests)
    return ArmStats(requests=requests, errors=errors, feedback=feedback)


def test_guardrails_come_first_and_roll_back_at_once() -> None:
    criteria = CanaryCriteria()
    # A clearly better candidate on feedback, but a 20 % error rate: rolled back.
    verdict = evaluate_canary(_arm(400, liked=280), _arm(400, errors=80, liked=360), criteria)
    assert (verdict.action, verdict.guardrail) == ("rollback", "max_error_rate")
    assert "20.0% (80/400)" in verdict.reason and "5.0% limit" in verdict.reason
    # Before guardrail_min_requests the same error rate waits.
    early = evaluate_canary(_arm(400, liked=280), _arm(49, errors=10, liked=40), criteria)
    assert (early.action, early.guardrail) == ("continue", None)
    # Without the guardrail the feedback decides.
    off = evaluate_canary(
        _arm(400, liked=280), _arm(400, errors=80, liked=360), CanaryCriteria(max_error_rate=None)
    )
    assert off.action == "promote"


def test_error_rate_increase_guardrail_compares_with_the_primary() -> None:
    primary, candidate = _arm(1000, errors=10, liked=700), _arm(1000, errors=40, liked=700)
    assert (
        evaluate_canary(primary, candidate, CanaryCriteria()).guardrail is None
    )  # 4 % < 5 %: off by default
    verdict = evaluate_canary(primary, candidate, CanaryCriteria(max_error_rate_increase=0.0))
    assert (verdict.action, verdict.guardrail) == ("rollback", "max_error_rate_increase")
    assert verdict.comparison is not None and verdict.comparison.low is not None
    assert verdict.comparison.low > 0
    # An allowed increase of 5 points is not shown to be exceeded by a 3-point one.
    tolerant = evaluate_canary(primary, candidate, CanaryCriteria(max_error_rate_increase=0.05))
    assert tolerant.guardrail is None


def test_p95_guardrail() -> None:
    primary, candidate = ArmStats(), ArmStats()
    for i in range(100):
        primary.observe(error=False, latency_ms=500.0 + i, cost_usd=None)
        candidate.observe(error=False, latency_ms=1000.0 + 20 * i, cost_usd=None)
    verdict = evaluate_canary(primary, candidate, CanaryCriteria(max_p95_ms=2500))
    assert (verdict.action, verdict.guardrail) == ("rollback", "max_p95_ms")
    assert "2,881 ms" in verdict.reason and "2,500 ms" in verdict.reason
    assert evaluate_canary(primary, candidate, CanaryCriteria(max_p95_ms=3000)).guardrail is None


def test_lower_is_better_metrics_promote_the_cheaper_and_faster() -> None:
    rng = np.random.default_rng(4)
    primary, candidate = ArmStats(), ArmStats()
    for slow, fast in zip(rng.lognormal(7.0, 0.5, 600), rng.lognormal(6.7, 0.5, 600), strict=True):
        primary.observe(error=False, latency_ms=float(slow), cost_usd=0.002)
        candidate.observe(error=False, latency_ms=float(fast), cost_usd=0.001)
    assert evaluate_canary(primary, candidate, CanaryCriteria(metric="latency")).action == "promote"
    assert evaluate_canary(candidate, primary, CanaryCriteria(metric="latency")).action == "rollback"
    cheaper = evaluate_canary(primary, candidate, CanaryCriteria(metric="cost"))
    assert cheaper.action == "promote", cheaper.reason
    more_errors = evaluate_canary(
        _arm(2000, errors=20), _arm(2000, errors=90), CanaryCriteria(metric="error_rate")
    )
    assert more_errors.action == "rollback" and more_errors.guardrail is None


def test_waiting_for_min_samples_names_the_counts() -> None:
    verdict = evaluate_canary(_arm(150, liked=100), _arm(199, liked=190), CanaryCriteria())
    assert verdict == CanaryVerdict(
        "continue",
        "waiting for 200 feedback scores per arm: 150 primary, 199 candidate",
        verdict.comparison,
        None,
    )
    assert verdict.comparison is not None and verdict.comparison.low is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alpha": 0.0},
        {"min_samples": 1},
        {"max_error_rate": 1.5},
        {"max_p95_ms": 0.0},
        {"metric": "vibes"},
        {"guardrail_min_requests": 0},
    ],
)
def test_bad_criteria_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CanaryCriteria(**kwargs)  # type: ignore[arg-type]


# --- seeded simulations: peeking after every batch ------------------------------------------


def _simulate(candidate_rate: float, criteria: CanaryCriteria) -> tuple[Counter[str], list[int]]:
    """Thumbs feedback on every request: primary 70 %, candidate ``candidate_rate``; the
    verdict is asked after every batch of 50 requests per arm, up to 6,000. Returns the final
    actions over the seeds and the arm size at which each decided."""
    actions: Counter[str] = Counter()
    when: list[int] = []
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        liked_primary = np.cumsum(rng.random(HORIZON) < PRIMARY_RATE)
        liked_candidate = np.cumsum(rng.random(HORIZON) < candidate_rate)
        action = "continue"
        for n in range(BATCH, HORIZON + 1, BATCH):
            verdict = evaluate_canary(
                _arm(n, liked=int(liked_primary[n - 1])), _arm(n, liked=int(liked_candidate[n - 1])), criteria
            )
            if verdict.action != "continue":
                action = verdict.action
                when.append(n)
                break
        actions[action] += 1
    return actions, when


def _say(scenario: str, actions: Counter[str], when: list[int]) -> str:
    spread = f", decided at median {int(np.median(when))} (max {max(when)}) per arm" if when else ""
    return f"{scenario}: {dict(actions)} of {SEEDS} seeds{spread}"


def test_a_worse_candidate_is_rolled_back() -> None:
    actions, when = _simulate(0.60, CanaryCriteria())
    message = _say("candidate 60 % vs primary 70 %", actions, when)
    print(message)
    assert actions["rollback"] >= 95, message
    assert actions["promote"] == 0, message


def test_a_better_candidate_is_promoted() -> None:
    actions, when = _simulate(0.80, CanaryCriteria())
    message = _say("candidate 80 % vs primary 70 %", actions, when)
    print(message)
    assert actions["promote"] >= 95, message
    assert actions["rollback"] == 0, message


def test_an_equal_candidate_is_neither_promoted_nor_rolled_back() -> None:
    actions, when = _simulate(0.70, CanaryCriteria())
    message = _say("candidate 70 % vs primary 70 %", actions, when)
    print(message)
    assert actions["continue"] >= 95, message


def test_an_erroring_candidate_is_rolled_back_within_a_few_peeks() -> None:
    # Primary 1 % errors, candidate 20 %, feedback equal; guardrail at 5 %, from 50 requests.
    peeks: Counter[int] = Counter()
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        primary, candidate = ArmStats(), ArmStats()
        for n in range(BATCH, HORIZON + 1, BATCH):
            for arm, error_rate in ((primary, 0.01), (candidate, 0.20)):
                for failed, latency in zip(
                    rng.random(BATCH) < error_rate, rng.lognormal(6.5, 0.5, BATCH), strict=True
                ):
                    arm.observe(error=bool(failed), latency_ms=float(latency), cost_usd=None)
                    arm.observe_feedback(float(rng.random() < PRIMARY_RATE))
            verdict = evaluate_canary(primary, candidate, CanaryCriteria())
            if verdict.action != "continue":
                assert (verdict.action, verdict.guardrail) == ("rollback", "max_error_rate"), verdict
                peeks[n // BATCH] += 1
                break
    message = (
        f"20 % errors: rolled back at peek (of 50 requests) {dict(sorted(peeks.items()))} of {SEEDS} seeds"
    )
    print(message)
    assert sum(peeks.values()) == SEEDS, message
    assert max(peeks) <= 5, message  # by 250 requests
    assert peeks[1] >= 50, message  # mostly at the first peek the guardrail may fire


def test_a_candidate_under_the_error_limit_is_not_rolled_back_by_peeking() -> None:
    # 4 % errors against the 5 % limit: a plain "observed > 5 %" check would fire on many peeks.
    fired = naive = 0
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        errors = np.cumsum(rng.random(HORIZON) < 0.04)
        peeks = range(BATCH, HORIZON + 1, BATCH)
        naive += any(errors[n - 1] / n > 0.05 for n in peeks)
        for n in peeks:
            verdict = evaluate_canary(
                _arm(n), _arm(n, errors=int(errors[n - 1])), CanaryCriteria(metric="latency")
            )
            if verdict.guardrail is not None:
                fired += 1
                break
    message = f"4 % errors, 5 % limit: guardrail fired in {fired} of {SEEDS} seeds (plain check: {naive})"
    print(message)
    assert fired <= 5, message
    assert naive >= 30, message  # the plain check is what the always-valid test avoids
