"""``benchroute dataset``: private holdout sets from production logs (see docs/datasets.md).

import → (scrub, always, before anything is written) → dedupe → sample → label → perturb; list,
show, diff and export read what is stored. Every command that makes cases writes a new version
of a dataset in the store; versions are never changed.

Exit codes: 0 done, 2 bad usage, bad input (a bad row without --skip-bad, an unknown dataset or
version) or a leak check that refused to save (one line each, no traceback).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, WideOption, _open, app, console, err_console, fail, write_output

dataset_app = typer.Typer(
    help="Private holdout sets from production logs: import, scrub, dedupe, sample, label, "
    "perturb, probe, list, show, diff, export.",
    no_args_is_help=True,
)
app.add_typer(dataset_app, name="dataset")

RefArgument = Annotated[
    str, typer.Argument(help="A stored dataset: NAME (the newest version) or NAME@VERSION.")
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="Write the result as a version of this dataset (default: the same name)."),
]
NoteOption = Annotated[str | None, typer.Option("--note", help="Stored with the new version.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _when(ts: float | None) -> str:
    return "?" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts))


def _print(text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def _versions_table(versions: list[Any]) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for column, justify in (
        ("dataset", "left"),
        ("ver", "right"),
        ("kind", "left"),
        ("cases", "right"),
        ("created (UTC)", "left"),
        ("from", "left"),
        ("scrubbed", "left"),
        ("note", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for v in versions:
        table.add_row(
            v.name,
            str(v.version),
            v.kind,
            f"{v.count:,}",
            _when(v.created_ts),
            _origin(v),
            _scrubbed(v),
            v.note or "",
        )
    return table


def _origin(version: Any) -> str:
    provenance = version.provenance
    if version.parent_version is not None:
        return f"{provenance.get('step', 'v')} of v{version.parent_version}"
    source = provenance.get("source")
    if isinstance(source, dict):
        return str(source.get("kind", "?"))
    return str(source or provenance.get("step") or "?")


def _scrubbed(version: Any) -> str:
    scrub = version.scrub
    if scrub is None:
        return "unknown"
    if scrub.get("skipped"):
        return "NO (--no-scrub)"
    found = sum(int(n) for n in (scrub.get("entities") or {}).values())
    return f"yes ({found:,} found)"


@dataset_app.command("list")
def dataset_list(
    name: Annotated[str | None, typer.Argument(help="Only the versions of this dataset.")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """The stored datasets and their versions."""
    from ..reports import print_fitted
    from ..store import DatasetStore

    try:
        _, store = _open(config, db)
        versions = DatasetStore(store).versions(name)
    except BenchrouteError as exc:
        fail(exc)
    if as_json:
        console.print_json(json.dumps([v.to_json() for v in versions], default=str))
        return
    if not versions:
        _print(
            f"no versions of {name!r} are stored"
            if name
            else "no datasets are stored; import one with `benchroute dataset import FILE --name NAME`"
        )
        return
    print_fitted(
        console, _versions_table(versions), ("note", "from", "created (UTC)"), wide=wide, keep={"dataset"}
    )


def _case_prompt(case: dict[str, Any]) -> str:
    text = case.get("input")
    if text is None:
        for message in reversed(case.get("messages") or []):
            if message.get("role") == "user":
                content = message.get("content")
                text = (
                    content
                    if isinstance(content, str)
                    else " ".join(str(p.get("text", "")) for p in content or [] if isinstance(p, dict))
                )
                break
    return " ".join(str(text or "").split())


@dataset_app.command("show")
def dataset_show(
    ref: RefArgument,
    cases: Annotated[int, typer.Option("--cases", "-n", min=0, help="How many cases to list.")] = 10,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """One version: its provenance, scrub report and first cases."""
    from ..reports import print_fitted
    from ..store import DatasetStore
    from ..suites import resolve

    try:
        _, store = _open(config, db)
        datasets = DatasetStore(store)
        version = resolve(datasets, ref)
        first = [
            case for _, case in zip(range(cases), datasets.cases(version.name, version.version), strict=False)
        ]
    except BenchrouteError as exc:
        fail(exc)
    if as_json:
        console.print_json(json.dumps({**version.to_json(), "cases": first}, default=str))
        return
    _print(
        f"{version.ref} · {version.kind} · {version.count:,} cases · created "
        f"{_when(version.created_ts)} UTC · digest {version.digest[:12]}"
    )
    for key, value in sorted(version.provenance.items()):
        _print(f"  {key}: {json.dumps(value, default=str) if not isinstance(value, str) else value}")
    if version.scrub is not None:
        _print(f"  scrub: {json.dumps(version.scrub, default=str)}")
    if version.note:
        _print(f"  note: {version.note}")
    if not first:
        return
    table = Table(show_edge=False, pad_edge=False)
    for column, width in (("id", 24), ("prompt", 44), ("expected", 20), ("class", 12), ("perturbation", 12)):
        table.add_column(column, overflow="ellipsis", no_wrap=not wide, max_width=None if wide else width)
    for case in first:
        meta = case.get("metadata") or {}
        expected = case.get("expected")
        table.add_row(
            str(case.get("id")),
            _case_prompt(case)[:200],
            "—" if expected is None else " ".join(str(expected).split())[:80],
            str(meta.get("task_class") or ""),
            str(meta.get("perturbation") or ""),
        )
    print_fitted(console, table, ("perturbation", "class"), wide=wide, keep={"id", "prompt"})


@dataset_app.command("diff")
def dataset_diff(
    a: Annotated[str, typer.Argument(help="NAME@VERSION (or NAME for the newest).")],
    b: Annotated[str, typer.Argument(help="NAME@VERSION (or NAME for the newest).")],
    as_json: JsonOption = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Cases added, removed and changed between two versions (by case id)."""
    from ..store import DatasetStore, case_line
    from ..suites import resolve

    try:
        _, store = _open(config, db)
        datasets = DatasetStore(store)
        left, right = resolve(datasets, a), resolve(datasets, b)
        before = {c["id"]: case_line(c) for c in datasets.cases(left.name, left.version)}
        after = {c["id"]: case_line(c) for c in datasets.cases(right.name, right.version)}
    except BenchrouteError as exc:
        fail(exc)
    added = [i for i in after if i not in before]
    removed = [i for i in before if i not in after]
    changed = [i for i in after if i in before and after[i] != before[i]]
    if as_json:
        console.print_json(
            json.dumps(
                {"from": left.ref, "to": right.ref, "added": added, "removed": removed, "changed": changed}
            )
        )
        return
    _print(
        f"{left.ref} ({left.count:,}) → {right.ref} ({right.count:,}): {len(added):,} added, "
        f"{len(removed):,} removed, {len(changed):,} changed, "
        f"{len(after) - len(added) - len(changed):,} the same"
    )
    for label, ids in (("+", added), ("-", removed), ("~", changed)):
        for case_id in ids[:20]:
            _print(f"  {label} {case_id}")
        if len(ids) > 20:
            _print(f"  {label} … {len(ids) - 20:,} more (--json lists every id)")


@dataset_app.command("export")
def dataset_export(
    ref: RefArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help="A JSONL file (one case per line).")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Write a version's cases as JSONL: a suite can read it with `dataset: {path: ...}`."""
    from ..store import DatasetStore, case_line
    from ..suites import resolve

    try:
        _, store = _open(config, db)
        datasets = DatasetStore(store)
        version = resolve(datasets, ref)
        lines = (case_line(c) + "\n" for c in datasets.cases(version.name, version.version))
        write_output(output, "".join(lines), "dataset file")
    except BenchrouteError as exc:
        fail(exc)
    err_console.print(f"wrote {version.count:,} cases of {version.ref} to {output}", highlight=False)


def iter_cases(store: Any, ref: str) -> tuple[Any, Iterator[dict[str, Any]]]:
    """The version a reference names and a stream of its cases."""
    from ..store import DatasetStore
    from ..suites import resolve

    datasets = DatasetStore(store)
    version = resolve(datasets, ref)
    return version, datasets.cases(version.name, version.version)


def load_version(store: Any, ref: str) -> tuple[Any, list[dict[str, Any]]]:
    """The version a reference names and its cases (in memory: golden sets are small; the
    commands that work on whole pools stream with :func:`iter_cases`)."""
    version, cases = iter_cases(store, ref)
    return version, list(cases)


def save_derived(
    project: Any,
    store: Any,
    parent: Any,
    cases: Any,
    *,
    step: str,
    details: dict[str, Any],
    to: str | None,
    note: str | None,
    kind: str | None = None,
    details_after: Any = None,
) -> Any:
    """Write the cases a step made from ``parent`` as a new version (of ``to``, default the
    parent's name); ``details_after`` (a callable) adds to the provenance figures known only
    once every case has been made. A parent that was scrubbed has its derived cases scrubbed and
    leak-checked again (a reference model's reply, a paraphrase or a label may bring new
    personal data); a parent imported with --no-scrub passes its reason on."""
    from ..store import DatasetStore
    from ..suites import ScrubPipeline

    name = to or parent.name
    provenance = {"step": step, "from": parent.ref, "from_digest": parent.digest, **details}
    parent_version = parent.version if name == parent.name else None
    skipped = (parent.scrub or {}).get("skipped")
    datasets = DatasetStore(store)
    if skipped:
        return datasets.add_version(
            name, cases, kind=kind or parent.kind, provenance=provenance, scrub={"skipped": skipped},
            parent_version=parent_version, note=note, provenance_after=details_after,
        )  # fmt: skip
    pipeline = ScrubPipeline(project.datasets.scrub)
    return datasets.add_version(
        name, pipeline.stream(cases), kind=kind or parent.kind, provenance=provenance,
        parent_version=parent_version, note=note, scrub_after=pipeline.report,
        provenance_after=details_after,
    )  # fmt: skip


class _Progress:
    """A line on stderr every few seconds while a long stream is read: rows, and MB when the
    source is a file (a terminal and a CI log show the same lines)."""

    def __init__(self, what: str, size: int | None = None, every_s: float = 5.0) -> None:
        self.what, self.size, self.every_s = what, size, every_s
        self.start = self.last = time.monotonic()
        self.count = 0

    def wrap(self, rows: Any, position: Any = None) -> Iterator[dict[str, Any]]:
        for row in rows:
            self.count += 1
            now = time.monotonic()
            if now - self.last >= self.every_s:
                self.last = now
                rate = self.count / max(now - self.start, 1e-9)
                done = ""
                if self.size and position is not None:
                    read = position()
                    if read:
                        done = f" · {read / 1e6:,.0f} of {self.size / 1e6:,.0f} MB ({read / self.size:.0%})"
                err_console.print(
                    f"  {self.what}: {self.count:,} cases{done} · {rate:,.0f}/s",
                    highlight=False,
                    markup=False,
                )
            yield row


def _date(text: str | None, option: str) -> Any:
    from datetime import UTC, datetime

    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BenchrouteError(
            f"{option}: {text!r} is not a date", hint="write YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _columns(pairs: list[str] | None) -> dict[str, str]:
    columns: dict[str, str] = {}
    for pair in pairs or []:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise BenchrouteError(
                f"--column: {pair!r} is not FIELD=COLUMN", hint="e.g. --column input=question"
            )
        name = field.strip()
        columns[_FIELD_ALIASES.get(name, name)] = column.strip()
    return columns


# What a table calls the case's class (as the sampler's ``--by class`` does).
_FIELD_ALIASES = {"class": "task_class"}


def _print_import(report: dict[str, Any]) -> None:
    line = (
        f"read {report.get('rows_read', 0):,} rows: {report.get('imported', 0):,} imported, "
        f"{report.get('bad', 0):,} bad, {report.get('exact_duplicates', 0):,} exact duplicates dropped"
    )
    skipped = report.get("skipped") or {}
    if skipped:
        line += ", skipped: " + ", ".join(f"{n:,} {why}" for why, n in skipped.items())
    err_console.print(line, highlight=False, markup=False, soft_wrap=True)
    for bad in (report.get("bad_rows") or [])[:10]:
        where = bad.get("location") or bad.get("row")
        err_console.print(f"  bad row {where}: {bad.get('reason')}", highlight=False, markup=False)
    for note in report.get("notes") or []:
        err_console.print(f"  note: {note}", highlight=False, markup=False)


def _print_scrub(scrub: dict[str, Any] | None) -> None:
    if not scrub:
        return
    if scrub.get("skipped"):
        err_console.print(f"not scrubbed (--no-scrub): {scrub['skipped']}", highlight=False, markup=False)
        return
    entities = scrub.get("entities") or {}
    found = ", ".join(f"{tag} {n:,}" for tag, n in entities.items()) or "no typed entities"
    check = scrub.get("leak_check") or {}
    err_console.print(
        f"scrubbed {scrub.get('cases_changed', 0):,} of {scrub.get('cases_seen', 0):,} cases: {found}; "
        f"names {scrub.get('names', 0):,} ({scrub.get('names_recognizer') or 'off'}); "
        f"leak check of {check.get('cases', 0):,} written cases: no leaks",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@dataset_app.command("import")
def dataset_import(
    source: Annotated[
        str,
        typer.Argument(
            help="A file (chat JSONL, CSV/TSV, case JSONL, LangSmith/Langfuse export) or `gateway`."
        ),
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="The dataset to write (a new version of it).")],
    fmt: Annotated[
        str, typer.Option("--format", help="auto | chat | csv | tsv | jsonl | langsmith | langfuse.")
    ] = "auto",
    column: Annotated[
        list[str] | None, typer.Option("--column", help="FIELD=COLUMN of a CSV/JSONL (repeatable).")
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Skip bad rows (counted) instead of stopping.")
    ] = False,
    task_class: Annotated[str | None, typer.Option("--class", help="gateway: only this task class.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="gateway: from this date (UTC).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="gateway: before this date (UTC).")] = None,
    status: Annotated[str | None, typer.Option("--status", help="ok | error | any (gateway: ok).")] = None,
    feedback: Annotated[
        str | None, typer.Option("--feedback", help="gateway: positive | negative | any | none.")
    ] = None,
    keep_duplicates: Annotated[
        bool, typer.Option("--keep-duplicates", help="Keep exact duplicates (default: dropped).")
    ] = False,
    append: Annotated[bool, typer.Option("--append", help="Add to the newest version's cases.")] = False,
    no_scrub: Annotated[bool, typer.Option("--no-scrub", help="Do not scrub (needs --reason).")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why --no-scrub is safe (stored).")] = None,
    fake: Annotated[
        bool, typer.Option("--fake", help="Realistic fakes instead of <TYPE_n> placeholders.")
    ] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write the import report as JSON.")] = None,
    note: NoteOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Import production traffic as a dataset, scrubbed of personal data before anything
    is written (typed placeholders such as <EMAIL_1>, the same within a conversation).
    Streams: a file of any size needs little memory. A bad row stops the import with its
    file:line:field unless --skip-bad."""
    from ..store import DatasetStore
    from ..suites import ScrubPipeline, import_file, import_gateway, skipped_scrub

    try:
        project, store = _open(config, db)
        scrub = skipped_scrub(reason) if no_scrub else None
        if reason and not no_scrub:
            raise BenchrouteError("--reason goes with --no-scrub")
        size = None
        if source == "gateway":
            rows = import_gateway(
                store, task_class=task_class, since=_date(since, "--since"), until=_date(until, "--until"),
                status=status or "ok", feedback=feedback, skip_bad=skip_bad,  # type: ignore[arg-type]
                drop_duplicates=not keep_duplicates,
            )  # fmt: skip
            origin: dict[str, Any] = {"kind": "gateway", "store": store.url}
        else:
            path = Path(source)
            if any(x is not None for x in (task_class, since, until, feedback)):
                raise BenchrouteError("--class, --since, --until and --feedback filter the gateway's log")
            rows = import_file(
                path, format=fmt, columns=_columns(column), skip_bad=skip_bad, status=status or "any",  # type: ignore[arg-type]
                drop_duplicates=not keep_duplicates,
            )  # fmt: skip
            size = path.stat().st_size if path.is_file() else None
            origin = {"kind": "file", "file": str(path), "format": fmt, "bytes": size}
        datasets = DatasetStore(store)
        parent = datasets.get(name) if append else None
        if append and parent is None:
            raise BenchrouteError(
                f"--append: no dataset named {name!r} yet", hint="import without --append first"
            )
        progress = _Progress("imported", size)
        stream: Iterator[dict[str, Any]] = progress.wrap(rows)
        if parent is not None:
            stream = _appended(datasets, parent, stream)
        filters = {k: v for k, v in {"class": task_class, "since": since, "until": until, "status": status,
                                     "feedback": feedback}.items() if v is not None}  # fmt: skip
        provenance = {"source": origin, "filters": filters, "imported_ts": time.time()}
        if scrub is not None:
            version = datasets.add_version(
                name, stream, kind="pool", provenance=provenance, scrub=scrub, note=note,
                parent_version=parent.version if parent else None,
                provenance_after=lambda: {"import": rows.report.to_json()},
            )  # fmt: skip
        else:
            pipeline = ScrubPipeline(project.datasets.scrub, fake=fake or None)
            version = datasets.add_version(
                name, pipeline.stream(stream), kind="pool", provenance=provenance, note=note,
                parent_version=parent.version if parent else None,
                provenance_after=lambda: {"import": rows.report.to_json()}, scrub_after=pipeline.report,
            )  # fmt: skip
    except BenchrouteError as exc:
        fail(exc)
    except ValueError as exc:  # the store's own refusals: no cases, a duplicate id
        fail(BenchrouteError(f"{source}: {exc}", hint="--skip-bad skips bad rows; check the source's ids"))
    summary = rows.report.to_json()
    _print_import(summary)
    _print_scrub(version.scrub)
    if report is not None:
        write_output(
            report, json.dumps({"import": summary, "scrub": version.scrub}, indent=2, default=str), "report"
        )
    console.print(f"saved {version.ref}: {version.count:,} cases", highlight=False)


def _appended(datasets: Any, parent: Any, new: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The parent's cases, then the new ones whose id is not taken (a taken id gets a
    suffix)."""
    ids: set[str] = set()
    for case in datasets.cases(parent.name, parent.version):
        ids.add(str(case.get("id")))
        yield case
    for case in new:
        case_id, n = str(case.get("id")), 1
        while case_id in ids:
            n += 1
            case_id = f"{case.get('id')}-{n}"
        ids.add(case_id)
        yield {**case, "id": case_id}


@dataset_app.command("scrub")
def dataset_scrub(
    ref: RefArgument,
    fake: Annotated[bool, typer.Option("--fake", help="Realistic fakes instead of placeholders.")] = False,
    to: ToOption = None,
    note: NoteOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Scrub a stored version again (one imported with --no-scrub, or after adding a
    pattern to datasets.scrub) into a new version; placeholders already there are kept."""
    from ..store import DatasetStore
    from ..suites import ScrubPipeline

    try:
        project, store = _open(config, db)
        version, cases = iter_cases(store, ref)
        pipeline = ScrubPipeline(project.datasets.scrub, fake=fake or None)
        name = to or version.name
        saved = DatasetStore(store).add_version(
            name, _Progress("scrubbed", None).wrap(pipeline.stream(cases)), kind=version.kind,
            provenance={"step": "scrub", "from": version.ref, "from_digest": version.digest},
            parent_version=version.version if name == version.name else None, note=note,
            scrub_after=pipeline.report,
        )  # fmt: skip
    except BenchrouteError as exc:
        fail(exc)
    _print_scrub(saved.scrub)
    console.print(f"saved {saved.ref}: {saved.count:,} cases", highlight=False)


@dataset_app.command("dedupe")
def dataset_dedupe(
    ref: RefArgument,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", min=0.01, max=1.0, help="Jaccard similarity of near-duplicates."),
    ] = None,
    no_near: Annotated[bool, typer.Option("--no-near", help="Exact duplicates only.")] = False,
    prompt_only: Annotated[
        bool, typer.Option("--prompt-only", help="Compare prompts only (default: prompt and expected).")
    ] = False,
    num_perm: Annotated[int, typer.Option("--num-perm", min=16, help="MinHash permutations.")] = 128,
    to: ToOption = None,
    note: NoteOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Drop exact and near-duplicate cases (MinHash LSH), keeping the first of each group."""
    from ..suites import dedupe_cases

    try:
        project, store = _open(config, db)
        version, cases = iter_cases(store, ref)
        cut = threshold if threshold is not None else project.datasets.near_duplicate_threshold
        result = dedupe_cases(
            _Progress("deduplicated", None).wrap(cases), near=not no_near, threshold=cut, num_perm=num_perm,
            include_expected=not prompt_only,
        )  # fmt: skip
        kept = list(result)
        summary = result.report.to_json()
        saved = save_derived(
            project, store, version, kept, step="dedupe",
            details={"dedupe": {k: v for k, v in summary.items() if k != "clusters"}, "threshold": cut},
            to=to, note=note,
        )  # fmt: skip
    except BenchrouteError as exc:
        fail(exc)
    err_console.print(
        f"{summary.get('seen', version.count):,} cases: {summary.get('exact_duplicates', 0):,} exact and "
        f"{summary.get('near_duplicates', 0):,} near duplicates dropped",
        highlight=False,
    )
    console.print(f"saved {saved.ref}: {saved.count:,} cases", highlight=False)


@dataset_app.command("sample")
def dataset_sample(
    ref: RefArgument,
    to: Annotated[str, typer.Option("--to", help="The golden set to write (a new version of it).")],
    size: Annotated[
        int | None, typer.Option("--size", min=1, help="Cases to draw (default datasets.golden_size).")
    ] = None,
    by: Annotated[
        str, typer.Option("--by", help="Strata: any of class, route, length, outcome, or a metadata key.")
    ] = "class",
    seed: Annotated[int, typer.Option("--seed", help="The sampler's seed (stored).")] = 0,
    append: Annotated[
        bool, typer.Option("--append", help="Grow the newest version of --to: keep its cases, add new ones.")
    ] = False,
    note: NoteOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """Draw a stratified golden set from a pool (seeded: the same seed draws the same
    cases). With --append, the golden set's cases stay and --size new ones are added."""
    from ..reports import print_fitted
    from ..store import DatasetStore
    from ..suites import stratified_sample

    strata = [part.strip() for part in by.split(",") if part.strip()]
    try:
        project, store = _open(config, db)
        version, cases = iter_cases(store, ref)
        datasets = DatasetStore(store)
        golden = datasets.get(to) if append else None
        if append and golden is None:
            raise BenchrouteError(
                f"--append: no golden set named {to!r} yet", hint="sample without --append first"
            )
        taken = {c["id"] for c in datasets.cases(golden.name, golden.version)} if golden else set()
        pool = (c for c in cases if c.get("id") not in taken)
        drawn = stratified_sample(pool, size=size or project.datasets.golden_size, by=strata, seed=seed)
        picked = [dict(case) for case in drawn.cases]
        summary = drawn.report.to_json()
        body = [*(datasets.cases(golden.name, golden.version) if golden else []), *picked]
        parent = golden or version
        details = {"sample": summary, "seed": seed, "by": strata, "pool": version.ref}
        saved = save_derived(
            project, store, parent, body, step="sample" if golden is None else "append", details=details,
            to=to, note=note, kind="golden",
        )  # fmt: skip
    except BenchrouteError as exc:
        fail(exc)
    table = Table(show_edge=False, pad_edge=False)
    for col, justify in (("stratum", "left"), ("pool", "right"), ("drawn", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for stratum in summary.get("strata") or []:
        label = " · ".join(f"{k} {v}" for k, v in (stratum.get("stratum") or {}).items()) or "all"
        table.add_row(label, f"{stratum.get('population', 0):,}", f"{stratum.get('sampled', 0):,}")
    print_fitted(console, table, (), wide=wide, keep={"stratum"})
    console.print(f"saved {saved.ref}: {saved.count:,} cases (seed {seed})", highlight=False)


@dataset_app.command("generate")
def dataset_generate(
    kind: Annotated[str, typer.Argument(help="What to make: tables, scenes or speech.")],
    output: Annotated[Path, typer.Argument(help="The folder to write the files, cases and suites into.")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=10_000, help="How many documents.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="The same seed makes the same files.")] = 0,
    dpi: Annotated[
        int, typer.Option("--dpi", min=50, max=300, help="tables: resolution of the scans.")
    ] = 110,
) -> None:
    """Make multimodal test data with its ground truth, offline.

    `tables`: scanned invoices (PDF and PNG, no text layer), cases.jsonl with each line-item
    table and invoice fields, and suite.yaml (table_cells, teds). `scenes`: pictures of shapes
    and objects, describe.jsonl and describe.yaml (chair), pope.jsonl and pope.yaml (yes/no
    probes of present and absent objects). `speech`: sentences spoken by espeak-ng as WAV,
    cases.jsonl and suite.yaml (wer, cer). Run a suite with `benchroute run OUTPUT/suite.yaml`."""
    from ..suites import generate_scenes, generate_speech, generate_tables

    makers: dict[str, tuple[Callable[[], list[dict[str, Any]]], str]] = {
        "tables": (
            lambda: generate_tables(output, count=count, seed=seed, dpi=dpi),
            "scanned invoices (PDF + PNG)",
        ),
        "scenes": (
            lambda: generate_scenes(output, count=count, seed=seed),
            "scene cases (describe + POPE probes)",
        ),
        "speech": (lambda: generate_speech(output, count=count, seed=seed), "spoken sentences (WAV)"),
    }
    if kind not in makers:
        fail(BenchrouteError(f"dataset generate: unknown kind {kind!r}; the kinds are: {', '.join(makers)}"))
    make, what = makers[kind]
    started = time.monotonic()
    try:
        cases = make()
    except ImportError as exc:
        fail(BenchrouteError(f"dataset generate needs {exc.name}: pip install 'benchroute[multimodal]'"))
    except FileNotFoundError as exc:
        fail(BenchrouteError(f"dataset generate {kind}: {exc}"))
    except OSError as exc:
        fail(BenchrouteError(f"{output}: cannot write: {exc.strerror or exc}"))
    err_console.print(
        f"wrote {len(cases)} {what}, with cases and suites, to {output} "
        f"in {time.monotonic() - started:.1f} s",
        highlight=False,
    )
