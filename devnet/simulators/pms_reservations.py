"""Reservation rules of the simulated PMS, applied to the shared `LocationStore`.

A stay spans several local dates (15:00 on arrival to 11:00 on departure), which the
store's own create/reschedule refuse: they require a booking to fit inside one day's
opening hours. So the room-overlap check is done here, on the store's data, inside
`store.once` (which holds the store's lock), keeping "a room is never double-booked"
and idempotent replays. Reads take the store's locked snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from devnet.simulators.pms_payloads import check_stay, stay_bounds, stay_dates
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import (
    ACTIVE_STATUSES,
    StoredBooking,
    StoredCustomer,
    StoredResource,
    StoredService,
    StoreError,
    check_version,
)


@dataclass(frozen=True, slots=True)
class StayRequest:
    room_type_id: str
    room_id: str | None
    check_in: date
    check_out: date
    guest_id: str | None
    guest: dict[str, Any]
    total_minor: int | None  # None: nights times the room type's rate
    currency: str
    notes: str = ""
    external_reference: str | None = None
    status: str = "confirmed"


def _room_type(store: LocationStore, room_type_id: str) -> StoredService:
    room_type = store.services.get(room_type_id)
    if room_type is None or not room_type.is_active:
        raise StoreError("NOT_FOUND", f"no room type {room_type_id}")
    return room_type


def _pick_room(
    store: LocationStore,
    room_type: StoredService,
    wanted: str | None,
    start: datetime,
    end: datetime,
    *,
    ignore: str | None = None,
    fallback: bool = False,
) -> str:
    """The wanted room if free; otherwise (no room asked for, or `fallback`) any free room of the type."""
    if wanted is not None:
        room = store.resources.get(wanted)
        if room is None:
            raise StoreError("NOT_FOUND", f"no room {wanted}")
        if room_type.skill is not None and room.skill != room_type.skill:
            raise StoreError("INVALID_INPUT", f"room {room.name} is not a {room_type.name} room")
        if store.is_free(wanted, start, end, ignore):
            return wanted
        if not fallback:
            raise StoreError("SLOT_UNAVAILABLE", f"room {room.name} is taken for those nights")
    for room in sorted(store.eligible_resources(room_type), key=lambda room: room.local_id):
        if store.is_free(room.local_id, start, end, ignore):
            return room.local_id
    raise StoreError("SLOT_UNAVAILABLE", f"no {room_type.name} room is free for those nights")


def _guest_for(store: LocationStore, guest_id: str | None, details: dict[str, Any]) -> str:
    if guest_id is not None and guest_id in store.customers:
        return guest_id
    if not (details.get("first_name") or details.get("last_name")):
        raise StoreError("INVALID_INPUT", "an unknown guest needs guest details with a name")
    return store.new_customer(details).local_id


def _scoped(operation: str, key: str | None) -> str | None:
    # The store keeps one key space; a key is the client's for one kind of write.
    return None if key is None else f"pms:{operation}:{key}"


def create_reservation(store: LocationStore, key: str | None, stay: StayRequest) -> StoredBooking:
    nights = check_stay(stay.check_in, stay.check_out)
    start, end = stay_bounds(store.zone, stay.check_in, stay.check_out)

    def apply() -> StoredBooking:
        room_type = _room_type(store, stay.room_type_id)
        if stay.currency != store.currency:
            raise StoreError("INVALID_INPUT", f"rates here are in {store.currency}")
        room_id = _pick_room(store, room_type, stay.room_id, start, end)
        booking = StoredBooking(
            local_id=store.new_id("booking"),
            local_customer_id=_guest_for(store, stay.guest_id, stay.guest),
            local_service_id=room_type.local_id,
            local_resource_id=room_id,
            start_at=start,
            end_at=end,
            status=stay.status,
            price_minor=stay.total_minor if stay.total_minor is not None else nights * room_type.price_minor,
            currency=stay.currency,
            notes=stay.notes,
            global_id=stay.external_reference,
            updated_at=store.stamp(),
        )
        store.bookings[booking.local_id] = booking
        return replace(booking)

    return store.once(_scoped("create-reservation", key), apply)


def modify_reservation(
    store: LocationStore,
    key: str | None,
    booking_id: str,
    *,
    check_in: date | None,
    check_out: date | None,
    room_id: str | None,
    expected_version: int | None = None,
) -> StoredBooking:
    """New dates and/or room. Without a room asked for, the guest keeps theirs if it is free, else gets another."""

    def apply() -> StoredBooking:
        booking = store.bookings.get(booking_id)
        if booking is None:
            raise StoreError("NOT_FOUND", f"no reservation {booking_id}")
        check_version(booking, expected_version, "reservation")
        if booking.status not in ACTIVE_STATUSES:
            raise StoreError("CONFLICT", f"a {booking.status} reservation cannot be changed")
        old_in, old_out = stay_dates(store.zone, booking.start_at, booking.end_at)
        new_in, new_out = check_in or old_in, check_out or old_out
        nights = check_stay(new_in, new_out)
        start, end = stay_bounds(store.zone, new_in, new_out)
        room_type = _room_type(store, booking.local_service_id)
        wanted = room_id or booking.local_resource_id
        chosen = _pick_room(store, room_type, wanted, start, end, ignore=booking.local_id, fallback=room_id is None)
        old_nights = max(1, (old_out - old_in).days)
        # Keep the rate the guest booked at, whatever the room type costs today.
        booking.price_minor = booking.price_minor * nights // old_nights
        booking.start_at, booking.end_at, booking.local_resource_id = start, end, chosen
        store.touch(booking)
        return replace(booking)

    return store.once(_scoped("modify-reservation", key), apply)


def cancel_reservation(
    store: LocationStore, key: str | None, booking_id: str, reason: str, expected_version: int | None = None
) -> StoredBooking:
    return store.cancel_booking(
        key=_scoped("cancel-reservation", key), local_id=booking_id, reason=reason, expected_version=expected_version
    )


def upsert_guest(
    store: LocationStore,
    key: str | None,
    guest_id: str | None,
    details: dict[str, Any],
    expected_version: int | None = None,
) -> StoredCustomer:
    operation = "create-guest" if guest_id is None else "update-guest"
    return store.upsert_customer(
        key=_scoped(operation, key), local_id=guest_id, details=details, expected_version=expected_version
    )


def free_rooms(store: LocationStore, room_type: StoredService, check_in: date, check_out: date) -> list[StoredResource]:
    start, end = stay_bounds(store.zone, check_in, check_out)
    rooms = sorted(store.eligible_resources(room_type), key=lambda room: room.local_id)
    return [room for room in rooms if store.is_free(room.local_id, start, end)]
