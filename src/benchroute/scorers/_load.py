"""Load-test figures: per-window figures, the saturation point, and SLO checks.

These score a stress run: the runner computes them when it writes the one result of a
(suite, model) load (its SLO checks are that result's scores), and analysis and reports read
the same figures back. They live in ``scorers``, below both ``runner`` and ``analysis``, so
the runner never imports analysis; ``benchroute.analysis`` re-exports every name.

The input is the per-request samples of one (suite, model) load (see
:class:`benchroute.store.LoadSample`). Time is cut into windows of ``window_s`` seconds
from the start of the load. A request belongs to the window in which the profile
*scheduled* it, so the offered load and the error rates of a window describe what was asked
for then, whatever the server did; a success counts toward a window's achieved throughput
and goodput in the window in which it *completed*. Latency percentiles are over successful
requests only (a fast 429 is not a fast answer).

The saturation point is the offered load of the first window of the first run of
``sustain`` consecutive windows in which p95 latency exceeds the latency budget or the
share of failed requests (429s and errors) exceeds the error limit. Requiring a sustained
breach keeps one noisy window from being called saturation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .._stats import percentile

if TYPE_CHECKING:
    from ..store import LoadSample

__all__ = [
    "LoadSummary",
    "LoadWindow",
    "SLOCheck",
    "Saturation",
    "check_slos",
    "load_windows",
    "saturation_point",
    "summarize_load",
]

FAILED = frozenset({"rate_limited", "error", "timeout", "dropped"})


@dataclass(frozen=True, slots=True)
class LoadWindow:
    """The figures of one analysis window."""

    start_s: float
    width_s: float
    requests: int
    ok: int
    rate_limited: int
    errors: int  # error, timeout and dropped
    offered_rps: float
    achieved_rps: float
    goodput_rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    rate_limited_rate: float
    error_rate: float
    retry_rate: float

    @property
    def failure_rate(self) -> float:
        return self.rate_limited_rate + self.error_rate


@dataclass(frozen=True, slots=True)
class Saturation:
    """Where a load test first saturated a model."""

    offered_rps: float
    at_s: float
    reason: str


@dataclass(slots=True)
class LoadSummary:
    """Totals of one (suite, model) load, its windows and its saturation point."""

    suite: str
    model: str
    requests: int
    ok: int
    rate_limited: int
    errors: int
    timeouts: int
    dropped: int
    retried: int
    duration_s: float
    offered_rps: float
    achieved_rps: float
    goodput_rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    ttft_p99_ms: float | None
    rate_limited_rate: float
    error_rate: float  # errors other than 429: error, timeout, dropped
    failure_rate: float
    retry_rate: float
    lag_p99_ms: float | None  # how late the generator sent requests (sent - scheduled)
    latency_budget_ms: float
    saturation: Saturation | None
    windows: list[LoadWindow] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """The totals and the saturation point as plain JSON-able values (no windows)."""
        data = asdict(self)
        data.pop("windows")
        return data


@dataclass(frozen=True, slots=True)
class SLOCheck:
    """One SLO assertion and whether it held."""

    name: str
    threshold: float
    actual: float | None
    passed: bool
    reason: str


def _completed_s(sample: LoadSample) -> float | None:
    if sample.sent_s is None or sample.latency_ms is None:
        return None
    return sample.sent_s + sample.latency_ms / 1000


def load_windows(
    samples: Sequence[LoadSample],
    *,
    window_s: float = 1.0,
    latency_budget_ms: float = 1000.0,
    duration_s: float | None = None,
) -> list[LoadWindow]:
    """Cut one load's samples into windows of ``window_s`` seconds (see the module doc).

    ``duration_s`` is the length of the load profile (default: up to the last scheduled
    request); the last window is narrower when the profile ends inside it, so its rates are
    not understated.
    """
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    if not samples:
        return []
    span = duration_s if duration_s is not None else max(s.scheduled_s for s in samples)
    count = max(1, math.ceil(span / window_s - 1e-9))
    scheduled: list[list[LoadSample]] = [[] for _ in range(count)]
    achieved = [0] * count
    goodput = [0] * count
    for sample in samples:
        index = min(int(sample.scheduled_s / window_s), count - 1)
        scheduled[index].append(sample)
        if sample.outcome == "ok":
            done = _completed_s(sample)
            if done is not None and int(done / window_s) < count:
                slot = int(done / window_s)
                achieved[slot] += 1
                if sample.latency_ms is not None and sample.latency_ms <= latency_budget_ms:
                    goodput[slot] += 1
    windows: list[LoadWindow] = []
    for index, members in enumerate(scheduled):
        start = index * window_s
        width = max(min(window_s, span - start), window_s * 1e-3) if span > start else window_s
        n = len(members)
        ok_latencies = [s.latency_ms for s in members if s.outcome == "ok" and s.latency_ms is not None]
        ttfts = [s.ttft_ms for s in members if s.outcome == "ok" and s.ttft_ms is not None]
        limited = sum(1 for s in members if s.outcome == "rate_limited")
        errors = sum(1 for s in members if s.outcome in ("error", "timeout", "dropped"))
        retried = sum(1 for s in members if s.retries > 0)
        windows.append(
            LoadWindow(
                start_s=start,
                width_s=width,
                requests=n,
                ok=len(ok_latencies),
                rate_limited=limited,
                errors=errors,
                offered_rps=n / width,
                achieved_rps=achieved[index] / width,
                goodput_rps=goodput[index] / width,
                p50_ms=percentile(ok_latencies, 50),
                p95_ms=percentile(ok_latencies, 95),
                p99_ms=percentile(ok_latencies, 99),
                ttft_p50_ms=percentile(ttfts, 50),
                ttft_p95_ms=percentile(ttfts, 95),
                rate_limited_rate=limited / n if n else 0.0,
                error_rate=errors / n if n else 0.0,
                retry_rate=retried / n if n else 0.0,
            )
        )
    return windows


def _breach(window: LoadWindow, latency_budget_ms: float, error_limit: float) -> str | None:
    if window.requests == 0:
        return None
    if window.failure_rate > error_limit:
        return (
            f"429s + errors {window.failure_rate:.1%} > {error_limit:.1%} "
            f"(429 {window.rate_limited_rate:.1%}, errors {window.error_rate:.1%})"
        )
    if window.p95_ms is not None and window.p95_ms > latency_budget_ms:
        return f"p95 {window.p95_ms:,.0f} ms > budget {latency_budget_ms:,.0f} ms"
    return None


def saturation_point(
    windows: Sequence[LoadWindow],
    *,
    latency_budget_ms: float,
    error_limit: float,
    sustain: int = 2,
) -> Saturation | None:
    """The first sustained breach of the latency budget or the error limit (module doc), or
    None when the load never saturated the model."""
    if sustain < 1:
        raise ValueError("sustain must be at least 1")
    run = 0
    for index, window in enumerate(windows):
        reason = _breach(window, latency_budget_ms, error_limit)
        run = run + 1 if reason is not None else 0
        if run == sustain:
            first = windows[index - sustain + 1]
            first_reason = _breach(first, latency_budget_ms, error_limit) or reason or ""
            return Saturation(offered_rps=first.offered_rps, at_s=first.start_s, reason=first_reason)
    return None


def summarize_load(
    samples: Sequence[LoadSample],
    *,
    suite: str = "",
    model: str = "",
    window_s: float = 1.0,
    latency_budget_ms: float = 1000.0,
    error_limit: float = 0.05,
    sustain_windows: int = 2,
    duration_s: float | None = None,
) -> LoadSummary:
    """Totals, windows and saturation point of one (suite, model) load."""
    windows = load_windows(
        samples, window_s=window_s, latency_budget_ms=latency_budget_ms, duration_s=duration_s
    )
    n = len(samples)
    oks = [s for s in samples if s.outcome == "ok"]
    latencies = [s.latency_ms for s in oks if s.latency_ms is not None]
    ttfts = [s.ttft_ms for s in oks if s.ttft_ms is not None]
    counts = {kind: 0 for kind in ("rate_limited", "error", "timeout", "dropped")}
    for sample in samples:
        if sample.outcome in counts:
            counts[sample.outcome] += 1
    lags = [(s.sent_s - s.scheduled_s) * 1000 for s in samples if s.sent_s is not None and s.retries == 0]
    span = duration_s if duration_s is not None else max((s.scheduled_s for s in samples), default=0.0)
    finished = max((d for s in samples if (d := _completed_s(s)) is not None), default=0.0)
    elapsed = max(span, finished, 1e-9)
    good = sum(1 for v in latencies if v <= latency_budget_ms)
    other_errors = counts["error"] + counts["timeout"] + counts["dropped"]
    return LoadSummary(
        suite=suite,
        model=model,
        requests=n,
        ok=len(oks),
        rate_limited=counts["rate_limited"],
        errors=counts["error"],
        timeouts=counts["timeout"],
        dropped=counts["dropped"],
        retried=sum(1 for s in samples if s.retries > 0),
        duration_s=span,
        offered_rps=n / span if span > 0 else float(n),
        achieved_rps=len(oks) / elapsed,
        goodput_rps=good / elapsed,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        ttft_p50_ms=percentile(ttfts, 50),
        ttft_p95_ms=percentile(ttfts, 95),
        ttft_p99_ms=percentile(ttfts, 99),
        rate_limited_rate=counts["rate_limited"] / n if n else 0.0,
        error_rate=other_errors / n if n else 0.0,
        failure_rate=(counts["rate_limited"] + other_errors) / n if n else 0.0,
        retry_rate=sum(1 for s in samples if s.retries > 0) / n if n else 0.0,
        lag_p99_ms=percentile(lags, 99),
        latency_budget_ms=latency_budget_ms,
        saturation=saturation_point(
            windows, latency_budget_ms=latency_budget_ms, error_limit=error_limit, sustain=sustain_windows
        ),
        windows=windows,
    )


# name -> (summary figure, "max" or "min", unit)
_SLO_FIGURES: dict[str, tuple[str, str, str]] = {
    "p50_ms": ("p50_ms", "max", "ms"),
    "p95_ms": ("p95_ms", "max", "ms"),
    "p99_ms": ("p99_ms", "max", "ms"),
    "ttft_p95_ms": ("ttft_p95_ms", "max", "ms"),
    "error_rate": ("error_rate", "max", "%"),
    "rate_limited_rate": ("rate_limited_rate", "max", "%"),
    "failure_rate": ("failure_rate", "max", "%"),
    "min_goodput_rps": ("goodput_rps", "min", "rps"),
    "min_achieved_rps": ("achieved_rps", "min", "rps"),
    "min_saturation_rps": ("saturation", "min", "rps"),
}


def _show(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.2%}"
    if unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value:,.1f} rps"


def check_slos(summary: LoadSummary, assertions: Mapping[str, float]) -> list[SLOCheck]:
    """Check each SLO (``p95_ms``, ``error_rate``, ``min_goodput_rps``, ...; see
    :class:`benchroute.config.SLOSpec`) against a load's totals."""
    checks: list[SLOCheck] = []
    for name, threshold in assertions.items():
        if name not in _SLO_FIGURES:
            raise ValueError(f"unknown SLO {name!r}; known: {', '.join(_SLO_FIGURES)}")
        figure, direction, unit = _SLO_FIGURES[name]
        label = name.removeprefix("min_").removesuffix("_ms").replace("_", " ")
        if figure == "saturation":
            if summary.saturation is None:
                checks.append(SLOCheck(name, threshold, None, True, "did not saturate"))
                continue
            actual: float | None = summary.saturation.offered_rps
        else:
            actual = getattr(summary, figure)
        if actual is None:
            checks.append(SLOCheck(name, threshold, None, False, f"{label}: no successful requests"))
            continue
        passed = actual <= threshold if direction == "max" else actual >= threshold
        sign = ("<=" if passed else ">") if direction == "max" else (">=" if passed else "<")
        reason = f"{label} {_show(actual, unit)} {sign} {_show(threshold, unit)}"
        checks.append(SLOCheck(name, threshold, actual, passed, reason))
    return checks
