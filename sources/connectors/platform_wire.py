"""Reading and writing the booking platform's payloads (see `devnet.simulators.platform` for the API).

Every reader checks types as it goes and raises `MalformedPayload` naming the field,
so a surprising answer becomes `LocationUnavailable` with a useful message rather than
a KeyError deep in the gateway. Money is exact: decimal strings to minor units via
Decimal, never float. Times come back timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sources.cache.money import currency_exponent
from sources.connectors.records import (
    ChangePage,
    Cursor,
    EntityType,
    RemoteBooking,
    RemoteCustomer,
    RemoteRecord,
    RemoteResource,
    RemoteService,
    Slot,
)

# Platform status -> ours.
STATUS_IN = {
    "booked": "pending",
    "confirmed": "confirmed",
    "finished": "completed",
    "cancelled": "cancelled",
    "no_show": "no_show",
}
RESOURCE_KINDS = frozenset({"staff", "room", "equipment"})


class MalformedPayload(ValueError):
    """The platform answered something this connector cannot read."""


# -- field readers --------------------------------------------------------------------------


def obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what} is not an object")
    return value


def items(payload: Any, key: str) -> list[dict[str, Any]]:
    values = obj(payload, "the answer").get(key)
    if not isinstance(values, list):
        raise MalformedPayload(f"'{key}' is not a list")
    return [obj(value, f"an item of '{key}'") for value in values]


def string(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str):
        raise MalformedPayload(f"'{name}' is not a string: {value!r}")
    return value


def optional_string(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is not None and not isinstance(value, str):
        raise MalformedPayload(f"'{name}' is not a string: {value!r}")
    return value


def integer(row: dict[str, Any], name: str) -> int:
    value = row.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedPayload(f"'{name}' is not an integer: {value!r}")
    return value


def boolean(row: dict[str, Any], name: str, default: bool) -> bool:
    value = row.get(name, default)
    if not isinstance(value, bool):
        raise MalformedPayload(f"'{name}' is not a boolean: {value!r}")
    return value


def moment(row: dict[str, Any], name: str) -> datetime:
    text = string(row, name)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise MalformedPayload(f"'{name}' is not an ISO 8601 date-time: {text!r}") from error
    if parsed.tzinfo is None:
        raise MalformedPayload(f"'{name}' has no UTC offset: {text!r}")
    return parsed.astimezone(UTC)


def money(row: dict[str, Any], name: str) -> tuple[int, str]:
    """``{"amount": "45.00", "currency": "GBP"}`` -> (4500, "GBP"), refusing anything inexact."""
    price = obj(row.get(name), f"'{name}'")
    currency = string(price, "currency")
    amount = string(price, "amount")
    if len(currency) != 3 or not currency.isalpha():
        raise MalformedPayload(f"'{name}.currency' is not an ISO 4217 code: {currency!r}")
    try:
        minor = Decimal(amount).scaleb(currency_exponent(currency))
    except InvalidOperation as error:
        raise MalformedPayload(f"'{name}.amount' is not a decimal: {amount!r}") from error
    if not minor.is_finite() or minor != minor.to_integral_value():
        raise MalformedPayload(f"'{name}.amount' {amount!r} is not a whole number of {currency} minor units")
    return int(minor), currency


# -- writers --------------------------------------------------------------------------------


def price_out(minor: int, currency: str) -> dict[str, str]:
    exponent = currency_exponent(currency)
    amount = Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))
    return {"amount": str(amount), "currency": currency}


def time_out(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: every time in the gateway is zone-aware")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- records --------------------------------------------------------------------------------


def service_in(row: dict[str, Any]) -> RemoteService:
    price_minor, currency = money(row, "price")
    return RemoteService(
        local_id=string(row, "id"),
        name=string(row, "name"),
        category=optional_string(row, "category") or "",
        skill=optional_string(row, "required_skill"),
        duration_minutes=integer(row, "duration_minutes"),
        price_minor=price_minor,
        currency=currency,
        is_active=boolean(row, "bookable", True),
    )


def resource_in(row: dict[str, Any]) -> RemoteResource:
    kind = string(row, "type")
    if kind not in RESOURCE_KINDS:
        raise MalformedPayload(f"unknown staff type {kind!r}")
    return RemoteResource(
        local_id=string(row, "id"),
        kind=kind,
        name=string(row, "display_name"),
        title=optional_string(row, "position") or "",
        skill=optional_string(row, "skill"),
        capacity=integer(row, "capacity") if "capacity" in row else 1,
        is_active=boolean(row, "active", True),
        version=integer(row, "revision"),
        updated_at=moment(row, "updated_at"),
    )


def customer_in(row: dict[str, Any]) -> RemoteCustomer:
    return RemoteCustomer(
        local_id=string(row, "id"),
        first_name=optional_string(row, "first_name") or "",
        last_name=optional_string(row, "last_name") or "",
        email=optional_string(row, "email"),
        phone=optional_string(row, "mobile"),
        loyalty_points=integer(row, "points_balance") if row.get("points_balance") is not None else 0,
        updated_at=moment(row, "updated_at"),
        version=integer(row, "revision"),
    )


def status_in(row: dict[str, Any]) -> str:
    status = string(row, "status")
    if status not in STATUS_IN:
        raise MalformedPayload(f"unknown appointment status {status!r}")
    return STATUS_IN[status]


def booking_in(row: dict[str, Any]) -> RemoteBooking:
    price_minor, currency = money(row, "price")
    return RemoteBooking(
        local_id=string(row, "id"),
        local_customer_id=string(row, "client_id"),
        local_service_id=string(row, "service_id"),
        local_resource_id=optional_string(row, "staff_id"),
        start_at=moment(row, "starts_at"),
        end_at=moment(row, "ends_at"),
        status=status_in(row),
        price_minor=price_minor,
        currency=currency,
        notes=optional_string(row, "note") or "",
        version=integer(row, "revision"),
        updated_at=moment(row, "updated_at"),
        global_id=optional_string(row, "external_reference"),
    )


def slot_in(service_id: str, row: dict[str, Any]) -> Slot:
    return Slot(
        local_service_id=service_id,
        local_resource_id=string(row, "staff_id"),
        start_at=moment(row, "starts_at"),
        end_at=moment(row, "ends_at"),
    )


# -- the delta feed -------------------------------------------------------------------------

# Our entity types -> the platform's change feed and its reader; it keeps no stock.
FEEDS = {
    EntityType.CUSTOMERS: "customers",
    EntityType.BOOKINGS: "appointments",
    EntityType.RESOURCES: "staff",
}
_FEED_READERS: dict[str, Callable[[dict[str, Any]], RemoteRecord]] = {
    "customers": customer_in,
    "appointments": booking_in,
    "staff": resource_in,
}


def feed_params(after: Cursor | None, limit: int) -> dict[str, Any]:
    if after is None:
        return {"limit": limit}
    return {"updated_after": time_out(after.changed_at), "after_id": after.key, "limit": limit}


def change_page_in(payload: Any, collection: str, after: Cursor | None) -> ChangePage:
    """A /v1/changes page; `next` null (nothing seen yet) keeps the cursor we sent."""
    reader = _FEED_READERS[collection]
    records: list[RemoteRecord] = [reader(row) for row in items(payload, collection)]
    answer = obj(payload, "the answer")
    has_more = answer.get("has_more")
    if not isinstance(has_more, bool):
        raise MalformedPayload(f"'has_more' is not a boolean: {has_more!r}")
    following = answer.get("next")
    next_cursor = after
    if following is not None:
        position = obj(following, "'next'")
        next_cursor = Cursor(changed_at=moment(position, "updated_after"), key=string(position, "after_id"))
    return ChangePage(records=records, next_cursor=next_cursor, has_more=has_more)
