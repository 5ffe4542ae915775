"""Subscription delivery: how long a booking change takes to reach 1,000 (or 10,000) WebSocket subscribers.

    .venv/bin/python -m bench.subscriptions                  # a few minutes: SQLite, then PostgreSQL
    .venv/bin/python -m bench.subscriptions --subscribers 10000 --events 20 --interval 1 --backends sqlite

Per backend: a fresh cache (the demo network), the gateway with its simulated locations as one uvicorn
process pinned to core 0 (`bench.writes_serve`: on PostgreSQL it runs the LISTEN/NOTIFY bus), this
process as the client on core 1. Every subscriber is its own WebSocket (graphql-transport-ws, a raw
asyncio client: bench/ws_client.py) with `bookingEvents(locationId)` for one location: they all share
one execution per event on the gateway. Then `--events` createBooking mutations at that location on a
fixed schedule, one every `--interval` seconds (a mutation that would start before the previous one
answered starts late, and its lateness counts). A hundred events by default: with twenty, the p99 over every
(subscriber, event) was the tail of the round's single slowest event.

Latency is from the event's *scheduled* time (when the bench meant to send the mutation, so a backlog
shows) to the moment this process read the message off the socket. Memory per subscriber is the
gateway's RSS (/proc/<pid>/status) after subscribing minus before, divided by the subscribers.
The same is measured first with one subscriber: the baseline.

This process's cyclic garbage collector is off while the events are measured (`client_collector_paused`): a full
collection over 1,000 subscribers' frames took this client 80-100 ms, and every frame that arrived meanwhile was
stamped late, which the table would have put on the gateway.

A second table splits each event's time: until the first subscriber read it (the mutation's write path,
publishing, the one shared execution), from the first subscriber's frame to the last's (the fan-out: one send per
subscriber), and until the mutation's answer was read (published before answering, the answer waits behind the
fan-out).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench import ws_client
from bench.servers import Server
from bench.writes_setup import begin_run, cache_database, prepare_cache, running_gateway

LOCATION = "manchester-central"
DAYS_AHEAD = 60
CONNECT_BATCH = 200
SUBSCRIPTION = """
subscription Bookings($location: ID!) {
  bookingEvents(locationId: $location) { bookingId change occurredAt missedEvents }
}
"""
CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } outcomes { status } errors { code message } }
}
"""


class Tally:
    """Messages read by every subscriber together; wakes the mutation loop when its target is reached."""

    def __init__(self) -> None:
        self.total = 0
        self.target = 0
        self.reached = asyncio.Event()

    def add(self) -> None:
        self.total += 1
        if self.total >= self.target:
            self.reached.set()

    async def wait(self, target: int, wait_s: float) -> None:
        """Until `target` messages were read altogether, or wait_s passes."""
        self.target = target
        self.reached.clear()
        if self.total < target:
            with suppress(TimeoutError):
                await asyncio.wait_for(self.reached.wait(), wait_s)


@dataclass
class Round:
    subscribers: int
    events: int
    kib_per_subscriber: float = 0.0  # the gateway's RSS growth per subscriber
    cpu_ms_per_event: float = 0.0  # the gateway's CPU (user + system) while the events ran, per event
    delivery_ms: list[float] = field(default_factory=list)  # scheduled -> receipt, every (subscriber, event)
    late_ms: list[float] = field(default_factory=list)  # scheduled -> mutation sent, per event
    answer_ms: list[float] = field(default_factory=list)  # scheduled -> the mutation's answer read, per event
    first_ms: list[float] = field(default_factory=list)  # scheduled -> the first subscriber's frame, per event
    spread_ms: list[float] = field(default_factory=list)  # the first subscriber's frame -> the last's, per event
    delivered: int = 0
    complete_subscribers: int = 0
    duplicates: int = 0
    missed: int = 0
    failed_mutations: int = 0

    @property
    def expected(self) -> int:
        return self.subscribers * self.events

    @property
    def all_arrived(self) -> bool:
        return self.delivered == self.expected and self.duplicates == 0 and self.failed_mutations == 0


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def open_subscribers(server: Server, count: int, tally: Tally) -> list[ws_client.Subscriber]:
    variables = {"location": f"Location:{LOCATION}"}
    subscribers: list[ws_client.Subscriber] = []
    for start in range(0, count, CONNECT_BATCH):
        batch = min(CONNECT_BATCH, count - start)
        subscribers += await asyncio.gather(
            *(
                ws_client.subscribe("127.0.0.1", server.port, server.token, SUBSCRIPTION, variables, tally.add)
                for _ in range(batch)
            )
        )
    return subscribers


async def free_slot(client: httpx.AsyncClient, days_ahead: int) -> dict[str, Any]:
    """The first free slot in the week from `days_ahead` days on."""
    found: dict[str, Any] = (
        await client.post("/bench/free-slot", json={"location": LOCATION, "days_ahead": days_ahead})
    ).json()
    return found


async def book(client: httpx.AsyncClient, customer: str, slot: dict[str, Any]) -> str | None:
    variables = {
        "input": {
            "idempotencyKey": os.urandom(16).hex(),
            "serviceId": f"Service:{slot['service_id']}",
            "startAt": slot["start_at"],
            # The resource the location's own system has free then (not any the gateway might pick instead).
            "resourceId": f"Resource:{slot['resource_id']}",
            "customerId": f"Customer:{customer}",
        }
    }
    answer = (await client.post("/graphql", json={"query": CREATE_BOOKING, "variables": variables})).json()
    result = answer["data"]["createBooking"]
    if result["errors"] or result["outcomes"] != [{"status": "DELIVERED"}]:
        print(f"  mutation not delivered: {result}", flush=True)
        return None
    booking_id: str = result["booking"]["id"]
    return booking_id


def events_of(subscriber: ws_client.Subscriber) -> list[tuple[float, dict[str, Any]]]:
    parsed = [(at, json.loads(raw)) for at, raw in subscriber.received]
    return [(at, m["payload"]["data"]["bookingEvents"]) for at, m in parsed if m["type"] == "next" and m["id"] == "s"]


@contextmanager
def client_collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in this process meanwhile; what piled up is collected after."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def send_events(
    client: httpx.AsyncClient,
    customer: str,
    slots: Sequence[dict[str, Any]],
    first: float,
    interval: float,
    result: Round,
    scheduled: dict[str, float],
) -> None:
    """One createBooking per slot, the first at `first` and one every `interval` seconds after it."""
    for index, slot in enumerate(slots):
        due = first + index * interval
        await asyncio.sleep(max(0.0, due - time.time()))
        result.late_ms.append((time.time() - due) * 1000)
        booking_id = await book(client, customer, slot)
        if booking_id is None:
            result.failed_mutations += 1
            continue
        result.answer_ms.append((time.time() - due) * 1000)
        scheduled[booking_id] = due


async def measure(server: Server, customer: str, count: int, days_ahead: int, args: argparse.Namespace) -> Round:
    base = f"http://127.0.0.1:{server.port}"
    tally = Tally()
    rss_before = rss_kib(server.pid)
    started = time.monotonic()
    subscribers = await open_subscribers(server, count, tally)
    await asyncio.sleep(1.0)  # what the connections' setup left behind is freed or kept by now
    result = Round(count, args.events, kib_per_subscriber=(rss_kib(server.pid) - rss_before) / count)
    print(f"  {count} subscribers connected and subscribed in {time.monotonic() - started:.1f} s", flush=True)
    scheduled: dict[str, float] = {}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60, headers=server.headers) as client:
            await book(client, customer, await free_slot(client, days_ahead))  # warm-up, not counted
            # The slots before the schedule starts: the lookup is a control route of the gateway's process, heavy
            # enough to delay the fan-out it would run beside. A week apart each, so no two lookups find one slot.
            slots = [await free_slot(client, days_ahead + 7 * (1 + index)) for index in range(args.events)]
            await tally.wait(count, args.wait)
            for subscriber in subscribers:
                subscriber.received.clear()
            tally.total = 0
            cpu_before = sum(server.cpu_seconds())
            first = time.time() + 0.5
            with client_collector_paused():
                await send_events(client, customer, slots, first, args.interval, result, scheduled)
                await tally.wait(count * len(scheduled), args.wait)
            result.cpu_ms_per_event = (sum(server.cpu_seconds()) - cpu_before) * 1000 / args.events
    finally:
        for subscriber in subscribers:
            subscriber.close()
    first_read: dict[str, float] = {}  # per event, when the first / last subscriber read it
    last_read: dict[str, float] = {}
    for subscriber in subscribers:
        seen: set[str] = set()
        for received_at, event in events_of(subscriber):
            booking_id = event["bookingId"]
            if booking_id not in scheduled:
                continue
            if booking_id in seen:
                result.duplicates += 1
                continue
            seen.add(booking_id)
            result.delivered += 1
            result.missed += event["missedEvents"]
            result.delivery_ms.append((received_at - scheduled[booking_id]) * 1000)
            first_read[booking_id] = min(first_read.get(booking_id, received_at), received_at)
            last_read[booking_id] = max(last_read.get(booking_id, received_at), received_at)
        result.complete_subscribers += len(seen) == len(scheduled)
    for booking_id, first_at in first_read.items():
        result.first_ms.append((first_at - scheduled[booking_id]) * 1000)
        result.spread_ms.append((last_read[booking_id] - first_at) * 1000)
    return result


def print_timeline(backend: str, result: Round) -> None:
    """Where an event's time goes, per event (p50 over the events, and the worst): until the first subscriber has
    it (the write path, publishing, one execution), then until the last has it (the fan-out)."""
    columns = ""
    for values, width in ((result.first_ms, 9), (result.spread_ms, 10), (result.answer_ms, 10)):
        columns += f" {percentile(values, 50):>{width}.1f} {max(values, default=float('nan')):>{width}.1f}"
    print(f"{backend:<11} {result.subscribers:>11}{columns}", flush=True)


def print_round(backend: str, result: Round) -> None:
    print(
        f"{backend:<11} {result.subscribers:>11} {result.delivered:>8}/{result.expected:<8}"
        f" {result.complete_subscribers:>6}/{result.subscribers:<6} {result.duplicates:>5} {result.missed:>6}"
        f" {percentile(result.delivery_ms, 50):>8.1f} {percentile(result.delivery_ms, 99):>8.1f}"
        f" {max(result.delivery_ms, default=float('nan')):>8.1f} {max(result.late_ms, default=float('nan')):>9.1f}"
        f" {result.kib_per_subscriber:>10.1f} {result.cpu_ms_per_event:>10.1f}"
        f"  {'yes' if result.all_arrived else 'NO'}",
        flush=True,
    )


async def bench_backend(server: Server, customer: str, args: argparse.Namespace) -> list[Round]:
    rounds = []
    for number, count in enumerate((1, args.subscribers)):
        print(f"  round: {count} subscriber(s), {args.events} events every {args.interval} s", flush=True)
        rounds.append(await measure(server, customer, count, DAYS_AHEAD + number * 7 * (args.events + 1), args))
    return rounds


def raise_open_files_limit(subscribers: int) -> None:
    """Each subscriber is a socket here and one in the gateway (which inherits this limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = subscribers + 1024
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    if min(wanted, hard) < wanted:
        print(f"open files limited to {hard}: {subscribers} subscribers may not connect", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000, help="concurrent subscribers (default 1000)")
    parser.add_argument("--events", type=int, default=100, help="mutations per round (default 100)")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between events (default 0.25)")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds to wait for every subscriber (default 10)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated (default sqlite,postgresql)")
    args = parser.parse_args(argv)
    backends = [backend.strip() for backend in args.backends.split(",") if backend.strip()]
    if not 1 <= args.subscribers <= 20_000 or not 1 <= args.events <= 500 or not 0.5 <= args.wait <= 60:
        parser.error("subscribers must be 1..20000, events 1..500, wait 0.5..60")
    if not 0.01 <= args.interval <= 10:
        parser.error("interval must be 0.01..10 seconds")
    if not backends or any(backend not in ("sqlite", "postgresql") for backend in backends):
        parser.error("backends: sqlite and/or postgresql")

    raise_open_files_limit(args.subscribers)
    pin = begin_run(backends)

    results: list[tuple[str, list[Round]]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-subscriptions-") as tmp,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        workdir = Path(tmp)
        for backend in backends:
            print(f"\n== {backend} ==", flush=True)
            with cache_database(backend, workdir) as database_url:
                prepared = runner.run(prepare_cache(database_url, [LOCATION]))
                with running_gateway(f"gateway-{backend}", database_url, workdir, pin) as server:
                    customer = prepared.booking_customers[LOCATION]
                    results.append((backend, runner.run(bench_backend(server, customer, args))))

    print(
        f"\nbookingEvents(locationId) over graphql-transport-ws; {args.events} createBooking events per round, one"
        f" scheduled every {args.interval} s; latency = scheduled -> read by the client, over every (subscriber, event)"
    )
    print(
        f"{'backend':<11} {'subscribers':>11} {'delivered/expected':>17} {'complete subs':>13} {'dups':>5}"
        f" {'missed':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'late max':>9} {'KiB/sub':>10}"
        f" {'CPU ms/ev':>10}  all arrived"
    )
    for backend, rounds in results:
        for result in rounds:
            print_round(backend, result)
    print(
        "\nper event, p50 and max over the events: scheduled -> the first subscriber's frame; first -> last"
        " subscriber's frame (the fan-out); scheduled -> the mutation's answer"
    )
    print(
        f"{'backend':<11} {'subscribers':>11} {'first p50':>9} {'first max':>9} {'spread p50':>10}"
        f" {'spread max':>10} {'answer p50':>10} {'answer max':>10}"
    )
    for backend, rounds in results:
        for result in rounds:
            print_timeline(backend, result)
    for backend, (baseline, loaded) in results:
        print(
            f"{backend}: {loaded.subscribers} / 1 subscriber:"
            f" p50 x{percentile(loaded.delivery_ms, 50) / percentile(baseline.delivery_ms, 50):.1f},"
            f" p99 x{percentile(loaded.delivery_ms, 99) / percentile(baseline.delivery_ms, 99):.1f}"
        )
    return 0 if all(result.all_arrived for _, rounds in results for result in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
