"""Root fields for customers."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.customers.queries import CustomerFilter, duplicate_customer_groups, list_customers
from resolvers.freshness import FreshData
from resolvers.ids import keys_of
from schema.arguments import After, Before, First, IdArgument, Last, id_strings, page_args
from schema.customers.types import Customer
from schema.extensions import Fresh
from schema.nodes import resolve_typed_node
from schema.permissions import Permission, requires
from schema.relay import Connection, build_connection


@strawberry.input(description="Which customers to list.")
class CustomerFilterInput:
    search: str | None = strawberry.field(default=None, description="Part of the name, email or phone number.")
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Known at any of these locations."
    )


@strawberry.type(description="Customers who look like one person: they share an email address or a phone number.")
class DuplicateCustomerGroup:
    customers: list[Customer] = strawberry.field(description="The look-alikes, oldest first; merge into the first.")


@strawberry.type
class CustomerQueries:
    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_CUSTOMERS)],
        description="Customers across the network, by last name.",
        extensions=[Fresh(FreshData.CUSTOMERS)],
    )
    async def customers(
        self,
        info: Info,
        filter: Annotated[CustomerFilterInput | None, strawberry.argument(description="Which customers.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Customer]:
        where = CustomerFilter(
            search=filter.search if filter else None,
            location_ids=keys_of(id_strings(filter.location_ids), "Location", "locationIds") if filter else None,
        )
        result = await list_customers(info.context, where, page_args(first, after, last, before))
        return build_connection(result, Customer.from_row)

    @strawberry.field(
        permission_classes=[requires(Permission.MERGE_CUSTOMERS)],
        description="Merge candidates: customers sharing an email (any case) or a phone number.",
    )
    async def duplicate_customers(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="How many groups, at most.")] = 50,
    ) -> list[DuplicateCustomerGroup]:
        groups = await duplicate_customer_groups(info.context, max(1, min(first, info.context.settings.max_page_size)))
        loader = info.context.loaders.customer_by_id
        rows = await loader.load_many(sorted({key for group in groups for key in group}))
        by_key = {row.id: Customer.from_row(row) for row in rows if row is not None}
        return [DuplicateCustomerGroup(customers=[by_key[key] for key in group if key in by_key]) for group in groups]

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_CUSTOMERS)],
        description="One customer by id; null with a NOT_FOUND error if there is none.",
        extensions=[Fresh(FreshData.CUSTOMERS)],
    )
    async def customer(self, info: Info, id: IdArgument) -> Customer | None:
        return await resolve_typed_node(info, Customer, str(id))
