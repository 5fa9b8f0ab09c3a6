"""``python -m benchroute.testing``: the fake provider server as its own process.

Benchmarks run the server in a separate process so that its work does not compete with
the client under test for one interpreter's GIL. The contract with the parent process is
deliberately tiny: exactly one line, ``READY http://HOST:PORT``, is printed (and flushed)
on stdout once the socket listens; SIGTERM or SIGINT stops it with exit status 0; any
usage error is one line on stderr and exit status 2. The parent reads the URL from that
line, so ``--port 0`` (a free port) is the default and nothing races for a fixed port.

The server runs in the main thread's event loop (uvloop's when installed) rather than
FakeServer's background thread: signals are delivered to the main thread, and the loop's
signal handlers turn them into a clean shutdown. Nothing can read ``FakeServer.requests``
from outside the process, so no per-request records are kept (which also lets the server
replay repeated bodies, see ``_server``); ``GET /_stats`` still counts everything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from .._errors import ConfigError
from .._eventloop import run as run_loop
from ._server import FakeServer

EXIT_USAGE = 2


class AnswersFileError(ConfigError):
    """A bad ``--answers`` file; the message names the file and line."""


def load_answers(path: str | Path) -> dict[str, str]:
    """Read a prompt -> answer map from JSONL ``{"prompt", "answer"}`` rows or one JSON object.

    Raises :class:`AnswersFileError` naming ``FILE:LINE`` for the first bad row.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnswersFileError(f"{name}: cannot read answers file: {exc}") from None
    lines = text.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    # A JSONL file's rows also start with "{", so the whole-object form is recognised by
    # parsing, and a lone {"prompt", "answer"} object counts as a one-row JSONL file.
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as exc:
        whole = None
        if first == "{":  # a pretty-printed object: its parse error is the useful one
            raise AnswersFileError(f"{name}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if isinstance(whole, dict) and set(whole) != {"prompt", "answer"}:
        for prompt, answer in whole.items():
            if not isinstance(answer, str):
                lineno = _line_of(lines, json.dumps(prompt))
                raise AnswersFileError(f"{name}:{lineno}: the answer to {prompt!r} must be a string")
        return dict(whole)

    answers: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnswersFileError(f"{name}:{number}: invalid JSON: {exc.msg}") from None
        if not (
            isinstance(row, dict)
            and isinstance(row.get("prompt"), str)
            and isinstance(row.get("answer"), str)
        ):
            raise AnswersFileError(
                f'{name}:{number}: expected {{"prompt": "...", "answer": "..."}} with strings'
            )
        prompt = row["prompt"].strip()
        if prompt in answers and answers[prompt] != row["answer"]:
            raise AnswersFileError(
                f"{name}:{number}: prompt already answered differently on line {first_seen[prompt]}"
            )
        answers[prompt] = row["answer"]
        first_seen.setdefault(prompt, number)
    return answers


def _line_of(lines: list[str], needle: str) -> int:
    return next((i for i, line in enumerate(lines, start=1) if needle in line), 1)


def _parse_fault(spec: str) -> tuple[str, float | None]:
    kind, sep, rate = spec.partition(":")
    if not sep:
        return kind, None
    try:
        return kind, float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad fault {spec!r}: RATE must be a number") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchroute.testing",
        description="Run the fake OpenAI/Anthropic server until SIGTERM or SIGINT.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per completion")
    parser.add_argument(
        "--answers",
        metavar="FILE",
        help='JSONL of {"prompt": ..., "answer": ...} rows, or one JSON object prompt -> answer',
    )
    parser.add_argument(
        "--fault",
        metavar="KIND[:RATE]",
        type=_parse_fault,
        nargs="+",
        action="extend",
        default=[],
        help="inject a fault with that probability (always, without RATE); repeatable",
    )
    parser.add_argument("--rate-limit", type=float, metavar="RPS", help="token bucket, 429s")
    parser.add_argument("--api-key", metavar="KEY", help="require this key")
    parser.add_argument("--served-model-suffix", default="", help="appended to the model name in answers")
    return parser


def _configure(args: argparse.Namespace) -> FakeServer:
    server = FakeServer(
        latency=args.latency,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        served_model_suffix=args.served_model_suffix,
        max_recorded=0,
    )
    if args.answers is not None:
        server.answers(load_answers(args.answers))
    # Distinct seeds so two rules with the same rate do not fire in lockstep.
    for seed, (kind, rate) in enumerate(args.fault):
        server.fault(kind, rate=rate, seed=seed)
    if args.rate_limit is not None:
        server.rate_limit(args.rate_limit)
    return server


async def _serve(server: FakeServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def ready() -> None:
        print(f"READY {server.url}", flush=True)

    await server.serve(on_ready=ready, stop=stop)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        server = _configure(args)
    except (AnswersFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        run_loop(_serve(server))
    except OSError as exc:  # typically the port is taken
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
