"""Subscription delivery: how long a booking change takes to reach 1,000 WebSocket subscribers, and whether all get it.

    .venv/bin/python -m bench.subscriptions                  # about a minute: SQLite, then PostgreSQL
    .venv/bin/python -m bench.subscriptions --subscribers 1000 --events 20 --backends sqlite

Per backend: a fresh cache (the demo network), the gateway with its simulated locations as one uvicorn
process pinned to core 0 (`bench.writes_serve`: on PostgreSQL it runs the LISTEN/NOTIFY bus), this
process as the client on core 1. Every subscriber is its own WebSocket (graphql-transport-ws) with
`bookingEvents(locationId)` for one location. Then `--events` createBooking mutations at that
location, one at a time, each after every subscriber had the previous one (or `--wait` ran out).

Latency is from the event's `occurredAt` (the gateway's clock when it published, the same machine's
clock as ours) to the moment this process read the message off the socket; also from sending the
mutation to the last subscriber's receipt. The same is measured first with one subscriber: the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench.servers import Server
from bench.writes_setup import begin_run, cache_database, prepare_cache, running_gateway

LOCATION = "manchester-central"
DAYS_AHEAD = 60
CONNECT_BATCH = 50
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


class Subscriber:
    """One WebSocket with one subscription; stamps each message as it is read, parses later."""

    def __init__(self, socket: ClientConnection, tally: Tally) -> None:
        self.socket = socket
        self.tally = tally
        self.received: list[tuple[float, str]] = []
        self.reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, tally: Tally, token: str) -> Subscriber:
        socket = await connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=30)
        init = {"Authorization": f"Bearer {token}"} if token else {}
        await socket.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        variables = {"location": f"Location:{LOCATION}"}
        payload = {"query": SUBSCRIPTION, "variables": variables}
        await socket.send(json.dumps({"id": "s", "type": "subscribe", "payload": payload}))
        # The server starts operations in order: once a later query answers, the subscription is live.
        await socket.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": "{ __typename }"}}))
        while (answer := json.loads(await socket.recv())).get("id") != "q" or answer["type"] != "complete":
            pass
        subscriber = cls(socket, tally)
        subscriber.reader = asyncio.create_task(subscriber._read())
        return subscriber

    async def _read(self) -> None:
        async for message in self.socket:
            self.received.append((time.time(), str(message)))
            self.tally.add()

    def events(self) -> list[tuple[float, dict[str, Any]]]:
        parsed = [(at, json.loads(raw)) for at, raw in self.received]
        return [
            (at, m["payload"]["data"]["bookingEvents"]) for at, m in parsed if m["type"] == "next" and m["id"] == "s"
        ]

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        await self.socket.close()


@dataclass
class Round:
    subscribers: int
    events: int
    delivery_ms: list[float] = field(default_factory=list)  # occurredAt -> receipt, every (subscriber, event)
    last_ms: list[float] = field(default_factory=list)  # mutation sent -> last subscriber's receipt, per event
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


async def open_subscribers(url: str, count: int, tally: Tally, token: str) -> list[Subscriber]:
    subscribers: list[Subscriber] = []
    for start in range(0, count, CONNECT_BATCH):
        batch = min(CONNECT_BATCH, count - start)
        subscribers += await asyncio.gather(*(Subscriber.open(url, tally, token) for _ in range(batch)))
    return subscribers


async def book(client: httpx.AsyncClient, customer: str) -> str | None:
    found = (await client.post("/bench/free-slot", json={"location": LOCATION, "days_ahead": DAYS_AHEAD})).json()
    variables = {
        "input": {
            "idempotencyKey": os.urandom(16).hex(),
            "serviceId": f"Service:{found['service_id']}",
            "startAt": found["start_at"],
            # The resource the location's own system has free then (not any the gateway might pick instead).
            "resourceId": f"Resource:{found['resource_id']}",
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


async def measure(server: Server, customer: str, count: int, events: int, wait_s: float) -> Round:
    base = f"http://127.0.0.1:{server.port}"
    started = time.monotonic()
    tally = Tally()
    subscribers = await open_subscribers(base.replace("http://", "ws://") + "/graphql", count, tally, server.token)
    print(f"  {count} subscribers connected and subscribed in {time.monotonic() - started:.1f} s", flush=True)
    result = Round(count, events)
    sent_at: dict[str, float] = {}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60, headers=server.headers) as client:
            await book(client, customer)  # warm-up, not counted
            await tally.wait(count, wait_s)
            for subscriber in subscribers:
                subscriber.received.clear()
            tally.total = 0
            for index in range(events):
                sent = time.time()
                booking_id = await book(client, customer)
                if booking_id is None:
                    result.failed_mutations += 1
                    continue
                sent_at[booking_id] = sent
                await tally.wait(count * (index + 1 - result.failed_mutations), wait_s)
    finally:
        await asyncio.gather(*(subscriber.close() for subscriber in subscribers))
    last: dict[str, float] = {}
    for subscriber in subscribers:
        seen: set[str] = set()
        for received_at, event in subscriber.events():
            booking_id = event["bookingId"]
            if booking_id not in sent_at:
                continue
            if booking_id in seen:
                result.duplicates += 1
                continue
            seen.add(booking_id)
            result.delivered += 1
            result.missed += event["missedEvents"]
            published = datetime.fromisoformat(event["occurredAt"]).timestamp()
            result.delivery_ms.append((received_at - published) * 1000)
            last[booking_id] = max(last.get(booking_id, 0.0), received_at)
        result.complete_subscribers += len(seen) == len(sent_at)
    result.last_ms = [(last[b] - sent_at[b]) * 1000 for b in last]
    return result


def print_round(backend: str, result: Round) -> None:
    print(
        f"{backend:<11} {result.subscribers:>11} {result.delivered:>8}/{result.expected:<8}"
        f" {result.complete_subscribers:>6}/{result.subscribers:<6} {result.duplicates:>5} {result.missed:>6}"
        f" {percentile(result.delivery_ms, 50):>8.1f} {percentile(result.delivery_ms, 99):>8.1f}"
        f" {max(result.delivery_ms, default=float('nan')):>8.1f} {percentile(result.last_ms, 50):>14.1f}"
        f"  {'yes' if result.all_arrived else 'NO'}",
        flush=True,
    )


async def bench_backend(backend: str, server: Server, customer: str, args: argparse.Namespace) -> list[Round]:
    rounds = []
    for count in (1, args.subscribers):
        print(f"  round: {count} subscriber(s), {args.events} events", flush=True)
        rounds.append(await measure(server, customer, count, args.events, args.wait))
    return rounds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000, help="concurrent subscribers (default 1000)")
    parser.add_argument("--events", type=int, default=20, help="mutations per round (default 20)")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds to wait for every subscriber (default 10)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated (default sqlite,postgresql)")
    args = parser.parse_args(argv)
    backends = [backend.strip() for backend in args.backends.split(",") if backend.strip()]
    if not 1 <= args.subscribers <= 5000 or not 1 <= args.events <= 500 or not 0.5 <= args.wait <= 60:
        parser.error("subscribers must be 1..5000, events 1..500, wait 0.5..60")
    if not backends or any(backend not in ("sqlite", "postgresql") for backend in backends):
        parser.error("backends: sqlite and/or postgresql")

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
                    results.append((backend, runner.run(bench_backend(backend, server, customer, args))))

    print(
        f"\nbookingEvents(locationId) over graphql-transport-ws; {args.events} createBooking events per round,"
        " one at a time; latency = published (occurredAt) -> read by the client, over every (subscriber, event)"
    )
    print(
        f"{'backend':<11} {'subscribers':>11} {'delivered/expected':>17} {'complete subs':>13} {'dups':>5}"
        f" {'missed':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'sent->last p50':>14}  all arrived"
    )
    for backend, rounds in results:
        for result in rounds:
            print_round(backend, result)
    for backend, (baseline, loaded) in results:
        ratios = [
            percentile(loaded.delivery_ms, 50) / percentile(baseline.delivery_ms, 50),
            percentile(loaded.delivery_ms, 99) / percentile(baseline.delivery_ms, 99),
            percentile(loaded.last_ms, 50) / percentile(baseline.last_ms, 50),
        ]
        print(
            f"{backend}: {loaded.subscribers} / 1 subscriber: p50 x{ratios[0]:.1f}, p99 x{ratios[1]:.1f},"
            f" sent->last p50 x{ratios[2]:.1f}"
        )
    return 0 if all(result.all_arrived for _, rounds in results for result in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
