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

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import Customer, CustomerMapping, SyncJob
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
    pulled: int = 0  # records on the page: added to the job's counts with the cursor (a taken-over job carries them)


async def lock_customers(session: AsyncSession, location_id: str, records: Sequence[RemoteRecord]) -> None:
    """Lock every network customer the batch may touch, up front and in id order (PostgreSQL).

    Two locations that share customers apply their batches at once (a live refresh asks every location in
    parallel). Locked one by one in each location's own order, they deadlocked: A held X and wanted Y while
    B held Y and wanted X. Taken in one order by everyone, the second waits for the first and never holds
    what the first wants. The customers are found by this location's mappings (its customers and the
    customers its bookings name) and by email (a customer first seen here is matched to a known one).
    """
    local_ids = {record.local_id for record in records if isinstance(record, RemoteCustomer)}
    local_ids |= {record.local_customer_id for record in records if isinstance(record, RemoteBooking)}
    emails = {
        record.email.lower() for record in records if isinstance(record, RemoteCustomer) and record.email is not None
    }
    if not local_ids and not emails:
        return
    wanted = select(CustomerMapping.customer_id).where(
        CustomerMapping.location_id == location_id, CustomerMapping.local_customer_id.in_(sorted(local_ids))
    )
    by_email = select(Customer.id).where(func.lower(Customer.email).in_(sorted(emails)))
    await session.execute(
        select(Customer.id)
        .where(or_(Customer.id.in_(wanted), Customer.id.in_(by_email)))
        .order_by(Customer.id)
        .with_for_update()
    )


async def _count(session: AsyncSession, job_id: str, pulled: int, result: ApplyResult) -> None:
    """The page's counts onto its job's row, with its cursor: what a job says it applied is what it applied,
    also when its process dies and another finishes it."""
    await session.execute(
        update(SyncJob)
        .where(SyncJob.id == job_id)
        .values(
            pulled_count=SyncJob.pulled_count + pulled,
            applied_count=SyncJob.applied_count + result.created + result.updated,
            deleted_count=SyncJob.deleted_count + result.deleted,
            conflict_count=SyncJob.conflict_count + result.conflicts,
        )
    )


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
        if writer.locks_rows:
            await lock_customers(session, location_id, given)
        for entity in ENTITIES:
            mine = [record for record in given if isinstance(record, entity.remote_type)]
            if mine:
                await entity.apply(session, batch, mine, result)
        if advance is not None:
            await save_cursor(session, location_id, advance.entity_type, advance.cursor, full=advance.full)
            if job_id is not None:
                await _count(session, job_id, advance.pulled, result)
        return result

    # Two locations' changes to one customer, applied at once, can deadlock on PostgreSQL: run it again.
    return await writer.run(apply, what=f"applying changes from {location_id}")
