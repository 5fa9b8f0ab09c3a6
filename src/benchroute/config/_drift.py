"""The ``drift:`` block of the project file: how sure, and how large, a shift must be to flag.

A drift check tests every metric of every model of a suite (latest run against a baseline,
and a change-point scan over the series). A finding is *flagged* only when both hold:

* its Benjamini–Hochberg q-value (false-discovery rate over every metric × model tested in
  that check) is below ``alpha``, and
* its effect is at least ``min_effect`` for that metric: an absolute difference for rates
  and scorer values (``pass_rate: 0.03`` = three points), a relative change for latency,
  tokens and cost (``latency_ms: 0.25`` = 25 % slower or faster).

.. code-block:: yaml

    drift:
      alpha: 0.003        # per check; see docs/drift.md for the rate over many checks
      min_effect: {pass_rate: 0.03, refusal_rate: 0.02, latency_ms: 0.3}
      baseline: window     # previous | window (the last `window` runs before the latest)
      window: 20           # runs in the change-point series (and in a window baseline)
      change_point: glr    # glr (binomial / Gaussian scan, exact calibration) | off
      direction: both      # both | worse (improvements are not flagged)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Metrics whose effect is a relative change (latest / baseline - 1); every other metric's
# effect is an absolute difference (rates and scorer values live on 0..1).
RELATIVE_METRICS = frozenset({"latency_ms", "tokens_out", "cost_usd"})

DEFAULT_MIN_EFFECT: dict[str, float] = {
    "pass_rate": 0.03,
    "error_rate": 0.03,
    "refusal_rate": 0.03,
    "latency_ms": 0.25,
    "tokens_out": 0.20,
    "cost_usd": 0.10,
    "score": 0.05,  # any `score:<scorer>` metric without its own entry
}


class DriftSpec(BaseModel):
    """Tolerances and methods of ``benchroute drift`` (the project file's ``drift:`` block)."""

    model_config = ConfigDict(extra="forbid")

    # Per check. `benchroute watch` checks after every run, and false alarms add up over the
    # checks: 0.003 keeps 20-run noise histories flag-free in 99-100 of 100 (drift_power.py).
    alpha: float = Field(
        default=0.003,
        gt=0,
        lt=0.5,
        description="false-discovery rate (Benjamini–Hochberg) over every metric × model of a check",
    )
    min_effect: dict[str, float] = Field(
        default_factory=dict,
        description="metric -> smallest effect worth a flag (absolute for rates and scores, "
        "relative for latency_ms, tokens_out, cost_usd); merged over the defaults",
    )
    baseline: Literal["previous", "window"] = Field(
        default="previous", description="what the latest run is compared with by default"
    )
    window: int = Field(
        default=20, ge=2, le=500, description="runs in the change-point series and in a window baseline"
    )
    change_point: Literal["glr", "off"] = Field(
        default="glr", description="change-point scan over the series (glr) or none (off)"
    )
    direction: Literal["both", "worse"] = Field(
        default="both", description="flag shifts both ways, or only those that make a model worse"
    )
    resamples: int = Field(default=2000, ge=200, le=100_000, description="bootstrap / Monte Carlo draws")
    seed: int = Field(default=0, description="seed of every resampling: a check prints the same figures")

    @field_validator("min_effect")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for metric, effect in value.items():
            if effect < 0:
                raise ValueError(f"min_effect.{metric}: must be 0 or more, got {effect}")
        return value

    def effect_threshold(self, metric: str) -> float:
        """The smallest effect worth a flag for ``metric`` (its own entry, then the defaults;
        ``score:<name>`` falls back to ``score``)."""
        merged = {**DEFAULT_MIN_EFFECT, **self.min_effect}
        if metric in merged:
            return merged[metric]
        if metric.startswith("score:"):
            return merged["score"]
        return 0.0

    @staticmethod
    def is_relative(metric: str) -> bool:
        """Whether ``metric``'s effect is a relative change rather than a difference."""
        return metric in RELATIVE_METRICS
