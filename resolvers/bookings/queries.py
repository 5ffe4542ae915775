"""Reading bookings: the filtered, sorted list, and prefetching what the caller selected."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select

from resolvers import bounds
from resolvers.bookings.vocabulary import BOOKING_SORT_ORDERS, BookingRelation
from resolvers.bookings.vocabulary import BookingSort as BookingSort  # schema/ still names both through here
from resolvers.bookings.vocabulary import BookingStatus as BookingStatus
from resolvers.context import Context
from resolvers.listing import ListResult, list_page
from resolvers.pagination import PageArgs
from resolvers.permissions import Permission, granted
from resolvers.scope import RowScope, scoped
from resolvers.validation import require_known_locations, require_ordered_range
from sources.cache.models import Booking, Customer

bookings = Booking.__table__
customers = Customer.__table__


@dataclass(frozen=True, slots=True)
class BookingFilter:
    location_ids: list[str] | None = None  # served at or booked from any of these
    service_location_ids: list[str] | None = None
    originating_location_ids: list[str] | None = None
    statuses: list[BookingStatus] | None = None
    customer_id: str | None = None
    resource_id: str | None = None
    starts_at_or_after: datetime | None = None
    starts_before: datetime | None = None
    cross_location_only: bool = False
    # Part of the booking's local id or its source's booking_ref, or of its customer's name (and email, for a
    # caller who may see contact data), in any case.
    search: str | None = None
    search_contact_data: bool = False


async def validate_booking_filter(context: Context, where: BookingFilter) -> None:
    bounds.optional_instant("startsAtOrAfter", where.starts_at_or_after)
    bounds.optional_instant("startsBefore", where.starts_before)
    require_ordered_range("startsAtOrAfter", where.starts_at_or_after, "startsBefore", where.starts_before)
    bounds.optional_text("search", where.search, bounds.SEARCH_LENGTH)
    mentioned = [
        *(where.location_ids or ()),
        *(where.service_location_ids or ()),
        *(where.originating_location_ids or ()),
    ]
    await require_known_locations(context.engine, mentioned)


def filtered_bookings(scope: RowScope, where: BookingFilter) -> Select[Any]:
    """The bookings the scope shows that match the filter: the one statement the list and its count run."""
    statement = scoped(select(bookings), scope.bookings())
    if where.location_ids:
        statement = statement.where(
            bookings.c.service_location_id.in_(where.location_ids)
            | bookings.c.originating_location_id.in_(where.location_ids)
        )
    if where.service_location_ids:
        statement = statement.where(bookings.c.service_location_id.in_(where.service_location_ids))
    if where.originating_location_ids:
        statement = statement.where(bookings.c.originating_location_id.in_(where.originating_location_ids))
    if where.statuses:
        statement = statement.where(bookings.c.status.in_([status.value for status in where.statuses]))
    if where.customer_id is not None:
        statement = statement.where(bookings.c.customer_id == where.customer_id)
    if where.resource_id is not None:
        statement = statement.where(bookings.c.resource_id == where.resource_id)
    if where.starts_at_or_after is not None:
        statement = statement.where(bookings.c.start_at >= where.starts_at_or_after)
    if where.starts_before is not None:
        statement = statement.where(bookings.c.start_at < where.starts_before)
    if where.cross_location_only:
        statement = statement.where(bookings.c.service_location_id != bookings.c.originating_location_id)
    if where.search:
        statement = statement.where(_searched(where.search, contact_data=where.search_contact_data))
    return statement


def _searched(text: str, *, contact_data: bool) -> Any:
    # LIKE's wildcards in the text are searched for as themselves.
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    columns: list[Any] = [customers.c.first_name, customers.c.last_name]
    if contact_data:
        columns.append(customers.c.email)
    matching_customers = select(customers.c.id).where(
        or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))
    )
    return or_(
        func.lower(bookings.c.local_booking_id).like(pattern, escape="\\"),
        func.lower(bookings.c.source_details["booking_ref"].as_string()).like(pattern, escape="\\"),
        bookings.c.customer_id.in_(matching_customers),
    )


async def list_bookings(
    context: Context,
    where: BookingFilter,
    sort: BookingSort,
    args: PageArgs,
    include: Collection[str] = (),
) -> ListResult:
    await validate_booking_filter(context, where)
    if where.search:
        contact_data = granted(context.principal, Permission.VIEW_CONTACT_DATA, context.settings)
        where = dataclasses.replace(where, search_contact_data=contact_data)
    result = await list_page(context, filtered_bookings(context.scope, where), BOOKING_SORT_ORDERS[sort], args)
    await prefetch_booking_relations(context, result.page.rows, include)
    return result


async def prefetch_booking_relations(context: Context, rows: list[Any], include: Collection[str]) -> None:
    """Load every selected relation (a BookingRelation) of a page of bookings: one statement per relation."""
    loaders = context.loaders
    if not rows:
        return
    if BookingRelation.CUSTOMER in include:
        await loaders.customer_by_id.load_many({row.customer_id for row in rows})
    if BookingRelation.SERVICE in include:
        await loaders.references().service_by_id.load_many({row.service_id for row in rows})
    if BookingRelation.RESOURCE in include:
        await loaders.references().resource_by_id.load_many({row.resource_id for row in rows if row.resource_id})
    location_ids: set[str] = set()
    if BookingRelation.SERVICE_LOCATION in include:
        location_ids.update(row.service_location_id for row in rows)
    if BookingRelation.ORIGINATING_LOCATION in include:
        location_ids.update(row.originating_location_id for row in rows)
    if location_ids:
        await loaders.references().location_by_id.load_many(location_ids)
    if BookingRelation.REVENUE_SPLIT in include:
        await loaders.revenue_entries_by_booking_id.load_many([row.id for row in rows])
