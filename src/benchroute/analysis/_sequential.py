"""Sequential comparison of a canary arm with the primary arm: error rates that hold when the
figures are checked after every batch.

Why sequential
--------------
A canary is watched while it runs: the gateway looks at both arms every few seconds and acts
as soon as the evidence says so. A fixed-sample test (a t-test, a z-test of two proportions)
checked that way is wrong far more often than its alpha: each look is another chance for noise
to cross the line, and with enough looks a candidate no better than the primary crosses it
almost surely. The tests here are *always valid*: the chance that they *ever* declare a
difference that is not there, over every look however many, stays at most ``alpha``.

The mixture sequential probability ratio test (mSPRT)
-----------------------------------------------------
Johari, Koomen, Pekelis and Walsh, "Always valid inference: continuous monitoring of A/B
tests" (Operations Research 70(3), 2022). Let ``d`` be the observed difference of means,
candidate minus primary, and ``V = s_p^2 / n_p + s_c^2 / n_c`` its variance (each arm's sample
variance plugged in). For the hypothesis "the true difference is theta_0", the likelihood ratio
of the normal approximation, mixed over alternatives ``theta ~ N(theta_0, tau^2)``, is ::

    Lambda(theta_0) = sqrt(V / (V + tau^2)) * exp(tau^2 (d - theta_0)^2 / (2 V (V + tau^2)))

Under the hypothesis it is a nonnegative martingale in the number of samples (for equal arms
it is the paper's ``Lambda_n``), so by Ville's inequality it exceeds ``1 / alpha`` at any time at
most with probability ``alpha``. Hence:

* the always-valid p-value at the current look, ``p = min(1, 1 / Lambda(0))``. The paper's
  p-value is the running minimum of this over the looks; a caller that stops at the first
  look with ``p <= alpha`` (as a canary does: it is promoted or rolled back) acts on exactly
  that, so only the current value is returned and keeping the minimum is the caller's job;
* the always-valid confidence sequence, the ``theta_0`` with ``Lambda(theta_0) < 1 / alpha``::

    d +- sqrt(V (V + tau^2) / tau^2 * (2 log(1 / alpha) + log((V + tau^2) / V)))

  It holds at every look at once with probability ``1 - alpha``; it excludes 0 exactly when
  ``p <= alpha``. The decision reads it: "better" when it lies wholly on the good side of 0
  (above for a higher-is-better figure, below for lower-is-better), "worse" when wholly on the
  bad side, "inconclusive" otherwise.

The mixing variance. ``tau`` is the scale of differences one expects; the test is fastest for
differences near it and valid for any. Unless given, ``tau`` is ``DEFAULT_EFFECT_SIZE`` (0.2)
pooled standard deviations: a "small" standardised effect, the size of a change a model swap
makes on feedback or latency. On a 0/1 figure at 70 % that is about 0.09. Peeking every 50
requests per arm, a 10-point change (70 % to 80 % or 60 %) is then found after a median of
about 400 requests per arm (under 2,000 in every seed tried), and a candidate no different
from the primary is (falsely) decided in 1 to 3 % of canaries run to 6,000-10,000 requests
per arm, under the 5 % bound (tests/routing/test_canary.py measures both).

What the plug-in costs. The guarantee is exact for normal observations of known variance;
here the variance is estimated and the mean is normal only by the central limit theorem, so
it holds approximately, and better the more samples: ``min_samples`` (30 by default, 200 in a
canary) keeps the first looks out. Proportions and scores in [0, 1] (thumbs, pass/fail, judge
scores, error indicators) are well behaved from a few dozen samples. Latency and cost are
skewed and heavy-tailed: their means need more samples before the normal approximation is fair.

Zero variance. When both arms are constant (``V = 0``) there is no spread to weigh the
difference against: the observed difference is taken at face value (interval ``[d, d]``,
p-value 0 when it is not 0, 1 when it is). ``min_samples`` keeps this from deciding on a few
samples.

Running summaries. :class:`SummaryStats` keeps ``(n, mean, m2)`` (Welford's update; Chan,
Golub and LeVeque's merge), so a gateway holds O(1) state per arm and figure and the test
needs nothing else.

Exceeding a limit. :func:`rate_above_p_value` is the one-sample counterpart for an absolute
ceiling on a rate (a canary's error rate against ``max_error_rate``): an exact always-valid
p-value of "the true rate is at most the limit", from a mixture of Bernoulli likelihood
ratios (see its docstring). It needs no normal approximation, which matters for small rates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._drift_stats import betainc

# tau, when not given, in pooled standard deviations of the figure (see the module docstring).
DEFAULT_EFFECT_SIZE = 0.2

_Decision = Literal["better", "worse", "inconclusive"]


@dataclass(slots=True)
class SummaryStats:
    """Running count, mean and sum of squared deviations (``m2``) of a figure.

    ``add`` is Welford's update and ``merge`` folds another summary in (Chan et al.); both
    change this summary in place and are O(1). ``SummaryStats.of(values)`` summarises values
    at once (two passes, exact sums).
    """

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError(f"n must not be negative, got {self.n}")
        if not (math.isfinite(self.mean) and math.isfinite(self.m2)) or self.m2 < 0:
            raise ValueError(f"mean and m2 must be finite and m2 >= 0, got {self.mean} and {self.m2}")
        if self.n == 0 and (self.mean != 0 or self.m2 != 0):
            raise ValueError("an empty summary has mean 0 and m2 0")

    @classmethod
    def of(cls, values: Iterable[float]) -> SummaryStats:
        """The summary of ``values``."""
        data = [float(x) for x in values]
        for x in data:
            _check_finite(x)
        if not data:
            return cls()
        mean = math.fsum(data) / len(data)
        return cls(len(data), mean, math.fsum((x - mean) ** 2 for x in data))

    @classmethod
    def of_events(cls, events: int, trials: int) -> SummaryStats:
        """The summary of ``trials`` 0/1 values of which ``events`` are 1 (no values needed)."""
        if not 0 <= events <= trials:
            raise ValueError(f"expected 0 <= events <= trials, got {events} of {trials}")
        if trials == 0:
            return cls()
        rate = events / trials
        # Sum of squared deviations of 0/1 values: events (1 - rate)^2 + (trials - events) rate^2.
        return cls(trials, rate, events * (1 - rate))

    def add(self, x: float) -> None:
        """Add one value (a NaN or infinity raises ValueError: it would poison the summary)."""
        _check_finite(x)
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def merge(self, other: SummaryStats) -> None:
        """Fold ``other`` into this summary (as if its values had been added here)."""
        if other.n == 0:
            return
        n = self.n + other.n
        delta = other.mean - self.mean
        self.mean += delta * other.n / n
        self.m2 += other.m2 + delta * delta * self.n * other.n / n
        self.n = n

    def copy(self) -> SummaryStats:
        return SummaryStats(self.n, self.mean, self.m2)

    @property
    def variance(self) -> float:
        """The sample variance (divisor ``n - 1``); 0 below two values."""
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "m2": self.m2}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SummaryStats:
        try:
            return cls(int(data["n"]), float(data["mean"]), float(data["m2"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a summary needs numbers n, mean and m2, got {dict(data)!r}") from exc


@dataclass(frozen=True, slots=True)
class SequentialResult:
    """An always-valid comparison of the candidate arm with the primary arm.

    ``difference`` is candidate minus primary; ``low``..``high`` its always-valid interval at
    level ``1 - alpha`` (all three None below ``min_samples`` in either arm). ``p_value`` is
    the always-valid p-value of "no difference" at this look (1.0 below ``min_samples``); the
    running minimum over looks is the caller's to keep. ``decision`` is from the candidate's
    side: "better" when the interval lies wholly on the good side of 0 given
    ``higher_is_better``, "worse" when wholly on the bad side.
    """

    difference: float | None
    low: float | None
    high: float | None
    p_value: float
    n_primary: int
    n_candidate: int
    decision: Literal["better", "worse", "inconclusive"]
    higher_is_better: bool
    alpha: float = 0.05
    tau: float | None = None  # the mixing standard deviation used (None: not computed)


def sequential_compare(
    primary: Sequence[float] | SummaryStats,
    candidate: Sequence[float] | SummaryStats,
    *,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    tau: float | None = None,
    min_samples: int = 30,
) -> SequentialResult:
    """The mSPRT of candidate against primary on a figure's mean (see the module docstring).

    Each arm is its values or a running :class:`SummaryStats` (not changed). ``tau`` is the
    mixing standard deviation, in the figure's units; None uses ``DEFAULT_EFFECT_SIZE`` pooled
    standard deviations. With fewer than ``min_samples`` (at least 2) in either arm the result
    is inconclusive with no difference or interval.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if min_samples < 2:
        raise ValueError(f"min_samples must be at least 2 (a variance needs two values), got {min_samples}")
    if tau is not None and not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a positive number, got {tau}")
    first = primary if isinstance(primary, SummaryStats) else SummaryStats.of(primary)
    second = candidate if isinstance(candidate, SummaryStats) else SummaryStats.of(candidate)
    if first.n < min_samples or second.n < min_samples:
        return SequentialResult(
            None, None, None, 1.0, first.n, second.n, "inconclusive", higher_is_better, alpha, None
        )
    difference = second.mean - first.mean
    variance = first.variance / first.n + second.variance / second.n
    if variance <= 0:
        # Both arms constant: nothing to weigh the difference against (module docstring).
        p_value = 1.0 if difference == 0 else 0.0
        return SequentialResult(
            difference,
            difference,
            difference,
            p_value,
            first.n,
            second.n,
            _decision(difference, difference, higher_is_better),
            higher_is_better,
            alpha,
            tau,
        )
    if tau is None:
        pooled = (first.m2 + second.m2) / (first.n + second.n - 2)
        tau = DEFAULT_EFFECT_SIZE * math.sqrt(pooled)
    spread = tau * tau
    log_ratio = 0.5 * math.log(variance / (variance + spread)) + spread * difference * difference / (
        2 * variance * (variance + spread)
    )
    p_value = math.exp(-log_ratio) if log_ratio > 0 else 1.0
    half_width = math.sqrt(
        variance
        * (variance + spread)
        / spread
        * (2 * math.log(1 / alpha) + math.log((variance + spread) / variance))
    )
    low, high = difference - half_width, difference + half_width
    return SequentialResult(
        difference,
        low,
        high,
        p_value,
        first.n,
        second.n,
        _decision(low, high, higher_is_better),
        higher_is_better,
        alpha,
        tau,
    )


def rate_above_p_value(events: int, trials: int, limit: float) -> float:
    """Always-valid p-value of "the true rate is at most ``limit``" after ``events`` in ``trials``.

    For each rate ``q > limit`` the likelihood ratio of ``q`` against ``limit``,
    ``(q / limit)^events ((1 - q) / (1 - limit))^(trials - events)``, is a supermartingale
    under any true rate up to the limit; so is their mixture over ``q`` uniform on
    ``(limit, 1]``, which has the closed form ::

        M = B(events + 1, trials - events + 1) * (1 - I_limit(events + 1, trials - events + 1))
            / ((1 - limit) * limit^events * (1 - limit)^(trials - events))

    (``B`` the beta function, ``I`` the regularized incomplete beta). By Ville's inequality
    ``M`` ever reaches ``1 / alpha`` with probability at most ``alpha`` when the rate is within
    the limit, however often it is checked; the p-value is ``min(1, 1 / M)`` at this look.
    Exact for 0/1 outcomes: no normal approximation, so it behaves at rates near 0.
    """
    if not 0 <= events <= trials:
        raise ValueError(f"expected 0 <= events <= trials, got {events} of {trials}")
    if not 0 <= limit <= 1:
        raise ValueError(f"limit must be between 0 and 1, got {limit}")
    if limit >= 1 or trials == 0:
        return 1.0
    if limit == 0:  # a single event disproves a rate of 0
        return 0.0 if events else 1.0
    misses = trials - events
    # 1 - I_limit(a, b) = I_(1 - limit)(b, a): the upper tail, computed as a tail.
    upper = betainc(misses + 1, events + 1, 1 - limit)
    if upper <= 0:
        return 1.0
    log_mixture = (
        math.lgamma(events + 1)
        + math.lgamma(misses + 1)
        - math.lgamma(trials + 2)
        + math.log(upper)
        - math.log1p(-limit)
        - events * math.log(limit)
        - misses * math.log1p(-limit)
    )
    return math.exp(-log_mixture) if log_mixture > 0 else 1.0


def _decision(low: float, high: float, higher_is_better: bool) -> _Decision:
    if low > 0:
        return "better" if higher_is_better else "worse"
    if high < 0:
        return "worse" if higher_is_better else "better"
    return "inconclusive"


def _check_finite(x: float) -> None:
    if not math.isfinite(x):
        raise ValueError(f"values must be finite numbers, got {x}")
