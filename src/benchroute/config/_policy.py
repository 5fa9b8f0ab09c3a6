"""The routing policy document: what ``benchroute route build`` writes and the gateway serves.

A policy is a versioned, stored, diffable document (JSON or YAML, the same fields). Per task
class it holds the ordered route (primary first, then the fallbacks), each entry with the
evidence that put it there — the runs, the class metric with its interval, prices, cost per
success, p95 and error rate — the constraints and objective it was chosen under, the
candidates that were rejected and why, and an optional canary. The classification rules are
part of the document, so a new policy can change them without a restart.

.. code-block:: yaml

    format: benchroute.policy/1
    created_ts: 1764770000.0
    default_class: general
    rules: [{class: code, regex: "```"}]
    classes:
      general:
        suites: [smoke]
        metric: pass_rate
        objective: cheapest
        constraints: {min_score: 0.8}
        route:
          - {model: mini, endpoint_id: 3f2a..., role: primary, score: 0.91, ci: [0.86, 0.94], ...}
          - {model: large, endpoint_id: 9c0d..., role: fallback, score: 0.97, ...}
        rejected:
          - {model: tiny, endpoint_id: 11aa..., reasons: ["pass_rate 0.52 < min_score 0.8"]}
        canary: {model: new, endpoint_id: 77be..., percent: 10, sticky: user}

A hand-written document needs only ``format``, ``classes`` and each class's ``route`` of
``{model: ...}`` entries; the evidence fields are optional.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .._errors import ConfigError
from ._routing import CanaryCriteriaSpec, ClassRule, RoutingConstraints
from ._yaml import describe_validation_error, load_yaml

POLICY_FORMAT: Final = "benchroute.policy/1"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class EvidenceRun(_Doc):
    suite: str
    run_id: str
    started_ts: float | None = None
    n: int | None = None


class RouteEntry(_Doc):
    """One endpoint of a class's route, with the evidence behind its place."""

    model: str = Field(min_length=1)
    endpoint_id: str | None = None
    role: Literal["primary", "fallback", "pinned"] = "fallback"
    score: float | None = None
    ci: tuple[float, float] | None = None
    n: int | None = None
    cost_per_success: float | None = None  # None: unknown (unpriced), never 0
    cost_per_request: float | None = None
    p95_ms: float | None = None
    error_rate: float | None = None
    tokens_out: float | None = None
    price: dict[str, float | None] | None = None  # USD per million tokens
    runs: list[EvidenceRun] = Field(default_factory=list)
    why: str | None = None


class RejectedEntry(_Doc):
    model: str
    endpoint_id: str | None = None
    reasons: list[str]
    score: float | None = None
    cost_per_success: float | None = None
    p95_ms: float | None = None
    error_rate: float | None = None
    runs: list[EvidenceRun] = Field(default_factory=list)


class CanaryEntry(_Doc):
    model: str = Field(min_length=1)
    endpoint_id: str | None = None
    percent: float = Field(gt=0, le=100)
    sticky: Literal["user", "session", "key", "request"] = "user"
    shadow: bool = False
    auto: bool = False
    criteria: CanaryCriteriaSpec = Field(default_factory=CanaryCriteriaSpec)
    salt: str = ""  # the split's hash salt: a new canary re-draws its users
    started_ts: float | None = None
    evidence: RouteEntry | None = None


class PolicyClass(_Doc):
    suites: list[str] = Field(default_factory=list)
    metric: str = "pass_rate"
    objective: str | None = None
    constraints: RoutingConstraints = Field(default_factory=RoutingConstraints)
    route: list[RouteEntry] = Field(min_length=1)
    rejected: list[RejectedEntry] = Field(default_factory=list)
    canary: CanaryEntry | None = None

    @model_validator(mode="after")
    def _distinct(self) -> PolicyClass:
        names = [entry.model for entry in self.route]
        if len(set(names)) != len(names):
            raise ValueError("route lists a model twice")
        return self


class PolicyDocument(_Doc):
    """A routing policy (see the module doc)."""

    format: Literal["benchroute.policy/1"] = POLICY_FORMAT
    version: int | None = None  # set by the store
    created_ts: float | None = None
    source: str | None = None
    note: str | None = None
    freshness_days: float | None = None
    objective: str | None = None
    default_class: str | None = None
    rules: list[ClassRule] = Field(default_factory=list)
    classes: dict[str, PolicyClass] = Field(min_length=1)

    @model_validator(mode="after")
    def _classes_exist(self) -> PolicyDocument:
        if self.default_class is not None and self.default_class not in self.classes:
            raise ValueError(f"default_class {self.default_class!r} is not one of classes")
        for index, rule in enumerate(self.rules):
            if rule.class_ not in self.classes:
                raise ValueError(f"rules[{index}].class {rule.class_!r} is not one of classes")
        return self

    def fallback_class(self) -> str:
        return self.default_class or next(iter(self.classes))

    def to_json(self) -> dict[str, Any]:
        """The document as JSON-ready data (``class`` spelt as in the file)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def parse_policy(data: Any, *, where: str = "policy") -> PolicyDocument:
    """A policy document from parsed JSON/YAML data; a :class:`ConfigError` naming the field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a policy is a mapping with 'format' and 'classes'")
    try:
        return PolicyDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(part) for part in first["loc"]) or "(document)"
        raise ConfigError(f"{where}: {loc}: {first['msg']}") from None


def load_policy_file(path: str | Path) -> PolicyDocument:
    """A policy document from a JSON or YAML file, errors as ``file:line: field: ...``."""
    source = load_yaml(Path(path))  # YAML is a superset of JSON
    if not isinstance(source.data, dict):
        raise ConfigError(f"{path}:1: a policy is a mapping with 'format' and 'classes'")
    try:
        return PolicyDocument.model_validate(source.data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source, model=PolicyDocument)) from None
