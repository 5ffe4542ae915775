"""A location's monthly statement: every revenue line it earned or owes in a month, and totals per currency.

A line is one revenue entry of the location (its share of one booking served on a day of the month, the service
location's day): the share it earned (gross, tax included), the network commission it owes on it, the tax the
share contains, and the net. Refunded and written-off shares are listed too, and totalled apart: they were not
earned. Amounts in different currencies are never added together: one total per currency. GraphQL's
`locationStatements` and the CSV / JSON download (shims/statements) are its two faces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from resolvers import bounds
from resolvers.context import Context
from resolvers.errors import InvalidInputError, NotFoundError
from resolvers.permissions import require_location
from sources.cache.models import Booking, Location, RevenueEntry
from sources.cache.payments import EARNED_PAYMENT_STATUSES, PaymentStatus

MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")  # ASCII digits only, matched whole
LINES_MAX = 20_000  # a month of one location's entries; more is refused rather than cut short


@dataclass(frozen=True, slots=True)
class StatementLine:
    business_date: date
    booking_id: str
    local_booking_id: str
    service_location_id: str
    originating_location_id: str
    role: str  # originating|service|sole
    share_bp: int
    currency: str
    amount_minor: int
    commission_minor: int
    tax_minor: int
    payment_status: str

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.commission_minor - self.tax_minor


@dataclass(frozen=True, slots=True)
class StatementTotals:
    currency: str
    line_count: int = 0  # earned lines
    amount_minor: int = 0
    commission_minor: int = 0
    tax_minor: int = 0
    paid_minor: int = 0  # of the earned amount, what is paid
    refunded_minor: int = 0
    written_off_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.commission_minor - self.tax_minor


@dataclass(slots=True)
class Statement:
    location_id: str
    month: str  # YYYY-MM
    lines: list[StatementLine] = field(default_factory=list)
    totals: list[StatementTotals] = field(default_factory=list)


def month_range(month: str) -> tuple[date, date]:
    """`2026-03` -> (2026-03-01, 2026-04-01); INVALID_INPUT for anything else."""
    bounds.text("month", month, 7)
    matched = MONTH.fullmatch(month)
    if matched is None or int(matched.group(1)) < bounds.EARLIEST.year:
        raise InvalidInputError(
            f"`month` is a month as YYYY-MM from {bounds.EARLIEST.year}, e.g. 2026-03", field="month"
        )
    year, number = int(matched.group(1)), int(matched.group(2))
    first = bounds.day("month", date(year, number, 1))
    following = date(year + number // 12, number % 12 + 1, 1)
    return first, following


async def location_statement(context: Context, location_id: str, month: str) -> Statement:
    bounds.key("locationId", location_id)
    start, end = month_range(month)
    require_location(context.principal, location_id)
    async with context.engine.connect() as connection:
        if await connection.scalar(select(Location.id).where(Location.id == location_id)) is None:
            raise NotFoundError(f"no location has id {location_id!r}", id=location_id, field="locationId")
        rows = (await connection.execute(_lines(context, location_id, start, end).limit(LINES_MAX + 1))).all()
    if len(rows) > LINES_MAX:
        raise InvalidInputError(f"more than {LINES_MAX} lines in one month: ask per location", field="month")
    statement = Statement(location_id, month, lines=[StatementLine(*row) for row in rows])
    totals: dict[str, StatementTotals] = {}
    for line in statement.lines:
        totals[line.currency] = _add(totals.get(line.currency, StatementTotals(line.currency)), line)
    statement.totals = [totals[currency] for currency in sorted(totals)]
    return statement


def _lines(context: Context, location_id: str, start: date, end: date) -> Select[Any]:
    entries = RevenueEntry.__table__.c
    booking = aliased(Booking)
    return (
        select(
            entries.business_date,
            entries.booking_id,
            booking.local_booking_id,
            booking.service_location_id,
            booking.originating_location_id,
            entries.role,
            entries.share_bp,
            entries.currency,
            entries.amount_minor,
            entries.commission_minor,
            entries.tax_minor,
            entries.payment_status,
        )
        .join(booking, booking.id == entries.booking_id)
        .where(
            entries.location_id == location_id,
            entries.business_date >= start,
            entries.business_date < end,
            context.scope.revenue(),
        )
        .order_by(entries.business_date, entries.booking_id, entries.id)
    )


def _add(held: StatementTotals, line: StatementLine) -> StatementTotals:
    if line.payment_status not in EARNED_PAYMENT_STATUSES:
        refunded = line.amount_minor if line.payment_status == PaymentStatus.REFUNDED else 0
        written_off = line.amount_minor if line.payment_status == PaymentStatus.WRITTEN_OFF else 0
        return StatementTotals(
            held.currency,
            held.line_count,
            held.amount_minor,
            held.commission_minor,
            held.tax_minor,
            held.paid_minor,
            held.refunded_minor + refunded,
            held.written_off_minor + written_off,
        )
    return StatementTotals(
        held.currency,
        held.line_count + 1,
        held.amount_minor + line.amount_minor,
        held.commission_minor + line.commission_minor,
        held.tax_minor + line.tax_minor,
        held.paid_minor + (line.amount_minor if line.payment_status == PaymentStatus.PAID else 0),
        held.refunded_minor,
        held.written_off_minor,
    )


async def location_statements(context: Context, location_id: str | None, month: str) -> list[Statement]:
    """The month's statement of the location named, or of every location the caller sees, by id."""
    if location_id is not None:
        return [await location_statement(context, location_id, month)]
    month_range(month)
    async with context.engine.connect() as connection:
        visible = (
            await connection.execute(select(Location.id).where(context.scope.locations()).order_by(Location.id))
        ).scalars()
        location_ids = [str(found) for found in visible if context.principal.acts_for(str(found))]
    return [await location_statement(context, found, month) for found in location_ids]
