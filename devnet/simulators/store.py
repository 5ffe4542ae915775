"""A location's own booking system: what every simulated location keeps, whatever API it speaks.

The rules are a real site's: a resource is never double-booked, a booking fits the
opening hours, stock never goes below what is reserved, a retried write with the same
idempotency key is applied once. Methods are synchronous and locked: the location's
HTTP app and a test poking the store from another thread never interleave a write.

Every change stamps the record with a new version and an `updated_at` from a clock that
never repeats or goes back within the store, so a change made after a delta pull always
sorts after everything that pull saw. Writes may name the version they expect
(`expected_version`) and are refused with STALE_VERSION when the record moved on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from devnet.simulators.store_feed import ENTITY_TYPES, FeedCursor, after_cursor
from devnet.simulators.store_records import (
    ACTIVE_STATUSES,
    OpeningHours,
    StoredBooking,
    StoredCustomer,
    StoredResource,
    StoredService,
    StoredStock,
    StoreError,
    Versioned,
    check_version,
)
from devnet.simulators.store_slots import grid, overlaps, within_opening_hours
from devnet.simulators.store_staff import SiteStaff
from sources.cache.types import utc_now

T = TypeVar("T")


class LocationStore(SiteStaff):
    def __init__(
        self,
        location_id: str,
        *,
        timezone: str,
        currency: str,
        opening_hours: OpeningHours | None,
        new_id: Callable[[str], str],
    ) -> None:
        self.location_id = location_id
        self.zone = ZoneInfo(timezone)
        self.currency = currency
        self.opening_hours: OpeningHours = opening_hours or [[0, 24]] * 7
        self.new_id = new_id
        self.services: dict[str, StoredService] = {}
        self.resources: dict[str, StoredResource] = {}
        self.customers: dict[str, StoredCustomer] = {}
        self.bookings: dict[str, StoredBooking] = {}
        self.stock: dict[str, StoredStock] = {}
        self.shares: dict[tuple[str, str], dict[str, Any]] = {}  # (local resource id, borrower) -> rules
        self.write_count = 0  # writes actually applied (a replayed idempotency key does not count)
        self._applied: dict[str, Any] = {}  # idempotency key -> result of the first application
        self._lock = threading.RLock()
        self._last_stamp: datetime | None = None

    # -- versions ----------------------------------------------------------------------------
    def stamp(self) -> datetime:
        """Now, but strictly later than any stamp this store gave before (two changes never tie)."""
        with self._lock:
            now = utc_now()
            if self._last_stamp is not None and now <= self._last_stamp:
                now = self._last_stamp + timedelta(microseconds=1)
            self._last_stamp = now
            return now

    def touch(self, record: Versioned) -> None:
        """Record that the location changed `record`: a new version, a new `updated_at`."""
        with self._lock:
            record.version += 1
            record.updated_at = self.stamp()

    # -- idempotency -------------------------------------------------------------------------
    def once(self, key: str | None, apply: Callable[[], T]) -> T:
        """Apply a write once per idempotency key; a replay returns the first result."""
        with self._lock:
            if key is not None and key in self._applied:
                result: T = self._applied[key]
                return result
            result = apply()
            self.write_count += 1
            if key is not None:
                self._applied[key] = result
            return result

    # -- bookings ----------------------------------------------------------------------------
    def is_free(self, resource_id: str, start: datetime, end: datetime, ignore: str | None = None) -> bool:
        """No active booking on the resource overlaps [start, end) (a booking may end when the next starts)."""
        with self._lock:
            return not overlaps(self.bookings.values(), resource_id, start, end, ignore)

    def eligible_resources(self, service: StoredService) -> list[StoredResource]:
        return [
            resource
            for resource in self.resources.values()
            if resource.is_active and (service.skill is None or resource.skill == service.skill)
        ]

    def _check_slot(
        self, service: StoredService, resource_id: str | None, start: datetime, end: datetime, ignore: str | None = None
    ) -> str:
        if end <= start:
            raise StoreError("INVALID_INPUT", "the booking ends before it starts")
        if not within_opening_hours(self.zone, self.opening_hours, start, end):
            raise StoreError("SLOT_UNAVAILABLE", "outside opening hours")
        if resource_id is not None:
            resource = self.resources.get(resource_id)
            if resource is None:
                raise StoreError("NOT_FOUND", f"no resource {resource_id}")
            if overlaps(self.bookings.values(), resource_id, start, end, ignore):
                raise StoreError("SLOT_UNAVAILABLE", f"{resource.name} is already booked then")
            return resource_id
        for resource in self.eligible_resources(service):
            if not overlaps(self.bookings.values(), resource.local_id, start, end, ignore):
                return resource.local_id
        raise StoreError("SLOT_UNAVAILABLE", "no one is free then")

    def create_booking(
        self,
        *,
        key: str | None,
        local_customer_id: str | None,
        customer: dict[str, Any],
        local_service_id: str,
        local_resource_id: str | None,
        start_at: datetime,
        end_at: datetime,
        price_minor: int,
        currency: str,
        notes: str = "",
        global_id: str | None = None,
        status: str = "confirmed",
    ) -> StoredBooking:
        def apply() -> StoredBooking:
            service = self.services.get(local_service_id)
            if service is None or not service.is_active:
                raise StoreError("NOT_FOUND", f"no service {local_service_id}")
            if currency != self.currency:
                raise StoreError("INVALID_INPUT", f"prices here are in {self.currency}")
            resource_id = self._check_slot(service, local_resource_id, start_at, end_at)
            customer_id = local_customer_id
            if customer_id is None or customer_id not in self.customers:
                customer_id = self.new_customer(customer).local_id
            booking = StoredBooking(
                local_id=self.new_id("booking"),
                local_customer_id=customer_id,
                local_service_id=local_service_id,
                local_resource_id=resource_id,
                start_at=start_at,
                end_at=end_at,
                status=status,
                price_minor=price_minor,
                currency=currency,
                notes=notes,
                global_id=global_id,
                updated_at=self.stamp(),
            )
            self.bookings[booking.local_id] = booking
            return replace(booking)

        return self.once(key, apply)

    def _booking(self, local_id: str) -> StoredBooking:
        booking = self.bookings.get(local_id)
        if booking is None:
            raise StoreError("NOT_FOUND", f"no booking {local_id}")
        return booking

    def reschedule_booking(
        self,
        *,
        key: str | None,
        local_id: str,
        start_at: datetime,
        end_at: datetime,
        local_resource_id: str | None,
        expected_version: int | None = None,
    ) -> StoredBooking:
        def apply() -> StoredBooking:
            booking = self._booking(local_id)
            check_version(booking, expected_version, "booking")
            if booking.status not in ACTIVE_STATUSES:
                raise StoreError("CONFLICT", f"a {booking.status} booking cannot be moved")
            service = self.services.get(booking.local_service_id)
            if service is None:
                raise StoreError("CONFLICT", f"service {booking.local_service_id} is no longer offered here")
            resource_id = self._check_slot(
                service, local_resource_id or booking.local_resource_id, start_at, end_at, ignore=local_id
            )
            booking.start_at, booking.end_at, booking.local_resource_id = start_at, end_at, resource_id
            self.touch(booking)
            return replace(booking)

        return self.once(key, apply)

    def cancel_booking(
        self, *, key: str | None, local_id: str, reason: str = "", expected_version: int | None = None
    ) -> StoredBooking:
        def apply() -> StoredBooking:
            booking = self._booking(local_id)
            check_version(booking, expected_version, "booking")
            if booking.status == "cancelled":
                return replace(booking)
            if booking.status not in ACTIVE_STATUSES:
                raise StoreError("CONFLICT", f"a {booking.status} booking cannot be cancelled")
            booking.status = "cancelled"
            if reason:
                booking.notes = f"{booking.notes}\ncancelled: {reason}".strip()
            self.touch(booking)
            return replace(booking)

        return self.once(key, apply)

    def free_slots(self, local_service_id: str, start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
        """(resource, start, end) for every free start on a 15-minute grid inside opening hours."""
        with self._lock:
            service = self.services.get(local_service_id)
            if service is None:
                raise StoreError("NOT_FOUND", f"no service {local_service_id}")
            duration = timedelta(minutes=service.duration_minutes)
            resources = self.eligible_resources(service)
            slots: list[tuple[str, datetime, datetime]] = []
            for slot_start, slot_end in grid(self.zone, self.opening_hours, start, end, duration):
                for resource in resources:
                    if not overlaps(self.bookings.values(), resource.local_id, slot_start, slot_end):
                        slots.append(
                            (resource.local_id, slot_start.astimezone(start.tzinfo), slot_end.astimezone(start.tzinfo))
                        )
            return slots

    # -- customers ---------------------------------------------------------------------------
    def new_customer(self, details: dict[str, Any]) -> StoredCustomer:
        """Add a customer (call inside a write: `once` holds the lock)."""
        customer = StoredCustomer(
            local_id=self.new_id("customer"),
            first_name=details.get("first_name", ""),
            last_name=details.get("last_name", ""),
            email=details.get("email"),
            phone=details.get("phone"),
            preferences=dict(details.get("preferences") or {}),
            global_id=details.get("global_id"),
            updated_at=self.stamp(),
        )
        self.customers[customer.local_id] = customer
        return customer

    def upsert_customer(
        self,
        *,
        key: str | None,
        local_id: str | None,
        details: dict[str, Any],
        expected_version: int | None = None,
    ) -> StoredCustomer:
        def apply() -> StoredCustomer:
            if local_id is None:
                return replace(self.new_customer(details))
            customer = self.customers.get(local_id)
            if customer is None:
                raise StoreError("NOT_FOUND", f"no customer {local_id}")
            check_version(customer, expected_version, "customer")
            for name in ("first_name", "last_name", "email", "phone", "preferences", "global_id"):
                if name in details:
                    setattr(customer, name, details[name])
            self.touch(customer)
            return replace(customer)

        return self.once(key, apply)

    def merge_customers(self, *, key: str | None, keep_local_id: str, remove_local_id: str) -> StoredCustomer:
        def apply() -> StoredCustomer:
            keep = self.customers.get(keep_local_id)
            remove = self.customers.get(remove_local_id)
            if keep is None or remove is None:
                raise StoreError("NOT_FOUND", "both customers must exist here")
            for booking in self.bookings.values():
                if booking.local_customer_id == remove_local_id:
                    booking.local_customer_id = keep_local_id
                    self.touch(booking)
            keep.loyalty_points += remove.loyalty_points
            self.touch(keep)
            del self.customers[remove_local_id]
            return replace(keep)

        return self.once(key, apply)

    # -- resources ---------------------------------------------------------------------------
    def share_resource(
        self, *, key: str | None, local_resource_id: str, with_location: str, rules: dict[str, Any]
    ) -> None:
        def apply() -> None:
            if local_resource_id not in self.resources:
                raise StoreError("NOT_FOUND", f"no resource {local_resource_id}")
            self.shares[(local_resource_id, with_location)] = dict(rules)

        self.once(key, apply)

    def unshare_resource(self, *, key: str | None, local_resource_id: str, with_location: str) -> None:
        def apply() -> None:
            self.shares.pop((local_resource_id, with_location), None)

        self.once(key, apply)

    # -- stock -------------------------------------------------------------------------------
    def _stock(self, sku: str) -> StoredStock:
        level = self.stock.get(sku)
        if level is None:
            raise StoreError("NOT_FOUND", f"no stock of {sku} here")
        return level

    def change_stock(self, *, key: str | None, sku: str, delta: int, create: bool = False) -> StoredStock:
        def apply() -> StoredStock:
            if create and sku not in self.stock:
                self.stock[sku] = StoredStock(sku=sku, quantity=0, updated_at=self.stamp(), version=0)
            level = self._stock(sku)
            if level.quantity + delta < level.reserved:
                raise StoreError("INSUFFICIENT_STOCK", f"only {level.quantity - level.reserved} of {sku} free")
            level.quantity += delta
            self.touch(level)
            return replace(level)

        return self.once(key, apply)

    def reserve_stock(self, *, key: str | None, sku: str, quantity: int) -> StoredStock:
        def apply() -> StoredStock:
            level = self._stock(sku)
            if level.reserved + quantity > level.quantity:
                raise StoreError("INSUFFICIENT_STOCK", f"only {level.quantity - level.reserved} of {sku} free")
            level.reserved += quantity
            self.touch(level)
            return replace(level)

        return self.once(key, apply)

    def release_stock(self, *, key: str | None, sku: str, quantity: int) -> StoredStock:
        def apply() -> StoredStock:
            level = self._stock(sku)
            if quantity > level.reserved:
                raise StoreError("INVALID_INPUT", f"only {level.reserved} of {sku} reserved")
            level.reserved -= quantity
            self.touch(level)
            return replace(level)

        return self.once(key, apply)

    # -- reads -------------------------------------------------------------------------------
    def bookings_changed_since(self, since: datetime | None) -> list[StoredBooking]:
        with self._lock:
            return [replace(b) for b in self.bookings.values() if since is None or b.updated_at >= since]

    def customers_changed_since(self, since: datetime | None) -> list[StoredCustomer]:
        with self._lock:
            return [replace(c) for c in self.customers.values() if since is None or c.updated_at >= since]

    def snapshot_stock(self) -> list[StoredStock]:
        with self._lock:
            return [replace(level) for level in self.stock.values()]

    def changes_after(self, entity_type: str, after: FeedCursor | None, limit: int) -> list[Versioned]:
        """At most `limit` records of one kind ordered by (updated_at, key), strictly after `after`.

        `entity_type` is customers|services|bookings|resources|inventory; the key is the local id
        (the sku for stock). Lent-in resources are listed too (`owned` False).
        """
        if entity_type not in ENTITY_TYPES:
            raise StoreError("INVALID_INPUT", f"no such entity type {entity_type!r}")
        with self._lock:
            kinds: dict[str, dict[str, Any]] = {
                "customers": self.customers,
                "services": self.services,
                "bookings": self.bookings,
                "resources": self.resources,
                "inventory": self.stock,
            }
            return after_cursor(kinds[entity_type].values(), after, limit)
