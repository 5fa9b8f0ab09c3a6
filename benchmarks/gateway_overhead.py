"""Gateway overhead: what a gateway adds to each request, benchroute against LiteLLM and Portkey.

The upstream is the project's fake OpenAI-compatible server (``python -m benchroute.testing
--latency 0.02``: 20 ms per chat completion, streams included) in its own process. The load
generator (``benchmarks/_loadgen.py``: aiohttp on uvloop, a closed loop of N workers) is a
process of its own too. It measures, per request, the whole reply's latency and, for a stream,
the time to the first content chunk (TTFT). Rows:

- ``direct``: the load generator straight to the upstream — the measured ceiling of this
  machine (load generator, upstream and gateway share its cores: at high concurrency the
  direct row's throughput is the most any gateway could show here);
- ``bare``: ``benchmarks/_bare_proxy.py`` — benchroute's stack (uvicorn, uvloop, httptools,
  one aiohttp session) forwarding bytes with no work in between: the floor of any gateway on
  that stack here (one more process, two more loopback hops); benchroute minus bare is the
  cost of benchroute's own work;
- ``benchroute``: ``benchroute gateway serve --config …`` from this checkout, one worker,
  alias ``bench`` -> one OpenAI-compatible candidate, request log on (SQLite, its default);
- ``litellm``: the LiteLLM proxy ``litellm[proxy]==1.108.7`` in one process
  (``--num_workers 1``), no database, ``LITELLM_LOCAL_MODEL_COST_MAP=True``, model group
  ``bench`` -> ``openai/fake-model`` at the upstream; OpenTelemetry as installed by the
  extra (the API package, no SDK) unless ``--litellm-otel-sdk`` adds ``opentelemetry-sdk``;
- ``portkey``: the Portkey open-source gateway ``@portkey-ai/gateway@1.15.2`` (Node),
  ``--headless``, ``NODE_ENV=production``, the upstream given per request by
  ``x-portkey-provider: openai`` and ``x-portkey-custom-host`` (its README's way to reach a
  self-hosted OpenAI-compatible server);
- ``benchroute-routed`` (only when ``--only`` names it): the same gateway answering
  ``model: benchroute`` through the router — five classification rules tried on each request,
  a watched policy file polled every second — so benchroute-routed minus benchroute is what
  routing adds to a request.

Every peer is installed by this script into its own environment under
``~/.cache/benchroute/peers`` (LiteLLM: a venv, from PyPI; Portkey: ``npm install --prefix``)
and reused when the pinned version is there. Each cell (target x non-streaming/streaming x
concurrency 1, 16, 64) warms up for ``--warmup`` s, then measures for ``--seconds`` s. Targets
are interleaved within each cell (the starting one rotated), so the noise of a shared machine
hits them alike; with ``--rounds`` > 1 the figures are medians over rounds.

Figures per cell: p50 of the latency (TTFT for streams); the added p50 and p99 (the target's
percentile minus the direct row's, same round and cell); throughput (200s per second);
gateway CPU ms per request (user + system of the gateway's process tree over the measured
window, from /proc, divided by the requests answered in it); peak RSS (the sum over the
gateway's processes of each one's VmHWM, read after the cell). Every cell is checked: no
errors, a stream ended by ``[DONE]`` with no error event, and the upstream (its ``/_stats``
counter) saw exactly one request per client request — a gateway that retried or cached shows.
Ratios: added latency and CPU are peer / benchroute (10 = the peer adds ten times as much);
throughput is benchroute / peer.

    .venv/bin/python benchmarks/gateway_overhead.py                  # everything, one round
    .venv/bin/python benchmarks/gateway_overhead.py --only direct,benchroute --seconds 3

Raw numbers go to ``benchmarks/results/gateway_overhead.json``.
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
from _peers import (
    BENCH_KEY,
    Bare,
    Benchroute,
    BenchrouteRouted,
    Direct,
    Gateway,
    GranianBare,
    LiteLLM,
    Load,
    Portkey,
    log,
    percentile,
    run_load,
    stop_all,
    wait_idle,
)

ALL_TARGETS = ("direct", "bare", "benchroute", "litellm", "portkey")
# only when named by --only: the server-choice run, and the routed path's cost
OPTIONAL_TARGETS = ("bare-granian", "benchroute-routed")
PEERS = ("litellm", "portkey")
RESULTS_FILE = Path(__file__).resolve().parent / "results" / "gateway_overhead.json"
UPSTREAM_LATENCY_S = 0.02


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        default=",".join(ALL_TARGETS),
        help=f"subset of {','.join(ALL_TARGETS)}, or {','.join(OPTIONAL_TARGETS)}",
    )
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated (default 1,16,64)")
    parser.add_argument("--modes", default="json,stream", help="json, stream or both (default both)")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each cell")
    parser.add_argument("--rounds", type=int, default=1, help="rounds (median taken)")
    parser.add_argument("--pip-find-links", default=None, help="a local wheel folder for the LiteLLM venv")
    parser.add_argument(
        "--litellm-otel-sdk", action="store_true", help="also install opentelemetry-sdk into LiteLLM's venv"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_FILE, help="raw-numbers JSON")
    args = parser.parse_args()
    args.targets = [t for t in (*ALL_TARGETS, *OPTIONAL_TARGETS) if t in args.only.split(",")]
    unknown = set(args.only.split(",")) - {*ALL_TARGETS, *OPTIONAL_TARGETS}
    if unknown or "direct" not in args.targets:
        known = ", ".join((*ALL_TARGETS, *OPTIONAL_TARGETS))
        parser.error(f"--only takes names from {known} and needs direct; got {args.only!r}")
    args.levels = [int(c) for c in args.concurrency.split(",")]
    args.mode_list = [m for m in ("json", "stream") if m in args.modes.split(",")]
    return args


def make_gateways(args: argparse.Namespace, workdir: Path, upstream: str) -> list[Gateway]:
    made: dict[str, Gateway] = {
        "direct": Direct(workdir / "direct", upstream),
        "bare": Bare(workdir / "bare", upstream),
        "benchroute": Benchroute(workdir / "benchroute", upstream),
        "litellm": LiteLLM(
            workdir / "litellm", upstream, find_links=args.pip_find_links, otel_sdk=args.litellm_otel_sdk
        ),
        "portkey": Portkey(workdir / "portkey", upstream),
        "bare-granian": GranianBare(workdir / "bare-granian", upstream, find_links=args.pip_find_links),
        "benchroute-routed": BenchrouteRouted(workdir / "benchroute-routed", upstream),
    }
    return [made[name] for name in args.targets]


def measure(
    args: argparse.Namespace, gateways: list[Gateway], upstream: FakeServerProcess
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    turn = 0
    for round_no in range(1, args.rounds + 1):
        for mode in args.mode_list:
            for level in args.levels:
                order = gateways[turn % len(gateways) :] + gateways[: turn % len(gateways)]
                turn += 1
                for gateway in order:
                    counted: list[int] = []
                    load = run_load(
                        gateway.url,
                        model=gateway.model,
                        headers=gateway.headers(),
                        concurrency=level,
                        seconds=args.seconds,
                        stream=mode == "stream",
                        warmup_s=args.warmup,
                        tree=gateway.tree,
                        on_go=upstream.reset,
                    )
                    counted.append(upstream.requests())
                    row = _row(gateway, mode, level, round_no, load, counted[0])
                    rows.append(row)
                    log(
                        f"round {round_no} {mode:6} c={level:<3} {gateway.name:10} "
                        f"p50 {_fmt(row['p50_ms'])} ms, p99 {_fmt(row['p99_ms'])} ms, "
                        f"{row['throughput']:.0f} req/s, cpu {_fmt(row['cpu_ms_per_request'], 2)} ms/req, "
                        f"errors {row['errors']}, upstream {row['upstream_requests']}/{row['requests']}"
                    )
                    wait_idle()
    return rows


def _row(
    gateway: Gateway, mode: str, level: int, round_no: int, load: Load, upstream_requests: int
) -> dict[str, Any]:
    figures = load.ttft_ms if mode == "stream" else load.latency_ms
    sent = load.ok + load.errors
    return {
        "target": gateway.name,
        "mode": mode,
        "concurrency": level,
        "round": round_no,
        "requests": sent,
        "ok": load.ok,
        "errors": load.errors,
        "statuses": load.statuses,
        "wall_s": load.wall_s,
        "throughput": load.throughput,
        "p50_ms": percentile(figures, 0.5),
        "p99_ms": percentile(figures, 0.99),
        "e2e_p50_ms": percentile(load.latency_ms, 0.5),
        "cpu_ms_per_request": (
            load.gateway_cpu_s * 1000 / load.ok if load.gateway_cpu_s is not None and load.ok else None
        ),
        "rss_mb": gateway.tree.peak_rss_mb() if gateway.tree is not None else None,
        "upstream_requests": upstream_requests,
        "check": _check(load, sent, upstream_requests),
    }


def _check(load: Load, sent: int, upstream_requests: int) -> str:
    if load.errors:
        return "errors " + ",".join(f"{k}x{v}" for k, v in sorted(load.statuses.items()))
    if upstream_requests != sent:
        return f"upstream saw {upstream_requests} for {sent}"
    return "ok"


# summarising ------------------------------------------------------------------------------
def summarise(rows: list[dict[str, Any]]) -> dict[tuple[str, int, str], dict[str, Any]]:
    """Median over rounds of each cell's figures; added latency against direct per round."""
    direct = {(r["mode"], r["concurrency"], r["round"]): r for r in rows if r["target"] == "direct"}
    cells: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for row in rows:
        base = direct.get((row["mode"], row["concurrency"], row["round"]))
        added50 = added99 = None
        if base is not None and row["p50_ms"] is not None and base["p50_ms"] is not None:
            added50 = row["p50_ms"] - base["p50_ms"]
            added99 = row["p99_ms"] - base["p99_ms"]
        cells.setdefault((row["mode"], row["concurrency"], row["target"]), []).append(
            {**row, "added_p50_ms": added50, "added_p99_ms": added99}
        )
    summary: dict[tuple[str, int, str], dict[str, Any]] = {}
    for key, group in cells.items():
        merged: dict[str, Any] = {
            "rounds": len(group),
            "check": "; ".join(sorted({g["check"] for g in group})),
        }
        for field in (
            "p50_ms",
            "p99_ms",
            "e2e_p50_ms",
            "added_p50_ms",
            "added_p99_ms",
            "throughput",
            "cpu_ms_per_request",
            "rss_mb",
        ):
            values = [g[field] for g in group if g[field] is not None]
            merged[field] = statistics.median(values) if values else None
        merged["errors"] = sum(g["errors"] for g in group)
        summary[key] = merged
    return summary


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or denominator is None:
        return "-"
    if denominator <= 0:
        return "br<=0" if numerator > 0 else "-"
    return f"{numerator / denominator:.1f}x"


def print_report(
    args: argparse.Namespace, summary: dict[tuple[str, int, str], dict[str, Any]], gateways: list[Gateway]
) -> None:
    names = [g.name for g in gateways]
    versions = {g.name: g.version for g in gateways}
    print()
    print(
        f"Gateway overhead: fake upstream {UPSTREAM_LATENCY_S * 1000:.0f} ms, {args.seconds:g} s per cell "
        f"after {args.warmup:g} s warm-up, {args.rounds} round(s) (median)"
    )
    for mode in args.mode_list:
        what = "TTFT" if mode == "stream" else "latency"
        print()
        print(
            f"{'streaming' if mode == 'stream' else 'non-streaming'} — {what} (added = target minus direct)"
        )
        header = (
            f"{'target':<18}{'c':>3}{'p50 ms':>9}{'+p50 ms':>9}{'+p99 ms':>9}{'req/s':>8}"
            f"{'CPU ms/req':>11}{'RSS MB':>8}  check"
        )
        print(header)
        print("-" * len(header))
        for level in args.levels:
            for name in names:
                cell = summary.get((mode, level, name))
                if cell is None:
                    continue
                label = name if not versions[name] else f"{name} {versions[name]}"
                print(
                    f"{label:<18}{level:>3}{_fmt(cell['p50_ms'], 2):>9}"
                    f"{_fmt(cell['added_p50_ms'] if name != 'direct' else None, 2):>9}"
                    f"{_fmt(cell['added_p99_ms'] if name != 'direct' else None, 2):>9}"
                    f"{cell['throughput']:>8.0f}"
                    f"{_fmt(cell['cpu_ms_per_request'], 2):>11}{_fmt(cell['rss_mb'], 0):>8}"
                    f"  {cell['check'][:40]}"
                )
    peers = [p for p in PEERS if p in names]
    if "benchroute" in names and peers:
        print()
        print("ratios — added p50 and CPU: peer / benchroute; throughput: benchroute / peer")
        header = f"{'mode':<8}{'c':>3}" + "".join(
            f"{'+p50 ' + p:>15}{'CPU ' + p:>14}{'req/s vs ' + p:>17}" for p in peers
        )
        print(header)
        print("-" * len(header))
        for mode in args.mode_list:
            for level in args.levels:
                br = summary.get((mode, level, "benchroute"))
                if br is None:
                    continue
                line = f"{mode:<8}{level:>3}"
                for peer in peers:
                    cell = summary.get((mode, level, peer))
                    if cell is None:
                        line += f"{'-':>15}{'-':>14}{'-':>17}"
                        continue
                    line += f"{_ratio(cell['added_p50_ms'], br['added_p50_ms']):>15}"
                    line += f"{_ratio(cell['cpu_ms_per_request'], br['cpu_ms_per_request']):>14}"
                    line += f"{_ratio(br['throughput'], cell['throughput']):>17}"
                print(line)
    print_targets(args, summary, names)
    for gateway in gateways:
        if isinstance(gateway, LiteLLM):
            print(f"LiteLLM OpenTelemetry configuration measured: {gateway.otel_configuration}.")
        if gateway.name != "direct" and gateway.started_s is not None:
            print(f"{gateway.name}: ready {gateway.started_s:.1f} s after start.")


def print_targets(
    args: argparse.Namespace, summary: dict[tuple[str, int, str], dict[str, Any]], names: list[str]
) -> None:
    if "benchroute" not in names:
        return
    print()
    print("issue 13 targets for benchroute (this run):")

    def show(label: str, value: float | None, ok: bool | None) -> None:
        verdict = "n/a" if ok is None else ("met" if ok else "NOT met")
        print(f"  {label:<58} {_fmt(value, 2):>8}  {verdict}")

    get = summary.get
    c1 = get(("json", 1, "benchroute")) if 1 in args.levels else None
    if c1 is not None:
        show("added p50 at concurrency 1, ms (<= 1)", c1["added_p50_ms"], _le(c1["added_p50_ms"], 1.0))
    cpus = [get((m, c, "benchroute")) for m in args.mode_list for c in args.levels]
    worst_cpu = max(
        (c["cpu_ms_per_request"] for c in cpus if c and c["cpu_ms_per_request"] is not None), default=None
    )
    show("gateway CPU per request, worst cell, ms (<= 1)", worst_cpu, _le(worst_cpu, 1.0))
    rss = max((c["rss_mb"] for c in cpus if c and c["rss_mb"] is not None), default=None)
    show("peak RSS, MB (<= 120)", rss, _le(rss, 120.0))
    s1 = get(("stream", 1, "benchroute"))
    if s1 is not None:
        show(
            "streaming TTFT added p50 at concurrency 1, ms (<= 1)",
            s1["added_p50_ms"],
            _le(s1["added_p50_ms"], 1.0),
        )
    top = max(args.levels)
    br_top = get(("json", top, "benchroute"))
    if br_top is not None:
        show(
            f"added p99 at concurrency {top}, ms (<= 5)",
            br_top["added_p99_ms"],
            _le(br_top["added_p99_ms"], 5.0),
        )
        for peer, factor in (("litellm", 20.0), ("portkey", 2.0)):
            cell = get(("json", top, peer))
            if cell is not None and cell["throughput"]:
                ratio = br_top["throughput"] / cell["throughput"]
                show(f"throughput at concurrency {top} vs {peer} (>= {factor:g}x)", ratio, ratio >= factor)
        direct = get(("json", top, "direct"))
        if direct is not None and direct["throughput"]:
            share = br_top["throughput"] / direct["throughput"]
            show(f"throughput at concurrency {top} as a share of direct (the ceiling)", share, None)
    below = True
    for mode in args.mode_list:
        for level in args.levels:
            br = get((mode, level, "benchroute"))
            for peer in PEERS:
                cell = get((mode, level, peer))
                if br and cell and br["added_p50_ms"] is not None and cell["added_p50_ms"] is not None:
                    below = below and br["added_p50_ms"] < cell["added_p50_ms"]
    if any(p in names for p in PEERS):
        show("added p50 below every peer at every concurrency and mode", None, below)
    print_floor(args, summary, names)


def print_floor(
    args: argparse.Namespace, summary: dict[tuple[str, int, str], dict[str, Any]], names: list[str]
) -> None:
    """The same figures for the ``bare`` row: what the stack alone costs on this machine."""
    if "bare" not in names or "benchroute" not in names:
        return
    print()
    print("the stack's floor (bare pass-through, same run) against benchroute:")
    print(f"  {'figure':<50} {'bare':>8} {'benchroute':>11} {'own work':>9}")
    top = max(args.levels)
    cells = [
        ("added p50 at concurrency 1, ms", ("json", 1), "added_p50_ms"),
        ("gateway CPU per request at concurrency 1, ms", ("json", 1), "cpu_ms_per_request"),
        (f"gateway CPU per request at concurrency {top}, ms", ("json", top), "cpu_ms_per_request"),
        ("streaming TTFT added p50 at concurrency 1, ms", ("stream", 1), "added_p50_ms"),
        (f"added p99 at concurrency {top}, ms", ("json", top), "added_p99_ms"),
        (f"throughput at concurrency {top}, req/s", ("json", top), "throughput"),
    ]
    for label, (mode, level), key in cells:
        bare = summary.get((mode, level, "bare"))
        br = summary.get((mode, level, "benchroute"))
        if bare is None or br is None:
            continue
        b, r = bare[key], br[key]
        own = None if b is None or r is None else r - b
        print(f"  {label:<50} {_fmt(b, 2):>8} {_fmt(r, 2):>11} {_fmt(own, 2):>9}")


def _le(value: float | None, bound: float) -> bool | None:
    return None if value is None else value <= bound


def idle_cpu(gateways: list[Gateway], seconds: float = 2.0) -> dict[str, float]:
    """Each gateway's CPU while no request arrives, in ms per second."""
    trees = {g.name: g.tree for g in gateways if g.tree is not None}
    before = {name: tree.cpu_seconds() for name, tree in trees.items()}
    time.sleep(seconds)
    return {name: (tree.cpu_seconds() - before[name]) * 1000 / seconds for name, tree in trees.items()}


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the gateways and upstreams stop too
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="gateway-overhead-"))
    upstream = FakeServerProcess(
        workdir / "upstream.log", ["--latency", str(UPSTREAM_LATENCY_S), "--api-key", BENCH_KEY]
    )
    upstream_url = upstream.start()
    log(f"fake upstream at {upstream_url} ({UPSTREAM_LATENCY_S * 1000:.0f} ms); work dir {workdir}")
    gateways = make_gateways(args, workdir, upstream_url)
    try:
        for gateway in gateways:
            gateway.install()
        for gateway in gateways:
            log(f"starting {gateway.name}")
            gateway.start()
            log(f"{gateway.name} ready at {gateway.url} ({gateway.started_s:.1f} s)")
        time.sleep(1.0)
        idle = idle_cpu(gateways)
        rows = measure(args, gateways, upstream)
    finally:
        stop_all(gateways)
        upstream.stop()
    summary = summarise(rows)
    print_report(args, summary, gateways)
    for name, ms_per_s in idle.items():
        print(
            f"{name}: {ms_per_s:.1f} ms of CPU per second while idle (in its CPU per request at low rates)."
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "upstream_latency_s": UPSTREAM_LATENCY_S,
                "seconds": args.seconds,
                "warmup_s": args.warmup,
                "rounds": args.rounds,
                "versions": {g.name: g.version for g in gateways},
                "litellm_otel": next(
                    (g.otel_configuration for g in gateways if isinstance(g, LiteLLM)), None
                ),
                "idle_cpu_ms_per_s": idle,
                "rows": rows,
            },
            indent=1,
        )
    )
    log(f"raw numbers written to {args.out}")


if __name__ == "__main__":
    main()
