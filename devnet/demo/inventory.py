"""Demo stock: items, each location's level of them (a dozen or so running low) and how they got there."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from devnet.demo.catalog import STOCK_ITEMS, StockItemSpec
from devnet.demo.ids import GlobalIds, Row
from devnet.demo.network import NetworkPlan

STOCKED_RATE = 0.85  # share of (item, location) pairs a location carries
LOW_LEVEL_COUNT = (12, 15)  # how many levels are at or under their reorder point
HISTORY_DAYS = 60


@dataclass(frozen=True)
class StockBook:
    item_rows: list[Row]
    level_rows: list[Row]
    movement_rows: list[Row]
    low_level_count: int


def is_low(quantity: int, reserved: int, reorder_point: int) -> bool:
    """What the demo calls low stock: what is free to sell no longer covers the reorder point."""
    return quantity - reserved <= reorder_point


class _StockBuilder:
    def __init__(self, rng: random.Random, ids: GlobalIds, now: datetime) -> None:
        self.rng = rng
        self.ids = ids
        self.now = now
        self.movement_rows: list[Row] = []

    def quantities(self, item: StockItemSpec, low: bool) -> tuple[int, int]:
        rng = self.rng
        if low:
            quantity = rng.randint(0, item.reorder_point)
        else:
            quantity = rng.randint(item.reorder_point + 3, max(item.reorder_point + 4, item.typical_quantity * 3 // 2))
        headroom = quantity if low else quantity - item.reorder_point - 1
        return quantity, rng.randint(0, min(2, headroom))

    def history(self, item: StockItemSpec, item_id: str, location_id: str, quantity: int) -> datetime:
        """Movements that end at ``quantity`` without ever going below zero; returns the last one's time."""
        rng = self.rng
        sales = [(-rng.randint(1, max(1, item.typical_quantity // 4)), "sale") for _ in range(rng.randint(2, 4))]
        adjustment = [(rng.choice((-2, -1, 1)), "adjustment")] if rng.random() < 0.3 else []
        top_up = [(rng.randint(max(1, item.typical_quantity // 3), item.typical_quantity), "restock")]
        later = [*sales[:1], *adjustment, *(top_up if rng.random() < 0.4 else []), *sales[1:]]
        opening = quantity - sum(delta for delta, _ in later)
        balance = opening
        for delta, _ in later:
            balance += delta
            if balance < 0:
                break
        if opening <= 0 or balance < 0:
            later = sales  # sales alone, after a big enough opening delivery, never go below zero
            opening = quantity - sum(delta for delta, _ in later)
        moves = [(opening, "restock"), *later]
        times = sorted(self.now - timedelta(minutes=rng.randint(60, HISTORY_DAYS * 1440)) for _ in moves)
        for (delta, reason), occurred_at in zip(moves, times, strict=True):
            self.movement_rows.append(
                {
                    "item_id": item_id,
                    "location_id": location_id,
                    "delta": delta,
                    "reason": reason,
                    "reference": self._reference(reason),
                    "occurred_at": occurred_at,
                }
            )
        return times[-1]

    def _reference(self, reason: str) -> str:
        if reason == "restock":
            return f"PO-{self.rng.randint(10_000, 99_999)}"
        if reason == "adjustment":
            return "stock count"
        return f"POS-{self.rng.randint(100_000, 999_999)}"


def build_stock(rng: random.Random, ids: GlobalIds, now: datetime, network: NetworkPlan) -> StockBook:
    builder = _StockBuilder(rng, ids, now)
    item_rows: list[Row] = []
    for item in STOCK_ITEMS:
        item_rows.append(
            {
                "id": ids.new("itm"),
                "sku": item.sku,
                "name": item.name,
                "category": item.category,
                "unit": item.unit,
                "created_at": now - timedelta(days=rng.randint(200, 700)),
            }
        )
    stocked = [
        (item, row["id"], location.id)
        for location in network.locations
        for item, row in zip(STOCK_ITEMS, item_rows, strict=True)
        if rng.random() < STOCKED_RATE
    ]
    low_positions = set(rng.sample(range(len(stocked)), rng.randint(*LOW_LEVEL_COUNT)))
    level_rows: list[Row] = []
    for position, (item, item_id, location_id) in enumerate(stocked):
        quantity, reserved = builder.quantities(item, low=position in low_positions)
        movements_before = len(builder.movement_rows)
        last_moved_at = builder.history(item, item_id, location_id, quantity)
        expires_on = None
        if item.shelf_life_days is not None:
            expires_on = now.date() + timedelta(days=rng.randint(14, item.shelf_life_days))
        level_rows.append(
            {
                "item_id": item_id,
                "location_id": location_id,
                "quantity": quantity,
                "reserved": reserved,
                "reorder_point": item.reorder_point,
                "expires_on": expires_on,
                "version": len(builder.movement_rows) - movements_before,
                "updated_at": last_moved_at,
            }
        )
    low = sum(is_low(row["quantity"], row["reserved"], row["reorder_point"]) for row in level_rows)
    return StockBook(item_rows, level_rows, builder.movement_rows, low)
