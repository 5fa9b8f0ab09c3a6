"""The store as a time series: per-run aggregates in SQL (``run_metrics``) and the rows the
history, drift and metrics commands read.

Aggregates are computed by SQL over one run's rows when the run finishes (and, for runs
stored before m004, on their first query); a series is then read from ``run_metrics``
joined with ``runs``: one row per run x model x metric, never the result rows themselves.
Only a drift check reads per-case outcomes, and only of the runs it compares.

Metrics (per run x suite x model, the load summaries of stress runs left out):

- ``pass_rate``: passes over the results whose scorers did not fail (a failed scorer is an
  error of the measurement; a provider error is a result that did not pass);
- ``error_rate``: provider errors over every result;
- ``refusal_rate``: results a refusal scorer called a refusal, over those it scored;
- ``cost_total`` / ``cost_per_success``: NULL (unknown) when any result is unpriced, never 0;
  cached replies keep the figures of the call that produced them, so they never look free;
- ``p50_ms`` / ``p95_ms``: nearest-rank percentiles of what the caller waited
  (``e2e_latency_ms``, else ``latency_ms``) over the answered results (every result but a
  provider error: a reply whose scorer failed was still answered, at its latency);
- ``tokens_out``: mean output tokens of the answered results;
- ``score:<scorer>``: the scorer's mean value where it did not fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from ._records import SCORER_ERROR_KIND

SERIES_METRICS = (
    "pass_rate",
    "error_rate",
    "refusal_rate",
    "cost_per_success",
    "cost_total",
    "p50_ms",
    "p95_ms",
    "tokens_out",
)
"""The run metrics every run has; scorer means are ``score:<scorer>`` besides these."""

CASE_METRICS = ("pass", "refusal", "latency_ms", "tokens_out", "cost_usd")
"""What :meth:`Store.case_outcomes` can give per case (and ``score:<scorer>``)."""

FINISHED = ("completed", "failed", "interrupted", "budget_stopped")

_NOT_LOAD = "NOT (r.case_id = 'load' AND r.details IS NOT NULL)"
# A result the provider answered: no error, or only its scorer failed.
_ANSWERED = "(r.error IS NULL OR r.error_kind = 'scorer')"


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One metric of one model in one run, with what served it and at what price."""

    run_id: str
    started_at: datetime
    suite: str
    model: str
    endpoint_id: str | None
    metric: str
    value: float | None  # None: unknown (e.g. the cost of a run with unpriced results)
    n: int  # results the figure is computed over
    served_model: str | None
    system_fingerprint: str | None
    suite_fingerprint: str | None
    price_in: float | None  # USD per million input tokens (None: unpriced)
    price_out: float | None
    trigger: str | None
    git_sha: str | None


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """One result's outcome for a drift test: ``passed`` None means the result was an error."""

    case_id: str
    case_hash: str | None
    repeat: int
    passed: bool | None
    value: float | None = None


def _b(column: str) -> str:
    """A boolean column as 1.0/0.0 in both SQLite and PostgreSQL."""
    return f"(CASE WHEN {column} THEN 1.0 ELSE 0.0 END)"


_BASE = f"""
SELECT r.suite AS suite, r.model AS model,
       MAX(r.endpoint_id) AS endpoint_id,
       MAX(r.served_model) AS served_model,
       MAX(r.system_fingerprint) AS system_fingerprint,
       MAX(r.suite_fingerprint) AS suite_fingerprint,
       COUNT(*) AS n_all,
       SUM(CASE WHEN r.error_kind = 'scorer' THEN 0 ELSE 1 END) AS n_measured,
       SUM(CASE WHEN r.error_kind = 'scorer' THEN 0.0 ELSE {_b("r.passed")} END) AS passes,
       SUM(CASE WHEN r.error IS NOT NULL AND COALESCE(r.error_kind, '') <> 'scorer'
                THEN 1 ELSE 0 END) AS errors,
       COUNT(r.cost_usd) AS n_costed,
       SUM(r.cost_usd) AS cost,
       SUM(CASE WHEN {_ANSWERED} THEN r.output_tokens END) AS tokens,
       SUM(CASE WHEN {_ANSWERED} THEN 1 ELSE 0 END) AS n_answered
FROM results r
WHERE r.run_id = :run AND {_NOT_LOAD}
GROUP BY r.suite, r.model
"""

_LATENCY = f"""
SELECT suite, model, lat, rn, cnt FROM (
  SELECT r.suite AS suite, r.model AS model,
         COALESCE(r.e2e_latency_ms, r.latency_ms) AS lat,
         ROW_NUMBER() OVER (PARTITION BY r.suite, r.model
                            ORDER BY COALESCE(r.e2e_latency_ms, r.latency_ms)) AS rn,
         COUNT(*) OVER (PARTITION BY r.suite, r.model) AS cnt
  FROM results r
  WHERE r.run_id = :run AND {_ANSWERED} AND {_NOT_LOAD}
    AND COALESCE(r.e2e_latency_ms, r.latency_ms) IS NOT NULL
) ranked
WHERE rn = (cnt * 50 + 99) / 100 OR rn = (cnt * 95 + 99) / 100
"""

_REFUSALS = """
SELECT suite, model, SUM(refused) AS refusals, COUNT(*) AS n FROM (
  SELECT s.suite AS suite, s.model AS model, s.result_id AS result_id,
         MAX(CASE WHEN s.refused THEN 1 ELSE 0 END) AS refused
  FROM scores s
  WHERE s.run_id = :run AND s.refused IS NOT NULL AND NOT s.error
  GROUP BY s.suite, s.model, s.result_id
) per_result
GROUP BY suite, model
"""

_SCORES = """
SELECT s.suite AS suite, s.model AS model, s.name AS name, AVG(s.value) AS value,
       COUNT(s.value) AS n
FROM scores s
WHERE s.run_id = :run AND NOT s.error AND s.value IS NOT NULL
GROUP BY s.suite, s.model, s.name
"""


def compute_run_metrics(conn: Connection, run_id: str) -> int:
    """(Re)compute ``run_metrics`` of one run in SQL; returns the rows written."""
    conn.execute(text("DELETE FROM run_metrics WHERE run_id = :run"), {"run": run_id})
    params = {"run": run_id}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    out: list[dict[str, Any]] = []

    def add(suite: str, model: str, metric: str, value: float | None, n: int) -> None:
        head = groups[(suite, model)]
        out.append(
            {
                "run_id": run_id,
                "suite": suite,
                "model": model,
                "metric": metric[:200],
                "endpoint_id": head["endpoint_id"],
                "value": value,
                "n": int(n),
                "served_model": head["served_model"],
                "system_fingerprint": head["system_fingerprint"],
                "suite_fingerprint": head["suite_fingerprint"],
            }
        )

    for row in conn.execute(text(_BASE), params).mappings():
        key = (row["suite"], row["model"])
        groups[key] = dict(row)
        measured = int(row["n_measured"] or 0)
        passes = float(row["passes"] or 0.0)
        n_all = int(row["n_all"])
        known_cost = row["n_costed"] == n_all and n_all > 0
        cost = float(row["cost"] or 0.0) if known_cost else None
        add(*key, "pass_rate", passes / measured if measured else None, measured)
        add(*key, "error_rate", int(row["errors"] or 0) / n_all if n_all else None, n_all)
        add(*key, "cost_total", cost, n_all)
        add(*key, "cost_per_success", cost / passes if cost is not None and passes else None, int(passes))
        answered = int(row["n_answered"] or 0)
        tokens = row["tokens"]
        add(
            *key,
            "tokens_out",
            float(tokens) / answered if answered and tokens is not None else None,
            answered,
        )
    latency: dict[tuple[str, str], dict[str, Any]] = {}
    for row in conn.execute(text(_LATENCY), params).mappings():
        cnt, rn = int(row["cnt"]), int(row["rn"])
        entry = latency.setdefault((row["suite"], row["model"]), {"n": cnt})
        if rn == (cnt * 50 + 99) // 100:
            entry["p50_ms"] = float(row["lat"])
        if rn == (cnt * 95 + 99) // 100:
            entry["p95_ms"] = float(row["lat"])
    for key in groups:
        entry = latency.get(key, {"n": 0})
        add(*key, "p50_ms", entry.get("p50_ms"), entry["n"])
        add(*key, "p95_ms", entry.get("p95_ms"), entry["n"])
    for row in conn.execute(text(_REFUSALS), params).mappings():
        key = (row["suite"], row["model"])
        if key in groups and row["n"]:
            add(*key, "refusal_rate", float(row["refusals"]) / int(row["n"]), int(row["n"]))
    for row in conn.execute(text(_SCORES), params).mappings():
        key = (row["suite"], row["model"])
        if key in groups:
            add(*key, f"score:{row['name']}", float(row["value"]), int(row["n"]))
    if out:
        conn.execute(
            text(
                "INSERT INTO run_metrics (run_id, suite, model, metric, endpoint_id, value, n, "
                "served_model, system_fingerprint, suite_fingerprint) VALUES (:run_id, :suite, "
                ":model, :metric, :endpoint_id, :value, :n, :served_model, :system_fingerprint, "
                ":suite_fingerprint)"
            ),
            out,
        )
    conn.execute(
        text("UPDATE runs SET metrics_ts = :ts WHERE id = :run"),
        {"ts": datetime.now(UTC).timestamp(), "run": run_id},
    )
    return len(out)


def ensure_run_metrics(conn: Connection) -> int:
    """Compute the metrics of finished runs that have none yet (runs stored before m004, or
    finished by a process killed before it could); returns how many runs were done."""
    pending = list(
        conn.execute(text("SELECT id FROM runs WHERE metrics_ts IS NULL AND status <> 'running'")).scalars()
    )
    for run_id in pending:
        compute_run_metrics(conn, run_id)
    return len(pending)


def _prices(prices_json: str | None, model: str, cache: dict[str, Any]) -> tuple[float | None, float | None]:
    if prices_json is None:
        return None, None
    parsed = cache.get(prices_json)
    if parsed is None:
        try:
            parsed = json.loads(prices_json)
        except ValueError:
            parsed = {}
        cache[prices_json] = parsed
    info = parsed.get(model) if isinstance(parsed, dict) else None
    if not isinstance(info, dict):
        return None, None
    return info.get("input_per_mtok"), info.get("output_per_mtok")


def series_query(
    conn: Connection,
    suite: str,
    *,
    model: str | None,
    metrics: list[str] | None,
    since: datetime | None,
    branch: str | None,
    limit_runs: int | None,
) -> list[SeriesPoint]:
    where = ["m.suite = :suite", "u.status <> 'running'"]
    params: dict[str, Any] = {"suite": suite}
    if model is not None:
        where.append("m.model = :model")
        params["model"] = model
    if metrics:
        names = [f":metric{i}" for i in range(len(metrics))]
        where.append(f"m.metric IN ({', '.join(names)})")
        params.update({f"metric{i}": name for i, name in enumerate(metrics)})
    if since is not None:
        where.append("u.started_ts >= :since")
        params["since"] = since.timestamp()
    if branch is not None:
        where.append("u.branch = :branch")
        params["branch"] = branch
    if limit_runs is not None:
        inner = ["m2.suite = :suite", "u2.status <> 'running'"]
        if model is not None:
            inner.append("m2.model = :model")
        if branch is not None:
            inner.append("u2.branch = :branch")
        where.append(
            "m.run_id IN (SELECT run_id FROM (SELECT DISTINCT m2.run_id AS run_id, u2.started_ts AS ts "
            "FROM run_metrics m2 JOIN runs u2 ON u2.id = m2.run_id WHERE "
            + " AND ".join(inner)
            + " ORDER BY u2.started_ts DESC LIMIT :limit_runs) newest)"
        )
        params["limit_runs"] = int(limit_runs)
    query = text(
        "SELECT m.run_id, u.started_ts, m.suite, m.model, m.endpoint_id, m.metric, m.value, m.n, "
        "m.served_model, m.system_fingerprint, m.suite_fingerprint, u.trigger, u.git_sha, "
        "p.prices FROM run_metrics m JOIN runs u ON u.id = m.run_id "
        "LEFT JOIN price_snapshots p ON p.id = u.price_snapshot_id WHERE "
        + " AND ".join(where)
        + " ORDER BY u.started_ts, m.model, m.metric"
    )
    cache: dict[str, Any] = {}
    points = []
    for row in conn.execute(query, params).all():
        price_in, price_out = _prices(row[13], row[3], cache)
        points.append(
            SeriesPoint(
                run_id=row[0],
                started_at=datetime.fromtimestamp(row[1] or 0.0, UTC),
                suite=row[2],
                model=row[3],
                endpoint_id=row[4],
                metric=row[5],
                value=row[6],
                n=int(row[7]),
                served_model=row[8],
                system_fingerprint=row[9],
                suite_fingerprint=row[10],
                price_in=price_in,
                price_out=price_out,
                trigger=row[11],
                git_sha=row[12],
            )
        )
    return points


def _check_case_metric(metric: str) -> None:
    if metric not in CASE_METRICS and not (metric.startswith("score:") and len(metric) > len("score:")):
        raise ValueError(
            f"unknown case metric {metric!r}: expected one of {', '.join(CASE_METRICS)}, score:<name>"
        )


_RESULT_COLUMNS = {
    "latency_ms": 7,  # COALESCE(r.e2e_latency_ms, r.latency_ms)
    "tokens_out": 8,
    "cost_usd": 9,
}


def case_outcomes_query(
    conn: Connection, run_id: str, suite: str, model: str, metric: str
) -> list[CaseOutcome]:
    return case_outcomes_many_query(conn, run_id, suite, [(model, metric)])[(model, metric)]


def case_outcomes_many_query(
    conn: Connection, run_id: str, suite: str, wanted: list[tuple[str, str]]
) -> dict[tuple[str, str], list[CaseOutcome]]:
    """Each (model, metric) of ``wanted``'s case outcomes in one run x suite, from at most two
    statements: one over the run's results, one over their scores (refusal, score:<name>)."""
    wanted = list(dict.fromkeys(wanted))  # a pair asked twice is read (and returned) once
    for _, metric in wanted:
        _check_case_metric(metric)
    out: dict[tuple[str, str], list[CaseOutcome]] = {key: [] for key in wanted}
    models = sorted({m for m, _ in wanted})
    params: dict[str, Any] = {"run": run_id, "suite": suite}
    params |= {f"m{i}": m for i, m in enumerate(models)}
    in_models = ", ".join(f":m{i}" for i in range(len(models)))
    where = f"r.run_id = :run AND r.suite = :suite AND r.model IN ({in_models}) AND {_NOT_LOAD}"
    plain = [key for key in wanted if key[1] in ("pass", *_RESULT_COLUMNS)]
    if plain:
        by_model: dict[str, list[tuple[str, str]]] = {}
        for key in plain:
            by_model.setdefault(key[0], []).append(key)
        rows = conn.execute(
            text(
                "SELECT r.model, r.case_id, r.case_hash, r.repeat, r.passed, r.error, r.error_kind, "
                "COALESCE(r.e2e_latency_ms, r.latency_ms), r.output_tokens, r.cost_usd "
                f"FROM results r WHERE {where} ORDER BY r.id"
            ),
            params,
        ).all()
        for row in rows:
            model_name, case, case_hash, repeat, passed, err, kind = row[:7]
            outcome = None if err is not None else bool(passed)
            # A reply whose scorer failed has no pass/fail, but its latency, tokens and cost are real.
            answered = err is None or kind == SCORER_ERROR_KIND
            for key in by_model.get(model_name, ()):
                if key[1] == "pass":
                    out[key].append(CaseOutcome(case, case_hash, repeat, outcome))
                else:
                    v = row[_RESULT_COLUMNS[key[1]]] if answered else None
                    out[key].append(
                        CaseOutcome(case, case_hash, repeat, outcome, None if v is None else float(v))
                    )
    scored = [key for key in wanted if key[1] == "refusal" or key[1].startswith("score:")]
    if scored:
        names = sorted({key[1].removeprefix("score:") for key in scored if key[1] != "refusal"})
        refusal = any(key[1] == "refusal" for key in scored)
        conds = []
        if refusal:
            conds.append("s.refused IS NOT NULL")
        if names:
            params |= {f"n{i}": n for i, n in enumerate(names)}
            conds.append(f"s.name IN ({', '.join(f':n{i}' for i in range(len(names)))})")
        rows = conn.execute(
            text(
                "SELECT r.id, r.model, r.case_id, r.case_hash, r.repeat, r.passed, r.error, "
                f"s.name, s.value, s.refused, {_b('s.passed')} FROM results r JOIN scores s "
                f"ON s.result_id = r.id AND NOT s.error AND ({' OR '.join(conds)}) "
                f"WHERE {where} ORDER BY r.id"
            ),
            params,
        ).all()
        # Per result: the refusal (any refusal scorer said so) and each scorer's mean and
        # pass (every one of its rows passed); results with no such score are left out.
        current: int | None = None
        head: tuple[Any, ...] = ()
        refused: float | None = None
        values: dict[str, list[float | None]] = {}
        passes: dict[str, float] = {}

        def flush() -> None:
            model_name, case, case_hash, repeat, err = head
            for key in scored:
                if key[0] != model_name:
                    continue
                if key[1] == "refusal":
                    if refused is not None:
                        out[key].append(CaseOutcome(case, case_hash, repeat, refused >= 0.5, refused))
                    continue
                name = key[1].removeprefix("score:")
                if name not in passes:
                    continue
                vals = [v for v in values[name] if v is not None]
                mean = sum(vals) / len(vals) if vals else None
                outcome = None if err is not None else bool(passes[name])
                out[key].append(CaseOutcome(case, case_hash, repeat, outcome, mean))

        for rid, model_name, case, case_hash, repeat, _passed, err, name, value, is_refused, s_passed in rows:
            if rid != current:
                if current is not None:
                    flush()
                current, head = rid, (model_name, case, case_hash, repeat, err)
                refused, values, passes = None, {}, {}
            if is_refused is not None:
                refused = max(refused or 0.0, 1.0 if is_refused else 0.0)
            if name in names:
                values.setdefault(name, []).append(None if value is None else float(value))
                passes[name] = min(passes.get(name, 1.0), float(s_passed))
        if current is not None:
            flush()
    return out
