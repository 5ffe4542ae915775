"""How the simulated hotel PMS writes and reads its JSON: money, dates, errors, records.

The PMS speaks hotel terms (room types, rooms, guests, reservations with check-in and
check-out dates, decimal amounts); the store underneath keeps the gateway-neutral shape
(services, resources, customers, bookings in UTC). This module is the translation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request

from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoredService

CHECK_IN_TIME = time(15, 0)
CHECK_OUT_TIME = time(11, 0)
MAX_NIGHTS = 60
# Currencies whose minor unit is not a hundredth; the PMS writes amounts in major units.
MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3}
STATUS_TO_PMS = {
    "pending": "provisory",
    "confirmed": "confirmed",
    "completed": "checked_out",
    "cancelled": "cancelled",
    "no_show": "no_show",
}
# StoreError codes -> (HTTP status, PMS error code)
STORE_ERRORS = {
    "SLOT_UNAVAILABLE": (409, "ROOM_UNAVAILABLE"),
    "NOT_FOUND": (404, "NOT_FOUND"),
    "INVALID_INPUT": (400, "VALIDATION_ERROR"),
    "CONFLICT": (409, "CONFLICT"),
    "FORBIDDEN": (403, "FORBIDDEN"),
    "INSUFFICIENT_STOCK": (409, "CONFLICT"),
    "STALE_VERSION": (409, "VERSION_CONFLICT"),
}


class PmsError(Exception):
    """An answer of the form ``{"error": {"code", "message"}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> PmsError:
    return PmsError(400, "VALIDATION_ERROR", message)


# -- money -----------------------------------------------------------------------------------
def format_amount(minor: int, currency: str) -> str:
    return str(Decimal(minor).scaleb(-MINOR_DIGITS.get(currency, 2)))


def parse_amount(value: Any, currency: str, field: str) -> int:
    if not isinstance(value, str):
        raise invalid(f"{field} must be a decimal string")
    try:
        amount = Decimal(value)
    except InvalidOperation as error:
        raise invalid(f"{field} is not a number: {value!r}") from error
    scaled = amount.scaleb(MINOR_DIGITS.get(currency, 2)) if amount.is_finite() else amount
    if not scaled.is_finite() or scaled != scaled.to_integral_value() or scaled < 0:
        raise invalid(f"{field} is not an amount of {currency}: {value!r}")
    return int(scaled)


# -- dates -----------------------------------------------------------------------------------
def parse_date(value: Any, field: str) -> date:
    if not isinstance(value, str):
        raise invalid(f"{field} must be a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise invalid(f"{field} is not a date: {value!r}") from error


def parse_instant(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise invalid(f"{field} is not an ISO 8601 time: {value!r}") from error
    if moment.tzinfo is None:
        raise invalid(f"{field} needs a UTC offset")
    return moment.astimezone(UTC)


def check_stay(check_in: date, check_out: date) -> int:
    """Nights of a valid stay."""
    nights = (check_out - check_in).days
    if nights < 1:
        raise invalid("check_out must be after check_in")
    if nights > MAX_NIGHTS:
        raise invalid(f"stays are limited to {MAX_NIGHTS} nights")
    return nights


def stay_bounds(zone: ZoneInfo, check_in: date, check_out: date) -> tuple[datetime, datetime]:
    """The stay as UTC instants: arrival at check-in time, departure at check-out time, hotel local."""
    start = datetime.combine(check_in, CHECK_IN_TIME, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(check_out, CHECK_OUT_TIME, tzinfo=zone).astimezone(UTC)
    return start, end


def stay_dates(zone: ZoneInfo, start_at: datetime, end_at: datetime) -> tuple[date, date]:
    return start_at.astimezone(zone).date(), end_at.astimezone(zone).date()


# -- request bodies --------------------------------------------------------------------------
async def read_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as error:
        raise invalid("the body is not JSON") from error
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    return body


def text(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise invalid(f"{field} is required")
    return value


def optional_text(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise invalid(f"{field} must be a string")
    return value


def positive_integer(value: Any, field: str) -> int | None:
    """A JSON number, or digits in a query string (a version a write expects, a limit); None when absent."""
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise invalid(f"{field} must be a positive integer")
    return value


def guest_details(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Guest fields as the store names them; on create a name is required."""
    details: dict[str, Any] = {}
    for field in ("first_name", "last_name", "email", "phone", "external_reference"):
        if field in body:
            value = optional_text(body, field)
            if field in ("first_name", "last_name"):
                value = value or ""
            details["global_id" if field == "external_reference" else field] = value
    if "preferences" in body:
        if not isinstance(body["preferences"], dict):
            raise invalid("preferences must be an object")
        details["preferences"] = body["preferences"]
    if not partial and not (details.get("first_name") or details.get("last_name")):
        raise invalid("a guest needs a first_name or last_name")
    return details


# -- records ---------------------------------------------------------------------------------
def room_type_json(service: StoredService) -> dict[str, Any]:
    return {
        "id": service.local_id,
        "code": service.skill,
        "name": service.name,
        "category": service.category,
        "rate_per_night": format_amount(service.price_minor, service.currency),
        "currency": service.currency,
        "is_active": service.is_active,
    }


def room_json(room: StoredResource, room_type: StoredService | None) -> dict[str, Any]:
    return {
        "id": room.local_id,
        "name": room.name,
        "description": room.title,
        "room_type_id": room_type.local_id if room_type else None,
        "room_type_code": room.skill,
        "max_occupancy": room.capacity,
        "is_active": room.is_active,
        "version": room.version,
        "updated_at": room.updated_at.astimezone(UTC).isoformat(),
    }


def guest_json(customer: StoredCustomer) -> dict[str, Any]:
    return {
        "id": customer.local_id,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "loyalty_points": customer.loyalty_points,
        "preferences": customer.preferences,
        "external_reference": customer.global_id,
        "version": customer.version,
        "updated_at": customer.updated_at.astimezone(UTC).isoformat(),
    }


def reservation_json(hotel_id: str, zone: ZoneInfo, booking: StoredBooking) -> dict[str, Any]:
    check_in, check_out = stay_dates(zone, booking.start_at, booking.end_at)
    return {
        "id": booking.local_id,
        "hotel_id": hotel_id,
        "status": STATUS_TO_PMS.get(booking.status, booking.status),
        "room_type_id": booking.local_service_id,
        "room_id": booking.local_resource_id,
        "guest_id": booking.local_customer_id,
        "check_in": check_in.isoformat(),
        "check_out": check_out.isoformat(),
        "nights": max(1, (check_out - check_in).days),
        "total_amount": format_amount(booking.price_minor, booking.currency),
        "currency": booking.currency,
        "special_requests": booking.notes,
        "external_reference": booking.global_id,
        "version": booking.version,
        "updated_at": booking.updated_at.astimezone(UTC).isoformat(),
    }
