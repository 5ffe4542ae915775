"""Customers across the network: one record, an identity at each location that knows them."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.bookings.loaders import BookingHistoryByCustomerLoader, HistoryRequest
from resolvers.bookings.queries import prefetch_booking_relations
from resolvers.bookings.vocabulary import BookingSort as BookingSortValue
from resolvers.ids import to_global_id
from resolvers.pagination import PageArgs
from schema.arguments import After, Before, First, Last
from schema.bookings.types import Booking, BookingSort, relations_to_prefetch
from schema.customers.consent_types import ConsentRecord, current_of
from schema.customers.request_types import DataSubjectRequest
from schema.locations.types import Location, location_by_id
from schema.permissions import Permission, requires
from schema.relay import Connection, Node, build_connection
from schema.selection import CONNECTION_ITEM_PATHS, selected_node_fields


@strawberry.type(description="The id a location knows a customer by, and what they hold there.")
class CustomerIdentity:
    local_id: str = strawberry.field(description="The customer's id at that location.")
    loyalty_points: int = strawberry.field(description="Loyalty points held at that location.")
    since: datetime = strawberry.field(description="When the location first knew the customer.")
    location_id: strawberry.Private[str]

    @strawberry.field(graphql_type=Location, description="The location.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_id)


@strawberry.federation.type(keys=["id"], description="A person who books, one record across every location.")
class Customer(Node):
    network_id: str = strawberry.field(description="Network-wide customer id.")
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    email: str | None = strawberry.field(
        permission_classes=[requires(Permission.VIEW_CONTACT_DATA)],
        description="Email address; contact data (not for shared staff: null with a FORBIDDEN error).",
    )
    phone: str | None = strawberry.field(
        permission_classes=[requires(Permission.VIEW_CONTACT_DATA)],
        description="Phone number, international format; contact data, like email.",
    )
    preferences: JSON = strawberry.field(description="Preferences shared with every location (staff, contact).")
    consents: JSON = strawberry.field(
        description="What the customer agreed to, as a JSON summary (purpose: true/false, recorded_at); "
        "`currentConsents` and `consentHistory` are the records."
    )
    created_at: datetime = strawberry.field(description="When the network first knew them.")
    updated_at: datetime = strawberry.field(description="Last change to the record.")
    primary_location_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Any) -> Customer:
        row = row._mapping  # RowMapping[key] is ~10x cheaper than Row.__getattr__
        return cls(
            id=strawberry.ID(to_global_id("Customer", row["id"])),
            network_id=row["id"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            email=row["email"],
            phone=row["phone"],
            preferences=row["preferences"],
            consents=row["consents"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            primary_location_id=row["primary_location_id"],
        )

    @strawberry.field(description="First and last name.")
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @strawberry.field(graphql_type=Location, description="The location that first knew the customer.")
    def primary_location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.primary_location_id)

    @strawberry.field(description="The id each location knows the customer by.")
    async def identities(self, info: Info) -> list[CustomerIdentity]:
        rows = await info.context.loaders.customer_mappings_by_customer_id.load(self.network_id)
        return [
            CustomerIdentity(
                local_id=row.local_customer_id,
                loyalty_points=row.loyalty_points,
                since=row.created_at,
                location_id=row.location_id,
            )
            for row in rows
        ]

    @strawberry.field(
        description="The current consent per purpose (its newest record); a purpose never recorded is absent."
    )
    async def current_consents(self, info: Info) -> list[ConsentRecord]:
        return current_of(await info.context.loaders.consent_records_by_customer_id.load(self.network_id))

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_CONTACT_DATA)],
        description="Every consent record, oldest first (they carry IP addresses: contact data, like email).",
    )
    async def consent_history(self, info: Info) -> list[ConsentRecord]:
        rows = await info.context.loaders.consent_records_by_customer_id.load(self.network_id)
        return [ConsentRecord.from_row(row) for row in rows]

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_CONTACT_DATA)],
        description="Their export and erasure requests, oldest first, each with its due date and outcomes.",
    )
    async def data_subject_requests(self, info: Info) -> list[DataSubjectRequest]:
        rows = await info.context.loaders.data_subject_requests_by_customer_id.load(self.network_id)
        return [DataSubjectRequest.from_row(row) for row in rows]

    @strawberry.field(description="Loyalty points pooled over every location.")
    async def loyalty_points(self, info: Info) -> int:
        rows = await info.context.loaders.customer_mappings_by_customer_id.load(self.network_id)
        return sum(row.loyalty_points for row in rows)

    @strawberry.field(description="Booking history across every location.")
    async def bookings(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        sort: Annotated[BookingSort, strawberry.argument(description="Order; newest first by default.")] = (
            BookingSort.START_AT_DESC
        ),
    ) -> Connection[Booking]:
        request = HistoryRequest(self.network_id, BookingSortValue[sort.name], PageArgs(first, after, last, before))
        result = await info.context.loaders.get(BookingHistoryByCustomerLoader).load(request)
        include = relations_to_prefetch(selected_node_fields(info, *CONNECTION_ITEM_PATHS))
        await prefetch_booking_relations(info.context, result.page.rows, include)
        return build_connection(result, Booking.from_row)
