"""``benchroute route simulate``: the savings arithmetic on a toy policy with hand-computed
figures, and the command end to end on a real SQLite store."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from benchroute.cli import app
from benchroute.config import PolicyDocument
from benchroute.routing._simulate import (
    Price,
    ReplayInputs,
    ReplayRequest,
    SimulationError,
    classify_requests,
    default_baseline,
    load_replay,
    simulate_savings,
    weighted_percentile,
)
from benchroute.store import PolicyStore, RequestLog, Result, RunRecord, Store

BIG = {"input_per_mtok": 5.0, "output_per_mtok": 15.0}
MINI = {"input_per_mtok": 0.15, "output_per_mtok": 0.6}
NEW = {"input_per_mtok": 1.0, "output_per_mtok": 2.0}


def toy_policy(**general: Any) -> PolicyDocument:
    """code -> big; summarise -> mini (big rejected, with its score); general -> mini, big
    fallback, a 10 % canary on new (the default class)."""
    canary = {"model": "new", "percent": 10, "evidence": {"model": "new", "score": 0.9, "price": NEW}}
    return PolicyDocument.model_validate(
        {
            "default_class": "general",
            "rules": [{"class": "code", "regex": "```"}, {"class": "summarise", "keywords": ["summarise"]}],
            "classes": {
                "code": {
                    "route": [
                        {"model": "big", "role": "primary", "score": 0.95, "price": BIG},
                        {"model": "mini", "score": 0.80, "price": MINI},
                    ]
                },
                "summarise": {
                    "route": [{"model": "mini", "role": "primary", "score": 0.90, "price": MINI}],
                    "rejected": [{"model": "big", "reasons": ["too dear"], "score": 0.97}],
                },
                "general": {
                    "route": [
                        {"model": "mini", "role": "primary", "score": 0.85, "price": MINI},
                        {"model": "big", "score": 0.96, "price": BIG},
                    ],
                    "canary": general.get("canary", canary),
                },
            },
        }
    )


def toy_requests() -> list[ReplayRequest]:
    return [
        ReplayRequest(1000, 200, task_class="code"),
        ReplayRequest(
            2000, 100, payload={"messages": [{"role": "user", "content": "please summarise this"}]}
        ),
        ReplayRequest(1000, 1000),  # no class, no payload: the default class
        ReplayRequest(500, 500, task_class="retired"),  # a class this policy lacks: the default
    ]


def test_classification_order() -> None:
    found = classify_requests(toy_policy(), toy_requests())
    assert found == [
        ("code", "logged"),
        ("summarise", "rule 1"),
        ("general", "default"),
        ("general", "default"),
    ]
    named = classify_requests(toy_policy(), [ReplayRequest(1, 1, alias="benchroute/code")])
    assert named == [("code", "model")]


def test_exact_costs_quality_and_canary_share() -> None:
    report = simulate_savings(toy_policy(), ReplayInputs(toy_requests(), "test"), label="v1")
    assert report.baseline == "big"  # the best-scoring primary (code's, 0.95)
    rows = {row.task_class: row for row in report.classes}
    # code: 1000 in x $5/M + 200 out x $15/M, on big both ways.
    assert rows["code"].policy.cost_usd == pytest.approx(0.008)
    assert rows["code"].baseline.cost_usd == pytest.approx(0.008)
    # summarise: mini 2000 x 0.15/M + 100 x 0.6/M; big (priced in another class) 2000 x 5/M + 100 x 15/M.
    assert rows["summarise"].policy.cost_usd == pytest.approx(0.00036)
    assert rows["summarise"].baseline.cost_usd == pytest.approx(0.0115)
    assert rows["summarise"].baseline.quality == pytest.approx(0.97)  # the rejected entry's score
    # general: 90 % mini + 10 % new, as an expected value.
    r3 = 0.9 * (1000 * 0.15 + 1000 * 0.6) / 1e6 + 0.1 * (1000 * 1 + 1000 * 2) / 1e6
    r4 = 0.9 * (500 * 0.15 + 500 * 0.6) / 1e6 + 0.1 * (500 * 1 + 500 * 2) / 1e6
    assert rows["general"].policy.cost_usd == pytest.approx(r3 + r4)
    assert rows["general"].baseline.cost_usd == pytest.approx(0.02 + 0.01)
    assert rows["general"].endpoints == pytest.approx({"mini": 1.8, "new": 0.2})
    assert rows["general"].policy.quality == pytest.approx(0.9 * 0.85 + 0.1 * 0.9)
    total = report.total
    assert total.requests == 4
    assert total.policy.cost_usd == pytest.approx(0.008 + 0.00036 + r3 + r4)
    assert total.baseline.cost_usd == pytest.approx(0.0495)
    assert total.saving_usd == pytest.approx(0.0495 - (0.008 + 0.00036 + r3 + r4))
    assert total.saving_pct == pytest.approx(100 * total.saving_usd / 0.0495)
    assert total.policy.quality == pytest.approx((0.95 + 0.90 + 2 * 0.855) / 4)
    assert total.baseline.quality == pytest.approx((0.95 + 0.97 + 2 * 0.96) / 4)
    assert report.classified_by == {"logged": 1, "rule": 1, "default": 2}
    assert any("canary new answers 10 %" in note for note in report.notes)
    data = report.to_json()
    assert data["total"]["requests"] == 4 and data["classes"][0]["class"] == "code"


def test_unknown_price_makes_its_sums_unknown_never_zero() -> None:
    policy = PolicyDocument.model_validate(
        {
            "classes": {
                "general": {
                    "route": [
                        {"model": "homegrown", "score": 0.8},
                        {"model": "big", "score": 0.9, "price": BIG},
                    ]
                }
            }
        }
    )
    inputs = ReplayInputs([ReplayRequest(1000, 100), ReplayRequest(10, 10)], "test")
    report = simulate_savings(policy, inputs, baseline="big")
    assert report.total.policy.cost_usd is None
    assert report.total.saving_usd is None and report.total.saving_pct is None
    assert report.total.baseline.cost_usd == pytest.approx((1000 * 5 + 100 * 15 + 10 * 5 + 10 * 15) / 1e6)
    assert any(note.startswith("homegrown has no price") for note in report.notes)
    # A price from the project's price book fills the gap.
    priced = ReplayInputs(inputs.requests, "test", prices={"homegrown": Price(1.0, 1.0)})
    assert simulate_savings(policy, priced, baseline="big").total.policy.cost_usd == pytest.approx(1120 / 1e6)


def test_compute_rate_costs_its_mean_benchmark_latency() -> None:
    policy = PolicyDocument.model_validate(
        {"classes": {"general": {"route": [{"model": "local", "score": 0.5}]}}}
    )
    inputs = ReplayInputs(
        [ReplayRequest(5, 5)] * 3,
        "test",
        prices={"local": Price(usd_per_hour=3.6)},
        latencies={"local": {"general": [500.0, 1500.0]}},
    )
    report = simulate_savings(policy, inputs, baseline="local")
    assert report.total.policy.cost_usd == pytest.approx(3 * 3.6 * 1000 / 3_600_000)


def test_shadow_canary_is_paid_and_never_answers() -> None:
    shadow = {
        "model": "new",
        "percent": 10,
        "shadow": True,
        "evidence": {"model": "new", "score": 0.1, "price": NEW},
    }
    report = simulate_savings(toy_policy(canary=shadow), ReplayInputs([ReplayRequest(1000, 1000)], "t"))
    row = report.classes[0]
    assert row.policy.cost_usd == pytest.approx((150 + 600 + 1000 + 2000) / 1e6)
    assert row.policy.quality == pytest.approx(0.85)
    assert row.endpoints == {"mini": 1.0}


def test_baseline_choice_and_unknown_baseline_quality() -> None:
    policy = toy_policy()
    assert default_baseline(policy) == "big"
    report = simulate_savings(policy, ReplayInputs(toy_requests(), "t"), baseline="new")
    rows = {row.task_class: row for row in report.classes}
    assert rows["general"].baseline.quality == pytest.approx(0.9)  # the canary's evidence
    assert rows["code"].baseline.quality is None  # no evidence of new on code
    assert report.total.baseline.quality_requests == 2
    assert report.total.baseline.quality == pytest.approx(0.9)
    assert any("no score of new" in note and "class code" in note for note in report.notes)
    # new is priced only by the canary's evidence, in another class: that price is used.
    assert rows["code"].baseline.cost_usd == pytest.approx((1000 * 1 + 200 * 2) / 1e6)
    unscored = PolicyDocument.model_validate({"classes": {"a": {"route": [{"model": "x"}]}}})
    with pytest.raises(SimulationError, match="--baseline"):
        default_baseline(unscored)


def test_class_filter_and_errors() -> None:
    report = simulate_savings(toy_policy(), ReplayInputs(toy_requests(), "t"), task_class="general")
    assert [row.task_class for row in report.classes] == ["general"] and report.total.requests == 2
    with pytest.raises(SimulationError, match="no such class"):
        simulate_savings(toy_policy(), ReplayInputs(toy_requests(), "t"), task_class="vision")
    with pytest.raises(SimulationError, match="no request to replay"):
        simulate_savings(toy_policy(), ReplayInputs([], "t"))


def test_weighted_percentile_is_nearest_rank() -> None:
    assert weighted_percentile([(float(v), 1.0) for v in range(1, 21)], 95) == 19.0
    assert weighted_percentile([(float(v), 1.0) for v in range(1, 101)], 95) == 95.0
    # 20 requests at 90 % on a 100 ms endpoint, 10 % on a 1000 ms one: 5 % of the weight
    # (1.0 of 20) is above 95 %... the 95th percentile lands inside the slow 10 %.
    samples = [(100.0, 0.9)] * 20 + [(1000.0, 0.1)] * 20
    assert weighted_percentile(samples, 95) == 1000.0
    assert weighted_percentile(samples, 85) == 100.0
    assert weighted_percentile([], 95) is None


def test_p95_sampling_is_reproducible_and_unknown_without_latencies() -> None:
    latencies = {
        "mini": {"general": [float(v) for v in range(100, 2100, 100)]},
        "new": {"general": [5000.0]},
        "big": {"code": [float(v) for v in range(1000, 3000, 50)]},  # pooled for other classes
    }
    requests = [ReplayRequest(10, 10)] * 200
    inputs = ReplayInputs(requests, "t", latencies=latencies)
    first = simulate_savings(toy_policy(), inputs)
    again = simulate_savings(toy_policy(), inputs)
    assert first.total.policy.p95_ms == again.total.policy.p95_ms
    assert first.total.baseline.p95_ms == again.total.baseline.p95_ms
    # 10 % of the weight waits 5000 ms (the canary): the p95 is the canary's latency.
    assert first.total.policy.p95_ms == 5000.0
    assert 1000.0 <= (first.total.baseline.p95_ms or 0) <= 2950.0  # big's pooled code latencies
    other_seed = simulate_savings(toy_policy(), inputs, seed=7)
    assert other_seed.total.policy.p95_ms == 5000.0
    missing = simulate_savings(
        toy_policy(), ReplayInputs(requests, "t", latencies={"mini": latencies["mini"]})
    )
    assert missing.total.policy.p95_ms is None  # the canary has no latencies
    assert any("no latencies of new" in note for note in missing.notes)


# -- the store loader and the command --------------------------------------------------------


def _seed_run(store: Store, run_id: str, suite: str, latencies: dict[str, list[float]]) -> None:
    store.create_run(
        RunRecord(
            id=run_id, suites=[suite], config={}, package_version="0", prices={}, started_at="2026-01-01"
        )
    )
    store.add_results(
        [
            Result(
                run_id=run_id,
                suite=suite,
                case_id=f"c{i}",
                model=model,
                repeat=0,
                messages=[{"role": "user", "content": f"case {i}"}],
                output="x",
                scores=[],
                score=1.0,
                passed=True,
                input_tokens=100 + i,
                output_tokens=10,
                cost_usd=0.001,
                latency_ms=value,
            )
            for model, values in latencies.items()
            for i, value in enumerate(values)
        ]
    )
    store.set_run_status(run_id, "completed")


def _request(number: int, **row: Any) -> dict[str, Any]:
    rid = f"req{number:04d}"
    return {
        "id": rid,
        "receipt_id": rid,
        "created_ts": time.time() - 3600,
        "alias": "benchroute",
        "endpoint_id": None,
        "model": "mini",
        "attempts": 1,
        "status": 200,
        "latency_ms": 100.0,
        "input_tokens": 1000,
        "output_tokens": 100,
        "cost_usd": None,
        "stream": False,
        "receipt": {},
        "task_class": "general",
        "policy_version": 1,
        "arm": None,
        **row,
    }


def _policy_doc() -> dict[str, Any]:
    runs = [{"suite": "s", "run_id": "run1"}]
    return {
        "default_class": "general",
        "classes": {
            "general": {
                "suites": ["s"],
                "route": [
                    {"model": "mini", "role": "primary", "score": 0.85, "price": MINI, "runs": runs},
                    {"model": "big", "score": 0.95, "price": BIG, "runs": runs},
                ],
            },
            "code": {
                "route": [{"model": "big", "role": "primary", "score": 0.96, "price": BIG, "runs": runs}],
            },
        },
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    models = {
        name: {"provider": "openai", "model": name, "base_url": "http://127.0.0.1:9/v1"}
        for name in ("mini", "big")
    }
    models["dear"] = {
        "provider": "openai",
        "model": "dear",
        "base_url": "http://127.0.0.1:9/v1",
        "prices": {"input_per_mtok": 10.0, "output_per_mtok": 30.0},
    }
    (tmp_path / "benchroute.yaml").write_text(
        yaml.safe_dump({"store": str(tmp_path / "s.db"), "models": models}, sort_keys=False)
    )
    store = Store(f"sqlite:///{tmp_path}/s.db")
    _seed_run(
        store,
        "run1",
        "s",
        {"mini": [100.0] * 19 + [400.0], "big": [float(v) for v in range(1000, 3000, 100)]},
    )
    log = RequestLog(store)
    rows = [_request(i) for i in range(8)]  # 8 general requests: 1000 in, 100 out
    rows += [
        _request(8 + i, task_class="code", model="big", input_tokens=2000, output_tokens=500)
        for i in range(2)
    ]
    rows.append(_request(10, status=502, input_tokens=None, output_tokens=None))  # not answered: left out
    rows.append(_request(11, arm="shadow", model="big"))  # a shadow copy: left out
    rows.append(_request(12, input_tokens=None, output_tokens=None))  # answered, no usage: left out
    rows.append(_request(13, created_ts=time.time() - 30 * 86400))  # older than --since
    log.add_requests(rows)
    policies = PolicyStore(store)
    version = policies.add_policy(PolicyDocument.model_validate(_policy_doc()).to_json(), source="test")
    policies.activate(version, "test")
    store.close()
    return tmp_path / "benchroute.yaml"


runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_loader_reads_answered_requests_and_evidence_latencies(project: Path) -> None:
    store = Store(f"sqlite:///{project.parent}/s.db")
    policy = PolicyDocument.model_validate(_policy_doc())
    inputs = load_replay(store, policy, since_ts=time.time() - 7 * 86400)
    assert len(inputs.requests) == 10 and inputs.skipped == 1
    assert inputs.latencies["mini"]["general"] == [100.0] * 19 + [400.0]
    suite = load_replay(store, policy, suite="s")
    assert suite.source == "suite s run run1" and len(suite.requests) == 20
    assert suite.requests[3].input_tokens == 103 and suite.requests[3].task_class == "general"
    store.close()


def test_simulate_command_end_to_end(project: Path) -> None:
    code, out, err = _invoke("route", "simulate", "--config", str(project))
    assert code == 0, err
    # policy: 8 x (1000 x 0.15 + 100 x 0.6)/1e6 = $0.00168 + 2 x (2000 x 5 + 500 x 15)/1e6 = $0.035
    # baseline big (best primary, 0.96): 8 x (1000 x 5 + 100 x 15)/1e6 = $0.052, + $0.035
    assert "policy v1 vs everything on big · gateway log since" in out
    assert "policy v1 vs everything on big: $0.03668 vs $0.087 (−57.8 %)" in out
    # quality (8 x 0.85 + 2 x 0.96)/10 = 0.872 vs (8 x 0.95 + 2 x 0.96)/10 = 0.952
    assert "quality 0.872 vs 0.952" in out
    # p95: mini's draws are 100 ms but for 1 case in 20; big's are 1000..2900 ms.
    assert "over 10 requests" in out
    assert "hidden" not in out  # the table fits 100 columns
    assert "1 answered request left out: no usage logged" in err

    code, out, _ = _invoke("route", "simulate", "v1", "--format", "json", "--config", str(project))
    assert code == 0
    data = json.loads(out)
    assert data["baseline"] == "big" and data["requests"] == 10
    assert data["total"]["policy"]["cost_usd"] == pytest.approx(0.03668)
    assert data["total"]["baseline"]["cost_usd"] == pytest.approx(0.087)
    assert data["total"]["saving_pct"] == pytest.approx(100 * (0.087 - 0.03668) / 0.087, abs=0.01)
    general = next(row for row in data["classes"] if row["class"] == "general")
    assert general["policy"]["p95_ms"] in (100.0, 400.0)
    assert 1000 <= general["baseline"]["p95_ms"] <= 2900

    # A baseline the policy does not know: priced by the project's price book, no quality.
    code, out, err = _invoke("route", "simulate", "--baseline", "dear", "--config", str(project))
    assert code == 0, err
    dear = 8 * (1000 * 10 + 100 * 30) / 1e6 + 2 * (2000 * 10 + 500 * 30) / 1e6
    assert f"vs ${dear:.4g}" in out
    assert "quality 0.872 vs unknown" in out
    assert "p95" in out and "vs unknown ms" in out

    code, out, _ = _invoke("route", "simulate", "--class", "code", "--config", str(project))
    assert code == 0 and "$0.035 vs $0.035 (0.0 %)" in out and "over 2 requests" in out


def test_simulate_command_errors(project: Path, tmp_path: Path) -> None:
    code, _, err = _invoke("route", "simulate", "--since", "1m", "--config", str(project))
    assert code == 2 and "no answered request in the gateway log for --since 1m" in err and "--suite" in err
    code, _, err = _invoke("route", "simulate", "--suite", "missing", "--config", str(project))
    assert code == 2 and "--suite 'missing'" in err
    code, _, err = _invoke("route", "simulate", "--baseline", "gtp-4o", "--config", str(project))
    assert code == 2 and "--baseline 'gtp-4o'" in err
    code, _, err = _invoke("route", "simulate", "--class", "vision", "--config", str(project))
    assert code == 2 and "no such class" in err
    code, out, err = _invoke("route", "simulate", "--suite", "s", "--config", str(project))
    assert code == 0, err
    assert "suite s run run1" in out and "over 20 requests" in out


def test_a_jsonl_log_file_is_replayed(tmp_path: Path) -> None:
    from benchroute.routing import SimulationError
    from benchroute.routing._simulate import _file_requests

    path = tmp_path / "log.jsonl"
    lines = [
        {"messages": [{"role": "user", "content": "hi"}],
         "usage": {"prompt_tokens": 10, "completion_tokens": 5}},
        {"request": {"model": "benchroute/code", "messages": [{"role": "user", "content": "x"}]},
         "response": {"usage": {"prompt_tokens": 3, "completion_tokens": 4}}},
        {"input_tokens": 7, "output_tokens": 8, "task_class": "general"},
        {"messages": [{"role": "user", "content": "no usage"}]},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    requests, skipped = _file_requests(path)
    assert skipped == 1
    assert [(r.input_tokens, r.output_tokens) for r in requests] == [(10, 5), (3, 4), (7, 8)]
    assert requests[1].alias == "benchroute/code" and requests[2].task_class == "general"
    assert requests[0].payload is not None and requests[2].payload is None
    path.write_text('{"messages": []}\nnot json\n', encoding="utf-8")
    with pytest.raises(SimulationError, match=r"log\.jsonl:2: not a JSON object"):
        _file_requests(path)
