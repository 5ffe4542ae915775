"""The one interface every kind of location is reached through."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from sources.connectors.records import (
    BookingAck,
    BookingRequest,
    ChangePage,
    Cursor,
    CustomerAck,
    CustomerDetails,
    EntityType,
    LocationHealth,
    RemoteBooking,
    RemoteCustomer,
    RemoteResource,
    RemoteService,
    RemoteStockLevel,
    Slot,
    StockAck,
)


class Capability(StrEnum):
    """What a kind of location can do; validation checks these before anything is written."""

    READ_CATALOG = "read_catalog"  # services and resources
    READ_BOOKINGS = "read_bookings"
    READ_CUSTOMERS = "read_customers"
    READ_STOCK = "read_stock"
    AVAILABILITY = "availability"
    CREATE_BOOKING = "create_booking"
    CHANGE_BOOKING = "change_booking"  # reschedule and cancel
    WRITE_CUSTOMERS = "write_customers"  # update and merge
    SHARE_RESOURCES = "share_resources"
    WRITE_STOCK = "write_stock"  # adjust, reserve, release, transfer


@dataclass(frozen=True, slots=True)
class ConnectorConfig:
    """How to reach one location. `credentials` holds what its kind needs (api key, client secret...)."""

    location_id: str
    kind: str
    base_url: str
    credentials: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float = 5.0
    max_attempts: int = 3
    backoff_base_seconds: float = 0.05
    backoff_max_seconds: float = 2.0
    retry_after_max_seconds: float = 5.0
    breaker_failure_threshold: int = 5
    breaker_reset_seconds: float = 10.0
    extra: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    """A live location. Every method raises only `sources.connectors.errors` exceptions.

    Writes carry the gateway's idempotency key so a retried delivery (outbox, network
    retry) is applied once by the location.
    """

    @property
    def location_id(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    async def check_health(self) -> LocationHealth: ...

    async def list_services(self) -> list[RemoteService]: ...

    async def list_resources(self) -> list[RemoteResource]: ...

    async def list_bookings(self, changed_since: datetime | None) -> list[RemoteBooking]: ...

    async def list_customers(self, changed_since: datetime | None) -> list[RemoteCustomer]: ...

    async def list_stock(self) -> list[RemoteStockLevel]: ...

    async def pull_changes(self, entity_type: EntityType, after: Cursor | None, limit: int) -> ChangePage:
        """Records of one type changed after `after` (None: from the beginning), oldest first, at most `limit`.

        Raises OperationNotSupported when the location cannot be asked for that type.
        """
        ...

    async def availability(self, local_service_id: str, start_at: datetime, end_at: datetime) -> list[Slot]: ...

    async def create_booking(self, request: BookingRequest) -> BookingAck: ...

    async def reschedule_booking(
        self,
        local_id: str,
        start_at: datetime,
        end_at: datetime,
        local_resource_id: str | None,
        idempotency_key: str,
        expected_version: int | None = None,
    ) -> BookingAck: ...

    async def cancel_booking(
        self, local_id: str, reason: str, idempotency_key: str, expected_version: int | None = None
    ) -> BookingAck: ...

    async def upsert_customer(
        self, local_id: str | None, details: CustomerDetails, idempotency_key: str, expected_version: int | None = None
    ) -> CustomerAck:
        """Create or update; the location's id for the customer and the record's new version.

        With `expected_version`, an update is refused with STALE_VERSION when the location's
        record has another version (it changed since the gateway last saw it).
        """
        ...

    async def merge_customers(self, keep_local_id: str, remove_local_id: str, idempotency_key: str) -> None: ...

    async def share_resource(
        self, local_resource_id: str, with_location_id: str, rules: dict[str, Any], idempotency_key: str
    ) -> None: ...

    async def unshare_resource(self, local_resource_id: str, with_location_id: str, idempotency_key: str) -> None: ...

    async def change_stock(
        self, sku: str, delta: int, reason: str, reference: str, idempotency_key: str
    ) -> StockAck: ...

    async def reserve_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck: ...

    async def release_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class SendsBookingWebhooks(Protocol):
    """A location told of a booking's changes by a webhook event of its own protocol (a OneBooking website's
    `booking.updated` / `booking.status_changed`), beyond the Connector's cancel and reschedule: what a change
    the Connector has no method for (an admin's notes) or a test event goes out through."""

    async def send_booking_webhook(
        self, event: str, local_id: str, data: dict[str, str], idempotency_key: str, updated_by: str
    ) -> None: ...
