"""Reading customers: search, their identities at each location, and their booking history."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.bookings.vocabulary import BOOKING_SORT_ORDERS, BookingSort
from resolvers.context import Context
from resolvers.listing import ListResult, list_page
from resolvers.loading import BatchLoader
from resolvers.pagination import PageArgs, SortOrder, build_page, keyset_window
from resolvers.validation import require_known_locations
from settings import Settings
from sources.cache.models import Booking, Customer, CustomerMapping

customers = Customer.__table__
customer_mappings = CustomerMapping.__table__
bookings = Booking.__table__

CUSTOMER_ORDER = SortOrder("name", (customers.c.last_name, customers.c.first_name, customers.c.id))


@dataclass(frozen=True, slots=True)
class CustomerFilter:
    search: str | None = None  # part of the name, the email or the phone number
    location_ids: list[str] | None = None  # known at any of these


def _escaped_like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filtered_customers(where: CustomerFilter) -> Select[Any]:
    statement = select(customers)
    if where.search and where.search.strip():
        pattern = _escaped_like(where.search.strip())
        full_name = func.lower(customers.c.first_name + " " + customers.c.last_name)
        digits = "".join(ch for ch in where.search if ch.isdigit())
        conditions = [full_name.like(pattern, escape="\\"), func.lower(customers.c.email).like(pattern, escape="\\")]
        if len(digits) >= 3:
            conditions.append(customers.c.phone.like(f"%{digits}%"))
        statement = statement.where(or_(*conditions))
    if where.location_ids:
        known_there = select(customer_mappings.c.customer_id).where(
            customer_mappings.c.location_id.in_(where.location_ids)
        )
        statement = statement.where(customers.c.id.in_(known_there))
    return statement


async def list_customers(context: Context, where: CustomerFilter, args: PageArgs) -> ListResult:
    await require_known_locations(context.engine, where.location_ids)
    return await list_page(context, filtered_customers(where), CUSTOMER_ORDER, args)


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    customer_id: str
    sort: BookingSort
    args: PageArgs


class BookingHistoryByCustomerLoader(BatchLoader[HistoryRequest, ListResult]):
    """Pages of booking history for many customers at once: one windowed statement per page shape."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        super().__init__(engine)
        self.settings = settings

    async def fetch(self, keys: list[HistoryRequest]) -> list[ListResult]:
        shapes: dict[tuple[BookingSort, PageArgs], list[HistoryRequest]] = defaultdict(list)
        for key in keys:
            shapes[(key.sort, key.args)].append(key)
        results: dict[HistoryRequest, ListResult] = {}
        for (sort, args), requests in shapes.items():
            order = BOOKING_SORT_ORDERS[sort]
            customer_ids = [request.customer_id for request in requests]
            base = select(bookings).where(bookings.c.customer_id.in_(customer_ids))
            windowed, ordering, size, backward = keyset_window(
                base, order, args, self.settings.default_page_size, self.settings.max_page_size
            )
            rank = func.row_number().over(partition_by=bookings.c.customer_id, order_by=ordering).label("rank")
            ranked = windowed.add_columns(rank).subquery()
            statement = select(ranked).where(ranked.c.rank <= size + 1).order_by(ranked.c.customer_id, ranked.c.rank)
            counts = BookingCountsOfCustomers(self, customer_ids)
            grouped: dict[str, list[Any]] = defaultdict(list)
            for row in await self.rows(statement):
                grouped[row.customer_id].append(row)
            for request in requests:
                page = build_page(grouped.get(request.customer_id, []), order, args, size, backward)
                results[request] = ListResult(page=page, counter=partial(counts.of, request.customer_id))
        return [results[key] for key in keys]


class BookingCountsOfCustomers:
    """Total bookings of every customer whose history was loaded together, counted at most once,
    and only if a client asks for one of them."""

    def __init__(self, loader: BatchLoader[Any, Any], customer_ids: list[str]) -> None:
        self.loader = loader
        self.customer_ids = customer_ids
        self._counts: asyncio.Task[dict[str, int]] | None = None

    async def _count_all(self) -> dict[str, int]:
        statement = (
            select(bookings.c.customer_id, func.count())
            .where(bookings.c.customer_id.in_(self.customer_ids))
            .group_by(bookings.c.customer_id)
        )
        rows: Sequence[Any] = await self.loader.rows(statement)
        return {row[0]: int(row[1]) for row in rows}

    async def of(self, customer_id: str) -> int:
        if self._counts is None:
            self._counts = asyncio.ensure_future(self._count_all())
        return (await self._counts).get(customer_id, 0)
