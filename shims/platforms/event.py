"""What every platform's webhook comes down to, whatever its wire format: one event about one booking or one
customer at the platform location, with the records it carries (or, for a thin event, only the ids to fetch).

A platform is one `Platform`: its name in the path, how it signs (a `sync.webhooks.verify.Scheme` and the
headers it puts the signature and timestamp in), the pydantic model of its body, and the normaliser that turns
a validated body into a `PlatformEvent`. shims/platforms/registry.py holds the one table of them.
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
