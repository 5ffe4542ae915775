"""Running a write for GraphQL: inputs to keys, expected failures to payload errors, outcomes to types.

Saleor's convention: a failure the client can act on is data in the payload (`errors`), not a
top-level GraphQL error; unexpected exceptions still propagate and are masked by schema.errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import strawberry
from strawberry.types import Info

from resolvers import bounds
from resolvers.errors import GatewayError, InvalidInputError
from resolvers.ids import key_of
from resolvers.inventory import stock as stock_writes
from resolvers.results import WriteResult
from schema.bookings.types import Booking
from schema.catalog.types import Resource
from schema.customers.types import Customer
from schema.inventory.types import StockItem, StockLevel
from schema.locations.types import Location
from schema.payloads import LocationOutcome, MutationError

IDEMPOTENCY_KEY_DESCRIPTION = (
    f"1 to {bounds.IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces (it travels in HTTP headers), "
    "new for each intended write: resending a request with the same key returns the first answer and never "
    "writes twice; reusing a key with another input is refused."
)


def idempotency_key_field() -> Any:
    """The `idempotencyKey: String!` input field every write has (a field object per input class)."""
    return strawberry.field(description=IDEMPOTENCY_KEY_DESCRIPTION)


def key_for(global_id: strawberry.ID, type_name: str, field: str) -> str:
    """The cache key inside a global id; a malformed or mistyped id is INVALID_ID on that input field, an
    over-long one INVALID_INPUT."""
    return key_of(str(global_id), type_name, field)


def optional_key_for(global_id: strawberry.ID | None, type_name: str, field: str) -> str | None:
    return None if global_id is None else key_for(global_id, type_name, field)


def aware(value: datetime, field: str) -> datetime:
    """Naive times are ambiguous across the network's timezones, and far ones overflow date arithmetic:
    refuse them as input, not with a 500 later."""
    return bounds.instant(field, value)


def json_object(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInputError(f"`{field}` must be a JSON object", field=field)
    return value


@dataclass(frozen=True, slots=True)
class PayloadParts:
    """What a mutation payload is built from: the command's WriteResult (None when it was refused), its
    outcomes as GraphQL types, and the payload errors. (WriteResult is the one name for what a write did.)"""

    result: WriteResult | None
    outcomes: list[LocationOutcome]
    errors: list[MutationError]

    @property
    def entity_id(self) -> str | None:
        return None if self.result is None else self.result.entity_id

    def related(self, name: str) -> str | None:
        return (self.result.related_ids.get(name) or None) if self.result is not None else None


async def run_write(
    info: Info, perform: Callable[[], Awaitable[WriteResult]], *, failed_outcome_is_error: bool = True
) -> PayloadParts:
    """Run perform (which converts the input too, so bad ids become payload errors).

    failed_outcome_is_error: the write counts only if its location takes it (a booking, a stock change);
    False for fan-outs where each location's refusal is reported by its outcome alone.
    """
    try:
        result = await perform()
    except GatewayError as error:
        return PayloadParts(None, [], [MutationError.from_gateway_error(error)])
    # The write changed the cache behind this request's loaders: entities read after it must be fresh.
    info.context.reset_loaders()
    outcomes = [LocationOutcome.from_outcome(outcome) for outcome in result.outcomes]
    errors: list[MutationError] = []
    if failed_outcome_is_error:
        errors = [error for error in (outcome.as_error() for outcome in outcomes) if error is not None]
    return PayloadParts(result, outcomes, errors)


class StockInput(Protocol):
    item_id: strawberry.ID
    location_id: strawberry.ID


def stock_keys(written: PayloadParts, data: StockInput) -> tuple[str | None, str | None]:
    """The item and location keys for a stock payload: none when the write was refused (the ids were valid
    if it ran at all)."""
    if written.result is None:
        return None, None
    return key_for(data.item_id, "StockItem", "itemId"), key_for(data.location_id, "Location", "locationId")


class StockQuantityInput(StockInput, Protocol):
    idempotency_key: str
    quantity: int
    reference: str | None


async def write_stock_quantity(
    info: Info, data: StockQuantityInput, operation: str
) -> tuple[PayloadParts, str | None, str | None]:
    """reserveStock and releaseStock: the same write on the reserved count, in opposite directions."""

    async def perform() -> WriteResult:
        return await stock_writes.change_stock(
            info.context,
            operation=operation,
            item_id=key_for(data.item_id, "StockItem", "itemId"),
            location_id=key_for(data.location_id, "Location", "locationId"),
            quantity=data.quantity,
            reason="",
            reference=data.reference or "",
            key=data.idempotency_key,
        )

    written = await run_write(info, perform)
    item_key, location_key = stock_keys(written, data)
    return written, item_key, location_key


async def load_booking(info: Info, key: str | None) -> Booking | None:
    row = None if key is None else await info.context.loaders.booking_by_id.load(key)
    return None if row is None else Booking.from_row(row)


async def load_location(info: Info, key: str | None) -> Location | None:
    row = None if key is None else await info.context.loaders.location_by_id.load(key)
    return None if row is None else Location.from_row(row)


async def load_customer(info: Info, key: str | None) -> Customer | None:
    row = None if key is None else await info.context.loaders.customer_by_id.load(key)
    return None if row is None else Customer.from_row(row)


async def load_resource(info: Info, key: str | None) -> Resource | None:
    row = None if key is None else await info.context.loaders.resource_by_id.load(key)
    return None if row is None else Resource.from_row(row)


async def load_stock_item(info: Info, key: str | None) -> StockItem | None:
    row = None if key is None else await info.context.loaders.stock_item_by_id.load(key)
    return None if row is None else StockItem.from_row(row)


async def load_stock_levels(info: Info, item_key: str | None, location_keys: list[str]) -> list[StockLevel]:
    """The item's levels at these locations, in this order."""
    if item_key is None:
        return []
    rows = {row.location_id: row for row in await info.context.loaders.stock_levels_by_item_id.load(item_key)}
    return [StockLevel.from_row(rows[key]) for key in location_keys if key in rows]
