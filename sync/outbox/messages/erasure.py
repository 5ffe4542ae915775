"""customer.erase: a customer's record anonymised at a location that knows them (an erasure request's part there).

Delivered, it records the location's outcome on the request; the request is completed when no location waits."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import DataSubjectRequest
from sources.cache.revenue import SplitRules
from sources.cache.types import utc_now
from sources.connectors.base import Connector
from sources.connectors.erasure import erase_customer, erased_details
from sources.connectors.errors import UpstreamRejected
from sources.connectors.records import CustomerAck, RecordType
from sync.apply.state import CUSTOMER_FIELDS, agree
from sync.outbox.messages.base import DeliveryEffects, Message

QUEUED, DELIVERED, FAILED = "queued", "delivered", "failed"


async def record_outcome(
    session: AsyncSession, request_id: str, location_id: str, status: str, detail: str | None = None
) -> None:
    request = await session.get(DataSubjectRequest, request_id, with_for_update=True)
    if request is None:
        return
    outcomes = dict(request.outcomes or {})
    outcomes[location_id] = {"status": status, "detail": detail}
    request.outcomes = outcomes
    if all(outcome.get("status") != QUEUED for outcome in outcomes.values()):
        request.status = "completed"
        request.completed_at = request.completed_at or utc_now()


@dataclasses.dataclass(frozen=True, slots=True)
class CustomerEraseMessage(Message[CustomerAck]):
    op: ClassVar[str] = "customer.erase"
    entity_type: ClassVar[RecordType] = RecordType.CUSTOMER

    customer_id: str
    local_customer_id: str
    request_id: str

    def entity_id(self, location_id: str) -> str:
        return self.customer_id

    async def send(self, connector: Connector, key: str) -> CustomerAck:
        return await erase_customer(connector, self.local_customer_id, self.customer_id, key)

    async def delivered(
        self, session: AsyncSession, location_id: str, ack: CustomerAck, split: SplitRules
    ) -> DeliveryEffects:
        details = erased_details(self.customer_id)
        image = {name: getattr(details, name) for name in CUSTOMER_FIELDS}
        await agree(session, RecordType.CUSTOMER, self.customer_id, location_id, ack.version, image)
        await record_outcome(session, self.request_id, location_id, DELIVERED)
        return DeliveryEffects()

    async def rejected(self, session: AsyncSession, location_id: str, error: UpstreamRejected) -> DeliveryEffects:
        await record_outcome(session, self.request_id, location_id, FAILED, f"{error.code.value}: {error.message}")
        return DeliveryEffects()
