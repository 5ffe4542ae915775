"""BookingX node answers read into the gateway's records, and the records written as request bodies.

Reading is strict: a missing field, a wrong type or a timestamp without an offset raises
`MalformedAnswer`, which the connector reports as `LocationUnavailable` naming the field:
better to say the node's answer was unreadable than to cache a guess.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sources.cache.payments import PaymentReport, ReportedPayment
from sources.connectors.records import (
    BookingAck,
    BookingRequest,
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
    RemoteStockLevel,
    Slot,
    StockAck,
)


class MalformedAnswer(Exception):
    """The node answered 2xx with something that is not what its API promises."""


class Fields:
    """One JSON object from the node, read field by field."""

    def __init__(self, data: Any, what: str = "answer") -> None:
        if not isinstance(data, dict):
            raise MalformedAnswer(f"{what} is not a JSON object")
        self.data: dict[str, Any] = data
        self.what = what

    def _get(self, name: str) -> Any:
        if name not in self.data:
            raise MalformedAnswer(f"{self.what} has no {name}")
        return self.data[name]

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise MalformedAnswer(f"{self.what}.{name} is not a string")
        return value

    def identifier(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise MalformedAnswer(f"{self.what}.{name} is empty")
        return value

    def optional_text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, str):
            raise MalformedAnswer(f"{self.what}.{name} is neither a string nor null")
        return value

    def integer(self, name: str) -> int:
        value = self._get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise MalformedAnswer(f"{self.what}.{name} is not an integer")
        return value

    def boolean(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            raise MalformedAnswer(f"{self.what}.{name} is not true or false")
        return value

    def moment(self, name: str) -> datetime:
        text = self.text(name)
        try:
            value = datetime.fromisoformat(text)
        except ValueError as error:
            raise MalformedAnswer(f"{self.what}.{name} is not an ISO-8601 timestamp: {text!r}") from error
        if value.tzinfo is None:
            raise MalformedAnswer(f"{self.what}.{name} has no UTC offset: {text!r}")
        return value.astimezone(UTC)

    def optional_day(self, name: str) -> date | None:
        text = self.optional_text(name)
        if text is None:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError as error:
            raise MalformedAnswer(f"{self.what}.{name} is not a date: {text!r}") from error

    def items(self, name: str) -> list[Fields]:
        value = self._get(name)
        if not isinstance(value, list):
            raise MalformedAnswer(f"{self.what}.{name} is not a list")
        return [Fields(item, f"{self.what}.{name}[{index}]") for index, item in enumerate(value)]


# -- answers -> records ----------------------------------------------------------------------------
def service(f: Fields) -> RemoteService:
    return RemoteService(
        local_id=f.identifier("local_service_id"),
        name=f.text("name"),
        category=f.text("category"),
        skill=f.optional_text("skill"),
        duration_minutes=f.integer("duration_minutes"),
        price_minor=f.integer("price_minor"),
        currency=f.identifier("currency"),
        is_active=f.boolean("is_active"),
        version=f.integer("version"),
        updated_at=f.moment("updated_at"),
    )


def resource(f: Fields) -> RemoteResource:
    return RemoteResource(
        local_id=f.identifier("local_resource_id"),
        kind=f.identifier("resource_type"),
        name=f.text("name"),
        title=f.text("title"),
        skill=f.optional_text("skill"),
        capacity=f.integer("capacity"),
        is_active=f.boolean("is_active"),
        version=f.integer("version"),
        updated_at=f.moment("updated_at"),
    )


def customer(f: Fields) -> RemoteCustomer:
    return RemoteCustomer(
        local_id=f.identifier("local_customer_id"),
        first_name=f.text("first_name"),
        last_name=f.text("last_name"),
        email=f.optional_text("email"),
        phone=f.optional_text("phone"),
        loyalty_points=f.integer("loyalty_points"),
        updated_at=f.moment("updated_at"),
        version=f.integer("version"),
    )


def customer_ack(f: Fields) -> CustomerAck:
    return CustomerAck(local_id=f.identifier("local_customer_id"), version=f.integer("version"))


def booking(f: Fields) -> RemoteBooking:
    return RemoteBooking(
        local_id=f.identifier("local_booking_id"),
        local_customer_id=f.identifier("local_customer_id"),
        local_service_id=f.identifier("local_service_id"),
        local_resource_id=f.optional_text("local_resource_id"),
        start_at=f.moment("start_at"),
        end_at=f.moment("end_at"),
        status=f.identifier("status"),
        price_minor=f.integer("price_minor"),
        currency=f.identifier("currency"),
        notes=f.text("notes"),
        version=f.integer("version"),
        updated_at=f.moment("updated_at"),
        global_id=f.optional_text("global_booking_id") or None,
        payment=_payment(f),
    )


PAID_MAX_MINOR = 10**12  # as a booking's price is bounded


def _payment(f: Fields) -> PaymentReport | None:
    """`payment_status` (unpaid|paid|refunded) and `paid_minor`, when the node says them."""
    status = f.optional_text("payment_status")
    if status is None:
        return None
    try:
        reported = ReportedPayment(status)
    except ValueError as error:
        raise MalformedAnswer(f"{f.what}.payment_status is not unpaid, paid or refunded: {status!r}") from error
    paid_minor = 0 if reported is ReportedPayment.UNPAID else f.integer("paid_minor")
    if not 0 <= paid_minor <= PAID_MAX_MINOR:
        raise MalformedAnswer(f"{f.what}.paid_minor is out of range")
    return PaymentReport(reported, paid_minor)


def booking_ack(f: Fields) -> BookingAck:
    return BookingAck(
        local_id=f.identifier("local_booking_id"),
        local_customer_id=f.identifier("local_customer_id"),
        local_resource_id=f.optional_text("local_resource_id"),
        status=f.identifier("status"),
        version=f.integer("version"),
    )


def stock_level(f: Fields) -> RemoteStockLevel:
    return RemoteStockLevel(
        sku=f.identifier("sku"),
        quantity=f.integer("quantity"),
        reserved=f.integer("reserved"),
        reorder_point=f.integer("reorder_point"),
        expires_on=f.optional_day("expires_on"),
        updated_at=f.moment("updated_at"),
        version=f.integer("version"),
    )


def stock_ack(f: Fields) -> StockAck:
    return StockAck(sku=f.identifier("sku"), quantity=f.integer("quantity"), reserved=f.integer("reserved"))


def slot(local_service_id: str, f: Fields) -> Slot:
    return Slot(
        local_service_id=local_service_id,
        local_resource_id=f.identifier("local_resource_id"),
        start_at=f.moment("start_at"),
        end_at=f.moment("end_at"),
    )


def _record(entity_type: EntityType, f: Fields) -> RemoteRecord | None:
    if entity_type is EntityType.CUSTOMERS:
        return customer(f)
    if entity_type is EntityType.BOOKINGS:
        return booking(f)
    if entity_type is EntityType.SERVICES:
        return service(f)
    if entity_type is EntityType.RESOURCES:
        # Staff lent in by other nodes belong to their owner's records, as in GET /resources.
        return resource(f) if f.boolean("owned") else None
    return stock_level(f)


def change_page(entity_type: EntityType, after: Cursor | None, f: Fields) -> ChangePage:
    """A POST /sync page; with no records the node sends our cursor back (or null), and we keep ours."""
    records = [record for item in f.items("records") if (record := _record(entity_type, item)) is not None]
    next_cursor = after
    if f.data.get("next_cursor") is not None:
        position = Fields(f.data["next_cursor"], f"{f.what}.next_cursor")
        next_cursor = Cursor(changed_at=position.moment("changed_at"), key=position.identifier("key"))
    return ChangePage(records=records, next_cursor=next_cursor, has_more=f.boolean("has_more"))


def cursor_body(after: Cursor | None) -> dict[str, str] | None:
    return None if after is None else {"changed_at": iso(after.changed_at), "key": after.key}


# -- records -> request bodies ---------------------------------------------------------------------
def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def customer_body(details: CustomerDetails) -> dict[str, Any]:
    return {
        "global_customer_id": details.global_id,
        "first_name": details.first_name,
        "last_name": details.last_name,
        "email": details.email,
        "phone": details.phone,
        "preferences": details.preferences,
    }


def booking_body(request: BookingRequest) -> dict[str, Any]:
    return {
        "global_booking_id": request.global_id,
        "originating_node_id": request.originating_location_id,
        "local_customer_id": request.local_customer_id,
        "customer": customer_body(request.customer),
        "local_service_id": request.local_service_id,
        "local_resource_id": request.local_resource_id,
        "start_at": iso(request.start_at),
        "end_at": iso(request.end_at),
        "price_minor": request.price_minor,
        "currency": request.currency,
        "notes": request.notes,
    }
