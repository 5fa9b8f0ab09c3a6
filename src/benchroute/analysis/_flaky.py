"""Flaky cases: the same model, the same case, different outcomes.

A case is flaky for a model when its repeats disagree — some passed, some failed — within a
run, or, when results of several runs are given and ``across_runs`` is set, anywhere among
them. A request that failed (``error`` set) counts as a failed outcome, as everywhere else;
the number of such errors is reported so an infrastructure flake can be told from a model
that answers differently each time.

Flaky cases make comparisons and CI gates noisy: a model can "regress" on a case that fails
one time in three anyway. They can be *quarantined* — recorded by (suite, case_id) in the
store's ``quarantine`` table — and :func:`exclude_quarantined` drops them from a list of
results before any figure is computed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..store import Result, is_load_result


@dataclass(frozen=True, slots=True)
class FlakyCase:
    """A case whose outcomes disagree for one model."""

    suite: str
    case_id: str
    model: str
    run_ids: tuple[str, ...]  # the runs the outcomes come from (one unless across runs)
    passed: int
    total: int
    errors: int  # failed outcomes that were request errors, not wrong answers

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total


def flaky_cases(results: Iterable[Result], *, across_runs: bool = False) -> list[FlakyCase]:
    """Cases with both passing and failing results for the same model.

    Results are grouped by (suite, case, model) and, unless ``across_runs``, by run; a group
    is flaky when it holds at least one pass and one failure. Load-test summaries (stress
    tier) are not cases and are left out. Sorted by suite, case, model,
    then run.
    """
    groups: dict[tuple[str, str, str, str], list[Result]] = defaultdict(list)
    for result in results:
        # A load test's summary is an SLO verdict the gate checks, not a case: quarantined as
        # "flaky" it would silence that check.
        if is_load_result(result):
            continue
        run = "" if across_runs else result.run_id
        groups[(result.suite, result.case_id, result.model, run)].append(result)
    flaky = []
    for (suite, case_id, model, _), rows in groups.items():
        passed = sum(1 for r in rows if r.passed)
        if 0 < passed < len(rows):
            flaky.append(
                FlakyCase(
                    suite=suite,
                    case_id=case_id,
                    model=model,
                    run_ids=tuple(sorted({r.run_id for r in rows})),
                    passed=passed,
                    total=len(rows),
                    errors=sum(1 for r in rows if not r.passed and r.error),
                )
            )
    flaky.sort(key=lambda f: (f.suite, f.case_id, f.model, f.run_ids))
    return flaky


def exclude_quarantined(results: Iterable[Result], quarantined: Iterable[tuple[str, ...]]) -> list[Result]:
    """The results whose (suite, case_id) is not quarantined.

    ``quarantined`` holds (suite, case_id) pairs — or any tuples that start with them, such
    as the entries ``Store.quarantined()`` returns.
    """
    excluded = {(entry[0], entry[1]) for entry in quarantined}
    if not excluded:
        return list(results)
    return [r for r in results if (r.suite, r.case_id) not in excluded]
