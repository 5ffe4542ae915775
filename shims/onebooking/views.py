"""A booking as OneBooking's dashboard reads it: the spec's `bookings` row (specs/onebooking-central.md), built
from the gateway's booking, its customer, service and website, and the details its source website pushed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, PlainSerializer
from sqlalchemy.engine import Row

from sources.cache.money import from_minor_units

AMOUNT_MAX = 1_000_000_000
TEXT_MAX = 2000


def _number(amount: Decimal) -> int | float:
    # Money has few digits: the float's repr is the exact decimal (45.5), a whole amount an integer (8500).
    return int(amount) if amount == amount.to_integral_value() else float(amount)


Amount = Annotated[Decimal, Field(ge=0, le=AMOUNT_MAX), PlainSerializer(_number, return_type=float, when_used="always")]
ShortText = Annotated[str, Field(max_length=200)]


class Addon(BaseModel):
    name: ShortText
    quantity: int = Field(ge=1, le=1000)
    unit_price: Amount


class BookingView(BaseModel):
    id: str = Field(max_length=64, description="the booking's network id (PUT /api/bookings/{id})")
    website_id: str = Field(max_length=64)
    source_booking_id: str = Field(max_length=64)
    booking_ref: str = Field(max_length=64)
    package_name: ShortText
    package_price: Amount
    activity_date: date = Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))
    time_slot: str = Field(max_length=5, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    guest_count: int = Field(ge=1, le=1000)
    total_amount: Amount
    discount_amount: Amount
    currency: str = Field(max_length=3)
    status: str = Field(max_length=20)
    customer_name: ShortText
    customer_email: str | None = Field(default=None, max_length=254, description="null for staff")
    customer_phone: str | None = Field(default=None, max_length=32, description="null for staff")
    customer_country_code: str | None = Field(default=None, max_length=5)
    special_requests: str | None = Field(default=None, max_length=TEXT_MAX)
    transport_type: str | None = Field(default=None, max_length=32)
    hotel_name: str | None = Field(default=None, max_length=200)
    room_number: str | None = Field(default=None, max_length=32)
    non_players: int = Field(default=0, ge=0, le=1000)
    private_passengers: int = Field(default=0, ge=0, le=1000)
    transport_cost: Amount = Decimal(0)
    addons: list[Addon] = Field(default_factory=list, max_length=50)
    stripe_payment_intent_id: str | None = Field(default=None, max_length=255)
    admin_notes: str | None = Field(default=None, max_length=TEXT_MAX)
    source_created_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


def _decimal(value: Any, default: Decimal) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else default
    except ArithmeticError:
        return default


def booking_view(
    booking: Row[Any], customer: Row[Any] | None, service: Row[Any] | None, zone: ZoneInfo, *, contact_data: bool
) -> BookingView:
    """The dashboard's row. A booking its website never pushed details for (one made before it joined, or through
    the gateway) shows the gateway's own values: its local id as ref, its service, one guest."""
    details: dict[str, Any] = booking.source_details or {}
    transport: dict[str, Any] = details.get("transport") or {}
    total = from_minor_units(booking.price_minor, booking.currency)
    local_start = booking.start_at.astimezone(zone)
    name = "" if customer is None else f"{customer.first_name} {customer.last_name}".strip()
    created = details.get("source_created_at")
    return BookingView(
        id=booking.id,
        website_id=booking.service_location_id,
        source_booking_id=booking.local_booking_id,
        booking_ref=details.get("booking_ref") or booking.local_booking_id,
        package_name=details.get("package_name") or ("" if service is None else service.name),
        package_price=_decimal(
            details.get("package_price"),
            Decimal(0) if service is None else from_minor_units(service.price_minor, service.currency),
        ),
        activity_date=local_start.date(),
        time_slot=local_start.strftime("%H:%M"),
        guest_count=int(details.get("guest_count") or 1),
        total_amount=_decimal(details.get("total_amount"), total),
        discount_amount=_decimal(details.get("discount_amount"), Decimal(0)),
        currency=booking.currency,
        status=booking.status,
        customer_name=name[:200],
        customer_email=customer.email if contact_data and customer is not None else None,
        customer_phone=customer.phone if contact_data and customer is not None else None,
        customer_country_code=details.get("customer_country_code"),
        special_requests=details.get("special_requests") or (booking.notes or None),
        transport_type=transport.get("type"),
        hotel_name=transport.get("hotel_name"),
        room_number=transport.get("room_number"),
        non_players=int(transport.get("non_players") or 0),
        private_passengers=int(transport.get("private_passengers") or 0),
        transport_cost=_decimal(transport.get("cost"), Decimal(0)),
        addons=[
            Addon(name=addon["name"], quantity=addon["quantity"], unit_price=_decimal(addon["unit_price"], Decimal(0)))
            for addon in details.get("addons") or []
        ],
        stripe_payment_intent_id=details.get("stripe_payment_intent_id"),
        admin_notes=booking.admin_notes,
        source_created_at=datetime.fromisoformat(created) if created else None,
        created_at=booking.created_at,
        updated_at=booking.updated_at,
    )
