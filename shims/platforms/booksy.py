"""Booksy's webhooks (specs/booksy-integration.md, POST /api/webhooks/booksy).

Signed: `X-Booksy-Signature: sha256=<hex HMAC-SHA256(webhook secret, "<X-Booksy-Timestamp>.<raw body>")>`,
`X-Booksy-Timestamp: <Unix seconds>`, within 5 minutes of the gateway's clock. (Booksy's partner webhooks are
not publicly documented; this is the timestamped form the spec's BOOKSY_WEBHOOK_SECRET asks for, so a captured
delivery cannot be replayed later.)

Body: a full event, the record in the same shape as the platform's REST API (sources/connectors/platform.py):
    {"event_id": "...", "event_type": "appointment.created|appointment.updated|appointment.cancelled|
     customer.created|customer.updated", "occurred_at": "<ISO 8601 with offset>", "business_id": "...",
     "data": {"appointment": {id, client_id, service_id, staff_id, starts_at, ends_at, status, price:
     {amount, currency}, note, revision, external_reference, updated_at}} or {"customer": {id, first_name,
     last_name, email, mobile, points_balance, revision, updated_at}}}
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shims.platforms.event import (
    Amount,
    Currency,
    Email,
    EventId,
    Facts,
    LocalId,
    MalformedEvent,
    Moment,
    Name,
    Note,
    Phone,
    Platform,
    PlatformEvent,
    Points,
    Revision,
    booking_event,
    customer_event,
)
from sources.connectors.platform_wire import STATUS_IN
from sync.webhooks.verify import Scheme

BooksyStatus = Literal["booked", "confirmed", "finished", "cancelled", "no_show"]
BOOKING_EVENTS = ("appointment.created", "appointment.updated", "appointment.cancelled")


class BooksyPrice(BaseModel):
    amount: Amount
    currency: Currency


class BooksyAppointment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: LocalId
    client_id: LocalId
    service_id: LocalId
    staff_id: LocalId | None = None
    starts_at: Moment
    ends_at: Moment
    status: BooksyStatus
    price: BooksyPrice
    note: Note = ""
    revision: Revision
    external_reference: LocalId | None = None
    updated_at: Moment


class BooksyCustomer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: LocalId
    first_name: Name = ""
    last_name: Name = ""
    email: Email | None = None
    mobile: Phone | None = None
    points_balance: Points | None = None
    revision: Revision
    updated_at: Moment


class BooksyData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    appointment: BooksyAppointment | None = None
    customer: BooksyCustomer | None = None


class BooksyEvent(BaseModel):
    """A Booksy webhook delivery."""

    model_config = ConfigDict(extra="ignore")

    event_id: EventId
    event_type: Literal[
        "appointment.created", "appointment.updated", "appointment.cancelled", "customer.created", "customer.updated"
    ]
    occurred_at: Moment
    business_id: str | None = Field(default=None, max_length=64)
    data: BooksyData

    @model_validator(mode="after")
    def _carries_its_record(self) -> BooksyEvent:
        wanted = "appointment" if self.event_type in BOOKING_EVENTS else "customer"
        if getattr(self.data, wanted) is None:
            raise ValueError(f"a {self.event_type} event carries data.{wanted}")
        return self


def normalise(event: BooksyEvent, facts: Facts) -> PlatformEvent:
    appointment, customer = event.data.appointment, event.data.customer
    if event.event_type in BOOKING_EVENTS:
        assert appointment is not None  # the model requires it
        return booking_event(
            event.event_id,
            event.occurred_at,
            local_id=appointment.id,
            local_customer_id=appointment.client_id,
            local_service_id=appointment.service_id,
            local_resource_id=appointment.staff_id,
            start_at=appointment.starts_at,
            end_at=appointment.ends_at,
            status="cancelled" if event.event_type == "appointment.cancelled" else STATUS_IN[appointment.status],
            price=appointment.price.amount,
            price_field="data.appointment.price.amount",
            currency=appointment.price.currency,
            notes=appointment.note,
            version=appointment.revision,
            updated_at=appointment.updated_at,
            global_id=appointment.external_reference,
        )
    if customer is None:
        raise MalformedEvent("the event carries no customer")
    return customer_event(
        event.event_id,
        event.occurred_at,
        local_id=customer.id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.mobile,
        loyalty_points=customer.points_balance,
        version=customer.revision,
        updated_at=customer.updated_at,
    )


BOOKSY = Platform(
    name="booksy",
    scheme=Scheme(prefix="sha256=", timestamped=True),
    signature_header="X-Booksy-Signature",
    timestamp_header="X-Booksy-Timestamp",
    body=BooksyEvent,
    normalise=normalise,
    description="X-Booksy-Signature: sha256=<hex HMAC-SHA256 of '<X-Booksy-Timestamp>.<body>'>, 5-minute window",
)
