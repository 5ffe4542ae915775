"""The bookings domain's DataLoaders; every batch, and every count, applies `scope.bookings()`."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Select, func, select

from resolvers.bookings.vocabulary import BOOKING_SORT_ORDERS, BookingSort
from resolvers.listing import ListResult
from resolvers.loading import BatchLoader, RowByKeyLoader
from resolvers.pagination import PageArgs, build_page, keyset_window
from sources.cache.models import Booking

bookings = Booking.__table__


class BookingByIdLoader(RowByKeyLoader):
    key_column = bookings.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(bookings).where(bookings.c.id.in_(keys), self.scope.bookings())


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    customer_id: str
    sort: BookingSort
    args: PageArgs


class BookingHistoryByCustomerLoader(BatchLoader[HistoryRequest, ListResult]):
    """Pages of booking history for many customers at once: one windowed statement per page shape."""

    async def fetch(self, keys: list[HistoryRequest]) -> list[ListResult]:
        shapes: dict[tuple[BookingSort, PageArgs], list[HistoryRequest]] = defaultdict(list)
        for key in keys:
            shapes[(key.sort, key.args)].append(key)
        results: dict[HistoryRequest, ListResult] = {}
        for (sort, args), requests in shapes.items():
            order = BOOKING_SORT_ORDERS[sort]
            customer_ids = [request.customer_id for request in requests]
            base = select(bookings).where(bookings.c.customer_id.in_(customer_ids), self.scope.bookings())
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
            .where(bookings.c.customer_id.in_(self.customer_ids), self.loader.scope.bookings())
            .group_by(bookings.c.customer_id)
        )
        rows: Sequence[Any] = await self.loader.rows(statement)
        return {row[0]: int(row[1]) for row in rows}

    async def of(self, customer_id: str) -> int:
        if self._counts is None:
            self._counts = asyncio.ensure_future(self._count_all())
        return (await self._counts).get(customer_id, 0)
