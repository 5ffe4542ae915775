"""The booking platform's own vocabulary: how its API spells the store's records, reads inputs, pages and errs.

The names differ from the gateway's on purpose (``starts_at``, ``staff_id``,
``client_id``, ``mobile``, decimal-string prices, ``booked``/``finished`` statuses):
the connector has to translate, as it would for a real salon platform.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse

from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoredService

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 50
# Store status -> platform status. The platform says "booked" for what is not yet confirmed.
STATUS_OUT = {
    "pending": "booked",
    "confirmed": "confirmed",
    "completed": "finished",
    "cancelled": "cancelled",
    "no_show": "no_show",
}
# ISO 4217 minor-unit exponents that differ from the usual 2 (the platform's own table).
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}


class InvalidRequest(Exception):
    """An input the platform refuses with 422 invalid_request."""


def _exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def price_out(minor: int, currency: str) -> dict[str, str]:
    amount = Decimal(minor).scaleb(-_exponent(currency)).quantize(Decimal(1).scaleb(-_exponent(currency)))
    return {"amount": str(amount), "currency": currency}


def time_out(moment: datetime, zone: ZoneInfo | None = None) -> str:
    """Appointment times in the business's local time with its offset; bookkeeping stamps in UTC with Z."""
    if zone is not None:
        return moment.astimezone(zone).isoformat()
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def service_out(service: StoredService) -> dict[str, Any]:
    return {
        "id": service.local_id,
        "name": service.name,
        "category": service.category,
        "required_skill": service.skill,
        "duration_minutes": service.duration_minutes,
        "price": price_out(service.price_minor, service.currency),
        "bookable": service.is_active,
    }


def staff_out(resource: StoredResource) -> dict[str, Any]:
    return {
        "id": resource.local_id,
        "type": resource.kind,
        "display_name": resource.name,
        "position": resource.title,
        "skill": resource.skill,
        "capacity": resource.capacity,
        "active": resource.is_active,
        "revision": resource.version,
        "updated_at": time_out(resource.updated_at),
    }


def customer_out(customer: StoredCustomer) -> dict[str, Any]:
    return {
        "id": customer.local_id,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "mobile": customer.phone,
        "points_balance": customer.loyalty_points,
        "preferences": customer.preferences,
        "external_reference": customer.global_id,
        "revision": customer.version,
        "updated_at": time_out(customer.updated_at),
    }


def appointment_out(booking: StoredBooking, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": booking.local_id,
        "client_id": booking.local_customer_id,
        "service_id": booking.local_service_id,
        "staff_id": booking.local_resource_id,
        "starts_at": time_out(booking.start_at, zone),
        "ends_at": time_out(booking.end_at, zone),
        "status": STATUS_OUT.get(booking.status, booking.status),
        "price": price_out(booking.price_minor, booking.currency),
        "note": booking.notes,
        "revision": booking.version,
        "external_reference": booking.global_id,
        "updated_at": time_out(booking.updated_at),
    }


# -- inputs ---------------------------------------------------------------------------------


def body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


def text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string")
    return value


def moment_in(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be an ISO 8601 date-time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise InvalidRequest(f"{name} is not an ISO 8601 date-time") from error
    if moment.tzinfo is None:
        raise InvalidRequest(f"{name} needs a UTC offset")
    return moment.astimezone(UTC)


def price_in(value: Any) -> tuple[int, str]:
    """A `{"amount": "45.00", "currency": "GBP"}` price as exact minor units."""
    if not isinstance(value, dict) or not isinstance(value.get("amount"), str):
        raise InvalidRequest("price must be {amount: decimal string, currency}")
    currency = value.get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        raise InvalidRequest("price.currency must be an ISO 4217 code")
    try:
        minor = Decimal(value["amount"]).scaleb(_exponent(currency))
    except InvalidOperation as error:
        raise InvalidRequest("price.amount is not a decimal") from error
    if not minor.is_finite() or minor != minor.to_integral_value() or minor < 0:
        raise InvalidRequest(f"price.amount has more precision than {currency} allows")
    return int(minor), currency


def customer_in(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Platform customer fields -> the store's names; only the fields present when `partial`."""
    names = {
        "first_name": "first_name",
        "last_name": "last_name",
        "email": "email",
        "mobile": "phone",
        "external_reference": "global_id",
    }
    details: dict[str, Any] = {}
    for outside, inside in names.items():
        if outside in body:
            details[inside] = text(body, outside, required=False)
        elif not partial and outside in ("first_name", "last_name"):
            raise InvalidRequest(f"{outside} is required")
    if "preferences" in body:
        if not isinstance(body["preferences"], dict):
            raise InvalidRequest("preferences must be an object")
        details["preferences"] = dict(body["preferences"])
    return details


# -- requests and answers ------------------------------------------------------------------


def error(status: int, code: str, description: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status, headers=headers)


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        return body_object(json.loads(raw or b"{}"))
    except ValueError as failure:
        raise InvalidRequest("the body is not valid JSON") from failure


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as failure:
        raise InvalidRequest(f"{name} must be an integer") from failure
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low} and {high}")
    return value


def paginate(request: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    page = query_int(request, "page", 1, 1, 1_000_000)
    per_page = query_int(request, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    chunk = items[(page - 1) * per_page : page * per_page]
    more = page * per_page < len(items)
    return {
        key: chunk,
        "page": page,
        "per_page": per_page,
        "total": len(items),
        "next_page": page + 1 if more else None,
    }


def write_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    return None if key is None else f"{request.method} {request.url.path} {key}"


def if_match_revision(request: Request) -> int | None:
    """The revision an ``If-Match: "7"`` header names (weak ``W/"7"`` too); None without the header."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise InvalidRequest('If-Match must name one revision, like "3"')
    return int(tag)
