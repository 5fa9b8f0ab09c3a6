"""Checking a policy against the project it is served for, and diffing two policies.

A policy is checked before it is stored, before it is activated and again when a gateway
loads it: a route or canary naming a model the project does not define, or an endpoint id
that no longer matches the model's settings (the evidence then describes another endpoint),
is a problem, and a policy with a problem is never served — the active one stays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import BenchrouteError
from ..config import PolicyDocument, parse_policy

if TYPE_CHECKING:
    from ..config import ProjectConfig


class PolicyError(BenchrouteError):
    """A policy that cannot be served here (the reason names the class and field)."""


def policy_problems(policy: PolicyDocument, project: ProjectConfig) -> list[str]:
    """Why ``policy`` cannot be served with ``project``'s models (empty: it can)."""
    problems: list[str] = []
    for name, klass in policy.classes.items():
        entries = [(f"classes.{name}.route[{i}]", e.model, e.endpoint_id) for i, e in enumerate(klass.route)]
        if klass.canary is not None:
            entries.append((f"classes.{name}.canary", klass.canary.model, klass.canary.endpoint_id))
        for where, model, endpoint_id in entries:
            spec = project.models.get(model)
            if spec is None:
                problems.append(f"{where}: model {model!r} is not defined under models:")
            elif endpoint_id is not None and endpoint_id != spec.endpoint_id:
                problems.append(
                    f"{where}: {model} was measured as endpoint {endpoint_id}, but its settings "
                    f"now make endpoint {spec.endpoint_id}: build the policy again"
                )
    return problems


def checked_policy(data: Any, project: ProjectConfig, *, where: str = "policy") -> PolicyDocument:
    """Parse and check a policy; :class:`PolicyError` with every problem."""
    policy = data if isinstance(data, PolicyDocument) else parse_policy(data, where=where)
    problems = policy_problems(policy, project)
    if problems:
        raise PolicyError(f"{where}: " + "; ".join(problems), hint="the active policy stays in place")
    return policy


def diff_policies(old: PolicyDocument, new: PolicyDocument) -> list[str]:
    """What changed from ``old`` to ``new``, one line per change (empty: the same routes)."""
    lines: list[str] = []
    for name in sorted(set(old.classes) | set(new.classes)):
        before = old.classes.get(name)
        after = new.classes.get(name)
        if before is None:
            lines.append(f"+ class {name}: {' > '.join(e.model for e in after.route)}")  # type: ignore[union-attr]
            continue
        if after is None:
            lines.append(f"- class {name}")
            continue
        old_route = [e.model for e in before.route]
        new_route = [e.model for e in after.route]
        if old_route != new_route:
            lines.append(f"~ {name}: route {' > '.join(old_route)}  ->  {' > '.join(new_route)}")
        if before.route[0].model != after.route[0].model:
            lines.append(
                f"~ {name}: primary {before.route[0].model} -> {after.route[0].model} ({after.route[0].why})"
            )
        old_entries = {e.model: e for e in before.route}
        for entry in after.route:
            prior = old_entries.get(entry.model)
            if prior is None:
                continue
            for field in ("score", "cost_per_success", "p95_ms", "error_rate"):
                a, b = getattr(prior, field), getattr(entry, field)
                if a != b:
                    lines.append(f"~ {name}.{entry.model}.{field}: {_fmt(a)} -> {_fmt(b)}")
            old_runs = [r.run_id for r in prior.runs]
            new_runs = [r.run_id for r in entry.runs]
            if old_runs != new_runs:
                lines.append(f"~ {name}.{entry.model}.runs: {', '.join(old_runs)} -> {', '.join(new_runs)}")
        if before.constraints != after.constraints:
            lines.append(
                f"~ {name}: constraints {before.constraints.model_dump(exclude_none=True)} -> "
                f"{after.constraints.model_dump(exclude_none=True)}"
            )
        if before.objective != after.objective:
            lines.append(f"~ {name}: objective {before.objective} -> {after.objective}")
        old_rejected = {r.model for r in before.rejected}
        new_rejected = {r.model for r in after.rejected}
        for model in sorted(new_rejected - old_rejected):
            reasons = next(r.reasons for r in after.rejected if r.model == model)
            lines.append(f"+ {name}: rejected {model} ({'; '.join(reasons)})")
        for model in sorted(old_rejected - new_rejected):
            lines.append(f"- {name}: no longer rejects {model}")
        old_canary = (
            before.canary.model_dump(exclude={"evidence", "salt", "started_ts"}) if before.canary else None
        )
        new_canary = (
            after.canary.model_dump(exclude={"evidence", "salt", "started_ts"}) if after.canary else None
        )
        if old_canary != new_canary:
            lines.append(f"~ {name}: canary {_canary(old_canary)} -> {_canary(new_canary)}")
    old_rules = [r.model_dump(by_alias=True, exclude_none=True) for r in old.rules]
    new_rules = [r.model_dump(by_alias=True, exclude_none=True) for r in new.rules]
    if old_rules != new_rules:
        lines.append(f"~ rules: {old_rules} -> {new_rules}")
    if old.default_class != new.default_class:
        lines.append(f"~ default_class: {old.default_class} -> {new.default_class}")
    return lines


def _fmt(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _canary(data: dict[str, Any] | None) -> str:
    if data is None:
        return "none"
    return f"{data['model']} {data['percent']:g}%" + (" shadow" if data.get("shadow") else "")
