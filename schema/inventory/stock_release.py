"""releaseStock: free units of an item reserved earlier at a location."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from schema.payloads import StockChangePayload
from schema.permissions import Permission, requires
from schema.write_inputs import idempotency_key_field, write_stock_quantity


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
        permission_classes=[requires(Permission.MANAGE_STOCK)],
        description="Releases reserved stock at a location: the units become free again. "
        "More than is reserved is INVALID_INPUT.",
    )
    async def release_stock(
        self, info: Info, input: Annotated[ReleaseStockInput, strawberry.argument(description="The release.")]
    ) -> ReleaseStockPayload:
        written, item_key, location_key = await write_stock_quantity(info, input, "releaseStock")
        return ReleaseStockPayload(
            outcomes=written.outcomes, errors=written.errors, item_key=item_key, location_key=location_key
        )
