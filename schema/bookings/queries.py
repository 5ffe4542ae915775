"""Root fields for bookings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.bookings import queries as booking_resolvers
from resolvers.freshness import FreshData
from resolvers.ids import key_of, keys_of
from schema.arguments import After, Before, First, IdArgument, Last, id_strings, page_args
from schema.bookings.types import Booking, BookingSort, BookingStatus, relations_to_prefetch
from schema.extensions import Fresh
from schema.nodes import resolve_typed_node
from schema.permissions import Permission, requires
from schema.relay import Connection, build_connection
from schema.selection import CONNECTION_ITEM_PATHS, selected_node_fields


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
            location_ids=keys_of(id_strings(self.location_ids), "Location", "locationIds"),
            service_location_ids=keys_of(id_strings(self.service_location_ids), "Location", "serviceLocationIds"),
            originating_location_ids=keys_of(
                id_strings(self.originating_location_ids), "Location", "originatingLocationIds"
            ),
            statuses=[booking_resolvers.BookingStatus[s.name] for s in self.statuses] if self.statuses else None,
            customer_id=key_of(str(self.customer_id), "Customer", "customerId") if self.customer_id else None,
            resource_id=key_of(str(self.resource_id), "Resource", "resourceId") if self.resource_id else None,
            starts_at_or_after=self.starts_at_or_after,
            starts_before=self.starts_before,
            cross_location_only=self.cross_location_only,
        )


def _locations_read(filter: BookingFilterInput | None = None, **_: object) -> list[str] | None:
    """The locations `bookings` refreshes: those its filter names as serving or booking, else all."""
    where = filter.to_filter() if filter else None
    if where is None or not (where.location_ids or where.service_location_ids):
        return None
    return sorted(set(where.location_ids or []) | set(where.service_location_ids or []))


@strawberry.type
class BookingQueries:
    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_BOOKINGS)],
        description="Bookings across the network, filtered and sorted.",
        extensions=[Fresh(FreshData.BOOKINGS, locations=_locations_read)],
    )
    async def bookings(
        self,
        info: Info,
        filter: Annotated[BookingFilterInput | None, strawberry.argument(description="Which bookings.")] = None,
        sort: Annotated[BookingSort, strawberry.argument(description="Order of the list.")] = BookingSort.START_AT_ASC,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Booking]:
        where = filter.to_filter() if filter else booking_resolvers.BookingFilter()
        include = relations_to_prefetch(selected_node_fields(info, *CONNECTION_ITEM_PATHS))
        result = await booking_resolvers.list_bookings(
            info.context,
            where,
            booking_resolvers.BookingSort[sort.name],
            page_args(first, after, last, before),
            include,
        )
        return build_connection(result, Booking.from_row)

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_BOOKINGS)],
        description="One booking by id; null with a NOT_FOUND error if there is none.",
        extensions=[Fresh(FreshData.BOOKINGS)],
    )
    async def booking(self, info: Info, id: IdArgument) -> Booking | None:
        return await resolve_typed_node(info, Booking, str(id))
