"""Terminal rendering: the leaderboard, run lists, a run's results."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from ..analysis import LatencyStats, ModelSummary
from ..store import SCORER_ERROR_KIND, Result, RunRecord
from ._common import cost_cell, millis, money


def leaderboard_table(summaries: list[ModelSummary], title: str = "Leaderboard") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("model")
    table.add_column("pass rate", justify="right")
    table.add_column("mean score", justify="right")
    table.add_column("cases", justify="right")
    table.add_column("total cost", justify="right")
    table.add_column("cost / success", justify="right")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    table.add_column("p99", justify="right")
    table.add_column("retry rate", justify="right")
    table.add_column("errors", justify="right")
    with_efficiency = any(s.efficiency is not None for s in summaries)
    if with_efficiency:
        table.add_column("efficiency", justify="right")
        table.add_column("wasted $/1k req", justify="right")
    for rank, s in enumerate(summaries, start=1):
        extra = (
            [
                "—" if s.efficiency is None else f"{s.efficiency:.2f}",
                money(s.wasted_usd_per_1k),
            ]
            if with_efficiency
            else []
        )
        table.add_row(
            str(rank),
            s.model,
            f"{s.pass_rate:.1%}",
            f"{s.mean_score:.3f}",
            str(s.cases),
            cost_cell(s.total_cost_usd, s.unpriced),
            cost_cell(s.cost_per_success_usd, s.unpriced),
            millis(s.p50_latency_ms),
            millis(s.p95_latency_ms),
            millis(s.p99_latency_ms),
            f"{s.retry_rate:.1%}",
            str(s.errors) if s.errors else "0",
            *extra,
        )
    notes = leaderboard_notes(summaries)
    if notes:
        table.caption = "\n".join(notes)
        table.caption_justify = "left"
    return table


def leaderboard_notes(summaries: list[ModelSummary]) -> list[str]:
    """The leaderboard's footnotes: unpriced models, cached results, what latency means."""
    notes = []
    unpriced = [s.model for s in summaries if s.unpriced]
    if unpriced:
        notes.append(f"unpriced (cost unknown, not $0; set prices:): {', '.join(unpriced)}")
    cached = sum(s.cached for s in summaries)
    if cached:
        notes.append(f"{cached} result(s) from the cache, counted at their original cost and latency")
    retried = [
        s
        for s in summaries
        if s.p50_last_attempt_ms is not None and s.p50_last_attempt_ms != s.p50_latency_ms
    ]
    if retried:
        last = ", ".join(f"{s.model} {millis(s.p50_last_attempt_ms)}" for s in retried)
        notes.append(f"latency: end to end, retries and waits included; last-attempt p50: {last}")
    return notes


def latency_table(stats: list[LatencyStats], group_name: str = "tier") -> Table | None:
    """Latency distribution per group and model: percentiles, spread (std, CV) and TTFT.
    None when nothing was measured."""
    if not stats:
        return None
    table = Table(title=f"Latency by {group_name}", title_justify="left")
    for column in (group_name, "model"):
        table.add_column(column)
    for column in ("n", "p50", "p95", "p99", "mean", "std", "CV", "TTFT p50", "TTFT p95"):
        table.add_column(column, justify="right")
    for s in stats:
        table.add_row(
            s.group,
            s.model,
            str(s.samples),
            millis(s.p50_ms),
            millis(s.p95_ms),
            millis(s.p99_ms),
            millis(s.mean_ms),
            millis(s.std_ms),
            "—" if s.cv is None else f"{s.cv:.2f}",
            millis(s.p50_ttft_ms),
            millis(s.p95_ttft_ms),
        )
    return table


# Scorers shown first in the per-model metrics table, when a run used them.
_FEATURED = ("factuality", "citation_precision", "citation_recall", "answer_relevance", "token_efficiency")


def metrics_table(summaries: list[ModelSummary]) -> Table | None:
    """Mean value of each scorer per model (None when only one scorer was used)."""
    names = sorted({n for s in summaries for n in s.metrics})
    if len(names) < 2:
        return None
    names = [n for n in _FEATURED if n in names] + [n for n in names if n not in _FEATURED]
    table = Table(title="Mean scorer values by model", title_justify="left")
    table.add_column("model")
    for name in names:
        table.add_column(name, justify="right")
    for s in summaries:
        table.add_row(s.model, *("—" if n not in s.metrics else f"{s.metrics[n]:.2f}" for n in names))
    return table


def suite_table(results: list[Result], tiers: dict[str, str] | None = None) -> Table:
    """Pass rate per suite (rows, with their tier) and model (columns)."""
    counts: dict[tuple[str, str], list[int]] = {}
    for r in results:
        cell = counts.setdefault((r.suite, r.model), [0, 0])
        cell[0] += 1 if r.passed else 0
        cell[1] += int(r.error_kind != SCORER_ERROR_KIND)  # a scorer error is not scored
    tiers = tiers or {}
    suites = sorted({s for s, _ in counts}, key=lambda name: (tiers.get(name, ""), name))
    models = sorted({m for _, m in counts})
    table = Table(title="Pass rate by suite", title_justify="left")
    table.add_column("tier")
    table.add_column("suite")
    for model in models:
        table.add_column(model, justify="right")
    for suite in suites:
        row = [tiers.get(suite, "—"), suite]
        for model in models:
            passed, total = counts.get((suite, model), [0, 0])
            row.append(f"{passed / total:.0%} ({passed}/{total})" if total else "—")
        table.add_row(*row)
    return table


def tier_table(results: list[Result], tiers: dict[str, str]) -> Table | None:
    """Pass rate per tier (rows) and model (columns); None when every suite has one tier."""
    if len({tiers.get(r.suite, "") for r in results}) < 2:
        return None
    counts: dict[tuple[str, str], list[int]] = {}
    for r in results:
        cell = counts.setdefault((tiers.get(r.suite, "—"), r.model), [0, 0])
        cell[0] += 1 if r.passed else 0
        cell[1] += int(r.error_kind != SCORER_ERROR_KIND)  # a scorer error is not scored
    models = sorted({m for _, m in counts})
    table = Table(title="Pass rate by tier", title_justify="left")
    table.add_column("tier")
    for model in models:
        table.add_column(model, justify="right")
    for tier in sorted({t for t, _ in counts}):
        row = [tier]
        for model in models:
            passed, total = counts.get((tier, model), [0, 0])
            row.append(f"{passed / total:.0%} ({passed}/{total})" if total else "—")
        table.add_row(*row)
    return table


def pass_at_k_table(
    estimates: dict[str, dict[int, float]], security: dict[str, float] | None = None
) -> Table:
    """pass@k per model (functional correctness), with the security pass rate beside it."""
    ks = sorted({k for per_model in estimates.values() for k in per_model})
    table = Table(title="pass@k by model", title_justify="left")
    table.add_column("model")
    for k in ks:
        table.add_column(f"pass@{k}", justify="right")
    if security:
        table.add_column("security pass rate", justify="right")
    for model, per_model in estimates.items():
        row = [model, *(f"{per_model[k]:.1%}" if k in per_model else "—" for k in ks)]
        if security:
            row.append(f"{security[model]:.1%}" if model in security else "—")
        table.add_row(*row)
    return table


def summary_json(run_id: str, status: str, summaries: list[ModelSummary]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "status": status,
        "models": [
            {
                "model": s.model,
                "cases": s.cases,
                "passed": s.passed,
                "scored": s.scored_cases,  # pass rate's denominator: scorer errors left out
                "pass_rate": s.pass_rate,
                "mean_score": s.mean_score,
                "errors": s.errors,
                "total_cost_usd": s.total_cost_usd,
                "cost_per_success_usd": s.cost_per_success_usd,
                "unpriced": s.unpriced,
                "cached": s.cached,
                "scorer_errors": s.scorer_errors,
                "p50_last_attempt_ms": s.p50_last_attempt_ms,
                "p50_latency_ms": s.p50_latency_ms,
                "p95_latency_ms": s.p95_latency_ms,
                "retry_rate": s.retry_rate,
                "retries": s.retries,
                "input_tokens": s.input_tokens,
                "output_tokens": s.output_tokens,
                "metrics": s.metrics,
                "efficiency": s.efficiency,
                "wasted_usd_per_1k": s.wasted_usd_per_1k,
            }
            for s in summaries
        ],
    }


def runs_table(rows: list[tuple[RunRecord, int]]) -> Table:
    table = Table(title="Runs", title_justify="left")
    # Lists of names wrap between names, never inside one: each is at least its longest name wide.
    longest = {
        "suites": max((len(s) for run, _ in rows for s in run.suites), default=0),
        "models": max(
            (len(m) for run, _ in rows for m in run.config.get("run_models") or run.config.get("models", {})),
            default=0,
        ),
    }
    for column in ("run", "started", "suites", "models", "results", "status"):
        table.add_column(column, min_width=longest.get(column) or None)
    for run, count in rows:
        table.add_row(
            run.id,
            run.started_at[:19].replace("T", " "),
            ", ".join(run.suites),
            ", ".join(run.config.get("run_models") or run.config.get("models", {})),
            str(count),
            run.status if not run.error else f"{run.status}: {run.error[:60]}",
        )
    return table


def results_table(results: list[Result], *, failures_only: bool = False, limit: int = 50) -> Table:
    table = Table(title="Results" + (" (failures)" if failures_only else ""), title_justify="left")
    for column in ("suite", "case", "model", "rep", "pass", "score", "output / error", "why"):
        table.add_column(column, overflow="fold")
    shown = 0
    for r in results:
        if failures_only and r.passed:
            continue
        if shown >= limit:
            break
        shown += 1
        why = "; ".join(f"{s['scorer']}: {s['reason']}" for s in r.scores if not s.get("passed"))
        text = r.error if r.error else (r.output or "")
        text = " ".join(text.split())
        table.add_row(
            r.suite,
            r.case_id,
            r.model,
            str(r.repeat),
            "✓" if r.passed else "✗",
            f"{r.score:.2f}" if r.score is not None else "—",
            text[:80] + ("…" if len(text) > 80 else ""),
            why[:80],
        )
    return table


def print_run_header(console: Console, run: RunRecord) -> None:
    console.print(
        f"[bold]run {run.id}[/] · {run.status} · started {run.started_at[:19]} · "
        f"benchroute {run.package_version}"
    )
    if run.error:
        console.print(f"[red]error:[/] {run.error}")
    prices = ", ".join(
        f"{name}: {'unpriced (cost unknown)' if info.get('source') == 'unknown' else info.get('source')}"
        for name, info in run.prices.items()
    )
    if prices:
        console.print(f"prices: {prices}")
