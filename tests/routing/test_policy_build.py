"""``build_policy`` over stored runs of fake endpoints whose scores, prices and latencies are
known: each objective's primary and fallback order equal a hand computation, and every
rejected candidate says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scipy.stats import binomtest

from benchroute.config import ProjectConfig, RoutingConstraints, RoutingWeights
from benchroute.routing import BuildOptions, PolicyBuildError, build_policy, diff_policies, policy_problems
from benchroute.store import Store
from tests._routing import Figures, model_entry, seed_run

URL = "http://127.0.0.1:9/v1"
ENTRIES = {name: model_entry(URL, f"gpt-{name}") for name in ("a", "b", "c", "d")}
# Hand figures (20 results each; result i waits step * i ms; p95 is the 19th of 20):
#   a: 17/20 = 0.85, $0.001 each -> $0.02 / 17 = $0.00117647 per success, p95 19*50 = 950 ms
#   b: 19/20 = 0.95, $0.004 each -> $0.08 / 19 = $0.00421053,            p95 19*20 = 380 ms
#   c: 20/20 = 1.00, $0.010 each -> $0.20 / 20 = $0.01,                  p95 19*80 = 1520 ms
#   d: 12/20 = 0.60, $0.0002 each -> $0.004 / 12 = $0.00033333,          p95 19*10 = 190 ms
FIGURES = {
    "a": Figures(passes=17, cost=0.001, latency_step=50),
    "b": Figures(passes=19, cost=0.004, latency_step=20),
    "c": Figures(passes=20, cost=0.010, latency_step=80),
    "d": Figures(passes=12, cost=0.0002, latency_step=10),
}


def _project(
    tmp_path: Path, routing: dict[str, Any] | None = None, **models: dict[str, Any]
) -> ProjectConfig:
    routing = routing or {"classes": {"support": {"suites": ["support"], "min_score": 0.8}}}
    return ProjectConfig.model_validate(
        {"models": models or ENTRIES, "store": str(tmp_path / "s.db"), "routing": routing, "root": tmp_path}
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    seed_run(store, "run1", "support", {name: (ENTRIES[name], FIGURES[name]) for name in FIGURES})
    return store


def _route(policy: Any, name: str = "support") -> list[str]:
    return [entry.model for entry in policy.classes[name].route]


def test_cheapest_passing_then_fallbacks_by_quality(store: Store, tmp_path: Path) -> None:
    policy = build_policy(store, _project(tmp_path))
    klass = policy.classes["support"]
    assert _route(policy) == ["a", "c", "b"]
    primary = klass.route[0]
    assert primary.role == "primary" and primary.score == pytest.approx(0.85)
    assert primary.cost_per_success == pytest.approx(0.02 / 17)
    assert primary.p95_ms == pytest.approx(950)
    assert primary.error_rate == pytest.approx(0.0)
    assert [run.run_id for run in primary.runs] == ["run1"]
    wilson = binomtest(17, 20).proportion_ci(method="wilson")
    assert primary.ci == pytest.approx((wilson.low, wilson.high), abs=1e-4)
    assert "cheapest passing" in (primary.why or "")
    assert [r.model for r in klass.rejected] == ["d"]
    assert klass.rejected[0].reasons == ["score 0.600 < min_score 0.8"]
    assert klass.constraints.min_score == 0.8


def test_best_under_budget(store: Store, tmp_path: Path) -> None:
    options = BuildOptions(
        objective="best_under_budget", constraints=RoutingConstraints(max_cost_per_success=0.005)
    )
    policy = build_policy(store, _project(tmp_path), options)
    assert _route(policy) == ["b", "a"]  # c: $0.01 per success is over the budget
    rejected = {r.model: r.reasons for r in policy.classes["support"].rejected}
    assert rejected["c"] == ["cost per success $0.01 > $0.005"]
    assert set(rejected) == {"c", "d"}


def test_weighted(store: Store, tmp_path: Path) -> None:
    # quality scaled over a, b, c: 0, 0.667, 1; cost (lower better): 1, 0.656, 0;
    # utility (1:1): a 0.5, b 0.661, c 0.5 -> b, then the rest by quality: c, a.
    policy = build_policy(store, _project(tmp_path), BuildOptions(objective="weighted"))
    assert _route(policy) == ["b", "c", "a"]
    assert "0.661" in (policy.classes["support"].route[0].why or "")


@pytest.mark.parametrize(("point", "primary"), [(0.0, "a"), (0.5, "b"), (1.0, "c")])
def test_pareto_point(store: Store, tmp_path: Path, point: float, primary: str) -> None:
    options = BuildOptions(objective="pareto", pareto_point=point)
    policy = build_policy(store, _project(tmp_path), options)
    assert _route(policy)[0] == primary
    # the rest by quality, the primary left out
    assert _route(policy)[1:] == [m for m in ("c", "b", "a") if m != primary]


def test_latency_and_error_constraints(store: Store, tmp_path: Path) -> None:
    options = BuildOptions(constraints=RoutingConstraints(max_p95_ms=1000))
    policy = build_policy(store, _project(tmp_path), options)
    assert _route(policy) == ["a", "b"]
    rejected = {r.model: r.reasons for r in policy.classes["support"].rejected}
    assert rejected["c"] == ["p95 1,520 ms > max_p95_ms 1,000"]


def test_error_rate_counts_provider_errors(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    figures = {"a": Figures(passes=17, errors=3), "b": Figures(passes=18, cost=0.002)}
    seed_run(store, "r", "support", {name: (ENTRIES[name], f) for name, f in figures.items()})
    project = _project(tmp_path, {"classes": {"support": {"suites": ["support"], "max_error_rate": 0.1}}})
    policy = build_policy(store, project)
    assert _route(policy) == ["b"]
    reasons = policy.classes["support"].rejected[0].reasons
    assert reasons == ["error rate 0.150 > max_error_rate 0.1"]


def test_unpriced_is_never_cheapest_and_breaks_a_cost_limit(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    figures = {"a": Figures(passes=18, cost=None), "b": Figures(passes=18, cost=0.01)}
    seed_run(store, "r", "support", {name: (ENTRIES[name], f) for name, f in figures.items()})
    policy = build_policy(store, _project(tmp_path))
    assert _route(policy) == ["b", "a"]
    assert policy.classes["support"].route[1].cost_per_success is None
    limited = build_policy(
        store, _project(tmp_path), BuildOptions(constraints=RoutingConstraints(max_cost_per_success=1.0))
    )
    assert _route(limited) == ["b"]
    assert "unknown" in limited.classes["support"].rejected[0].reasons[0]


def test_stale_drifted_and_changed_endpoints_are_rejected(store: Store, tmp_path: Path) -> None:
    seed_run(store, "old", "support", {"e": (model_entry(URL, "gpt-e"), Figures(passes=20))}, age_days=40)
    b_id = ENTRIES["b"] and _project(tmp_path).models["b"].endpoint_id
    store.add_drift_flags(
        [
            {
                "run_id": "run1",
                "suite": "support",
                "model": "b",
                "endpoint_id": b_id,
                "metric": "pass_rate",
                "direction": "worse",
            }
        ]
    )
    changed = dict(ENTRIES, c=model_entry(URL, "gpt-c", params={"temperature": 0.2}))
    entries = dict(changed, e=model_entry(URL, "gpt-e"))
    policy = build_policy(store, _project(tmp_path, None, **entries))
    assert _route(policy) == ["a"]
    rejected = {r.model: " ".join(r.reasons) for r in policy.classes["support"].rejected}
    assert "drift flagged on support pass_rate at run run1" in rejected["b"]
    assert "its settings changed" in rejected["c"]
    assert "no completed run of support in the last 14 days" in rejected["e"]


def test_a_better_drift_flag_does_not_reject(store: Store, tmp_path: Path) -> None:
    b_id = _project(tmp_path).models["b"].endpoint_id
    store.add_drift_flags(
        [
            {
                "run_id": "run1",
                "suite": "support",
                "model": "b",
                "endpoint_id": b_id,
                "metric": "pass_rate",
                "direction": "better",
            }
        ]
    )
    assert "b" in _route(build_policy(store, _project(tmp_path)))


def test_unsatisfiable_is_an_error_at_build_time(store: Store, tmp_path: Path) -> None:
    options = BuildOptions(constraints=RoutingConstraints(min_score=0.99, max_cost_per_success=0.005))
    with pytest.raises(PolicyBuildError) as caught:
        build_policy(store, _project(tmp_path), options)
    text = str(caught.value)
    assert "class 'support': no endpoint meets" in text
    assert "c: cost per success $0.01 > $0.005" in text
    assert "a: score 0.850 < min_score 0.99" in text


def test_pins_go_first_and_exclusions_are_dropped(store: Store, tmp_path: Path) -> None:
    routing = {
        "classes": {"support": {"suites": ["support"], "min_score": 0.8, "pin": ["d"], "exclude": ["c"]}}
    }
    policy = build_policy(store, _project(tmp_path, routing))
    assert _route(policy) == ["d", "a", "b"]
    assert policy.classes["support"].route[0].role == "pinned"


def test_the_same_model_at_two_providers_is_two_endpoints(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    east = model_entry("http://127.0.0.1:9/v1", "gpt-x")
    west = model_entry("http://127.0.0.2:9/v1", "gpt-x")
    seed_run(
        store,
        "r",
        "support",
        {"x-east": (east, Figures(passes=19, cost=0.002)), "x-west": (west, Figures(passes=19, cost=0.001))},
    )
    policy = build_policy(store, _project(tmp_path, None, **{"x-east": east, "x-west": west}))
    route = policy.classes["support"].route
    assert [e.model for e in route] == ["x-west", "x-east"]
    assert route[0].endpoint_id != route[1].endpoint_id


def test_several_suites_pool_by_results_and_keep_the_worst_p95(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    seed_run(store, "r1", "s1", {"a": (ENTRIES["a"], Figures(passes=18, latency_step=10))})
    seed_run(store, "r2", "s2", {"a": (ENTRIES["a"], Figures(passes=14, n=20, latency_step=30))})
    routing = {"classes": {"both": {"suites": ["s1", "s2"]}}}
    policy = build_policy(store, _project(tmp_path, routing))
    entry = policy.classes["both"].route[0]
    assert entry.score == pytest.approx(32 / 40)
    assert entry.p95_ms == pytest.approx(19 * 30)
    assert entry.cost_per_success == pytest.approx(0.04 / 32)
    assert sorted(r.run_id for r in entry.runs) == ["r1", "r2"]


def test_the_document_round_trips_and_diffs(store: Store, tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = build_policy(store, project)
    again = type(first).model_validate(first.to_json())
    assert again == first
    assert policy_problems(first, project) == []
    budget = RoutingConstraints(max_cost_per_success=1.0)
    second = build_policy(store, project, BuildOptions(objective="best_under_budget", constraints=budget))
    lines = diff_policies(first, second)
    assert any("primary a -> c" in line for line in lines)
    moved = _project(tmp_path, None, **dict(ENTRIES, a=model_entry(URL, "gpt-a2")))
    assert any("build the policy again" in problem for problem in policy_problems(first, moved))


def test_weighted_never_picks_an_unknown_cost(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    figures = {
        "a": Figures(passes=19, cost=None),  # the best score, but unpriced
        "b": Figures(passes=17, cost=0.001),
        "c": Figures(passes=18, cost=0.002),
    }
    seed_run(store, "r", "support", {name: (ENTRIES[name], f) for name, f in figures.items()})
    policy = build_policy(store, _project(tmp_path), BuildOptions(objective="weighted"))
    assert _route(policy)[0] != "a"
    quality_only = BuildOptions(objective="weighted", weights=RoutingWeights(quality=1, cost=0))
    assert _route(build_policy(store, _project(tmp_path), quality_only))[0] == "a"


def test_best_under_budget_needs_a_budget_and_pareto_a_point_in_range(store: Store, tmp_path: Path) -> None:
    with pytest.raises(PolicyBuildError, match="best_under_budget needs a budget"):
        build_policy(store, _project(tmp_path), BuildOptions(objective="best_under_budget"))
    with pytest.raises(PolicyBuildError, match="--pareto-point 5"):
        build_policy(store, _project(tmp_path), BuildOptions(objective="pareto", pareto_point=5))


def test_a_suite_without_the_metric_is_a_reason_not_a_silent_gap(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    seed_run(store, "r1", "s1", {"a": (ENTRIES["a"], Figures(passes=18))})
    seed_run(store, "r2", "s2", {"a": (ENTRIES["a"], Figures(passes=0, n=3, errors=3))})
    routing = {"classes": {"both": {"suites": ["s1", "s2"], "metric": "score:exact"}}}
    with pytest.raises(PolicyBuildError, match="no measured score:exact on s2"):
        build_policy(store, _project(tmp_path, routing))


def test_a_pin_keeps_the_reasons_it_overrides(store: Store, tmp_path: Path) -> None:
    routing = {"classes": {"support": {"suites": ["support"], "min_score": 0.8, "pin": ["d"]}}}
    pinned = build_policy(store, _project(tmp_path, routing)).classes["support"].route[0]
    assert pinned.model == "d" and "would be rejected: score 0.600 < min_score 0.8" in (pinned.why or "")


def test_a_canary_that_is_the_primary_is_refused(store: Store, tmp_path: Path) -> None:
    routing = {"classes": {"support": {"suites": ["support"], "min_score": 0.8, "canary": {"model": "a"}}}}
    with pytest.raises(PolicyBuildError, match="canary a is already the class's primary"):
        build_policy(store, _project(tmp_path, routing))


def test_a_flag_on_an_older_run_does_not_reject_a_newer_one(store: Store, tmp_path: Path) -> None:
    seed_run(store, "older", "support", {"b": (ENTRIES["b"], FIGURES["b"])}, age_days=3)
    b_id = _project(tmp_path).models["b"].endpoint_id
    flag = {
        "suite": "support",
        "model": "b",
        "endpoint_id": b_id,
        "metric": "pass_rate",
        "direction": "worse",
    }
    store.add_drift_flags([{**flag, "run_id": "older"}])  # recorded now, after run1 started
    assert "b" in _route(build_policy(store, _project(tmp_path)))


def test_building_one_class_keeps_the_others(store: Store, tmp_path: Path) -> None:
    seed_run(store, "code1", "coding", {name: (ENTRIES[name], FIGURES[name]) for name in FIGURES})
    routing = {
        "classes": {"support": {"suites": ["support"], "min_score": 0.8}, "code": {"suites": ["coding"]}},
        "rules": [{"class": "code", "regex": "def"}],
    }
    project = _project(tmp_path, routing)
    first = build_policy(store, project)
    partial = build_policy(
        store, project, BuildOptions(classes=("code",), objective="best_under_budget", base=first,
                                     constraints=RoutingConstraints(max_cost_per_success=1.0))
    )  # fmt: skip
    assert set(partial.classes) == {"support", "code"}
    assert partial.classes["support"] == first.classes["support"]
    assert _route(partial, "code")[0] == "c" and [r.class_ for r in partial.rules] == ["code"]
