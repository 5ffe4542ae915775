"""Stock levels: one item at one location; the location keeps the counts, so its word is applied.

The network changes them only through the owner (deltas, reservations and releases go through
the outbox and the location applies them), so a pull has no second side to conflict with.
Rolling a pull back counts the difference back at the location.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence, Set

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import log_change
from sources.cache.models import ChangeLogEntry, Conflict, StockItem, StockLevel
from sources.connectors.base import Capability
from sources.connectors.records import EntityType, RecordType, RemoteRecord, RemoteStockLevel
from sync.apply.batch import ApplyResult, ApplyRules, Batch
from sync.apply.entity import HeldByTheOwnerOnly, Undo, restore, undoable_update
from sync.apply.state import Image, image_of
from sync.errors import InvalidResolution
from sync.events import stock_event
from sync.outbox.messages import StockChangeMessage, stock_level_id
from sync.outbox.queue import Queued, enqueue
from sync.types import ConflictChoice

STOCK_LEVEL = RecordType.STOCK_LEVEL
STOCK_FIELDS = ("quantity", "reserved", "reorder_point", "expires_on")


class Stock(HeldByTheOwnerOnly):
    pulled_as = EntityType.INVENTORY
    record_types = (STOCK_LEVEL,)
    reads = Capability.READ_STOCK
    remote_type: type[RemoteRecord] = RemoteStockLevel

    def key_of(self, record: RemoteStockLevel) -> str:
        return record.sku

    async def apply(
        self, session: AsyncSession, batch: Batch, records: Sequence[RemoteStockLevel], result: ApplyResult
    ) -> None:
        location_id = batch.location_id
        items = dict((await session.execute(select(StockItem.sku, StockItem.id))).all())
        known = {
            level.item_id: level
            for level in (
                await session.execute(select(StockLevel).where(StockLevel.location_id == location_id))
            ).scalars()
        }
        for remote in records:
            item_id = items.get(remote.sku)
            if item_id is None:
                continue
            values = {name: getattr(remote, name) for name in STOCK_FIELDS}
            level = known.get(item_id)
            if level is None:
                level = StockLevel(item_id=item_id, location_id=location_id, **values)
                session.add(level)
                await session.flush()
                await log_change(
                    session,
                    entity_type=STOCK_LEVEL,
                    entity_id=stock_level_id(item_id, location_id),
                    location_id=location_id,
                    operation="create",
                    before=None,
                    after=values,
                    sync_job_id=batch.job_id,
                )
                result.created += 1
                result.events.append(stock_event(level))
                continue
            before = image_of(level, STOCK_FIELDS)
            after = image_of(remote, STOCK_FIELDS)
            if before == after:
                result.unchanged += 1
                continue
            for name, value in values.items():
                setattr(level, name, value)
            level.version += 1
            await log_change(
                session,
                entity_type=STOCK_LEVEL,
                entity_id=stock_level_id(item_id, location_id),
                location_id=location_id,
                operation="update",
                before=before,
                after=after,
                version=level.version,
                sync_job_id=batch.job_id,
            )
            result.updated += 1
            result.events.append(stock_event(level))

    async def reconcile(
        self, session: AsyncSession, location_id: str, seen: Set[str], job_id: str, result: ApplyResult
    ) -> None:
        """Nothing: a sku a location stops listing keeps its last level; stock history refers to it."""

    async def resolve(
        self,
        session: AsyncSession,
        rules: ApplyRules,
        conflict: Conflict,
        choice: ConflictChoice | None,
        merged: Image | None,
    ) -> ApplyResult:
        raise InvalidResolution(f"conflicts on {conflict.entity_type} cannot be resolved here")

    async def roll_back(self, undo: Undo, entry: ChangeLogEntry) -> bool:
        session = undo.session
        item_id, _, location_id = entry.entity_id.partition("@")
        level = (
            await session.execute(
                select(StockLevel).where(StockLevel.item_id == item_id, StockLevel.location_id == location_id)
            )
        ).scalar()
        if level is None or not undoable_update(level, entry):
            return False
        delta = int((entry.before or {}).get("quantity", level.quantity)) - level.quantity
        restore(level, entry.before)
        level.version += 1
        await undo.log(entry, level.version)
        if delta:
            # Counted back at the location, so the next pull does not bring the job's count again.
            sku = (await session.execute(select(StockItem.sku).where(StockItem.id == item_id))).scalar_one()
            message = StockChangeMessage(
                item_id, sku, "change", delta, reason="adjustment", reference=f"rollback {undo.job_id}"
            )
            row = await enqueue(
                session,
                location_id=location_id,
                message=message,
                idempotency_key=f"sync:rollback:{entry.id}:{uuid.uuid4().hex[:8]}",
                lease_inline=False,
            )
            undo.result.queued.append(Queued(row.id, location_id))
        undo.result.events.append(stock_event(level))
        return True
