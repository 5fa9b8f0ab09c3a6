"""Project and suite definitions as pydantic models.

The same objects are built from YAML (``load_project``/``load_suite``) or directly in Python.
Every model forbids unknown fields so a misspelt key fails with its file and line instead of
being ignored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .._errors import ConfigError
from ..types import Message
from ._conversation import SimulatedUser, StopCondition, Turn, check_case
from ._datasets import DatasetsSpec
from ._drift import DriftSpec
from ._gate import GateSpec
from ._gateway import GatewaySpec
from ._media import Attachment, DegradeSpec, LatencyBudget, MediaSpec, Modality, split_attachments
from ._monitor import AlertsSpec, ScheduleSpec, WatchSpec
from ._ranking import RankingSpec
from ._routing import RoutingSpec
from ._stress import LoadSpec, SLOSpec
from ._tiers import TierRules, find_tier

# Names and ids are stored in columns of this many characters (PostgreSQL enforces it).
MAX_NAME = 200
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseMessage(Message):
    """A message in a suite file: strict, unlike the request's (a misspelt key is an error)."""

    model_config = ConfigDict(extra="forbid")


class PriceOverride(_Strict):
    """Per-model prices in USD per million tokens; overrides genai-prices."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(default=None, ge=0)
    cache_write_per_mtok: float | None = Field(
        default=None, ge=0, description="prompt-cache writes (default: the input price)"
    )


# Headers that carry credentials: their values must come from api_key_env, never the file.
_AUTH_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie"}
)


# Query parameters that carry credentials (some gateways take the key in the URL).
_CREDENTIAL_PARAMS = ("key", "token", "secret", "password", "signature", "sig", "auth")


def _reject_url_credentials(url: str) -> None:
    """A base URL must not carry a key: the config is snapshotted into every stored run."""
    from urllib.parse import parse_qsl, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return  # the provider reports a malformed URL when it is used
    if "@" in parts.netloc:
        raise ValueError(
            "base_url: a user:password@ part is not allowed: it would store the credential with "
            "every run; put the key in an environment variable and name it in api_key_env"
        )
    for name, _ in parse_qsl(parts.query, keep_blank_values=True):
        if any(word in name.lower().replace("-", "_") for word in _CREDENTIAL_PARAMS):
            raise ValueError(
                f"base_url: the query parameter {name!r} looks like a credential and is not allowed: "
                "it would be stored with every run; put the key in an environment variable and "
                "name it in api_key_env"
            )


class ModelSpec(_Strict):
    """A named model endpoint from ``benchroute.yaml``.

    The API key is never part of the configuration: ``api_key_env`` names the environment
    variable that holds it.
    """

    # A rejected inline key must not be echoed back in the ValidationError text.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = ""
    provider: str = Field(description="registry name: openai, anthropic, local, or a plugin's")
    model: str = Field(description="model id at the provider (for local: smollm2 or a .gguf path)")
    base_url: str | None = None
    api_key_env: str | None = None
    rpm: float | None = Field(default=None, gt=0, description="requests per minute limit")
    tpm: float | None = Field(default=None, gt=0, description="tokens per minute limit")
    timeout: float = Field(default=60.0, gt=0, description="seconds per request")
    max_retries: int = Field(default=8, ge=0)
    stream: bool = False
    system_prompt: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    prices: PriceOverride | None = None
    price_provider: str | None = Field(
        default=None,
        description="genai-prices provider id to price this model with (a proxy or compatible "
        "endpoint serving e.g. openai's models); default: the provider, or the base_url's",
    )
    compute_usd_per_hour: float | None = Field(
        default=None, ge=0, description="local models: cost of the machine per hour of generation"
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="settings of the provider kind, validated by that kind's settings model "
        "(local: threads, context_size)",
    )

    @model_validator(mode="before")
    @classmethod
    def _reject_inline_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = _move_local_settings(data)
            for key in ("api_key", "key", "token", "secret"):
                if key in data:
                    raise ValueError(
                        f"'{key}' is not allowed: never put a key in a config file; put it in an "
                        "environment variable and name that variable in api_key_env"
                    )
            base_url = data.get("base_url")
            if isinstance(base_url, str):
                _reject_url_credentials(base_url)
            headers = data.get("headers")
            if isinstance(headers, dict):
                for name in headers:
                    if str(name).lower() in _AUTH_HEADERS:
                        raise ValueError(
                            f"headers: {name!r} is not allowed: it would carry a key in the config "
                            "file (and into stored runs); name the key's environment variable in "
                            "api_key_env instead"
                        )
        return data

    @property
    def endpoint_id(self) -> str:
        """The endpoint's stable id: what it is, not what it is called. A hash of the provider
        kind, base URL, model id and params, so one model under two aliases (or renamed
        between runs) is one series in the store, and the gateway's receipts and request log
        name the same endpoint the benchmarks scored."""
        canonical = json.dumps(
            {
                "provider": self.provider,
                "base_url": self.base_url,
                "model": self.model,
                "params": self.params,
            },
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# Settings of the local kind that used to be ModelSpec fields, with their old defaults.
_LOCAL_SETTINGS = {"threads": 1, "context_size": 2048}


def _move_local_settings(data: dict[str, Any]) -> dict[str, Any]:
    """Old files (and stored run snapshots) give ``threads``/``context_size`` at the top of
    every model: a local model's move under ``settings``; another kind's old defaults (what
    every snapshot carries) are dropped; anything else there is an error naming the fix."""
    present = [key for key in _LOCAL_SETTINGS if key in data]
    if not present:
        return data
    data = dict(data)
    settings = dict(data.get("settings") or {})
    for key in present:
        value = data.pop(key)
        if data.get("provider") == "local":
            settings.setdefault(key, value)
        elif value != _LOCAL_SETTINGS[key]:
            raise ValueError(f"'{key}' is a setting of local models (provider: local) only; remove it here")
    if settings:
        data["settings"] = settings
    return data


class ProjectConfig(_Strict):
    """``benchroute.yaml``: the models a project can use and where results are stored."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    models: dict[Name, ModelSpec] = Field(default_factory=dict)
    store: str = Field(default=".benchroute/benchroute.db", description="SQLite path or SQLAlchemy URL")
    imports: list[str] = Field(
        default_factory=list, description="Python files or modules that register custom scorers"
    )
    concurrency: int = Field(default=8, ge=1)
    judge: str | None = Field(default=None, description="default judge model (default: embedded smollm2)")
    embedding_model: str | None = Field(
        default=None, description="'local' (all-MiniLM-L6-v2, the default) or a model with /embeddings"
    )
    ranking: RankingSpec = Field(
        default_factory=RankingSpec, description="weights and hard limits for `benchroute rank`"
    )
    drift: DriftSpec = Field(
        default_factory=DriftSpec, description="tolerances and methods of `benchroute drift`"
    )
    gateway: GatewaySpec = Field(
        default_factory=GatewaySpec, description="aliases and failover of `benchroute gateway serve`"
    )
    routing: RoutingSpec = Field(
        default_factory=RoutingSpec, description="task classes and policy constraints of `benchroute route`"
    )
    watch: WatchSpec = Field(default_factory=WatchSpec, description="what `benchroute watch` runs")
    schedule: dict[str, ScheduleSpec] = Field(default_factory=dict, description="cron schedules of `watch`")
    alerts: AlertsSpec = Field(default_factory=AlertsSpec, description="webhooks for drift and gate alerts")
    datasets: DatasetsSpec = Field(
        default_factory=DatasetsSpec, description="PII scrubbing and defaults of `benchroute dataset`"
    )
    root: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _name_models(self) -> ProjectConfig:
        for name, spec in self.models.items():
            spec.name = name
        return self

    def store_url(self) -> str:
        if "://" in self.store:
            return self.store
        path = Path(self.store)
        if not path.is_absolute():
            path = self.root / path
        return f"sqlite:///{path}"


class Case(_Strict):
    """One test case. ``input`` is the user message (or ``messages`` a whole conversation);
    ``vars`` fill the suite's prompt template; ``expected`` is what scorers compare against."""

    id: Name
    input: str | None = None
    messages: list[CaseMessage] | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    expected: Any = None
    passages: list[str] | None = Field(
        default=None, description="retrieved passages for RAG cases; cited as [1], [2], ..."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(
        default_factory=list, description="images, PDFs or audio sent with the user message (multimodal tier)"
    )

    @field_validator("attachments", mode="before")
    @classmethod
    def _attachment_paths(cls, value: Any) -> Any:
        return [] if value is None or value == "" else split_attachments(value)

    @field_validator("messages", mode="before")
    @classmethod
    def _messages_from_requests(cls, value: Any) -> Any:
        """A suite written in Python may build its messages as ``Message`` objects (the
        request's type): they are checked as the suite file's strict messages are."""
        if isinstance(value, list):
            return [
                m.model_dump(exclude_none=True)
                if isinstance(m, Message) and not isinstance(m, CaseMessage)
                else m
                for m in value
            ]
        return value

    # Conversation tier (see _conversation.py): a script of turns or a simulated user, and
    # assertions on the whole conversation.
    turns: list[Turn] | None = None
    simulated_user: SimulatedUser | None = None
    assertions: list[ScorerEntry] = Field(default_factory=list, description="conversation-level scorers")

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _conversation_fields(self) -> Case:
        check_case(self)
        return self


class DatasetSpec(_Strict):
    """Cases inline, from a JSONL/CSV file with a column mapping, or a stored golden set
    (``golden: support`` with ``version: 3`` to pin one; the newest version otherwise)."""

    cases: list[Case] | None = None
    path: str | None = None
    golden: str | None = Field(default=None, description="a dataset stored by `benchroute dataset`")
    version: int | None = Field(
        default=None, ge=1, description="the version of the golden set (default: newest)"
    )
    format: Literal["jsonl", "csv"] | None = None
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="case field -> column name, e.g. {input: question, expected: answer}",
    )
    limit: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        # A loaded suite keeps its path and carries the resolved cases, so both may be set.
        if self.cases is None and self.path is None and self.golden is None:
            raise ValueError("give 'cases' (inline), 'path' (a JSONL/CSV file) or 'golden' (a stored set)")
        if self.path is not None and self.golden is not None:
            raise ValueError("give either 'path' or 'golden', not both")
        if self.version is not None and self.golden is None:
            raise ValueError("'version' pins a golden set: give 'golden: NAME' too")
        return self


class ScorerSpec(_Strict):
    """A scorer by registry name, its arguments, its weight and its pass threshold."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    weight: float = Field(default=1.0, ge=0)
    threshold: float | None = Field(default=None, ge=0, le=1)
    # The line of this entry in its suite file, set when the suite is loaded: a bad argument
    # is found only when the scorer is built, and its error must still say where it is.
    _line: int | None = PrivateAttr(default=None)

    @property
    def line(self) -> int | None:
        """The line of this entry in its suite file, when it was loaded from one."""
        return self._line

    def at_line(self, line: int | None) -> None:
        """Record the line of this entry in its suite file."""
        self._line = line

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # "- exact" is accepted for "- name: exact"
        return {"name": data} if isinstance(data, str) else data


class ScorerGroup(_Strict):
    """Scorers that pass together: ``all`` must pass, or ``any`` one must. The group's value is
    the weighted mean of its members (``all``) or the best member's (``any``)."""

    all: list[ScorerSpec] | None = None
    any: list[ScorerSpec] | None = None
    name: str | None = None
    weight: float = Field(default=1.0, ge=0)

    @model_validator(mode="after")
    def _one_kind(self) -> ScorerGroup:
        if (self.all is None) == (self.any is None):
            raise ValueError("a scorer group has exactly one of 'all' or 'any'")
        if not (self.all or self.any):
            raise ValueError("a scorer group needs at least one scorer")
        return self

    @property
    def mode(self) -> Literal["all", "any"]:
        return "all" if self.all is not None else "any"

    @property
    def members(self) -> list[ScorerSpec]:
        return self.all if self.all is not None else (self.any or [])

    @property
    def label(self) -> str:
        return self.name or f"{self.mode}({', '.join(m.name for m in self.members)})"


def _scorer_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "group" if ("all" in value or "any" in value) else "scorer"
    return "group" if isinstance(value, ScorerGroup) else "scorer"


ScorerEntry = Annotated[
    Annotated[ScorerSpec, Tag("scorer")] | Annotated[ScorerGroup, Tag("group")],
    Discriminator(_scorer_kind),
]

# A registered tier name (see ._tiers): unit, code, conversation, stress, or a plugin's.
Tier = str


class SuiteSpec(_Strict):
    """A suite: cases, how to prompt, how to score, which models, how often."""

    name: Name
    tier: Tier = "unit"
    description: str = ""
    models: list[str] | None = None
    prompt: str = Field(default="{{ input }}", description="Jinja2 template for the user message")
    system: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    repeats: int = Field(default=1, ge=1)
    pass_at_k: list[int] | None = Field(
        default=None, description="report pass@k for these k (needs repeats >= k): e.g. [1, 5]"
    )
    judge: str | None = Field(default=None, description="judge model for this suite's judge scorers")
    dataset: DatasetSpec
    # At least one, except in stress suites (checked by _stress_fields).
    scorers: list[ScorerEntry] = Field(default_factory=list, validate_default=True)
    gate: GateSpec | None = Field(default=None, description="CI thresholds; see docs/ci.md")
    load: LoadSpec | None = Field(
        default=None, validate_default=True, description="stress tier: the load profile"
    )
    slo: SLOSpec | None = Field(default=None, description="stress tier: SLO assertions")
    media: MediaSpec = Field(
        default_factory=MediaSpec, description="multimodal tier: how attachments are sent"
    )
    degrade: DegradeSpec = Field(
        default_factory=DegradeSpec, description="multimodal tier: degraded copies of the attachments"
    )
    budgets: dict[Modality, LatencyBudget] = Field(
        default_factory=dict, description="latency budgets per modality, e.g. {image: {p95_ms: 5000}}"
    )
    source: str | None = Field(default=None, description="file the suite was loaded from")

    @model_validator(mode="after")
    def _pass_at_k_fits(self) -> SuiteSpec:
        for k in self.pass_at_k or []:
            if k < 1 or k > self.repeats:
                raise ValueError(f"pass_at_k: k={k} needs 1 <= k <= repeats ({self.repeats})")
        return self

    @model_validator(mode="after")
    def _gate_fits(self) -> SuiteSpec:
        if self.gate is None:
            return self
        if self.gate.models and self.models is not None:
            unknown = [m for m in self.gate.models if m not in self.models]
            if unknown:
                raise ValueError(
                    f"gate.models: {', '.join(map(repr, unknown))} not among the suite's models "
                    f"({', '.join(self.models)}): a gate on a model that does not run checks nothing"
                )
        return self

    @field_validator("tier")
    @classmethod
    def _registered_tier(cls, value: str) -> str:
        try:
            find_tier(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("scorers", "load", "slo")
    @classmethod
    def _tier_fields(cls, value: Any, info: ValidationInfo) -> Any:
        rules = _rules(info.data.get("tier"))
        return (
            value if rules is None or info.field_name is None else rules.check_field(info.field_name, value)
        )

    @model_validator(mode="after")
    def _tier_suite(self) -> SuiteSpec:
        rules = _rules(self.tier)
        if rules is not None:
            rules.check_suite(self)
        return self

    def fingerprint(self) -> str:
        """A short hash of everything that determines the suite's requests and scores."""
        # The gate judges results; it changes neither the requests nor the scores.
        payload = self.model_dump(mode="json", exclude={"source", "description", "gate", "budgets"})
        # Fields added with the multimodal tier count only where they are used, so a suite
        # without files keeps the fingerprint it had before they existed.
        if payload.get("media") == MediaSpec().model_dump(mode="json"):
            payload.pop("media", None)
        if payload.get("degrade") == DegradeSpec().model_dump(mode="json"):
            payload.pop("degrade", None)
        for case in (payload.get("dataset") or {}).get("cases") or []:
            if isinstance(case, dict) and not case.get("attachments"):
                case.pop("attachments", None)
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return digest[:16]


def _rules(tier: str | None) -> type[TierRules] | None:
    """The rules of a registered tier; None when the tier itself did not validate (that
    error is reported on its own field)."""
    if tier is None:
        return None
    try:
        return find_tier(tier)
    except ConfigError:
        return None


# The conversation models name ScorerEntry and ScorerSpec (defined above): resolve them now.
for _model in (Turn, StopCondition, SimulatedUser, Case, DatasetSpec, SuiteSpec):
    _model.model_rebuild(_types_namespace={"ScorerEntry": ScorerEntry, "ScorerSpec": ScorerSpec})
