"""cancelBooking: call a booking off at the location that serves it."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.bookings import change as booking_writes
from resolvers.results import WriteResult
from schema.bookings.types import Booking
from schema.payloads import MutationPayload
from schema.permissions import Permission, requires
from schema.write_inputs import idempotency_key_field, key_for, load_booking, run_write


@strawberry.input(description="A booking to call off.")
class CancelBookingInput:
    idempotency_key: str = idempotency_key_field()
    booking_id: strawberry.ID = strawberry.field(description="Global id of the booking; it must be active.")
    reason: str = strawberry.field(default="", description="Why, passed on to the location.")


@strawberry.type(description="The answer to cancelBooking.")
class CancelBookingPayload(MutationPayload):
    booking_key: strawberry.Private[str | None]

    @strawberry.field(description="The booking as it is now; null when the request was refused (see errors).")
    async def booking(self, info: Info) -> Booking | None:
        return await load_booking(info, self.booking_key)


@strawberry.type
class BookingCancelMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.BOOK)],
        description="Cancels a booking; the slot is freed and the booking earns no revenue.",
    )
    async def cancel_booking(
        self, info: Info, input: Annotated[CancelBookingInput, strawberry.argument(description="The cancellation.")]
    ) -> CancelBookingPayload:
        async def perform() -> WriteResult:
            return await booking_writes.cancel_booking(
                info.context,
                booking_id=key_for(input.booking_id, "Booking", "bookingId"),
                reason=input.reason,
                key=input.idempotency_key,
            )

        written = await run_write(info, perform)
        return CancelBookingPayload(outcomes=written.outcomes, errors=written.errors, booking_key=written.entity_id)
