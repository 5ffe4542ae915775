"""Sending the network's version of an entity to the locations that hold it, through the outbox.

Used when a pull brought a change other locations should see (a customer edited at A
reaches B), when a strategy or a person kept the network's side of a conflict, and when
a rollback compensates what a job applied. Each push is an ordinary outbox message, so
it is retried, dead-lettered and replayable like any write, and it carries the version
the gateway last saw (added at send time), so it never silently overwrites a newer edit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import Booking, Customer, CustomerMapping, Location, Resource
from sources.cache.vocabulary import ACTIVE_BOOKING_STATUSES
from sync.apply.state import Image, same
from sync.outbox.queue import Queued, enqueue

Writable = Callable[[str], bool]  # whether the gateway can write customers at a location


def customer_details(customer: Customer) -> dict[str, Any]:
    """The customer as a location is sent it (a CustomerDetails record once it leaves the outbox)."""
    return {
        "global_id": customer.id,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "preferences": customer.preferences or {},
    }


def _key(entity_id: str, location_id: str, why: str) -> str:
    return f"sync:{why}:{entity_id}:{location_id}:{uuid.uuid4().hex[:8]}"


async def push_customer(
    session: AsyncSession,
    customer: Customer,
    *,
    writable: Writable,
    only: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    to_new_locations: bool = False,
    why: str = "propagate",
) -> list[Queued]:
    """Queue the customer's record for each location that knows them (and, if asked, every other one)."""
    mappings = dict(
        (
            await session.execute(
                select(CustomerMapping.location_id, CustomerMapping.local_customer_id).where(
                    CustomerMapping.customer_id == customer.id
                )
            )
        ).all()
    )
    targets: set[str] = set(mappings) if only is None else set(only)
    if to_new_locations:
        targets |= set((await session.execute(select(Location.id))).scalars())
    targets -= set(exclude)
    queued: list[Queued] = []
    for location_id in sorted(targets):
        if not writable(location_id):
            continue
        message = await enqueue(
            session,
            location_id=location_id,
            entity_type="customer",
            entity_id=customer.id,
            operation="customer.upsert",
            payload={
                "customer_id": customer.id,
                "local_customer_id": mappings.get(location_id),
                "details": customer_details(customer),
            },
            idempotency_key=_key(customer.id, location_id, why),
            lease_inline=False,
        )
        queued.append(Queued(message.id, location_id))
    return queued


async def _local_resource(session: AsyncSession, resource_id: str | None, location_id: str) -> str | None:
    if resource_id is None:
        return None
    resource = await session.get(Resource, resource_id)
    if resource is None:
        return resource_id
    return resource.local_resource_id if resource.location_id == location_id else resource.id


async def push_booking(session: AsyncSession, booking: Booking, remote: Image, *, why: str) -> list[Queued]:
    """Make the owner's booking match the network's: cancel it, or move it (nothing else can be sent)."""
    location_id = booking.service_location_id
    active_there = remote.get("status") in ACTIVE_BOOKING_STATUSES
    if booking.status == "cancelled" and active_there:
        operation = "booking.cancel"
        payload: dict[str, Any] = {"reason": f"network sync ({why})", "change": "cancelled"}
    elif (
        booking.status in ACTIVE_BOOKING_STATUSES
        and active_there
        and not all(same(getattr(booking, name).isoformat(), remote.get(name)) for name in ("start_at", "end_at"))
    ):
        operation = "booking.reschedule"
        payload = {
            "start_at": booking.start_at.isoformat(),
            "end_at": booking.end_at.isoformat(),
            "local_resource_id": await _local_resource(session, booking.resource_id, location_id),
            "change": "rescheduled",
        }
    else:
        return []
    before = {
        "status": remote.get("status"),
        "start_at": remote.get("start_at"),
        "end_at": remote.get("end_at"),
        "resource_id": remote.get("resource_id"),
    }
    message = await enqueue(
        session,
        location_id=location_id,
        entity_type="booking",
        entity_id=booking.id,
        operation=operation,
        payload={"booking_id": booking.id, "local_booking_id": booking.local_booking_id, "before": before, **payload},
        idempotency_key=_key(booking.id, location_id, why),
        lease_inline=False,
    )
    return [Queued(message.id, location_id)]
