"""An admin's notes on a booking, and a test event to a booking's owner: the gateway keeps the notes and tells the
owner by its own webhook protocol (sync.outbox.messages.booking_webhooks), through the outbox.

Only a location whose connector speaks booking webhooks (a OneBooking website) hears of notes; elsewhere they
stay the gateway's own."""

from __future__ import annotations

import uuid

from resolvers import bounds
from resolvers.authorization import require_visible_booking
from resolvers.context import Context
from resolvers.errors import InvalidInputError
from resolvers.idempotency import run_idempotent
from resolvers.results import WriteResult
from resolvers.writing import audit_write, deliver, enqueue_for_owner, get_or_not_found
from sources.cache.models import Booking
from sources.connectors.base import SendsBookingWebhooks
from sync.outbox.messages import BookingWebhookMessage
from sync.outbox.queue import Queued

NOTES_EVENT = "booking.updated"
TEST_EVENTS = frozenset({"booking.updated", "booking.status_changed"})


def _takes_webhooks(context: Context, location_id: str) -> bool:
    return isinstance(context.services.connectors.get(location_id), SendsBookingWebhooks)


async def annotate_booking(
    context: Context, booking_id: str, notes: str | None, key: str, *, tell_owner: bool = True
) -> WriteResult:
    """Set (or, with None, clear) the booking's admin notes; its owner hears `booking.updated {admin_notes}`
    (not with `tell_owner` False: the notes reached it with another change, a cancellation's reason)."""
    bounds.idempotency_key(key)
    bounds.key("bookingId", booking_id)
    bounds.optional_text("adminNotes", notes, bounds.NOTES_LENGTH, multiline=True)
    await require_visible_booking(context, booking_id)

    async def perform() -> WriteResult:
        queued: list[Queued] = []
        async with context.services.writer.transaction() as session:
            booking: Booking = await get_or_not_found(session, Booking, booking_id, "booking")
            before = booking.admin_notes
            if before == notes:
                return WriteResult("booking", booking_id)
            booking.admin_notes = notes
            owner = booking.service_location_id
            if tell_owner and _takes_webhooks(context, owner):
                message = BookingWebhookMessage(
                    booking.id,
                    booking.local_booking_id,
                    NOTES_EVENT,
                    {"admin_notes": notes or ""},
                    context.principal.subject,
                )
                queued.append(await enqueue_for_owner(session, location_id=owner, key=f"{key}:notes", message=message))
            await audit_write(
                context,
                session,
                action="booking.annotate",
                entity_type="booking",
                entity_id=booking.id,
                location_id=owner,
                details={"before": before, "after": notes},
            )
        return await deliver(context, "booking", booking_id, queued)

    return await run_idempotent(
        context, "annotateBooking", key, {"booking_id": booking_id, "notes": notes, "tell": tell_owner}, perform
    )


async def send_test_webhook(context: Context, location_id: str, booking_id: str, event: str) -> WriteResult:
    """A signed test event about one of the location's bookings, sent at once (and retried like any other): the
    outcome says whether the location took it. The booking is not changed."""
    bounds.key("locationId", location_id)
    bounds.key("bookingId", booking_id)
    if event not in TEST_EVENTS:
        raise InvalidInputError(f"event must be one of {sorted(TEST_EVENTS)}", field="event")
    await require_visible_booking(context, booking_id)
    if not _takes_webhooks(context, location_id):
        raise InvalidInputError(f"{location_id} takes no booking webhooks", field="locationId")
    async with context.services.writer.transaction() as session:
        booking: Booking = await get_or_not_found(session, Booking, booking_id, "booking")
        if booking.service_location_id != location_id:
            raise InvalidInputError(f"booking {booking_id} is not {location_id}'s", field="bookingId")
        # Nothing the website would change its booking for: a test is only about reaching it, signed.
        message = BookingWebhookMessage(
            booking.id, booking.local_booking_id, event, {"test": "true"}, context.principal.subject
        )
        queued = await enqueue_for_owner(
            session, location_id=location_id, key=f"test-{uuid.uuid4().hex}", message=message
        )
        await audit_write(
            context,
            session,
            action="booking.test_webhook",
            entity_type="booking",
            entity_id=booking.id,
            location_id=location_id,
            details={"event": event},
        )
    return await deliver(context, "booking", booking_id, [queued])
