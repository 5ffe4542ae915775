"""stock.change: a stock delta, reservation or release sent to the location that keeps the stock.

The cache applied the change when it was queued; the owner's counts replace the cache's once it
applied it too, and a refused change is taken back out of the cache.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import log_change
from sources.cache.models import StockLevel, StockMovement
from sources.cache.revenue import SplitRules
from sources.connectors.base import Connector
from sources.connectors.errors import UpstreamRejected
from sources.connectors.records import RecordType, StockAck
from sync.events import stock_event
from sync.outbox.messages.base import DeliveryEffects, Message

STOCK_KINDS = ("change", "reserve", "release")


def stock_level_id(item_id: str, location_id: str) -> str:
    return f"{item_id}@{location_id}"


@dataclasses.dataclass(frozen=True, slots=True)
class StockChangeMessage(Message[StockAck]):
    op: ClassVar[str] = "stock.change"
    entity_type: ClassVar[RecordType] = RecordType.STOCK_LEVEL

    item_id: str
    sku: str
    kind: str  # change (a signed delta of the quantity) | reserve | release
    quantity: int
    reason: str = ""
    reference: str = ""

    def __post_init__(self) -> None:
        if self.kind not in STOCK_KINDS:
            raise ValueError(f"a stock change is one of {', '.join(STOCK_KINDS)}, not {self.kind!r}")

    @property
    def cache_delta(self) -> dict[str, int]:
        """What queueing it did to the cached level (what a refusal takes back)."""
        return {
            "quantity": self.quantity if self.kind == "change" else 0,
            "reserved": {"reserve": self.quantity, "release": -self.quantity}.get(self.kind, 0),
        }

    def entity_id(self, location_id: str) -> str:
        return stock_level_id(self.item_id, location_id)

    def encode(self) -> dict[str, Any]:
        return {**Message.encode(self), "cache_delta": self.cache_delta}

    async def send(self, connector: Connector, key: str) -> StockAck:
        if self.kind == "change":
            return await connector.change_stock(self.sku, self.quantity, self.reason, self.reference, key)
        if self.kind == "reserve":
            return await connector.reserve_stock(self.sku, self.quantity, self.reference, key)
        return await connector.release_stock(self.sku, self.quantity, self.reference, key)

    async def _level(self, session: AsyncSession, location_id: str) -> StockLevel:
        return (
            await session.execute(
                select(StockLevel).where(StockLevel.item_id == self.item_id, StockLevel.location_id == location_id)
            )
        ).scalar_one()

    async def delivered(
        self, session: AsyncSession, location_id: str, ack: StockAck, split: SplitRules
    ) -> DeliveryEffects:
        level = await self._level(session, location_id)
        # The owner's counts are the truth once it has applied our change.
        before = {"quantity": level.quantity, "reserved": level.reserved}
        level.quantity, level.reserved = ack.quantity, ack.reserved
        level.version += 1
        await log_change(
            session,
            entity_type=RecordType.STOCK_LEVEL,
            entity_id=stock_level_id(level.item_id, location_id),
            location_id=location_id,
            operation="update",
            before=before,
            after={"quantity": level.quantity, "reserved": level.reserved},
            version=level.version,
        )
        return DeliveryEffects((stock_event(level),))

    async def rejected(self, session: AsyncSession, location_id: str, error: UpstreamRejected) -> DeliveryEffects:
        level = await self._level(session, location_id)
        undo = self.cache_delta
        level.quantity -= undo["quantity"]
        level.reserved -= undo["reserved"]
        if self.kind == "change":
            session.add(
                StockMovement(
                    item_id=self.item_id,
                    location_id=location_id,
                    delta=-self.quantity,
                    reason="adjustment",
                    reference=f"undo {self.reference}: {error.code}",
                )
            )
        return DeliveryEffects((stock_event(level),))
