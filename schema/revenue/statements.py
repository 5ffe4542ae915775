"""Monthly location statements in GraphQL: every revenue line a location earned or owes, totals per currency."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from decimal import Decimal

import strawberry
from strawberry.types import Info

from resolvers.ids import to_global_id
from resolvers.revenue import statements as statement_resolvers
from schema.locations.types import Location, location_by_id
from schema.money import Money, percent_from_basis_points


@strawberry.type(description="One revenue line: a location's share of one booking.")
class StatementLine:
    business_date: date = strawberry.field(description="The service day, in the service location's timezone.")
    booking_id: strawberry.ID = strawberry.field(description="The booking's global id.")
    local_booking_id: str = strawberry.field(description="The booking's id at its service location.")
    service_location_network_id: str = strawberry.field(description="Where the booking is served.")
    originating_location_network_id: str = strawberry.field(description="Where the booking was made.")
    role: str = strawberry.field(description="Why the location earns the share: originating, service or sole.")
    share_percent: Decimal = strawberry.field(description="Its share of the booking's price, in percent.")
    share: Money = strawberry.field(description="The share earned, tax included (gross).")
    commission: Money = strawberry.field(description="The network commission the location owes on the share.")
    tax: Money = strawberry.field(description="The tax the share contains.")
    net: Money = strawberry.field(description="Share minus commission minus tax.")
    payment_status: str = strawberry.field(description="pending, paid, refunded or written_off.")

    @classmethod
    def of(cls, line: statement_resolvers.StatementLine) -> StatementLine:
        currency = line.currency
        return cls(
            business_date=line.business_date,
            booking_id=strawberry.ID(to_global_id("Booking", line.booking_id)),
            local_booking_id=line.local_booking_id,
            service_location_network_id=line.service_location_id,
            originating_location_network_id=line.originating_location_id,
            role=line.role,
            share_percent=percent_from_basis_points(line.share_bp),
            share=Money.of(line.amount_minor, currency),
            commission=Money.of(line.commission_minor, currency),
            tax=Money.of(line.tax_minor, currency),
            net=Money.of(line.net_minor, currency),
            payment_status=line.payment_status,
        )


@strawberry.type(description="A statement's totals in one currency; currencies are never added together.")
class StatementTotals:
    currency: str = strawberry.field(description="ISO 4217 code of every amount here.")
    line_count: int = strawberry.field(description="Earned lines (pending or paid) in this currency.")
    share: Money = strawberry.field(description="The earned shares, tax included.")
    commission: Money = strawberry.field(description="The commission owed on them.")
    tax: Money = strawberry.field(description="The tax they contain.")
    net: Money = strawberry.field(description="Share minus commission minus tax.")
    paid: Money = strawberry.field(description="Of the earned shares, what is paid.")
    refunded: Money = strawberry.field(description="Shares refunded (not earned).")
    written_off: Money = strawberry.field(description="Shares of bookings cancelled after payment (not earned).")

    @classmethod
    def of(cls, totals: statement_resolvers.StatementTotals) -> StatementTotals:
        currency = totals.currency
        return cls(
            currency=currency,
            line_count=totals.line_count,
            share=Money.of(totals.amount_minor, currency),
            commission=Money.of(totals.commission_minor, currency),
            tax=Money.of(totals.tax_minor, currency),
            net=Money.of(totals.net_minor, currency),
            paid=Money.of(totals.paid_minor, currency),
            refunded=Money.of(totals.refunded_minor, currency),
            written_off=Money.of(totals.written_off_minor, currency),
        )


@strawberry.type(description="One location's revenue lines of one month, with totals per currency.")
class LocationStatement:
    month: str = strawberry.field(description="The month, YYYY-MM (service days in the service location's zone).")
    lines: list[StatementLine] = strawberry.field(description="Every line, by service day and booking.")
    totals: list[StatementTotals] = strawberry.field(description="One per currency.")
    csv_path: str = strawberry.field(
        description="Where to download the statement as CSV (the same bearer token); `.json` for JSON."
    )
    location_id: strawberry.Private[str]

    @strawberry.field(graphql_type=Location, description="The location the statement is for.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_id)

    @classmethod
    def of(cls, statement: statement_resolvers.Statement) -> LocationStatement:
        return cls(
            month=statement.month,
            lines=[StatementLine.of(line) for line in statement.lines],
            totals=[StatementTotals.of(totals) for totals in statement.totals],
            csv_path=f"/api/statements/{statement.location_id}/{statement.month}.csv",
            location_id=statement.location_id,
        )
