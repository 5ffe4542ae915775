"""A node's writes through the hub: POST bookings (a booking made at the node, served at any location of the
network: createBooking), PUT customers (a profile change network-wide: updateCustomer) and POST staff (the
node's own staff as it holds them now, taken in as a pull of the node would take them)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, JsonValue, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse

from resolvers.bookings.create import CreateBooking, NewCustomer, create_booking
from resolvers.customers.commands import CustomerChanges, update_customer
from resolvers.permissions import Permission, require
from resolvers.results import WriteResult
from shims.bookingx.records import ResourceRecord
from shims.bookingx.wire import (
    INVALID,
    Moment,
    NodeId,
    Strict,
    node_context,
    node_endpoint,
    node_id_of,
    require_same_node,
)
from shims.common.callers import services_of
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_body
from shims.common.refusal import Refusal
from sync.apply.batch import derived_id
from sync.apply.inbound import apply_inbound
from sync.outbox.delivery import DeliveryStatus

IdempotencyKey = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
NetworkId = Field(min_length=1, max_length=64)


class Outcome(BaseModel):
    node_id: str = Field(max_length=64)
    status: Literal["delivered", "queued", "failed"]  # the delivery's status, in the spec's lowercase
    code: str | None = Field(max_length=64)
    reason: str | None = Field(max_length=2000)


def _outcomes(result: WriteResult) -> list[Outcome]:
    return [
        Outcome(node_id=o.location_id, status=o.status.value.lower(), code=o.code, reason=o.reason)  # type: ignore[arg-type]
        for o in result.outcomes
    ]


class NewCustomerBody(Strict):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, min_length=1, max_length=32)


class BookingBody(Strict):
    idempotency_key: str = IdempotencyKey
    node_id: NodeId | None = None
    service_id: str = NetworkId
    start_at: Moment
    global_customer_id: str | None = Field(default=None, min_length=1, max_length=64)
    customer: NewCustomerBody | None = None
    resource_id: str | None = Field(default=None, min_length=1, max_length=64)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    notes: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _one_customer(self) -> BookingBody:
        if (self.global_customer_id is None) == (self.customer is None):
            raise ValueError("give global_customer_id or customer, not both")
        return self


class BookingAnswer(BaseModel):
    global_booking_id: str = Field(max_length=64)
    originating_node_id: str = Field(max_length=64)
    service_node_id: str = Field(max_length=64)
    global_customer_id: str = Field(max_length=64)
    status: str = Field(max_length=20)
    start_at: datetime
    end_at: datetime
    price_minor: int
    currency: str = Field(max_length=3)
    outcomes: list[Outcome] = Field(max_length=100)


def _refused_at_owner(result: WriteResult) -> None:
    """The service location refused the booking: nothing was booked."""
    for outcome in result.outcomes:
        if outcome.status is DeliveryStatus.FAILED:
            code = f"bkx_{(outcome.code or 'rejected').lower()}"
            raise Refusal(409, code, outcome.reason or f"{outcome.location_id} refused the booking")


async def answer_booking(request: Request) -> JSONResponse:
    principal, context = await node_context(request)
    body = await parse_body(request, BookingBody, code=INVALID)
    require_same_node(principal, body.node_id)
    require(principal, Permission.BOOK, context.settings)
    customer = body.customer
    made = await create_booking(
        context,
        CreateBooking(
            idempotency_key=body.idempotency_key,
            start_at=body.start_at,
            service_id=body.service_id,
            originating_location_id=node_id_of(principal),
            customer_id=body.global_customer_id,
            new_customer=None if customer is None else NewCustomer(**customer.model_dump()),
            resource_id=body.resource_id,
            currency=body.currency,
            notes=body.notes,
        ),
    )
    _refused_at_owner(made)
    context.reset_loaders()
    booking = None if made.entity_id is None else await context.loaders.booking_by_id.load(made.entity_id)
    if booking is None:
        raise Refusal(409, "bkx_rejected", "the booking was not made")
    answer = BookingAnswer(
        global_booking_id=booking.id,
        originating_node_id=booking.originating_location_id,
        service_node_id=booking.service_location_id,
        global_customer_id=booking.customer_id,
        status=booking.status,
        start_at=booking.start_at,
        end_at=booking.end_at,
        price_minor=booking.price_minor,
        currency=booking.currency,
        outcomes=_outcomes(made),
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=201)


class CustomerBody(Strict):
    idempotency_key: str = IdempotencyKey
    global_customer_id: str = NetworkId
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, min_length=1, max_length=32)
    preferences: dict[str, JsonValue] | None = Field(default=None, max_length=50)


class CustomerAnswer(BaseModel):
    global_customer_id: str = Field(max_length=64)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    email: str | None = Field(max_length=254)
    phone: str | None = Field(max_length=32)
    version: int
    outcomes: list[Outcome] = Field(max_length=100)


async def answer_customer(request: Request) -> JSONResponse:
    principal, context = await node_context(request)
    body = await parse_body(request, CustomerBody, code=INVALID)
    require(principal, Permission.EDIT_CUSTOMERS, context.settings)
    changes = CustomerChanges(
        first_name=body.first_name,
        last_name=body.last_name,
        email=body.email,
        phone=body.phone,
        preferences=body.preferences,
    )
    written = await update_customer(
        context, customer_id=body.global_customer_id, changes=changes, key=body.idempotency_key
    )
    context.reset_loaders()
    customer = await context.loaders.customer_by_id.load(body.global_customer_id)
    assert customer is not None  # update_customer found it in the caller's scope
    answer = CustomerAnswer(
        global_customer_id=customer.id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone,
        version=customer.version,
        outcomes=_outcomes(written),
    )
    return JSONResponse(answer.model_dump(mode="json"))


class StaffBody(Strict):
    node_id: NodeId | None = None
    staff: list[ResourceRecord] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _staff_only(self) -> StaffBody:
        if any(member.resource_type != "staff" for member in self.staff):
            raise ValueError("staff: every record is a staff member (resource_type staff)")
        return self


class StaffMember(BaseModel):
    local_resource_id: str = Field(max_length=64)
    global_resource_id: str = Field(max_length=64)
    is_active: bool


class StaffAnswer(BaseModel):
    node_id: str = Field(max_length=64)
    created: int = Field(ge=0)
    updated: int = Field(ge=0)
    unchanged: int = Field(ge=0)
    staff: list[StaffMember] = Field(max_length=200)


async def answer_staff(request: Request) -> JSONResponse:
    principal, _ = await node_context(request)
    body = await parse_body(request, StaffBody, code=INVALID)
    require_same_node(principal, body.node_id)
    # The node owns its staff: its word is taken as a pull of it would take it, no grant beyond being the node.
    node_id = node_id_of(principal)
    result = await apply_inbound(services_of(request).sync, node_id, resources=[m.remote() for m in body.staff])
    answer = StaffAnswer(
        node_id=node_id,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        staff=[
            StaffMember(
                local_resource_id=member.local_resource_id,
                global_resource_id=derived_id("res", node_id, member.local_resource_id),
                is_active=member.is_active,
            )
            for member in body.staff
        ],
    )
    return JSONResponse(answer.model_dump(mode="json"))


def write_endpoints() -> list[Endpoint]:
    return [
        node_endpoint(
            "POST",
            "bookings",
            answer_booking,
            "A booking made at the node, for a service at any location of the network",
            request_model=BookingBody,
            response_model=BookingAnswer,
            success_status=201,
            refusals={
                404: "rest_not_found: no such service, customer or resource",
                409: "bkx_slot_unavailable (the slot is taken) or the serving location's refusal",
                422: "bkx_idempotency_key_reused: the key was used for another request",
                503: "bkx_location_unavailable: the serving location cannot take bookings now",
            },
        ),
        node_endpoint(
            "PUT",
            "customers",
            answer_customer,
            "A customer's profile changed at the node: changed network-wide",
            request_model=CustomerBody,
            response_model=CustomerAnswer,
            refusals={
                404: "rest_not_found: no customer known to this node has that id",
                422: "bkx_idempotency_key_reused: the key was used for another request",
            },
        ),
        node_endpoint(
            "POST",
            "staff",
            answer_staff,
            "The node's staff as it holds them now (new, changed, unavailable: is_active false)",
            request_model=StaffBody,
            response_model=StaffAnswer,
        ),
    ]
