"""The ``benchroute`` command line: thin noun-verb commands over the library.

Errors a user can cause print as one line (``error: file:line: field: ...``) and exit with 2
(configuration) or 3 (the run could not complete); they never show a traceback.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from .._errors import BenchrouteError, did_you_mean
from .._version import __version__

if TYPE_CHECKING:
    from ..providers import PriceInfo

app = typer.Typer(
    name="benchroute",
    help="Benchmark LLMs the way production uses them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="Stored runs: list them, show one.", no_args_is_help=True)
models_app = typer.Typer(help="Models defined in benchroute.yaml.", no_args_is_help=True)
scorers_app = typer.Typer(help="Scorers suites can use.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
app.add_typer(scorers_app, name="scorers")


def _make_console(stderr: bool = False) -> Console:
    # emoji=False: model output and case ids are printed as they are (":x:" stays ":x:").
    console = Console(stderr=stderr, emoji=False)
    # Off a terminal (CI logs, pipes) rich would wrap tables at 80 columns; tables are fitted
    # to 100 columns there as on a terminal (COLUMNS overrides, --wide shows every column).
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, width=100, emoji=False)
    return console


console = _make_console()
err_console = _make_console(stderr=True)

INTERNAL_ERROR_EXIT = 70  # EX_SOFTWARE (sysexits.h): a bug in benchroute, not in the user's input
DEBUG_ENV = "BENCHROUTE_DEBUG"  # set to 1: an internal error prints its traceback

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="benchroute.yaml (default: nearest upwards from cwd)"),
]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="store: a SQLite path or SQLAlchemy URL (overrides config)"),
]
WideOption = Annotated[
    bool,
    typer.Option(
        "--wide", help="Show every table column (default: drop the least useful to fit the terminal)."
    ),
]


def fail(exc: BenchrouteError) -> None:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def prepare_output(path: Path, what: str) -> None:
    """Create the folder of an output file before any work is done, so a typo in a path
    fails at once as one line instead of after a long run."""
    if path.is_dir():
        raise BenchrouteError(f"{path}: is a folder; give the {what} a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchrouteError(
            f"{path}: cannot write the {what}: cannot create its folder {path.parent} ({exc.strerror or exc})"
        ) from None


def write_output(path: Path, text: str, what: str) -> None:
    """Write an output file, creating its folder; a failure is one line naming the file."""
    prepare_output(path, what)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BenchrouteError(f"{path}: cannot write the {what} ({exc.strerror or exc})") from None


def _version(value: bool) -> None:
    if value:
        console.print(f"benchroute {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help=f"Print the traceback of an internal error (or set {DEBUG_ENV}=1)."),
    ] = False,
) -> None:
    """benchroute: task-specific LLM benchmarks, cost/latency trade-offs, and routing.

    Exit codes: 0 success, 1 a gate threshold failed, 2 bad usage or configuration,
    3 a run could not complete, 70 an internal error (a bug: the message says where its
    log is), 130 interrupted.
    """


def _provider_problem(name: str) -> str | None:
    """Why ``provider: name`` cannot be used, or None (checked when benchroute.yaml loads)."""
    from ..providers import get_provider_factory, provider_kinds

    if name in provider_kinds():
        return None
    try:
        get_provider_factory(name)
    except BenchrouteError as exc:
        return str(exc)
    return None


def _scorer_problem(name: str) -> str | None:
    """Why a suite's scorer ``name`` cannot be used (unknown, or its optional extra is not
    installed), or None (checked when the suite loads)."""
    from ..scorers import check_scorer

    try:
        check_scorer(name)
    except BenchrouteError as exc:
        return str(exc)
    return None


def load_project_checked(config: Path | None) -> Any:
    """benchroute.yaml with every model's ``provider:`` checked against the registry."""
    from ..config import load_project

    return load_project(config, provider_check=_provider_problem)


def load_suites_checked(files: list[Path], project: Any) -> list[Any]:
    """Suite files with their scorer and model names checked, after the project's
    ``imports:`` have registered its custom scorers: a misspelt name fails here, with its
    file:line, before a run is created."""
    from ..config import load_suite
    from ..scorers import import_plugins
    from ..store import Store
    from ..suites import golden_loader

    import_plugins(project.imports, project.root)
    models = list(project.models)
    golden = golden_loader(lambda: Store(project.store_url()))
    return [
        load_suite(f, scorer_check=_scorer_problem, model_names=models, golden_loader=golden) for f in files
    ]


def check_model_option(names: list[str] | None, project: Any) -> None:
    """``--models``/``-m`` names a project's models: an unknown one is blamed on the option."""
    for name in names or []:
        if name not in project.models:
            known = ", ".join(project.models) or "none (no benchroute.yaml found?)"
            raise BenchrouteError(
                f"--models: unknown model {name!r}{did_you_mean(name, project.models)}",
                hint=f"models defined in benchroute.yaml: {known}",
            )


def _open(config: Path | None, db: str | None) -> tuple[Any, Any]:
    from ..store import Store

    project = load_project_checked(config)
    if db:
        project.store = db if "://" in db else str(Path(db).resolve())
    return project, Store(project.store_url())


def _expand_suites(paths: list[Path], config: Path | None) -> tuple[list[Path], Path | None]:
    """Suite files from the arguments; a directory means its ``suites/`` (or its YAML files),
    and its ``benchroute.yaml`` becomes the project file unless --config was given."""
    from ..config import PROJECT_FILE

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            if config is None and (path / PROJECT_FILE).is_file():
                config = path / PROJECT_FILE
            folder = path / "suites" if (path / "suites").is_dir() else path
            found = sorted(p for p in folder.glob("*.y*ml") if p.name != PROJECT_FILE)
            if not found:
                raise BenchrouteError(f"{path}: no suite files (*.yaml) found")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise BenchrouteError(f"{path}: no such suite file or directory")
    return files, config


@app.command()
def run(
    suites: Annotated[
        list[Path] | None,
        typer.Argument(help="Suite files, or directories of them (e.g. examples/quickstart)."),
    ] = None,
    models: Annotated[
        str | None,
        typer.Option("--models", "-m", help="Comma-separated models to run (default: the suite's)."),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", min=1, help="Requests in flight at once.")
    ] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Finish an interrupted run: RUN_ID.")] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not read or write the response cache.")
    ] = False,
    summary_json: Annotated[
        Path | None, typer.Option("--summary-json", help="Also write the leaderboard as JSON here.")
    ] = None,
    estimate: Annotated[
        bool,
        typer.Option("--estimate", help="Print the expected cost per suite x model and exit; sends nothing."),
    ] = False,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            min=0,
            metavar="USD",
            help="Stop sending requests before the run's cost would pass this (status budget_stopped).",
        ),
    ] = None,
    wide: WideOption = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Run suites against models and print a leaderboard; check the suites' gate: thresholds.

    Exit codes: 0 all ran and every gate threshold holds, 1 a gate threshold failed,
    2 bad usage or configuration, 3 the run could not complete (failed, or stopped by
    --max-cost), 130 interrupted.
    """
    from .._eventloop import run as run_loop
    from ..reports import summary_json as to_json
    from ..runner import Runner, RunOptions
    from ._progress import ProgressDisplay

    try:
        if not suites and not resume:
            raise BenchrouteError("give at least one suite file or directory, or --resume RUN_ID")
        if estimate and resume:
            raise BenchrouteError("--estimate works on suite files, not with --resume")
        if summary_json is not None:
            prepare_output(summary_json, "summary JSON")
        files, config = _expand_suites(list(suites or []), config)
        project, store = _open(config, db)
        options = RunOptions(
            concurrency=concurrency or project.concurrency,
            use_cache=not no_cache,
            models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
            max_cost_usd=max_cost,
        )
        check_model_option(options.models, project)
        if estimate:
            _print_estimate(project, load_suites_checked(files, project), options, store, wide=wide)
            return
        display = ProgressDisplay(err_console)
        runner = Runner(project, store, options, on_progress=display.update, on_start=display.start)
        # What exists now (modules, config, the dataset) lives until the process ends: take it
        # out of the collector's generations so the collections a run triggers stay small.
        gc.freeze()
        try:
            if resume:
                outcome = run_loop(runner.resume(resume))
            else:
                specs = load_suites_checked(files, project)
                from ._judge import warn_embedded_judge

                warn_embedded_judge(project, specs, err_console)
                outcome = run_loop(runner.run(specs))
        except (KeyboardInterrupt, asyncio.CancelledError):  # the latter: cancelled, not by Ctrl-C
            display.stop()
            run_id = display.run_id or "?"
            err_console.print(
                f"[yellow]interrupted[/]: results so far are stored; finish with "
                f"[bold]benchroute run --resume {run_id}[/]"
            )
            raise typer.Exit(130) from None
        finally:
            display.stop()
    except BenchrouteError as exc:
        fail(exc)
        return
    try:
        record = store.get_run(outcome.run_id)
    except BenchrouteError as exc:
        fail(exc)
        return
    summaries = _render_run(record, outcome.results, wide=wide)
    # The same failure repeated over many cases is one line with its count.
    for message in outcome.errors[:10]:
        count = outcome.error_counts.get(message, 1)
        times = f" [dim](×{count})[/]" if count > 1 else ""
        err_console.print(f"[red]error:[/] {escape(message)}{times}", highlight=False, soft_wrap=True)
    if outcome.skipped:
        err_console.print(
            f"{outcome.skipped} request(s) not sent; fix the cause and finish with "
            f"benchroute run --resume {outcome.run_id}",
            highlight=False,
        )
    if summary_json is not None:
        try:
            write_output(
                summary_json,
                json.dumps(to_json(outcome.run_id, outcome.status, summaries), indent=2),
                "summary JSON",
            )
        except BenchrouteError as exc:
            fail(exc)
    if outcome.status == "budget_stopped":
        err_console.print(
            f"[yellow]budget stopped[/]: {record.error}; continue with benchroute run --resume "
            f"{outcome.run_id} --max-cost HIGHER_USD",
            highlight=False,
            soft_wrap=True,
        )
    gate_passed = _check_gate(record, store, outcome.results)
    if outcome.status != "completed":
        raise typer.Exit(3)  # budget_stopped too: the run did not complete
    if not gate_passed:
        raise typer.Exit(1)


def _print_estimate(project: Any, specs: list[Any], options: Any, store: Any, *, wide: bool = False) -> None:
    """``run --estimate``: the expected cost per suite x model and in total; no request."""
    from ..reports import ESTIMATE_DROP_ORDER, estimate_table, print_fitted
    from ..runner import estimate_run

    result = estimate_run(project, specs, models=options.models, store=store, use_cache=options.use_cache)
    print_fitted(console, estimate_table(result), ESTIMATE_DROP_ORDER, wide=wide)
    console.print(f"estimated total: {result.total_text} for {result.requests} request(s)", highlight=False)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)


def _failed_result_fails_gate(tier: str) -> bool:
    """Whether a suite's tier fails its gate on any failed result (a load test's missed SLO);
    a tier no longer installed checks only the gate's thresholds."""
    from ..config import find_tier

    try:
        return find_tier(tier).failed_result_fails_gate
    except BenchrouteError:
        return False


def _check_gate(record: Any, store: Any, results: list[Any]) -> bool:
    """Check the suites' gate: thresholds (and stress SLOs) on the run's results, without
    quarantined cases; print each failure. True when every threshold holds."""

    suites = record.config.get("suites", [])
    stress = [s["name"] for s in suites if _failed_result_fails_gate(s.get("tier") or "unit")]
    if not stress and not any(s.get("gate") or s.get("budgets") for s in suites):
        return True
    from ..analysis import evaluate_gates, exclude_quarantined, suite_budgets
    from ..config import GateSpec
    from ..reports import gate_table

    gates = {s["name"]: GateSpec.model_validate(s["gate"]) if s.get("gate") else None for s in suites}
    report = evaluate_gates(
        exclude_quarantined(results, store.quarantined()),
        gates,
        stress_suites=stress,
        budgets=suite_budgets(record.config),
    )
    if report.cached_note:  # a rerun from the cache is held to the original run's figures
        console.print(f"CI gate: {report.cached_note}", highlight=False)
    if report.passed:
        console.print(f"CI gate: passed ({report.checked} suite x model check(s))")
        return True
    console.print(gate_table(report))
    for failure in report.failures:
        err_console.print(f"[red]gate failed:[/] {escape(failure.describe())}", soft_wrap=True)
    return False


def _render_run(
    record: Any, results: list[Any], out: Console | None = None, *, wide: bool = False
) -> list[Any]:
    """Pass rate by suite (several suites), the leaderboard, latency, per-scorer means, pass@k,
    the generalisation gap (perturbed copies), conversations and loads: what ``run``,
    ``runs show`` and ``report`` (table) all print.

    Wide tables drop their least useful columns to fit the console (and say so); ``wide``
    keeps every column."""
    out = out or console
    from ..analysis import latency_by_tier, leaderboard
    from ..reports import (
        LATENCY_DROP_ORDER,
        LEADERBOARD_DROP_ORDER,
        latency_table,
        leaderboard_table,
        metrics_table,
        suite_table,
        tier_table,
    )

    summaries = leaderboard(results, record.prices)
    tiers = {s["name"]: s.get("tier", "") for s in record.config.get("suites", [])}
    if len({r.suite for r in results}) > 1:
        by_tier = tier_table(results, tiers)
        if by_tier is not None:
            _print_fitted(out, by_tier, None, wide)
        _print_fitted(out, suite_table(results, tiers), None, wide)
    if summaries or not results:  # a run of load tests only has no leaderboard
        board = leaderboard_table(summaries, title=f"Leaderboard · run {record.id}")
        _print_fitted(out, board, LEADERBOARD_DROP_ORDER, wide)
    latency = latency_table(latency_by_tier(results, tiers))
    if latency is not None:
        _print_fitted(out, latency, LATENCY_DROP_ORDER, wide)
    metrics = metrics_table(summaries)
    if metrics is not None:
        _print_fitted(out, metrics, (), wide)
    _render_pass_at_k(record, results, out)
    from ..reports import print_generalisation_gap  # runs whose suites hold perturbed copies

    print_generalisation_gap(
        out, results, record.config, title=f"Generalisation gap · run {record.id}", wide=wide
    )
    from ..reports import print_conversation_summary

    print_conversation_summary(out, results, wide=wide)
    from ..reports import print_multimodal  # modality latency and budgets, degradation, POPE/CHAIR

    print_multimodal(out, results, record.config)
    from ..reports import load_report

    for renderable in load_report(results, title=f"Load · run {record.id}"):  # stress suites
        out.print(renderable)
    return summaries


def _print_fitted(out: Console, table: Any, drop_order: tuple[str, ...] | None, wide: bool) -> None:
    """Print a table fitted to the console (``drop_order`` None: its columns are models, none
    is dropped, names wrap); ``wide``: every column, as wide as it needs."""
    from ..reports import print_fitted

    print_fitted(out, table, drop_order, wide=wide)


def _render_pass_at_k(record: Any, results: list[Any], out: Console) -> None:
    """pass@k (functional: a functional_pass score, e.g. code_tests, when a suite has one) for
    suites that ask; scores are found by their declared kind, not their scorer's name."""
    from ..analysis import pass_at_k_by_model
    from ..reports import pass_at_k_table
    from ..scorers import FUNCTIONAL_PASS, SECURITY_FINDINGS, score_kind

    wanted = {s["name"]: s.get("pass_at_k") for s in record.config.get("suites", []) if s.get("pass_at_k")}
    if not wanted:
        return
    chosen = [r for r in results if r.suite in wanted]
    ks = sorted({k for values in wanted.values() for k in values})
    functional = any(score_kind(s) == FUNCTIONAL_PASS for r in chosen for s in r.scores)
    estimates = pass_at_k_by_model(chosen, ks, kind=FUNCTIONAL_PASS if functional else None)
    security: dict[str, list[bool]] = {}
    for r in chosen:
        for s in r.scores:
            if score_kind(s) == SECURITY_FINDINGS:
                security.setdefault(r.model, []).append(bool(s.get("passed")))
    rates = {model: sum(v) / len(v) for model, v in security.items()}
    out.print(pass_at_k_table(estimates, rates or None))


@runs_app.command("list")
def runs_list(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs.")] = 20,
    wide: WideOption = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """List stored runs, newest first."""
    from ..reports import print_fitted, runs_table

    try:
        _, store = _open(config, db)
        rows = store.list_runs(limit)
    except BenchrouteError as exc:
        fail(exc)
        return
    if not rows:
        console.print("no runs yet — start one with: benchroute run SUITE")
        return
    # Suites and models are lists of names: they wrap between names, no column is dropped.
    print_fitted(console, runs_table(rows), None, wide=wide)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    failures: Annotated[bool, typer.Option("--failures", help="Only failed cases.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Rows of results to show.")] = 50,
    transcripts: Annotated[
        int, typer.Option("--transcripts", min=0, help="Conversation transcripts to show (0: none).")
    ] = 5,
    case: Annotated[str | None, typer.Option("--case", help="Only this case's transcripts.")] = None,
    wide: WideOption = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Show a run: its leaderboard and its results (conversations turn by turn)."""
    from ..reports import print_run_header, print_transcripts, results_table

    try:
        _, store = _open(config, db)
        record, results = store.run_with_results(run_id)
    except BenchrouteError as exc:
        fail(exc)
        return
    print_run_header(console, record)
    _render_run(record, results, wide=wide)
    console.print(results_table(results, failures_only=failures, limit=limit))
    print_transcripts(console, results, case=case, failures_only=failures, limit=transcripts)


@models_app.command("list")
def models_list(config: ConfigOption = None, wide: WideOption = False) -> None:
    """List the models of the project and how each is priced."""
    from rich.table import Table

    try:
        project = load_project_checked(config)
    except BenchrouteError as exc:
        fail(exc)
        return
    if not project.models:
        console.print("no models: create benchroute.yaml (benchroute init) or pass --config")
        return
    from ..providers import PriceBook

    book = PriceBook(list(project.models.values()))  # exactly how a run will price them
    table = Table(title="Models", title_justify="left")
    for column in ("name", "provider", "model", "endpoint", "key from", "limits", "prices"):
        table.add_column(column)
    for name, spec in project.models.items():
        limits = ", ".join(
            part
            for part in (
                f"{spec.rpm:g} rpm" if spec.rpm else "",
                f"{spec.tpm:g} tpm" if spec.tpm else "",
            )
            if part
        )
        prices = _describe_price(book.info(name))
        table.add_row(
            name,
            spec.provider,
            spec.model,
            spec.base_url or "(default)",
            f"${spec.api_key_env}" if spec.api_key_env else "—",
            limits or "—",
            prices,
        )
    from ..reports import MODELS_DROP_ORDER, print_fitted

    print_fitted(console, table, MODELS_DROP_ORDER, wide=wide, keep={"name", "model"})


def _describe_price(info: PriceInfo) -> str:
    if info.usd_per_hour is not None:
        return f"${info.usd_per_hour:g}/h of compute"
    if info.source == "unknown":
        return "unknown (set prices:)"
    if info.input_per_mtok is None or info.output_per_mtok is None:
        return info.source
    return f"${info.input_per_mtok:g} in / ${info.output_per_mtok:g} out per Mtok ({info.source})"


@scorers_app.command("list")
def scorers_list(config: ConfigOption = None) -> None:
    """List the registered scorers (built-in, plugins, and the project's imports) and their arguments."""
    import inspect

    from rich.table import Table

    from ..config import load_project
    from ..scorers import import_plugins, registered_scorers

    try:
        project = load_project(config)
        import_plugins(project.imports, project.root)
    except BenchrouteError as exc:
        fail(exc)
        return
    table = Table(title="Scorers", title_justify="left")
    for column in ("name", "arguments", "what it scores"):
        table.add_column(column, overflow="fold")
    for name, factory in sorted(registered_scorers().items()):
        parameters = inspect.signature(factory).parameters
        arguments = ", ".join(p for p in parameters if p != "context")
        summary = (inspect.getdoc(factory) or "").split("\n\n")[0].replace("\n", " ")
        table.add_row(name, arguments, escape(summary.replace("``", "")))
    console.print(table)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the project.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Create benchroute.yaml and an example suite that runs on the embedded local model."""
    from ._init import next_command, scaffold

    try:
        written = scaffold(directory, force=force)
    except BenchrouteError as exc:
        fail(exc)
        return
    for path in written:
        console.print(f"created {path}", highlight=False)
    console.print(f"next: {next_command(directory)}", highlight=False, soft_wrap=True)


# Commands kept in their own modules register themselves on ``app`` when imported.
from . import (  # noqa: E402, F401
    _ci,
    _compare,
    _correlate,
    _dataset,
    _dataset_models,
    _drift,
    _gap,
    _history,
    _judge,
    _report,
    _route,
    _route_simulate,
    _watch,
)

# Shapes of provider keys (OpenAI/Anthropic ``sk-…``, Google ``AIza…``, bearer tokens) scrubbed
# from crash text even when no configured variable holds them.
_KEY_PATTERN = r"(?:sk-[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{30,}|(?i:bearer)\s+[A-Za-z0-9._\-]{16,})"
# Variables that by their name hold a credential, whether or not a model names them.
_KEY_ENV = r"(?:API_?KEY|TOKEN|SECRET|PASSWORD)$"


def _crash_redactor() -> Any:
    """A function scrubbing keys from crash text: the values of the variables the project's
    models name in ``api_key_env`` (read without validating the project, which may be what
    crashed), of variables whose names mark a credential, and key-shaped strings."""
    import contextlib
    import re

    from ..providers import Secrets

    secrets = Secrets()
    names = {name for name in os.environ if re.search(_KEY_ENV, name.upper())}
    # A crash report must not crash on a broken or unreadable project file.
    with contextlib.suppress(Exception):
        import yaml

        from ..config import find_project_file

        argv = sys.argv[1:]
        given = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in ("--config", "-c")]
        found = Path(given[-1]) if given else find_project_file()
        data = yaml.safe_load(found.read_text(encoding="utf-8")) if found else None
        models = data.get("models") if isinstance(data, dict) else None
        for spec in (models or {}).values() if isinstance(models, dict) else []:
            if isinstance(spec, dict) and isinstance(spec.get("api_key_env"), str):
                names.add(spec["api_key_env"])
    for name in names:
        secrets.remember(name)
    pattern = re.compile(_KEY_PATTERN)

    def redact(text: str) -> str:
        return pattern.sub("***", secrets.redact(text))

    return redact


def _crash_log(exc: BaseException, redact: Any = str) -> Path | None:
    """Write the traceback of an internal error to a log file; None when that fails too."""
    import datetime
    import traceback

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    path = base / "benchroute" / "logs" / f"crash-{stamp}-{os.getpid()}.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = redact("".join(traceback.format_exception(exc)))
        argv = redact(str(sys.argv[1:]))
        path.write_text(f"benchroute {__version__}\nargv: {argv}\n\n{text}", encoding="utf-8")
    except OSError:
        return None
    return path


def report_internal_error(exc: BaseException) -> int:
    """Print one line for an unexpected exception (the traceback goes to a log file, or to
    the screen with --debug or BENCHROUTE_DEBUG=1) and return the internal-error exit code."""
    if "--debug" in sys.argv[1:] or os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        import traceback

        sys.stderr.write(_crash_redactor()("".join(traceback.format_exception(exc))))
        return INTERNAL_ERROR_EXIT
    redact = _crash_redactor()
    log = _crash_log(exc, redact)
    where = f"the traceback is in {log}" if log else "the traceback could not be saved"
    err_console.print(
        f"[bold red]internal error:[/] {escape(redact(f'{type(exc).__name__}: {exc}'))}\n"
        f"This is a bug in benchroute {__version__}, not in your files; {where}. Please report "
        f"it on the benchroute issue tracker with that log and the command you ran (rerun with "
        f"--debug, or {DEBUG_ENV}=1, to print the traceback here).",
        highlight=False,
        soft_wrap=True,
    )
    return INTERNAL_ERROR_EXIT


def main() -> None:
    """The ``benchroute`` entry point: no traceback ever reaches the user."""
    # The modules imported so far live as long as the process: the cyclic collector need not
    # walk them again at every full collection (a short command spends less time in it).
    gc.freeze()
    try:
        app()  # typer's standalone mode: usage errors exit 2, Ctrl-C exits 130
    except BenchrouteError as exc:  # raised outside a command's own handling
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)
    except OSError as exc:  # the environment (a full disk, a permission), named by its file
        if exc.errno == errno.EPIPE:  # the reader went away (`benchroute runs list | head`)
            sys.exit(1)
        place = f"{exc.filename}: " if exc.filename else ""
        err_console.print(
            f"[bold red]error:[/] {escape(place + (exc.strerror or str(exc)))}",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    except Exception as exc:
        sys.exit(report_internal_error(exc))
    finally:
        # The process ends here. Frozen objects are skipped by the interpreter's closing
        # collections, which would otherwise walk every object the command ever made
        # (~0.15 s after a run). Nothing is lost: the store is committed and the OS frees
        # the memory; only garbage cycles left at exit go unfinalized.
        gc.freeze()
