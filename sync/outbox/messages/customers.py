"""customer.upsert and customer.merge: a customer's record sent to a location that knows them, and
two of its records at one location made one."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import audit
from sources.cache.models import Customer, CustomerMapping
from sources.cache.revenue import SplitRules
from sources.connectors.base import Connector
from sources.connectors.errors import RejectionCode, UpstreamRejected
from sources.connectors.records import CustomerAck, CustomerDetails, RecordType
from sync.apply.state import CUSTOMER_FIELDS, agree
from sync.events import customer_event
from sync.outbox.messages.base import DeliveryEffects, Message, decode_fields, new_mapping
from sync.outbox.rows import in_each, load_sync_states


def customer_details(customer: Customer) -> CustomerDetails:
    """The customer as a location is sent them."""
    return CustomerDetails(
        global_id=customer.id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone,
        preferences=customer.preferences or {},
    )


async def _rejected(
    session: AsyncSession, customer_id: str, location_id: str, error: UpstreamRejected
) -> DeliveryEffects:
    # The network record stays as the caller set it; the location keeps its own until a person looks.
    await audit(
        session,
        actor="gateway",
        action="customer.update_rejected",
        entity_type=RecordType.CUSTOMER,
        entity_id=customer_id,
        location_id=location_id,
        request_id=None,
        details={"code": error.code.value, "message": error.message},
    )
    if error.code is RejectionCode.STALE_VERSION:
        return DeliveryEffects(resync_location_id=location_id)
    return DeliveryEffects()


@dataclasses.dataclass(frozen=True, slots=True)
class CustomerUpsertMessage(Message[CustomerAck]):
    op: ClassVar[str] = "customer.upsert"
    entity_type: ClassVar[RecordType] = RecordType.CUSTOMER

    customer_id: str
    local_customer_id: str | None  # None: the location does not know them yet
    details: CustomerDetails
    expected_version: int | None = None

    @classmethod
    def of(cls, customer: Customer, local_customer_id: str | None) -> CustomerUpsertMessage:
        return cls(customer.id, local_customer_id, customer_details(customer))

    def entity_id(self, location_id: str) -> str:
        return self.customer_id

    def expects_version(self) -> bool:
        return bool(self.local_customer_id)  # a create has no version to expect

    def expecting(self, version: int) -> Self:
        return dataclasses.replace(self, expected_version=version)

    async def send(self, connector: Connector, key: str) -> CustomerAck:
        return await connector.upsert_customer(
            self.local_customer_id, self.details, key, expected_version=self.expected_version
        )

    async def delivered(
        self, session: AsyncSession, location_id: str, ack: CustomerAck, split: SplitRules
    ) -> DeliveryEffects:
        return (await self.delivered_all(session, [(self, location_id, ack)], split))[0]

    @classmethod
    async def delivered_all(
        cls,
        session: AsyncSession,
        deliveries: Sequence[tuple[CustomerUpsertMessage, str, CustomerAck]],
        split: SplitRules,
    ) -> list[DeliveryEffects]:
        """Each location that did not know the customer gets its mapping, each its agreement at the version it
        answered. The mappings and agreements are read in one statement each, whatever the number of locations,
        and nothing is written before all are read (an autoflush per location would be a statement each too)."""
        pairs = [(message.customer_id, location_id) for message, location_id, _ in deliveries]
        mapped: set[tuple[str, str]] = set()
        if pairs:
            known = await session.execute(
                select(CustomerMapping.customer_id, CustomerMapping.location_id).where(
                    *in_each(pairs, CustomerMapping.customer_id, CustomerMapping.location_id)
                )
            )
            mapped = {(customer_id, location_id) for customer_id, location_id in known} & set(pairs)
        # Held here: the session keeps the rows it loaded only weakly, and `agree` finds them there by key.
        agreed = await load_sync_states(session, [(RecordType.CUSTOMER, *pair) for pair in pairs])
        effects = []
        for message, location_id, ack in deliveries:
            if (message.customer_id, location_id) not in mapped:
                mapped.add((message.customer_id, location_id))
                session.add(new_mapping(message.customer_id, location_id, ack.local_id))
            image = {name: getattr(message.details, name) for name in CUSTOMER_FIELDS}
            await agree(session, RecordType.CUSTOMER, message.customer_id, location_id, ack.version, image)
            effects.append(DeliveryEffects((customer_event(message.customer_id, location_id),)))
        del agreed
        return effects

    async def rejected(self, session: AsyncSession, location_id: str, error: UpstreamRejected) -> DeliveryEffects:
        return await _rejected(session, self.customer_id, location_id, error)


@dataclasses.dataclass(frozen=True, slots=True)
class CustomerMergeMessage(Message[None]):
    """At one location, the duplicate's record is merged into the kept customer's."""

    op: ClassVar[str] = "customer.merge"
    entity_type: ClassVar[RecordType] = RecordType.CUSTOMER

    customer_id: str  # the kept customer
    keep_local_id: str
    remove_local_id: str
    merged_customer_id: str  # the network id of the customer merged away

    @classmethod
    def decode(cls, data: Mapping[str, Any]) -> Self:
        # Rows queued before messages were typed name the merged customer only in the event they carried.
        legacy: Any = data.get("event")
        if "merged_customer_id" not in data and isinstance(legacy, dict) and "mergedCustomerId" in legacy:
            data = {**data, "merged_customer_id": legacy["mergedCustomerId"]}
        result: Self = decode_fields(cls, data)
        return result

    def entity_id(self, location_id: str) -> str:
        return self.customer_id

    async def send(self, connector: Connector, key: str) -> None:
        await connector.merge_customers(self.keep_local_id, self.remove_local_id, key)

    async def delivered(self, session: AsyncSession, location_id: str, ack: None, split: SplitRules) -> DeliveryEffects:
        return DeliveryEffects((customer_event(self.customer_id, None, merged_customer_id=self.merged_customer_id),))

    async def rejected(self, session: AsyncSession, location_id: str, error: UpstreamRejected) -> DeliveryEffects:
        return await _rejected(session, self.customer_id, location_id, error)
