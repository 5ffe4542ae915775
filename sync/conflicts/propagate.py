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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import Booking, Customer, CustomerMapping, Location, Resource
from sync.apply.state import Image, row_value, same
from sync.outbox.messages import BookingBefore, BookingCancelMessage, BookingRescheduleMessage, CustomerUpsertMessage
from sync.outbox.queue import Queued, enqueue

Writable = Callable[[str], bool]  # whether the gateway can write customers at a location


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
        row = await enqueue(
            session,
            location_id=location_id,
            message=CustomerUpsertMessage.of(customer, mappings.get(location_id)),
            idempotency_key=_key(customer.id, location_id, why),
            lease_inline=False,
        )
        queued.append(Queued(row.id, location_id))
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
    active_there = remote.get("status") in ("pending", "confirmed")
    cancel = booking.status == "cancelled" and active_there
    move = (
        booking.status in ("pending", "confirmed")
        and active_there
        and not all(same(getattr(booking, name).isoformat(), remote.get(name)) for name in ("start_at", "end_at"))
    )
    if not (cancel or move):
        return []
    # What the owner holds: what a refusal puts back in the cache.
    before = BookingBefore(
        status=remote["status"],
        start_at=row_value("start_at", remote["start_at"]),
        end_at=row_value("end_at", remote["end_at"]),
        resource_id=remote.get("resource_id"),
    )
    message: BookingCancelMessage | BookingRescheduleMessage
    if cancel:
        message = BookingCancelMessage(booking.id, booking.local_booking_id, before, reason=f"network sync ({why})")
    else:
        local_resource_id = await _local_resource(session, booking.resource_id, location_id)
        message = BookingRescheduleMessage(
            booking.id, booking.local_booking_id, before, booking.start_at, booking.end_at, local_resource_id
        )
    row = await enqueue(
        session,
        location_id=location_id,
        message=message,
        idempotency_key=_key(booking.id, location_id, why),
        lease_inline=False,
    )
    return [Queued(row.id, location_id)]
