"""Reading and writing the hotel PMS booking-engine JSON (see `devnet.simulators.pms` for the API).

Every reader raises `Malformed` on anything unexpected (missing field, wrong type, unknown
status, bad date or amount); the connector turns that into `LocationUnavailable`, so a
KeyError or ValueError never leaves the connector.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sources.connectors.errors import RejectionCode
from sources.connectors.records import (
    BookingAck,
    ChangePage,
    Cursor,
    CustomerAck,
    CustomerDetails,
    EntityType,
    RemoteBooking,
    RemoteCustomer,
    RemoteRecord,
    RemoteResource,
    RemoteService,
    Slot,
)

CHECK_IN_TIME = time(15, 0)
CHECK_OUT_TIME = time(11, 0)
# One night: arrival at check-in time, departure next day at check-out time.
NIGHT_MINUTES = (24 * 60) - (CHECK_IN_TIME.hour - CHECK_OUT_TIME.hour) * 60
MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3}
STATUS_FROM_PMS = {
    "hold": "pending",
    "provisory": "pending",
    "confirmed": "confirmed",
    "checked_in": "confirmed",
    "checked_out": "completed",
    "cancelled": "cancelled",
    "no_show": "no_show",
}
REJECTIONS = {
    "ROOM_UNAVAILABLE": RejectionCode.SLOT_UNAVAILABLE,
    "NOT_FOUND": RejectionCode.NOT_FOUND,
    "VALIDATION_ERROR": RejectionCode.INVALID_INPUT,
    "UNAUTHORIZED": RejectionCode.FORBIDDEN,
    "FORBIDDEN": RejectionCode.FORBIDDEN,
    "CONFLICT": RejectionCode.CONFLICT,
    "VERSION_CONFLICT": RejectionCode.STALE_VERSION,
}
# Our entity types -> the PMS's change feeds; a hotel keeps no stock.
FEEDS = {EntityType.CUSTOMERS: "guests", EntityType.BOOKINGS: "reservations", EntityType.RESOURCES: "rooms"}


class Malformed(Exception):
    """The PMS answered something this connector cannot read."""


# -- typed field access ----------------------------------------------------------------------
def as_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not an object")
    return value


def objects(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = body.get(name)
    if not isinstance(value, list):
        raise Malformed(f"{name} is not a list")
    return [as_object(item, f"an item of {name}") for item in value]


def string(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise Malformed(f"{name} is missing or not a string")
    return value


def optional_string(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise Malformed(f"{name} is not a string")
    return value


def integer(obj: dict[str, Any], name: str) -> int:
    value = obj.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Malformed(f"{name} is not an integer")
    return value


def boolean(obj: dict[str, Any], name: str, default: bool) -> bool:
    value = obj.get(name, default)
    if not isinstance(value, bool):
        raise Malformed(f"{name} is not a boolean")
    return value


def local_date(obj: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(string(obj, name))
    except ValueError as error:
        raise Malformed(f"{name} is not a date") from error


def instant(obj: dict[str, Any], name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(string(obj, name))
    except ValueError as error:
        raise Malformed(f"{name} is not an ISO 8601 time") from error
    if moment.tzinfo is None:
        raise Malformed(f"{name} has no UTC offset")
    return moment.astimezone(UTC)


# -- money and stays -------------------------------------------------------------------------
def to_minor(obj: dict[str, Any], name: str, currency: str) -> int:
    text = string(obj, name)
    try:
        scaled = Decimal(text).scaleb(MINOR_DIGITS.get(currency, 2))
    except InvalidOperation as error:
        raise Malformed(f"{name} is not a number") from error
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise Malformed(f"{name} is not an amount of {currency}: {text!r}")
    return int(scaled)


def from_minor(minor: int, currency: str) -> str:
    return str(Decimal(minor).scaleb(-MINOR_DIGITS.get(currency, 2)))


def stay_dates(zone: ZoneInfo, start_at: datetime, end_at: datetime) -> tuple[date, date]:
    """Check-in and check-out dates of a stay given as UTC times: the hotel-local dates they fall on."""
    return start_at.astimezone(zone).date(), end_at.astimezone(zone).date()


def stay_bounds(zone: ZoneInfo, check_in: date, check_out: date) -> tuple[datetime, datetime]:
    """A stay as UTC times: check-in time on arrival, check-out time on departure, hotel-local."""
    start = datetime.combine(check_in, CHECK_IN_TIME, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(check_out, CHECK_OUT_TIME, tzinfo=zone).astimezone(UTC)
    return start, end


# -- records ---------------------------------------------------------------------------------
def service_from(room_type: dict[str, Any]) -> RemoteService:
    currency = string(room_type, "currency")
    return RemoteService(
        local_id=string(room_type, "id"),
        name=string(room_type, "name"),
        category=optional_string(room_type, "category") or "room",
        skill=string(room_type, "code"),
        duration_minutes=NIGHT_MINUTES,
        price_minor=to_minor(room_type, "rate_per_night", currency),
        currency=currency,
        is_active=boolean(room_type, "is_active", True),
    )


def resource_from(room: dict[str, Any]) -> RemoteResource:
    capacity = room.get("max_occupancy", 1)
    if not isinstance(capacity, int) or isinstance(capacity, bool):
        raise Malformed("max_occupancy is not an integer")
    return RemoteResource(
        local_id=string(room, "id"),
        kind="room",
        name=string(room, "name"),
        title=optional_string(room, "description") or "",
        skill=optional_string(room, "room_type_code"),
        capacity=capacity,
        is_active=boolean(room, "is_active", True),
        version=integer(room, "version"),
        updated_at=instant(room, "updated_at"),
    )


def customer_from(guest: dict[str, Any]) -> RemoteCustomer:
    return RemoteCustomer(
        local_id=string(guest, "id"),
        first_name=optional_string(guest, "first_name") or "",
        last_name=optional_string(guest, "last_name") or "",
        email=optional_string(guest, "email"),
        phone=optional_string(guest, "phone"),
        loyalty_points=integer(guest, "loyalty_points") if "loyalty_points" in guest else 0,
        updated_at=instant(guest, "updated_at"),
        version=integer(guest, "version"),
    )


def guest_ack(body: dict[str, Any]) -> CustomerAck:
    guest = as_object(body.get("guest"), "guest")
    return CustomerAck(local_id=string(guest, "id"), version=integer(guest, "version"))


def status_from(booking: dict[str, Any]) -> str:
    status = string(booking, "status")
    if status not in STATUS_FROM_PMS:
        raise Malformed(f"unknown reservation status {status!r}")
    return STATUS_FROM_PMS[status]


def booking_from(booking: dict[str, Any], zone: ZoneInfo) -> RemoteBooking:
    start_at, end_at = stay_bounds(zone, local_date(booking, "check_in"), local_date(booking, "check_out"))
    currency = string(booking, "currency")
    return RemoteBooking(
        local_id=string(booking, "id"),
        local_customer_id=string(booking, "guest_id"),
        local_service_id=string(booking, "room_type_id"),
        local_resource_id=optional_string(booking, "room_id"),
        start_at=start_at,
        end_at=end_at,
        status=status_from(booking),
        price_minor=to_minor(booking, "total_amount", currency),
        currency=currency,
        notes=optional_string(booking, "special_requests") or "",
        version=integer(booking, "version"),
        updated_at=instant(booking, "updated_at"),
        global_id=optional_string(booking, "external_reference"),
    )


def ack_from(body: dict[str, Any]) -> BookingAck:
    booking = as_object(body.get("booking"), "booking")
    return BookingAck(
        local_id=string(booking, "id"),
        local_customer_id=string(booking, "guest_id"),
        local_resource_id=optional_string(booking, "room_id"),
        status=status_from(booking),
        version=integer(booking, "version"),
    )


def slots_from(body: dict[str, Any], room_type_id: str, zone: ZoneInfo) -> list[Slot]:
    start_at, end_at = stay_bounds(zone, local_date(body, "check_in"), local_date(body, "check_out"))
    slots: list[Slot] = []
    for room_type in objects(body, "room_types"):
        if string(room_type, "room_type_id") != room_type_id:
            continue
        for room in objects(room_type, "available_rooms"):
            slots.append(Slot(room_type_id, string(room, "room_id"), start_at, end_at))
    return slots


def feed_params(after: Cursor | None, limit: int) -> dict[str, Any]:
    if after is None:
        return {"limit": limit}
    return {"after": after.changed_at.astimezone(UTC).isoformat(), "after_id": after.key, "limit": limit}


def change_page_from(body: dict[str, Any], feed: str, after: Cursor | None, zone: ZoneInfo) -> ChangePage:
    """A /sync feed page; `meta.last` null (nothing seen yet) keeps the cursor we sent."""
    records: list[RemoteRecord] = []
    for row in objects(body, feed):
        if feed == "guests":
            records.append(customer_from(row))
        elif feed == "reservations":
            records.append(booking_from(row, zone))
        else:
            records.append(resource_from(row))
    meta = as_object(body.get("meta"), "meta")
    has_more = meta.get("has_more")
    if not isinstance(has_more, bool):
        raise Malformed("meta.has_more is not a boolean")
    next_cursor = after
    if meta.get("last") is not None:
        last = as_object(meta["last"], "meta.last")
        next_cursor = Cursor(changed_at=instant(last, "updated_at"), key=string(last, "id"))
    return ChangePage(records=records, next_cursor=next_cursor, has_more=has_more)


def guest_body(details: CustomerDetails) -> dict[str, Any]:
    return {
        "first_name": details.first_name,
        "last_name": details.last_name,
        "email": details.email,
        "phone": details.phone,
        "preferences": details.preferences,
        "external_reference": details.global_id,
    }
