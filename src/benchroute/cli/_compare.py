"""``benchroute compare``: is one model (or run) better than another, or is the gap noise?
And ``benchroute cases``: flaky cases and the quarantine that keeps them out of decisions."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, WideOption, _open, app, console, err_console, fail

cases_app = typer.Typer(help="Cases: flaky ones, and the quarantine.", no_args_is_help=True)
quarantine_app = typer.Typer(
    help="Quarantined cases: left out of comparisons and gates.", no_args_is_help=True
)
cases_app.add_typer(quarantine_app, name="quarantine")
app.add_typer(cases_app, name="cases")


def _split(models: str) -> list[str]:
    return [m.strip() for m in models.split(",") if m.strip()]


def _models_of(results: list[Any]) -> list[str]:
    return sorted({r.model for r in results})


def _pick(run_id: str, results: list[Any], model: str) -> list[Any]:
    chosen = [r for r in results if r.model == model]
    if not chosen:
        present = ", ".join(_models_of(results)) or "no results"
        raise BenchrouteError(
            f"model {model!r} is not in run {run_id} (it has: {present})",
            hint=f"see: benchroute runs show {run_id}",
        )
    return chosen


def _sides(
    runs: list[tuple[str, list[Any]]], model: str | None, models: str | None
) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
    """The two (label, results) sides the arguments name."""
    if model and models:
        raise BenchrouteError("give either --model (same model in two runs) or --models a,b, not both")
    if len(runs) == 1:
        run_id, results = runs[0]
        names = _split(models or "")
        if model or len(names) != 2:
            raise BenchrouteError(
                f"name the two models of run {run_id} to compare: --models A,B "
                f"(it has: {', '.join(_models_of(results)) or 'no results'})",
                hint="or give two runs: benchroute compare RUN_A RUN_B",
            )
        return (names[0], _pick(run_id, results, names[0])), (names[1], _pick(run_id, results, names[1]))
    (id_a, results_a), (id_b, results_b) = runs
    if models:
        names = _split(models)
        if len(names) != 2:
            raise BenchrouteError(f"--models takes two models (A from {id_a}, B from {id_b}), got {models!r}")
        name_a, name_b = names
    elif model:
        name_a = name_b = model
    else:
        in_a, in_b = _models_of(results_a), _models_of(results_b)
        if len(in_a) != 1 or len(in_b) != 1:
            common = sorted(set(in_a) & set(in_b))
            raise BenchrouteError(
                f"runs {id_a} and {id_b} have several models; choose one with --model NAME "
                f"(in both: {', '.join(common) or 'none'})",
                hint="or --models A,B for model A of the first run against model B of the second",
            )
        name_a, name_b = in_a[0], in_b[0]
    return (
        (f"{name_a} @ {id_a}", _pick(id_a, results_a, name_a)),
        (f"{name_b} @ {id_b}", _pick(id_b, results_b, name_b)),
    )


def _side_gaps(sides: list[tuple[str, list[Any], dict[str, Any]]], alpha: float) -> list[tuple[str, Any]]:
    """The generalisation gap of each side, when both hold perturbed copies of their cases
    (empty otherwise: one side's gap alone compares nothing)."""
    from ..analysis import generalisation_gap

    gaps = [
        (label, generalisation_gap(results, config=config, alpha=alpha)) for label, results, config in sides
    ]
    return gaps if all(gap for _, gap in gaps) else []


@app.command()
def compare(
    run_a: Annotated[str, typer.Argument(help="Run id (or unique prefix): the baseline, A.")],
    run_b: Annotated[
        str | None, typer.Argument(help="Second run, B (omit to compare two models of RUN_A).")
    ] = None,
    models: Annotated[
        str | None,
        typer.Option("--models", help="A,B: two models of one run, or model A of RUN_A and B of RUN_B."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="The same model in both runs.")] = None,
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.0001, max=0.5, help="Significance level (CI is 1 - alpha).")
    ] = 0.05,
    resamples: Annotated[int, typer.Option("--resamples", min=100, help="Bootstrap resamples.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    include_quarantined: Annotated[
        bool, typer.Option("--include-quarantined", help="Keep quarantined cases in.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """Compare B against A case by case: McNemar for pass/fail, paired bootstrap intervals for
    score, cost and latency, and the cases that flipped. See docs/compare.md."""
    from ..analysis import compare_results, exclude_quarantined
    from ..reports import comparison_json, comparison_table, flipped_table

    try:
        _, store = _open(config, db)
        runs = []
        configs = []
        for run_id in [run_a] if run_b is None else [run_a, run_b]:
            record, results = store.run_with_results(run_id)
            runs.append((record.id, results))
            configs.append(record.config)
        (label_a, side_a), (label_b, side_b) = _sides(runs, model, models)
        quarantined = [] if include_quarantined else store.quarantined()
        left_out = 0
        if quarantined:
            before = len(side_a) + len(side_b)
            side_a = exclude_quarantined(side_a, quarantined)
            side_b = exclude_quarantined(side_b, quarantined)
            left_out = before - len(side_a) - len(side_b)
        comparison = compare_results(
            side_a, side_b, label_a=label_a, label_b=label_b, alpha=alpha, resamples=resamples, seed=seed
        )
        gaps = _side_gaps([(label_a, side_a, configs[0]), (label_b, side_b, configs[-1])], alpha)
    except BenchrouteError as exc:
        fail(exc)
        return
    if left_out:
        err_console.print(
            f"{left_out} result(s) of quarantined cases left out; --include-quarantined keeps them",
            highlight=False,
        )
    if comparison.only_a or comparison.only_b:
        err_console.print(
            f"unpaired cases left out: {comparison.only_a} only in A, {comparison.only_b} only in B",
            highlight=False,
        )
    for label, count in (
        (comparison.label_a, comparison.unpriced_a),
        (comparison.label_b, comparison.unpriced_b),
    ):
        if count:
            err_console.print(
                f"unpriced: {label} has {count} result(s) without a price — cost is not compared "
                "(set prices: in benchroute.yaml)",
                highlight=False,
                soft_wrap=True,
            )
    if as_json:
        data = comparison_json(comparison)
        if gaps:
            from ..reports import gap_json

            data["generalisation_gap"] = {
                side: gap_json(gap) for side, (_, gap) in zip("ab", gaps, strict=True)
            }
        console.print_json(json.dumps(data))
        return
    from ..reports import print_fitted

    table = comparison_table(comparison)
    # The sides' columns are headed by their model names and the verdict is the answer: those
    # stay whole; the p-value, then the interval, then the difference go first.
    headers = [str(c.header) for c in table.columns]
    print_fitted(
        console,
        table,
        (headers[5], headers[4], headers[3]),
        wide=wide,
        keep={"metric", "verdict", headers[1], headers[2]},
    )
    flipped = flipped_table(comparison)
    if flipped is not None:
        console.print(flipped)
    else:
        console.print("no case flipped between pass and fail")
    if gaps:
        from ..reports import gap_sides_table

        print_fitted(console, gap_sides_table(gaps), ("p (Holm)",), wide=wide, keep={"side", "kind", "flag"})


@cases_app.command("flaky")
def cases_flaky(
    run_ids: Annotated[
        list[str], typer.Argument(help="Run id(s); with several, outcomes across them count too.")
    ],
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    quarantine: Annotated[
        bool, typer.Option("--quarantine", help="Quarantine every flaky case listed.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the flaky cases as JSON.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Cases whose repeats disagree (some passed, some failed) for the same model."""
    from ..analysis import flaky_cases
    from ..reports import flaky_table

    try:
        _, store = _open(config, db)
        results: list[Any] = []
        ids = []
        for run_id in run_ids:
            record, chosen = store.run_with_results(run_id)
            ids.append(record.id)
            results.extend(_pick(record.id, chosen, model) if model else chosen)
        flaky = flaky_cases(results, across_runs=len(ids) > 1)
        added = 0
        if quarantine:
            for case in flaky:
                reason = (
                    f"flaky: {case.model} passed {case.passed}/{case.total} in run {', '.join(case.run_ids)}"
                )
                added += store.quarantine(case.suite, case.case_id, reason)
        quarantined = {(q.suite, q.case_id) for q in store.quarantined()}
    except BenchrouteError as exc:
        fail(exc)
        return
    if as_json:
        data = [
            {
                "suite": f.suite,
                "case_id": f.case_id,
                "model": f.model,
                "run_ids": list(f.run_ids),
                "passed": f.passed,
                "total": f.total,
                "errors": f.errors,
                "quarantined": (f.suite, f.case_id) in quarantined,
            }
            for f in flaky
        ]
        console.print_json(json.dumps(data))
        return
    if not flaky:
        console.print(
            f"no flaky cases in {', '.join(ids)} — flakiness shows with repeats "
            "(set 'repeats: N' in a suite) or across several runs"
        )
        return
    console.print(flaky_table(flaky, quarantined))
    if quarantine:
        cases = len({(f.suite, f.case_id) for f in flaky})
        console.print(f"quarantined {added} case(s) ({cases - added} already were)")


@quarantine_app.command("list")
def quarantine_list(config: ConfigOption = None, db: DbOption = None) -> None:
    """List quarantined cases."""
    from ..reports import quarantine_table

    try:
        _, store = _open(config, db)
        entries = store.quarantined()
    except BenchrouteError as exc:
        fail(exc)
        return
    if not entries:
        console.print("no quarantined cases — add one with: benchroute cases quarantine add SUITE CASE_ID")
        return
    console.print(quarantine_table(entries))


@quarantine_app.command("add")
def quarantine_add(
    suite: Annotated[str, typer.Argument(help="Suite name.")],
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (shown in the list).")] = "by hand",
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Quarantine a case: comparisons and gates leave it out."""
    try:
        _, store = _open(config, db)
        added = store.quarantine(suite, case_id, reason)
        known = store.has_case(suite, case_id)
    except BenchrouteError as exc:
        fail(exc)
        return
    if not known:  # kept (a case may be quarantined before it first runs), but say so: a typo?
        err_console.print(
            f"[yellow]note:[/] no stored result has suite {suite!r}, case {case_id!r}; check the "
            "spelling (benchroute runs show RUN lists the cases)",
            highlight=False,
        )
    console.print(
        f"quarantined {suite}/{case_id}" if added else f"{suite}/{case_id} was already quarantined",
        highlight=False,
    )


@quarantine_app.command("remove")
def quarantine_remove(
    suite: Annotated[str, typer.Argument(help="Suite name.")],
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Release a case from quarantine."""
    try:
        _, store = _open(config, db)
        if not store.unquarantine(suite, case_id):
            raise BenchrouteError(
                f"{suite}/{case_id} is not quarantined", hint="see: benchroute cases quarantine list"
            )
    except BenchrouteError as exc:
        fail(exc)
        return
    console.print(f"released {suite}/{case_id} from quarantine", highlight=False)
