"""Vagaro's webhooks: full events, the appointment or customer in Vagaro's camelCase.

Signed: `X-Vagaro-Signature: <hex HMAC-SHA256(webhook secret, raw body)>`. Vagaro signs no timestamp, so there
is no window: a replay is caught by its event id (`id`), and an old event cannot overwrite newer data (its
`createdDate` is the event's time).

Body:
    {"id": "<event id>", "type": "appointment|customer", "action": "created|updated|cancelled",
     "createdDate": "<ISO 8601 with offset>", "businessId": "...",
     "payload": {"appointmentId", "customerId", "serviceId", "serviceProviderId", "startTime", "endTime",
                 "bookingStatus": "Booked|Confirmed|Completed|Cancelled|NoShow", "amount": "45.00",
                 "currency": "GBP" (default: the location's), "notes"}
             or {"customerId", "firstName", "lastName", "email", "mobilePhone", "modifiedDate"}}
Vagaro keeps no revision numbers (the cache compares content) and no loyalty points (the mapping's stay).
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
    booking_event,
    customer_event,
)
from sync.webhooks.verify import Scheme

STATUSES = {
    "Booked": "pending",
    "Confirmed": "confirmed",
    "Completed": "completed",
    "Cancelled": "cancelled",
    "NoShow": "no_show",
}


class VagaroPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    appointmentId: LocalId | None = None
    customerId: LocalId
    serviceId: LocalId | None = None
    serviceProviderId: LocalId | None = None
    startTime: Moment | None = None
    endTime: Moment | None = None
    bookingStatus: Literal["Booked", "Confirmed", "Completed", "Cancelled", "NoShow"] | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    notes: Note = ""
    firstName: Name = ""
    lastName: Name = ""
    email: Email | None = None
    mobilePhone: Phone | None = None
    modifiedDate: Moment | None = None


class VagaroEvent(BaseModel):
    """A Vagaro webhook delivery."""

    model_config = ConfigDict(extra="ignore")

    id: EventId
    type: Literal["appointment", "customer"]
    action: Literal["created", "updated", "cancelled"]
    createdDate: Moment
    businessId: str | None = Field(default=None, max_length=64)
    payload: VagaroPayload

    @model_validator(mode="after")
    def _complete(self) -> VagaroEvent:
        if self.type == "appointment":
            payload = self.payload
            missing = [
                name
                for name in ("appointmentId", "serviceId", "startTime", "endTime", "bookingStatus", "amount")
                if getattr(payload, name) is None
            ]
            if missing:
                raise ValueError(f"an appointment event carries payload.{', payload.'.join(missing)}")
        return self


def normalise(event: VagaroEvent, facts: Facts) -> PlatformEvent:
    payload = event.payload
    if event.type == "customer":
        return customer_event(
            event.id,
            event.createdDate,
            local_id=payload.customerId,
            first_name=payload.firstName,
            last_name=payload.lastName,
            email=payload.email,
            phone=payload.mobilePhone,
            loyalty_points=None,
            version=0,
            updated_at=payload.modifiedDate or event.createdDate,
        )
    start, end, status, amount = payload.startTime, payload.endTime, payload.bookingStatus, payload.amount
    if payload.appointmentId is None or payload.serviceId is None or start is None or end is None:
        raise MalformedEvent("the appointment is incomplete")
    if status is None or amount is None:
        raise MalformedEvent("the appointment is incomplete")
    return booking_event(
        event.id,
        event.createdDate,
        local_id=payload.appointmentId,
        local_customer_id=payload.customerId,
        local_service_id=payload.serviceId,
        local_resource_id=payload.serviceProviderId,
        start_at=start,
        end_at=end,
        status="cancelled" if event.action == "cancelled" else STATUSES[status],
        price=amount,
        price_field="payload.amount",
        currency=payload.currency or facts.currency,
        notes=payload.notes,
        version=0,
        updated_at=event.createdDate,
    )


VAGARO = Platform(
    name="vagaro",
    scheme=Scheme(),
    signature_header="X-Vagaro-Signature",
    body=VagaroEvent,
    normalise=normalise,
    description="X-Vagaro-Signature: <hex HMAC-SHA256 of the body>; no timestamp (dedupe by event id)",
)
