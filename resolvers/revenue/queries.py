"""The revenue report: what each location (or each day) earned, split per the network's rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func, select

from resolvers import bounds
from resolvers.context import Context
from resolvers.errors import InvalidInputError
from resolvers.scope import RowScope
from resolvers.validation import require_known_locations, require_ordered_range
from sources.cache.models import RevenueEntry
from sources.cache.payments import EARNED_PAYMENT_STATUSES

revenue_entries = RevenueEntry.__table__

MAX_REPORT_DAYS = 366 * 3


class RevenueGrouping(StrEnum):
    LOCATION = "LOCATION"
    DAY = "DAY"


@dataclass(frozen=True, slots=True)
class RevenueRow:
    location_id: str | None
    day: date | None
    currency: str
    gross_minor: int
    commission_minor: int
    tax_minor: int
    booking_count: int
    cross_location_booking_count: int

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.commission_minor - self.tax_minor


@dataclass(frozen=True, slots=True)
class RevenueReportData:
    rows: list[RevenueRow]
    totals: list[RevenueRow]  # one per currency; a booking is counted once however many locations share it


async def revenue_report(
    context: Context,
    start: date,
    end: date,
    group_by: RevenueGrouping,
    location_ids: list[str] | None = None,
) -> RevenueReportData:
    """Rows per location or per service day, per currency (amounts are never converted)."""
    bounds.day("from", start)
    bounds.day("to", end)
    require_ordered_range("from", start, "to", end)
    if (end - start).days > MAX_REPORT_DAYS:
        raise InvalidInputError(f"a report covers at most {MAX_REPORT_DAYS} days", field="to")
    await require_known_locations(context.engine, location_ids)
    entries = revenue_entries.c
    key = entries.location_id if group_by is RevenueGrouping.LOCATION else entries.business_date
    async with context.engine.connect() as connection:
        rows = (await connection.execute(_aggregate(context.scope, start, end, location_ids, key))).all()
        totals = (await connection.execute(_aggregate(context.scope, start, end, location_ids, None))).all()
    by_location = group_by is RevenueGrouping.LOCATION
    return RevenueReportData(
        rows=[_revenue_row(row[1:], row[0] if by_location else None, None if by_location else row[0]) for row in rows],
        totals=[_revenue_row(row, None, None) for row in totals],
    )


def _aggregate(scope: RowScope, start: date, end: date, location_ids: list[str] | None, key: Any) -> Any:
    """Sums over the revenue entries the scope shows, grouped by `key` (None: one row per currency)."""
    entries = revenue_entries.c
    grouping = [entries.currency] if key is None else [key, entries.currency]
    statement = (
        select(
            *grouping,
            func.sum(entries.amount_minor),
            func.sum(entries.commission_minor),
            func.sum(entries.tax_minor),
            func.count(func.distinct(entries.booking_id)),
            func.count(func.distinct(case((entries.is_cross_location.is_(True), entries.booking_id)))),
        )
        .where(
            entries.business_date >= start,
            entries.business_date <= end,
            # Refunded and written-off shares are on record but were not earned.
            entries.payment_status.in_(EARNED_PAYMENT_STATUSES),
            scope.revenue(),
        )
        .group_by(*grouping)
        .order_by(*grouping)
    )
    if location_ids:
        statement = statement.where(entries.location_id.in_(location_ids))
    return statement


def _revenue_row(values: Any, location_id: str | None, day: date | None) -> RevenueRow:
    return RevenueRow(
        location_id=location_id,
        day=day,
        currency=values[0],
        gross_minor=int(values[1]),
        commission_minor=int(values[2]),
        tax_minor=int(values[3]),
        booking_count=int(values[4]),
        cross_location_booking_count=int(values[5]),
    )
