"""``benchroute correlate``: benchmark scores against production feedback, on synthetic data
whose answer is known, and the command end to end on a real SQLite store."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy.stats import spearmanr
from statsmodels.stats.proportion import proportion_confint
from typer.testing import CliRunner

from benchroute.cli import app
from benchroute.config import PolicyDocument
from benchroute.routing._correlate import (
    NO_FEEDBACK,
    BenchmarkScore,
    CorrelationError,
    _rows_spearman,
    benchmark_scores,
    correlate_feedback,
    feedback_outcome,
    rank_agreement,
)
from benchroute.store import PolicyStore, RequestLog, Store


def _binary(p: float, n: int, rng: np.random.Generator) -> list[float]:
    return [float(v) for v in (rng.random(n) < p)]


def test_production_order_equals_benchmark_order() -> None:
    rng = np.random.default_rng(1)
    points = [
        ("c", 0.9, _binary(0.9, 300, rng)),
        ("c", 0.8, _binary(0.6, 300, rng)),
        ("c", 0.7, _binary(0.3, 300, rng)),
    ]
    found = rank_agreement(points, draws=500)
    assert found.rho == pytest.approx(1.0)
    assert found.agreement == pytest.approx(1.0)
    assert found.rho_ci == (1.0, 1.0) and found.agreement_ci == (1.0, 1.0)
    assert found.endpoints == 3 and found.pairs == 3 and found.reason is None


def test_reversed_order() -> None:
    rng = np.random.default_rng(2)
    points = [
        ("c", 0.9, _binary(0.2, 300, rng)),
        ("c", 0.8, _binary(0.5, 300, rng)),
        ("c", 0.7, _binary(0.8, 300, rng)),
    ]
    found = rank_agreement(points, draws=500)
    assert found.rho == pytest.approx(-1.0)
    assert found.agreement == pytest.approx(0.0)
    assert found.rho_ci == (-1.0, -1.0)


def test_noise_intervals_contain_the_truth() -> None:
    """Five endpoints whose true production means put two pairs out of the benchmark's order
    (true ρ = 0.8, true agreement = 8 of 10 pairs), measured on 100 noisy requests each: the
    point estimates wander from seed to seed, the intervals hold the truth."""
    truth = [0.70, 0.62, 0.66, 0.54, 0.58]
    bench = [0.95, 0.90, 0.85, 0.80, 0.75]
    assert spearmanr(bench, truth).statistic == pytest.approx(0.8)
    estimates = set()
    for seed in range(10):
        rng = np.random.default_rng(seed)
        points = [
            ("c", b, list(np.clip(rng.normal(m, 0.25, 100), 0, 1))) for b, m in zip(bench, truth, strict=True)
        ]
        found = rank_agreement(points, draws=500)
        assert found.rho is not None and found.rho_ci is not None and found.agreement_ci is not None
        assert found.rho_ci[0] <= 0.8 <= found.rho_ci[1]
        assert found.agreement_ci[0] <= 0.8 <= found.agreement_ci[1]
        assert found.rho_ci[1] - found.rho_ci[0] > 0.2  # the noise is reported as uncertainty
        estimates.add(round(found.rho, 2))
        assert rank_agreement(points, draws=500) == found  # seeded: the same every time
    assert len(estimates) > 1


def test_outcome_intervals() -> None:
    thumbs = feedback_outcome([1.0] * 280 + [0.0] * 120)
    assert thumbs is not None and thumbs.method == "wilson" and thumbs.n == 400
    assert thumbs.ci == pytest.approx(proportion_confint(280, 400, alpha=0.05, method="wilson"))
    scores = feedback_outcome([0.2, 0.4, 0.6, 0.8])
    assert scores is not None and scores.method == "normal" and scores.mean == pytest.approx(0.5)
    half = 1.959964 * np.std([0.2, 0.4, 0.6, 0.8], ddof=1) / 2
    assert scores.ci == pytest.approx((0.5 - half, 0.5 + half))
    one = feedback_outcome([0.5])
    assert one is not None and one.ci is None
    assert feedback_outcome([]) is None


def test_fewer_than_two_endpoints_is_unknown_with_the_reason() -> None:
    found = rank_agreement([("c", 0.9, [1.0, 0.0, 1.0])])
    assert found.rho is None and found.agreement is None
    assert found.reason == "only 1 endpoint has feedback: route a canary or a second candidate to compare"
    assert rank_agreement([], outcome_name="judge").reason.startswith("no endpoint has judge scores")  # type: ignore[union-attr]


def test_ties() -> None:
    same_bench = rank_agreement([("c", 0.8, [1.0] * 5), ("c", 0.8, [0.0] * 5)])
    assert same_bench.rho is None and "same benchmark score" in (same_bench.reason or "")
    same_production = rank_agreement([("c", 0.9, [1.0, 0.0]), ("c", 0.8, [0.0, 1.0])])
    assert same_production.rho is None and same_production.agreement == 0.5


def test_vectorised_bootstrap_spearman_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    bench = np.array([0.9, 0.8, 0.8, 0.5])
    matrix = rng.integers(0, 4, size=(50, 4)).astype(float)
    fast = _rows_spearman(bench, matrix)
    for row, value in zip(matrix, fast, strict=True):
        if np.all(row == row[0]):
            assert np.isnan(value)
        else:
            assert value == pytest.approx(spearmanr(bench, row).statistic)


def test_benchmark_scores_come_from_the_serving_versions() -> None:
    def doc(mini: float, big: float) -> PolicyDocument:
        return PolicyDocument.model_validate(
            {
                "classes": {
                    "c": {
                        "route": [
                            {"model": "mini", "score": mini, "ci": [mini - 0.05, mini + 0.05], "n": 100}
                        ],
                        "rejected": [{"model": "big", "reasons": ["dear"], "score": big}],
                    }
                }
            }
        )

    policies = {1: doc(0.7, 0.9), 2: doc(0.75, 0.95)}
    found = benchmark_scores(
        policies, [("c", "mini", 1), ("c", "mini", 2), ("c", "big", 1), ("c", "gone", 2)]
    )
    assert found[("c", "mini")] == BenchmarkScore(0.75, (0.7, 0.8), 100, 2, ())
    assert found[("c", "big")].score == 0.9 and found[("c", "big")].policy_version == 1
    assert ("c", "gone") not in found


def _row(
    model: str, task_class: str, feedback: float | None, judge: float | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "model": model,
        "endpoint_id": f"e-{model}",
        "task_class": task_class,
        "policy_version": 1,
        "status": 200,
        "feedback_score": feedback,
        "feedback_n": 0 if feedback is None else 1,
        "judge_score": judge,
        **extra,
    }


def test_correlate_per_class_and_overall() -> None:
    bench = {
        ("a", "x"): BenchmarkScore(0.9),
        ("a", "y"): BenchmarkScore(0.6),
        ("b", "x"): BenchmarkScore(0.8),
    }
    rows = [_row("x", "a", 1.0, judge=0.9) for _ in range(20)] + [_row("x", "a", 0.0) for _ in range(5)]
    rows += [_row("y", "a", 0.0, judge=0.4) for _ in range(20)] + [_row("y", "a", 1.0) for _ in range(5)]
    rows += [_row("x", "b", 1.0) for _ in range(10)] + [_row("x", "b", None) for _ in range(10)]
    rows += [_row("y", "a", 1.0, status=502)]  # not answered: left out
    report = correlate_feedback(rows, bench, draws=300)
    a, b = report.classes
    assert a.task_class == "a" and a.requests == 50 and a.with_feedback == 50
    assert [e.model for e in a.endpoints] == ["x", "y"]
    assert a.endpoints[0].feedback is not None and a.endpoints[0].feedback.mean == pytest.approx(0.8)
    assert a.feedback.rho == pytest.approx(1.0) and a.feedback.agreement == 1.0
    assert a.judge is not None and a.judge.rho == pytest.approx(1.0)
    assert b.requests == 20 and b.with_feedback == 10
    assert b.feedback.rho is None and "only 1 endpoint has feedback" in (b.feedback.reason or "")
    assert b.judge is None
    # overall: three points (a/x 0.8, a/y 0.2, b/x 1.0 against 0.9, 0.6, 0.8), pairs only within a class.
    assert report.overall.endpoints == 3 and report.overall.pairs == 1
    assert report.overall.rho == pytest.approx(spearmanr([0.9, 0.6, 0.8], [0.8, 0.2, 1.0]).statistic)
    assert report.policy_versions == [1]
    assert json.loads(json.dumps(report.to_json()))["classes"][0]["feedback"]["rho"] == 1.0


def test_no_feedback_is_an_error() -> None:
    with pytest.raises(CorrelationError, match="no feedback yet") as caught:
        correlate_feedback([_row("x", "a", None)], {})
    assert "1 routed requests, none with feedback" in str(caught.value)
    with pytest.raises(CorrelationError, match="no feedback yet"):
        correlate_feedback([], {})


def test_an_endpoint_without_a_benchmark_score_is_left_out_and_said_so() -> None:
    rows = [_row("x", "a", 1.0), _row("z", "a", 0.0)]
    report = correlate_feedback(rows, {("a", "x"): BenchmarkScore(0.9)}, draws=50)
    assert report.classes[0].feedback.endpoints == 1
    assert any("z has production scores but no benchmark score" in note for note in report.notes)


# -- the command -----------------------------------------------------------------------------

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _request(number: int, model: str, task_class: str) -> dict[str, Any]:
    rid = f"r{number:05d}"
    return {
        "id": rid,
        "receipt_id": rid,
        "created_ts": time.time() - 3600,
        "alias": "benchroute",
        "endpoint_id": f"e-{model}",
        "model": model,
        "attempts": 1,
        "status": 200,
        "latency_ms": 100.0,
        "input_tokens": 10,
        "output_tokens": 10,
        "cost_usd": None,
        "stream": False,
        "receipt": {},
        "task_class": task_class,
        "policy_version": 1,
        "arm": "primary",
    }


def _project(tmp_path: Path, *, feedback: bool = True) -> Path:
    models = {
        name: {"provider": "openai", "model": name, "base_url": "http://127.0.0.1:9/v1"}
        for name in ("mini", "big")
    }
    path = tmp_path / "benchroute.yaml"
    path.write_text(yaml.safe_dump({"store": str(tmp_path / "s.db"), "models": models}, sort_keys=False))
    store = Store(f"sqlite:///{tmp_path}/s.db")
    policies = PolicyStore(store)
    document = PolicyDocument.model_validate(
        {
            "classes": {
                "general": {
                    "route": [
                        {"model": "mini", "role": "primary", "score": 0.9, "ci": [0.85, 0.94]},
                        {"model": "big", "score": 0.7, "ci": [0.6, 0.78]},
                    ]
                },
                "code": {"route": [{"model": "big", "role": "primary", "score": 0.8}]},
            }
        }
    )
    version = policies.add_policy(document.to_json(), source="test")
    policies.activate(version, "test")
    requests = [_request(i, "mini", "general") for i in range(40)]
    requests += [_request(100 + i, "big", "general") for i in range(40)]
    requests += [_request(200 + i, "big", "code") for i in range(10)]
    RequestLog(store).add_requests(requests)
    if feedback:
        # mini: 36 of 40 thumbs up (0.9); big: 20 of 40 (0.5); code's big: 8 of 10.
        ups = {**{f"r{i:05d}": i < 36 for i in range(40)}, **{f"r{100 + i:05d}": i < 20 for i in range(40)}}
        ups |= {f"r{200 + i:05d}": i < 8 for i in range(10)}
        policies.add_feedback(
            {
                "id": f"f{n}",
                "request_id": rid,
                "created_ts": time.time(),
                "score": float(up),
                "thumbs": 1 if up else -1,
                "source": "user",
            }
            for n, (rid, up) in enumerate(ups.items())
        )
        policies.add_feedback(
            {
                "id": f"j{i}",
                "request_id": f"r{i:05d}",
                "created_ts": time.time(),
                "score": 0.8,
                "source": "judge",
            }
            for i in range(3)
        )
    store.close()
    return path


def test_correlate_command_end_to_end(tmp_path: Path) -> None:
    project = _project(tmp_path)
    code, out, err = _invoke("correlate", "--config", str(project))
    assert code == 0, err
    assert "benchmark vs production · 90 routed requests · policies v1" in out
    assert "class general · 80 routed requests, 80 with feedback" in out
    assert "0.900" in out and "0.500" in out  # the feedback means
    assert "feedback: ρ 1.00 [1.00, 1.00] · agreement 1.00 [1.00, 1.00] over 2 endpoints (1 pair)" in out
    assert "only 1 endpoint has feedback: route a canary or a second candidate to compare" in out
    assert "judge: ρ unknown: only 1 endpoint has judge scores" in out

    code, out, _ = _invoke(
        "correlate", "--format", "json", "--class", "general", "--policy", "v1", "--config", str(project)
    )
    assert code == 0
    data = json.loads(out)
    (general,) = data["classes"]
    mini = next(e for e in general["endpoints"] if e["model"] == "mini")
    assert mini["benchmark"]["score"] == 0.9 and mini["benchmark"]["ci"] == [0.85, 0.94]
    assert (
        mini["feedback"]["mean"] == 0.9
        and mini["feedback"]["n"] == 40
        and mini["feedback"]["method"] == "wilson"
    )
    assert mini["judge"]["mean"] == 0.8 and mini["judge"]["n"] == 3
    assert general["feedback"]["rho"] == 1.0 and general["feedback"]["agreement"] == 1.0

    code, _, err = _invoke("correlate", "--policy", "latest", "--config", str(project))
    assert code == 2 and "--policy 'latest'" in err


def test_correlate_command_without_feedback(tmp_path: Path) -> None:
    project = _project(tmp_path, feedback=False)
    code, _, err = _invoke("correlate", "--config", str(project))
    assert code == 2
    assert NO_FEEDBACK in err and "90 routed requests, none with feedback" in err and "--since 30d" in err
