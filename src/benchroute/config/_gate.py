"""The ``gate:`` block of a suite file: thresholds a CI run must meet.

Each threshold applies to every model the suite ran on (or only to ``models:`` when given),
over that suite's stored results with quarantined cases left out. A threshold that is not
set is not checked. ``benchroute run`` exits 1 when any threshold fails.

.. code-block:: yaml

    gate:
      min_pass_rate: 0.9          # share of results that passed, 0..1
      max_cost_per_success: 0.002 # USD
      max_p95_ms: 1500
      min_metric: {factuality: 0.8}
      models: [gpt-4o-mini]
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GateSpec(BaseModel):
    """Thresholds for one suite, checked per model after a run."""

    model_config = ConfigDict(extra="forbid")

    min_pass_rate: float | None = Field(
        default=None, ge=0, le=1, description="share of results that passed (0..1)"
    )
    min_mean_score: float | None = Field(default=None, ge=0, le=1, description="mean score (0..1)")
    max_cost_per_success: float | None = Field(
        default=None, ge=0, description="USD spent per passing result (fails when nothing passed)"
    )
    max_total_cost: float | None = Field(default=None, ge=0, description="USD spent on the suite")
    max_p95_ms: float | None = Field(default=None, gt=0, description="95th percentile latency (ms)")
    max_error_rate: float | None = Field(
        default=None, ge=0, le=1, description="share of results that ended in an error (0..1)"
    )
    min_metric: dict[str, float] = Field(
        default_factory=dict, description="scorer name -> minimum mean value of that scorer"
    )
    models: list[str] | None = Field(
        default=None, description="check only these models (default: every model the suite ran on)"
    )
