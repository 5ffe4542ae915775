"""releaseStock: free units of an item reserved earlier at a location."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.writes import stock as stock_writes
from resolvers.writes.results import WriteResult
from schema.mutations.common import idempotency_key_field, key_for, run_write, stock_keys
from schema.mutations.types import StockChangePayload


@strawberry.input(description="Reserved units of an item to free at a location.")
class ReleaseStockInput:
    idempotency_key: str = idempotency_key_field()
    item_id: strawberry.ID = strawberry.field(description="Global id of the stock item.")
    location_id: strawberry.ID = strawberry.field(description="Global id of the location holding the stock.")
    quantity: int = strawberry.field(description="Units to free; greater than zero and at most the reserved units.")
    reference: str | None = strawberry.field(
        default=None, description="Your reference, e.g. the booking or order the units are for."
    )


@strawberry.type(description="The answer to releaseStock.")
class ReleaseStockPayload(StockChangePayload):
    pass


@strawberry.type
class StockReleaseMutation:
    @strawberry.mutation(
        description="Releases reserved stock at a location: the units become free again. "
        "More than is reserved is INVALID_INPUT."
    )
    async def release_stock(
        self, info: Info, input: Annotated[ReleaseStockInput, strawberry.argument(description="The release.")]
    ) -> ReleaseStockPayload:
        async def perform() -> WriteResult:
            return await stock_writes.change_stock(
                info.context,
                operation="releaseStock",
                item_id=key_for(input.item_id, "StockItem", "itemId"),
                location_id=key_for(input.location_id, "Location", "locationId"),
                quantity=input.quantity,
                reason="",
                reference=input.reference or "",
                key=input.idempotency_key,
            )

        written = await run_write(info, perform)
        item_key, location_key = stock_keys(written, input)
        return ReleaseStockPayload(
            outcomes=written.outcomes, errors=written.errors, item_key=item_key, location_key=location_key
        )
