"""booking.webhook: an event of the owner's own webhook protocol about a booking, for what the Connector has no
method for (an admin's notes on a OneBooking website's booking, a test event). The cache changed already; the
owner only hears of it, so neither an answer nor a refusal changes anything here."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Self

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import Booking
from sources.cache.revenue import SplitRules
from sources.connectors.base import Connector, SendsBookingWebhooks
from sources.connectors.errors import OperationNotSupported, UpstreamRejected
from sources.connectors.records import RecordType
from sync.outbox.messages.base import DeliveryEffects, Message


@dataclasses.dataclass(frozen=True, slots=True)
class BookingWebhookMessage(Message[None]):
    op: ClassVar[str] = "booking.webhook"
    entity_type: ClassVar[RecordType] = RecordType.BOOKING

    booking_id: str
    local_booking_id: str
    event: str
    data: dict[str, str]
    updated_by: str

    def entity_id(self, location_id: str) -> str:
        return self.booking_id

    async def prepare(self, session: AsyncSession) -> Self:
        local_id = (
            await session.execute(select(Booking.local_booking_id).where(Booking.id == self.booking_id))
        ).scalar()
        return dataclasses.replace(self, local_booking_id=local_id or self.local_booking_id)

    async def send(self, connector: Connector, key: str) -> None:
        if not isinstance(connector, SendsBookingWebhooks):
            raise OperationNotSupported(connector.location_id, "this location takes no booking webhooks")
        await connector.send_booking_webhook(self.event, self.local_booking_id, self.data, key, self.updated_by)

    async def delivered(self, session: AsyncSession, location_id: str, ack: None, split: SplitRules) -> DeliveryEffects:
        return DeliveryEffects()

    async def rejected(self, session: AsyncSession, location_id: str, error: UpstreamRejected) -> DeliveryEffects:
        return DeliveryEffects()
