"""Gateway failover: with the primary dead, how long until clients stop paying for it?

Two fake upstreams (``python -m benchroute.testing --latency 0.02``, each its own process):
the primary, dead in one of three ways, and a healthy secondary. Each gateway gets the same
ordered candidate list, primary then secondary:

- benchroute: alias ``bench: [up0, up1]``, per-attempt timeout ``--timeout`` s, its default
  per-endpoint breaker (30 s window, 5 requests minimum, 50% failure rate or 5 in a row,
  10 s open, then one half-open probe);
- LiteLLM proxy (``litellm[proxy]==1.108.7``, one process, no database): model group ``bench``
  -> the primary with ``router_settings.fallbacks: [{bench: [bench-fallback-1]}]`` -> the
  secondary, the same timeout, every other setting its default (retries and cooldowns
  included: what a user gets).

The load generator (its own process) sends an open loop of ``--rate`` requests per second
(default 50) for ``--seconds`` (default 30) — the arrival rate holds whatever the gateway
does, as real clients' would. For each request it records its start, status and latency. The
baseline is the latency of the secondary alone through the same gateway (both upstreams up,
the secondary first). A request *pays* for the dead primary when it failed or took more than
the baseline p99 + 10 ms. Reported per gateway and way of dying:

- ``settled s``: the start of the first one-second bin from which every bin has at most 5%
  paying requests (a half-open probe every ``open_s`` pays, by design, and 1% of even the
  baseline is beyond its p99) — the time until clients stop paying for the dead primary;
- paying requests in all, errors in all and after ``settled``;
- the added latency (latency minus the baseline p50) per request, p50 and mean, before and after
  ``settled``.

The ways to die: ``refused`` (nothing listens on the primary's port), ``500`` (it answers
HTTP 500 to everything) and ``hang`` (it accepts the request and never answers: each attempt
costs the timeout).

    .venv/bin/python benchmarks/gateway_failover.py                      # all, 50 req/s x 30 s
    .venv/bin/python benchmarks/gateway_failover.py --only benchroute --deaths refused --seconds 10

Raw numbers go to ``benchmarks/results/gateway_failover.json``.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fakeserver import FakeServerProcess
from _peers import BENCH_KEY, Benchroute, Gateway, LiteLLM, free_port, log, percentile, run_load

ALL_GATEWAYS = ("benchroute", "litellm")
DEATHS = ("refused", "500", "hang")
RESULTS_FILE = Path(__file__).resolve().parent / "results" / "gateway_failover.json"
UPSTREAM_LATENCY_S = 0.02
PAY_MARGIN_MS = 10.0
# A bin counts as settled when at most this share of its requests paid: a half-open probe
# (one request every open_s) and this machine's own noise (1% of the baseline is beyond its
# p99, by definition) stay under it.
SETTLED_SHARE = 0.05


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(ALL_GATEWAYS), help=f"subset of {','.join(ALL_GATEWAYS)}")
    parser.add_argument("--deaths", default=",".join(DEATHS), help=f"subset of {','.join(DEATHS)}")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second (open loop)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds with the primary dead")
    parser.add_argument("--timeout", type=float, default=2.0, help="per-attempt timeout, s, both gateways")
    parser.add_argument("--pip-find-links", default=None, help="a local wheel folder for the LiteLLM venv")
    parser.add_argument("--out", type=Path, default=RESULTS_FILE, help="raw-numbers JSON")
    args = parser.parse_args()
    args.gateways = [g for g in ALL_GATEWAYS if g in args.only.split(",")]
    args.death_list = [d for d in DEATHS if d in args.deaths.split(",")]
    if not args.gateways or not args.death_list:
        parser.error("--only and --deaths need at least one known name each")
    return args


def make(name: str, args: argparse.Namespace, workdir: Path, candidates: list[str]) -> Gateway:
    if name == "benchroute":
        return Benchroute(workdir, candidates[-1], candidates, timeout_s=args.timeout)
    return LiteLLM(
        workdir, candidates[-1], candidates, find_links=args.pip_find_links, timeout_s=args.timeout
    )


def open_loop(gateway: Gateway, args: argparse.Namespace, seconds: float) -> list[list[float]]:
    load = run_load(
        gateway.url,
        model=gateway.model,
        headers=gateway.headers(),
        concurrency=1,
        seconds=seconds,
        stream=False,
        warmup_s=0.0,
        extra=["--schedule", str(args.rate), "--timeout", str(max(30.0, args.timeout * 4))],
    )
    return load.timeline or []


def analyse(timeline: list[list[float]], baseline: list[list[float]], seconds: float) -> dict[str, Any]:
    healthy = [lat for _, status, lat in baseline if status == 200]
    base50 = percentile(healthy, 0.5) or 0.0
    base99 = percentile(healthy, 0.99) or 0.0
    threshold = base99 + PAY_MARGIN_MS
    bins = [0] * (int(seconds) + 1)
    sent = [0] * len(bins)
    for start, status, latency in timeline:
        slot = min(int(start), len(bins) - 1)
        sent[slot] += 1
        if status != 200 or latency > threshold:
            bins[slot] += 1
    settled_bin = len(bins)
    for i in range(len(bins) - 1, -1, -1):
        if bins[i] > SETTLED_SHARE * max(sent[i], 1):
            break
        settled_bin = i
    settled = float(settled_bin)
    before = [r for r in timeline if r[0] < settled]
    after = [r for r in timeline if r[0] >= settled]

    def added(rows: list[list[float]]) -> tuple[float | None, float | None]:
        values = [lat - base50 for _, status, lat in rows if status == 200]
        if not values:
            return None, None
        return percentile(values, 0.5), statistics.fmean(values)

    before50, before_mean = added(before)
    after50, after_mean = added(after)
    return {
        "requests": len(timeline),
        "baseline_p50_ms": base50,
        "baseline_p99_ms": base99,
        "paying": sum(bins),
        "errors": sum(1 for _, status, _ in timeline if status != 200),
        "errors_after_settled": sum(1 for _, status, _ in after if status != 200),
        "settled_s": settled if settled_bin < len(bins) else None,
        "paying_after_settled": sum(bins[settled_bin:]),
        "added_before_p50_ms": before50,
        "added_before_mean_ms": before_mean,
        "added_after_p50_ms": after50,
        "added_after_mean_ms": after_mean,
        "paying_per_second": bins,
        "sent_per_second": sent,
    }


def run_one(name: str, death: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    workdir = root / f"{name}-{death}"
    secondary = FakeServerProcess(
        workdir / "secondary.log", ["--latency", str(UPSTREAM_LATENCY_S), "--api-key", BENCH_KEY]
    )
    secondary_url = secondary.start()
    primary: FakeServerProcess | None = None
    if death == "refused":
        primary_url = f"http://127.0.0.1:{free_port()}"
    else:
        fault = "server_error" if death == "500" else "hang"
        primary = FakeServerProcess(
            workdir / "primary.log",
            ["--latency", str(UPSTREAM_LATENCY_S), "--api-key", BENCH_KEY, "--fault", fault],
        )
        primary_url = primary.start()
    # Baseline: the secondary alone, through the same gateway software.
    base_gateway = make(name, args, workdir / "baseline", [f"{secondary_url}/v1"])
    gateway = make(name, args, workdir / "gateway", [f"{primary_url}/v1", f"{secondary_url}/v1"])
    try:
        base_gateway.install()
        base_gateway.start()
        baseline = open_loop(base_gateway, args, min(args.seconds, 10.0))
        base_gateway.stop()
        gateway.start()
        started = time.monotonic()
        timeline = open_loop(gateway, args, args.seconds)
        wall = time.monotonic() - started
    finally:
        base_gateway.stop()
        gateway.stop()
        secondary.stop()
        if primary is not None:
            primary.stop()
    result = analyse(timeline, baseline, args.seconds)
    result.update({"gateway": name, "death": death, "wall_s": wall, "version": gateway.version})
    result["timeline"] = timeline  # [start s, status, latency ms] per request: re-analysable
    result["baseline_timeline"] = baseline
    log(
        f"{name:10} {death:8} settled {result['settled_s']} s, paying {result['paying']}, "
        f"errors {result['errors']} ({result['errors_after_settled']} after), added p50 before "
        f"{_fmt(result['added_before_p50_ms'])} ms / after {_fmt(result['added_after_p50_ms'])} ms"
    )
    return result


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_report(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    print()
    print(
        f"Gateway failover: primary dead, secondary healthy ({UPSTREAM_LATENCY_S * 1000:.0f} ms), "
        f"{args.rate:g} req/s for {args.seconds:g} s, per-attempt timeout {args.timeout:g} s"
    )
    header = (
        f"{'gateway':<18}{'death':<9}{'settled s':>10}{'paying':>8}{'errors':>8}{'err after':>10}"
        f"{'+p50 before':>12}{'+p50 after':>11}{'+mean after':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        label = f"{r['gateway']} {r['version']}"
        print(
            f"{label:<18}{r['death']:<9}{_fmt(r['settled_s']):>10}{r['paying']:>8}{r['errors']:>8}"
            f"{r['errors_after_settled']:>10}{_fmt(r['added_before_p50_ms']):>12}"
            f"{_fmt(r['added_after_p50_ms'], 2):>11}{_fmt(r['added_after_mean_ms'], 2):>12}"
        )
    print(
        f"settled: start of the first 1-s bin from which every bin has at most {SETTLED_SHARE:.0%} "
        f"paying requests (failed, or slower than the baseline p99 + {PAY_MARGIN_MS:g} ms); "
        "'-' = never settled."
    )
    print("+p50/+mean: latency minus the baseline p50 (the secondary alone through the same gateway), ms.")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the gateways and upstreams stop too
    args = parse_args()
    root = Path(tempfile.mkdtemp(prefix="gateway-failover-"))
    log(f"work dir {root}")
    results = [run_one(name, death, args, root) for death in args.death_list for name in args.gateways]
    print_report(args, results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"rate": args.rate, "seconds": args.seconds, "timeout_s": args.timeout, "results": results},
            indent=1,
        )
    )
    log(f"raw numbers written to {args.out}")


if __name__ == "__main__":
    main()
