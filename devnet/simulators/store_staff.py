"""What a site's own staff do to its records, through no API (tests play them).

Each change gets a new version and `updated_at`, as any change the location makes; a
deletion leaves no trace a delta pull could show.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from typing import Any

from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredService, StoreError, Versioned


class SiteStaff:
    """Mixed into LocationStore, which holds the records, the lock and the versioning."""

    customers: dict[str, StoredCustomer]
    bookings: dict[str, StoredBooking]
    services: dict[str, StoredService]
    _lock: threading.RLock

    def stamp(self) -> datetime:
        raise NotImplementedError

    def touch(self, record: Versioned) -> None:
        raise NotImplementedError

    def _booking(self, local_id: str) -> StoredBooking:
        raise NotImplementedError

    def edit_customer(self, local_id: str, **fields: Any) -> StoredCustomer:
        """A change made at the location itself, through no API: a new version and `updated_at`."""
        with self._lock:
            customer = self.customers.get(local_id)
            if customer is None:
                raise StoreError("NOT_FOUND", f"no customer {local_id}")
            self._edit(customer, fields)
            return replace(customer)

    def edit_booking(self, local_id: str, **fields: Any) -> StoredBooking:
        with self._lock:
            booking = self._booking(local_id)
            self._edit(booking, fields)
            return replace(booking)

    def _edit(self, record: StoredCustomer | StoredBooking, fields: dict[str, Any]) -> None:
        unknown = [
            name for name in fields if name in ("local_id", "version", "updated_at") or not hasattr(record, name)
        ]
        if unknown:
            raise StoreError("INVALID_INPUT", f"cannot edit {', '.join(unknown)}")
        for name, value in fields.items():
            setattr(record, name, value)
        self.touch(record)

    def take_payment(self, local_id: str, paid_minor: int | None = None) -> StoredBooking:
        """The customer pays at the site (the booking's price unless said): its API reports `paid` from now."""
        with self._lock:
            booking = self._booking(local_id)
            paid = booking.price_minor if paid_minor is None else paid_minor
            self._edit(booking, {"payment_status": "paid", "paid_minor": paid})
            return replace(booking)

    def refund_booking(self, local_id: str) -> StoredBooking:
        """The site refunds the customer and cancels the booking."""
        with self._lock:
            booking = self._booking(local_id)
            self._edit(booking, {"payment_status": "refunded", "status": "cancelled"})
            return replace(booking)

    def delete_customer(self, local_id: str) -> None:
        """Gone without a trace, as a site's admin deleting a row: no delta will ever show it."""
        with self._lock:
            if self.customers.pop(local_id, None) is None:
                raise StoreError("NOT_FOUND", f"no customer {local_id}")

    def delete_booking(self, local_id: str) -> None:
        with self._lock:
            if self.bookings.pop(local_id, None) is None:
                raise StoreError("NOT_FOUND", f"no booking {local_id}")

    # -- services (what the site's staff change in its own admin; tests do it through these) ---
    def add_service(self, service: StoredService) -> StoredService:
        with self._lock:
            service.updated_at = self.stamp()
            self.services[service.local_id] = service
            return replace(service)

    def change_service(self, local_id: str, **fields: Any) -> StoredService:
        """Reprice, rename, recategorise or deactivate (`is_active=False`) one of the site's services."""
        with self._lock:
            service = self.services.get(local_id)
            if service is None:
                raise StoreError("NOT_FOUND", f"no service {local_id}")
            for name, value in fields.items():
                if not hasattr(service, name) or name in ("local_id", "version", "updated_at"):
                    raise StoreError("INVALID_INPUT", f"a service has no changeable field {name}")
                setattr(service, name, value)
            self.touch(service)
            return replace(service)

    def remove_service(self, local_id: str) -> None:
        """The site deletes the service: it leaves every list and feed (a full pull finds it gone)."""
        with self._lock:
            if self.services.pop(local_id, None) is None:
                raise StoreError("NOT_FOUND", f"no service {local_id}")
