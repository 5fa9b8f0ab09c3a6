"""``drift_for_suite``: a drift check of a suite's latest run, with its data from the store.

It uses the store's query API only (``Store.latest_runs``, ``Store.series``,
``Store.case_outcomes_many``): per-run figures come from the ``run_metrics`` aggregates, and only
the per-case outcomes of the latest and baseline runs are read.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .._errors import BenchrouteError
from ..config import DriftSpec
from ._changepoint import SeriesValue
from ._drift import DriftReport, RunOutcomes, detect_drift, version_label

# Drift metric -> (run_metrics name for the series, case_outcomes metric).
DRIFT_METRICS: dict[str, tuple[str, str]] = {
    "pass_rate": ("pass_rate", "pass"),
    "error_rate": ("error_rate", "pass"),
    "refusal_rate": ("refusal_rate", "refusal"),
    "latency_ms": ("p50_ms", "latency_ms"),
    "tokens_out": ("tokens_out", "tokens_out"),
    "cost_usd": ("cost_total", "cost_usd"),
}


def _metric_names(series_metric: str) -> tuple[str, str] | None:
    """(drift metric, case_outcomes metric) of a run_metrics name, or None if not tested."""
    for drift_metric, (name, case_metric) in DRIFT_METRICS.items():
        if name == series_metric:
            return drift_metric, case_metric
    if series_metric.startswith("score:"):
        return series_metric, series_metric
    return None


def drift_for_suite(
    store: Any,
    suite: str,
    *,
    model: str | None = None,
    baseline: str | None = None,
    pinned: str | None = None,
    window: int | None = None,
    metrics: list[str] | None = None,
    settings: DriftSpec | None = None,
    branch: str | None = None,
    record_flags: bool = True,
) -> DriftReport:
    """Check the latest run of ``suite`` for drift against its baseline.

    ``baseline``: ``"previous"`` (the run before the latest), ``"pinned"`` (run ``pinned``),
    or ``"window"`` (the ``window`` runs before the latest, pooled); default: the settings'.
    ``metrics``: drift metric names (pass_rate, error_rate, refusal_rate, latency_ms,
    tokens_out, cost_usd, score:<name>); default: every one the latest run has. ``branch``:
    baseline runs from that branch only (``benchroute ci`` compares with main). Flagged
    findings are written to the store's drift flags when it has them (``record_flags``).
    Raises :class:`BenchrouteError` for an unknown suite, model or run.
    """
    settings = settings or DriftSpec()
    mode = baseline or settings.baseline
    size = window or settings.window
    latest_runs = store.latest_runs(suite, model=model, n=1)
    if not latest_runs:
        where = f" for model {model!r}" if model else ""
        raise BenchrouteError(f"suite {suite!r} has no stored run{where}", hint="see: benchroute runs list")
    latest_id = latest_runs[0].id
    points = store.series(suite, model=model, limit_runs=max(size, 2) + 1)
    by_key: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for point in points:
        by_key[(point.model, point.metric)].append(point)
    wanted = set(metrics) if metrics else None
    latest: list[RunOutcomes] = []
    base: list[RunOutcomes] = []
    series: dict[tuple[str, str], list[SeriesValue]] = {}
    baseline_label = mode
    planned: list[tuple[bool, Any, str, str]] = []  # (latest?, point, drift metric, case metric)
    for (model_name, series_metric), run_points in sorted(by_key.items()):
        names = _metric_names(series_metric)
        if names is None:
            continue
        drift_metric, case_metric = names
        if wanted is not None and drift_metric not in wanted:
            continue
        run_points.sort(key=lambda p: p.started_at)
        if run_points[-1].run_id != latest_id:
            continue  # this model did not run in the latest run
        newest = run_points[-1]
        # The series only spans the latest suite spec: older specs are a suite change.
        same_spec = [
            p
            for p in run_points
            if not newest.suite_fingerprint
            or not p.suite_fingerprint
            or p.suite_fingerprint == newest.suite_fingerprint
        ]
        series[(model_name, drift_metric)] = [
            SeriesValue(p.run_id, p.value, p.n, version_label(p.served_model, p.system_fingerprint))
            for p in same_spec[-size:]
        ]
        earlier = run_points[:-1]
        if branch is not None:  # `benchroute ci`: the baseline is that branch's runs
            earlier = [
                p
                for p in store.series(
                    suite, model=model_name, metrics=[series_metric], branch=branch, limit_runs=size + 1
                )
                if p.run_id != latest_id
            ]
            earlier.sort(key=lambda p: p.started_at)
        if mode == "pinned":
            if pinned is None:
                raise BenchrouteError("--baseline pinned needs a run id: --baseline pinned RUN")
            chosen = [p for p in earlier if p.run_id == pinned or p.run_id.startswith(pinned)]
            if not chosen:
                chosen = [
                    p
                    for p in store.series(suite, model=model_name, metrics=[series_metric])
                    if p.run_id.startswith(pinned)
                ]
            if not chosen:
                raise BenchrouteError(
                    f"run {pinned!r} has no result of suite {suite!r} for model {model_name!r}",
                    hint=f"see: benchroute history {suite}",
                )
            chosen = chosen[:1]
            baseline_label = f"pinned {chosen[0].run_id}"
        elif mode == "window":
            chosen = earlier[-size:]
            baseline_label = f"window {size}"
        else:
            chosen = earlier[-1:]
        planned.append((True, newest, drift_metric, case_metric))
        planned.extend((False, p, drift_metric, case_metric) for p in chosen)
    # Each run's outcomes are read once for every model and metric that needs them.
    needed: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for _, point, _, case_metric in planned:
        needed[point.run_id].append((point.model, case_metric))
    read = {run_id: store.case_outcomes_many(run_id, suite, pairs) for run_id, pairs in needed.items()}
    for is_latest, point, drift_metric, case_metric in planned:
        outcomes = read[point.run_id][(point.model, case_metric)]
        (latest if is_latest else base).append(_outcomes(suite, point, drift_metric, outcomes))
    if not latest:
        raise BenchrouteError(
            f"the latest run {latest_id} of suite {suite!r} has no metric to test"
            + (f" among {', '.join(sorted(wanted))}" if wanted else ""),
            hint="metrics: " + ", ".join([*DRIFT_METRICS, "score:<scorer>"]),
        )
    report = detect_drift(
        latest, base, settings=settings, series=series, suite=suite, baseline_label=baseline_label
    )
    if not base:
        report.notes.append(f"run {latest_id} is the first run of suite {suite!r}: nothing to compare yet")
    if record_flags and report.flagged():
        store.add_drift_flags([f.to_json() | {"run_id": latest_id} for f in report.flagged()])
    return report


def _outcomes(suite: str, point: Any, drift_metric: str, outcomes: list[Any]) -> RunOutcomes:
    return RunOutcomes(
        run_id=point.run_id,
        model=point.model,
        metric=drift_metric,
        outcomes=outcomes,
        suite=suite,
        endpoint_id=point.endpoint_id,
        started_at=point.started_at,
        served_model=point.served_model,
        system_fingerprint=point.system_fingerprint,
        suite_fingerprint=point.suite_fingerprint,
    )
