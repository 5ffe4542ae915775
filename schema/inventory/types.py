"""Stock: items tracked across the network and their level at each location."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.ids import keys_of, to_global_id
from resolvers.inventory.queries import is_low
from resolvers.loading import load_now
from schema.locations.types import Location, location_by_id
from schema.relay import Node


@strawberry.type(description="How much of an item one location holds.")
class StockLevel:
    quantity: int = strawberry.field(description="Units on hand.")
    reserved: int = strawberry.field(description="Units promised to bookings or transfers.")
    available: int = strawberry.field(description="Units free to use: quantity minus reserved.")
    reorder_point: int = strawberry.field(description="Reorder when available falls to this or under.")
    is_low: bool = strawberry.field(description="True when available is at or under the reorder point.")
    expires_on: date | None = strawberry.field(description="Earliest expiry date of the units held, if perishable.")
    updated_at: datetime = strawberry.field(description="Last change.")
    location_id: strawberry.Private[str]
    item_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Any) -> StockLevel:
        return cls(
            quantity=row.quantity,
            reserved=row.reserved,
            available=row.quantity - row.reserved,
            reorder_point=row.reorder_point,
            is_low=is_low(row.quantity, row.reserved, row.reorder_point),
            expires_on=row.expires_on,
            updated_at=row.updated_at,
            location_id=row.location_id,
            item_id=row.item_id,
        )

    @strawberry.field(graphql_type=Location, description="The location holding the stock (and owning this level).")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_id)

    @strawberry.field(
        graphql_type=Annotated["StockItem", strawberry.lazy("schema.inventory.types")], description="The item."
    )
    def item(self, info: Info) -> Any:
        return load_now(info.context.loaders.stock_item_by_id, self.item_id, StockItem.from_row)


@strawberry.type(description="A product or consumable tracked across the network.")
class StockItem(Node):
    network_id: str = strawberry.field(description="Network-wide item id.")
    sku: str = strawberry.field(description="Stock keeping unit, unique in the network.")
    name: str = strawberry.field(description="Display name.")
    category: str = strawberry.field(description="Product category.")
    unit: str = strawberry.field(description="What one unit is, e.g. each, bottle, kg.")

    @classmethod
    def from_row(cls, row: Any) -> StockItem:
        return cls(
            id=strawberry.ID(to_global_id("StockItem", row.id)),
            network_id=row.id,
            sku=row.sku,
            name=row.name,
            category=row.category,
            unit=row.unit,
        )

    @strawberry.field(description="Its level at each location that holds it.")
    async def levels(
        self,
        info: Info,
        location_ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description="Only these locations.")
        ] = None,
        low_stock_only: Annotated[bool, strawberry.argument(description="Only levels that are low.")] = False,
    ) -> list[StockLevel]:
        wanted = set(keys_of([str(i) for i in location_ids], "Location") or ()) if location_ids else None
        rows = await info.context.loaders.stock_levels_by_item_id.load(self.network_id)
        levels = [StockLevel.from_row(row) for row in rows if wanted is None or row.location_id in wanted]
        return [level for level in levels if level.is_low] if low_stock_only else levels

    @strawberry.field(description="Units free to use, summed over every location.")
    async def total_available(self, info: Info) -> int:
        rows = await info.context.loaders.stock_levels_by_item_id.load(self.network_id)
        return sum(row.quantity - row.reserved for row in rows)
