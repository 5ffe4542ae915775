"""What a BookingX node's API looks like on the wire: its state, how it reads requests, how it writes records.

Field names follow the network add-on's tables (`local_customer_id`, `global_customer_id`,
`global_booking_id`, `service_node_id`, `resource_type`, `sharing_rules`); money is integer
minor units beside a currency; booking times are ISO-8601 in the site's own timezone with
its offset (a WordPress site answers in local time), record timestamps in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from devnet.simulators.bookingx_auth import TokenRegistry
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoredService, StoredStock

PREFIX = "/wp-json/bookingx-network/v1"


@dataclass
class BookingXNode:
    """One BookingX site: its own booking system plus what the network add-on keeps beside it."""

    store: LocationStore
    node_id: str
    api_key: str
    api_secret: str
    version: str
    tokens: TokenRegistry
    status: str = "online"  # what GET /health reports; a test may set "degraded"


class ApiError(Exception):
    """An answer of no, sent as {"code", "message"} with `status`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class InvalidInput(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(422, "INVALID_INPUT", message)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def idempotency_key(request: Request) -> str | None:
    """The caller's key, scoped to the method and path so one key can never replay another operation's result."""
    raw = request.headers.get("idempotency-key")
    return None if raw is None else f"{request.method} {request.url.path} {raw}"


def parse_moment(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(f"{name} is not an ISO-8601 timestamp") from error
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs a UTC offset")
    return moment


def query_moment(request: Request, name: str, *, required: bool) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if required:
            raise InvalidInput(f"{name} is required")
        return None
    # A '+' left unencoded in a query string arrives as a space; it can only have been the offset sign.
    return parse_moment(raw.replace(" ", "+"), name)


class Body:
    """A JSON object from the caller, read field by field; anything of the wrong shape is INVALID_INPUT."""

    def __init__(self, data: Any, what: str = "body") -> None:
        if not isinstance(data, dict):
            raise InvalidInput(f"{what} must be a JSON object")
        self.data: dict[str, Any] = data
        self.what = what

    @classmethod
    async def read(cls, request: Request) -> Body:
        try:
            data = await request.json()
        except ValueError as error:
            raise InvalidInput("the body is not JSON") from error
        return cls(data)

    def has(self, name: str) -> bool:
        return name in self.data

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"{self.what}.{name} must be a non-empty string")
        return value

    def optional_text(self, name: str, default: str | None = None) -> str | None:
        value = self.data.get(name, default)
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{self.what}.{name} must be a string or null")
        return value

    def integer(self, name: str, *, minimum: int | None = None) -> int:
        value = self.data.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(f"{self.what}.{name} must be an integer")
        if minimum is not None and value < minimum:
            raise InvalidInput(f"{self.what}.{name} must be at least {minimum}")
        return value

    def optional_integer(self, name: str, *, minimum: int | None = None) -> int | None:
        return None if self.data.get(name) is None else self.integer(name, minimum=minimum)

    def moment(self, name: str) -> datetime:
        return parse_moment(self.text(name), f"{self.what}.{name}")

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise InvalidInput(f"{self.what}.{name} must be a JSON object")
        return value

    def nested(self, name: str) -> Body:
        return Body(self.data.get(name), f"{self.what}.{name}")


def customer_details(body: Body) -> dict[str, Any]:
    """The store's customer fields from a customer payload; only the fields present, so an update is partial."""
    details: dict[str, Any] = {}
    for name in ("first_name", "last_name"):
        if body.has(name):
            details[name] = body.optional_text(name) or ""
    for name in ("email", "phone"):
        if body.has(name):
            details[name] = body.optional_text(name)
    if body.has("global_customer_id"):
        details["global_id"] = body.optional_text("global_customer_id")
    if body.has("preferences"):
        details["preferences"] = body.mapping("preferences")
    return details


# -- records as the node writes them ---------------------------------------------------------------
def _utc(moment: datetime) -> str:
    return moment.isoformat()


def _local(node: BookingXNode, moment: datetime) -> str:
    return moment.astimezone(node.store.zone).isoformat()


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def service_view(service: StoredService) -> dict[str, Any]:
    return {
        "local_service_id": service.local_id,
        "name": service.name,
        "category": service.category,
        "skill": service.skill,
        "duration_minutes": service.duration_minutes,
        "price_minor": service.price_minor,
        "currency": service.currency,
        "is_active": service.is_active,
        "version": service.version,
        "updated_at": service.updated_at.isoformat(),
    }


def resource_view(resource: StoredResource, shared_with: list[str]) -> dict[str, Any]:
    return {
        "local_resource_id": resource.local_id,
        "resource_type": resource.kind,
        "name": resource.name,
        "title": resource.title,
        "skill": resource.skill,
        "capacity": resource.capacity,
        "is_active": resource.is_active,
        "owned": resource.owned,  # False: lent in by another node, known here by its global id
        "sharing_nodes": shared_with,
        "version": resource.version,
        "updated_at": _utc(resource.updated_at),
    }


def customer_view(customer: StoredCustomer) -> dict[str, Any]:
    return {
        "local_customer_id": customer.local_id,
        "global_customer_id": customer.global_id,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "loyalty_points": customer.loyalty_points,
        "preferences": customer.preferences,
        "version": customer.version,
        "updated_at": _utc(customer.updated_at),
    }


def booking_view(node: BookingXNode, booking: StoredBooking) -> dict[str, Any]:
    customer = node.store.customers.get(booking.local_customer_id)
    return {
        "local_booking_id": booking.local_id,
        "global_booking_id": booking.global_id,
        "service_node_id": node.node_id,
        "local_customer_id": booking.local_customer_id,
        "global_customer_id": None if customer is None else customer.global_id,
        "local_service_id": booking.local_service_id,
        "local_resource_id": booking.local_resource_id,
        "start_at": _local(node, booking.start_at),
        "end_at": _local(node, booking.end_at),
        "status": booking.status,
        "price_minor": booking.price_minor,
        "currency": booking.currency,
        "notes": booking.notes,
        "version": booking.version,
        "updated_at": _utc(booking.updated_at),
        "payment_status": booking.payment_status,
        "paid_minor": booking.paid_minor,
    }


def stock_view(level: StoredStock) -> dict[str, Any]:
    return {
        "sku": level.sku,
        "quantity": level.quantity,
        "reserved": level.reserved,
        "available": level.quantity - level.reserved,
        "reorder_point": level.reorder_point,
        "expires_on": _day(level.expires_on),
        "version": level.version,
        "updated_at": _utc(level.updated_at),
    }


def slot_view(node: BookingXNode, resource_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    return {"local_resource_id": resource_id, "start_at": _local(node, start), "end_at": _local(node, end)}
