"""adjustStock, reserveStock, releaseStock and transferStock (both sides or neither)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers import bounds
from resolvers.authorization import require_acting_location
from resolvers.context import Context
from resolvers.errors import InsufficientStockError, InvalidInputError, NotFoundError
from resolvers.idempotency import run_idempotent
from resolvers.results import WriteResult
from resolvers.writing import audit_write, deliver, enqueue_for_owner, require_capability, require_positive
from sources.cache.models import Location, OutboxMessage, StockItem, StockLevel, StockMovement
from sources.connectors.base import Capability
from sync.outbox.delivery import DeliveryOutcome, DeliveryStatus
from sync.outbox.messages import StockChangeMessage
from sync.outbox.queue import CANCELLED, PENDING, Queued

REASONS = frozenset({"sale", "restock", "adjustment", "damaged", "count"})


async def _level(
    context: Context, session: AsyncSession, item_id: str, location_id: str
) -> tuple[StockLevel, StockItem]:
    item = await session.get(StockItem, item_id)
    if item is None:
        raise NotFoundError(f"no stock item {item_id}", field="itemId")
    location = await session.get(Location, location_id)
    if location is None:
        raise NotFoundError(f"no location {location_id}", field="locationId")
    require_capability(context, location, Capability.WRITE_STOCK, "keep stock")
    statement = select(StockLevel).where(StockLevel.item_id == item_id, StockLevel.location_id == location_id)
    if context.services.writer.locks_rows:
        statement = statement.with_for_update()
    level = (await session.execute(statement)).scalar()
    if level is None:
        raise NotFoundError(f"{location.name} does not stock {item.name}", field="locationId")
    return level, item


async def _change(
    context: Context,
    session: AsyncSession,
    level: StockLevel,
    item: StockItem,
    *,
    kind: str,
    quantity: int,
    reason: str,
    reference: str,
    key: str,
) -> Queued:
    """Apply to the cache now (checked like the owner checks it) and queue for the owner."""
    message = StockChangeMessage(item.id, item.sku, kind, quantity, reason=reason, reference=reference)
    delta_quantity, delta_reserved = message.cache_delta["quantity"], message.cache_delta["reserved"]
    if level.quantity + delta_quantity < level.reserved + delta_reserved or level.reserved + delta_reserved < 0:
        if kind == "release":
            raise InvalidInputError(f"only {level.reserved} of {item.name} are reserved", field="quantity")
        raise InsufficientStockError(
            f"only {level.quantity - level.reserved} of {item.name} are free at {level.location_id}",
            available=level.quantity - level.reserved,
        )
    if level.quantity + delta_quantity > bounds.STOCK_LEVEL_MAX:
        field = "delta" if kind == "change" else "quantity"
        raise InvalidInputError(f"a stock level cannot exceed {bounds.STOCK_LEVEL_MAX} units", field=field)
    level.quantity += delta_quantity
    level.reserved += delta_reserved
    if kind == "change":
        session.add(
            StockMovement(
                item_id=item.id, location_id=level.location_id, delta=quantity, reason=reason, reference=reference
            )
        )
    message_id = await enqueue_for_owner(session, location_id=level.location_id, message=message, key=key)
    await audit_write(
        context,
        session,
        action=f"stock.{kind}",
        entity_type="stock_level",
        entity_id=f"{item.id}@{level.location_id}",
        location_id=level.location_id,
        details={"quantity": quantity, "reason": reason, "reference": reference},
    )
    return message_id


async def change_stock(
    context: Context,
    *,
    operation: str,
    item_id: str,
    location_id: str,
    quantity: int,
    reason: str,
    reference: str,
    key: str,
) -> WriteResult:
    """adjustStock (signed quantity), reserveStock and releaseStock (positive quantity)."""
    require_acting_location(context, location_id)
    kind = {"adjustStock": "change", "reserveStock": "reserve", "releaseStock": "release"}[operation]
    bounds.idempotency_key(key)
    bounds.key("itemId", item_id)
    bounds.key("locationId", location_id)
    bounds.text("reference", reference, bounds.REFERENCE_LENGTH)
    if kind == "change":
        if quantity == 0:
            raise InvalidInputError("`delta` must not be zero", field="delta")
        bounds.integer("delta", quantity, -bounds.QUANTITY_MAX, bounds.QUANTITY_MAX)
        if reason not in REASONS:
            raise InvalidInputError(f"`reason` must be one of {', '.join(sorted(REASONS))}", field="reason")
    else:
        require_positive("quantity", quantity)
        bounds.quantity("quantity", quantity)

    async def perform() -> WriteResult:
        async with context.services.writer.transaction() as session:
            level, item = await _level(context, session, item_id, location_id)
            message_id = await _change(
                context,
                session,
                level,
                item,
                kind=kind,
                quantity=quantity,
                reason=reason,
                reference=reference,
                key=f"{key}:{kind}",
            )
        return await deliver(context, "stock_level", f"{item_id}@{location_id}", [message_id])

    arguments = {
        "item_id": item_id,
        "location_id": location_id,
        "quantity": quantity,
        "reason": reason,
        "reference": reference,
    }
    return await run_idempotent(context, operation, key, arguments, perform)


async def _withdraw(context: Context, message: Queued, item_id: str, delta: int) -> None:
    """Take back a transfer leg that was not delivered: the message is cancelled, the cache restored."""
    async with context.services.writer.transaction() as session:
        withdrawn = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.status == PENDING)
            .values(status=CANCELLED, last_error="transfer withdrawn: the other side failed")
        )
        if withdrawn.rowcount == 1:  # type: ignore[attr-defined]
            level = (
                await session.execute(
                    select(StockLevel).where(
                        StockLevel.item_id == item_id, StockLevel.location_id == message.location_id
                    )
                )
            ).scalar_one()
            level.quantity -= delta
            session.add(
                StockMovement(
                    item_id=item_id,
                    location_id=message.location_id,
                    delta=-delta,
                    reason="adjustment",
                    reference=f"transfer withdrawn ({message.id})",
                )
            )


async def transfer_stock(
    context: Context, *, item_id: str, from_location_id: str, to_location_id: str, quantity: int, key: str
) -> WriteResult:
    bounds.idempotency_key(key)
    bounds.key("itemId", item_id)
    bounds.key("fromLocationId", from_location_id)
    bounds.key("toLocationId", to_location_id)
    require_acting_location(context, from_location_id)  # the sender's call; the receiver just receives
    require_positive("quantity", quantity)
    bounds.quantity("quantity", quantity)
    if from_location_id == to_location_id:
        raise InvalidInputError("a transfer needs two different locations", field="toLocationId")

    async def perform() -> WriteResult:
        reference = f"transfer {from_location_id}->{to_location_id}"
        async with context.services.writer.transaction() as session:
            source, item = await _level(context, session, item_id, from_location_id)
            target, _ = await _level(context, session, item_id, to_location_id)
            out_id = await _change(
                context,
                session,
                source,
                item,
                kind="change",
                quantity=-quantity,
                reason="transfer_out",
                reference=reference,
                key=f"{key}:out",
            )
            in_id = await _change(
                context,
                session,
                target,
                item,
                kind="change",
                quantity=quantity,
                reason="transfer_in",
                reference=reference,
                key=f"{key}:in",
            )
        deliverer = context.services.deliverer
        taken = await deliverer.deliver(out_id)
        if taken.status is not DeliveryStatus.DELIVERED:
            # Neither side: the source did not give the stock up, so the target must not receive it.
            if taken.status is DeliveryStatus.QUEUED:
                await _withdraw(context, out_id, item_id, -quantity)
                taken = replace(taken, status=DeliveryStatus.FAILED)
            await _withdraw(context, in_id, item_id, quantity)
            skipped = DeliveryOutcome(
                to_location_id,
                in_id.id,
                DeliveryStatus.FAILED,
                "TRANSFER_WITHDRAWN",
                "not sent: the source side failed",
            )
            return WriteResult("stock_transfer", item_id, (taken, skipped))
        given = await deliverer.deliver(in_id)
        if given.status is DeliveryStatus.DELIVERED:
            return WriteResult("stock_transfer", item_id, (taken, given))
        if given.status is DeliveryStatus.QUEUED:
            await _withdraw(context, in_id, item_id, quantity)
            given = replace(given, status=DeliveryStatus.FAILED)
        # The source already gave the stock up: give it back (through the outbox, so it lands even if
        # the source has gone down since).
        async with context.services.writer.transaction() as session:
            source, item = await _level(context, session, item_id, from_location_id)
            back_id = await _change(
                context,
                session,
                source,
                item,
                kind="change",
                quantity=quantity,
                reason="transfer_in",
                reference=f"{reference} reversed",
                key=f"{key}:reverse",
            )
        returned = await deliverer.deliver(back_id)
        return WriteResult("stock_transfer", item_id, (taken, given, returned))

    arguments = {"item_id": item_id, "from": from_location_id, "to": to_location_id, "quantity": quantity}
    return await run_idempotent(context, "transferStock", key, arguments, perform)
