"""The revenue report."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date

import strawberry
from strawberry.types import Info

from resolvers.revenue import queries as revenue_resolvers
from resolvers.revenue.queries import RevenueGrouping as RevenueGrouping  # the GraphQL enum is the domain's own
from schema.enums import graphql_enum
from schema.locations.types import Location, location_by_id
from schema.money import Money

graphql_enum(
    RevenueGrouping,
    "How to group the revenue report.",
    {
        RevenueGrouping.LOCATION: "One row per earning location (and currency).",
        RevenueGrouping.DAY: "One row per service day in the service location's timezone.",
    },
)


@strawberry.type(description="Revenue of one group (a location or a day) in one currency.")
class RevenueReportRow:
    day: date | None = strawberry.field(description="The service day, when grouped by day.")
    gross: Money = strawberry.field(description="Sum of the revenue shares, tax included.")
    commission: Money = strawberry.field(description="Network commission on those shares.")
    tax: Money = strawberry.field(description="Tax contained in those shares.")
    net: Money = strawberry.field(description="Gross minus commission minus tax.")
    booking_count: int = strawberry.field(description="Bookings that earned revenue in this group.")
    cross_location_booking_count: int = strawberry.field(description="Of those, bookings made at another location.")
    location_id: strawberry.Private[str | None]

    @strawberry.field(graphql_type=Location | None, description="The location, when grouped by location.")
    def location(self, info: Info) -> Location | Awaitable[Location] | None:
        return None if self.location_id is None else location_by_id(info, self.location_id)

    @classmethod
    def from_row(cls, row: revenue_resolvers.RevenueRow) -> RevenueReportRow:
        return cls(
            day=row.day,
            gross=Money.of(row.gross_minor, row.currency),
            commission=Money.of(row.commission_minor, row.currency),
            tax=Money.of(row.tax_minor, row.currency),
            net=Money.of(row.net_minor, row.currency),
            booking_count=row.booking_count,
            cross_location_booking_count=row.cross_location_booking_count,
            location_id=row.location_id,
        )


@strawberry.type(description="Revenue over a period, grouped; amounts in different currencies are never added up.")
class RevenueReport:
    start: date = strawberry.field(name="from", description="First service day included.")
    end: date = strawberry.field(name="to", description="Last service day included.")
    group_by: RevenueGrouping = strawberry.field(description="How the rows are grouped.")
    rows: list[RevenueReportRow] = strawberry.field(description="One row per group and currency.")
    totals: list[RevenueReportRow] = strawberry.field(description="The whole period, one row per currency.")


def build_report(
    start: date, end: date, group_by: revenue_resolvers.RevenueGrouping, data: revenue_resolvers.RevenueReportData
) -> RevenueReport:
    return RevenueReport(
        start=start,
        end=end,
        group_by=RevenueGrouping[group_by.name],
        rows=[RevenueReportRow.from_row(row) for row in data.rows],
        totals=[RevenueReportRow.from_row(row) for row in data.totals],
    )
