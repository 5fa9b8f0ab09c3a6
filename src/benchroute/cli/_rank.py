"""``benchroute rank RUN``: models ranked by the project's weights and limits (or the ones given
on the command line), with the Pareto frontiers of accuracy against cost and tail latency."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, WideOption, _open, app, console, fail

_WEIGHT_NAMES = ("accuracy", "cost", "p95_latency", "retry_rate", "efficiency")


def _parse_weights(text: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in _WEIGHT_NAMES:
            raise BenchrouteError(
                f"--weights: {part!r} is not NAME=NUMBER",
                hint=f"names: {', '.join(_WEIGHT_NAMES)}; e.g. --weights accuracy=1,cost=0.5",
            )
        try:
            weights[name] = float(value)
        except ValueError:
            raise BenchrouteError(f"--weights: {value!r} for {name} is not a number") from None
        if weights[name] < 0:
            raise BenchrouteError(f"--weights: {name} must be >= 0")
    return weights


@app.command()
def rank(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            "-w",
            help="e.g. accuracy=1,cost=0.5,p95_latency=0.2 (default: ranking: in benchroute.yaml).",
        ),
    ] = None,
    max_cost_per_success: Annotated[
        float | None, typer.Option("--max-cost-per-success", min=0, help="Hard limit, USD.")
    ] = None,
    max_p95_ms: Annotated[
        float | None, typer.Option("--max-p95-ms", min=0, help="Hard limit on p95 latency.")
    ] = None,
    min_pass_rate: Annotated[
        float | None, typer.Option("--min-pass-rate", min=0, max=1, help="Hard limit, 0..1.")
    ] = None,
    suite: Annotated[str | None, typer.Option("--suite", help="Only this suite's results.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """Rank a run's models under weights and hard limits; mark the Pareto frontiers."""
    from ..analysis import RankingLimits, RankingWeights, leaderboard, rank_models
    from ..reports import ranking_json, ranking_table

    try:
        project, store = _open(config, db)
        record, results = store.run_with_results(run_id)
        if suite is not None:
            results = [r for r in results if r.suite == suite]
            if not results:
                raise BenchrouteError(
                    f"run {record.id} has no results for suite {suite!r}",
                    hint=f"suites in this run: {', '.join(record.suites)}",
                )
        spec = project.ranking
        chosen = spec.weights.model_dump()
        if weights is not None:
            chosen = {name: 0.0 for name in _WEIGHT_NAMES} | _parse_weights(weights)
        limits = RankingLimits(
            max_cost_per_success=max_cost_per_success
            if max_cost_per_success is not None
            else spec.limits.max_cost_per_success,
            max_p95_ms=max_p95_ms if max_p95_ms is not None else spec.limits.max_p95_ms,
            min_pass_rate=min_pass_rate if min_pass_rate is not None else spec.limits.min_pass_rate,
        )
        summaries = leaderboard(results, record.prices)
        if not summaries:
            raise BenchrouteError(
                f"run {record.id} has no scored cases to rank" + (" (only load tests)" if results else ""),
                hint=f"see its load figures with: benchroute runs show {record.id}"
                if results
                else "run a suite first: benchroute run SUITE",
            )
    except BenchrouteError as exc:
        fail(exc)
        return
    ranking_weights = RankingWeights(**chosen)
    ranked = rank_models(summaries, ranking_weights, limits)
    unpriced = [s.model for s in summaries if s.unpriced]
    if as_json:
        document = {"run_id": record.id, "ranking": ranking_json(ranked), "unpriced": unpriced}
        print(json.dumps(document, indent=2))
        return
    from ..reports import RANKING_DROP_ORDER, print_fitted

    print_fitted(console, ranking_table(ranked, ranking_weights, limits), RANKING_DROP_ORDER, wide=wide)
    if unpriced:
        console.print(
            f"unpriced: {', '.join(unpriced)} — cost unknown (not $0): ranked worst on cost, "
            "never on the cost frontier; set prices: in benchroute.yaml",
            highlight=False,
            soft_wrap=True,
        )
