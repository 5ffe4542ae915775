"""1,000 concurrent createBooking calls for overlapping slots: never two bookings on one resource at once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from live_helpers import cache_counts, customer_known_at, free_slot
from sqlalchemy import select

from conftest import RunningGateway
from sources.cache.models import Booking, OutboxMessage

CALLS = 1000
IN_FLIGHT = 50
LOCATIONS = ("manchester-central", "stockport-merseyway", "dublin-ranelagh")
CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id resource { id } }
    outcomes { status code }
    errors { code message }
  }
}
"""


async def _fire(gateway: RunningGateway, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    # The calls wait their turn here, not in httpcore's pool: its queue costs O(queued x connections) per
    # request, which with 1,000 queued starves the gateway (same process, one GIL) for minutes.
    in_flight = asyncio.Semaphore(IN_FLIGHT)
    async with httpx.AsyncClient(base_url=gateway.url, limits=limits, timeout=300, headers=gateway.headers) as client:

        async def one(variables: dict[str, Any]) -> dict[str, Any]:
            async with in_flight:
                response = await client.post(
                    "/graphql", json={"query": CREATE_BOOKING, "variables": {"input": variables}}
                )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        return await asyncio.gather(*(one(variables) for variables in inputs))


def _overlap(a: tuple[Any, Any], b: tuple[Any, Any]) -> bool:
    return bool(a[0] < b[1] and b[0] < a[1])


def test_a_thousand_concurrent_bookings_never_double_book_a_resource(live_gateway: RunningGateway) -> None:
    inputs: list[dict[str, Any]] = []
    slots = {location: free_slot(live_gateway, location, days_ahead=50) for location in LOCATIONS}
    customers = {location: customer_known_at(live_gateway, location) for location in LOCATIONS}
    for index in range(CALLS):
        location = LOCATIONS[index % len(LOCATIONS)]
        slot = slots[location]
        # Every start overlaps the others at its location: the same time or 15 minutes later.
        start = slot.start_at + timedelta(minutes=15 * (index // len(LOCATIONS) % 2))
        inputs.append(
            {
                "idempotencyKey": uuid.uuid4().hex,
                "serviceId": f"Service:{slot.service_id}",
                "startAt": start.isoformat(),
                "customerId": f"Customer:{customers[location]}",
            }
        )
    before = cache_counts(live_gateway)

    answers = asyncio.run(_fire(live_gateway, inputs))

    outcomes: Counter[str] = Counter()
    booked: list[str] = []
    for answer in answers:
        assert "errors" not in answer, answer
        payload = answer["data"]["createBooking"]
        if payload["booking"] is not None:
            assert payload["errors"] == [] and [o["status"] for o in payload["outcomes"]] == ["DELIVERED"], payload
            booked.append(payload["booking"]["id"].split(":", 1)[1])
            outcomes["booked"] += 1
        else:
            assert [e["code"] for e in payload["errors"]] == ["SLOT_UNAVAILABLE"], payload
            outcomes["SLOT_UNAVAILABLE"] += 1
    assert outcomes["booked"] + outcomes["SLOT_UNAVAILABLE"] == CALLS
    assert outcomes["booked"] >= len(LOCATIONS)  # each location had at least one free resource

    async def rows() -> tuple[list[Any], list[Any]]:
        async with live_gateway.engine.connect() as connection:
            bookings = (await connection.execute(select(Booking).where(Booking.id.in_(booked)))).all()
            pending = (
                await connection.execute(
                    select(OutboxMessage.id).where(
                        OutboxMessage.status == "pending", OutboxMessage.entity_id.in_(booked)
                    )
                )
            ).all()
            return list(bookings), list(pending)

    bookings, pending = live_gateway.run(rows())
    # Nothing lost, nothing half-written: every success is one confirmed booking, every refusal left no row.
    assert len(bookings) == len(booked) and all(b.status == "confirmed" for b in bookings)
    assert pending == []
    after = cache_counts(live_gateway)
    assert after["bookings"] - before["bookings"] == len(booked)
    assert after["outbox"] - before["outbox"] == len(booked)
    by_resource: dict[str, list[tuple[Any, Any]]] = {}
    for booking in bookings:
        by_resource.setdefault(booking.resource_id, []).append((booking.start_at, booking.end_at))
    for resource_id, ranges in by_resource.items():
        for i, first in enumerate(ranges):
            for second in ranges[i + 1 :]:
                assert not _overlap(first, second), f"{resource_id} double-booked"
    # And each location's own system holds exactly the bookings the gateway confirmed, none overlapping.
    for location in LOCATIONS:
        store = live_gateway.store(location)
        mine = [b for b in store.bookings.values() if b.global_id in set(booked)]
        assert len(mine) == sum(1 for b in bookings if b.service_location_id == location)
        per_resource: dict[str | None, list[tuple[Any, Any]]] = {}
        for booking in mine:
            per_resource.setdefault(booking.local_resource_id, []).append((booking.start_at, booking.end_at))
        for ranges in per_resource.values():
            assert all(not _overlap(a, b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
