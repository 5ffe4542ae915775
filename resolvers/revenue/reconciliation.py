"""Revenue reconciliation for one location: what its bookings are worth against the revenue entries recorded
for them, per currency, and the bookings where the two disagree.

A booking's entries (one per location that shares it) should add up to its price; a booking that is not
cancelled and has no entry at all is missing its revenue. Cancelled bookings are left out: what they still
owe is the payment status's business, not the price's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select

from resolvers import bounds
from resolvers.context import Context
from resolvers.errors import InvalidInputError
from resolvers.validation import require_ordered_range
from sources.cache.models import Booking, RevenueEntry

MAX_DAYS = 366
MISMATCHES_SHOWN = 100


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    currency: str
    booking_count: int = 0
    bookings_minor: int = 0  # what the bookings are priced at
    revenue_minor: int = 0  # what their entries add up to, every sharing location's
    revenue_here_minor: int = 0  # the location's own share

    @property
    def difference_minor(self) -> int:
        return self.revenue_minor - self.bookings_minor


@dataclass(frozen=True, slots=True)
class Mismatch:
    booking_id: str
    local_booking_id: str
    start_at: datetime
    status: str
    currency: str
    booking_minor: int
    revenue_minor: int
    problem: str  # missing_revenue|amount_differs


@dataclass(slots=True)
class Reconciliation:
    location_id: str
    start: date
    end: date
    totals: list[CurrencyTotals] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    mismatch_count: int = 0


async def reconcile_revenue(context: Context, location_id: str, start: date, end: date) -> Reconciliation:
    """Bookings served at the location starting from `start` to `end` (UTC days, inclusive)."""
    bounds.key("location", location_id)
    bounds.day("from", start)
    bounds.day("to", end)
    require_ordered_range("from", start, "to", end)
    if (end - start).days >= MAX_DAYS:
        raise InvalidInputError(f"a reconciliation covers at most {MAX_DAYS} days", field="to")
    entries = RevenueEntry.__table__.c
    revenue = (
        select(
            entries.booking_id,
            func.sum(entries.amount_minor).label("total"),
            func.sum(case((entries.location_id == location_id, entries.amount_minor), else_=0)).label("here"),
        )
        .where(context.scope.revenue())
        .group_by(entries.booking_id)
        .subquery()
    )
    statement = (
        select(
            Booking.id,
            Booking.local_booking_id,
            Booking.start_at,
            Booking.status,
            Booking.currency,
            Booking.price_minor,
            revenue.c.total,
            revenue.c.here,
        )
        .outerjoin(revenue, revenue.c.booking_id == Booking.id)
        .where(
            Booking.service_location_id == location_id,
            Booking.start_at >= datetime.combine(start, time(), UTC),
            Booking.start_at < datetime.combine(end + timedelta(days=1), time(), UTC),
            Booking.status != "cancelled",
            context.scope.bookings(),
        )
        .order_by(Booking.start_at, Booking.id)
    )
    async with context.engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    answer = Reconciliation(location_id, start, end)
    totals: dict[str, CurrencyTotals] = {}
    for booking_id, local_id, start_at, status, currency, price, total, here in rows:
        held = totals.get(currency, CurrencyTotals(currency))
        totals[currency] = CurrencyTotals(
            currency,
            held.booking_count + 1,
            held.bookings_minor + int(price),
            held.revenue_minor + int(total or 0),
            held.revenue_here_minor + int(here or 0),
        )
        problem = "missing_revenue" if total is None else "amount_differs" if int(total) != int(price) else None
        if problem is None:
            continue
        answer.mismatch_count += 1
        if len(answer.mismatches) < MISMATCHES_SHOWN:
            answer.mismatches.append(
                Mismatch(booking_id, local_id, start_at, status, currency, int(price), int(total or 0), problem)
            )
    answer.totals = [totals[currency] for currency in sorted(totals)]
    return answer
