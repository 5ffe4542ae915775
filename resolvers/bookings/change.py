"""rescheduleBooking and cancelBooking: change the cache now, send the change to the service location."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers import bounds
from resolvers.authorization import require_visible_booking
from resolvers.bookings.slots import (
    booked_end,
    claim_resource,
    eligible_resources,
    local_resource_ref,
    within_opening_hours,
)
from resolvers.bookings.vocabulary import ACTIVE_BOOKING_STATUSES
from resolvers.context import Context
from resolvers.errors import ConflictError, InvalidInputError, SlotUnavailableError
from resolvers.idempotency import run_idempotent
from resolvers.results import WriteResult
from resolvers.writing import (
    audit_write,
    deliver,
    enqueue_for_owner,
    get_or_not_found,
    require_capability,
    require_future,
)
from sources.cache.models import Booking, Location, Service
from sources.connectors.base import Capability
from sync.outbox.messages import BookingBefore, BookingCancelMessage, BookingRescheduleMessage
from sync.outbox.queue import Queued


def _before(booking: Booking) -> dict[str, Any]:
    return {
        "status": booking.status,
        "start_at": booking.start_at.isoformat(),
        "end_at": booking.end_at.isoformat(),
        "resource_id": booking.resource_id,
    }


async def _active_booking(session: AsyncSession, booking_id: str) -> Booking:
    booking: Booking = await get_or_not_found(session, Booking, booking_id, "booking")
    if booking.status not in ACTIVE_BOOKING_STATUSES:
        raise ConflictError(f"the booking is {booking.status}", status=booking.status)
    return booking


async def reschedule_booking(
    context: Context,
    booking_id: str,
    start_at: datetime,
    resource_id: str | None,
    key: str,
    end_at: datetime | None = None,
) -> WriteResult:
    """Move the booking to `start_at` (on `resource_id`, or its own or another free one); `end_at` stretches
    it beyond its service's duration (a stay's new check-out), its price kept per day as booked."""
    bounds.idempotency_key(key)
    bounds.key("bookingId", booking_id)
    bounds.instant("startAt", start_at)
    bounds.optional_instant("endAt", end_at)
    bounds.optional_key("resourceId", resource_id)
    require_future("startAt", start_at)
    await require_visible_booking(context, booking_id)

    async def perform() -> WriteResult:
        async with context.services.writer.transaction() as session:
            booking = await _active_booking(session, booking_id)
            location = await session.get_one(Location, booking.service_location_id)
            require_capability(context, location, Capability.CHANGE_BOOKING, "change bookings")
            service = await session.get_one(Service, booking.service_id)
            _, periods_before = booked_end(service, booking.start_at, booking.end_at)
            asked_end = end_at
            if asked_end is None and periods_before > 1:
                asked_end = start_at + (booking.end_at - booking.start_at)  # a stay moved keeps its length
            new_end, periods = booked_end(service, start_at, asked_end)
            if not within_opening_hours(location, start_at, new_end):
                raise SlotUnavailableError(f"{location.name} is closed then")
            candidates = await eligible_resources(session, service, location.id)
            wanted = resource_id or booking.resource_id
            preferred = [resource for resource in candidates if resource.id == wanted]
            if resource_id is not None and not preferred:
                raise InvalidInputError(f"resource {resource_id} cannot deliver {service.name}", field="resourceId")
            resource = await claim_resource(
                session,
                preferred or candidates,
                location.id,
                start_at,
                new_end,
                lock_rows=context.services.writer.locks_rows,
                ignore_booking_id=booking.id,
            )
            before, prior = _before(booking), BookingBefore.of(booking)
            booking.start_at, booking.end_at, booking.resource_id = start_at, new_end, resource.id
            if periods != periods_before:
                # The rate the guest booked at, whatever the service costs today (as a PMS keeps it).
                booking.price_minor = booking.price_minor * periods // periods_before
            message_id = await enqueue_for_owner(
                session,
                location_id=location.id,
                key=f"{key}:reschedule",
                message=BookingRescheduleMessage(
                    booking.id,
                    booking.local_booking_id,
                    prior,
                    start_at,
                    new_end,
                    local_resource_id=local_resource_ref(resource, location.id),
                ),
            )
            await audit_write(
                context,
                session,
                action="booking.reschedule",
                entity_type="booking",
                entity_id=booking.id,
                location_id=location.id,
                details={"before": before, "start_at": start_at},
            )
        return await deliver(context, "booking", booking_id, [message_id])

    return await run_idempotent(
        context,
        "rescheduleBooking",
        key,
        # Without end_at, the arguments (and so the keys' hashes) are what they were before stays existed.
        {"booking_id": booking_id, "start_at": start_at, "resource_id": resource_id}
        | ({} if end_at is None else {"end_at": end_at}),
        perform,
    )


async def cancel_in_session(context: Context, session: AsyncSession, booking: Booking, reason: str, key: str) -> Queued:
    location = await session.get_one(Location, booking.service_location_id)
    require_capability(context, location, Capability.CHANGE_BOOKING, "change bookings")
    prior = BookingBefore.of(booking)
    booking.status = "cancelled"
    message_id = await enqueue_for_owner(
        session,
        location_id=location.id,
        key=f"{key}:cancel",
        message=BookingCancelMessage(booking.id, booking.local_booking_id, prior, reason=reason),
    )
    await audit_write(
        context,
        session,
        action="booking.cancel",
        entity_type="booking",
        entity_id=booking.id,
        location_id=location.id,
        details={"reason": reason},
    )
    return message_id


async def cancel_booking(context: Context, booking_id: str, reason: str, key: str) -> WriteResult:
    bounds.idempotency_key(key)
    bounds.key("bookingId", booking_id)
    bounds.text("reason", reason, bounds.REASON_LENGTH, multiline=True)
    await require_visible_booking(context, booking_id)

    async def perform() -> WriteResult:
        async with context.services.writer.transaction() as session:
            booking = await _active_booking(session, booking_id)
            message_id = await cancel_in_session(context, session, booking, reason, key)
        return await deliver(context, "booking", booking_id, [message_id])

    return await run_idempotent(context, "cancelBooking", key, {"booking_id": booking_id, "reason": reason}, perform)
