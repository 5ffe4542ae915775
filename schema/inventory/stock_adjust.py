"""adjustStock: add or remove units of an item at a location (sale, restock, count...)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.inventory import stock as stock_writes
from resolvers.results import WriteResult
from schema.payloads import StockChangePayload
from schema.permissions import Permission, requires
from schema.write_inputs import idempotency_key_field, key_for, run_write, stock_keys


@strawberry.input(description="A change of the units an item has at a location.")
class AdjustStockInput:
    idempotency_key: str = idempotency_key_field()
    item_id: strawberry.ID = strawberry.field(description="Global id of the stock item.")
    location_id: strawberry.ID = strawberry.field(description="Global id of the location holding the stock.")
    delta: int = strawberry.field(
        description="Units to add (positive) or remove (negative); not zero. Removing more than is free "
        "(quantity minus reserved) is INSUFFICIENT_STOCK."
    )
    reason: str = strawberry.field(description="Why: sale, restock, adjustment, damaged or count.")
    reference: str | None = strawberry.field(
        default=None, description="Your reference for the movement log, e.g. an order number."
    )


@strawberry.type(description="The answer to adjustStock.")
class AdjustStockPayload(StockChangePayload):
    pass


@strawberry.type
class StockAdjustMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.MANAGE_STOCK)],
        description="Adjusts stock at a location: the cache and movement log at once, the location through the outbox.",
    )
    async def adjust_stock(
        self, info: Info, input: Annotated[AdjustStockInput, strawberry.argument(description="The adjustment.")]
    ) -> AdjustStockPayload:
        async def perform() -> WriteResult:
            return await stock_writes.change_stock(
                info.context,
                operation="adjustStock",
                item_id=key_for(input.item_id, "StockItem", "itemId"),
                location_id=key_for(input.location_id, "Location", "locationId"),
                quantity=input.delta,
                reason=input.reason,
                reference=input.reference or "",
                key=input.idempotency_key,
            )

        written = await run_write(info, perform)
        item_key, location_key = stock_keys(written, input)
        return AdjustStockPayload(
            outcomes=written.outcomes, errors=written.errors, item_key=item_key, location_key=location_key
        )
