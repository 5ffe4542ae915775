"""Payment reconciliation for one location and period: what the location reports as paid against the network's
revenue entries for the bookings served there, per currency, and every booking where the two disagree, with
both sides. GraphQL's `paymentReconciliation` and the Booksy shim's GET reconciliation are its two faces.

The location's side is what it last reported of each booking's payment (pull, push or webhook:
sources.cache.payments); the network's side is the booking's price and the revenue entries recorded for it
(one per location that shares it). A booking that still earns should have entries adding up to its price; a
completed one should be paid; one the location reports paid should have been paid its price, and its entries
should say paid; a cancelled one that was paid and not refunded is written off and needs settling by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, case, func, select

from resolvers import bounds
from resolvers.context import Context
from resolvers.errors import InvalidInputError, NotFoundError
from resolvers.permissions import require_location
from resolvers.validation import require_ordered_range
from sources.cache.models import Booking, Location, RevenueEntry
from sources.cache.payments import PaymentStatus, ReportedPayment, entry_payment_status
from sources.cache.vocabulary import BookingStatus

MAX_DAYS = 366
MISMATCHES_SHOWN = 100


class ReconciliationProblem(StrEnum):
    MISSING_REVENUE = "missing_revenue"  # an earning booking with no revenue entry
    AMOUNT_DIFFERS = "amount_differs"  # its entries do not add up to its price
    PAID_AMOUNT_DIFFERS = "paid_amount_differs"  # the location reports a payment of another amount than the price
    PAYMENT_STATUS_DIFFERS = "payment_status_differs"  # the entries' payment status is not what the report says
    UNPAID_AFTER_SERVICE = "unpaid_after_service"  # completed, and the location reports no payment
    PAID_BUT_CANCELLED = "paid_but_cancelled"  # cancelled after payment, no refund reported: written off


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    currency: str
    booking_count: int = 0  # bookings that still earn (not cancelled)
    bookings_minor: int = 0  # what they are priced at
    revenue_minor: int = 0  # what their entries add up to, every sharing location's
    revenue_here_minor: int = 0  # the location's own share
    reported_paid_minor: int = 0  # what the location reports as paid, cancelled bookings included
    network_paid_minor: int = 0  # what the network's entries record as paid
    refunded_minor: int = 0  # what the location reports as refunded
    written_off_minor: int = 0  # entries of bookings cancelled after payment

    @property
    def difference_minor(self) -> int:
        return self.revenue_minor - self.bookings_minor

    @property
    def paid_difference_minor(self) -> int:
        return self.network_paid_minor - self.reported_paid_minor


@dataclass(frozen=True, slots=True)
class Mismatch:
    booking_id: str
    local_booking_id: str
    start_at: datetime
    status: str
    currency: str
    booking_minor: int  # the network's side: the booking's price...
    revenue_minor: int  # ...what its entries add up to...
    network_payment_status: str | None  # ...and what they say of the payment (None: no entries)
    reported_payment: str | None  # the location's side: what it reports (None: nothing)
    reported_paid_minor: int | None
    problem: ReconciliationProblem


@dataclass(slots=True)
class Reconciliation:
    location_id: str
    start: date
    end: date
    totals: list[CurrencyTotals] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    mismatch_count: int = 0


@dataclass(frozen=True, slots=True)
class _Sides:
    status: str
    price: int
    total: int | None
    entry_status: str | None
    reported: str | None
    reported_paid: int | None


def _problem(sides: _Sides) -> ReconciliationProblem | None:
    earning = sides.status != BookingStatus.CANCELLED
    if earning and sides.total is None:
        return ReconciliationProblem.MISSING_REVENUE
    if earning and sides.total != sides.price:
        return ReconciliationProblem.AMOUNT_DIFFERS
    expected = entry_payment_status(sides.status, sides.reported)
    if sides.entry_status is not None and (expected is None or sides.entry_status != expected):
        return ReconciliationProblem.PAYMENT_STATUS_DIFFERS
    if sides.reported == ReportedPayment.PAID and sides.reported_paid != sides.price:
        return ReconciliationProblem.PAID_AMOUNT_DIFFERS
    settled = (ReportedPayment.PAID, ReportedPayment.REFUNDED)
    if sides.status == BookingStatus.COMPLETED and sides.reported not in settled:
        return ReconciliationProblem.UNPAID_AFTER_SERVICE
    if sides.entry_status == PaymentStatus.WRITTEN_OFF:
        return ReconciliationProblem.PAID_BUT_CANCELLED
    return None


async def reconcile_revenue(context: Context, location_id: str, start: date, end: date) -> Reconciliation:
    """Bookings served at the location starting from `start` to `end` (UTC days, inclusive)."""
    bounds.key("locationId", location_id)
    bounds.day("from", start)
    bounds.day("to", end)
    require_ordered_range("from", start, "to", end)
    if (end - start).days >= MAX_DAYS:
        raise InvalidInputError(f"a reconciliation covers at most {MAX_DAYS} days", field="to")
    require_location(context.principal, location_id)
    async with context.engine.connect() as connection:
        if await connection.scalar(select(Location.id).where(Location.id == location_id)) is None:
            raise NotFoundError(f"no location has id {location_id!r}", id=location_id, field="locationId")
        rows = (await connection.execute(_statement(context, location_id, start, end))).all()
    answer = Reconciliation(location_id, start, end)
    totals: dict[str, CurrencyTotals] = {}
    for row in rows:
        booking_id, local_id, start_at, status, currency, price, reported, reported_paid, total, here, paid, entry = row
        sides = _Sides(status, int(price), None if total is None else int(total), entry, reported, reported_paid)
        totals[currency] = _add(totals.get(currency, CurrencyTotals(currency)), sides, int(here or 0), int(paid or 0))
        problem = _problem(sides)
        if problem is None:
            continue
        answer.mismatch_count += 1
        if len(answer.mismatches) < MISMATCHES_SHOWN:
            answer.mismatches.append(
                Mismatch(
                    booking_id,
                    local_id,
                    start_at,
                    status,
                    currency,
                    sides.price,
                    sides.total or 0,
                    entry,
                    reported,
                    reported_paid,
                    problem,
                )
            )
    answer.totals = [totals[currency] for currency in sorted(totals)]
    return answer


def _statement(context: Context, location_id: str, start: date, end: date) -> Select[Any]:
    entries = RevenueEntry.__table__.c
    revenue = (
        select(
            entries.booking_id,
            func.sum(entries.amount_minor).label("total"),
            func.sum(case((entries.location_id == location_id, entries.amount_minor), else_=0)).label("here"),
            func.sum(case((entries.payment_status == PaymentStatus.PAID.value, entries.amount_minor), else_=0)).label(
                "paid"
            ),
            # Every entry of a booking carries the same payment status (sources.cache.booking_revenue).
            func.min(entries.payment_status).label("entry_status"),
        )
        .where(context.scope.revenue())
        .group_by(entries.booking_id)
        .subquery()
    )
    return (
        select(
            Booking.id,
            Booking.local_booking_id,
            Booking.start_at,
            Booking.status,
            Booking.currency,
            Booking.price_minor,
            Booking.reported_payment,
            Booking.reported_paid_minor,
            revenue.c.total,
            revenue.c.here,
            revenue.c.paid,
            revenue.c.entry_status,
        )
        .outerjoin(revenue, revenue.c.booking_id == Booking.id)
        .where(
            Booking.service_location_id == location_id,
            Booking.start_at >= datetime.combine(start, time(), UTC),
            Booking.start_at < datetime.combine(end + timedelta(days=1), time(), UTC),
            context.scope.bookings(),
        )
        .order_by(Booking.start_at, Booking.id)
    )


def _add(held: CurrencyTotals, sides: _Sides, here: int, paid: int) -> CurrencyTotals:
    earning = sides.status != BookingStatus.CANCELLED
    reported_paid = sides.reported_paid or 0
    return CurrencyTotals(
        held.currency,
        held.booking_count + (1 if earning else 0),
        held.bookings_minor + (sides.price if earning else 0),
        held.revenue_minor + ((sides.total or 0) if earning else 0),
        held.revenue_here_minor + (here if earning else 0),
        held.reported_paid_minor + (reported_paid if sides.reported == ReportedPayment.PAID else 0),
        held.network_paid_minor + paid,
        held.refunded_minor + (reported_paid if sides.reported == ReportedPayment.REFUNDED else 0),
        held.written_off_minor + ((sides.total or 0) if sides.entry_status == PaymentStatus.WRITTEN_OFF else 0),
    )
