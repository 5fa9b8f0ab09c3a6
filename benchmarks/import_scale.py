"""Import at scale: a 500 MB synthetic production log through `benchroute dataset import`
(stream, scrub, leak check, store) with its throughput and peak memory.

    .venv/bin/python benchmarks/import_scale.py                  # 500 MB, the issue's size
    .venv/bin/python benchmarks/import_scale.py --size-mb 50     # a quicker look

The log is OpenAI-format chat JSONL as a gateway or an SDK wrapper writes it: per line a
conversation (a system prompt, one to three user turns, the assistant's replies) and
metadata. System prompts come from a pool of 40 (production traffic repeats them), user turns
are written from templates with personal data planted in a third of them (e-mails, phone
numbers of several countries, IBANs, cards, IP addresses, names), so the scrubber has real
work. Generation is seeded and not timed.

Rows, each a process of its own, measured one after the other on the same file:

- ``json parse``: a bare Python loop that reads the file line by line and parses each line
  with ``json.loads`` — the floor of any importer written in Python, the reference row;
- ``benchroute import``: ``benchroute dataset import FILE --name scale --format chat``
  into a fresh SQLite store: streaming read, PII scrubbing (typed recognisers and the NER
  model for names), the leak check of every written case, and the write of one version.

Peak RSS is the high-water mark of the process (``VmHWM`` from /proc, summed over the
process tree, read every 0.2 s: the mark only grows, so the last reading is the peak). The
import must stay under 300 MB whatever the file's size. Figures go to
``benchmarks/results/import_scale.txt`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCHROUTE = ROOT / ".venv" / "bin" / "benchroute"
PYTHON = sys.executable
LIMIT_MB = 300

_FIRST = [
    "Maria",
    "James",
    "Aiko",
    "Olu",
    "Priya",
    "Lukas",
    "Sofia",
    "Chen",
    "Fatima",
    "Diego",
    "Emma",
    "Noah",
]
_LAST = [
    "Garcia",
    "Smith",
    "Tanaka",
    "Okafor",
    "Sharma",
    "Müller",
    "Rossi",
    "Wang",
    "Haddad",
    "López",
    "Brown",
]
_TOPICS = [
    "my invoice for last month looks wrong",
    "the export to CSV fails with a timeout",
    "I cannot log in after the password reset",
    "how do I add a second admin to the workspace",
    "the webhook retries keep failing with 502",
    "please cancel the renewal of my subscription",
    "the mobile app crashes when I open settings",
    "can you explain the difference between the two plans",
]


def _luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i : i + 4] for i in range(0, 16, 4))


def _iban_de(rng: random.Random) -> str:
    bban = "".join(str(rng.randrange(10)) for _ in range(18))
    check = 98 - int(bban + "131400") % 97  # D=13 E=14, "00"
    return f"DE{check:02d}{bban}"


def _pii(rng: random.Random) -> str:
    name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    kind = rng.randrange(6)
    if kind == 0:
        return f"This is {name}, reach me at {name.split()[0].lower()}.{rng.randrange(999)}@example.org."
    if kind == 1:
        return (
            f"Call me on +44 20 7946 {rng.randrange(1000, 9999)} or +49 30 {rng.randrange(1000000, 9999999)}."
        )
    if kind == 2:
        return f"Refund to IBAN {_iban_de(rng)} please, account holder {name}."
    if kind == 3:
        return f"The card {_luhn_card(rng)} was charged twice."
    if kind == 4:
        return f"Requests come from 10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}."
    return f"My colleague {name} reported the same."


def generate(path: Path, size_mb: int, seed: int = 7) -> int:
    """Write the synthetic log; return its line count."""
    rng = random.Random(seed)
    systems = [
        f"You are the support assistant of product {i}. "
        + " ".join(
            f"Rule {j}: answer politely, cite the help centre article, never promise refunds."
            for j in range(8)
        )
        for i in range(40)
    ]
    target = size_mb * 1_000_000
    written = lines = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            turns = rng.randint(1, 3)
            messages = [{"role": "system", "content": rng.choice(systems)}]
            for t in range(turns):
                text = f"Hi, {rng.choice(_TOPICS)} (ticket {rng.randrange(10**6)}, attempt {t + 1})."
                if rng.random() < 0.35:
                    text += " " + _pii(rng)
                text += " " + " ".join(rng.choice(_TOPICS) for _ in range(rng.randint(2, 8))) + "."
                messages.append({"role": "user", "content": text})
                messages.append(
                    {"role": "assistant", "content": "Thanks for reaching out. " + " ".join(
                        rng.choice(_TOPICS) for _ in range(rng.randint(3, 12))
                    ) + "."}
                )  # fmt: skip
            row = {"messages": messages, "metadata": {"task_class": rng.choice(["support", "billing"])}}
            line = json.dumps(row, ensure_ascii=False) + "\n"
            out.write(line)
            written += len(line.encode())
            lines += 1
    return lines


_PARSE = """
import json, sys
n = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        json.loads(line)
        n += 1
print(n)
"""


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(seconds, peak RSS MB, exit code, stderr tail) of one command."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    handle = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            members = [handle, *handle.children(recursive=True)]
            peak = max(peak, sum(_hwm(p.pid) for p in members))
        except psutil.Error:
            pass
        time.sleep(0.2)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    return seconds, peak / 1e6, process.returncode, (stderr or stdout)[-600:]


def _hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the generated log and store")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="benchroute-import-"))
    log = work / "production.jsonl"
    print(f"generating {args.size_mb} MB of chat log in {log} ...", flush=True)
    lines = generate(log, args.size_mb)
    size_mb = log.stat().st_size / 1e6
    print(f"  {lines:,} lines, {size_mb:,.0f} MB", flush=True)
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    rows = []
    print("json parse ...", flush=True)
    seconds, peak, code, tail = measure([PYTHON, "-c", _PARSE, str(log)], env)
    rows.append(("json parse", seconds, peak, code))
    db = work / "store.db"
    print("benchroute dataset import ...", flush=True)
    command = [str(BENCHROUTE), "dataset", "import", str(log), "--name", "scale", "--format", "chat"]
    seconds, peak_import, code, tail = measure([*command, "--db", f"sqlite:///{db}"], env)
    rows.append(("benchroute import", seconds, peak_import, code))
    if code != 0:
        print(tail, file=sys.stderr)
    out = [
        f"import_scale: {lines:,} lines, {size_mb:,.0f} MB of chat JSONL (python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores)",
        f"{'row':<20} {'seconds':>9} {'MB/s':>8} {'lines/s':>10} {'peak RSS MB':>12} {'exit':>5}",
    ]
    for name, secs, rss, status in rows:
        out.append(
            f"{name:<20} {secs:>9.1f} {size_mb / secs:>8.2f} {lines / secs:>10,.0f} {rss:>12.0f} {status:>5}"
        )
    parse_s, import_s = rows[0][1], rows[1][1]
    out.append(f"import / json parse time: {import_s / parse_s:.1f}x; peak RSS limit {LIMIT_MB} MB: "
               + ("met" if peak_import < LIMIT_MB else "NOT met"))  # fmt: skip
    text = "\n".join(out)
    print(text)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "import_scale.txt").write_text(text + "\n")
    (results / "import_scale.json").write_text(
        json.dumps(
            {
                "lines": lines,
                "mb": size_mb,
                "rows": [dict(zip(("row", "seconds", "peak_rss_mb", "exit"), r, strict=True)) for r in rows],
            },
            indent=2,
        )
    )
    if not args.keep:
        log.unlink()
        db.unlink(missing_ok=True)
    return 0 if code == 0 and peak_import < LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
