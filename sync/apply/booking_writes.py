"""Changing a cached booking, and making its owner's booking match the network's.

Shared by everything the bookings entity does (pulls, double bookings, resolutions, rollbacks):
a change is a new version with a change-log entry and, when it earns otherwise, its revenue
redone; what the owner must hear goes out as a cancel or a reschedule through the outbox.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.booking_revenue import replace_revenue_entries
from sources.cache.journal import log_change
from sources.cache.models import Booking, Resource
from sources.cache.revenue import SplitRules
from sources.cache.vocabulary import ACTIVE_BOOKING_STATUSES
from sources.connectors.records import RecordType
from sync.apply.batch import ApplyResult, Batch
from sync.apply.state import BOOKING_FIELDS, Image, image_of, row_value, same
from sync.conflicts.propagate import propagation
from sync.events import BookingChange, booking_event
from sync.outbox.messages import BookingBefore, BookingCancelMessage, BookingRescheduleMessage
from sync.outbox.queue import Queued

MONEY_FIELDS = ("price_minor", "status", "start_at")


async def change_booking(
    session: AsyncSession,
    booking: Booking,
    fields: Image,
    *,
    location_id: str | None,
    job_id: str | None,
    split: SplitRules,
) -> None:
    """Set fields of a cached booking: a new version, a change-log entry, revenue redone when it earns otherwise."""
    before = image_of(booking, BOOKING_FIELDS)
    for name, value in fields.items():
        setattr(booking, name, row_value(name, value))
    booking.version += 1
    await session.flush()
    await log_change(
        session,
        entity_type=RecordType.BOOKING,
        entity_id=booking.id,
        location_id=location_id,
        operation="update",
        before=before,
        after=image_of(booking, BOOKING_FIELDS),
        version=booking.version,
        sync_job_id=job_id,
    )
    if any(name in fields for name in MONEY_FIELDS):
        await replace_revenue_entries(session, booking, split)


async def set_pulled_fields(
    session: AsyncSession, batch: Batch, booking: Booking, fields: Image, result: ApplyResult
) -> None:
    """A change a pull applies: counted, and published as `synced`."""
    await change_booking(
        session,
        booking,
        fields,
        location_id=batch.location_id,
        job_id=batch.job_id,
        split=batch.rules.split,
    )
    result.updated += 1
    result.events.append(booking_event(booking, BookingChange.SYNCED))


async def _local_resource(session: AsyncSession, resource_id: str | None, location_id: str) -> str | None:
    if resource_id is None:
        return None
    resource = await session.get(Resource, resource_id)
    if resource is None:
        return resource_id
    return resource.local_resource_id if resource.location_id == location_id else resource.id


async def push_booking(session: AsyncSession, booking: Booking, remote: Image, *, why: str) -> list[Queued]:
    """Make the owner's booking (`remote`: what it holds) match the network's: cancel it, or move it."""
    location_id = booking.service_location_id
    active_there = remote.get("status") in ACTIVE_BOOKING_STATUSES
    cancel = booking.status == "cancelled" and active_there
    move = (
        booking.status in ACTIVE_BOOKING_STATUSES
        and active_there
        and not all(same(getattr(booking, name).isoformat(), remote.get(name)) for name in ("start_at", "end_at"))
    )
    if not (cancel or move):
        return []  # nothing else can be sent
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
    return [await propagation(session, location_id, message, why)]
