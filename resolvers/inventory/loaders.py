"""The inventory domain's DataLoaders: items apply `scope.stock_items()`, levels `scope.stock()`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from resolvers.loading import RowByKeyLoader, RowsByKeyLoader
from sources.cache.models import StockItem, StockLevel

stock_items = StockItem.__table__
stock_levels = StockLevel.__table__


class StockItemByIdLoader(RowByKeyLoader):
    key_column = stock_items.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(stock_items).where(stock_items.c.id.in_(keys), self.scope.stock_items())


class StockLevelsByItemIdLoader(RowsByKeyLoader):
    key_name = "item_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(stock_levels)
            .where(stock_levels.c.item_id.in_(keys), self.scope.stock())
            .order_by(stock_levels.c.item_id, stock_levels.c.location_id)
        )


class StockLevelsByLocationIdLoader(RowsByKeyLoader):
    key_name = "location_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(stock_levels)
            .where(stock_levels.c.location_id.in_(keys), self.scope.stock())
            .order_by(stock_levels.c.location_id, stock_levels.c.item_id)
        )
