"""The body a source website pushes to POST /api/bookings/sync (specs/onebooking-central.md), with the bounds
the gateway holds it to: every string has a length, every number and date a range, every list a size."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from sources.cache.payments import PaymentReport, ReportedPayment

LOCAL_ID_MAX = 64
AMOUNT_MAX = Decimal(1_000_000_000)
COUNT_MAX = 1000
ADDONS_MAX = 50
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)

# The website's status words -> the gateway's.
STATUSES = {
    "pending": "pending",
    "confirmed": "confirmed",
    "paid": "confirmed",
    "completed": "completed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "refunded": "cancelled",
    "no_show": "no_show",
}
PAID_STATUSES = frozenset({"paid", "completed"})
CANCELLING_EVENTS = frozenset({"booking.cancelled", "booking.refunded"})
Event = Literal["booking.created", "booking.updated", "booking.cancelled", "booking.refunded"]


def _in_range(moment: datetime) -> datetime:
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
    return moment


Moment = Annotated[
    AwareDatetime,
    AfterValidator(_in_range),
    Field(json_schema_extra={"formatMinimum": EARLIEST.isoformat(), "formatMaximum": LATEST.isoformat()}),
]
Amount = Annotated[Decimal, Field(ge=0, le=AMOUNT_MAX, description="major units of the currency, exact")]
Count = Annotated[int, Field(ge=0, le=COUNT_MAX)]


class SyncCustomer(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, min_length=1, max_length=32)
    country_code: str | None = Field(default=None, max_length=5, pattern=r"^\+?[0-9]{1,4}$")
    special_requests: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _reachable(self) -> SyncCustomer:
        if not self.email and not self.phone:
            raise ValueError("the customer needs an email or a phone")
        return self


class SyncTransport(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    type: str | None = Field(default=None, max_length=32, pattern=r"^[a-z_]{1,32}$")
    hotel_name: str | None = Field(default=None, max_length=200)
    room_number: str | None = Field(default=None, max_length=32)
    non_players: Count = 0
    private_passengers: Count = 0
    cost: Amount = Decimal(0)


class SyncAddon(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(ge=1, le=COUNT_MAX)
    unit_price: Amount


class SyncBooking(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event: Event
    source_booking_id: str = Field(min_length=1, max_length=LOCAL_ID_MAX)
    booking_ref: str = Field(min_length=1, max_length=64)
    package_name: str = Field(min_length=1, max_length=200)
    package_price: Amount
    activity_date: date = Field(ge=EARLIEST_DAY, le=LATEST_DAY)
    time_slot: str = Field(max_length=5, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    guest_count: int = Field(ge=1, le=COUNT_MAX)
    total_amount: Amount
    discount_amount: Amount = Decimal(0)
    currency: str | None = Field(default=None, max_length=3, pattern=r"^[A-Z]{3}$")
    status: str = Field(default="confirmed", max_length=20)
    customer: SyncCustomer
    transport: SyncTransport | None = None
    addons: list[SyncAddon] = Field(default_factory=list, max_length=ADDONS_MAX)
    stripe_payment_intent_id: str | None = Field(default=None, max_length=255)
    created_at: Moment | None = None
    # Not in the spec's body: when the website made this change. Given, pushes are ordered by it.
    updated_at: Moment | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SyncBooking:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}")
        if self.discount_amount > self.total_amount:
            raise ValueError("discount_amount is more than total_amount")
        return self

    def payment(self, price_minor: int) -> PaymentReport | None:
        """A refund event or status word is a refund of the whole price; the status word `paid` or `completed`
        a payment of it; any other event says nothing of the payment (the last report stands)."""
        if self.event == "booking.refunded" or self.status == "refunded":
            return PaymentReport(ReportedPayment.REFUNDED, price_minor)
        if self.status in PAID_STATUSES:
            return PaymentReport(ReportedPayment.PAID, price_minor)
        return None

    def details(self) -> dict[str, Any]:
        """What the gateway keeps beyond its own booking fields (Booking.source_details), amounts as the exact
        decimal text they came as."""
        transport = self.transport
        return {
            "booking_ref": self.booking_ref,
            "package_name": self.package_name,
            "package_price": str(self.package_price),
            "guest_count": self.guest_count,
            "total_amount": str(self.total_amount),
            "discount_amount": str(self.discount_amount),
            "status": self.status,
            "customer_country_code": self.customer.country_code,
            "special_requests": self.customer.special_requests,
            "transport": None
            if transport is None
            else {
                "type": transport.type,
                "hotel_name": transport.hotel_name,
                "room_number": transport.room_number,
                "non_players": transport.non_players,
                "private_passengers": transport.private_passengers,
                "cost": str(transport.cost),
            },
            "addons": [
                {"name": addon.name, "quantity": addon.quantity, "unit_price": str(addon.unit_price)}
                for addon in self.addons
            ],
            "stripe_payment_intent_id": self.stripe_payment_intent_id,
            "source_created_at": None if self.created_at is None else self.created_at.isoformat(),
        }
