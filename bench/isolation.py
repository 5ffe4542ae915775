"""Isolation: how much the heaviest queries the cost limit admits slow everyone else down.

    .venv/bin/python -m bench.isolation                      # about 2.5 minutes, nested then dashboard
    .venv/bin/python -m bench.isolation --compare-ungated    # and the gateway without its heavy-query gate

Gateways (uvicorn processes, demo network on a fresh SQLite file) pinned to core 0; this process, the
clients, pinned to core 1. First the three-level `first: 500` query the limit exists for is sent a few times
(it must be refused, in milliseconds). Then, per heavy kind, `{ __typename }` is sent back to back on one
connection, alone, and again while `--heavy-connections` (16) other connections send the heavy query back to
back. Printed: the cost of each query, p50/p99 of `{ __typename }` alone and under load, their ratios, the
heavy query's own rate and latency, the gateway's GC pauses, and the verdict against p99 < 50 ms.
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
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import uvloop
from graphql import parse

from bench.dashboard import find_py_spy
from bench.isolation_serve import running_gateway
from bench.load import REQUEST_TIMEOUT_S, exchange, request_bytes
from bench.pyspy import summarize_collapsed
from bench.queries import DASHBOARD_QUERY
from bench.report import describe_environment
from bench.servers import CLIENT_CPU, SERVER_CPU, Server, pinning_works
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
MAX_LOADED_S = 180.0  # the heavy clients' own bound, should the stop never come
# Behind a gate, a heavy query waits for the ones ahead of it: 16 of ~2 s each on a busy machine is over 30 s.
HEAVY_TIMEOUT_S = 120.0
P99_TARGET_MS = 50.0  # issue 14: p99 of { __typename } under load
T = TypeVar("T")


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
    server: Server,
    body: bytes,
    deadline: float,
    latencies: list[float],
    stop: asyncio.Event | None = None,
    timeout_s: float = REQUEST_TIMEOUT_S,
) -> int:
    """Back to back on one keep-alive connection until the deadline (or `stop`); returns the failures."""
    request = request_bytes(server.port, body, server.token)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    failures = 0
    try:
        while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS and not (stop and stop.is_set()):
            started = time.perf_counter()
            try:
                status, answer = await asyncio.wait_for(exchange(reader, writer, request), timeout_s)
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
                print(f"  a connection gave up after {time.perf_counter() - started:.1f} s: {type(error).__name__}")
                return failures + 1  # the connection is unusable
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


@dataclass
class KindResult:
    """One heavy kind: `{ __typename }` alone and under load, and the heavy query's own figures."""

    gateway: str
    kind: str
    cost: int
    alone: list[float] = field(default_factory=list)
    loaded: list[float] = field(default_factory=list)
    heavy: list[float] = field(default_factory=list)
    loaded_seconds: float = 0.0
    failures: int = 0

    @property
    def passed(self) -> bool:
        return percentile(self.loaded, 99) < P99_TARGET_MS and not self.failures


async def under_load(
    server: Server, heavy_body: bytes, connections: int, during: Callable[[], Awaitable[T]], heavy: list[float]
) -> tuple[T, int]:
    """`during()` while `connections` other connections send the heavy query back to back; (its result, failures)."""
    stop = asyncio.Event()
    deadline = time.perf_counter() + MAX_LOADED_S  # the heavy clients stop when told
    heavy_clients = [
        asyncio.create_task(loop_requests(server, heavy_body, deadline, heavy, stop, HEAVY_TIMEOUT_S))
        for _ in range(connections)
    ]
    try:
        await asyncio.sleep(0.5)  # the heavy load is under way
        result = await during()
    finally:
        stop.set()
    return result, sum(await asyncio.gather(*heavy_clients))


async def measure(server: Server, kind: str, args: argparse.Namespace) -> KindResult:
    heavy_query, heavy_variables = HEAVY[kind]
    heavy_body, typename_body = body_of(heavy_query, heavy_variables), body_of(TYPENAME)
    result = KindResult(server.name, kind, cost_of(heavy_query, heavy_variables))
    print(f"\n== {server.name}, heavy: {kind} (cost {result.cost:,}), {args.heavy_connections} connections ==")
    gc_before = await gc_pauses(server)
    # Warm-up: the parser and validation caches, the connections, SQLite's page cache.
    await loop_requests(server, heavy_body, time.perf_counter() + args.warmup, [])
    await loop_requests(server, typename_body, time.perf_counter() + 1, [])

    print(f"{args.rounds} round(s) of {args.duration:.0f} s each, alone then under load:")
    alone_seconds = 0.0
    for _ in range(args.rounds):
        started = time.perf_counter()
        result.failures += await loop_requests(server, typename_body, started + args.duration, result.alone)
        alone_seconds += time.perf_counter() - started

        async def typename_under_load() -> tuple[int, float]:
            started = time.perf_counter()
            failures = await loop_requests(server, typename_body, started + args.duration, result.loaded)
            return failures, time.perf_counter() - started

        (failures, seconds), heavy_failures = await under_load(
            server, heavy_body, args.heavy_connections, typename_under_load, result.heavy
        )
        result.failures += failures + heavy_failures
        result.loaded_seconds += seconds

    print(line("{ __typename } alone", result.alone, alone_seconds, 0))
    print(line("{ __typename } under load", result.loaded, result.loaded_seconds, 0))
    print(line(f"heavy ({kind}) x{args.heavy_connections}", result.heavy, result.loaded_seconds, result.failures))
    p50_ratio = percentile(result.loaded, 50) / percentile(result.alone, 50)
    p99_ratio = percentile(result.loaded, 99) / percentile(result.alone, 99)
    print(f"  under load / alone: p50 x{p50_ratio:.1f}, p99 x{p99_ratio:.1f}", flush=True)
    print(f"  gateway's garbage collections meanwhile: {describe_gc(gc_before, await gc_pauses(server))}")
    if args.profile is not None:
        output = args.profile.with_name(f"{args.profile.stem}-{server.name}-{kind}{args.profile.suffix or '.txt'}")

        async def spy() -> bool:
            return await profile_gateway(server, args.profile_seconds, output)

        profiled, _ = await under_load(server, heavy_body, args.heavy_connections, spy, [])
        if profiled:
            print(summarize_collapsed(output.read_text(errors="replace"), top=args.profile_top))
    return result


def print_summary(results: Sequence[KindResult], connections: int) -> None:
    print(
        f"\n{{ __typename }} from its own connection, alone and while {connections} connections send the heavy"
        f" query back to back (target: p99 under load < {P99_TARGET_MS:.0f} ms)"
    )
    print(
        f"{'gateway':<8} {'heavy':<10} {'cost':>7} {'alone p50':>10} {'alone p99':>10} {'load p50':>9} {'load p99':>9}"
        f" {'p99 ratio':>10} {'heavy req/s':>12} {'heavy p50':>10}  verdict"
    )
    for r in results:
        rate = len(r.heavy) / r.loaded_seconds if r.loaded_seconds else float("nan")
        verdict = "PASS" if r.passed else "FAIL" + (f" ({r.failures} errors)" if r.failures else "")
        print(
            f"{r.gateway:<8} {r.kind:<10} {r.cost:>7,}"
            f" {percentile(r.alone, 50):>10.2f} {percentile(r.alone, 99):>10.2f}"
            f" {percentile(r.loaded, 50):>9.2f} {percentile(r.loaded, 99):>9.2f}"
            f" {percentile(r.loaded, 99) / percentile(r.alone, 99):>9.1f}x {rate:>12.1f}"
            f" {percentile(r.heavy, 50):>10.0f}  {verdict}"
        )


async def measure_all(servers: Sequence[Server], kinds: Sequence[str], args: argparse.Namespace) -> list[KindResult]:
    print(f"\ncosts: {{ __typename }} {cost_of(TYPENAME)}, three levels of 500 {cost_of(THREE_LEVELS):,};", end="")
    print(f" limit {Settings().max_query_cost:,}")
    for server in servers:
        refusals, answer = await refused(server, 20)
        code = json.loads(answer)["errors"][0]["extensions"]["code"]
        print(
            f"{server.name}: three levels of 500: {code}, p50 {percentile(refusals, 50):.2f} ms,"
            f" max {max(refusals):.2f} ms"
        )
    # Per heavy kind, each gateway in turn: with and without the gate, they see the same machine minutes apart.
    return [await measure(server, kind, args) for kind in kinds for server in servers]


async def gc_pauses(server: Server) -> dict[str, dict[str, float]]:
    """The gateway's garbage-collector pauses so far (bench/isolation_serve.py's /bench/gc)."""
    request = f"GET /bench/gc HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        _, answer = await asyncio.wait_for(exchange(reader, writer, request), REQUEST_TIMEOUT_S)
    finally:
        writer.close()
    pauses: dict[str, dict[str, float]] = json.loads(answer)
    return pauses


def describe_gc(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]) -> str:
    parts = []
    for generation, now in after.items():
        count = now["collections"] - before[generation]["collections"]
        total = now["total_ms"] - before[generation]["total_ms"]
        parts.append(f"gen{generation} {count:.0f} ({total:.0f} ms)")
    return ", ".join(parts) + f"; longest gen2 pause so far {after['2']['max_ms']:.1f} ms"


async def profile_gateway(server: Server, seconds: float, output: Path) -> bool:
    """py-spy the gateway (--gil: only threads running Python) into collapsed stacks; True when written."""
    py_spy = find_py_spy()
    if py_spy is None:
        print("profile skipped: py-spy not found (.venv/bin/pip install py-spy)")
        return False
    command = [py_spy, "record", "--pid", str(server.pid), "--duration", str(int(seconds)), "--rate", "250"]
    command += ["--format", "raw", "--threads", "--nonblocking", "--gil", "--output", str(output)]
    spy = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, stderr = await asyncio.wait_for(spy.communicate(), timeout=seconds + 30)
    finally:
        if spy.returncode is None:
            spy.kill()
            await spy.wait()
    print(f"\nprofile of the gateway under this load for {seconds:.0f} s -> {output}")
    if spy.returncode != 0:
        print(f"  py-spy failed ({spy.returncode}): {stderr.decode(errors='replace')[-500:]}")
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heavy", default="nested,dashboard", help="heavy queries, comma-separated (default both)")
    parser.add_argument("--heavy-connections", type=int, default=16, help="connections sending it (default 16)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of alone + under load (default 2)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement (default 8)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of heavy warm-up (default 3)")
    parser.add_argument(
        "--gate-cost",
        type=int,
        default=Settings().heavy_query_cost,
        help="GATEWAY_HEAVY_QUERY_COST of the gateway measured: queries costing this or more take turns (0: none)",
    )
    parser.add_argument(
        "--compare-ungated", action="store_true", help="also measure a gateway without the gate, in the same run"
    )
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the gateway under load: FILE-<heavy>.txt")
    parser.add_argument("--profile-seconds", type=float, default=8.0, help="seconds of profile (default 8)")
    parser.add_argument("--profile-top", type=int, default=20, help="functions listed (default 20)")
    args = parser.parse_args(argv)
    kinds = [kind.strip() for kind in args.heavy.split(",") if kind.strip()]
    if not kinds or any(kind not in HEAVY for kind in kinds):
        parser.error(f"--heavy: one or more of {', '.join(sorted(HEAVY))}")
    if not 1 <= args.rounds <= 20 or not 0 < args.duration <= 120 or not 1 <= args.heavy_connections <= 32:
        parser.error("rounds must be 1..20, duration 0..120 s, heavy connections 1..32")
    if not 1 <= args.profile_seconds <= 60:
        parser.error("profile seconds must be 1..60")

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
        servers = []
        gateways = [("gateway", args.gate_cost)] + ([("ungated", 0)] if args.compare_ungated else [])
        for name, gate_cost in gateways:
            started = time.monotonic()
            server = stack.enter_context(running_gateway(name, database_url, workdir, pin, gate_cost))
            gate = f"operations costing {gate_cost:,}+ take turns, one at a time" if gate_cost else "no gate"
            print(f"{name} gateway ({gate}) pid {server.pid} port {server.port}: {time.monotonic() - started:.1f} s")
            servers.append(server)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            results = runner.run(measure_all(servers, kinds, args))
    print_summary(results, args.heavy_connections)
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
