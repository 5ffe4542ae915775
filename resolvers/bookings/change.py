"""rescheduleBooking and cancelBooking: change the cache now, send the change to the service location."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers import bounds
from resolvers.authorization import require_visible_booking
from resolvers.bookings.slots import claim_resource, eligible_resources, local_resource_ref, within_opening_hours
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
    context: Context, booking_id: str, start_at: datetime, resource_id: str | None, key: str
) -> WriteResult:
    bounds.idempotency_key(key)
    bounds.key("bookingId", booking_id)
    bounds.instant("startAt", start_at)
    bounds.optional_key("resourceId", resource_id)
    require_future("startAt", start_at)
    await require_visible_booking(context, booking_id)

    async def perform() -> WriteResult:
        async with context.services.writer.transaction() as session:
            booking = await _active_booking(session, booking_id)
            location = await session.get_one(Location, booking.service_location_id)
            require_capability(context, location, Capability.CHANGE_BOOKING, "change bookings")
            service = await session.get_one(Service, booking.service_id)
            end_at = start_at + timedelta(minutes=service.duration_minutes)
            if not within_opening_hours(location, start_at, end_at):
                raise SlotUnavailableError(f"{location.name} is closed then")
            candidates = await eligible_resources(session, service, location.id)
            wanted = resource_id or booking.resource_id
            preferred = [resource for resource in candidates if resource.id == wanted]
            if resource_id is not None and not preferred:
                raise InvalidInputError(f"resource {resource_id} cannot deliver {service.name}", field="resourceId")
            resource = await claim_resource(
                session,
                preferred or candidates,
                start_at,
                end_at,
                lock_rows=context.services.writer.locks_rows,
                ignore_booking_id=booking.id,
            )
            before, prior = _before(booking), BookingBefore.of(booking)
            booking.start_at, booking.end_at, booking.resource_id = start_at, end_at, resource.id
            message_id = await enqueue_for_owner(
                session,
                location_id=location.id,
                key=f"{key}:reschedule",
                message=BookingRescheduleMessage(
                    booking.id,
                    booking.local_booking_id,
                    prior,
                    start_at,
                    end_at,
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
        {"booking_id": booking_id, "start_at": start_at, "resource_id": resource_id},
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
