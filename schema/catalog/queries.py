"""Root fields for services, resources, inventory and revenue."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.catalog.queries import ResourceFilter, ServiceFilter, list_resources, list_services
from resolvers.freshness import refresh_for_query
from resolvers.ids import keys_of
from resolvers.inventory.queries import InventoryFilter, list_stock_items
from resolvers.revenue import queries as revenue_resolvers
from schema.arguments import After, Before, First, Last, MaxAge, page_args
from schema.catalog.types import Resource, ResourceKind, Service
from schema.inventory.types import StockItem
from schema.relay import Connection, build_connection
from schema.revenue.types import RevenueGrouping, RevenueReport, build_report
from sync.live.refresh import DataKind


def _location_keys(ids: list[strawberry.ID] | None) -> list[str] | None:
    return keys_of([str(i) for i in ids], "Location") if ids else None


@strawberry.input(description="Which services to list.")
class ServiceFilterInput:
    location_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Offered at these locations.")
    categories: list[str] | None = strawberry.field(default=None, description="In these catalogue categories.")
    include_inactive: bool = strawberry.field(default=False, description="Also services no longer bookable.")


@strawberry.input(description="Which resources to list.")
class ResourceFilterInput:
    kinds: list[ResourceKind] | None = strawberry.field(default=None, description="Only staff, rooms or equipment.")
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Owned by, or shared with, any of these locations."
    )
    shared_only: bool = strawberry.field(default=False, description="Only resources lent to another location.")


@strawberry.input(description="Which stock items to list.")
class InventoryFilterInput:
    location_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Held at these locations.")
    low_stock_only: bool = strawberry.field(
        default=False, description="Only items at or under their reorder point (at those locations, if given)."
    )
    search: str | None = strawberry.field(default=None, description="Part of the name or the SKU.")


@strawberry.type
class CatalogQueries:
    @strawberry.field(description="Services offered across the network.")
    async def services(
        self,
        info: Info,
        filter: Annotated[ServiceFilterInput | None, strawberry.argument(description="Which services.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Service]:
        where = ServiceFilter(
            location_ids=_location_keys(filter.location_ids) if filter else None,
            categories=filter.categories if filter else None,
            active_only=not filter.include_inactive if filter else True,
        )
        result = await list_services(info.context, where, page_args(first, after, last, before))
        return build_connection(result, Service.from_row)

    @strawberry.field(description="Staff, rooms and equipment across the network.")
    async def resources(
        self,
        info: Info,
        filter: Annotated[ResourceFilterInput | None, strawberry.argument(description="Which resources.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Resource]:
        where = ResourceFilter(
            kinds=[str(kind.value) for kind in filter.kinds] if filter and filter.kinds else None,
            location_ids=_location_keys(filter.location_ids) if filter else None,
            shared_only=filter.shared_only if filter else False,
        )
        result = await list_resources(info.context, where, page_args(first, after, last, before))
        return build_connection(result, Resource.from_row)

    @strawberry.field(description="Stock items with their level at each location.")
    async def inventory(
        self,
        info: Info,
        filter: Annotated[InventoryFilterInput | None, strawberry.argument(description="Which items.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        max_age: MaxAge = None,
    ) -> Connection[StockItem]:
        where = InventoryFilter(
            location_ids=_location_keys(filter.location_ids) if filter else None,
            low_stock_only=filter.low_stock_only if filter else False,
            search=filter.search if filter else None,
        )
        await refresh_for_query(info.context, where.location_ids, [DataKind.STOCK], max_age)
        result = await list_stock_items(info.context, where, page_args(first, after, last, before))
        return build_connection(result, StockItem.from_row)

    @strawberry.field(
        description=(
            "Revenue for a period of service days. Cross-location bookings are split between the "
            "originating and the service location (20 % / 80 % by default)."
        )
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
        data = await revenue_resolvers.revenue_report(info.context, start, end, grouping, _location_keys(location_ids))
        return build_report(start, end, grouping, data)
