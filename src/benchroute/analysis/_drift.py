"""Drift: has a model behind a fixed name changed since a baseline, by how much, since when?

Design
------
A drift check compares the latest run of a suite with a baseline (the previous run, a
pinned run, or a window of runs) for every model × metric, and scans each metric's series
for the run where it changed. Everything here works on plain data (per-case outcomes and
per-run figures); ``drift_for_suite`` (``_drift_store.py``) fetches them from the store.

Comparable data first. A result is comparable with the baseline only when the suite spec
(prompt template, system prompt, scorer specs, params: the *suite fingerprint*) and the
case's own content (the *case hash*) are the same. A changed fingerprint, and any changed,
added or removed case, is a *suite change*: reported as such (``kind="suite-change"``) and
left out of the model tests, so editing a case never reads as a model getting worse.

Tests, per metric (effect = latest - baseline; relative for latency, tokens and cost):

* rates (pass, error, refusal) against one baseline run — McNemar's exact (binomial) test
  on the results that ran in both with the same (case, case hash, repeat), when they are
  most of the latest run: each case is its own control. Otherwise, and against a window
  of runs, Fisher's exact test on the pooled counts. Exact tests keep small counts honest:
  a 4 % refusal rate over 50 cases is 2 events, where normal approximations misfire. The
  effect's interval is Newcombe's hybrid score interval (paired or unpaired), which stays
  inside [-1, 1] and behaves at 0 and 1.
* continuous figures (latency, output tokens, cost per result, scorer values) — the
  Mann–Whitney U test (no normality assumed: latency and cost are skewed and heavy-tailed),
  with a seeded bootstrap interval of the effect: the relative change in the median for
  latency / tokens / cost, the difference in means for scorer values.
* the series — the change-point scan of ``_changepoint.py`` over the last ``window`` runs:
  the run where the new regime began and how sure that is.

Every test of one check (metric × model × test) enters one Benjamini–Hochberg procedure:
q-values control the share of false discoveries among the flagged findings. A finding is
*flagged* only when ``q < alpha`` **and** ``|effect| >= min_effect`` for its metric: the
test says it is not noise, the threshold says it is large enough to act on.

A finding names the run where the shift began (the change point when the scan found one in
the same direction, else the latest run) and the model version served there — the
``served_model`` / ``system_fingerprint`` the provider reported; a version change inside
the series is listed on its own ("since run X, version Y").
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..config import DriftSpec
from ._changepoint import ChangePoint, SeriesValue, find_change_point
from ._drift_stats import (
    benjamini_hochberg,
    bootstrap_means,
    bootstrap_medians,
    fisher_exact,
    mann_whitney_p,
    mcnemar_exact,
    median,
    newcombe_paired,
    newcombe_unpaired,
    quantiles,
    z_value,
)

BINARY_METRICS = frozenset({"pass_rate", "error_rate", "refusal_rate"})
# Metrics where a higher figure is better; the rest are better lower.
HIGHER_IS_BETTER = frozenset({"pass_rate"})
MODEL = "model"
SUITE_CHANGE = "suite-change"


class OutcomeLike(Protocol):
    """One result of one case: what ``Store.case_outcomes`` returns (``CaseOutcome``)."""

    @property
    def case_id(self) -> str: ...
    @property
    def case_hash(self) -> str | None: ...
    @property
    def repeat(self) -> int: ...
    @property
    def passed(self) -> bool | None: ...  # None: the result was an error
    @property
    def value(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """A plain :class:`OutcomeLike` (tests and simulations build these)."""

    case_id: str
    passed: bool | None
    value: float | None = None
    repeat: int = 0
    case_hash: str | None = None


@dataclass(frozen=True, slots=True)
class RunOutcomes:
    """The per-case outcomes of one model × metric in one run, with what identifies it."""

    run_id: str
    model: str
    metric: str  # pass_rate, error_rate, refusal_rate, latency_ms, tokens_out, cost_usd, score:<name>
    outcomes: Sequence[OutcomeLike]
    suite: str = ""
    endpoint_id: str | None = None
    started_at: datetime | None = None
    served_model: str | None = None
    system_fingerprint: str | None = None
    suite_fingerprint: str | None = None

    @property
    def version(self) -> str | None:
        return version_label(self.served_model, self.system_fingerprint)


def version_label(served_model: str | None, system_fingerprint: str | None) -> str | None:
    """``gpt-4o-2024-08-06 (fp_abc)`` from what a provider reported; None when nothing was."""
    if served_model and system_fingerprint:
        return f"{served_model} ({system_fingerprint})"
    return served_model or system_fingerprint or None


@dataclass(frozen=True, slots=True)
class DriftFinding:
    """One tested shift (``kind="model"``) or one suite change (``kind="suite-change"``)."""

    suite: str
    model: str
    endpoint_id: str | None
    metric: str
    baseline_value: float | None
    latest_value: float | None
    effect: float | None  # latest - baseline; relative (latest / baseline - 1) when `relative`
    effect_ci: tuple[float, float] | None
    p_value: float | None
    q_value: float | None
    test: str
    since_run: str | None
    since_version: str | None
    flagged: bool
    kind: str = MODEL
    relative: bool = False
    direction: str = ""  # "worse" | "better" | "" (no change or no direction)
    min_effect: float = 0.0
    n_baseline: int = 0
    n_latest: int = 0
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["effect_ci"] = list(self.effect_ci) if self.effect_ci else None
        return data


@dataclass(frozen=True, slots=True)
class VersionChange:
    """The served model version changed between two consecutive runs of a series."""

    model: str
    run_id: str  # first run with the new version
    before: str | None
    after: str | None


@dataclass(slots=True)
class DriftReport:
    """A drift check of one suite: findings (model drift), suite changes, version changes."""

    suite: str
    latest_run: str | None
    baseline_runs: list[str]
    baseline: str  # "previous", "pinned RUN", "window N"
    alpha: float
    findings: list[DriftFinding] = field(default_factory=list)
    suite_changes: list[DriftFinding] = field(default_factory=list)
    version_changes: list[VersionChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def flagged(self) -> list[DriftFinding]:
        """Findings beyond tolerance (``q < alpha`` and ``|effect| >= min_effect``)."""
        return [f for f in self.findings if f.flagged]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps`` it)."""
        return {
            "suite": self.suite,
            "latest_run": self.latest_run,
            "baseline": self.baseline,
            "baseline_runs": list(self.baseline_runs),
            "alpha": self.alpha,
            "drift": bool(self.flagged()),
            "findings": [f.to_json() for f in self.findings],
            "suite_changes": [f.to_json() for f in self.suite_changes],
            "version_changes": [asdict(v) for v in self.version_changes],
            "notes": list(self.notes),
        }


# --- small statistics --------------------------------------------------------------------


def _z(confidence: float) -> float:
    return z_value(confidence)


# --- per-metric tests ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tested:
    baseline_value: float
    latest_value: float
    effect: float
    effect_ci: tuple[float, float] | None
    p_value: float
    test: str
    n_baseline: int
    n_latest: int


def _event(metric: str, outcome: OutcomeLike) -> bool | None:
    """Whether ``outcome`` counts as an event of the rate ``metric`` (None: not measured)."""
    if metric == "error_rate":
        return outcome.passed is None
    if metric == "refusal_rate":
        if outcome.value is not None:
            return outcome.value >= 0.5
        return outcome.passed
    return outcome.passed is True  # pass_rate: an error is a result that did not pass


def _pair_key(outcome: OutcomeLike) -> tuple[str, str | None, int]:
    return (outcome.case_id, outcome.case_hash, outcome.repeat)


def _test_rate(
    metric: str, latest: Sequence[OutcomeLike], baseline: Sequence[Sequence[OutcomeLike]], confidence: float
) -> _Tested | None:
    new = [e for e in (_event(metric, o) for o in latest) if e is not None]
    old = [e for run in baseline for e in (_event(metric, o) for o in run) if e is not None]
    if not new or not old:
        return None
    if len(baseline) == 1:
        base = {_pair_key(o): _event(metric, o) for o in baseline[0]}
        pairs = [
            (base[_pair_key(o)], _event(metric, o))
            for o in latest
            if _pair_key(o) in base and base[_pair_key(o)] is not None and _event(metric, o) is not None
        ]
        if pairs and 2 * len(pairs) > len(new):
            both = sum(1 for a, b in pairs if a and b)
            old_only = sum(1 for a, b in pairs if a and not b)
            new_only = sum(1 for a, b in pairs if b and not a)
            neither = len(pairs) - both - old_only - new_only
            p_old = (both + old_only) / len(pairs)
            p_new = (both + new_only) / len(pairs)
            return _Tested(
                baseline_value=p_old,
                latest_value=p_new,
                effect=p_new - p_old,
                effect_ci=newcombe_paired(both, old_only, new_only, neither, confidence),
                p_value=mcnemar_exact(old_only, new_only),
                test="McNemar exact",
                n_baseline=len(pairs),
                n_latest=len(pairs),
            )
    events_new, events_old = sum(new), sum(old)
    p_new, p_old = events_new / len(new), events_old / len(old)
    return _Tested(
        baseline_value=p_old,
        latest_value=p_new,
        effect=p_new - p_old,
        effect_ci=newcombe_unpaired(events_new, len(new), events_old, len(old), confidence),
        p_value=fisher_exact(events_new, len(new), events_old, len(old)),
        test="Fisher exact",
        n_baseline=len(old),
        n_latest=len(new),
    )


def _test_continuous(
    metric: str,
    latest: Sequence[OutcomeLike],
    baseline: Sequence[Sequence[OutcomeLike]],
    *,
    relative: bool,
    confidence: float,
    resamples: int,
    seed: int,
) -> _Tested | None:
    import numpy as np

    new = np.array([o.value for o in latest if o.value is not None and math.isfinite(o.value)])
    old = np.array(
        [o.value for run in baseline for o in run if o.value is not None and math.isfinite(o.value)]
    )
    if len(new) < 2 or len(old) < 2:
        return None
    p_value = 1.0 if np.all(new == new[0]) and np.all(old == new[0]) else mann_whitney_p(new, old)
    rng = np.random.default_rng(seed)
    tail = (1 - confidence) / 2
    if relative:
        centre_new, centre_old = median(new), median(old)
        if centre_old <= 0:
            return None  # a relative change from 0 has no size
        effect = centre_new / centre_old - 1
        medians_new = bootstrap_medians(new, resamples, rng)
        medians_old = bootstrap_medians(old, resamples, rng)
        ratios = medians_new / np.where(medians_old > 0, medians_old, np.nan) - 1
        ratios = ratios[np.isfinite(ratios)]
        interval = quantiles(ratios, tail, 1 - tail)
    else:
        centre_new, centre_old = float(new.mean()), float(old.mean())
        effect = centre_new - centre_old
        differences = bootstrap_means(new, resamples, rng) - bootstrap_means(old, resamples, rng)
        interval = quantiles(differences, tail, 1 - tail)
    return _Tested(
        baseline_value=centre_old,
        latest_value=centre_new,
        effect=effect,
        effect_ci=interval,
        p_value=p_value,
        test="Mann–Whitney U",
        n_baseline=len(old),
        n_latest=len(new),
    )


# --- the check -----------------------------------------------------------------------------


def _direction(metric: str, effect: float | None) -> str:
    if effect is None or effect == 0:
        return ""
    up = effect > 0
    return "better" if up == (metric in HIGHER_IS_BETTER) else "worse"


def _comparable(
    latest: RunOutcomes, baseline: list[RunOutcomes]
) -> tuple[list[RunOutcomes], list[RunOutcomes]]:
    """Baseline runs with the latest's suite fingerprint, and those left out (a suite change)."""
    same, other = [], []
    for run in baseline:
        if (
            latest.suite_fingerprint
            and run.suite_fingerprint
            and run.suite_fingerprint != latest.suite_fingerprint
        ):
            other.append(run)
        else:
            same.append(run)
    return same, other


def _case_changes(
    latest: RunOutcomes, baseline: list[RunOutcomes]
) -> tuple[set[str], list[str], list[str], list[str]]:
    """Case ids comparable on both sides, and the changed / added / removed ones."""
    # Distinct (case, content) pairs first: repeats and window runs repeat them many times.
    old_hashes: dict[str, set[str | None]] = defaultdict(set)
    for case, case_hash in {(o.case_id, o.case_hash) for run in baseline for o in run.outcomes}:
        old_hashes[case].add(case_hash)
    new_hashes: dict[str, set[str | None]] = defaultdict(set)
    for case, case_hash in {(o.case_id, o.case_hash) for o in latest.outcomes}:
        new_hashes[case].add(case_hash)
    changed = []
    for case in sorted(new_hashes.keys() & old_hashes.keys()):
        old_known = old_hashes[case] - {None, ""}
        if old_known and (new_hashes[case] - {None, ""}) - old_known:
            changed.append(case)
    added = sorted(new_hashes.keys() - old_hashes.keys())
    removed = sorted(old_hashes.keys() - new_hashes.keys())
    common = (new_hashes.keys() & old_hashes.keys()) - set(changed)
    return common, changed, added, removed


def _keep(
    run: RunOutcomes, cases: set[str], latest_hashes: Mapping[str, set[str | None]]
) -> list[OutcomeLike]:
    # A window baseline can hold an older content of a case: only the latest's content counts.
    return [
        o
        for o in run.outcomes
        if o.case_id in cases
        and (
            o.case_hash is None
            or not latest_hashes[o.case_id] - {None}
            or o.case_hash in latest_hashes[o.case_id]
        )
    ]


def _short_list(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def version_changes(model: str, series: Sequence[SeriesValue]) -> list[VersionChange]:
    """Every change of the served version between consecutive runs that reported one."""
    changes: list[VersionChange] = []
    previous: SeriesValue | None = None
    for point in series:
        if point.version is None:
            continue
        if previous is not None and point.version != previous.version:
            changes.append(VersionChange(model, point.run_id, previous.version, point.version))
        previous = point
    return changes


def _version_at(run_id: str | None, series: Sequence[SeriesValue], fallback: str | None) -> str | None:
    for point in series:
        if point.run_id == run_id and point.version is not None:
            return point.version
    return fallback


def detect_drift(
    latest: Sequence[RunOutcomes],
    baseline: Sequence[RunOutcomes],
    *,
    settings: DriftSpec | None = None,
    series: Mapping[tuple[str, str], Sequence[SeriesValue]] | None = None,
    suite: str | None = None,
    baseline_label: str = "previous",
) -> DriftReport:
    """Test every model × metric of the latest run against its baseline (see the module doc).

    ``latest``: one :class:`RunOutcomes` per (model, metric); ``baseline``: one or more per
    (model, metric) (several: a window, tested pooled). ``series``: per (model, metric) the
    per-run figures, oldest first and ending with the latest run, for the change-point scan
    and version changes (omit: no scan). Deterministic: every resampling is seeded.
    """
    settings = settings or DriftSpec()
    confidence = 1 - settings.alpha
    series = series or {}
    by_key: dict[tuple[str, str], list[RunOutcomes]] = defaultdict(list)
    for run in baseline:
        by_key[(run.model, run.metric)].append(run)
    latest_ids = sorted({r.run_id for r in latest})
    suite_name = suite or next((r.suite for r in latest if r.suite), "")
    report = DriftReport(
        suite=suite_name,
        latest_run=latest_ids[-1] if latest_ids else None,
        baseline_runs=sorted({r.run_id for r in baseline}),
        baseline=baseline_label,
        alpha=settings.alpha,
    )
    # (finding without q / flag yet, p-value) — BH runs once all are known.
    pending: list[tuple[DriftFinding, float]] = []
    suite_noted: set[tuple[str, str]] = set()

    def note_suite_change(run: RunOutcomes, detail: str, since: str | None) -> None:
        if (run.model, detail) in suite_noted:
            return
        suite_noted.add((run.model, detail))
        report.suite_changes.append(
            DriftFinding(
                suite=suite_name,
                model=run.model,
                endpoint_id=run.endpoint_id,
                metric="suite",
                baseline_value=None,
                latest_value=None,
                effect=None,
                effect_ci=None,
                p_value=None,
                q_value=None,
                test="suite fingerprint / case hash",
                since_run=since,
                since_version=run.version,
                flagged=False,
                kind=SUITE_CHANGE,
                detail=detail,
            )
        )

    for run in sorted(latest, key=lambda r: (r.model, r.metric)):
        key = (run.model, run.metric)
        relative = settings.is_relative(run.metric)
        threshold = settings.effect_threshold(run.metric)
        points = list(series.get(key, ()))
        same, other = _comparable(run, by_key.get(key, []))
        if other:
            newest_other = max(other, key=lambda r: (r.started_at or datetime.min, r.run_id))
            detail = (
                f"suite spec changed (fingerprint {newest_other.suite_fingerprint} → "
                f"{run.suite_fingerprint}): {len(other)} baseline run(s) before it are not comparable"
            )
            note_suite_change(run, detail, run.run_id if not same else None)
        tested: _Tested | None = None
        if same:
            common, changed, added, removed = _case_changes(run, same)
            if changed or added or removed:
                parts = [
                    f"{label} {len(ids)} ({_short_list(ids)})"
                    for label, ids in (("changed", changed), ("added", added), ("removed", removed))
                    if ids
                ]
                note_suite_change(run, "cases " + "; ".join(parts) + ": left out of the tests", run.run_id)
            latest_hashes: dict[str, set[str | None]] = defaultdict(set)
            for o in run.outcomes:
                latest_hashes[o.case_id].add(o.case_hash)
            new_side = [o for o in run.outcomes if o.case_id in common]
            old_sides = [_keep(r, common, latest_hashes) for r in same]
            old_sides = [side for side in old_sides if side]
            if new_side and old_sides:
                if run.metric in BINARY_METRICS:
                    tested = _test_rate(run.metric, new_side, old_sides, confidence)
                else:
                    tested = _test_continuous(
                        run.metric,
                        new_side,
                        old_sides,
                        relative=relative,
                        confidence=confidence,
                        resamples=settings.resamples,
                        seed=settings.seed,
                    )
        change: ChangePoint | None = None
        if settings.change_point == "glr" and len(points) >= 2:
            change = find_change_point(
                points,
                binary=run.metric in BINARY_METRICS,
                resamples=settings.resamples,
                seed=settings.seed,
            )
        since_run = run.run_id
        if (
            tested is not None
            and change is not None
            and change.p_value < settings.alpha
            and (change.effect > 0) == (tested.effect > 0)
        ):
            since_run = change.run_id
        if tested is not None:
            finding = DriftFinding(
                suite=suite_name,
                model=run.model,
                endpoint_id=run.endpoint_id,
                metric=run.metric,
                baseline_value=tested.baseline_value,
                latest_value=tested.latest_value,
                effect=tested.effect,
                effect_ci=tested.effect_ci,
                p_value=tested.p_value,
                q_value=None,
                test=tested.test,
                since_run=since_run,
                since_version=_version_at(since_run, points, run.version),
                flagged=False,
                relative=relative,
                direction=_direction(run.metric, tested.effect),
                min_effect=threshold,
                n_baseline=tested.n_baseline,
                n_latest=tested.n_latest,
            )
            pending.append((finding, tested.p_value))
        if change is not None:
            effect = change.effect
            interval: tuple[float, float] | None = None
            if relative:
                effect = change.after / change.before - 1 if change.before > 0 else math.nan
            elif run.metric in BINARY_METRICS:
                pts = [p for p in points if p.value is not None and p.n > 0]
                split = pts.index(points[change.index])
                k_old = sum(round(float(p.value or 0) * p.n) for p in pts[:split])
                n_old = sum(p.n for p in pts[:split])
                k_new = sum(round(float(p.value or 0) * p.n) for p in pts[split:])
                n_new = sum(p.n for p in pts[split:])
                interval = newcombe_unpaired(k_new, n_new, k_old, n_old, confidence)
            if math.isfinite(effect):
                dispersion = f", run-to-run noise ×{change.dispersion:.2f}" if change.dispersion > 1 else ""
                finding = DriftFinding(
                    suite=suite_name,
                    model=run.model,
                    endpoint_id=run.endpoint_id,
                    metric=run.metric,
                    baseline_value=change.before,
                    latest_value=change.after,
                    effect=effect,
                    effect_ci=interval,
                    p_value=change.p_value,
                    q_value=None,
                    test="change point" + (" (binomial)" if run.metric in BINARY_METRICS else " (Gaussian)"),
                    since_run=change.run_id,
                    since_version=_version_at(change.run_id, points, run.version),
                    flagged=False,
                    relative=relative,
                    direction=_direction(run.metric, effect),
                    min_effect=threshold,
                    n_baseline=change.runs_before,
                    n_latest=change.runs_after,
                    detail=f"{change.runs_before} run(s) before, {change.runs_after} from the change on"
                    f"{dispersion}",
                )
                pending.append((finding, change.p_value))
        for version_change in version_changes(run.model, points):
            if version_change not in report.version_changes:
                report.version_changes.append(version_change)
    q_values = benjamini_hochberg([p for _, p in pending])
    for (finding, _), q_value in zip(pending, q_values, strict=True):
        large = finding.effect is not None and abs(finding.effect) >= finding.min_effect
        wanted = settings.direction == "both" or finding.direction == "worse"
        flagged = q_value < settings.alpha and large and wanted and finding.direction != ""
        report.findings.append(_replace(finding, q_value=q_value, flagged=flagged))
    report.findings.sort(key=lambda f: (not f.flagged, f.model, f.metric, f.test))
    return report


def _replace(finding: DriftFinding, **changes: Any) -> DriftFinding:
    from dataclasses import replace

    return replace(finding, **changes)
