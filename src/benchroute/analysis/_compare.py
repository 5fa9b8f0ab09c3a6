"""Paired comparison of two sets of results: is B better than A, or is the gap noise?

Design
------
The two sides are results of one model each: two models of one run, or one model in two
runs. Both sides answered the same cases, so the comparison is *paired*: each case is its own
control, which removes the variation between easy and hard cases and needs far fewer cases
than comparing two independent means.

Pairing and repeats. Results are matched on ``(suite, case_id, repeat)``; a repeat only one
side has (a run cut short, a suite with fewer repeats) is left out, so both sides of a case
are measured on the same number of samples. The unit of analysis is then the *case*, not the
repeat: the repeats of a case are aggregated per side (mean score, mean cost, mean latency
waited end to end (a cached reply at its original call's), and the case's outcome: passed
when more than half of its repeats passed). Repeats of one case are not independent of each other —
pairing repeat 1 with repeat 1 as if they were separate cases would overstate the evidence —
and their order carries no meaning, so aggregating is both honest and order-free. With one
repeat per case (the default) the case is simply its result. A case whose repeats disagree
is flaky; ``benchroute cases flaky`` lists those.

Statistics, per figure (difference = B - A):

* pass rate — McNemar's test on the cases whose outcome differs (``b``: A passed and B
  failed, ``c``: A failed and B passed). Under "no difference" a discordant case is equally
  likely to go either way, so ``min(b, c)`` is Binomial(b + c, 1/2): the exact two-sided
  p-value is ``min(1, 2 * P(X <= min(b, c)))``. With 25 or more discordant cases the usual
  chi-square approximation with Edwards' continuity correction, ``(|b - c| - 1)^2 / (b + c)``
  on one degree of freedom, is used instead (the correction is floored at 0 so that b == c
  gives p = 1). Which one was used is reported.
* mean score, cost per case, latency — the Wilcoxon signed-rank test on the per-case
  differences (scipy; exact for small samples without ties, normal approximation otherwise).
  It makes no assumption of normality, which cost and latency (skewed, heavy-tailed) violate.
* every figure — a paired bootstrap confidence interval for the difference in means: cases
  are resampled with replacement (the same cases for both sides, which is what keeps the
  pairing), the mean difference computed for each resample, and the interval read off the
  percentiles of those means (percentile method). It is seeded, so a comparison prints the
  same interval every time, and vectorised: all resamples are one numpy gather.

A difference is *significant* only when both agree: p < alpha **and** the 1 - alpha
interval excludes 0. The test says whether there is a difference, the interval says how large
it plausibly is; requiring both keeps a borderline p-value with an interval touching 0 from
being called a win. The verdict reads from B's side: "better" (higher pass rate or score,
lower cost or latency), "worse", or "no significant difference".
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: every command loads this package
    import numpy as np
    from numpy.typing import NDArray

from .._errors import BenchrouteError
from ..store import SCORER_ERROR_KIND, Result, is_load_result
from ._leaderboard import waited_ms

# Discordant cases from which the chi-square approximation replaces the exact binomial test.
EXACT_BELOW = 25
# Resamples held in memory at once (resamples x cases indices); bounds memory for big suites.
_BOOTSTRAP_CELLS = 4_000_000

BETTER = "better"
WORSE = "worse"
NO_DIFFERENCE = "no significant difference"
NO_DATA = "no data"


@dataclass(frozen=True, slots=True)
class McNemarResult:
    """McNemar's test on paired pass/fail outcomes."""

    a_only: int  # b: cases A passed and B failed
    b_only: int  # c: cases A failed and B passed
    statistic: float  # min(b, c) for the exact test, the chi-square value otherwise
    p_value: float
    method: str  # "exact binomial" or "chi-square (continuity corrected)"

    @property
    def discordant(self) -> int:
        return self.a_only + self.b_only


def mcnemar(a_only: int, b_only: int, *, exact: bool | None = None) -> McNemarResult:
    """McNemar's test from the two discordant counts.

    ``a_only`` (b) is the number of pairs where only A passed, ``b_only`` (c) where only B
    passed. ``exact=None`` picks the exact binomial test when ``b + c < 25`` and the
    chi-square test with continuity correction otherwise; ``True``/``False`` force one.
    """
    from scipy import stats  # imported here: scipy.stats takes most of a second to import

    if a_only < 0 or b_only < 0:
        raise ValueError(f"discordant counts must not be negative, got {a_only} and {b_only}")
    n = a_only + b_only
    use_exact = n < EXACT_BELOW if exact is None else exact
    if n == 0:
        method = "exact binomial" if use_exact else "chi-square (continuity corrected)"
        return McNemarResult(a_only, b_only, 0.0, 1.0, method)
    if use_exact:
        smaller = min(a_only, b_only)
        p_value = min(1.0, 2.0 * float(stats.binom.cdf(smaller, n, 0.5)))
        return McNemarResult(a_only, b_only, float(smaller), p_value, "exact binomial")
    statistic = max(abs(a_only - b_only) - 1, 0) ** 2 / n
    p_value = float(stats.chi2.sf(statistic, 1))
    return McNemarResult(a_only, b_only, float(statistic), p_value, "chi-square (continuity corrected)")


def paired_bootstrap_ci(
    differences: Sequence[float] | NDArray[np.float64],
    *,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of paired differences.

    Each resample draws ``len(differences)`` pairs with replacement; the interval is the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles (linear interpolation) of
    the resampled means. Seeded with ``numpy.random.default_rng(seed)`` and drawn as
    ``rng.integers(0, n, (resamples, n))`` — the same draws, and so the same interval, as
    ``scipy.stats.bootstrap(..., method="percentile", rng=default_rng(seed))``.
    """
    import numpy as np

    values = np.asarray(differences, dtype=np.float64)
    n = values.shape[0]
    if n == 0:
        raise ValueError("no differences to resample")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    rng = np.random.default_rng(seed)
    # Drawing in chunks consumes the generator exactly like one big draw, so chunking only
    # bounds memory and never changes the result.
    chunk = max(1, _BOOTSTRAP_CELLS // n)
    means = np.empty(resamples, dtype=np.float64)
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        indices = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[indices].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def signed_rank_p_value(differences: Sequence[float] | NDArray[np.float64]) -> float:
    """Two-sided p-value of the Wilcoxon signed-rank test (1.0 when every difference is 0)."""
    import numpy as np
    from scipy import stats

    values = np.asarray(differences, dtype=np.float64)
    if not np.any(values != 0):
        return 1.0
    with warnings.catch_warnings():
        # Small samples and ties make scipy warn that it fell back to the normal approximation.
        warnings.simplefilter("ignore")
        result = stats.wilcoxon(values)
    return float(result.pvalue)


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """One figure on both sides, their difference (B - A), its interval, test and verdict."""

    metric: str
    cases: int  # paired cases the figure was measured on
    a: float | None
    b: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    test: str
    higher_is_better: bool
    significant: bool
    verdict: str


@dataclass(frozen=True, slots=True)
class FlippedCase:
    """A case whose outcome changed between A and B."""

    suite: str
    case_id: str
    direction: str  # "pass→fail" or "fail→pass"
    a_passed: int  # repeats that passed on side A
    b_passed: int
    repeats: int  # matched repeats per side


@dataclass(frozen=True, slots=True)
class Comparison:
    """The paired comparison of side B against side A."""

    label_a: str
    label_b: str
    cases: int  # cases both sides answered
    only_a: int  # cases only A answered (left out)
    only_b: int
    alpha: float
    resamples: int
    seed: int
    mcnemar: McNemarResult
    metrics: list[MetricComparison]
    flipped: list[FlippedCase] = field(default_factory=list)
    # Paired results without a price on each side: with any, cost is not compared.
    unpriced_a: int = 0
    unpriced_b: int = 0


@dataclass(slots=True)
class _CaseSide:
    passed: int = 0
    repeats: int = 0
    score: float = 0.0
    cost: float = 0.0
    unpriced: int = 0  # repeats without a price: the case's cost is unknown
    latencies: list[float] = field(default_factory=list)

    def add(self, result: Result) -> None:
        self.passed += result.passed
        self.repeats += 1
        self.score += result.score or 0.0
        if result.cost_usd is None:
            self.unpriced += 1
        else:
            self.cost += result.cost_usd
        # A cached reply counts at the latency of the call that produced it.
        waited = waited_ms(result)
        if waited is not None:
            self.latencies.append(waited)

    @property
    def outcome(self) -> bool:
        return 2 * self.passed > self.repeats


def _by_key(results: list[Result], side: str) -> dict[tuple[str, str, int], Result]:
    keyed: dict[tuple[str, str, int], Result] = {}
    for result in results:
        key = (result.suite, result.case_id, result.repeat)
        if key in keyed:
            raise BenchrouteError(
                f"side {side} has two results for suite {key[0]!r} case {key[1]!r} repeat {key[2]} "
                f"(models {keyed[key].model!r} and {result.model!r})",
                hint="compare one model per side",
            )
        keyed[key] = result
    return keyed


def _verdict(significant: bool, difference: float | None, higher_is_better: bool) -> str:
    if difference is None:
        return NO_DATA
    if not significant:
        return NO_DIFFERENCE
    return BETTER if (difference > 0) == higher_is_better else WORSE


def _metric(
    name: str,
    a_values: list[float],
    b_values: list[float],
    *,
    p_value: float | None,
    test: str,
    higher_is_better: bool,
    alpha: float,
    resamples: int,
    seed: int,
) -> MetricComparison:
    import numpy as np

    if not a_values:
        return MetricComparison(
            name, 0, None, None, None, None, None, None, test, higher_is_better, False, NO_DATA
        )
    a = np.asarray(a_values, dtype=np.float64)
    b = np.asarray(b_values, dtype=np.float64)
    differences = b - a
    if p_value is None:
        p_value = signed_rank_p_value(differences)
    low, high = paired_bootstrap_ci(differences, resamples=resamples, seed=seed, confidence=1 - alpha)
    difference = float(differences.mean())
    significant = p_value < alpha and (low > 0 or high < 0)
    return MetricComparison(
        metric=name,
        cases=len(a_values),
        a=float(a.mean()),
        b=float(b.mean()),
        difference=difference,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        test=test,
        higher_is_better=higher_is_better,
        significant=significant,
        verdict=_verdict(significant, difference, higher_is_better),
    )


def compare_results(
    a: list[Result],
    b: list[Result],
    *,
    label_a: str = "A",
    label_b: str = "B",
    alpha: float = 0.05,
    resamples: int = 10_000,
    seed: int = 0,
) -> Comparison:
    """Compare side B against side A, case by case (see the module docstring).

    Each side holds the results of one model (raises :class:`BenchrouteError` when a side
    has two results for one (suite, case, repeat), or when the sides share no case). Figures:
    pass rate (share of cases passed; McNemar), mean score, cost per case (USD, mean per
    request; no data when either side has an unpriced result) and latency (ms, end to end,
    cached replies at their original figures; Wilcoxon signed-rank), each with a seeded
    paired bootstrap interval at confidence ``1 - alpha``. A pair where either side's scorer
    failed (error kind ``scorer``) is left out: its outcome was not measured.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    # A load test's summary (stress tier) answers no case: its pass is an SLO verdict.
    keyed_a = _by_key([r for r in a if not is_load_result(r)], "A")
    keyed_b = _by_key([r for r in b if not is_load_result(r)], "B")
    sides: dict[tuple[str, str], tuple[_CaseSide, _CaseSide]] = defaultdict(
        lambda: (_CaseSide(), _CaseSide())
    )
    for key in sorted(keyed_a.keys() & keyed_b.keys()):
        # A scorer error is a failed measurement, not a failed case: that pair is not compared.
        if SCORER_ERROR_KIND in (keyed_a[key].error_kind, keyed_b[key].error_kind):
            continue
        side_a, side_b = sides[(key[0], key[1])]
        side_a.add(keyed_a[key])
        side_b.add(keyed_b[key])
    cases_a = {(s, c) for s, c, _ in keyed_a}
    cases_b = {(s, c) for s, c, _ in keyed_b}
    if not sides:
        raise BenchrouteError(
            f"{label_a} and {label_b} have no case in common ({len(cases_a)} and {len(cases_b)} cases)",
            hint="compare runs of the same suites",
        )
    pairs = list(sides.items())
    outcome_a = [float(sa.outcome) for _, (sa, _) in pairs]
    outcome_b = [float(sb.outcome) for _, (_, sb) in pairs]
    a_only = sum(1 for x, y in zip(outcome_a, outcome_b, strict=True) if x and not y)
    b_only = sum(1 for x, y in zip(outcome_a, outcome_b, strict=True) if y and not x)
    test = mcnemar(a_only, b_only)

    def measure(
        name: str, a_values: list[float], b_values: list[float], p_value: float | None, higher: bool
    ) -> MetricComparison:
        test_name = "Wilcoxon signed-rank"
        if p_value is not None:
            test_name = "McNemar exact" if test.method == "exact binomial" else "McNemar χ² corrected"
        return _metric(
            name,
            a_values,
            b_values,
            p_value=p_value,
            test=test_name,
            higher_is_better=higher,
            alpha=alpha,
            resamples=resamples,
            seed=seed,
        )

    # An unknown cost is not $0: with an unpriced result on either side, cost has no data.
    unpriced_a = sum(sa.unpriced for _, (sa, _) in pairs)
    unpriced_b = sum(sb.unpriced for _, (_, sb) in pairs)
    latency_pairs = [
        (sum(sa.latencies) / len(sa.latencies), sum(sb.latencies) / len(sb.latencies))
        for _, (sa, sb) in pairs
        if sa.latencies and sb.latencies
    ]
    metrics = [
        measure("pass rate", outcome_a, outcome_b, test.p_value, True),
        measure(
            "mean score",
            [sa.score / sa.repeats for _, (sa, _) in pairs],
            [sb.score / sb.repeats for _, (_, sb) in pairs],
            None,
            True,
        ),
        measure(
            "cost per case (USD)",
            [] if unpriced_a or unpriced_b else [sa.cost / sa.repeats for _, (sa, _) in pairs],
            [] if unpriced_a or unpriced_b else [sb.cost / sb.repeats for _, (_, sb) in pairs],
            None,
            False,
        ),
        measure("latency (ms)", [x for x, _ in latency_pairs], [y for _, y in latency_pairs], None, False),
    ]
    flipped = [
        FlippedCase(
            suite=suite,
            case_id=case_id,
            direction="pass→fail" if sa.outcome else "fail→pass",
            a_passed=sa.passed,
            b_passed=sb.passed,
            repeats=sa.repeats,
        )
        for (suite, case_id), (sa, sb) in pairs
        if sa.outcome != sb.outcome
    ]
    flipped.sort(key=lambda f: (f.direction != "pass→fail", f.suite, f.case_id))
    return Comparison(
        label_a=label_a,
        label_b=label_b,
        cases=len(pairs),
        only_a=len(cases_a - sides.keys()),
        only_b=len(cases_b - sides.keys()),
        alpha=alpha,
        resamples=resamples,
        seed=seed,
        mcnemar=test,
        metrics=metrics,
        flipped=flipped,
        unpriced_a=unpriced_a,
        unpriced_b=unpriced_b,
    )
