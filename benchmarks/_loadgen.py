"""The gateway benchmarks' load generator, a process of its own (see gateway_overhead.py).

A closed loop: ``--concurrency`` workers on one aiohttp session (uvloop), each sending the next
chat completion as soon as its last one finished, first for ``--warmup`` seconds (connections
opened, caches warm: not measured), then — after printing READY and reading a line on stdin,
so the caller can read the gateway's CPU counter — for ``--seconds``. It prints one JSON
object: the 200s, the errors by status, the measured wall time and each request's latency
(whole reply; for a stream, also the time to the first content chunk, TTFT).

``--schedule RPS`` turns it into an open loop at that rate instead (the failover benchmark:
requests keep arriving at 50/s whatever the gateway does), with each request's start time,
so the caller can see when the errors stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a core dependency on Linux
    uvloop = None  # type: ignore[assignment]

PROMPT = "What is 101 plus 941? Answer with the number only."


def _body(model: str, stream: bool) -> bytes:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 16,
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body).encode()


def _has_content(line: bytes) -> bool:
    if not line.startswith(b"data:") or b"[DONE]" in line:
        return False
    try:
        chunk = json.loads(line[5:])
    except ValueError:
        return False
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content"):
            return True
    return False


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.url = args.url.rstrip("/") + "/v1/chat/completions"
        self.headers = {"content-type": "application/json", **json.loads(args.headers)}
        self.body = _body(args.model, args.stream)
        self.measuring = False
        self.latency: list[float] = []
        self.ttft: list[float] = []
        self.starts: list[float] = []
        self.outcomes: list[tuple[int, float]] = []  # (status (0: no reply), latency ms), with starts
        self.statuses: dict[str, int] = {}
        self.ok = 0
        self.errors = 0

    async def one(self, session: aiohttp.ClientSession, t0: float) -> None:
        started = time.perf_counter()
        first: float | None = None
        status = 0
        try:
            async with session.post(self.url, data=self.body, headers=self.headers) as response:
                status = response.status
                if self.args.stream and status == 200:
                    ended_well = False
                    async for line in response.content:
                        if first is None and _has_content(line):
                            first = time.perf_counter()
                        if line.startswith(b"data: [DONE]"):
                            ended_well = True
                        elif b'"error"' in line:
                            status = 599  # an error event inside a 200 stream
                    if not ended_well and status == 200:
                        status = 598  # the stream ended without [DONE]
                else:
                    payload = await response.read()
                    if status == 200 and b'"choices"' not in payload:
                        status = 597
        except (TimeoutError, aiohttp.ClientError, OSError):
            status = 0
        ended = time.perf_counter()
        if not self.measuring:
            return
        if self.args.schedule:
            self.starts.append(started - t0)
            self.outcomes.append((status, (ended - started) * 1000))
        if status == 200:
            self.ok += 1
            self.latency.append((ended - started) * 1000)
            if first is not None:
                self.ttft.append((first - started) * 1000)
        else:
            self.errors += 1
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1

    async def closed_loop(self, session: aiohttp.ClientSession, seconds: float) -> None:
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                await self.one(session, 0.0)

        await asyncio.gather(*(worker() for _ in range(self.args.concurrency)))

    async def open_loop(self, session: aiohttp.ClientSession, seconds: float, rate: float) -> None:
        t0 = time.perf_counter()
        tasks: set[asyncio.Task[None]] = set()
        n = int(seconds * rate)
        for i in range(n):
            at = t0 + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self.one(session, t0))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    async def main(self) -> dict[str, Any]:
        args = self.args
        limit = args.concurrency if not args.schedule else 0
        timeout = aiohttp.ClientTimeout(total=args.timeout)
        connector = aiohttp.TCPConnector(limit=limit, force_close=False)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            if args.warmup > 0:
                await self.closed_loop(session, args.warmup)
            print("READY", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            self.measuring = True
            started = time.perf_counter()
            if args.schedule:
                await self.open_loop(session, args.seconds, args.schedule)
            else:
                await self.closed_loop(session, args.seconds)
            wall = time.perf_counter() - started
        result: dict[str, Any] = {
            "ok": self.ok,
            "errors": self.errors,
            "statuses": self.statuses,
            "wall_s": wall,
            "latency_ms": self.latency,
            "ttft_ms": self.ttft,
        }
        if args.schedule:
            result["timeline"] = [
                [start, status, latency]
                for start, (status, latency) in zip(self.starts, self.outcomes, strict=True)
            ]
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description="closed- or open-loop chat-completion load")
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--headers", default="{}")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--schedule", type=float, default=0.0, help="open loop at this many requests/s")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    if uvloop is not None:
        uvloop.install()
    result = json.dumps(asyncio.run(Generator(args).main()))
    # The event loop may leave stdout non-blocking; a figures line over the pipe's 64 KiB
    # would then be cut short. Write it blocking, in full.
    os.set_blocking(sys.stdout.fileno(), True)
    print(result, flush=True)


if __name__ == "__main__":
    main()
