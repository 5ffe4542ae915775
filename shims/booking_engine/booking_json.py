"""The booking engine's bookings: the request bodies, and a booking as the API shows it (a stay at a hotel,
read from the cache after any write)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from resolvers.hotels.stays import nights_of, stay_dates
from shims.booking_engine.hotels import AMOUNT_PATTERN, amount
from shims.booking_engine.shape import KEY_PATTERN
from shims.booking_engine.stays import bounded_date
from sync.outbox.delivery import DeliveryOutcome

NAME_MAX = 100
NOTES_MAX = 2000


class Guest(BaseModel):
    """A guest the gateway does not know yet (staff booking for someone new)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Not only spaces: the names are stripped before they are checked.
    first_name: str = Field(min_length=1, max_length=NAME_MAX, pattern=r"\S")
    last_name: str = Field(min_length=1, max_length=NAME_MAX, pattern=r"\S")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ()-]*[0-9][0-9 ()-]*$")


class NewBooking(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hotel_id: str = Field(pattern=KEY_PATTERN)
    room_type_id: str = Field(pattern=KEY_PATTERN)
    room_id: str | None = Field(default=None, pattern=KEY_PATTERN, description="A room of the type; else any free")
    check_in: date = bounded_date("Arrival, hotel-local")
    check_out: date = bounded_date("Departure, hotel-local")
    guest_id: str | None = Field(
        default=None, pattern=KEY_PATTERN, description="The customer; a customer token books for itself"
    )
    guest: Guest | None = None
    special_requests: str = Field(default="", max_length=NOTES_MAX)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class ChangedBooking(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check_in: date | None = bounded_date("New arrival", default=None)
    check_out: date | None = bounded_date("New departure", default=None)
    room_id: str | None = Field(default=None, pattern=KEY_PATTERN)

    @property
    def changes_anything(self) -> bool:
        return self.check_in is not None or self.check_out is not None or self.room_id is not None


class CancelQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


class ReadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_age: int | None = Field(
        default=None, ge=0, le=366 * 24 * 3600, description="Refresh from the hotel when the cache is older (s)"
    )


class Delivery(BaseModel):
    location_id: str = Field(max_length=64)
    status: str = Field(max_length=20, description="DELIVERED, QUEUED (the outbox retries) or FAILED")
    code: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=2000)


class BookingView(BaseModel):
    id: str = Field(max_length=64)
    hotel_id: str = Field(max_length=64)
    status: str = Field(max_length=20)
    room_type_id: str = Field(max_length=64)
    room_id: str | None = Field(max_length=64)
    guest_id: str = Field(max_length=64)
    check_in: date
    check_out: date
    nights: int = Field(ge=1, le=400)
    total_amount: str = Field(pattern=AMOUNT_PATTERN)
    currency: str = Field(min_length=3, max_length=3)
    special_requests: str = Field(max_length=NOTES_MAX)
    hotel_reference: str | None = Field(max_length=64, description="The hotel's own reservation id, once it has it")
    version: int = Field(ge=0, le=2**31)
    created_at: datetime
    updated_at: datetime


class BookingAnswer(BaseModel):
    booking: BookingView
    delivery: list[Delivery] = Field(default_factory=list, max_length=10, description="Writes only")


def booking_view(row: Any, timezone: str) -> BookingView:
    check_in, check_out = stay_dates(timezone, row.start_at, row.end_at)
    return BookingView(
        id=row.id,
        hotel_id=row.service_location_id,
        status=row.status,
        room_type_id=row.service_id,
        room_id=row.resource_id,
        guest_id=row.customer_id,
        check_in=check_in,
        check_out=check_out,
        nights=nights_of(timezone, row.start_at, row.end_at),
        total_amount=amount(row.price_minor, row.currency),
        currency=row.currency,
        special_requests=row.notes or "",
        hotel_reference=row.local_booking_id or None,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def deliveries(outcomes: tuple[DeliveryOutcome, ...]) -> list[Delivery]:
    return [Delivery(location_id=o.location_id, status=o.status.value, code=o.code, reason=o.reason) for o in outcomes]
