"""reserveStock: hold units of an item at a location for a booking or a transfer."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from schema.payloads import StockChangePayload
from schema.permissions import Permission, requires
from schema.write_inputs import idempotency_key_field, write_stock_quantity


@strawberry.input(description="Units of an item to hold at a location.")
class ReserveStockInput:
    idempotency_key: str = idempotency_key_field()
    item_id: strawberry.ID = strawberry.field(description="Global id of the stock item.")
    location_id: strawberry.ID = strawberry.field(description="Global id of the location holding the stock.")
    quantity: int = strawberry.field(description="Units to hold; greater than zero and at most the free units.")
    reference: str | None = strawberry.field(
        default=None, description="Your reference, e.g. the booking or order the units are for."
    )


@strawberry.type(description="The answer to reserveStock.")
class ReserveStockPayload(StockChangePayload):
    pass


@strawberry.type
class StockReserveMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.MANAGE_STOCK)],
        description="Reserves stock at a location: the units stay on hand but are no longer free. "
        "More than is free is INSUFFICIENT_STOCK.",
    )
    async def reserve_stock(
        self, info: Info, input: Annotated[ReserveStockInput, strawberry.argument(description="The reservation.")]
    ) -> ReserveStockPayload:
        written, item_key, location_key = await write_stock_quantity(info, input, "reserveStock")
        return ReserveStockPayload(
            outcomes=written.outcomes, errors=written.errors, item_key=item_key, location_key=location_key
        )
