"""Payment reconciliation in GraphQL: what a location reports as paid against the network's revenue entries."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime

import strawberry
from strawberry.types import Info

from resolvers.ids import to_global_id
from resolvers.revenue import reconciliation as reconciliation_resolvers
from resolvers.revenue.reconciliation import ReconciliationProblem as ReconciliationProblem
from schema.enums import graphql_enum
from schema.locations.types import Location, location_by_id
from schema.money import Money

graphql_enum(
    ReconciliationProblem,
    "Why a booking's payment and the network's revenue entries for it disagree.",
    {
        ReconciliationProblem.MISSING_REVENUE: "A booking that still earns has no revenue entry.",
        ReconciliationProblem.AMOUNT_DIFFERS: "Its revenue entries do not add up to its price.",
        ReconciliationProblem.PAID_AMOUNT_DIFFERS: "The location reports a payment of another amount than the price.",
        ReconciliationProblem.PAYMENT_STATUS_DIFFERS: "The entries' payment status is not what the location reports.",
        ReconciliationProblem.UNPAID_AFTER_SERVICE: "The booking is completed and the location reports no payment.",
        ReconciliationProblem.PAID_BUT_CANCELLED: "Cancelled after payment with no refund reported: written off.",
    },
)


@strawberry.type(description="One currency's totals of a reconciliation; currencies are never added together.")
class ReconciliationTotals:
    booking_count: int = strawberry.field(description="Bookings that still earn (not cancelled).")
    bookings: Money = strawberry.field(description="What those bookings are priced at.")
    revenue: Money = strawberry.field(description="What their revenue entries add up to, every sharing location's.")
    revenue_here: Money = strawberry.field(description="The location's own share of that revenue.")
    reported_paid: Money = strawberry.field(description="What the location reports as paid (cancelled ones too).")
    network_paid: Money = strawberry.field(description="What the network's revenue entries record as paid.")
    paid_difference: Money = strawberry.field(description="Network paid minus reported paid.")
    refunded: Money = strawberry.field(description="What the location reports as refunded.")
    written_off: Money = strawberry.field(description="Entries of bookings cancelled after payment, not refunded.")

    @classmethod
    def of(cls, totals: reconciliation_resolvers.CurrencyTotals) -> ReconciliationTotals:
        currency = totals.currency
        return cls(
            booking_count=totals.booking_count,
            bookings=Money.of(totals.bookings_minor, currency),
            revenue=Money.of(totals.revenue_minor, currency),
            revenue_here=Money.of(totals.revenue_here_minor, currency),
            reported_paid=Money.of(totals.reported_paid_minor, currency),
            network_paid=Money.of(totals.network_paid_minor, currency),
            paid_difference=Money.of(totals.paid_difference_minor, currency),
            refunded=Money.of(totals.refunded_minor, currency),
            written_off=Money.of(totals.written_off_minor, currency),
        )


@strawberry.type(description="One booking where the location's report and the network's entries disagree.")
class ReconciliationMismatch:
    booking_id: strawberry.ID = strawberry.field(description="The booking's global id.")
    local_booking_id: str = strawberry.field(description="The booking's id at the location.")
    start_at: datetime = strawberry.field(description="When the booking starts.")
    status: str = strawberry.field(description="The booking's status (pending, confirmed, completed, ...).")
    problem: ReconciliationProblem = strawberry.field(description="What disagrees.")
    price: Money = strawberry.field(description="The network's side: the booking's price.")
    revenue: Money = strawberry.field(description="The network's side: what its revenue entries add up to.")
    network_payment_status: str | None = strawberry.field(
        description="The network's side: the entries' payment status (null: no entries)."
    )
    reported_payment: str | None = strawberry.field(
        description="The location's side: unpaid, paid or refunded (null: it has reported nothing)."
    )
    reported_paid: Money | None = strawberry.field(description="The location's side: the amount it reports paid.")

    @classmethod
    def of(cls, mismatch: reconciliation_resolvers.Mismatch) -> ReconciliationMismatch:
        currency = mismatch.currency
        return cls(
            booking_id=strawberry.ID(to_global_id("Booking", mismatch.booking_id)),
            local_booking_id=mismatch.local_booking_id,
            start_at=mismatch.start_at,
            status=mismatch.status,
            problem=mismatch.problem,
            price=Money.of(mismatch.booking_minor, currency),
            revenue=Money.of(mismatch.revenue_minor, currency),
            network_payment_status=mismatch.network_payment_status,
            reported_payment=mismatch.reported_payment,
            reported_paid=None
            if mismatch.reported_paid_minor is None
            else Money.of(mismatch.reported_paid_minor, currency),
        )


@strawberry.type(description="A location's payments against the network's revenue entries over a period.")
class PaymentReconciliation:
    start: date = strawberry.field(name="from", description="First service day included (UTC).")
    end: date = strawberry.field(name="to", description="Last service day included (UTC).")
    totals: list[ReconciliationTotals] = strawberry.field(description="One per currency.")
    mismatch_count: int = strawberry.field(description="Every booking that disagrees.")
    mismatches: list[ReconciliationMismatch] = strawberry.field(
        description=f"The first {reconciliation_resolvers.MISMATCHES_SHOWN} of them, by start time."
    )
    location_id: strawberry.Private[str]

    @strawberry.field(graphql_type=Location, description="The location reconciled.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_id)

    @classmethod
    def of(cls, found: reconciliation_resolvers.Reconciliation) -> PaymentReconciliation:
        return cls(
            start=found.start,
            end=found.end,
            totals=[ReconciliationTotals.of(totals) for totals in found.totals],
            mismatch_count=found.mismatch_count,
            mismatches=[ReconciliationMismatch.of(mismatch) for mismatch in found.mismatches],
            location_id=found.location_id,
        )
