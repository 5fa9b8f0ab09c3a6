"""``ranking:`` in ``benchroute.yaml``: how a team weighs accuracy against cost, tail latency,
retries and efficiency, and which limits a model must keep to be chosen at all."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RankingWeightsSpec(BaseModel):
    """Relative weights; only their ratios matter. ``accuracy`` is the pass rate."""

    model_config = ConfigDict(extra="forbid")

    accuracy: float = Field(default=1.0, ge=0)
    cost: float = Field(default=0.0, ge=0, description="cost per successful output (lower is better)")
    p95_latency: float = Field(default=0.0, ge=0)
    retry_rate: float = Field(default=0.0, ge=0)
    efficiency: float = Field(default=0.0, ge=0, description="token efficiency, when a suite scores it")


class RankingLimitsSpec(BaseModel):
    """Hard limits: a model that breaks one ranks after every model that keeps them."""

    model_config = ConfigDict(extra="forbid")

    max_cost_per_success: float | None = Field(default=None, ge=0, description="USD")
    max_p95_ms: float | None = Field(default=None, gt=0)
    min_pass_rate: float | None = Field(default=None, ge=0, le=1)


class RankingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: RankingWeightsSpec = Field(default_factory=RankingWeightsSpec)
    limits: RankingLimitsSpec = Field(default_factory=RankingLimitsSpec)
