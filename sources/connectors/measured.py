"""Every call to a location counted, timed and its failures classified: the registry hands out connectors
wrapped in this, so each call through the Connector protocol is measured once, whatever kind the location is
and whoever calls (reads, live refresh, the outbox, sync pulls, heartbeats).

Per location and connector operation (the protocol's method: `create_booking`, `pull_changes`...): calls,
their duration (retries and backoff included: what the caller waited), and errors by kind: `unavailable`
(refused, timed out, 5xx: worth retrying), `circuit_open` (refused locally by the breaker), `rejected` (the
location said no), `not_supported` (no such operation at this kind), `error` (anything else). A cancelled
call (the caller's deadline) is timed but not an error: the location was not found wanting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from observability.metrics import Metrics
from sources.connectors.base import Capability, Connector
from sources.connectors.errors import CircuitOpen, LocationUnavailable, OperationNotSupported, UpstreamRejected
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

T = TypeVar("T")

# Operations some kinds have beyond the protocol (sources.connectors.base.SendsBookingWebhooks): measured too.
EXTRA_OPERATIONS = frozenset({"send_booking_webhook"})


def error_kind(error: BaseException) -> str:
    if isinstance(error, CircuitOpen):
        return "circuit_open"
    if isinstance(error, LocationUnavailable):
        return "unavailable"
    if isinstance(error, UpstreamRejected):
        return "rejected"
    if isinstance(error, OperationNotSupported):
        return "not_supported"
    return "error"


class MeasuredConnector:
    """A connector whose every operation is recorded in `metrics`; anything else is the inner connector's."""

    def __init__(self, inner: Connector, metrics: Metrics) -> None:
        self.inner = inner
        self._metrics = metrics

    async def _measured(self, operation: str, call: Awaitable[T]) -> T:
        location = self.inner.location_id
        metrics = self._metrics
        started = time.perf_counter()
        try:
            return await call
        except asyncio.CancelledError:
            raise
        except Exception as error:
            metrics.connector_errors.labels(location, operation, error_kind(error)).inc()
            raise
        finally:
            metrics.connector_calls.labels(location, operation).inc()
            metrics.connector_duration.labels(location, operation).observe(time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        # Only called for what this class lacks: the kind's own extras (breaker_state, send_booking_webhook...),
        # so a runtime_checkable protocol check sees exactly what the inner connector has.
        attribute = getattr(self.inner, name)
        if name in EXTRA_OPERATIONS and callable(attribute):
            method: Callable[..., Awaitable[Any]] = attribute
            return lambda *args, **kwargs: self._measured(name, method(*args, **kwargs))
        return attribute

    @property
    def location_id(self) -> str:
        return self.inner.location_id

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.inner.capabilities

    async def check_health(self) -> LocationHealth:
        return await self._measured("check_health", self.inner.check_health())

    async def list_services(self) -> list[RemoteService]:
        return await self._measured("list_services", self.inner.list_services())

    async def list_resources(self) -> list[RemoteResource]:
        return await self._measured("list_resources", self.inner.list_resources())

    async def list_bookings(self, changed_since: datetime | None) -> list[RemoteBooking]:
        return await self._measured("list_bookings", self.inner.list_bookings(changed_since))

    async def list_customers(self, changed_since: datetime | None) -> list[RemoteCustomer]:
        return await self._measured("list_customers", self.inner.list_customers(changed_since))

    async def list_stock(self) -> list[RemoteStockLevel]:
        return await self._measured("list_stock", self.inner.list_stock())

    async def pull_changes(self, entity_type: EntityType, after: Cursor | None, limit: int) -> ChangePage:
        return await self._measured("pull_changes", self.inner.pull_changes(entity_type, after, limit))

    async def availability(self, local_service_id: str, start_at: datetime, end_at: datetime) -> list[Slot]:
        return await self._measured("availability", self.inner.availability(local_service_id, start_at, end_at))

    async def create_booking(self, request: BookingRequest) -> BookingAck:
        return await self._measured("create_booking", self.inner.create_booking(request))

    async def reschedule_booking(
        self,
        local_id: str,
        start_at: datetime,
        end_at: datetime,
        local_resource_id: str | None,
        idempotency_key: str,
        expected_version: int | None = None,
    ) -> BookingAck:
        call = self.inner.reschedule_booking(
            local_id, start_at, end_at, local_resource_id, idempotency_key, expected_version
        )
        return await self._measured("reschedule_booking", call)

    async def cancel_booking(
        self, local_id: str, reason: str, idempotency_key: str, expected_version: int | None = None
    ) -> BookingAck:
        call = self.inner.cancel_booking(local_id, reason, idempotency_key, expected_version)
        return await self._measured("cancel_booking", call)

    async def upsert_customer(
        self, local_id: str | None, details: CustomerDetails, idempotency_key: str, expected_version: int | None = None
    ) -> CustomerAck:
        call = self.inner.upsert_customer(local_id, details, idempotency_key, expected_version)
        return await self._measured("upsert_customer", call)

    async def merge_customers(self, keep_local_id: str, remove_local_id: str, idempotency_key: str) -> None:
        await self._measured(
            "merge_customers", self.inner.merge_customers(keep_local_id, remove_local_id, idempotency_key)
        )

    async def share_resource(
        self, local_resource_id: str, with_location_id: str, rules: dict[str, Any], idempotency_key: str
    ) -> None:
        call = self.inner.share_resource(local_resource_id, with_location_id, rules, idempotency_key)
        await self._measured("share_resource", call)

    async def unshare_resource(self, local_resource_id: str, with_location_id: str, idempotency_key: str) -> None:
        call = self.inner.unshare_resource(local_resource_id, with_location_id, idempotency_key)
        await self._measured("unshare_resource", call)

    async def change_stock(self, sku: str, delta: int, reason: str, reference: str, idempotency_key: str) -> StockAck:
        return await self._measured(
            "change_stock", self.inner.change_stock(sku, delta, reason, reference, idempotency_key)
        )

    async def reserve_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck:
        call = self.inner.reserve_stock(sku, quantity, reference, idempotency_key)
        return await self._measured("reserve_stock", call)

    async def release_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck:
        call = self.inner.release_stock(sku, quantity, reference, idempotency_key)
        return await self._measured("release_stock", call)

    async def aclose(self) -> None:
        await self.inner.aclose()
