"""mergeCustomers: fold a duplicate customer into the one to keep, across the network."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.customers import commands as customer_writes
from resolvers.ids import to_global_id
from resolvers.results import WriteResult
from schema.customers.types import Customer
from schema.payloads import MutationPayload
from schema.permissions import Permission, requires
from schema.write_inputs import idempotency_key_field, key_for, load_customer, run_write


@strawberry.input(description="Two records of one person: the one to keep and the duplicate to fold into it.")
class MergeCustomersInput:
    idempotency_key: str = idempotency_key_field()
    keep_customer_id: strawberry.ID = strawberry.field(description="Global id of the customer that remains.")
    remove_customer_id: strawberry.ID = strawberry.field(
        description="Global id of the duplicate: its bookings, location ids and loyalty points move to the kept "
        "customer, then it is deleted."
    )


@strawberry.type(description="The answer to mergeCustomers.")
class MergeCustomersPayload(MutationPayload):
    customer_key: strawberry.Private[str | None]
    removed_customer_id: strawberry.ID | None = strawberry.field(
        description="Global id of the customer merged away (no longer exists); null when the request was refused."
    )

    @strawberry.field(description="The kept customer as it is now; null when the request was refused.")
    async def customer(self, info: Info) -> Customer | None:
        return await load_customer(info, self.customer_key)


@strawberry.type
class CustomerMergeMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.MERGE_CUSTOMERS)],
        description="Merges a duplicate customer into another, in the cache and at every location that knows "
        "either; each location's outcome is in `outcomes`.",
    )
    async def merge_customers(
        self, info: Info, input: Annotated[MergeCustomersInput, strawberry.argument(description="The merge.")]
    ) -> MergeCustomersPayload:
        async def perform() -> WriteResult:
            return await customer_writes.merge_customers(
                info.context,
                keep_customer_id=key_for(input.keep_customer_id, "Customer", "keepCustomerId"),
                remove_customer_id=key_for(input.remove_customer_id, "Customer", "removeCustomerId"),
                key=input.idempotency_key,
            )

        written = await run_write(info, perform, failed_outcome_is_error=False)
        removed = written.related("mergedCustomerId")
        return MergeCustomersPayload(
            outcomes=written.outcomes,
            errors=written.errors,
            customer_key=written.entity_id,
            removed_customer_id=None if removed is None else strawberry.ID(to_global_id("Customer", removed)),
        )
