"""createBooking: book a service at its location, or at the nearest location offering a category."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.bookings import create as booking_writes
from resolvers.bookings.create import CreateBooking, NewCustomer
from resolvers.results import WriteResult
from schema.bookings.types import Booking
from schema.payloads import MutationPayload
from schema.permissions import Permission, requires
from schema.write_inputs import aware, idempotency_key_field, load_booking, optional_key_for, run_write


@strawberry.input(description="A customer the network does not know yet; matched by email when it does.")
class NewCustomerInput:
    first_name: str = strawberry.field(description="Given name; must not be blank.")
    last_name: str = strawberry.field(description="Family name; must not be blank.")
    email: str | None = strawberry.field(default=None, description="Email; an existing customer with it is reused.")
    phone: str | None = strawberry.field(default=None, description="Phone number, ideally E.164.")


@strawberry.input(description="A point on the map (WGS 84).")
class GeoPointInput:
    latitude: float = strawberry.field(description="Degrees north.")
    longitude: float = strawberry.field(description="Degrees east.")


@strawberry.input(description="A booking to make. Give serviceId, or category to let the gateway pick the location.")
class CreateBookingInput:
    idempotency_key: str = idempotency_key_field()
    start_at: datetime = strawberry.field(description="Start, with a timezone offset; must be in the future.")
    service_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the service to book; its location serves the booking."
    )
    category: str | None = strawberry.field(
        default=None,
        description="Without serviceId: book this category at the nearest location (to `near`, else to the "
        "originating location) within maxDistanceKm that has the slot free.",
    )
    customer_id: strawberry.ID | None = strawberry.field(default=None, description="Global id of the customer.")
    new_customer: NewCustomerInput | None = strawberry.field(
        default=None, description="Without customerId: the customer to create (or match by email)."
    )
    originating_location_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the location where the booking is made; the serving one if omitted."
    )
    resource_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Global id of the staff member, room or equipment wanted; any suitable one if omitted.",
    )
    near: GeoPointInput | None = strawberry.field(
        default=None, description="With category: where the customer is, to find the nearest location."
    )
    max_distance_km: float = strawberry.field(
        default=50.0, description="With category: how far away a location may be, in km."
    )
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code the client expects the price in; refused if the service differs."
    )
    notes: str = strawberry.field(default="", description="Free-text notes for the location.")


@strawberry.type(description="The answer to createBooking.")
class CreateBookingPayload(MutationPayload):
    booking_key: strawberry.Private[str | None]

    @strawberry.field(description="The booking made; null when it was refused (see errors).")
    async def booking(self, info: Info) -> Booking | None:
        return await load_booking(info, self.booking_key)


def to_request(data: CreateBookingInput) -> CreateBooking:
    customer = data.new_customer
    return CreateBooking(
        idempotency_key=data.idempotency_key,
        start_at=aware(data.start_at, "startAt"),
        service_id=optional_key_for(data.service_id, "Service", "serviceId"),
        category=data.category,
        originating_location_id=optional_key_for(data.originating_location_id, "Location", "originatingLocationId"),
        customer_id=optional_key_for(data.customer_id, "Customer", "customerId"),
        new_customer=None
        if customer is None
        else NewCustomer(
            first_name=customer.first_name, last_name=customer.last_name, email=customer.email, phone=customer.phone
        ),
        resource_id=optional_key_for(data.resource_id, "Resource", "resourceId"),
        near_latitude=None if data.near is None else data.near.latitude,
        near_longitude=None if data.near is None else data.near.longitude,
        max_distance_km=data.max_distance_km,
        currency=data.currency,
        notes=data.notes,
    )


@strawberry.type
class BookingCreateMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.BOOK)],
        description="Books a service: claims the slot in the cache and sends the booking to the location that "
        "serves it. The location's answer is in `outcomes`; a refusal also in `errors`.",
    )
    async def create_booking(
        self, info: Info, input: Annotated[CreateBookingInput, strawberry.argument(description="The booking to make.")]
    ) -> CreateBookingPayload:
        async def perform() -> WriteResult:
            return await booking_writes.create_booking(info.context, to_request(input))

        written = await run_write(info, perform)
        return CreateBookingPayload(outcomes=written.outcomes, errors=written.errors, booking_key=written.entity_id)
