"""What every platform's webhook comes down to, whatever its wire format: one event about one booking or one
customer at the platform location, with the records it carries (or, for a thin event, only the ids to fetch).

A platform is one `Platform`: its name in the path, how it signs (a `sync.webhooks.verify.Scheme` and the
headers it puts the signature and timestamp in), the pydantic model of its body, and the normaliser that turns
a validated body into a `PlatformEvent` (through `booking_event` / `customer_event`, so every platform's
appointment is checked and priced alike and a platform module holds only its own spelling).
shims/platforms/registry.py holds the one table of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from sources.cache.money import InexactAmount, to_minor_units
from sources.connectors.records import RemoteBooking, RemoteCustomer
from sync.webhooks.verify import Scheme

EVENT_ID_MAX = 200
LOCAL_ID_MAX = 64
TEXT_MAX = 2000
# Far enough for any real appointment, near enough that a year typed wrong is refused before any write.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _in_range(moment: datetime) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"must be from {EARLIEST.year} to {LATEST.year - 1}")
    return moment.astimezone(UTC)


# The bounds every platform's fields share (the same on SQLite and PostgreSQL, shown in /openapi.json).
EventId = Annotated[str, Field(min_length=1, max_length=EVENT_ID_MAX)]
LocalId = Annotated[str, Field(min_length=1, max_length=LOCAL_ID_MAX)]
Moment = Annotated[AwareDatetime, AfterValidator(_in_range)]
Revision = Annotated[int, Field(ge=0, le=2**31 - 1)]
Amount = Annotated[Decimal, Field(ge=0, le=10**9)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Note = Annotated[str, Field(max_length=TEXT_MAX)]
Name = Annotated[str, Field(max_length=100)]
Email = Annotated[str, Field(max_length=254)]
Phone = Annotated[str, Field(max_length=32)]
Points = Annotated[int, Field(ge=0, le=10**9)]


class Subject(StrEnum):
    """What an event is about: the receipts' entity type, and what a thin event fetches."""

    BOOKING = "booking"
    CUSTOMER = "customer"


class MalformedEvent(ValueError):
    """The body is the platform's JSON but not an event this gateway can apply (answered 422)."""


@dataclass(frozen=True, slots=True)
class PlatformEvent:
    event_id: str
    occurred_at: datetime
    subject: Subject
    local_id: str  # the booking's or customer's id at the platform
    bookings: list[RemoteBooking] = field(default_factory=list)
    customers: list[RemoteCustomer] = field(default_factory=list)
    # A thin event names its record only: it is fetched from the location's connector before it is applied.
    thin: bool = False
    # A platform that keeps no loyalty points: the customer keeps the points the location's mapping has.
    points_known: bool = True


@dataclass(frozen=True, slots=True)
class Facts:
    """What a normaliser may need of the location the delivery is for."""

    location_id: str
    currency: str


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    scheme: Scheme
    signature_header: str
    body: type[BaseModel]
    normalise: Callable[[Any, Facts], PlatformEvent]
    timestamp_header: str | None = None  # where the signed timestamp travels (scheme.timestamped)
    description: str = ""


def minor_units(amount: Decimal, currency: str, name: str) -> int:
    try:
        return to_minor_units(amount, currency)
    except InexactAmount as inexact:
        raise MalformedEvent(f"{name}: {inexact}") from None


def ordered(start: datetime, end: datetime) -> None:
    if end <= start:
        raise MalformedEvent("the appointment ends before it starts")


def split_name(name: str) -> tuple[str, str]:
    first, _, last = " ".join(name.split()).partition(" ")
    return first, last


def booking_event(
    event_id: str,
    occurred_at: datetime,
    *,
    local_id: str,
    local_customer_id: str,
    local_service_id: str,
    local_resource_id: str | None,
    start_at: datetime,
    end_at: datetime,
    status: str,
    price: Decimal,
    price_field: str,  # where the body carries the price, for the 422's message
    currency: str,
    notes: str,
    version: int,
    updated_at: datetime,
    global_id: str | None = None,
) -> PlatformEvent:
    """An event about one appointment, in the gateway's words: refused when it ends before it starts or its price
    is not a whole number of the currency's minor units."""
    ordered(start_at, end_at)
    booking = RemoteBooking(
        local_id=local_id,
        local_customer_id=local_customer_id,
        local_service_id=local_service_id,
        local_resource_id=local_resource_id,
        start_at=start_at,
        end_at=end_at,
        status=status,
        price_minor=minor_units(price, currency, price_field),
        currency=currency,
        notes=notes,
        version=version,
        updated_at=updated_at,
        global_id=global_id,
    )
    return PlatformEvent(event_id, occurred_at, Subject.BOOKING, local_id, bookings=[booking])


def customer_event(
    event_id: str,
    occurred_at: datetime,
    *,
    local_id: str,
    first_name: str,
    last_name: str,
    email: str | None,
    phone: str | None,
    loyalty_points: int | None,  # None: the platform keeps none (the customer keeps the points the gateway holds)
    version: int,
    updated_at: datetime,
) -> PlatformEvent:
    """An event about one customer, in the gateway's words."""
    customer = RemoteCustomer(
        local_id=local_id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        loyalty_points=loyalty_points or 0,
        updated_at=updated_at,
        version=version,
    )
    return PlatformEvent(
        event_id,
        occurred_at,
        Subject.CUSTOMER,
        local_id,
        customers=[customer],
        points_known=loyalty_points is not None,
    )
