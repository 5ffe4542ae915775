"""Reading stock: items with their level at each location, and what is running low."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from resolvers import bounds
from resolvers.context import Context
from resolvers.listing import ListResult, list_page
from resolvers.pagination import PageArgs, SortOrder
from resolvers.scope import scoped
from resolvers.validation import require_known_locations
from sources.cache.models import StockItem, StockLevel

stock_items = StockItem.__table__
stock_levels = StockLevel.__table__

STOCK_ITEM_ORDER = SortOrder("stock_item", (stock_items.c.category, stock_items.c.name, stock_items.c.id))


def is_low(quantity: int, reserved: int, reorder_point: int) -> bool:
    """Low stock: what is free to sell has fallen to the reorder point or under it."""
    return quantity - reserved <= reorder_point


@dataclass(frozen=True, slots=True)
class InventoryFilter:
    location_ids: list[str] | None = None  # items held at any of these
    low_stock_only: bool = False  # items low at (one of) those locations
    search: str | None = None  # part of the name or the SKU


async def list_stock_items(context: Context, where: InventoryFilter, args: PageArgs) -> ListResult:
    bounds.optional_text("search", where.search, bounds.SEARCH_LENGTH)
    await require_known_locations(context.engine, where.location_ids)
    statement = scoped(select(stock_items), context.scope.stock_items())
    if where.location_ids or where.low_stock_only:
        # Held (and low) at the locations asked about, among the levels the scope shows.
        held = scoped(select(stock_levels.c.item_id), context.scope.stock())
        if where.location_ids:
            held = held.where(stock_levels.c.location_id.in_(where.location_ids))
        if where.low_stock_only:
            held = held.where(stock_levels.c.quantity - stock_levels.c.reserved <= stock_levels.c.reorder_point)
        statement = statement.where(stock_items.c.id.in_(held))
    if where.search and where.search.strip():
        pattern = f"%{where.search.strip().lower()}%"
        statement = statement.where(stock_items.c.name.ilike(pattern) | stock_items.c.sku.ilike(pattern))
    return await list_page(context, statement, STOCK_ITEM_ORDER, args)
