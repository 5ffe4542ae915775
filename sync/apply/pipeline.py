"""Apply what a location says it holds to the cache, detecting concurrent changes on the way.

Used by sync jobs (delta pulls), by live refresh before a read, and by pushes (a source
website posting a booking). The location owns its records; where the network changed
the same record since the two last agreed, `sync.conflicts` decides. Customers found here
for the first time are matched to a known network customer by email, otherwise created;
bookings made at the location get a network id derived from the location and its local
id, so re-applying is idempotent. All records of one call land in one transaction, or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.writer import CacheWriter
from sources.connectors.records import (
    Cursor,
    EntityType,
    RemoteBooking,
    RemoteCustomer,
    RemoteRecord,
    RemoteResource,
    RemoteStockLevel,
)
from sync.apply.batch import ApplyResult, ApplyRules, Batch, derived_id
from sync.apply.registry import ENTITIES
from sync.pull.cursors import save_cursor
from sync.webhooks.receipts import Delivery, Outcome, receive

__all__ = ["ApplyResult", "ApplyRules", "CursorAdvance", "apply_location_changes", "derived_id"]


@dataclass(frozen=True, slots=True)
class CursorAdvance:
    entity_type: EntityType
    cursor: Cursor | None
    full: bool = False  # the pull went through everything (a full reconciliation)


async def apply_location_changes(
    writer: CacheWriter,
    location_id: str,
    records: Sequence[RemoteRecord] = (),
    *,
    customers: Sequence[RemoteCustomer] = (),
    bookings: Sequence[RemoteBooking] = (),
    resources: Sequence[RemoteResource] = (),
    stock: Sequence[RemoteStockLevel] = (),
    rules: ApplyRules | None = None,
    job_id: str | None = None,
    advance: CursorAdvance | None = None,
    delivery: Delivery | None = None,
) -> ApplyResult:
    """Apply one location's records in one transaction: all of them land, or none.

    `records` may hold any entity type's records (a pulled page does); the named sequences are
    the same, spelled for callers that hold one kind. Each entity type applies its own, in the
    order of the entity table (customers before the bookings that name them).
    With `advance`, the pull's cursor moves in the same transaction, so a page is either
    applied and passed, or neither (a crash in between re-pulls it; re-applying is harmless).
    With `delivery` (a webhook or push), its receipt is written in the same transaction: a second copy of the
    event raises DuplicateDelivery and applies nothing; an event older than the entity's newest applies nothing
    and comes back with `stale` set.
    """
    rules = rules or ApplyRules()
    given = [*records, *customers, *bookings, *resources, *stock]

    async def apply(session: AsyncSession) -> ApplyResult:
        # Built anew on every attempt: a transaction that ran into another writer left nothing behind.
        batch = Batch(location_id, rules, job_id, writer.locks_rows)
        result = ApplyResult()
        if delivery is not None:
            payload = {"records": [repr(record)[:2000] for record in given[:20]]}
            if await receive(session, delivery, location_id=location_id, payload=payload) is Outcome.STALE:
                result.stale = True
                return result
        for entity in ENTITIES:
            mine = [record for record in given if isinstance(record, entity.remote_type)]
            if mine:
                await entity.apply(session, batch, mine, result)
        if advance is not None:
            await save_cursor(session, location_id, advance.entity_type, advance.cursor, full=advance.full)
        return result

    # Two locations' changes to one customer, applied at once, can deadlock on PostgreSQL: run it again.
    return await writer.run(apply, what=f"applying changes from {location_id}")
