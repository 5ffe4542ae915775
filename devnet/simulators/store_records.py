"""What a simulated location keeps: its records, and the refusal its rules raise.

Every record the location owns carries `version` (bumped on every change the location
applies, whoever asked for it) and `updated_at` (when that change happened): the two
things a delta pull and an optimistic write need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sources.cache.types import utc_now

OpeningHours = list[list[int] | None]  # Monday..Sunday: [open hour, close hour] local time, or closed
SLOT_STEP = timedelta(minutes=15)
ACTIVE_STATUSES = frozenset({"pending", "confirmed"})


class StoreError(Exception):
    """A write the location refuses; `code` is one of the connector RejectionCodes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class StoredService:
    local_id: str
    name: str
    category: str
    skill: str | None
    duration_minutes: int
    price_minor: int
    currency: str
    is_active: bool = True
    version: int = 1
    updated_at: datetime = field(default_factory=utc_now)


@dataclass
class StoredResource:
    local_id: str  # a resource lent in from another location is known by its network id
    kind: str
    name: str
    title: str
    skill: str | None
    capacity: int = 1
    is_active: bool = True
    owned: bool = True
    version: int = 1
    updated_at: datetime = field(default_factory=utc_now)


@dataclass
class StoredCustomer:
    local_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    loyalty_points: int = 0
    preferences: dict[str, Any] = field(default_factory=dict)
    global_id: str | None = None
    updated_at: datetime = field(default_factory=utc_now)
    version: int = 1


@dataclass
class StoredBooking:
    local_id: str
    local_customer_id: str
    local_service_id: str
    local_resource_id: str | None
    start_at: datetime
    end_at: datetime
    status: str
    price_minor: int
    currency: str
    notes: str = ""
    version: int = 1
    global_id: str | None = None
    updated_at: datetime = field(default_factory=utc_now)
    # What the site says of the customer's payment (unpaid|paid|refunded); None: it does not say.
    payment_status: str | None = None
    paid_minor: int = 0


@dataclass
class StoredStock:
    sku: str
    quantity: int
    reserved: int = 0
    reorder_point: int = 0
    expires_on: date | None = None
    updated_at: datetime = field(default_factory=utc_now)
    version: int = 1


Versioned = StoredService | StoredResource | StoredCustomer | StoredBooking | StoredStock


def check_version(record: StoredResource | StoredCustomer | StoredBooking, expected: int | None, what: str) -> None:
    """Refuse a write that names a version the record no longer has (someone changed it since)."""
    if expected is not None and expected != record.version:
        raise StoreError("STALE_VERSION", f"{what} {record.local_id} is at version {record.version}, not {expected}")
