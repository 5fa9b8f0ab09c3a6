"""Stored runs with known figures, for the routing tests: each model's pass count, cost per
result and latencies are chosen, so every policy figure can be computed by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from benchroute.config import ModelSpec
from benchroute.store import Result, RunRecord, Store


@dataclass(frozen=True)
class Figures:
    """``n`` results: the first ``passes`` pass; result i (1-based) waits ``latency_step * i``
    ms; each costs ``cost`` USD (None: unpriced); the last ``errors`` are provider errors."""

    passes: int
    n: int = 20
    cost: float | None = 0.001
    latency_step: float = 10.0
    errors: int = 0
    output_tokens: int = 50


def model_entry(base_url: str, model: str, **extra: Any) -> dict[str, Any]:
    return {"provider": "openai", "model": model, "base_url": base_url, **extra}


def seed_run(
    store: Store,
    run_id: str,
    suite: str,
    models: dict[str, tuple[dict[str, Any], Figures]],
    *,
    age_days: float = 1.0,
    status: str = "completed",
    endpoint_ids: dict[str, str] | None = None,
) -> None:
    """One finished run of ``suite`` with ``models`` (name -> (benchroute.yaml entry, figures))."""
    started = datetime.now(UTC) - timedelta(days=age_days)
    config = {"models": {name: entry for name, (entry, _f) in models.items()}}
    store.create_run(
        RunRecord(
            id=run_id,
            suites=[suite],
            config=config,
            package_version="0",
            prices={},
            started_at=started.isoformat(),
        )
    )
    results = []
    for name, (entry, figures) in models.items():
        ident = (endpoint_ids or {}).get(name) or ModelSpec.model_validate(entry).endpoint_id
        for i in range(1, figures.n + 1):
            error = i > figures.n - figures.errors
            passed = i <= figures.passes and not error
            results.append(
                Result(
                    run_id=run_id,
                    suite=suite,
                    case_id=f"c{i:03d}",
                    model=name,
                    repeat=0,
                    messages=[{"role": "user", "content": f"case {i}"}],
                    output=None if error else "answer",
                    scores=[]
                    if error
                    else [
                        {"scorer": "exact", "value": 1.0 if passed else 0.0, "passed": passed, "reason": ""}
                    ],
                    score=None if error else (1.0 if passed else 0.0),
                    passed=passed,
                    input_tokens=100,
                    output_tokens=0 if error else figures.output_tokens,
                    cost_usd=figures.cost,
                    latency_ms=figures.latency_step * i,
                    e2e_latency_ms=figures.latency_step * i,
                    error="upstream 500" if error else None,
                    error_kind="server_error" if error else None,
                    created_at=(started + timedelta(seconds=i)).isoformat(),
                    endpoint_id=ident,
                    case_hash=f"h{i}",
                )
            )
    store.add_results(results)
    store.set_run_status(run_id, status, finished_at=(started + timedelta(minutes=5)).isoformat())
