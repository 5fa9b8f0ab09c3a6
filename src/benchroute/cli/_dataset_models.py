"""``benchroute dataset label`` and ``benchroute dataset probe``: the dataset commands that
may call models (a reference model, a judge, a probed model) or open an editor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, WideOption, _open, check_model_option, console, err_console, fail
from ._dataset import (
    JsonOption,
    NoteOption,
    RefArgument,
    ToOption,
    dataset_app,
    iter_cases,
    load_version,
    save_derived,
)


def _as_cases(bodies: list[dict[str, Any]]) -> list[Any]:
    from ..config import Case

    return [Case.model_validate(body) for body in bodies]


def _bodies(cases: list[Any]) -> list[dict[str, Any]]:
    return [case.model_dump(mode="json", exclude_defaults=True) for case in cases]


@dataset_app.command("label")
def dataset_label(
    ref: RefArgument,
    editor: Annotated[
        bool, typer.Option("--editor", help="Open each case in $EDITOR (the default source of labels).")
    ] = False,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="A CSV of id,expected rows (see --id-column, --expected-column)."),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="A model whose reply to each case becomes its expected answer."),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option("--judge", help="A model that keeps the logged reply as expected when acceptable."),
    ] = None,
    all_cases: Annotated[
        bool, typer.Option("--all", help="Also cases that already have an expected answer.")
    ] = False,
    id_column: Annotated[str, typer.Option("--id-column", help="CSV column of the case id.")] = "id",
    expected_column: Annotated[
        str, typer.Option("--expected-column", help="CSV column of the answer.")
    ] = "expected",
    json_cells: Annotated[
        bool, typer.Option("--json-cells", help="Read CSV answers as JSON values.")
    ] = False,
    criteria: Annotated[
        str | None, typer.Option("--criteria", help="--judge: what an acceptable reply is (a rubric).")
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, max=1.0, help="--judge: accept from this rubric score.")
    ] = 0.75,
    on_reject: Annotated[
        str,
        typer.Option(
            "--on-reject", help="--judge: drop a rejected case, or unlabel it (keep it, no answer)."
        ),
    ] = "drop",
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Model calls at a time.")] = 4,
    to: ToOption = None,
    note: NoteOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Attach expected answers: by hand in $EDITOR, from a CSV, from a reference model's
    reply, or by a judge that accepts the logged reply. The result is a new version; who
    labelled each case is kept in its metadata.label."""
    from .._eventloop import run as run_loop
    from ..suites import label_by_editor, label_by_judge, label_by_reference, label_from_csv

    sources = [s for s in (editor, csv_file is not None, reference is not None, judge is not None) if s]
    if len(sources) > 1:
        fail(BenchrouteError("give one of --editor, --csv, --reference or --judge"))
    if on_reject not in ("drop", "unlabel"):
        fail(BenchrouteError(f"--on-reject: {on_reject!r} is not drop or unlabel"))
    try:
        project, store = _open(config, db)
        version, bodies = load_version(store, ref)
        cases = _as_cases(bodies)
        if reference is not None or judge is not None:
            check_model_option([reference or judge or ""], project)
        if csv_file is not None:
            result = label_from_csv(
                cases, csv_file, id_column=id_column, expected_column=expected_column,
                expected_format="json" if json_cells else "text", only_missing=not all_cases,
            )  # fmt: skip
        elif reference is not None:
            result = run_loop(
                label_by_reference(
                    cases, reference, project.models, only_missing=not all_cases, concurrency=concurrency
                )
            )
        elif judge is not None:
            from ..suites import DEFAULT_ACCEPT_CRITERIA

            result = run_loop(
                label_by_judge(
                    cases, judge, project.models, criteria=criteria or DEFAULT_ACCEPT_CRITERIA,
                    threshold=threshold, on_reject="drop" if on_reject == "drop" else "unlabel",
                    relabel=all_cases, concurrency=concurrency,
                )
            )  # fmt: skip
        else:
            result = label_by_editor(cases, only_missing=not all_cases)
        summary = result.to_json()
        err_console.print(
            f"{summary['labelled']} labelled ({result.by}), {summary['skipped']} skipped, "
            f"{summary['rejected']} rejected, {len(result.errors)} errors"
            + (" · stopped early: what was done is saved" if result.stopped else ""),
            highlight=False,
        )
        for case_id, why in result.errors[:5]:
            err_console.print(f"  error {case_id}: {why}", highlight=False, markup=False)
        if not result.labelled and not result.rejected:
            err_console.print("nothing changed: no new version", highlight=False)
            return
        details = {k: v for k, v in summary.items() if k not in ("labelled_ids", "rejected_ids")}
        saved = save_derived(
            project, store, version, _bodies(result.cases), step="label", details=details, to=to, note=note
        )
    except BenchrouteError as exc:
        fail(exc)
    console.print(f"saved {saved.ref}: {saved.count:,} cases", highlight=False)


@dataset_app.command("probe")
def dataset_probe(
    ref: RefArgument,
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            "--corpus", help="Reference text: files (.txt, .md, .jsonl, .gz) or folders (repeatable)."
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Run the completion probe on this model (repeatable)."),
    ] = None,
    ngram: Annotated[int, typer.Option("--ngram", min=3, help="n-gram length of the overlap probe.")] = 13,
    min_fraction: Annotated[
        float,
        typer.Option("--min-fraction", min=0.0, max=0.99, help="Overlap share from which a case counts."),
    ] = 0.0,
    text_field: Annotated[
        str, typer.Option("--text-field", help="JSONL corpus: the field with the text.")
    ] = "text",
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Skip (and count) bad corpus lines.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the completion probe's controls.")] = 0,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Model calls at a time.")] = 4,
    worst: Annotated[int, typer.Option("--worst", min=0, help="How many of the worst cases to list.")] = 10,
    as_json: JsonOption = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the report as JSON.")
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """Contamination probes of a dataset: n-gram overlap with a reference corpus you supply
    (--corpus), and a completion probe per model (--model: is the first half of an item
    continued verbatim more often than a perturbed control?). Exit 1 when something looks
    contaminated."""
    from .._eventloop import run as run_loop
    from ..reports import print_fitted
    from ..suites import completion_probe, ngram_overlap

    if not corpus and not model:
        fail(BenchrouteError("give --corpus PATH (n-gram overlap) and/or --model M (completion probe)"))
    reports: dict[str, Any] = {}
    try:
        project, store = _open(config, db)
        check_model_option(model, project)
        version, bodies = load_version(store, ref)
        cases = _as_cases(bodies)
        overlap = None
        if corpus:
            overlap = ngram_overlap(
                cases, corpus, n=ngram, min_fraction=min_fraction, text_field=text_field, skip_bad=skip_bad,
                dataset=version.ref,
            )  # fmt: skip
            reports["ngram_overlap"] = overlap.to_json(worst=worst)
        probes = []
        for name in model or []:
            probe = run_loop(
                completion_probe(
                    cases, name, project.models, seed=seed, concurrency=concurrency, dataset=version.ref
                )
            )
            probes.append(probe)
            reports.setdefault("completion", []).append(probe.to_json(all_cases=False))
    except BenchrouteError as exc:
        fail(exc)
    if output is not None:
        from ._app import write_output

        write_output(output, json.dumps(reports, indent=2, default=str), "probe report")
    flagged = bool(overlap is not None and overlap.contaminated) or any(p.flagged for p in probes)
    if as_json:
        console.print_json(json.dumps(reports, default=str))
        raise typer.Exit(1 if flagged else 0)
    if overlap is not None:
        share = "unknown" if overlap.share is None else f"{overlap.share:.1%}"
        files = overlap.corpus.to_json().get("files", "?")
        console.print(
            f"n-gram overlap ({overlap.n}-grams) of {version.ref} with {files} "
            f"corpus file(s): {len(overlap.contaminated)} of {overlap.screened} screened cases contaminated "
            f"({share}); {overlap.too_short} too short to screen",
            highlight=False,
            markup=False,
        )
        rows = overlap.rows(worst)
        if rows:
            _print_rows(rows, wide)
    for probe in probes:
        _print_rows(probe.rows(), wide, drop=("verbatim", "interval"))
    _ = print_fitted  # the tables above are fitted by _print_rows
    raise typer.Exit(1 if flagged else 0)


def _print_rows(rows: list[dict[str, str]], wide: bool, drop: tuple[str, ...] = ()) -> None:
    from ..reports import print_fitted

    table = Table(show_edge=False, pad_edge=False)
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*row.values())
    print_fitted(console, table, drop, wide=wide, keep={next(iter(rows[0]))})


_SYNC_KINDS = ("typos", "case", "whitespace", "synonyms", "distractor", "reorder", "options", "numbers")


def _kinds(kind: list[str] | None, model: str | None) -> list[str]:
    """The kinds asked for (repeatable and comma-separated); the default is every kind that
    applies without a model, plus ``paraphrase`` when --model is given."""
    names = [part.strip() for item in kind or [] for part in item.split(",") if part.strip()]
    if names:
        return list(dict.fromkeys(names))
    return [*_SYNC_KINDS, *(["paraphrase"] if model else [])]


def _settings(pairs: list[str] | None) -> dict[str, dict[str, Any]]:
    """``--set typos.rate=0.15`` → ``{"typos": {"rate": 0.15}}`` (values read as JSON when
    they parse, else as text)."""
    settings: dict[str, dict[str, Any]] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        kind, dot, name = key.strip().partition(".")
        if not sep or not dot or not kind or not name:
            raise BenchrouteError(
                f"--set: {pair!r} is not KIND.SETTING=VALUE", hint="e.g. --set typos.rate=0.15"
            )
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        settings.setdefault(kind, {})[name] = value
    return settings


def _with_originals(cases: Any, perturbed: Any, originals: bool) -> Any:
    for case in cases:
        if originals:
            yield case
        yield from perturbed([case])


@dataset_app.command("perturb")
def dataset_perturb(
    ref: RefArgument,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            "--kinds",
            "-k",
            help="Perturbation kinds (repeatable or comma-separated): typos, case, whitespace, synonyms, "
            "distractor, reorder, paraphrase, options, numbers. Default: all but paraphrase "
            "(and paraphrase too with --model).",
        ),
    ] = None,
    variants: Annotated[int, typer.Option("--variants", min=1, help="Copies per case and kind.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every draw (same seed, same set).")] = 0,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="The model that paraphrases (kind paraphrase).")
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", help="A kind's setting, KIND.SETTING=VALUE (e.g. typos.rate=0.15)."),
    ] = None,
    no_originals: Annotated[
        bool,
        typer.Option(
            "--no-originals",
            help="Write only the perturbed copies (by default the originals are kept beside them, "
            "as the generalisation gap compares the two).",
        ),
    ] = False,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Model calls at a time.")] = 4,
    as_json: JsonOption = False,
    to: ToOption = None,
    note: NoteOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Perturbed copies of each case, to tell generalisation from memorisation: typos, casing,
    whitespace, synonyms, a distracting sentence, re-ordered instructions, a model's paraphrase,
    shuffled options (answer key remapped) and new numbers for word problems (answer
    recomputed). Each copy is named ORIGINAL~KIND and links to its original in metadata;
    the result is a new version. Run a suite on it and `benchroute gap` reports the
    generalisation gap per model and kind."""
    from .._eventloop import run as run_loop
    from ..suites import PERTURBATIONS, ModelParaphraser, PerturbReport, aperturb_cases, iter_perturbed

    try:
        kinds = _kinds(kind, model)
        settings = _settings(setting)
        for name in [*kinds, *settings]:
            if name not in PERTURBATIONS:
                from .._errors import did_you_mean

                raise BenchrouteError(
                    f"--kind: unknown perturbation {name!r}{did_you_mean(name, PERTURBATIONS)}",
                    hint=f"kinds: {', '.join(PERTURBATIONS)}",
                )
        needs_model = [name for name in kinds if PERTURBATIONS[name].needs_model]
        if needs_model and model is None:
            raise BenchrouteError(
                f"--kind {needs_model[0]} asks a model", hint="give --model NAME (a model of benchroute.yaml)"
            )
        project, store = _open(config, db)
        if model is not None:
            check_model_option([model], project)
        version, cases = iter_cases(store, ref)
        report = PerturbReport()
        if needs_model:
            assert model is not None
            bodies = list(cases)

            async def go() -> list[dict[str, Any]]:
                paraphraser = ModelParaphraser.from_spec(project.models[model])
                try:
                    made, got = await aperturb_cases(
                        bodies, kinds, seed=seed, variants=variants, settings=settings,
                        paraphraser=paraphraser, concurrency=concurrency,
                    )  # fmt: skip
                finally:
                    await paraphraser.aclose()
                for field in ("cases", "produced", "skipped", "rejected", "examples"):
                    setattr(report, field, getattr(got, field))
                return made

            made = run_loop(go())
            by_original: dict[str, list[dict[str, Any]]] = {}
            for case in made:
                by_original.setdefault(str(case["metadata"]["original_id"]), []).append(case)
            out: Any = [
                row
                for body in bodies
                for row in ([] if no_originals else [body]) + by_original.get(str(body.get("id")), [])
            ]
        else:

            def perturbed(batch: list[dict[str, Any]]) -> Any:
                return iter_perturbed(
                    batch, kinds, report=report, seed=seed, variants=variants, settings=settings
                )

            out = _with_originals(cases, perturbed, not no_originals)
        details = {
            "kinds": kinds, "variants": variants, "seed": seed, "settings": settings,
            "model": model, "originals": not no_originals,
        }  # fmt: skip
        saved = save_derived(
            project, store, version, out, step="perturb", details=details, to=to, note=note,
            details_after=lambda: {"report": report.as_dict()},
        )  # fmt: skip
    except BenchrouteError as exc:
        fail(exc)
    summary = report.as_dict()
    if as_json:
        console.print_json(json.dumps({"saved": saved.ref, "count": saved.count, "report": summary}))
        return
    _print_perturb(report, kinds)
    console.print(
        f"saved {saved.ref}: {saved.count:,} cases ({report.total_produced:,} perturbed copies of "
        f"{report.cases:,} cases)",
        highlight=False,
    )


def _print_perturb(report: Any, kinds: list[str]) -> None:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("kind", "made", "skipped", "rejected", "most common reason to skip"):
        table.add_column(column, justify="right" if column in ("made", "skipped", "rejected") else "left")
    for name in kinds:
        reasons = report.skipped.get(name)
        top = reasons.most_common(1)[0][0] if reasons else ""
        table.add_row(
            name,
            f"{report.produced.get(name, 0):,}",
            f"{sum(reasons.values()) if reasons else 0:,}",
            f"{report.rejected.get(name, 0):,}",
            top,
        )
    console.print(table)
