"""GraphQL calls over one httpx client, timed one by one; the booking throughput and its checks."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from bench.servers import Server
from sources.cache.database import create_engine
from sources.cache.models import Booking
from sources.cache.vocabulary import ACTIVE_BOOKING_STATUSES

BOOKING_LOCATIONS = ("manchester-central", "stockport-merseyway", "dublin-ranelagh")
BOOKING_DAYS_AHEAD = 50
WARMUP_DAYS_AHEAD = 70
TYPENAME_QUERY = "{ __typename }"
LOCATION_QUERY = 'query { location(id: "Location:manchester-central") { id name } }'
CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id resource { id } }
    outcomes { locationId status code }
    errors { code }
  }
}
"""


@dataclass
class Calls:
    """The answers and timings of a batch of calls."""

    target: str
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    answers: list[dict[str, Any] | None] = field(repr=False)  # None: no usable HTTP answer
    failures: Counter[str] = field(default_factory=Counter)  # transport errors and non-200 statuses
    client_cpu: float = 0.0  # fraction of one core, this process
    server_cpu: float = 0.0  # fraction of one core, the gateway's process (its simulators included)

    @property
    def rate(self) -> float:
        return len(self.answers) / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    @property
    def server_ms_per_call(self) -> float:
        """The gateway's CPU per call: unlike calls/s, it does not depend on whether the client kept up."""
        return 1000 * self.server_cpu * self.seconds / len(self.answers) if self.answers else float("nan")

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


@asynccontextmanager
async def connections(
    base_url: str, count: int, headers: dict[str, str] | None = None
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`count` httpx clients of one keep-alive connection each.

    Not one client with a pool of `count`: httpcore's pool hands out connections in time that grows
    with the pool, and at 50 its client spent ~5 ms of CPU per call, more than the gateway's answer.
    """
    async with AsyncExitStack() as stack:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120, headers=headers)
            )
            for _ in range(count)
        ]


async def call(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[float, dict[str, Any] | None, str | None]:
    """(milliseconds, the JSON answer or None, what went wrong or None)."""
    started = time.perf_counter()
    try:
        response = await client.post("/graphql", json=body)
    except httpx.HTTPError as error:
        return (time.perf_counter() - started) * 1000, None, type(error).__name__
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return elapsed, None, f"HTTP {response.status_code}"
    answer: dict[str, Any] = response.json()
    return elapsed, answer, None


async def run_calls(
    clients: Sequence[httpx.AsyncClient], server: Server, target: str, bodies: Sequence[dict[str, Any]]
) -> Calls:
    """Every body once, one call in flight per client, the latency of each call alone."""
    answers: list[dict[str, Any] | None] = [None] * len(bodies)
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    cursor = iter(range(len(bodies)))

    async def worker(client: httpx.AsyncClient) -> None:
        for index in cursor:
            elapsed, answer, failure = await call(client, bodies[index])
            latencies.append(elapsed)
            answers[index] = answer
            if failure is not None:
                failures[failure] += 1

    client_before, (user_before, sys_before) = time.process_time(), server.cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    elapsed = time.perf_counter() - started
    user_after, sys_after = server.cpu_seconds()
    return Calls(
        target,
        elapsed,
        latencies,
        answers,
        failures,
        client_cpu=(time.process_time() - client_before) / elapsed,
        server_cpu=(user_after - user_before + sys_after - sys_before) / elapsed,
    )


def read_bodies(query: str, calls: int) -> list[dict[str, Any]]:
    return [{"query": query} for _ in range(calls)]


def read_errors(calls: Calls) -> int:
    return sum(1 for answer in calls.answers if answer is None or "errors" in answer)


# ---------------------------------------------------------------- bookings


@dataclass(frozen=True)
class Slot:
    location_id: str
    service_id: str
    start_at: datetime
    resource_id: str | None = None  # the resource to ask for: None lets the gateway pick


async def free_slot(client: httpx.AsyncClient, location_id: str, days_ahead: int) -> Slot:
    response = await client.post("/bench/free-slot", json={"location": location_id, "days_ahead": days_ahead})
    response.raise_for_status()
    found = response.json()
    return Slot(location_id, str(found["service_id"]), datetime.fromisoformat(found["start_at"]))


async def free_slots(client: httpx.AsyncClient, location_id: str, days_ahead: int, count: int) -> list[Slot]:
    """`count` slots free at the location (fewer if it has not that many), none overlapping another."""
    body = {"location": location_id, "days_ahead": days_ahead, "count": count}
    response = await client.post("/bench/free-slots", json=body, timeout=300)
    response.raise_for_status()
    return [
        Slot(
            location_id, str(found["service_id"]), datetime.fromisoformat(found["start_at"]), str(found["resource_id"])
        )
        for found in response.json()["slots"]
    ]


def free_booking_bodies(slots: dict[str, list[Slot]], customers: dict[str, str]) -> list[dict[str, Any]]:
    """One booking per free slot, on the slot's resource, the locations taken in turn."""
    bodies = []
    for index in range(max(len(found) for found in slots.values())):
        for location, found in slots.items():
            if index >= len(found):
                continue
            slot = found[index]
            variables = {
                "idempotencyKey": uuid.uuid4().hex,
                "serviceId": f"Service:{slot.service_id}",
                "resourceId": f"Resource:{slot.resource_id}",
                "startAt": slot.start_at.isoformat(),
                "customerId": f"Customer:{customers[location]}",
            }
            bodies.append({"query": CREATE_BOOKING, "variables": {"input": variables}})
    return bodies


def booking_bodies(slots: dict[str, Slot], customers: dict[str, str], calls: int) -> list[dict[str, Any]]:
    """As tests/test_double_booking.py: round-robin over the locations, every start overlapping the others there."""
    bodies = []
    locations = list(slots)
    for index in range(calls):
        slot = slots[locations[index % len(locations)]]
        start = slot.start_at + timedelta(minutes=15 * (index // len(locations) % 2))
        variables = {
            "idempotencyKey": uuid.uuid4().hex,
            "serviceId": f"Service:{slot.service_id}",
            "startAt": start.isoformat(),
            "customerId": f"Customer:{customers[slot.location_id]}",
        }
        bodies.append({"query": CREATE_BOOKING, "variables": {"input": variables}})
    return bodies


@dataclass
class BookingOutcome:
    booked: list[str] = field(default_factory=list)  # cache ids of the bookings made
    counts: Counter[str] = field(default_factory=Counter)  # booked, SLOT_UNAVAILABLE, other codes, failures


def classify(calls: Calls) -> BookingOutcome:
    outcome = BookingOutcome()
    outcome.counts.update({f"no answer ({name})": n for name, n in calls.failures.items()})
    for answer in calls.answers:
        if answer is None:
            continue
        if "errors" in answer:
            outcome.counts["GraphQL error"] += 1
            continue
        payload = answer["data"]["createBooking"]
        if payload["booking"] is not None:
            delivered = [o["status"] for o in payload["outcomes"]] == ["DELIVERED"] and not payload["errors"]
            outcome.counts["booked" if delivered else "booked, not delivered"] += 1
            outcome.booked.append(str(payload["booking"]["id"]).split(":", 1)[1])
        else:
            outcome.counts["+".join(sorted(e["code"] for e in payload["errors"])) or "no booking, no error"] += 1
    return outcome


@dataclass(frozen=True)
class CacheCheck:
    confirmed: int  # of the bookings the answers named, how many the cache holds as confirmed
    resources: int  # resources the new bookings are on
    double_booked: list[str]  # resources with two active bookings at once, one of them new


async def check_cache(database_url: str, booked: Sequence[str]) -> CacheCheck:
    """Every new booking is in the cache, and none overlaps another active booking on its resource."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            new = (
                await connection.execute(select(Booking.resource_id, Booking.status).where(Booking.id.in_(booked)))
            ).all()
            resources = {booking.resource_id for booking in new if booking.resource_id is not None}
            active = (
                await connection.execute(
                    select(Booking.id, Booking.resource_id, Booking.start_at, Booking.end_at)
                    .where(Booking.resource_id.in_(resources), Booking.status.in_(ACTIVE_BOOKING_STATUSES))
                    .order_by(Booking.resource_id, Booking.start_at)
                )
            ).all()
    finally:
        await engine.dispose()
    mine = set(booked)
    double_booked: set[str] = set()
    previous: dict[str, tuple[str, datetime]] = {}  # resource -> (booking id, end) of the latest-ending so far
    for booking_id, resource_id, start_at, end_at in active:
        if resource_id is None:
            continue
        last = previous.get(resource_id)
        if last is not None and start_at < last[1] and (booking_id in mine or last[0] in mine):
            double_booked.add(resource_id)
        if last is None or end_at > last[1]:
            previous[resource_id] = (booking_id, end_at)
    return CacheCheck(
        confirmed=sum(1 for booking in new if booking.status == "confirmed"),
        resources=len(resources),
        double_booked=sorted(double_booked),
    )
