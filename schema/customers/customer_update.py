"""updateCustomer: change a customer's details in the cache and at every location that knows them."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.customers import commands as customer_writes
from resolvers.customers.commands import CustomerChanges
from resolvers.results import WriteResult
from schema.customers.types import Customer
from schema.payloads import MutationPayload
from schema.permissions import Permission, requires
from schema.write_inputs import idempotency_key_field, json_object, key_for, load_customer, run_write


@strawberry.input(description="Changes to a customer's details; omitted or null fields stay as they are.")
class UpdateCustomerInput:
    idempotency_key: str = idempotency_key_field()
    customer_id: strawberry.ID = strawberry.field(description="Global id of the customer.")
    first_name: str | None = strawberry.field(default=None, description="New given name; must not be blank.")
    last_name: str | None = strawberry.field(default=None, description="New family name; must not be blank.")
    email: str | None = strawberry.field(default=None, description="New email address.")
    phone: str | None = strawberry.field(default=None, description="New phone number, ideally E.164.")
    preferences: JSON | None = strawberry.field(
        default=None, description="New preferences (a JSON object), replacing the current ones."
    )


@strawberry.type(description="The answer to updateCustomer.")
class UpdateCustomerPayload(MutationPayload):
    customer_key: strawberry.Private[str | None]

    @strawberry.field(description="The customer as it is now; null when the request was refused (see errors).")
    async def customer(self, info: Info) -> Customer | None:
        return await load_customer(info, self.customer_key)


def to_changes(data: UpdateCustomerInput) -> CustomerChanges:
    return CustomerChanges(
        first_name=data.first_name,
        last_name=data.last_name,
        email=data.email,
        phone=data.phone,
        preferences=None if data.preferences is None else json_object(data.preferences, "preferences"),
    )


@strawberry.type
class CustomerUpdateMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.EDIT_CUSTOMERS)],
        description="Updates a customer network-wide: the cache at once, and every location that knows the "
        "customer in parallel. A location that refuses or is unreachable is reported in `outcomes` (unreachable "
        "ones get the change later through the outbox); the update itself stands.",
    )
    async def update_customer(
        self, info: Info, input: Annotated[UpdateCustomerInput, strawberry.argument(description="The changes.")]
    ) -> UpdateCustomerPayload:
        async def perform() -> WriteResult:
            return await customer_writes.update_customer(
                info.context,
                customer_id=key_for(input.customer_id, "Customer", "customerId"),
                changes=to_changes(input),
                key=input.idempotency_key,
            )

        written = await run_write(info, perform, failed_outcome_is_error=False)
        return UpdateCustomerPayload(outcomes=written.outcomes, errors=written.errors, customer_key=written.entity_id)
