"""transferStock: move units of an item from one location to another, both sides or neither."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.inventory import stock as stock_writes
from resolvers.results import WriteResult
from schema.inventory.types import StockItem, StockLevel
from schema.payloads import MutationPayload
from schema.permissions import Permission, requires
from schema.write_inputs import idempotency_key_field, key_for, load_stock_item, load_stock_levels, run_write


@strawberry.input(description="Units of an item to move between two locations.")
class TransferStockInput:
    idempotency_key: str = idempotency_key_field()
    item_id: strawberry.ID = strawberry.field(description="Global id of the stock item.")
    from_location_id: strawberry.ID = strawberry.field(description="Global id of the location giving the units.")
    to_location_id: strawberry.ID = strawberry.field(
        description="Global id of the location receiving them; must differ from fromLocationId."
    )
    quantity: int = strawberry.field(description="Units to move; greater than zero and at most the free units.")


@strawberry.type(description="The answer to transferStock.")
class TransferStockPayload(MutationPayload):
    item_key: strawberry.Private[str | None]
    location_keys: strawberry.Private[list[str]]

    @strawberry.field(description="The item; null when the request was refused (see errors).")
    async def item(self, info: Info) -> StockItem | None:
        return await load_stock_item(info, self.item_key)

    @strawberry.field(
        description="The item's level at the giving and then the receiving location, as the cache has them now; "
        "empty when the request was refused."
    )
    async def stock_levels(self, info: Info) -> list[StockLevel]:
        return await load_stock_levels(info, self.item_key, self.location_keys)


@strawberry.type
class StockTransferMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.MANAGE_STOCK)],
        description="Transfers stock: the giving location first, then the receiving one. If either refuses or "
        "cannot be reached, the transfer is undone on both sides and reported in `errors`.",
    )
    async def transfer_stock(
        self, info: Info, input: Annotated[TransferStockInput, strawberry.argument(description="The transfer.")]
    ) -> TransferStockPayload:
        def keys() -> tuple[str, str, str]:
            return (
                key_for(input.item_id, "StockItem", "itemId"),
                key_for(input.from_location_id, "Location", "fromLocationId"),
                key_for(input.to_location_id, "Location", "toLocationId"),
            )

        async def perform() -> WriteResult:
            item_id, from_location_id, to_location_id = keys()
            return await stock_writes.transfer_stock(
                info.context,
                item_id=item_id,
                from_location_id=from_location_id,
                to_location_id=to_location_id,
                quantity=input.quantity,
                key=input.idempotency_key,
            )

        written = await run_write(info, perform)
        if written.result is None:
            return TransferStockPayload(outcomes=[], errors=written.errors, item_key=None, location_keys=[])
        item_key, from_key, to_key = keys()  # valid: the write ran
        return TransferStockPayload(
            outcomes=written.outcomes, errors=written.errors, item_key=item_key, location_keys=[from_key, to_key]
        )
