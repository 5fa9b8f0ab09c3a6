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
from collections.abc import Iterator
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
    for column in ("id", "prompt", "expected", "class", "perturbation"):
        table.add_column(column, overflow="ellipsis", no_wrap=not wide)
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
