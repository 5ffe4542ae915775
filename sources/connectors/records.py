"""The gateway's view of a location's own records, in that location's local ids.

Connectors turn each API's payloads into these and back; everything above the
connectors (refresh, writes, availability) speaks only these types. Times are
timezone-aware UTC, money is integer minor units with a currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sources.cache.payments import PaymentReport


@dataclass(frozen=True, slots=True)
class LocationHealth:
    status: str  # online|degraded (offline is what the gateway concludes when it cannot ask)
    version: str | None
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class RemoteService:
    local_id: str
    name: str
    category: str
    skill: str | None
    duration_minutes: int
    price_minor: int
    currency: str
    is_active: bool = True
    version: int = 1
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RemoteResource:
    local_id: str
    kind: str  # staff|room|equipment
    name: str
    title: str
    skill: str | None
    capacity: int = 1
    is_active: bool = True
    version: int = 1
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RemoteCustomer:
    local_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    loyalty_points: int
    updated_at: datetime
    # The location's version token: it changes with every change the location makes to the record.
    version: int = 1


@dataclass(frozen=True, slots=True)
class RemoteBooking:
    local_id: str
    local_customer_id: str
    local_service_id: str
    local_resource_id: str | None
    start_at: datetime
    end_at: datetime
    status: str  # pending|confirmed|completed|cancelled|no_show
    price_minor: int
    currency: str
    notes: str
    version: int
    updated_at: datetime
    # The gateway's id when the booking was made through the gateway; None when made at the location.
    global_id: str | None = None
    # What the source says beyond the fields above, kept as it says it (Booking.source_details); None: nothing.
    details: dict[str, Any] | None = None
    # What the location says of the customer's payment; None: it says nothing (the last report stands).
    payment: PaymentReport | None = None


@dataclass(frozen=True, slots=True)
class RemoteStockLevel:
    sku: str
    quantity: int
    reserved: int
    reorder_point: int
    expires_on: date | None
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True)
class Slot:
    """A free start time for a service on one resource (a resource lent in counts too)."""

    local_service_id: str
    local_resource_id: str
    start_at: datetime
    end_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerDetails:
    """A customer as the gateway sends it to a location that does not know them yet (or to update)."""

    global_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    preferences: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BookingRequest:
    global_id: str
    idempotency_key: str
    customer: CustomerDetails
    local_customer_id: str | None  # None: the location creates the customer and returns its id
    local_service_id: str
    local_resource_id: str | None  # None: the location picks a free resource
    start_at: datetime
    end_at: datetime
    price_minor: int
    currency: str
    notes: str = ""
    originating_location_id: str | None = None


@dataclass(frozen=True, slots=True)
class BookingAck:
    local_id: str
    local_customer_id: str
    local_resource_id: str | None
    status: str
    version: int


@dataclass(frozen=True, slots=True)
class StockAck:
    sku: str
    quantity: int
    reserved: int


@dataclass(frozen=True, slots=True)
class CustomerAck:
    """A customer write a location applied: its id for the customer and the record's new version token."""

    local_id: str
    version: int


class EntityType(StrEnum):
    """What a delta pull asks a location for (spec sync_priority_order names; sync cursors and jobs store them).

    The same kinds of data, one record at a time, are named by `RecordType`; which record types each
    pulled type brings is the sync engine's entity table (`sync.apply.registry`).
    """

    CUSTOMERS = "customers"
    # Before bookings: a page of bookings names customers, services and resources; a location's first pull
    # must bring all three before its bookings can land (and a new booking is priced from the catalogue).
    SERVICES = "services"
    RESOURCES = "resources"
    BOOKINGS = "bookings"
    INVENTORY = "inventory"


class RecordType(StrEnum):
    """What one cached record is, as the change log, sync states, conflicts, the outbox and audit name it."""

    CUSTOMER = "customer"
    CUSTOMER_MAPPING = "customer_mapping"  # a customer's id at one location
    BOOKING = "booking"
    SERVICE = "service"
    RESOURCE = "resource"
    STOCK_LEVEL = "stock_level"  # one item at one location; its id is `<item id>@<location id>`


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a delta pull stopped: the last record seen, ordered by (changed_at, key).

    The next page holds records strictly after this pair, so records sharing one
    timestamp are neither skipped nor repeated. `key` is the local id (the sku for stock).
    """

    changed_at: datetime
    key: str


RemoteRecord = RemoteCustomer | RemoteService | RemoteBooking | RemoteResource | RemoteStockLevel


@dataclass(frozen=True, slots=True)
class ChangePage:
    """One page of a delta pull, ordered by (updated_at, key); `next_cursor` is the last record's position.

    `complete`: the page is the location's whole list (an API with no change feed for the type answers
    with everything it has), so what it does not name is gone there, as after a full pull.
    """

    records: list[RemoteRecord]
    next_cursor: Cursor | None
    has_more: bool
    complete: bool = False
