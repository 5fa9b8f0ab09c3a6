"""``benchroute route``: build, show, diff, activate, promote and roll back routing policies
(see docs/routing.md).

Exit codes: 0 done, 2 bad usage, an unknown class or version, or a policy no endpoint
satisfies (one line naming each candidate's reasons, no traceback).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, WideOption, _open, app, console, err_console, fail, write_output

if TYPE_CHECKING:
    from ..config import PolicyDocument

route_app = typer.Typer(
    help="Routing policies built from benchmark results: build, show, diff, history, activate, "
    "promote, rollback, canary, judge, simulate.",
    no_args_is_help=True,
)
app.add_typer(route_app, name="route")


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4g}"


def _num(value: float | None, fmt: str = "{:.3f}") -> str:
    return "—" if value is None else fmt.format(value)


def _load_version(store: Any, version: int | None) -> tuple[int, PolicyDocument]:
    from ..config import PolicyDocument
    from ..store import PolicyStore

    policies = PolicyStore(store)
    if version is None:
        stored = policies.active()
        if stored is None:
            stored = next(iter(policies.policies(limit=1)), None)
        if stored is None:
            raise BenchrouteError("no policy is stored", hint="build one: benchroute route build")
    else:
        stored = policies.policy(version)
        if stored is None:
            latest = policies.latest_version()
            raise BenchrouteError(
                f"no policy version {version}", hint=f"stored: 1..{latest}" if latest else "none stored yet"
            )
    return stored.version, PolicyDocument.model_validate(stored.document)


def _policy_arg(store: Any, text: str) -> tuple[str, PolicyDocument]:
    """A policy named on the command line: a stored version (``3``, ``v3``), ``active``, or a
    JSON/YAML file."""
    from ..config import load_policy_file

    if text == "active":
        version, policy = _load_version(store, None)
        return f"v{version}", policy
    bare = text[1:] if text[:1] in ("v", "V") else text
    if bare.isdigit():
        version, policy = _load_version(store, int(bare))
        return f"v{version}", policy
    path = Path(text)
    if not path.is_file():
        raise BenchrouteError(f"{text}: not a stored version (N, vN, active) nor a policy file")
    return str(path), load_policy_file(path)


def print_policy(policy: PolicyDocument, version: int | None, *, wide: bool = False) -> None:
    from ..reports import print_fitted

    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(policy.created_ts)) if policy.created_ts else "?"
    head = f"policy v{version}" if version is not None else "policy (not stored)"
    console.print(
        f"{head} · built {when} · objective {policy.objective or '?'} · default class "
        f"{policy.fallback_class()}",
        highlight=False,
        markup=False,
    )
    for name, klass in policy.classes.items():
        limits = ", ".join(f"{k} {v:g}" for k, v in klass.constraints.model_dump(exclude_none=True).items())
        console.print(
            f"\nclass {name} · suites {', '.join(klass.suites) or '—'} · {klass.metric} · "
            f"{klass.objective or policy.objective or '?'}" + (f" · {limits}" if limits else ""),
            highlight=False,
            markup=False,
        )
        table = Table(show_edge=False, pad_edge=False)
        for column, justify in (
            ("#", "right"),
            ("model", "left"),
            ("role", "left"),
            ("score", "right"),
            ("95% CI", "right"),
            ("cost/success", "right"),
            ("p95 ms", "right"),
            ("errors", "right"),
            ("runs", "left"),
        ):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for index, entry in enumerate(klass.route, 1):
            table.add_row(
                str(index),
                entry.model,
                entry.role,
                _num(entry.score),
                "—" if entry.ci is None else f"{entry.ci[0]:.2f}–{entry.ci[1]:.2f}",
                _money(entry.cost_per_success),
                _num(entry.p95_ms, "{:,.0f}"),
                _num(entry.error_rate, "{:.1%}"),
                ", ".join(run.run_id for run in entry.runs) or "—",
            )
        print_fitted(console, table, ("runs", "95% CI", "errors"), wide=wide, keep={"model", "role"})
        for index, entry in enumerate(klass.route, 1):
            if entry.why:
                console.print(
                    f"  {index} {entry.model}: {entry.why}", highlight=False, markup=False, soft_wrap=True
                )
        if klass.canary is not None:
            canary = klass.canary
            console.print(
                f"  canary: {canary.model} {canary.percent:g}% sticky by {canary.sticky}"
                + (" (shadow)" if canary.shadow else "")
                + (" · automatic promotion/rollback" if canary.auto else ""),
                highlight=False,
                markup=False,
            )
        for rejected in klass.rejected:
            console.print(
                f"  rejected {rejected.model}: {'; '.join(rejected.reasons)}", highlight=False, markup=False
            )


def _constraints(
    min_score: float | None, max_cost: float | None, max_p95: float | None, max_errors: float | None
) -> Any:
    from ..config import RoutingConstraints

    try:
        return RoutingConstraints(
            min_score=min_score, max_cost_per_success=max_cost, max_p95_ms=max_p95, max_error_rate=max_errors
        )
    except ValueError as exc:
        first = exc.errors()[0] if hasattr(exc, "errors") else None  # pydantic ValidationError
        where = f"--{str(first['loc'][0]).replace('_', '-')}" if first else "constraint"
        raise BenchrouteError(f"{where}: {first['msg'] if first else exc}") from None


@route_app.command("build")
def route_build(
    task_class: Annotated[
        list[str] | None, typer.Option("--class", help="Only this task class (repeatable).")
    ] = None,
    suite: Annotated[
        str | None,
        typer.Option("--suite", help="Build one class over this suite (no routing: block needed)."),
    ] = None,
    min_score: Annotated[float | None, typer.Option("--min-score", help="Class metric floor, 0..1.")] = None,
    max_cost_per_success: Annotated[
        float | None, typer.Option("--max-cost-per-success", help="USD per passing output.")
    ] = None,
    max_p95_ms: Annotated[float | None, typer.Option("--max-p95-ms", help="End-to-end p95 latency.")] = None,
    max_error_rate: Annotated[float | None, typer.Option("--max-error-rate", help="0..1.")] = None,
    objective: Annotated[
        str | None,
        typer.Option("--objective", help="cheapest | best_under_budget | weighted | pareto"),
    ] = None,
    pareto_point: Annotated[
        float | None,
        typer.Option("--pareto-point", min=0.0, max=1.0, help="pareto: 0 the cheapest end, 1 the best."),
    ] = None,
    freshness_days: Annotated[
        float | None, typer.Option("--freshness-days", help="Ignore runs older than this.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Stored with the version.")] = None,
    activate: Annotated[bool, typer.Option("--activate", help="Make it the active policy.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print it; store nothing.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write it as JSON/YAML.")] = None,
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """Build a routing policy from the latest eligible runs: per class the endpoint
    that meets every constraint under the objective, fallbacks by quality, with the
    evidence. With --class, the active policy's other classes are kept as they are."""
    from ..routing import BuildOptions, build_policy, save_policy

    try:
        project, store = _open(config, db)
        base = None
        if task_class and suite is None:
            from ..config import PolicyDocument as _Document
            from ..store import PolicyStore

            active = PolicyStore(store).active()
            base = None if active is None else _Document.model_validate(active.document)
        options = BuildOptions(
            base=base,
            classes=tuple(task_class or ()),
            suite=suite,
            constraints=_constraints(min_score, max_cost_per_success, max_p95_ms, max_error_rate),
            objective=objective,
            pareto_point=pareto_point,
            freshness_days=freshness_days,
            note=note,
        )
        policy = build_policy(store, project, options)
        version = None
        if not dry_run:
            version = save_policy(
                store,
                project,
                policy,
                source="build",
                note=note,
                activate=activate,
                reason="route build --activate",
            )
        if output is not None:
            write_output(output, _dump(policy, output, version), "policy")
    except BenchrouteError as exc:
        fail(exc)
        return
    print_policy(policy, version, wide=wide)
    if version is not None:
        state = (
            "active" if activate else "stored (not active: benchroute route activate " + str(version) + ")"
        )
        err_console.print(f"policy v{version} {state}", highlight=False, markup=False)


def _dump(policy: PolicyDocument, path: Path, version: int | None) -> str:
    data = policy.to_json()
    if version is not None:
        data["version"] = version
    if path.suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_dump(data, sort_keys=False)
    return json.dumps(data, indent=2) + "\n"


@route_app.command("show")
def route_show(
    version: Annotated[str | None, typer.Argument(help="Version (N), 'active' (default) or a file.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table | json | yaml")] = "table",
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """Show a policy: each class's route with its evidence, canary and rejected candidates."""
    try:
        if output_format not in ("table", "json", "yaml"):
            raise BenchrouteError(f"--format {output_format!r}: expected table, json or yaml")
        _project, store = _open(config, db)
        label, policy = _policy_arg(store, version or "active")
    except BenchrouteError as exc:
        fail(exc)
        return
    number = int(label[1:]) if label.startswith("v") and label[1:].isdigit() else None
    if output_format == "table":
        print_policy(policy, number, wide=wide)
        return
    data = policy.to_json()
    if number is not None:
        data["version"] = number
    if output_format == "json":
        typer.echo(json.dumps(data, indent=2))
    else:
        import yaml

        typer.echo(yaml.safe_dump(data, sort_keys=False), nl=False)


@route_app.command("diff")
def route_diff(
    old: Annotated[str, typer.Argument(help="Version (N), 'active' or a policy file.")],
    new: Annotated[
        str | None, typer.Argument(help="Version, 'active' or a file (default: the newest).")
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """What changed between two policies: routes, primaries, figures, runs, constraints,
    rejections, canaries, rules."""
    from ..routing import diff_policies
    from ..store import PolicyStore

    try:
        _project, store = _open(config, db)
        old_label, before = _policy_arg(store, old)
        if new is None:
            latest = PolicyStore(store).latest_version()
            if latest is None:
                raise BenchrouteError("no policy is stored")
            new = str(latest)
        new_label, after = _policy_arg(store, new)
    except BenchrouteError as exc:
        fail(exc)
        return
    lines = diff_policies(before, after)
    console.print(f"{old_label} -> {new_label}", highlight=False, markup=False)
    if not lines:
        console.print("  no change in routes, figures or rules", highlight=False, markup=False)
    for line in lines:
        console.print("  " + line, highlight=False, markup=False, soft_wrap=True)


@route_app.command("history")
def route_history(
    limit: Annotated[int, typer.Option("--last", min=1, help="Newest N versions.")] = 20,
    config: ConfigOption = None,
    db: DbOption = None,
    wide: WideOption = False,
) -> None:
    """Stored policy versions and when each was active."""
    from ..config import PolicyDocument
    from ..reports import print_fitted
    from ..store import PolicyStore

    try:
        _project, store = _open(config, db)
        policies = PolicyStore(store)
        stored = policies.policies(limit=limit)
        activations = policies.activations()
        if not stored:
            raise BenchrouteError("no policy is stored", hint="build one: benchroute route build")
    except BenchrouteError as exc:
        fail(exc)
        return
    active = activations[0].version if activations else None
    table = Table(show_edge=False, pad_edge=False)
    for column in ("version", "created", "source", "primaries", "activated", "note"):
        table.add_column(column)
    for item in stored:
        doc = PolicyDocument.model_validate(item.document)
        primaries = ", ".join(f"{name}:{k.route[0].model}" for name, k in doc.classes.items())
        times = [a for a in activations if a.version == item.version]
        activated = (
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(times[0].created_ts)) + f" ({len(times)}x)"
            if times
            else "—"
        )
        table.add_row(
            f"v{item.version}" + (" *" if item.version == active else ""),
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(item.created_ts)),
            item.source,
            primaries,
            activated,
            item.note or "",
        )
    print_fitted(console, table, ("note", "activated", "source"), wide=wide, keep={"version", "primaries"})
    err_console.print("* = active", highlight=False, markup=False)


@route_app.command("activate")
def route_activate(
    policy: Annotated[
        str, typer.Argument(help="A stored version (N) or a policy file (JSON/YAML) to store.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Recorded with the activation.")] = "route activate",
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Make a policy active; running gateways serve it within `routing.reload_s`, without a
    restart. A policy that cannot be served is refused and the active one stays."""
    from ..routing import activate_policy, save_policy

    try:
        project, store = _open(config, db)
        bare = policy[1:] if policy[:1] in ("v", "V") else policy
        if bare.isdigit():
            version = int(bare)
            activate_policy(store, project, version, reason)
        else:
            _label, document = _policy_arg(store, policy)
            version = save_policy(
                store, project, document, source="file", note=policy, activate=True, reason=reason, reuse=True
            )
    except BenchrouteError as exc:
        fail(exc)
        return
    console.print(f"policy v{version} active", highlight=False, markup=False)


def _end_canary(action: str, task_class: str, reason: str, config: Path | None, db: str | None) -> None:
    from ..routing import promote_canary, rollback_canary

    end = promote_canary if action == "promoted" else rollback_canary
    try:
        project, store = _open(config, db)
        version = end(store, project, task_class, reason)
    except BenchrouteError as exc:
        fail(exc)
        return
    console.print(
        f"class {task_class}: canary {action} · policy v{version} active", highlight=False, markup=False
    )


@route_app.command("promote")
def route_promote(
    task_class: Annotated[str, typer.Argument(help="The class whose canary becomes its primary.")],
    reason: Annotated[str, typer.Option("--reason")] = "promoted by hand",
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Promote a class's canary: it becomes the primary in a new active version."""
    _end_canary("promoted", task_class, reason, config, db)


@route_app.command("rollback")
def route_rollback(
    task_class: Annotated[str, typer.Argument(help="The class whose canary ends.")],
    reason: Annotated[str, typer.Option("--reason")] = "rolled back by hand",
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Roll back a class's canary: a new active version without it, the route unchanged."""
    _end_canary("rolled back", task_class, reason, config, db)


@route_app.command("canary")
def route_canary(
    task_class: Annotated[str, typer.Argument(help="The class whose canary to test.")],
    version: Annotated[
        int | None, typer.Option("--policy", help="Policy version (default: the active one).")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table | json")] = "table",
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Both arms of a class's canary from the request log and feedback, and what the
    sequential test says now: promote, roll back, or continue."""
    from ..routing import canary_arms, canary_criteria, evaluate_canary

    try:
        if output_format not in ("table", "json"):
            raise BenchrouteError(f"--format {output_format!r}: expected table or json")
        _project, store = _open(config, db)
        number, policy = _load_version(store, version)
        klass = policy.classes.get(task_class)
        if klass is None:
            raise BenchrouteError(
                f"policy v{number} has no class {task_class!r}", hint="classes: " + ", ".join(policy.classes)
            )
        if klass.canary is None:
            raise BenchrouteError(f"class {task_class!r} of policy v{number} has no canary")
        arms = canary_arms(store, number, task_class)
        verdict = evaluate_canary(arms["primary"], arms["canary"], canary_criteria(klass.canary.criteria))
    except BenchrouteError as exc:
        fail(exc)
        return
    if output_format == "json":
        body = {
            "policy_version": number,
            "class": task_class,
            "canary": klass.canary.model,
            "arms": {name: arm.to_json() for name, arm in arms.items()},
            "verdict": {"action": verdict.action, "reason": verdict.reason, "guardrail": verdict.guardrail},
        }
        typer.echo(json.dumps(body, indent=2, default=str))
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("arm", "model", "requests", "errors", "p95 ms", "feedback", "judge", "cost/request"):
        table.add_column(column, justify="left" if column in ("arm", "model") else "right")
    primary_model = klass.route[0].model
    for name, arm in arms.items():
        table.add_row(
            name,
            klass.canary.model if name == "canary" else primary_model,
            f"{arm.requests:,}",
            _num(arm.error_rate, "{:.1%}"),
            _num(arm.p95_ms, "{:,.0f}"),
            f"{arm.feedback.mean:.3f} (n {arm.feedback.n})" if arm.feedback.n else "—",
            f"{arm.judge.mean:.3f} (n {arm.judge.n})" if arm.judge.n else "—",
            _money(arm.cost.mean if arm.cost.n and not arm.unpriced else None),
        )
    console.print(
        f"policy v{number} · class {task_class} · canary {klass.canary.model} {klass.canary.percent:g}%",
        highlight=False,
        markup=False,
    )
    console.print(table)
    console.print(
        f"verdict: {verdict.action} · {verdict.reason}", highlight=False, markup=False, soft_wrap=True
    )


@route_app.command("judge")
def route_judge(
    task_class: Annotated[str | None, typer.Option("--class", help="Only this class.")] = None,
    version: Annotated[
        int | None, typer.Option("--policy", help="Only requests served under this version.")
    ] = None,
    sample: Annotated[int, typer.Option("--sample", min=1, help="Replies per class × arm × model.")] = 50,
    judge: Annotated[
        str | None, typer.Option("--judge", help="Judge model (default: the project's).")
    ] = None,
    criteria: Annotated[str | None, typer.Option("--criteria", help="What the judge checks.")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Judge a sample of logged production replies and store the scores as feedback (source
    judge): canaries and `benchroute correlate` can then use them. Needs
    `gateway.log_payloads: true`."""
    from .._eventloop import run as run_loop
    from ..routing import DEFAULT_CRITERIA, judge_sample

    try:
        project, store = _open(config, db)
        report = run_loop(
            judge_sample(
                store,
                project,
                task_class=task_class,
                policy_version=version,
                sample=sample,
                judge=judge,
                criteria=criteria or DEFAULT_CRITERIA,
                seed=seed,
            )
        )
    except BenchrouteError as exc:
        fail(exc)
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("class/arm/model", "judged", "mean score"):
        table.add_column(column, justify="left" if column == "class/arm/model" else "right")
    for key, values in sorted(report.by_arm.items()):
        table.add_row(key, str(len(values)), f"{sum(values) / len(values):.3f}")
    console.print(table)
    line = f"{report.judged} judged, {report.failed} judge error(s)"
    if report.skipped_no_payload:
        line += f", {report.skipped_no_payload} without stored payloads"
    err_console.print(line, highlight=False, markup=False)
    for error in report.errors:
        err_console.print(f"  judge error: {error}", highlight=False, markup=False)
