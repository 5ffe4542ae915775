"""booking.create, booking.reschedule and booking.cancel: what is sent to the service location, and
what its answer does to the cached booking (a refused write is undone from the before-image)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, ClassVar, Self

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.booking_revenue import replace_revenue_entries
from sources.cache.journal import log_change
from sources.cache.models import Booking, CustomerMapping, Resource
from sources.cache.revenue import SplitRules
from sources.cache.vocabulary import ACTIVE_BOOKING_STATUSES
from sources.connectors.base import Connector
from sources.connectors.errors import RejectionCode, UpstreamRejected
from sources.connectors.records import BookingAck, BookingRequest, CustomerDetails, RecordType
from sync.apply.state import BOOKING_FIELDS, agree, image_of
from sync.events import BookingChange, booking_event
from sync.outbox.messages.base import DeliveryEffects, Message, encode_value, new_mapping


@dataclasses.dataclass(frozen=True, slots=True)
class BookingBefore:
    """The booking as its location held it before a change: what a refused change puts back."""

    status: str
    start_at: datetime
    end_at: datetime
    resource_id: str | None

    @classmethod
    def of(cls, booking: Booking) -> BookingBefore:
        return cls(booking.status, booking.start_at, booking.end_at, booking.resource_id)


@dataclasses.dataclass(frozen=True, slots=True)
class BookingCreateMessage(Message[BookingAck]):
    op: ClassVar[str] = "booking.create"
    entity_type: ClassVar[RecordType] = RecordType.BOOKING

    booking_id: str
    customer: CustomerDetails
    local_service_id: str
    start_at: datetime
    end_at: datetime
    price_minor: int
    currency: str
    local_customer_id: str | None = None  # None: the location creates the customer
    local_resource_id: str | None = None  # None: the location picks a free resource
    notes: str = ""
    originating_location_id: str | None = None

    def entity_id(self, location_id: str) -> str:
        return self.booking_id

    async def send(self, connector: Connector, key: str) -> BookingAck:
        return await connector.create_booking(
            BookingRequest(
                global_id=self.booking_id,
                idempotency_key=key,
                customer=self.customer,
                local_customer_id=self.local_customer_id,
                local_service_id=self.local_service_id,
                local_resource_id=self.local_resource_id,
                start_at=self.start_at,
                end_at=self.end_at,
                price_minor=self.price_minor,
                currency=self.currency,
                notes=self.notes,
                originating_location_id=self.originating_location_id,
            )
        )

    async def delivered(
        self, session: AsyncSession, location_id: str, ack: BookingAck, split: SplitRules
    ) -> DeliveryEffects:
        booking = await session.get_one(Booking, self.booking_id)
        booking.local_booking_id = ack.local_id
        booking.status = ack.status if ack.status in ACTIVE_BOOKING_STATUSES else "confirmed"
        booking.version = max(booking.version, ack.version)
        if booking.resource_id is None and ack.local_resource_id:
            resource = (
                await session.execute(
                    select(Resource.id).where(
                        Resource.location_id == location_id, Resource.local_resource_id == ack.local_resource_id
                    )
                )
            ).scalar()
            booking.resource_id = resource or ack.local_resource_id
        mapping = (
            await session.execute(
                select(CustomerMapping).where(
                    CustomerMapping.customer_id == booking.customer_id, CustomerMapping.location_id == location_id
                )
            )
        ).scalar()
        if mapping is None and ack.local_customer_id:
            session.add(new_mapping(booking.customer_id, location_id, ack.local_customer_id))
        await session.flush()
        await replace_revenue_entries(session, booking, split)
        await log_change(
            session,
            entity_type=RecordType.BOOKING,
            entity_id=booking.id,
            location_id=location_id,
            operation="create",
            before=None,
            after={
                "status": booking.status,
                "start_at": booking.start_at,
                "end_at": booking.end_at,
                "resource_id": booking.resource_id,
                "local_booking_id": booking.local_booking_id,
            },
            version=booking.version,
        )
        await agree(
            session, RecordType.BOOKING, booking.id, location_id, ack.version, image_of(booking, BOOKING_FIELDS)
        )
        return DeliveryEffects((booking_event(booking, BookingChange.CREATED),))

    async def rejected(self, session: AsyncSession, location_id: str, error: UpstreamRejected) -> DeliveryEffects:
        # The booking never existed at its owner: remove the claim entirely.
        booking = await session.get(Booking, self.booking_id)
        await session.execute(delete(Booking).where(Booking.id == self.booking_id))
        if booking is None:
            return DeliveryEffects()
        return DeliveryEffects((booking_event(booking, BookingChange.REJECTED),))


@dataclasses.dataclass(frozen=True, slots=True)
class _BookingChange(Message[BookingAck]):
    """A change to a booking its location holds; the local id is read again when it is sent."""

    entity_type: ClassVar[RecordType] = RecordType.BOOKING
    change: ClassVar[BookingChange]  # what the booking.changed event calls it

    booking_id: str
    local_booking_id: str
    before: BookingBefore

    def entity_id(self, location_id: str) -> str:
        return self.booking_id

    def encode(self) -> dict[str, Any]:
        return {**Message.encode(self), "change": self.change.value}

    def expects_version(self) -> bool:
        return True

    async def prepare(self, session: AsyncSession) -> Self:
        """A change may have been queued before the create it follows was delivered: read the id now."""
        local_id = (
            await session.execute(select(Booking.local_booking_id).where(Booking.id == self.booking_id))
        ).scalar()
        return dataclasses.replace(self, local_booking_id=local_id or self.local_booking_id or "")

    async def delivered(
        self, session: AsyncSession, location_id: str, ack: BookingAck, split: SplitRules
    ) -> DeliveryEffects:
        booking = await session.get_one(Booking, self.booking_id)
        booking.version = max(booking.version + 1, ack.version)
        await replace_revenue_entries(session, booking, split)
        await log_change(
            session,
            entity_type=RecordType.BOOKING,
            entity_id=booking.id,
            location_id=location_id,
            operation="update",
            before=encode_value(self.before),
            after={
                "status": booking.status,
                "start_at": booking.start_at,
                "end_at": booking.end_at,
                "resource_id": booking.resource_id,
            },
            version=booking.version,
        )
        image = image_of(booking, BOOKING_FIELDS)
        await agree(session, RecordType.BOOKING, booking.id, location_id, ack.version, image)
        return DeliveryEffects((booking_event(booking, self.change),))

    async def rejected(self, session: AsyncSession, location_id: str, error: UpstreamRejected) -> DeliveryEffects:
        if error.code is RejectionCode.STALE_VERSION:
            # Not a refusal of the change itself: the location moved on. Keep ours; the pull finds the conflict.
            return DeliveryEffects(resync_location_id=location_id)
        booking = await session.get_one(Booking, self.booking_id)
        before = self.before
        booking.status, booking.start_at, booking.end_at = before.status, before.start_at, before.end_at
        booking.resource_id = before.resource_id
        return DeliveryEffects((booking_event(booking, BookingChange.CHANGE_REJECTED),))


@dataclasses.dataclass(frozen=True, slots=True)
class BookingRescheduleMessage(_BookingChange):
    op: ClassVar[str] = "booking.reschedule"
    change: ClassVar[BookingChange] = BookingChange.RESCHEDULED

    start_at: datetime
    end_at: datetime
    local_resource_id: str | None = None
    expected_version: int | None = None

    def expecting(self, version: int) -> Self:
        return dataclasses.replace(self, expected_version=version)

    async def send(self, connector: Connector, key: str) -> BookingAck:
        return await connector.reschedule_booking(
            self.local_booking_id,
            self.start_at,
            self.end_at,
            self.local_resource_id,
            key,
            expected_version=self.expected_version,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class BookingCancelMessage(_BookingChange):
    op: ClassVar[str] = "booking.cancel"
    change: ClassVar[BookingChange] = BookingChange.CANCELLED

    reason: str = ""
    expected_version: int | None = None

    def expecting(self, version: int) -> Self:
        return dataclasses.replace(self, expected_version=version)

    async def send(self, connector: Connector, key: str) -> BookingAck:
        return await connector.cancel_booking(
            self.local_booking_id, self.reason, key, expected_version=self.expected_version
        )
