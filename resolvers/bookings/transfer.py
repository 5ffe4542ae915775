"""transferBooking: the same service at another location; the new booking first, then the old one goes.

If the new location does not take the booking, the old one is left exactly as it was.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from resolvers import bounds
from resolvers.authorization import require_visible_booking
from resolvers.bookings.change import cancel_in_session
from resolvers.bookings.create import CreateBooking, create_booking
from resolvers.bookings.vocabulary import ACTIVE_BOOKING_STATUSES
from resolvers.context import Context
from resolvers.errors import ApprovalRequiredError, InvalidInputError, NotFoundError
from resolvers.idempotency import run_idempotent
from resolvers.results import WriteResult
from resolvers.writing import deliver, get_or_not_found, require_future
from sources.cache.models import Booking, Location, Service
from sync.outbox.delivery import DeliveryStatus


async def transfer_booking(
    context: Context, booking_id: str, to_location_id: str, start_at: datetime | None, approved: bool, key: str
) -> WriteResult:
    bounds.idempotency_key(key)
    bounds.key("bookingId", booking_id)
    bounds.key("toLocationId", to_location_id)
    await require_visible_booking(context, booking_id)
    if start_at is not None:
        bounds.instant("startAt", start_at)
        require_future("startAt", start_at)
    if context.settings.transfer_requires_approval and not approved:
        raise ApprovalRequiredError(
            "transfers between locations need approval: resend with `approved: true`", field="approved"
        )

    async def perform() -> WriteResult:
        async with context.engine.connect() as connection:
            booking = (await connection.execute(select(Booking).where(Booking.id == booking_id))).first()
            if booking is None:
                raise NotFoundError(f"no booking {booking_id}", field="bookingId")
            if booking.status not in ACTIVE_BOOKING_STATUSES:
                raise InvalidInputError(f"a {booking.status} booking cannot be transferred", field="bookingId")
            if booking.service_location_id == to_location_id:
                raise InvalidInputError("the booking is already served there", field="toLocationId")
            target = (await connection.execute(select(Location).where(Location.id == to_location_id))).first()
            if target is None:
                raise NotFoundError(f"no location {to_location_id}", field="toLocationId")
            service = (await connection.execute(select(Service).where(Service.id == booking.service_id))).one()
            same = (
                await connection.execute(
                    select(Service.id).where(
                        Service.location_id == to_location_id,
                        Service.is_active,
                        Service.category == service.category,
                        Service.name == service.name,
                    )
                )
            ).scalar()
            if same is None:
                same = (
                    await connection.execute(
                        select(Service.id)
                        .where(
                            Service.location_id == to_location_id,
                            Service.is_active,
                            Service.category == service.category,
                        )
                        .order_by(Service.id)
                    )
                ).scalar()
            if same is None:
                raise InvalidInputError(f"{target.name} does not offer {service.name}", field="toLocationId")
        created = await create_booking(
            context,
            CreateBooking(
                idempotency_key=f"{key}:new",
                start_at=start_at or booking.start_at,
                service_id=same,
                originating_location_id=booking.originating_location_id,
                customer_id=booking.customer_id,
                notes=f"transferred from {booking.service_location_id} ({booking_id})",
            ),
        )
        if created.outcomes[0].status is DeliveryStatus.FAILED:
            return WriteResult("booking", None, created.outcomes, {"cancelledBookingId": ""})
        async with context.services.writer.transaction() as session:
            old = await get_or_not_found(session, Booking, booking_id, "booking")
            message_id = await cancel_in_session(context, session, old, f"transferred to {to_location_id}", key)
        cancelled = await deliver(context, "booking", booking_id, [message_id])
        return WriteResult(
            "booking", created.entity_id, created.outcomes + cancelled.outcomes, {"cancelledBookingId": booking_id}
        )

    return await run_idempotent(
        context, "transferBooking", key, {"booking_id": booking_id, "to": to_location_id, "start_at": start_at}, perform
    )
