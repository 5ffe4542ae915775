"""What recordConsent and withdrawConsent both take, and both answer."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers.customers.consent_writes import ConsentChange, ConsentChannel
from resolvers.customers.consents import Purpose
from schema.customers.consent_types import ConsentRecord
from schema.customers.types import Customer
from schema.locations.types import Location
from schema.payloads import MutationPayload
from schema.write_inputs import PayloadParts, idempotency_key_field, key_for, load_customer, optional_key_for


@strawberry.input(description="A consent given or withdrawn by a customer, and how.")
class ConsentInput:
    idempotency_key: str = idempotency_key_field()
    customer_id: strawberry.ID = strawberry.field(description="Global id of the customer.")
    purpose: Purpose = strawberry.field(description="What the consent is for.")
    channel: ConsentChannel = strawberry.field(description="How the customer gave or withdrew it.")
    location_id: strawberry.ID | None = strawberry.field(
        default=None, description="The location it was given through; the caller must act for it (not a customer)."
    )
    ip_address: str | None = strawberry.field(
        default=None, description="The customer's IPv4 or IPv6 address, where known."
    )
    user_agent: str | None = strawberry.field(
        default=None, description="The customer's browser or app, where known; at most 500 characters."
    )


def to_change(data: ConsentInput, expires_at: datetime | None = None) -> ConsentChange:
    return ConsentChange(
        customer_id=key_for(data.customer_id, "Customer", "customerId"),
        purpose=data.purpose,
        channel=data.channel,
        location_id=optional_key_for(data.location_id, "Location", "locationId"),
        expires_at=expires_at,
        ip_address=data.ip_address,
        user_agent=data.user_agent,
    )


@strawberry.type(description="The answer to recordConsent and withdrawConsent.")
class ConsentPayload(MutationPayload):
    record_key: strawberry.Private[str | None]
    customer_key: strawberry.Private[str | None]
    held_at_keys: strawberry.Private[list[str]]

    @classmethod
    def of(cls, written: PayloadParts) -> ConsentPayload:
        held = written.related("heldAt")
        return cls(
            outcomes=written.outcomes,
            errors=written.errors,
            record_key=written.entity_id,
            customer_key=written.related("customerId"),
            held_at_keys=held.split(",") if held else [],
        )

    @strawberry.field(description="The record just appended; null when the request was refused (see errors).")
    async def consent(self, info: Info) -> ConsentRecord | None:
        if self.customer_key is None or self.record_key is None:
            return None
        rows = await info.context.loaders.consent_records_by_customer_id.load(self.customer_key)
        return next((ConsentRecord.from_row(row) for row in rows if str(row.id) == self.record_key), None)

    @strawberry.field(description="The customer, with their consents as they are now.")
    async def customer(self, info: Info) -> Customer | None:
        return await load_customer(info, self.customer_key)

    @strawberry.field(
        description="Every location that already holds the customer's data (it knows them). Withdrawing data "
        "sharing stops further sharing; what these hold stays there until an erasure."
    )
    async def held_at(self, info: Info) -> list[Location]:
        rows = await info.context.loaders.location_by_id.load_many(self.held_at_keys)
        return [Location.from_row(row) for row in rows if row is not None]
