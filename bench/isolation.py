"""Isolation: how much the heaviest query the cost limit admits slows everyone else down.

    .venv/bin/python -m bench.isolation                      # about 40 s
    .venv/bin/python -m bench.isolation --heavy dashboard --duration 5 --heavy-connections 2

One gateway (uvicorn process, demo network on a fresh SQLite file) pinned to core 0; this process, the
clients, pinned to core 1. First the three-level `first: 500` query the limit exists for is sent a few times
(it must be refused, in milliseconds). Then `{ __typename }` is sent back to back on one connection, alone,
and again while `--heavy-connections` other connections send the heavy query back to back. Printed: the
cost of each query, p50/p99 of `{ __typename }` alone and under load, their ratios, and the heavy query's
own rate and latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import uvloop
from graphql import parse

from bench.load import REQUEST_TIMEOUT_S, exchange, request_bytes
from bench.queries import DASHBOARD_QUERY
from bench.report import describe_environment
from bench.servers import CLIENT_CPU, SERVER_CPU, Server, pinning_works, running_server
from schema import build_schema
from schema.cost import CostModel, operation_cost
from settings import Settings

TYPENAME = "{ __typename }"
THREE_LEVELS = (
    "{ customers(first: 500) { nodes { bookings(first: 500) { nodes { customer {"
    " bookings(first: 500) { nodes { id } } } } } } } }"
)
# Just under the default limit: 100 customers with 124 bookings each (cost 99,602).
NESTED = """
query Nested($customers: Int!, $bookings: Int!) {
  customers(first: $customers) {
    nodes {
      id fullName
      bookings(first: $bookings) { nodes { id status startAt price { amount currency } service { name } } }
    }
  }
}
"""
HEAVY = {
    "nested": (NESTED, {"customers": 100, "bookings": 124}),
    "dashboard": (DASHBOARD_QUERY, {"first": 500}),
}
MAX_REQUESTS = 200_000


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def body_of(query: str, variables: dict[str, int] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}).encode()


def cost_of(query: str, variables: dict[str, int] | None = None) -> int:
    settings = Settings()
    model = CostModel(default_page_size=settings.default_page_size, max_page_size=settings.max_page_size)
    return operation_cost(build_schema()._schema, parse(query), model, variables=variables)


async def loop_requests(
    server: Server, body: bytes, deadline: float, latencies: list[float], stop: asyncio.Event | None = None
) -> int:
    """Back to back on one keep-alive connection until the deadline (or `stop`); returns the failures."""
    request = request_bytes(server.port, body, server.token)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    failures = 0
    try:
        while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS and not (stop and stop.is_set()):
            started = time.perf_counter()
            status, answer = await asyncio.wait_for(exchange(reader, writer, request), REQUEST_TIMEOUT_S)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200 or b'"errors"' in answer:
                failures += 1
    finally:
        writer.close()
    return failures


async def refused(server: Server, times: int) -> tuple[list[float], bytes]:
    request = request_bytes(server.port, body_of(THREE_LEVELS), server.token)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    latencies: list[float] = []
    answer = b""
    try:
        for _ in range(times):
            started = time.perf_counter()
            _, answer = await asyncio.wait_for(exchange(reader, writer, request), REQUEST_TIMEOUT_S)
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        writer.close()
    return latencies, answer


def line(name: str, latencies: Sequence[float], seconds: float, failures: int) -> str:
    rate = len(latencies) / seconds if seconds else float("nan")
    return (
        f"  {name:<28} {len(latencies):>7} req {rate:>8.1f} req/s  p50 {percentile(latencies, 50):>8.2f} ms"
        f"  p99 {percentile(latencies, 99):>8.2f} ms  errors {failures}"
    )


async def measure(server: Server, args: argparse.Namespace) -> None:
    heavy_query, heavy_variables = HEAVY[args.heavy]
    heavy_body, typename_body = body_of(heavy_query, heavy_variables), body_of(TYPENAME)
    heavy_cost = cost_of(heavy_query, heavy_variables)
    print(f"\ncosts: {{ __typename }} {cost_of(TYPENAME)}, heavy ({args.heavy}) {heavy_cost:,}, ", end="")
    print(f"three levels of 500 {cost_of(THREE_LEVELS):,}; limit {Settings().max_query_cost:,}")

    refusals, answer = await refused(server, 20)
    code = json.loads(answer)["errors"][0]["extensions"]["code"]
    print(f"three levels of 500: {code}, p50 {percentile(refusals, 50):.2f} ms, max {max(refusals):.2f} ms")

    # Warm-up: the parser and validation caches, the connections, SQLite's page cache.
    await loop_requests(server, heavy_body, time.perf_counter() + args.warmup, [])
    await loop_requests(server, typename_body, time.perf_counter() + 1, [])

    print(f"\n{args.rounds} round(s) of {args.duration:.0f} s each, alone then under load:")
    alone: list[float] = []
    loaded: list[float] = []
    heavy: list[float] = []
    failures = {"alone": 0, "loaded": 0, "heavy": 0}
    alone_seconds = loaded_seconds = 0.0
    for _ in range(args.rounds):
        started = time.perf_counter()
        failures["alone"] += await loop_requests(server, typename_body, started + args.duration, alone)
        alone_seconds += time.perf_counter() - started

        stop = asyncio.Event()
        deadline = time.perf_counter() + args.duration + 60  # the heavy clients stop when told
        heavy_clients = [
            asyncio.create_task(loop_requests(server, heavy_body, deadline, heavy, stop))
            for _ in range(args.heavy_connections)
        ]
        await asyncio.sleep(0.5)  # the heavy load is under way
        started = time.perf_counter()
        failures["loaded"] += await loop_requests(server, typename_body, started + args.duration, loaded)
        loaded_seconds += time.perf_counter() - started
        stop.set()
        failures["heavy"] += sum(await asyncio.gather(*heavy_clients))

    print(line("{ __typename } alone", alone, alone_seconds, failures["alone"]))
    print(line("{ __typename } under load", loaded, loaded_seconds, failures["loaded"]))
    print(line(f"heavy ({args.heavy}) x{args.heavy_connections}", heavy, loaded_seconds, failures["heavy"]))
    p50_ratio = percentile(loaded, 50) / percentile(alone, 50)
    p99_ratio = percentile(loaded, 99) / percentile(alone, 99)
    print(f"  under load / alone: p50 x{p50_ratio:.1f}, p99 x{p99_ratio:.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heavy", choices=sorted(HEAVY), default="nested", help="the heavy query (default nested)")
    parser.add_argument("--heavy-connections", type=int, default=1, help="connections sending it (default 1)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of alone + under load (default 2)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement (default 8)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of heavy warm-up (default 3)")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 20 or not 0 < args.duration <= 120 or not 1 <= args.heavy_connections <= 32:
        parser.error("rounds must be 1..20, duration 0..120 s, heavy connections 1..32")

    # SIGTERM unwinds like Ctrl-C, so the server is terminated on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(describe_environment())
    pin = pinning_works()
    if pin:
        os.sched_setaffinity(0, {CLIENT_CPU})
    print(f"gateway on CPU {SERVER_CPU}, clients on CPU {CLIENT_CPU}" if pin else "CPU pinning unavailable")
    with tempfile.TemporaryDirectory(prefix="bench-isolation-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        database_url = f"sqlite+aiosqlite:///{workdir / 'cache.sqlite3'}"
        started = time.monotonic()
        gateway = stack.enter_context(running_server("gateway", "gateway", database_url, workdir, pin))
        print(f"gateway pid {gateway.pid} on port {gateway.port}: started in {time.monotonic() - started:.1f} s")
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(measure(gateway, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
