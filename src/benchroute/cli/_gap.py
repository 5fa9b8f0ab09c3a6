"""``benchroute gap RUN``: the generalisation gap of a stored run — per model and perturbation
kind, score on the originals minus score on their perturbed copies, with a paired interval, a
Holm-adjusted p-value and the memorisation suspects flagged. ``run`` and ``report`` print the
same table whenever a run has perturbed cases; this command adds the options (level, metric,
correction, JSON) and an exit code for CI (``--fail-on-suspect``).
"""

from __future__ import annotations

import enum
import json
from typing import Annotated

import typer

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, WideOption, _open, app, console, fail


class GapMetricOption(enum.StrEnum):
    score = "score"
    passed = "passed"


class CorrectionOption(enum.StrEnum):
    holm = "holm"
    none = "none"


@app.command()
def gap(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Only this model (repeatable).")
    ] = None,
    alpha: Annotated[
        float,
        typer.Option("--alpha", min=0.0001, max=0.5, help="Significance level (interval is 1 - alpha)."),
    ] = 0.05,
    metric: Annotated[
        GapMetricOption, typer.Option("--metric", help="score (the result's score) or passed (pass/fail).")
    ] = GapMetricOption.score,
    correction: Annotated[
        CorrectionOption,
        typer.Option("--correction", help="holm (over every model x kind of the run) or none."),
    ] = CorrectionOption.holm,
    fail_on_suspect: Annotated[
        bool, typer.Option("--fail-on-suspect", help="Exit 1 when a model is a memorisation suspect.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the gap as JSON.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """Score on originals minus score on their perturbed copies, per model and kind; flags
    memorisation suspects. Exit codes: 0 done, 1 a suspect with --fail-on-suspect, 2 bad
    usage (no perturbed case in the run, unknown model)."""
    from ..analysis import generalisation_gap
    from ..reports import GAP_DROP_ORDER, gap_json, gap_table, print_fitted

    try:
        _, store = _open(config, db)
        record, results = store.run_with_results(run_id)
        if model:
            present = sorted({r.model for r in results})
            unknown = [name for name in model if name not in present]
            if unknown:
                has = ", ".join(present) or "none"
                raise BenchrouteError(
                    f"model {unknown[0]!r} is not in run {record.id} (it has: {has})",
                    hint=f"see: benchroute runs show {record.id}",
                )
            results = [r for r in results if r.model in model]
        report = generalisation_gap(
            results,
            config=record.config,
            alpha=alpha,
            metric=metric.value,
            correction=correction.value,
        )
        if not report:
            raise BenchrouteError(
                f"run {record.id} has no perturbed case (ids like ORIGINAL~KIND next to their originals)",
                hint="add copies with: benchroute dataset perturb, then run originals and copies together",
            )
    except BenchrouteError as exc:
        fail(exc)
        return
    if as_json:
        console.print_json(json.dumps({"run": record.id, **gap_json(report)}))
    else:
        table = gap_table(report, title=f"Generalisation gap · run {record.id}")
        print_fitted(console, table, GAP_DROP_ORDER, wide=wide, keep={"kind", "gap", "flag"})
    if fail_on_suspect and report.suspects:
        raise typer.Exit(1)
