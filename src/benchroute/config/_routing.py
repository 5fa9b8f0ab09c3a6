"""The ``routing:`` block of the project file: task classes, how a request is classified, and
the constraints a routing policy is built under (``benchroute route build``).

.. code-block:: yaml

    routing:
      default_class: general          # a request no rule matches
      classes:
        summarise:
          suites: [support-summaries]  # the benchmarks that speak for this class
          metric: pass_rate            # or score:<scorer>
          min_score: 0.8               # constraints (each also settable for every class)
          max_cost_per_success: 0.002
          max_p95_ms: 3000
          max_error_rate: 0.05
          objective: cheapest          # cheapest | best_under_budget | weighted | pareto
          pin: [gpt-4o-mini]           # explicit override: these first, in this order
          exclude: [smollm2]
          canary: {model: claude-haiku, percent: 10, sticky: user, shadow: false}
        general: {suites: [smoke]}
      rules:                           # first match wins; every condition of a rule must hold
        - {class: code, regex: "```|\\bdef\\b", tools: false}
        - {class: summarise, keywords: [summarise, summary, tl;dr]}
        - {class: extract, json_mode: true}
        - {class: vision, images: true}
        - {class: long, min_prompt_chars: 8000}
      freshness_days: 14               # older runs are not evidence
      budgets: {gpt-4o: 50}            # USD per day per endpoint; over it, the router skips it
      policy_file: null                # a policy document the gateway watches for changes
      reload_s: 1                      # how often the gateway looks for a new policy

A request reaches the router when its ``model`` is ``benchroute`` (or ``benchroute/auto``),
classified then by the ``x-benchroute-task`` header, else the rules, else ``default_class``;
``benchroute/<class>`` names its class directly. Other model names are the gateway's aliases.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._conversation import check_regex

ROUTED_MODEL = "benchroute"
"""The model name (and ``benchroute/<class>`` prefix) a client sends to be routed."""

Objective = Literal["cheapest", "best_under_budget", "weighted", "pareto"]
OBJECTIVES: tuple[str, ...] = ("cheapest", "best_under_budget", "weighted", "pareto")

_ClassName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]


class RoutingConstraints(BaseModel):
    """What an endpoint must achieve on a class's suites to be chosen at all."""

    model_config = ConfigDict(extra="forbid")

    min_score: float | None = Field(default=None, ge=0, le=1, description="the class metric's floor")
    max_cost_per_success: float | None = Field(default=None, gt=0, description="USD per passing output")
    max_p95_ms: float | None = Field(default=None, gt=0, description="end-to-end p95 latency")
    max_error_rate: float | None = Field(default=None, ge=0, le=1, description="provider errors per request")

    def limits(self) -> RoutingConstraints:
        """Just the four constraints (of a class or of the whole ``routing:`` block)."""
        return RoutingConstraints(
            min_score=self.min_score,
            max_cost_per_success=self.max_cost_per_success,
            max_p95_ms=self.max_p95_ms,
            max_error_rate=self.max_error_rate,
        )

    def merged(self, override: RoutingConstraints) -> RoutingConstraints:
        """These constraints with every field ``override`` sets taking its place."""
        return RoutingConstraints.model_validate(
            {**self.model_dump(), **override.model_dump(exclude_none=True)}
        )


class RoutingWeights(BaseModel):
    """The ``weighted`` objective: utility = quality·w_q − cost·w_c − p95·w_l over the
    candidates' min–max scaled figures (see docs/routing.md)."""

    model_config = ConfigDict(extra="forbid")

    quality: float = Field(default=1.0, ge=0)
    cost: float = Field(default=1.0, ge=0)
    p95: float = Field(default=0.0, ge=0)


class CanaryCriteriaSpec(BaseModel):
    """When a canary is promoted or rolled back on its own (``auto: true``)."""

    model_config = ConfigDict(extra="forbid")

    metric: Literal["feedback", "judge", "error_rate", "latency", "cost"] = "feedback"
    min_samples: int = Field(default=200, ge=10, description="per arm, of the decision metric")
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="false decisions, peeking included")
    max_error_rate: float | None = Field(default=0.05, ge=0, le=1, description="guardrail: rolls back")
    max_error_rate_increase: float | None = Field(
        default=None,
        ge=0,
        lt=1,
        description="guardrail: candidate's error rate over the primary's (off: null)",
    )
    max_p95_ms: float | None = Field(default=None, gt=0, description="guardrail: rolls back")
    guardrail_min_requests: int = Field(default=50, ge=2)
    judge_per_check: int = Field(
        default=20, ge=1, le=1000, description="metric judge: replies per arm judged at each check"
    )


class CanarySpec(BaseModel):
    """A share of a class's traffic sent to a candidate before it is trusted."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="the candidate (a model under models:)")
    percent: float = Field(default=10.0, gt=0, le=100)
    sticky: Literal["user", "session", "key", "request"] = Field(
        default="user",
        description="user: the body's `user` (else the x-benchroute-user header); session: the "
        "x-benchroute-session header; key: the gateway key; request: no stickiness",
    )
    shadow: bool = Field(default=False, description="send to both, always answer with the primary")
    auto: bool = Field(default=False, description="promote or roll back when the criteria say so")
    criteria: CanaryCriteriaSpec = Field(default_factory=CanaryCriteriaSpec)

    @model_validator(mode="after")
    def _shadow_has_no_feedback(self) -> CanarySpec:
        if self.shadow and self.criteria.metric == "feedback":
            raise ValueError(
                "a shadow canary's replies never reach users, so they get no feedback: "
                "set criteria.metric to judge, error_rate, latency or cost"
            )
        return self


class TaskClassSpec(RoutingConstraints):
    """One task class: the suites that measure it and how its endpoint is chosen."""

    suites: list[str] = Field(min_length=1, description="suites whose results speak for this class")
    metric: str = Field(default="pass_rate", description="pass_rate or score:<scorer>")
    candidates: list[str] | None = Field(
        default=None, description="models considered (default: every model with results)"
    )
    objective: Objective | None = None
    pin: list[str] = Field(default_factory=list, description="served first, in this order, as given")
    exclude: list[str] = Field(default_factory=list)
    canary: CanarySpec | None = None

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if value != "pass_rate" and not (value.startswith("score:") and len(value) > 6):
            raise ValueError("expected pass_rate or score:<scorer>")
        return value


class ClassRule(BaseModel):
    """One classification rule; every condition it sets must hold for its class to apply."""

    model_config = ConfigDict(extra="forbid")

    class_: str = Field(alias="class", min_length=1)
    regex: str | None = Field(default=None, description="searched in the last user message")
    keywords: list[str] | None = Field(default=None, description="any of these words (case-insensitive)")
    min_prompt_chars: int | None = Field(default=None, ge=0)
    max_prompt_chars: int | None = Field(default=None, ge=0)
    tools: bool | None = Field(default=None, description="the request offers tools (or not)")
    json_mode: bool | None = Field(default=None, description="response_format is json_object/json_schema")
    images: bool | None = Field(default=None, description="a message carries an image part")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return check_regex(value)

    @model_validator(mode="after")
    def _has_a_condition(self) -> ClassRule:
        conditions = self.model_dump(exclude={"class_"}, exclude_none=True)
        if not conditions:
            raise ValueError("a rule needs at least one condition (regex, keywords, tools, ...)")
        return self


class RoutingSpec(RoutingConstraints):
    """``routing:`` in benchroute.yaml (see the module doc)."""

    classes: dict[_ClassName, TaskClassSpec] = Field(default_factory=dict)
    rules: list[ClassRule] = Field(default_factory=list)
    default_class: str | None = Field(default=None, description="default: the first class")
    objective: Objective = "cheapest"
    weights: RoutingWeights = Field(default_factory=RoutingWeights)
    pareto_point: float = Field(
        default=0.5, ge=0, le=1, description="pareto objective: 0 the cheapest end, 1 the best"
    )
    freshness_days: float = Field(default=14.0, gt=0)
    budgets: dict[str, float] = Field(
        default_factory=dict, description="model -> USD per day; the router skips it once spent"
    )
    policy_file: str | None = Field(default=None, description="a policy document watched for changes")
    reload_s: float = Field(default=1.0, gt=0, le=3600)
    canary_check_s: float = Field(default=10.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _classes_exist(self) -> RoutingSpec:
        if self.default_class is not None and self.classes and self.default_class not in self.classes:
            raise ValueError(f"default_class {self.default_class!r} is not one of classes")
        for index, rule in enumerate(self.rules):
            if self.classes and rule.class_ not in self.classes:
                raise ValueError(f"rules[{index}].class {rule.class_!r} is not one of classes")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.classes)

    def fallback_class(self) -> str | None:
        if self.default_class is not None:
            return self.default_class
        return next(iter(self.classes), None)

    def class_constraints(self, name: str) -> RoutingConstraints:
        """The block's constraints with the class's own taking their place."""
        return self.limits().merged(self.classes[name].limits())


def routing_models(spec: RoutingSpec) -> dict[tuple[str | int, ...], str]:
    """Every model name the routing block mentions, by where (for load-time checks)."""
    found: dict[tuple[str | int, ...], str] = {}
    for name, klass in spec.classes.items():
        for field in ("candidates", "pin", "exclude"):
            for index, model in enumerate(getattr(klass, field) or []):
                found[("routing", "classes", name, field, index)] = model
        if klass.canary is not None:
            found[("routing", "classes", name, "canary", "model")] = klass.canary.model
    for model in spec.budgets:
        found[("routing", "budgets", model)] = model
    return found
