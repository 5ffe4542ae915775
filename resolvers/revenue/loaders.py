"""The revenue domain's DataLoaders; every batch applies `scope.revenue()`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from resolvers.loading import RowsByKeyLoader
from sources.cache.models import RevenueEntry

revenue_entries = RevenueEntry.__table__


class RevenueEntriesByBookingIdLoader(RowsByKeyLoader):
    key_name = "booking_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(revenue_entries)
            .where(revenue_entries.c.booking_id.in_(keys), self.scope.revenue())
            .order_by(revenue_entries.c.booking_id, revenue_entries.c.id)
        )
