"""Mindbody's webhooks: thin events, naming the appointment or client only; the record is fetched from the
location's connector before it is applied (what Mindbody's own docs advise: the event says what changed, the
API says what it is now).

Signed as Mindbody signs: `X-Mindbody-Signature: sha256=<base64 HMAC-SHA256(messageSignatureKey, raw body)>`,
the key being the location's webhook secret. No timestamp is signed: a replay is caught by `messageId`.

Body:
    {"messageId": "...", "eventId": "appointmentBooking.created|appointmentBooking.updated|
     appointmentBooking.cancelled|client.created|client.updated", "eventSchemaVersion": 1,
     "eventInstanceOriginationDateTime": "<ISO 8601 with offset>",
     "eventData": {"siteId": 123, "appointmentId": "..."} or {"siteId": 123, "clientId": "..."}}
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shims.platforms.event import EventId, Facts, LocalId, MalformedEvent, Moment, Platform, PlatformEvent, Subject
from sync.webhooks.verify import Scheme

APPOINTMENT_EVENTS = ("appointmentBooking.created", "appointmentBooking.updated", "appointmentBooking.cancelled")


class MindbodyEventData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    siteId: int | None = Field(default=None, ge=0, le=2**31 - 1)
    appointmentId: LocalId | None = None
    clientId: LocalId | None = None


class MindbodyEvent(BaseModel):
    """A Mindbody webhook delivery."""

    model_config = ConfigDict(extra="ignore")

    messageId: EventId
    eventId: Literal[
        "appointmentBooking.created",
        "appointmentBooking.updated",
        "appointmentBooking.cancelled",
        "client.created",
        "client.updated",
    ]
    eventSchemaVersion: int = Field(default=1, ge=1, le=100)
    eventInstanceOriginationDateTime: Moment
    eventData: MindbodyEventData

    @model_validator(mode="after")
    def _names_its_record(self) -> MindbodyEvent:
        wanted = "appointmentId" if self.eventId in APPOINTMENT_EVENTS else "clientId"
        if getattr(self.eventData, wanted) is None:
            raise ValueError(f"a {self.eventId} event names eventData.{wanted}")
        return self


def normalise(event: MindbodyEvent, facts: Facts) -> PlatformEvent:
    data = event.eventData
    if event.eventId in APPOINTMENT_EVENTS:
        subject, local_id = Subject.BOOKING, data.appointmentId
    else:
        subject, local_id = Subject.CUSTOMER, data.clientId
    if local_id is None:
        raise MalformedEvent("the event names no record")
    return PlatformEvent(event.messageId, event.eventInstanceOriginationDateTime, subject, local_id, thin=True)


MINDBODY = Platform(
    name="mindbody",
    scheme=Scheme(prefix="sha256=", encoding="base64"),
    signature_header="X-Mindbody-Signature",
    body=MindbodyEvent,
    normalise=normalise,
    description="X-Mindbody-Signature: sha256=<base64 HMAC-SHA256 of the body>; thin events, fetched from the "
    "location before they are applied",
)
