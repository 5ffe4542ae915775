"""eraseCustomer: the right to erasure, network-wide."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.customers import erasure
from resolvers.results import WriteResult
from schema.customers.request_types import DataSubjectRequest, load_request
from schema.payloads import MutationPayload
from schema.permissions import Permission, requires
from schema.write_inputs import idempotency_key_field, key_for, run_write


@strawberry.input(description="The customer to erase.")
class EraseCustomerInput:
    idempotency_key: str = idempotency_key_field()
    customer_id: strawberry.ID = strawberry.field(description="Global id of the customer.")


@strawberry.type(description="The answer to eraseCustomer.")
class EraseCustomerPayload(MutationPayload):
    request_key: strawberry.Private[str | None]
    customer_key: strawberry.Private[str | None]

    @strawberry.field(description="The erasure request, with each location's outcome; null when refused.")
    async def request(self, info: Info) -> DataSubjectRequest | None:
        return await load_request(info, self.customer_key, self.request_key)


@strawberry.type
class CustomerEraseMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.ERASE_CUSTOMERS)],
        description="Erases a customer by anonymisation: their name, contact data, preferences and notes are "
        "gone from the cache at once (bookings, money and revenue stay and still add up), every location that "
        "knows them is sent an anonymised record through the outbox (`outcomes`; one that is down gets it when it "
        "is back), and they go on the suppression list: no later pull, push or webhook brings their data back.",
    )
    async def erase_customer(
        self, info: Info, input: Annotated[EraseCustomerInput, strawberry.argument(description="Whom to erase.")]
    ) -> EraseCustomerPayload:
        async def perform() -> WriteResult:
            customer_id = key_for(input.customer_id, "Customer", "customerId")
            return await erasure.erase_customer(info.context, customer_id, input.idempotency_key)

        written = await run_write(info, perform, failed_outcome_is_error=False)
        return EraseCustomerPayload(
            outcomes=written.outcomes,
            errors=written.errors,
            request_key=written.entity_id,
            customer_key=written.related("customerId"),
        )
