"""Writes through the gateway: booking throughput against a read floor, and the cost of fanning a write out.

    .venv/bin/python -m bench.writes                     # under a minute: SQLite, then PostgreSQL
    .venv/bin/python -m bench.writes --calls 300 --backends sqlite

Per backend: a fresh cache (demo network plus a fifth customer-writable location), the gateway with
its simulated locations as one uvicorn process pinned to core 0, this process as the client on core 1.

1. Booking throughput: `--calls` trivial queries (the read floor), then as many one-row cache reads,
   then as many createBooking calls over distinct free slots (every one can be accepted: accepted
   bookings/s), then as many for overlapping slots at three locations (mostly refused), each batch with
   `--connections` calls in flight; then the cache is checked: every booking confirmed, none double-booked.
2. Fan-out: with every location answering `--latency-ms` late, updateCustomer for a customer known at
   six customer-writable locations against one known at one; the ratio is near 1 when the gateway
   writes to the six in parallel, near 6 when it writes to them one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvloop

from bench.pyspy import summarize_collapsed
from bench.servers import Server
from bench.writes_calls import (
    BOOKING_DAYS_AHEAD,
    BOOKING_LOCATIONS,
    LOCATION_QUERY,
    TYPENAME_QUERY,
    WARMUP_DAYS_AHEAD,
    BookingOutcome,
    CacheCheck,
    Calls,
    booking_bodies,
    check_cache,
    classify,
    connections,
    free_booking_bodies,
    free_slot,
    free_slots,
    read_bodies,
    read_errors,
    run_calls,
)
from bench.writes_fanout import FanOutResult, Target, measure_fan_out, profile_target
from bench.writes_setup import (
    PreparedCache,
    begin_run,
    cache_database,
    prepare_cache,
    running_gateway,
)

WARMUP_READS = 200
# Where the free slots are looked for: before the contended day (BOOKING_DAYS_AHEAD) and the warm-up's.
FREE_DAYS_AHEAD = 14
# Issue 14: a write fanned out to the customer's other locations costs at most this much more than to one.
FAN_OUT_TARGET = 1.15


@dataclass
class Throughput:
    reads: list[tuple[Calls, int]]  # calls, errors
    free_bookings: Calls  # one call per distinct free slot
    accepted: BookingOutcome
    free_slots: int
    bookings: Calls  # overlapping slots: mostly refused
    outcome: BookingOutcome
    cache: CacheCheck


@dataclass
class BackendResult:
    backend: str
    throughput: Throughput | None  # None: `--only fanout`
    fan_out: FanOutResult | None  # None: `--only throughput`


def print_calls(calls: Calls, errors: int) -> None:
    print(
        f"  {calls.target:<16} {len(calls.answers):>5} calls in {calls.seconds:6.2f} s  {calls.rate:8.1f} calls/s"
        f"  p50 {calls.percentile(50):8.1f} ms  p99 {calls.percentile(99):8.1f} ms"
        f"  gateway CPU {calls.server_cpu:4.0%} ({calls.server_ms_per_call:5.2f} ms/call)"
        f"  client CPU {calls.client_cpu:4.0%}" + (f"  ERRORS {errors}" if errors else ""),
        flush=True,
    )


async def bench_backend(
    backend: str, server: Server, database_url: str, prepared: PreparedCache, args: argparse.Namespace
) -> BackendResult:
    async with connections(f"http://127.0.0.1:{server.port}", args.connections, server.headers) as clients:
        client = clients[0]
        # Warm-up, not timed: connections, the GraphQL schema's caches, each location's session and token.
        await run_calls(clients, server, "warm-up", read_bodies(TYPENAME_QUERY, WARMUP_READS))
        throughput = None
        if args.only != "fanout":
            throughput = await bench_throughput(clients, server, database_url, prepared, args)
        fan_out = None
        if args.only != "throughput":
            fan_out = await bench_fan_out(client, server, backend, prepared, args)
    return BackendResult(backend, throughput, fan_out)


async def bench_throughput(
    clients: list[httpx.AsyncClient],
    server: Server,
    database_url: str,
    prepared: PreparedCache,
    args: argparse.Namespace,
) -> Throughput:
    """Part 1: the read floor, createBooking over free slots and over contended ones, then the cache checked."""
    client = clients[0]
    customers = prepared.booking_customers
    warm = {location: await free_slot(client, location, WARMUP_DAYS_AHEAD) for location in BOOKING_LOCATIONS}
    warm_up = classify(await run_calls(clients, server, "warm-up", booking_bodies(warm, customers, len(warm))))
    if warm_up.counts["booked"] != len(warm):
        print(f"  warm-up bookings: {dict(warm_up.counts)}")
    slots = {location: await free_slot(client, location, BOOKING_DAYS_AHEAD) for location in BOOKING_LOCATIONS}

    print(f"Booking throughput: {args.calls} calls per target, {args.connections} in flight", flush=True)
    reads = []
    for target, query in (("{ __typename }", TYPENAME_QUERY), ("location(id)", LOCATION_QUERY)):
        calls = await run_calls(clients, server, target, read_bodies(query, args.calls))
        reads.append((calls, read_errors(calls)))
        print_calls(*reads[-1])
    # Distinct free slots: every call can be accepted, so the rate is one of bookings made, not of refusals.
    per_location = -(-args.calls // len(BOOKING_LOCATIONS))
    free = {
        location: await free_slots(client, location, FREE_DAYS_AHEAD, per_location) for location in BOOKING_LOCATIONS
    }
    free_bodies = free_booking_bodies(free, customers)[: args.calls]
    if len(free_bodies) < args.calls:
        print(f"  only {len(free_bodies)} free slots found for {args.calls} calls")
    free_calls = await run_calls(clients, server, "createBooking", free_bodies)
    accepted = classify(free_calls)
    print_calls(free_calls, len(free_bodies) - accepted.counts["booked"])
    print(
        f"  free slots: accepted {accepted.counts['booked']}/{len(free_bodies)},"
        f" {accepted.counts['booked'] / free_calls.seconds:.1f} accepted bookings/s;"
        f" outcomes: {', '.join(f'{name} {n}' for name, n in accepted.counts.most_common())}"
    )
    bookings = await run_calls(clients, server, "contended", booking_bodies(slots, customers, args.calls))
    outcome = classify(bookings)
    print_calls(bookings, sum(n for name, n in outcome.counts.items() if name not in ("booked", "SLOT_UNAVAILABLE")))
    print(f"  contended outcomes: {', '.join(f'{name} {n}' for name, n in outcome.counts.most_common())}")
    cache = await check_cache(database_url, [*accepted.booked, *outcome.booked])
    print(
        f"  cache: {cache.confirmed}/{len(accepted.booked) + len(outcome.booked)} booked are confirmed,"
        f" on {cache.resources} resources; double-booked resources: {', '.join(cache.double_booked) or 'none'}",
        flush=True,
    )
    return Throughput(reads, free_calls, accepted, len(free_bodies), bookings, outcome, cache)


async def bench_fan_out(
    client: httpx.AsyncClient, server: Server, backend: str, prepared: PreparedCache, args: argparse.Namespace
) -> FanOutResult:
    """Part 2: updateCustomer at six slow locations against one."""
    fan_out = Target(
        f"fan-out {len(prepared.fan_out_locations)}", prepared.fan_out_customer, prepared.fan_out_locations
    )
    single = Target("single", prepared.single_customer, (prepared.single_location,))
    print(
        f"Fan-out: updateCustomer, every location {args.latency_ms:.0f} ms late;"
        f" {args.rounds} rounds x {args.fanout_calls} calls each, alternating",
        flush=True,
    )
    result = await measure_fan_out(
        client, fan_out, single, args.rounds, args.fanout_calls, args.latency_ms / 1000, server.cpu_seconds
    )
    for checked in result.targets:
        for problem, n in checked.problems.items():
            print(f"  {checked.name}: {n} of {checked.calls} calls {problem}")
    print(
        f"  fan-out {len(prepared.fan_out_locations)} / single = {result.ratio:.2f};"
        f" gateway CPU per call {result.cpu_ms(0):.1f} ms / {result.cpu_ms(1):.1f} ms"
        f" (in the kernel {result.system_ms(0):.1f} / {result.system_ms(1):.1f} ms)",
        flush=True,
    )
    if args.profile is not None:
        for target in (fan_out, single):
            output = args.profile.with_name(f"{args.profile.name}-{backend}-{target.name.replace(' ', '')}")
            latency_s = args.latency_ms / 1000
            if await profile_target(client, server.pid, target, args.profile_calls, latency_s, output):
                print(f"\nProfile of the gateway over {args.profile_calls} calls of {target.name} -> {output}")
                print(summarize_collapsed(output.read_text(), samples="samples holding the GIL"), flush=True)
    return result


def print_summary(results: Sequence[BackendResult], args: argparse.Namespace) -> None:
    throughputs = [(result.backend, result.throughput) for result in results if result.throughput is not None]
    if throughputs:
        print_throughput_summary(throughputs, args)
    fan_outs = [(result.backend, result.fan_out) for result in results if result.fan_out is not None]
    if fan_outs:
        print_fan_out_summary(fan_outs, args)


def print_throughput_summary(results: Sequence[tuple[str, Throughput]], args: argparse.Namespace) -> None:
    print(
        f"\nBooking throughput: {args.calls} calls per target, {args.connections} in flight"
        " (httpx, one client per connection); ratios to the { __typename } floor of the same backend"
    )
    header = f"{'backend':<11} {'target':<16} {'calls/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'gw CPU ms/call':>15}"
    print(f"{header} {'calls/s ratio':>14} {'CPU ratio':>10}")
    for backend, result in results:
        floor = result.reads[0][0]
        for calls in (*(calls for calls, _ in result.reads), result.free_bookings, result.bookings):
            print(
                f"{backend:<11} {calls.target:<16} {calls.rate:>9.1f} {calls.percentile(50):>9.1f}"
                f" {calls.percentile(99):>9.1f} {calls.server_ms_per_call:>15.2f}"
                f" {calls.rate / floor.rate:>14.3f} {calls.server_ms_per_call / floor.server_ms_per_call:>10.1f}"
            )
    print("\ncreateBooking over distinct free slots (every call can be accepted) and over overlapping ones")
    for backend, result in results:
        booked = result.accepted.counts["booked"]
        print(
            f"{backend:<11} free slots: accepted {booked}/{result.free_slots},"
            f" {booked / result.free_bookings.seconds:.1f} accepted bookings/s at {args.connections} in flight"
            f" (p50 {result.free_bookings.percentile(50):.1f} ms, p99 {result.free_bookings.percentile(99):.1f} ms)"
        )
        counts = result.outcome.counts
        others = sum(n for name, n in counts.items() if name not in ("booked", "SLOT_UNAVAILABLE"))
        print(
            f"{backend:<11} contended:  booked {counts['booked']}, SLOT_UNAVAILABLE"
            f" {counts['SLOT_UNAVAILABLE']}, other {others}"
        )
        booked_all = len(result.accepted.booked) + len(result.outcome.booked)
        print(
            f"{backend:<11} cache: {result.cache.confirmed}/{booked_all} confirmed,"
            f" double-booked resources: {len(result.cache.double_booked)}"
        )


def print_fan_out_summary(results: Sequence[tuple[str, FanOutResult]], args: argparse.Namespace) -> None:
    print(
        f"\nFan-out: updateCustomer with every location answering {args.latency_ms:.0f} ms late"
        f" (median of {args.rounds} round medians; 1.00 = fully parallel, ~6 = one after another)"
    )
    for backend, fan_out in results:
        locations = len(fan_out.targets[0].expected_locations)
        extra_ms, extra_cpu = fan_out.fan_out_ms - fan_out.single_ms, fan_out.cpu_ms(0) - fan_out.cpu_ms(1)
        verdict = "PASS" if fan_out.ratio <= FAN_OUT_TARGET else "FAIL"
        print(
            f"{backend:<11} fan-out {locations} / single = {fan_out.ratio:.2f}"
            f"   ({fan_out.fan_out_ms:.1f} ms / {fan_out.single_ms:.1f} ms; target <= {FAN_OUT_TARGET}: {verdict})"
            f"   gateway CPU per call {fan_out.cpu_ms(0):.1f} / {fan_out.cpu_ms(1):.1f} ms"
            f" (kernel {fan_out.system_ms(0):.1f} / {fan_out.system_ms(1):.1f}):"
            f" the {locations - 1} more locations add {extra_ms:.1f} ms of latency and {extra_cpu:.1f} ms of CPU"
        )


def failed(result: BackendResult) -> bool:
    """What the benchmark exists to catch: a double booking, a lost booking, or a write that did not go out."""
    if result.fan_out is not None and any(target.problems for target in result.fan_out.targets):
        return True
    throughput = result.throughput
    if throughput is None:
        return False
    lost = throughput.cache.confirmed != len(throughput.accepted.booked) + len(throughput.outcome.booked)
    refused_free = throughput.accepted.counts["booked"] != throughput.free_slots
    return bool(throughput.cache.double_booked) or lost or refused_free


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="calls per throughput target (default 1000)")
    parser.add_argument("--connections", type=int, default=50, help="calls in flight (default 50)")
    parser.add_argument("--rounds", type=int, default=3, help="fan-out rounds (default 3)")
    parser.add_argument("--fanout-calls", type=int, default=5, help="fan-out calls per target per round (default 5)")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="locations' added latency (default 100)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated (default sqlite,postgresql)")
    parser.add_argument(
        "--only", choices=("throughput", "fanout"), default=None, help="run one part only (default both)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="after the fan-out rounds, py-spy the gateway over --profile-calls calls of each target"
        " into FILE-<backend>-<target>",
    )
    parser.add_argument("--profile-calls", type=int, default=40, help="calls per profiled target (default 40)")
    args = parser.parse_args(argv)
    backends = [backend.strip() for backend in args.backends.split(",") if backend.strip()]
    if not 10 <= args.calls <= 20_000 or not 1 <= args.connections <= 200:
        parser.error("calls must be 10..20000, connections 1..200")
    if not 1 <= args.rounds <= 20 or not 1 <= args.fanout_calls <= 50 or not 0 <= args.latency_ms <= 2000:
        parser.error("rounds must be 1..20, fanout-calls 1..50, latency-ms 0..2000")
    if not backends or any(backend not in ("sqlite", "postgresql") for backend in backends):
        parser.error("backends: sqlite and/or postgresql")

    pin = begin_run(backends)

    results: list[BackendResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-writes-") as tmp,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        workdir = Path(tmp)
        for backend in backends:
            print(f"\n== {backend} ==")
            with cache_database(backend, workdir) as database_url:
                started = time.monotonic()
                prepared = runner.run(prepare_cache(database_url, BOOKING_LOCATIONS))
                print(
                    f"cache ready in {time.monotonic() - started:.1f} s: fan-out customer {prepared.fan_out_customer}"
                    f" at {', '.join(prepared.fan_out_locations)}"
                    f" (mapped here at {', '.join(prepared.added_mappings) or 'none'});"
                    f" single customer {prepared.single_customer} at {prepared.single_location}"
                )
                started = time.monotonic()
                with running_gateway(f"gateway-{backend}", database_url, workdir, pin) as server:
                    print(
                        f"gateway pid {server.pid} on port {server.port}, started in {time.monotonic() - started:.1f} s"
                    )
                    results.append(runner.run(bench_backend(backend, server, database_url, prepared, args)))
    print_summary(results, args)
    return 1 if any(failed(result) for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
