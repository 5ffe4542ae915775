"""Root fields for stock."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.freshness import FreshData
from resolvers.inventory.queries import InventoryFilter, list_stock_items
from schema.arguments import After, Before, First, Last, location_keys, page_args
from schema.extensions import Fresh
from schema.inventory.types import StockItem
from schema.permissions import Permission, requires
from schema.relay import Connection, build_connection


@strawberry.input(description="Which stock items to list.")
class InventoryFilterInput:
    location_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Held at these locations.")
    low_stock_only: bool = strawberry.field(
        default=False, description="Only items at or under their reorder point (at those locations, if given)."
    )
    search: str | None = strawberry.field(default=None, description="Part of the name or the SKU.")


def _locations_read(filter: InventoryFilterInput | None = None, **_: object) -> list[str] | None:
    """The locations `inventory` refreshes: those its filter names, else all."""
    return location_keys(filter.location_ids) if filter else None


@strawberry.type
class InventoryQueries:
    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_STOCK)],
        description="Stock items with their level at each location.",
        extensions=[Fresh(FreshData.STOCK, locations=_locations_read)],
    )
    async def inventory(
        self,
        info: Info,
        filter: Annotated[InventoryFilterInput | None, strawberry.argument(description="Which items.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[StockItem]:
        where = InventoryFilter(
            location_ids=location_keys(filter.location_ids) if filter else None,
            low_stock_only=filter.low_stock_only if filter else False,
            search=filter.search if filter else None,
        )
        result = await list_stock_items(info.context, where, page_args(first, after, last, before))
        return build_connection(result, StockItem.from_row)
