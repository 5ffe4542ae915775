"""The BookingX network webhooks: a node tells the hub at once that something changed there.

POST webhook/booking-created | webhook/customer-updated | webhook/inventory-changed | webhook/resource-unavailable

- Authenticated twice: the node's handshake token (Authorization: Bearer), and
  `X-BKX-Signature: sha256=<hex HMAC-SHA256(api_secret, "<X-BKX-Timestamp>.<raw body>")>` with the node's
  api_secret (a rotated-out one during its grace), the timestamp Unix seconds within
  `bookingx_webhook_window_seconds` of our clock.
- Body: {"event_id", "node_id", "occurred_at", <the entity's local id>, <the record, optional>}. An event
  without its record (thin) is hydrated from the node through its connector.
- Applied once: the receipt (source "bookingx:<node>", event_id) commits with the effect; a second copy is
  409 bkx_duplicate_event. An event older than one applied for the same entity is answered
  {"status": "stale"} and nothing of it applied (its payload kept in the change log).
- Every accepted event starts a delta pull of the node at once, so what changed beside it arrives too.
- Refused (401 token or signature or expired, 400 body, 403 another node, 409 duplicate, 413 over
  `bookingx_webhook_max_bytes`): one audit entry, nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.principal import Principal
from resolvers.errors import GatewayError
from shims.bookingx.records import BookingRecord, CustomerRecord, ResourceRecord, StockRecord
from shims.bookingx.wire import (
    INVALID,
    INVALID_JSON,
    WORDPRESS_ERRORS,
    LocalId,
    Moment,
    NodeId,
    node_caller,
    node_endpoint,
    node_id_of,
    require_same_node,
)
from shims.common.callers import services_of
from shims.common.endpoint import Endpoint, HeaderDoc, request_id_of
from shims.common.parsing import json_body, validated
from shims.common.refusal import Refusal
from sources.cache.types import utc_now
from sources.connectors.base import Connector
from sources.connectors.errors import ConnectorError
from sources.connectors.records import RemoteBooking, RemoteCustomer, RemoteResource, RemoteStockLevel
from sync.apply.inbound import apply_inbound
from sync.webhooks.receipts import Delivery, DuplicateDelivery, body_sha256
from sync.webhooks.refusals import record_refusal
from sync.webhooks.verify import Scheme, SignatureRejected, verify

SIGNATURE_HEADER = "X-BKX-Signature"
TIMESTAMP_HEADER = "X-BKX-Timestamp"
SCHEME = Scheme(prefix="sha256=", timestamped=True)
SECRET_NAME = "api_secret"
DUPLICATE = "bkx_duplicate_event"
TOO_LARGE = "bkx_payload_too_large"
# How far back of the event's own time a thin event's record is looked for at the node.
HYDRATION_MARGIN = timedelta(minutes=5)


class Event(BaseModel):
    model_config = {"extra": "forbid", "str_strip_whitespace": True}

    event_id: str = Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    node_id: NodeId
    occurred_at: Moment


class BookingCreated(Event):
    event: Literal["booking.created"] = "booking.created"
    local_booking_id: LocalId
    booking: BookingRecord | None = None
    customer: CustomerRecord | None = None

    @model_validator(mode="after")
    def _same_booking(self) -> BookingCreated:
        if self.booking is not None and self.booking.local_booking_id != self.local_booking_id:
            raise ValueError("booking.local_booking_id is not the event's local_booking_id")
        booking, customer = self.booking, self.customer
        if customer is not None and booking is not None and customer.local_customer_id != booking.local_customer_id:
            raise ValueError("customer is not the booking's customer")
        return self


class CustomerUpdated(Event):
    event: Literal["customer.updated"] = "customer.updated"
    local_customer_id: LocalId
    customer: CustomerRecord | None = None

    @model_validator(mode="after")
    def _same_customer(self) -> CustomerUpdated:
        if self.customer is not None and self.customer.local_customer_id != self.local_customer_id:
            raise ValueError("customer.local_customer_id is not the event's local_customer_id")
        return self


class InventoryChanged(Event):
    event: Literal["inventory.changed"] = "inventory.changed"
    sku: str = Field(min_length=1, max_length=64)
    stock: StockRecord | None = None

    @model_validator(mode="after")
    def _same_item(self) -> InventoryChanged:
        if self.stock is not None and self.stock.sku != self.sku:
            raise ValueError("stock.sku is not the event's sku")
        return self


class ResourceUnavailable(Event):
    event: Literal["resource.unavailable"] = "resource.unavailable"
    local_resource_id: LocalId
    resource: ResourceRecord | None = None
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _same_resource(self) -> ResourceUnavailable:
        if self.resource is not None and self.resource.local_resource_id != self.local_resource_id:
            raise ValueError("resource.local_resource_id is not the event's local_resource_id")
        return self


class WebhookAnswer(BaseModel):
    received: Literal[True] = True
    event_id: str = Field(max_length=200)
    status: Literal["applied", "stale"]
    applied: int = Field(ge=0)


@dataclass(frozen=True, slots=True)
class Records:
    customers: list[RemoteCustomer]
    bookings: list[RemoteBooking]
    resources: list[RemoteResource]
    stock: list[RemoteStockLevel]


def _records(**given: Any) -> Records:
    return Records(
        customers=given.get("customers", []),
        bookings=given.get("bookings", []),
        resources=given.get("resources", []),
        stock=given.get("stock", []),
    )


async def _booking_records(connector: Connector, event: BookingCreated) -> Records:
    if event.booking is not None:
        customers = [] if event.customer is None else [event.customer.remote()]
        return _records(customers=customers, bookings=[event.booking.remote()])
    since = event.occurred_at - HYDRATION_MARGIN
    bookings = [b for b in await connector.list_bookings(since) if b.local_id == event.local_booking_id]
    wanted = {b.local_customer_id for b in bookings}
    customers = [c for c in await connector.list_customers(since) if c.local_id in wanted]
    return _records(customers=customers, bookings=bookings)


async def _customer_records(connector: Connector, event: CustomerUpdated) -> Records:
    if event.customer is not None:
        return _records(customers=[event.customer.remote()])
    since = event.occurred_at - HYDRATION_MARGIN
    return _records(
        customers=[c for c in await connector.list_customers(since) if c.local_id == event.local_customer_id]
    )


async def _stock_records(connector: Connector, event: InventoryChanged) -> Records:
    if event.stock is not None:
        return _records(stock=[event.stock.remote()])
    return _records(stock=[level for level in await connector.list_stock() if level.sku == event.sku])


async def _resource_records(connector: Connector, event: ResourceUnavailable) -> Records:
    if event.resource is not None:
        return _records(resources=[event.resource.remote()])
    return _records(resources=[r for r in await connector.list_resources() if r.local_id == event.local_resource_id])


@dataclass(frozen=True, slots=True)
class Hook:
    name: str  # the path's last segment
    model: type[Event]
    entity_type: str
    entity_id: Callable[[Any], str]
    records: Callable[[Connector, Any], Awaitable[Records]]
    summary: str


HOOKS = (
    Hook(
        "booking-created",
        BookingCreated,
        "booking",
        lambda e: e.local_booking_id,
        _booking_records,
        "A booking was made at the node",
    ),
    Hook(
        "customer-updated",
        CustomerUpdated,
        "customer",
        lambda e: e.local_customer_id,
        _customer_records,
        "A customer's profile changed at the node",
    ),
    Hook(
        "inventory-changed",
        InventoryChanged,
        "stock_level",
        lambda e: e.sku,
        _stock_records,
        "A stock level changed at the node",
    ),
    Hook(
        "resource-unavailable",
        ResourceUnavailable,
        "resource",
        lambda e: e.local_resource_id,
        _resource_records,
        "A staff member, room or equipment of the node became unavailable",
    ),
)


async def _verified_event(request: Request, hook: Hook, principal: Principal, raw: bytes) -> Event:
    services = services_of(request)
    node_id = node_id_of(principal)
    settings = request.app.state.settings
    now = utc_now()
    # Every generation still in force: a node that signed just before a rotation is not refused during the grace.
    secrets = await services.credentials.in_force(node_id, SECRET_NAME, now=now)
    try:
        verify(
            SCHEME,
            secrets,
            raw,
            request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            now=now,
            window_seconds=settings.bookingx_webhook_window_seconds,
        )
    except SignatureRejected as rejected:
        raise Refusal(401, f"bkx_{rejected.reason.value.lower()}", rejected.message) from None
    event = validated(hook.model, json_body(raw, code=INVALID_JSON), code=INVALID)
    require_same_node(principal, event.node_id)
    return event


async def _apply(request: Request, hook: Hook, principal: Principal, raw: bytes) -> WebhookAnswer:
    services = services_of(request)
    node_id = node_id_of(principal)
    event = await _verified_event(request, hook, principal, raw)
    connector = services.connectors.get(node_id)
    if connector is None:
        raise Refusal(503, "bkx_location_unavailable", f"the gateway cannot reach node {node_id}")
    try:
        records = await hook.records(connector, event)
    except ConnectorError as error:
        # Nothing received: the node sends the event again later (a receipt now would drop that retry).
        message = f"the event could not be read back from {node_id}: {error}"
        raise Refusal(503, "bkx_location_unavailable", message) from None
    delivery = Delivery(
        source=f"bookingx:{node_id}",
        event_id=event.event_id,
        payload_sha256=body_sha256(raw),
        entity_type=hook.entity_type,
        entity_id=hook.entity_id(event),
        occurred_at=event.occurred_at,
    )
    try:
        result = await apply_inbound(
            services.sync,
            node_id,
            customers=records.customers,
            bookings=records.bookings,
            resources=records.resources,
            stock=records.stock,
            delivery=delivery,
        )
    except DuplicateDelivery:
        raise Refusal(409, DUPLICATE, f"event {event.event_id} was received already") from None
    return WebhookAnswer(event_id=event.event_id, status="stale" if result.stale else "applied", applied=result.applied)


def _receiver(hook: Hook) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def receive(request: Request) -> JSONResponse:
        services = services_of(request)
        sender, location_id = "bookingx:unknown", None
        try:
            raw = await request.body()
            limit = request.app.state.settings.bookingx_webhook_max_bytes
            if len(raw) > limit:
                raise Refusal(413, TOO_LARGE, f"a webhook body is at most {limit} bytes")
            principal = await node_caller(request)
            location_id = node_id_of(principal)
            sender = f"bookingx:{location_id}"
            answer = await _apply(request, hook, principal, raw)
        except (Refusal, GatewayError) as refused:
            refusal = refused if isinstance(refused, Refusal) else WORDPRESS_ERRORS.passed_on(refused)
            await record_refusal(
                services.writer,
                sender=sender,
                endpoint=request.url.path,
                status=refusal.status,
                code=refusal.code,
                reason=refusal.message,
                location_id=location_id,
                request_id=request_id_of(request),
            )
            raise refusal from None
        # A pull of the node at once: what changed beside this event arrives now, not at the next poll.
        services.sync.request(location_id, trigger="webhook")
        return JSONResponse(answer.model_dump())

    return receive


def webhook_endpoints() -> list[Endpoint]:
    return [
        node_endpoint(
            "POST",
            f"webhook/{hook.name}",
            _receiver(hook),
            hook.summary,
            request_model=hook.model,
            response_model=WebhookAnswer,
            refusals={
                409: f"{DUPLICATE}: this event was received already",
                413: f"{TOO_LARGE}: the body is over the webhook limit",
                503: "bkx_location_unavailable: the event's record could not be read from the node; send it again",
            },
            headers={
                SIGNATURE_HEADER: HeaderDoc('"sha256=" + hex HMAC-SHA256(api_secret, "<timestamp>.<raw body>")'),
                TIMESTAMP_HEADER: HeaderDoc("Unix seconds when the node signed the delivery"),
            },
        )
        for hook in HOOKS
    ]
