"""transferBooking: move a booking to another location (a new booking there, the old one cancelled)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.bookings import transfer as transfer_writes
from resolvers.results import WriteResult
from schema.bookings.types import Booking
from schema.payloads import MutationPayload
from schema.permissions import Permission, requires
from schema.write_inputs import aware, idempotency_key_field, key_for, load_booking, run_write


@strawberry.input(description="A booking to serve at another location.")
class TransferBookingInput:
    idempotency_key: str = idempotency_key_field()
    booking_id: strawberry.ID = strawberry.field(description="Global id of the booking to transfer; it must be active.")
    to_location_id: strawberry.ID = strawberry.field(
        description="Global id of the location to serve it; it must offer the same service (or its category)."
    )
    start_at: datetime | None = strawberry.field(
        default=None, description="New start, with a timezone offset; the booking's current start if omitted."
    )
    approved: bool = strawberry.field(
        default=False, description="Approval of the transfer, required when the network's policy asks for it."
    )


@strawberry.type(description="The answer to transferBooking.")
class TransferBookingPayload(MutationPayload):
    booking_key: strawberry.Private[str | None]
    original_booking_key: strawberry.Private[str | None]

    @strawberry.field(description="The new booking at the target location; null when the transfer failed.")
    async def booking(self, info: Info) -> Booking | None:
        return await load_booking(info, self.booking_key)

    @strawberry.field(
        description="The booking transferred from: cancelled when the transfer went through, unchanged otherwise; "
        "null when the request was refused (see errors)."
    )
    async def original_booking(self, info: Info) -> Booking | None:
        return await load_booking(info, self.original_booking_key)


@strawberry.type
class BookingTransferMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.TRANSFER_BOOKINGS)],
        description="Transfers a booking to another location: books it there, then cancels the original. "
        "If the target refuses, the original stays as it was.",
    )
    async def transfer_booking(
        self, info: Info, input: Annotated[TransferBookingInput, strawberry.argument(description="The transfer.")]
    ) -> TransferBookingPayload:
        async def perform() -> WriteResult:
            return await transfer_writes.transfer_booking(
                info.context,
                booking_id=key_for(input.booking_id, "Booking", "bookingId"),
                to_location_id=key_for(input.to_location_id, "Location", "toLocationId"),
                start_at=None if input.start_at is None else aware(input.start_at, "startAt"),
                approved=input.approved,
                key=input.idempotency_key,
            )

        written = await run_write(info, perform)
        return TransferBookingPayload(
            outcomes=written.outcomes,
            errors=written.errors,
            booking_key=written.entity_id,
            # The id was valid if the write ran at all.
            original_booking_key=None if written.result is None else key_for(input.booking_id, "Booking", "bookingId"),
        )
