"""rescheduleBooking: move a booking to another time (and optionally another resource) at its location."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.bookings import change as booking_writes
from resolvers.results import WriteResult
from schema.bookings.types import Booking
from schema.payloads import MutationPayload
from schema.permissions import Permission, requires
from schema.write_inputs import aware, idempotency_key_field, key_for, load_booking, optional_key_for, run_write


@strawberry.input(description="A booking to move.")
class RescheduleBookingInput:
    idempotency_key: str = idempotency_key_field()
    booking_id: strawberry.ID = strawberry.field(description="Global id of the booking; it must be active.")
    start_at: datetime = strawberry.field(description="New start, with a timezone offset; must be in the future.")
    resource_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the resource wanted; the current one (else any suitable) if omitted."
    )


@strawberry.type(description="The answer to rescheduleBooking.")
class RescheduleBookingPayload(MutationPayload):
    booking_key: strawberry.Private[str | None]

    @strawberry.field(description="The booking as it is now; null when the request was refused (see errors).")
    async def booking(self, info: Info) -> Booking | None:
        return await load_booking(info, self.booking_key)


@strawberry.type
class BookingRescheduleMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.BOOK)],
        description="Moves a booking to a new time at the location that serves it; the old slot is freed.",
    )
    async def reschedule_booking(
        self, info: Info, input: Annotated[RescheduleBookingInput, strawberry.argument(description="The move.")]
    ) -> RescheduleBookingPayload:
        async def perform() -> WriteResult:
            return await booking_writes.reschedule_booking(
                info.context,
                booking_id=key_for(input.booking_id, "Booking", "bookingId"),
                start_at=aware(input.start_at, "startAt"),
                resource_id=optional_key_for(input.resource_id, "Resource", "resourceId"),
                key=input.idempotency_key,
            )

        written = await run_write(info, perform)
        return RescheduleBookingPayload(outcomes=written.outcomes, errors=written.errors, booking_key=written.entity_id)
