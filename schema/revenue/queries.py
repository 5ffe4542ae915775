"""Root field for revenue."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.ids import key_of
from resolvers.revenue import queries as revenue_resolvers
from resolvers.revenue.reconciliation import reconcile_revenue
from resolvers.revenue.statements import location_statements
from schema.arguments import location_keys
from schema.permissions import Permission, requires
from schema.revenue.reconciliation import PaymentReconciliation
from schema.revenue.statements import LocationStatement
from schema.revenue.types import RevenueGrouping, RevenueReport, build_report


@strawberry.type
class RevenueQueries:
    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_REVENUE)],
        description=(
            "Revenue for a period of service days. Cross-location bookings are split between the "
            "originating and the service location (20 % / 80 % by default)."
        ),
    )
    async def revenue(
        self,
        info: Info,
        start: Annotated[date, strawberry.argument(name="from", description="First service day, inclusive.")],
        end: Annotated[date, strawberry.argument(name="to", description="Last service day, inclusive.")],
        group_by: Annotated[
            RevenueGrouping, strawberry.argument(description="Rows per location or per day.")
        ] = RevenueGrouping.LOCATION,
        location_ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description="Only revenue earned by these locations.")
        ] = None,
    ) -> RevenueReport:
        grouping = revenue_resolvers.RevenueGrouping[group_by.name]
        data = await revenue_resolvers.revenue_report(info.context, start, end, grouping, location_keys(location_ids))
        return build_report(start, end, grouping, data)

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_REVENUE)],
        description=(
            "What a location reports as paid against the network's revenue entries for the bookings served "
            "there in a period (UTC days), per currency, with every booking where the two disagree."
        ),
    )
    async def payment_reconciliation(
        self,
        info: Info,
        location_id: Annotated[strawberry.ID, strawberry.argument(description="The location to reconcile.")],
        start: Annotated[date, strawberry.argument(name="from", description="First service day, inclusive.")],
        end: Annotated[date, strawberry.argument(name="to", description="Last service day, inclusive (366 at most).")],
    ) -> PaymentReconciliation:
        location = key_of(str(location_id), "Location", field="locationId")
        return PaymentReconciliation.of(await reconcile_revenue(info.context, location, start, end))

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_REVENUE)],
        description=(
            "Monthly statements: every revenue line a location earned or owes (share, commission, tax, net), "
            "with totals per currency; also downloadable as CSV or JSON (`csvPath`)."
        ),
    )
    async def location_statements(
        self,
        info: Info,
        month: Annotated[str, strawberry.argument(description="The month, YYYY-MM.")],
        location_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="One location; left out, every location the caller acts for."),
        ] = None,
    ) -> list[LocationStatement]:
        location = None if location_id is None else key_of(str(location_id), "Location", field="locationId")
        return [LocationStatement.of(found) for found in await location_statements(info.context, location, month)]
