"""What a booking's revenue entries say of the money: derived, every time, from what its location last
reported of the customer's payment and from the booking's status.

- The location reports `unpaid`, `paid` (with the amount) or `refunded` (pull, push or webhook); a report
  that says nothing keeps the last one.
- A booking that still earns (not cancelled): its entries are `paid` once the location reports payment,
  `refunded` if it reports a refund, else `pending`.
- A cancelled booking: `refunded` when the location reports the refund; `written_off` when it was paid and
  no refund was reported (the shares stay on record with their amounts, but count neither as earned revenue
  nor as outstanding: they are the network's to settle by hand); unpaid, it keeps no entries at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sources.cache.models import Booking
from sources.cache.vocabulary import EARNING_BOOKING_STATUSES


class ReportedPayment(StrEnum):
    """What a location says of a booking's payment (`bookings.reported_payment`)."""

    UNPAID = "unpaid"
    PAID = "paid"
    REFUNDED = "refunded"


class PaymentStatus(StrEnum):
    """Where one revenue entry's money is (`revenue_entries.payment_status`)."""

    PENDING = "pending"
    PAID = "paid"
    REFUNDED = "refunded"
    WRITTEN_OFF = "written_off"


# Entries counted as revenue a location earned (reports, statements' earned totals); plain strings for SQL.
EARNED_PAYMENT_STATUSES: tuple[str, ...] = (PaymentStatus.PENDING.value, PaymentStatus.PAID.value)


@dataclass(frozen=True, slots=True)
class PaymentReport:
    """One report of a booking's payment, as a location makes it."""

    status: ReportedPayment
    paid_minor: int  # what the customer paid, in the booking's currency; 0 when unpaid


def entry_payment_status(booking_status: str, reported: str | None) -> PaymentStatus | None:
    """The payment status of every entry of a booking; None: the booking keeps no entries."""
    if booking_status in EARNING_BOOKING_STATUSES:
        if reported == ReportedPayment.REFUNDED:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PAID if reported == ReportedPayment.PAID else PaymentStatus.PENDING
    if reported == ReportedPayment.REFUNDED:
        return PaymentStatus.REFUNDED
    return PaymentStatus.WRITTEN_OFF if reported == ReportedPayment.PAID else None


def take_report(booking: Booking, report: PaymentReport | None, at: datetime) -> bool:
    """Record a location's report on the booking; whether it says anything new. A refund is final: a later
    `paid` or `unpaid` (a replayed or late event) does not undo it."""
    if report is None:
        return False
    if booking.reported_payment == ReportedPayment.REFUNDED and report.status is not ReportedPayment.REFUNDED:
        return False
    if (booking.reported_payment, booking.reported_paid_minor) == (report.status.value, report.paid_minor):
        return False
    booking.reported_payment = report.status.value
    booking.reported_paid_minor = report.paid_minor
    booking.payment_reported_at = at
    return True
