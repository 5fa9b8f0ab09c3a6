"""Record real generations of the embedded local models for the drift benchmark.

Each *version* is what a provider could serve behind one fixed model name: another set of
weights (SmolLM2-135M-Instruct → Gemma 3 270M) or the same weights behind a changed
provider-side system prompt. Every case of ``cases.jsonl`` is generated ``--samples`` times
per version (temperature 0.7 unless the version says otherwise) with seeds 0..samples-1,
scored by benchroute's ``contains`` scorer (case-insensitive unless the case says
``case_sensitive``), and written one line per generation to ``generations.jsonl``: version,
served model file, case id and content hash,
sample, pass/fail, latency, tokens in/out, the output text.

Each version runs in its own subprocess (llama.cpp runs in-process; a crash loses one
version, not the file) with one thread, and the file is appended to and resumed: rerunning
records only what is missing.

    .venv/bin/python benchmarks/data/drift_recorded/record.py [--samples 6] [--versions ...]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases.jsonl"
OUT = HERE / "generations.jsonl"
MAX_TOKENS = 24
TEMPERATURE = 0.7

# version -> (embedded model, provider-side system prompt or None, sampling temperature)
VERSIONS: dict[str, tuple[str, str | None, float]] = {
    "smollm2": ("smollm2", None, TEMPERATURE),
    "gemma3": ("gemma3", None, TEMPERATURE),
    "smollm2-terse": (
        "smollm2",
        "You are a terse assistant. Answer with as few words as possible, no explanation.",
        TEMPERATURE,
    ),
    # The same weights served with hotter sampling (a serving-stack change).
    "smollm2-hot": ("smollm2", None, 1.3),
}


def case_hash(case: dict[str, Any]) -> str:
    content = {k: v for k, v in case.items() if k != "id"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def _done() -> set[tuple[str, str, int]]:
    if not OUT.exists():
        return set()
    seen = set()
    for line in OUT.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            seen.add((row["version"], row["case_id"], row["sample"]))
    return seen


async def _record(version: str, samples: int) -> None:
    from benchroute.config import Case, ModelSpec, ScorerSpec
    from benchroute.providers import CompletionRequest, Message, ProviderContext, create_provider
    from benchroute.scorers import build_scorer

    model, system, temperature = VERSIONS[version]
    spec = ModelSpec(name="assistant", provider="local", model=model, settings={"threads": 1})
    provider = create_provider(spec, ProviderContext())
    cases = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    done = _done()
    scorers = {
        sensitive: build_scorer(ScorerSpec(name="contains", args={"ignore_case": not sensitive}))
        for sensitive in (False, True)
    }
    with OUT.open("a") as out:
        for sample in range(samples):
            for raw in cases:
                if (version, raw["id"], sample) in done:
                    continue
                case = Case(id=raw["id"], input=raw["input"], expected=raw["expected"])
                messages = [Message(role="user", content=raw["input"])]
                if system:
                    messages.insert(0, Message(role="system", content=system))
                started = time.perf_counter()
                completion = await provider.complete(
                    CompletionRequest(
                        messages=messages, max_tokens=MAX_TOKENS, temperature=temperature, seed=sample
                    )
                )
                wall_ms = (time.perf_counter() - started) * 1000
                score = await scorers[bool(raw.get("case_sensitive"))](completion, case)
                row = {
                    "version": version,
                    "model": model,
                    "served_model": completion.served_model,
                    "system_prompt": system,
                    "case_id": raw["id"],
                    "case_hash": case_hash(raw),
                    "sample": sample,
                    "seed": sample,
                    "temperature": temperature,
                    "max_tokens": MAX_TOKENS,
                    "passed": bool(score.passed),
                    "latency_ms": round(completion.latency_ms or wall_ms, 1),
                    "tokens_in": completion.usage.input_tokens,
                    "tokens_out": completion.usage.output_tokens,
                    "output": completion.text,
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--versions", nargs="*", default=list(VERSIONS))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the subprocess for one version
    args = parser.parse_args()
    if args.one:
        asyncio.run(_record(args.one, args.samples))
        return
    for version in args.versions:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--one", version, "--samples", str(args.samples)], check=False
        )
        print(f"{version}: exit {done.returncode} in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
