"""The response cache: the dashboard query answered warm from the cache, cold (cache off) and by the floor.

    .venv/bin/python -m bench.response_cache                 # ~2 minutes
    .venv/bin/python -m bench.response_cache --rounds 1 --duration 3

Three uvicorn processes on one SQLite file, pinned to core 0 (bench/servers.py): `warm`, the gateway with
GATEWAY_RESPONSE_CACHE=true; `gateway`, the same with it off (every request executed); `floor`, bench/floor.py.
This process generates load over raw HTTP/1.1 keep-alive connections (bench/load.py), pinned to core 1, the same
request again and again, so after its first answer `warm` answers from its cache (until a commit voids it: the
heartbeat's every 5 s). Rounds are interleaved; the ratios compare medians of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import uvloop

from bench.load import Cell, load
from bench.queries import DASHBOARD_QUERY
from bench.report import compare_answers, describe_environment, print_cell, print_table
from bench.servers import CLIENT_CPU, SERVER_CPU, Server, pinning_works, running_server

CACHE_SETTING = "GATEWAY_RESPONSE_CACHE"


@contextmanager
def response_cache(on: bool) -> Iterator[None]:
    """The server started inside sees GATEWAY_RESPONSE_CACHE set so (running_server passes os.environ on)."""
    before = os.environ.get(CACHE_SETTING)
    os.environ[CACHE_SETTING] = "true" if on else "false"
    try:
        yield
    finally:
        if before is None:
            del os.environ[CACHE_SETTING]
        else:
            os.environ[CACHE_SETTING] = before


def start(stack: ExitStack, name: str, kind: str, database_url: str, workdir: Path, pin: bool, cache: bool) -> Server:
    with response_cache(cache):
        server = stack.enter_context(running_server(name, kind, database_url, workdir, pin))
    print(
        f"{name:<9} pid {server.pid} on port {server.port}" + (f" ({CACHE_SETTING}={cache})" if kind != "floor" else "")
    )
    return server


async def measure(
    servers: Sequence[Server], body: bytes, args: argparse.Namespace, concurrencies: list[int]
) -> list[Cell]:
    print(f"\nWarm-up: {args.warmup:.0f} s per server", flush=True)
    for server in servers:
        await load(server, body, max(concurrencies), args.warmup)
    cells: list[Cell] = []
    print(f"Measuring: {args.rounds} round(s) x {args.duration:.0f} s per cell, interleaved", flush=True)
    width = max(len(server.name) for server in servers)
    for round_number in range(1, args.rounds + 1):
        for concurrency in concurrencies:
            shift = (round_number - 1) % len(servers)  # who goes first rotates: a drift favours no one
            for server in [*servers[shift:], *servers[:shift]]:
                cell = await load(server, body, concurrency, args.duration)
                cells.append(cell)
                print_cell(round_number, cell, width)
    return cells


def print_ratios(cells: Sequence[Cell], concurrencies: Sequence[int]) -> None:
    def median(target: str, concurrency: int, cpu: bool) -> float:
        values = [
            c.server_ms_per_request if cpu else c.rps
            for c in cells
            if c.target == target and c.concurrency == concurrency
        ]
        return statistics.median(values) if values else float("nan")

    print("\nWarm-cache ratios (req/s; server CPU ms per request in brackets, lower is cheaper)")
    print(f"{'conc':>4} {'warm req/s':>11} {'warm / gateway':>15} {'warm / floor':>13} {'gateway / floor':>16}")
    for c in concurrencies:
        warm, cold, floor = (median(t, c, cpu=False) for t in ("warm", "gateway", "floor"))
        warm_ms, cold_ms, floor_ms = (median(t, c, cpu=True) for t in ("warm", "gateway", "floor"))
        print(
            f"{c:>4} {warm:>11.1f} {warm / cold:>8.2f} [{warm_ms / cold_ms:4.2f}] {warm / floor:>6.2f} "
            f"[{warm_ms / floor_ms:4.2f}] {cold / floor:>9.2f} [{cold_ms / floor_ms:4.2f}]"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--first", type=int, default=50, help="page size (default 50)")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated connection counts (default 1,16)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per cell (default 3)")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per cell (default 6)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per server (default 2)")
    args = parser.parse_args(argv)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    if not 1 <= args.rounds <= 20 or not 0 < args.duration <= 120 or not all(1 <= c <= 256 for c in concurrencies):
        parser.error("rounds must be 1..20, duration 0..120 s, concurrency 1..256")
    if not 1 <= args.first <= 500:
        parser.error("first must be 1..500 (the gateway's max page size)")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds like Ctrl-C: the servers are terminated
    print(describe_environment())
    pin = pinning_works()
    if pin:
        os.sched_setaffinity(0, {CLIENT_CPU})
    print(
        f"servers on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}"
        if pin
        else "CPU pinning unavailable: servers and load generator share the CPUs"
    )
    body = json.dumps({"query": DASHBOARD_QUERY, "variables": {"first": args.first}}).encode()

    with tempfile.TemporaryDirectory(prefix="bench-response-cache-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        database_url = f"sqlite+aiosqlite:///{workdir / 'cache.sqlite3'}"
        # The cold gateway first: it loads the demo network into the empty file the others then share.
        cold = start(stack, "gateway", "gateway", database_url, workdir, pin, cache=False)
        warm = start(stack, "warm", "gateway", database_url, workdir, pin, cache=True)
        floor = start(stack, "floor", "floor", database_url, workdir, pin, cache=False)
        print(f"Checking the answers to the dashboard query (first={args.first}), twice (the second warm one a hit):")
        same = compare_answers(cold, [warm, floor], body) and compare_answers(cold, [warm], body)
        if not same:
            print("the answers differ: not measuring")
            return 1
        servers = [warm, cold, floor]
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            cells = runner.run(measure(servers, body, args, concurrencies))
        print_table(cells, [server.name for server in servers], concurrencies)
        print_ratios(cells, concurrencies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
