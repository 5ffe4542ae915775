"""Phorest's webhooks: full events, the appointment or client in Phorest's API spelling.

Signed with a timestamp (decided here; Phorest's partner webhooks are not publicly documented):
`X-Phorest-Timestamp: <Unix seconds>`, `X-Phorest-Signature: v1=<hex HMAC-SHA256(webhook secret,
"<timestamp>.<raw body>")>`, within 5 minutes of the gateway's clock.

Body:
    {"eventId": "...", "eventType": "APPOINTMENT_CREATED|APPOINTMENT_UPDATED|APPOINTMENT_CANCELLED|
     CLIENT_CREATED|CLIENT_UPDATED", "timestamp": "<ISO 8601 with offset>", "businessId": "...", "branchId": "...",
     "appointment": {"appointmentId", "clientId", "serviceId", "staffId", "startTime", "endTime",
                     "state": "BOOKED|CONFIRMED|CHECKED_IN|PAID|CANCELLED|NO_SHOW", "price": 45.00,
                     "currency" (default: the location's), "notes", "version", "updatedAt"}
     or "client": {"clientId", "firstName", "lastName", "email", "mobile", "version", "updatedAt"}}
Phorest's `version` is the record's revision; it keeps no loyalty points here (the mapping's stay).
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
    Revision,
    booking_event,
    customer_event,
)
from sync.webhooks.verify import Scheme

STATES = {
    "BOOKED": "pending",
    "CONFIRMED": "confirmed",
    "CHECKED_IN": "confirmed",
    "PAID": "completed",
    "CANCELLED": "cancelled",
    "NO_SHOW": "no_show",
}
APPOINTMENT_EVENTS = ("APPOINTMENT_CREATED", "APPOINTMENT_UPDATED", "APPOINTMENT_CANCELLED")


class PhorestAppointment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    appointmentId: LocalId
    clientId: LocalId
    serviceId: LocalId
    staffId: LocalId | None = None
    startTime: Moment
    endTime: Moment
    state: Literal["BOOKED", "CONFIRMED", "CHECKED_IN", "PAID", "CANCELLED", "NO_SHOW"]
    price: Amount
    currency: Currency | None = None
    notes: Note = ""
    version: Revision
    updatedAt: Moment


class PhorestClient(BaseModel):
    model_config = ConfigDict(extra="ignore")

    clientId: LocalId
    firstName: Name = ""
    lastName: Name = ""
    email: Email | None = None
    mobile: Phone | None = None
    version: Revision
    updatedAt: Moment


class PhorestEvent(BaseModel):
    """A Phorest webhook delivery."""

    model_config = ConfigDict(extra="ignore")

    eventId: EventId
    eventType: Literal[
        "APPOINTMENT_CREATED", "APPOINTMENT_UPDATED", "APPOINTMENT_CANCELLED", "CLIENT_CREATED", "CLIENT_UPDATED"
    ]
    timestamp: Moment
    businessId: str | None = Field(default=None, max_length=64)
    branchId: str | None = Field(default=None, max_length=64)
    appointment: PhorestAppointment | None = None
    client: PhorestClient | None = None

    @model_validator(mode="after")
    def _carries_its_record(self) -> PhorestEvent:
        wanted = "appointment" if self.eventType in APPOINTMENT_EVENTS else "client"
        if getattr(self, wanted) is None:
            raise ValueError(f"a {self.eventType} event carries {wanted}")
        return self


def normalise(event: PhorestEvent, facts: Facts) -> PlatformEvent:
    appointment, client = event.appointment, event.client
    if appointment is not None and event.eventType in APPOINTMENT_EVENTS:
        return booking_event(
            event.eventId,
            event.timestamp,
            local_id=appointment.appointmentId,
            local_customer_id=appointment.clientId,
            local_service_id=appointment.serviceId,
            local_resource_id=appointment.staffId,
            start_at=appointment.startTime,
            end_at=appointment.endTime,
            status="cancelled" if event.eventType == "APPOINTMENT_CANCELLED" else STATES[appointment.state],
            price=appointment.price,
            price_field="appointment.price",
            currency=appointment.currency or facts.currency,
            notes=appointment.notes,
            version=appointment.version,
            updated_at=appointment.updatedAt,
        )
    if client is None:
        raise MalformedEvent("the event carries no client")
    return customer_event(
        event.eventId,
        event.timestamp,
        local_id=client.clientId,
        first_name=client.firstName,
        last_name=client.lastName,
        email=client.email,
        phone=client.mobile,
        loyalty_points=None,
        version=client.version,
        updated_at=client.updatedAt,
    )


PHOREST = Platform(
    name="phorest",
    scheme=Scheme(prefix="v1=", timestamped=True),
    signature_header="X-Phorest-Signature",
    timestamp_header="X-Phorest-Timestamp",
    body=PhorestEvent,
    normalise=normalise,
    description="X-Phorest-Signature: v1=<hex HMAC-SHA256 of '<X-Phorest-Timestamp>.<body>'>, 5-minute window",
)
