"""Root fields for bookings and customers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.bookings import queries as booking_resolvers
from resolvers.customers.queries import CustomerFilter, duplicate_customer_groups, list_customers
from resolvers.freshness import refresh_for_query
from resolvers.ids import key_of, keys_of
from schema.arguments import After, Before, First, IdArgument, Last, MaxAge, page_args
from schema.bookings.types import Booking, BookingSort, BookingStatus, relations_to_prefetch
from schema.customers.types import Customer
from schema.nodes import resolve_typed_node
from schema.relay import Connection, build_connection
from schema.selection import CONNECTION_ITEM_PATHS, selected_node_fields
from sync.live.refresh import DataKind


@strawberry.input(description="Which bookings to list; all conditions must hold.")
class BookingFilterInput:
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Served at or booked from any of these locations."
    )
    service_location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Served at any of these locations."
    )
    originating_location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Booked from any of these locations."
    )
    statuses: list[BookingStatus] | None = strawberry.field(default=None, description="In any of these statuses.")
    customer_id: strawberry.ID | None = strawberry.field(default=None, description="Booked by this customer.")
    resource_id: strawberry.ID | None = strawberry.field(default=None, description="Using this resource.")
    starts_at_or_after: datetime | None = strawberry.field(default=None, description="Starting at or after this time.")
    starts_before: datetime | None = strawberry.field(default=None, description="Starting before this time.")
    cross_location_only: bool = strawberry.field(
        default=False, description="Only bookings made at one location for a service at another."
    )

    def to_filter(self) -> booking_resolvers.BookingFilter:
        return booking_resolvers.BookingFilter(
            location_ids=keys_of(_strings(self.location_ids), "Location"),
            service_location_ids=keys_of(_strings(self.service_location_ids), "Location"),
            originating_location_ids=keys_of(_strings(self.originating_location_ids), "Location"),
            statuses=[booking_resolvers.BookingStatus[s.name] for s in self.statuses] if self.statuses else None,
            customer_id=key_of(str(self.customer_id), "Customer") if self.customer_id else None,
            resource_id=key_of(str(self.resource_id), "Resource") if self.resource_id else None,
            starts_at_or_after=self.starts_at_or_after,
            starts_before=self.starts_before,
            cross_location_only=self.cross_location_only,
        )


def _strings(ids: list[strawberry.ID] | None) -> list[str] | None:
    return None if ids is None else [str(i) for i in ids]


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
class BookingQueries:
    @strawberry.field(description="Bookings across the network, filtered and sorted.")
    async def bookings(
        self,
        info: Info,
        filter: Annotated[BookingFilterInput | None, strawberry.argument(description="Which bookings.")] = None,
        sort: Annotated[BookingSort, strawberry.argument(description="Order of the list.")] = BookingSort.START_AT_ASC,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        max_age: MaxAge = None,
    ) -> Connection[Booking]:
        where = filter.to_filter() if filter else booking_resolvers.BookingFilter()
        locations = (
            sorted(set(where.location_ids or []) | set(where.service_location_ids or []))
            if (where.location_ids or where.service_location_ids)
            else None
        )
        await refresh_for_query(info.context, locations, [DataKind.BOOKINGS], max_age)
        include = relations_to_prefetch(selected_node_fields(info, *CONNECTION_ITEM_PATHS))
        result = await booking_resolvers.list_bookings(
            info.context,
            where,
            booking_resolvers.BookingSort[sort.name],
            page_args(first, after, last, before),
            include,
        )
        return build_connection(result, Booking.from_row)

    @strawberry.field(description="One booking by id; null with a NOT_FOUND error if there is none.")
    async def booking(self, info: Info, id: IdArgument, max_age: MaxAge = None) -> Booking | None:
        await refresh_for_query(info.context, None, [DataKind.BOOKINGS], max_age)
        return await resolve_typed_node(info, Booking, str(id))

    @strawberry.field(description="Customers across the network, by last name.")
    async def customers(
        self,
        info: Info,
        filter: Annotated[CustomerFilterInput | None, strawberry.argument(description="Which customers.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        max_age: MaxAge = None,
    ) -> Connection[Customer]:
        await refresh_for_query(info.context, None, [DataKind.BOOKINGS], max_age)
        where = CustomerFilter(
            search=filter.search if filter else None,
            location_ids=keys_of(_strings(filter.location_ids), "Location") if filter else None,
        )
        result = await list_customers(info.context, where, page_args(first, after, last, before))
        return build_connection(result, Customer.from_row)

    @strawberry.field(description="Merge candidates: customers sharing an email (any case) or a phone number.")
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

    @strawberry.field(description="One customer by id; null with a NOT_FOUND error if there is none.")
    async def customer(self, info: Info, id: IdArgument, max_age: MaxAge = None) -> Customer | None:
        await refresh_for_query(info.context, None, [DataKind.BOOKINGS], max_age)
        return await resolve_typed_node(info, Customer, str(id))
