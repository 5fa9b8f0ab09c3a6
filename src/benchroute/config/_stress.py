"""Stress-tier configuration: load profiles, the analysis settings, and SLO assertions.

A stress suite sends its dataset's prompts (cycled) to each model following a load
profile. Every profile is bounded twice: by ``duration_s`` (required) and by
``max_requests``, so a load test always ends. Open-loop profiles (every kind but
``constant_concurrency``) are described as a list of segments with a linearly changing
rate; the runner turns those into a timetable of arrivals before it sends anything, so a
slow server can never slow the offered load down.

```yaml
tier: stress
load:
  profile: {kind: ramp, start_rps: 10, end_rps: 200, duration_s: 60}
  latency_budget_ms: 800
slo: {p95_ms: 800, error_rate: 0.01}
```
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

# A soak runs for a day at most; a longer test is a monitoring job, not a benchmark.
MAX_DURATION_S = 86_400.0
MAX_REQUESTS = 5_000_000
DEFAULT_MAX_REQUESTS = 100_000

Segment = tuple[float, float, float]
"""``(duration_s, start_rps, end_rps)``: a stretch of time whose arrival rate changes
linearly from ``start_rps`` to ``end_rps``."""


class _Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    duration_s: float = Field(gt=0, le=MAX_DURATION_S, description="the profile ends after this long")
    max_requests: int = Field(
        default=DEFAULT_MAX_REQUESTS, ge=1, le=MAX_REQUESTS, description="and after this many requests"
    )

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("duration_s") is None and "steps" not in data:
            raise ValueError(
                "the profile is unbounded: give duration_s (seconds); every load profile ends "
                "after duration_s or max_requests, whichever comes first"
            )
        return data

    @property
    def open_loop(self) -> bool:
        """True when arrivals follow a timetable whatever the server does."""
        return True

    def segments(self) -> list[Segment]:
        """The arrival rate over time (open-loop profiles)."""
        raise NotImplementedError

    def peak_rps(self) -> float:
        return max(max(start, end) for _, start, end in self.segments())


class ConstantConcurrency(_Profile):
    """Closed loop: ``concurrency`` virtual users, each sending its next request as soon as
    the previous one is answered."""

    kind: Literal["constant_concurrency"]
    concurrency: int = Field(ge=1, le=10_000)

    @property
    def open_loop(self) -> bool:
        return False

    def segments(self) -> list[Segment]:
        return []

    def peak_rps(self) -> float:
        return 0.0


class ConstantRate(_Profile):
    """Open loop: ``rps`` arrivals per second for ``duration_s``."""

    kind: Literal["constant_rate"]
    rps: float = Field(gt=0, le=100_000)

    def segments(self) -> list[Segment]:
        return [(self.duration_s, self.rps, self.rps)]


class Ramp(_Profile):
    """Open loop: the rate rises linearly from ``start_rps`` to ``end_rps`` over ``duration_s``."""

    kind: Literal["ramp"]
    start_rps: float = Field(ge=0, le=100_000)
    end_rps: float = Field(gt=0, le=100_000)

    @field_validator("end_rps")
    @classmethod
    def _rises(cls, value: float, info: ValidationInfo) -> float:
        start = info.data.get("start_rps")
        if start is not None and value <= start:
            raise ValueError(
                f"end_rps ({value:g}) must be above start_rps ({start:g}): a ramp rises; "
                "swap the two, or use kind: step with a negative step_rps for a falling load"
            )
        return value

    def segments(self) -> list[Segment]:
        return [(self.duration_s, self.start_rps, self.end_rps)]


class Step(_Profile):
    """Open loop: ``steps`` plateaus of ``step_duration_s`` each, starting at ``start_rps``
    and changing by ``step_rps`` from one plateau to the next. ``duration_s`` defaults to
    ``steps * step_duration_s``."""

    kind: Literal["step"]
    start_rps: float = Field(gt=0, le=100_000)
    step_rps: float = Field(description="change per step; negative for a falling staircase")
    step_duration_s: float = Field(gt=0, le=MAX_DURATION_S)
    steps: int = Field(ge=1, le=10_000)

    @model_validator(mode="before")
    @classmethod
    def _default_duration(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("duration_s") is None:
            # A missing or bad field is reported by its own validator.
            with contextlib.suppress(KeyError, TypeError, ValueError):
                data = {**data, "duration_s": float(data["steps"]) * float(data["step_duration_s"])}
        return data

    @model_validator(mode="after")
    def _rates_stay_positive(self) -> Step:
        last = self.start_rps + (self.steps - 1) * self.step_rps
        if self.step_rps == 0:
            raise ValueError("step_rps is 0: every step would be the same; use kind: constant_rate")
        if last <= 0 or last > 100_000:
            raise ValueError(
                f"the last step's rate would be {last:g} rps; keep every step between 0 and 100000 "
                "rps (fewer steps or a smaller step_rps)"
            )
        return self

    def segments(self) -> list[Segment]:
        out: list[Segment] = []
        left = self.duration_s
        for index in range(self.steps):
            if left <= 0:
                break
            rate = self.start_rps + index * self.step_rps
            span = min(self.step_duration_s, left)
            out.append((span, rate, rate))
            left -= span
        return out


class Spike(_Profile):
    """Open loop: ``base_rps`` with a burst of ``spike_rps`` from ``spike_start_s`` lasting
    ``spike_duration_s``."""

    kind: Literal["spike"]
    base_rps: float = Field(gt=0, le=100_000)
    spike_rps: float = Field(gt=0, le=100_000)
    spike_start_s: float = Field(ge=0)
    spike_duration_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _spike_fits(self) -> Spike:
        if self.spike_rps <= self.base_rps:
            raise ValueError(f"spike_rps ({self.spike_rps:g}) must be above base_rps ({self.base_rps:g})")
        if self.spike_start_s + self.spike_duration_s > self.duration_s:
            raise ValueError(
                f"the spike ends at {self.spike_start_s + self.spike_duration_s:g} s, after "
                f"duration_s ({self.duration_s:g} s); start it earlier or lengthen duration_s"
            )
        return self

    def segments(self) -> list[Segment]:
        tail = self.duration_s - self.spike_start_s - self.spike_duration_s
        parts = [
            (self.spike_start_s, self.base_rps, self.base_rps),
            (self.spike_duration_s, self.spike_rps, self.spike_rps),
            (tail, self.base_rps, self.base_rps),
        ]
        return [p for p in parts if p[0] > 0]


class Soak(_Profile):
    """Open loop: a steady, usually moderate ``rps`` held for a long (but bounded) time, to
    surface leaks and slow degradation."""

    kind: Literal["soak"]
    rps: float = Field(gt=0, le=100_000)

    def segments(self) -> list[Segment]:
        return [(self.duration_s, self.rps, self.rps)]


LoadProfile = Annotated[
    ConstantConcurrency | ConstantRate | Ramp | Step | Spike | Soak,
    Field(discriminator="kind"),
]


class LoadSpec(BaseModel):
    """How a stress suite loads each model and how its measurements are judged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: LoadProfile
    arrivals: Literal["uniform", "poisson"] = Field(
        default="uniform", description="open loop: evenly spaced arrivals, or a Poisson process"
    )
    seed: int = Field(default=0, description="seed of the Poisson arrivals")
    latency_budget_ms: float = Field(
        default=1000.0, gt=0, description="a success slower than this is not goodput"
    )
    error_limit: float = Field(
        default=0.05, ge=0, le=1, description="saturation: (429 + error) share of a window above this"
    )
    window_s: float = Field(default=1.0, gt=0, le=3600, description="width of the analysis windows")
    sustain_windows: int = Field(
        default=2, ge=1, le=1000, description="saturation: consecutive windows over budget or limit"
    )
    max_in_flight: int = Field(
        default=1024,
        ge=1,
        le=100_000,
        description="open loop: requests in flight at most; an arrival beyond it is 'dropped'",
    )
    connections: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description=(
            "HTTP connections to the model at most (default: max_in_flight for open-loop "
            "profiles, the concurrency for constant_concurrency); a request that finds every "
            "connection busy waits for one, and the wait counts in its latency"
        ),
    )
    respect_limits: bool = Field(
        default=True, description="apply the model's rpm/tpm client-side (false: let the server refuse)"
    )
    retries: int = Field(default=0, ge=0, le=10, description="retries of a 429/5xx/timeout (off: measured)")
    timeout_s: float | None = Field(
        default=None, gt=0, description="per request (default: the model's timeout)"
    )


class SLOSpec(BaseModel):
    """Service-level objectives a stress suite asserts per model; any that fails fails the
    suite. Latencies are over successful requests; rates are shares of all requests sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p50_ms: float | None = Field(default=None, gt=0)
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=None, gt=0)
    ttft_p95_ms: float | None = Field(default=None, gt=0)
    error_rate: float | None = Field(default=None, ge=0, le=1, description="errors other than 429")
    rate_limited_rate: float | None = Field(default=None, ge=0, le=1, description="429 answers")
    failure_rate: float | None = Field(default=None, ge=0, le=1, description="429s and other errors")
    min_goodput_rps: float | None = Field(default=None, ge=0)
    min_achieved_rps: float | None = Field(default=None, ge=0)
    min_saturation_rps: float | None = Field(
        default=None, ge=0, description="the model must not saturate below this offered load"
    )

    def assertions(self) -> dict[str, float]:
        """The objectives that are set, by name."""
        return {name: value for name, value in self.model_dump().items() if value is not None}
