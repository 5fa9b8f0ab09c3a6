"""pass@k: the chance that at least one of k samples of a model's answer passes.

Design
------
A suite with ``repeats: n`` asks each model n times per case; a case whose results passed c
times out of n gives the *unbiased* estimator of Chen et al., "Evaluating Large Language
Models Trained on Code" (2021), the HumanEval paper::

    pass@k = 1 - C(n - c, k) / C(n, k)

i.e. one minus the probability that k samples drawn without replacement from the n are all
failures. The binomial coefficients overflow a float for n in the hundreds, so the estimator
is computed, as in the paper's reference code, as the product
``1 - prod(1 - k / i for i in n - c + 1 .. n)``, which only ever multiplies numbers in
[0, 1]. When fewer than k samples failed (``n - c < k``) every draw of k contains a success
and pass@k is exactly 1.

:func:`pass_at_k_by_model` applies it to stored results: they are grouped by (model, suite,
case); n is the number of results in a group (its repeats), c the number that passed. A
result whose request failed (``error`` set) counts as a failed sample: the model produced no
passing answer for that draw (the leaderboard reports errors separately). pass@k for a model
is the mean over its cases; a case with fewer than k samples cannot estimate pass@k and is
left out of that k's mean, and a k no case can estimate is left out of the model's figures.

A case "passes" when its result passed (every scorer of the suite passed). A code suite
usually also scores security or style, so ``kind="functional_pass"`` counts a sample as passed
when its functional-correctness score passed instead (the score of a scorer that declared
that kind, such as ``code_tests``, under whatever name a suite registered it): pass@k in the
paper is functional correctness alone. ``scorer=`` picks one scorer by name instead.
"""

from __future__ import annotations

from collections import defaultdict

from ..scorers import score_kind
from ..store import Result


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimate from ``n`` samples of which ``c`` passed.

    ``1 - C(n - c, k) / C(n, k)`` in the numerically stable product form of the HumanEval
    paper; requires ``0 <= c <= n`` and ``1 <= k <= n``.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 0 <= c <= n:
        raise ValueError(f"c must be between 0 and n={n}, got {c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and n={n}, got {k}")
    if n - c < k:
        return 1.0
    # prod_{i = n-c+1}^{n} (1 - k/i) == C(n-c, k) / C(n, k), each factor in [0, 1).
    all_fail = 1.0
    for i in range(n - c + 1, n + 1):
        all_fail *= 1.0 - k / i
    return 1.0 - all_fail


def _sample_passed(result: Result, scorer: str | None, kind: str | None) -> bool:
    if scorer is None and kind is None:
        return result.passed
    return any(
        (scorer is None or s.get("scorer") == scorer)
        and (kind is None or score_kind(s) == kind)
        and bool(s.get("passed"))
        for s in result.scores
    )


def pass_at_k_by_model(
    results: list[Result], ks: list[int], *, scorer: str | None = None, kind: str | None = None
) -> dict[str, dict[int, float]]:
    """pass@k for each model and each k in ``ks``: the mean over cases of :func:`pass_at_k`.

    Results are grouped by (model, suite, case); n is the number of results of a case (the
    suite's ``repeats``), c how many passed — the whole case, or with ``kind`` only its score
    of that declared kind (``kind="functional_pass"`` for functional correctness), or with
    ``scorer`` only the score of that scorer name. Cases with fewer than k
    results are skipped for that k; a model gets no entry for a k none of its cases can
    estimate (an empty mapping when it has none).
    """
    for k in ks:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
    # (model, suite, case) -> [n, c]
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for result in results:
        entry = counts[(result.model, result.suite, result.case_id)]
        entry[0] += 1
        entry[1] += _sample_passed(result, scorer, kind)
    estimates: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (model, _, _), (n, c) in counts.items():
        for k in ks:
            if k <= n:
                estimates[model][k].append(pass_at_k(n, c, k))
    models = sorted({model for model, _, _ in counts})
    return {
        model: {k: sum(values) / len(values) for k, values in sorted(estimates[model].items())}
        for model in models
    }
