"""rollbackSyncJob: put back what a job applied, from the before-images in the change log.

Entries are undone newest first. A record changed again after the job (its values are no
longer what the job wrote) is left alone and counted as skipped: rolling back must not
destroy a later change. What the job took from a location is compensated there through
the outbox (the customer's old values sent back, a booking it brought in cancelled, a
moved booking moved back, stock counted back), so the next pull does not bring it again.
A job rolled back already is reported as such and nothing happens: rolling back twice is
harmless.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.booking_revenue import replace_revenue_entries
from sources.cache.journal import log_change
from sources.cache.models import (
    Booking,
    ChangeLogEntry,
    Customer,
    CustomerMapping,
    Resource,
    StockItem,
    StockLevel,
    SyncJob,
)
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter
from sync.apply.batch import ApplyResult, ApplyRules
from sync.apply.state import BOOKING_FIELDS, json_value, row_value, same
from sync.conflicts.propagate import push_booking, push_customer
from sync.errors import JobStillRunning, SyncJobNotFound
from sync.events import booking_event, customer_event, stock_event
from sync.outbox.messages import StockChangeMessage
from sync.outbox.queue import Queued, enqueue
from sync.pull.jobs import ROLLED_BACK, RUNNING
from sync.types import RollbackReport


def _matches(row: Any, image: dict[str, Any]) -> bool:
    return all(same(json_value(getattr(row, name)), value) for name, value in image.items() if hasattr(row, name))


def _restore(row: Any, image: dict[str, Any]) -> None:
    for name, value in image.items():
        if hasattr(row, name):
            setattr(row, name, row_value(name, value))


class _Undo:
    def __init__(self, session: AsyncSession, rules: ApplyRules, job_id: str) -> None:
        self.session = session
        self.rules = rules
        self.job_id = job_id
        self.result = ApplyResult()
        self.restored = 0
        self.skipped = 0

    async def _log(self, entry: ChangeLogEntry, version: int = 1) -> None:
        await log_change(
            self.session,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            location_id=None,
            operation="rollback",
            before=entry.after,
            after=entry.before,
            version=version,
        )

    async def entry(self, entry: ChangeLogEntry) -> None:
        undo = {
            "customer": self._customer,
            "customer_mapping": self._mapping,
            "booking": self._booking,
            "resource": self._resource,
            "stock_level": self._stock,
        }.get(entry.entity_type)
        if undo is None or not await undo(entry):
            self.skipped += 1
            return
        self.restored += 1

    async def _customer(self, entry: ChangeLogEntry) -> bool:
        customer = await self.session.get(Customer, entry.entity_id)
        if customer is None or entry.operation != "update" or not _matches(customer, entry.after or {}):
            return False  # created customers stay: bookings and other locations may know them by now
        _restore(customer, entry.before or {})
        customer.version += 1
        await self._log(entry, customer.version)
        if self.rules.writable is not None:
            self.result.queued += await push_customer(
                self.session, customer, writable=self.rules.writable, why="rollback"
            )
        self.result.events.append(customer_event(customer.id, None))
        return True

    async def _mapping(self, entry: ChangeLogEntry) -> bool:
        before = entry.before or {}
        exists = (
            await self.session.execute(
                select(CustomerMapping.id).where(
                    CustomerMapping.customer_id == before.get("customer_id"),
                    CustomerMapping.location_id == before.get("location_id"),
                )
            )
        ).scalar()
        if exists is not None or entry.operation != "delete":
            return False
        self.session.add(CustomerMapping(**before))
        await self._log(entry)
        return True

    async def _booking(self, entry: ChangeLogEntry) -> bool:
        session = self.session
        if entry.operation == "delete":
            if await session.get(Booking, entry.entity_id) is not None:
                return False
            restored = Booking()
            _restore(restored, entry.before or {})
            session.add(restored)
            await session.flush()
            await replace_revenue_entries(session, restored, self.rules.originating_share_bp)
            await self._log(entry, restored.version)
            self.result.events.append(booking_event(restored, "restored"))
            return True
        booking = await session.get(Booking, entry.entity_id)
        if booking is None or not _matches(booking, entry.after or {}):
            return False
        there = {name: json_value(getattr(booking, name)) for name in BOOKING_FIELDS}
        if entry.operation == "create":
            # It came from the location: taking it back means cancelling it there too.
            booking.status = "cancelled"
        else:
            _restore(booking, {name: value for name, value in (entry.before or {}).items() if name in BOOKING_FIELDS})
        booking.version += 1
        await session.flush()
        await replace_revenue_entries(session, booking, self.rules.originating_share_bp)
        await self._log(entry, booking.version)
        self.result.queued += await push_booking(session, booking, there, why="rollback")
        self.result.events.append(booking_event(booking, "rolled_back"))
        return True

    async def _resource(self, entry: ChangeLogEntry) -> bool:
        resource = await self.session.get(Resource, entry.entity_id)
        if resource is None or entry.operation != "update" or not _matches(resource, entry.after or {}):
            return False
        _restore(resource, entry.before or {})
        await self._log(entry)
        return True

    async def _stock(self, entry: ChangeLogEntry) -> bool:
        item_id, _, location_id = entry.entity_id.partition("@")
        level = (
            await self.session.execute(
                select(StockLevel).where(StockLevel.item_id == item_id, StockLevel.location_id == location_id)
            )
        ).scalar()
        if level is None or entry.operation != "update" or not _matches(level, entry.after or {}):
            return False
        delta = int((entry.before or {}).get("quantity", level.quantity)) - level.quantity
        _restore(level, entry.before or {})
        level.version += 1
        await self._log(entry, level.version)
        if delta:
            sku = (await self.session.execute(select(StockItem.sku).where(StockItem.id == item_id))).scalar_one()
            row = await enqueue(
                self.session,
                location_id=location_id,
                message=StockChangeMessage(
                    item_id, sku, "change", delta, reason="adjustment", reference=f"rollback {self.job_id}"
                ),
                idempotency_key=f"sync:rollback:{entry.id}:{uuid.uuid4().hex[:8]}",
                lease_inline=False,
            )
            self.result.queued.append(Queued(row.id, location_id))
        self.result.events.append(stock_event(level))
        return True


async def rollback_job(writer: CacheWriter, rules: ApplyRules, job_id: str) -> tuple[RollbackReport, ApplyResult, str]:
    async with writer.transaction() as session:
        statement = select(SyncJob).where(SyncJob.id == job_id)
        if writer.locks_rows:
            statement = statement.with_for_update()
        job = (await session.execute(statement)).scalar()
        if job is None:
            raise SyncJobNotFound(f"no sync job {job_id}")
        if job.status == RUNNING:
            raise JobStillRunning(f"sync job {job_id} is still running")
        if job.status == ROLLED_BACK:
            return RollbackReport(job_id, 0, 0, 0, already_rolled_back=True), ApplyResult(), job.location_id
        entries = (
            await session.execute(
                select(ChangeLogEntry).where(ChangeLogEntry.sync_job_id == job_id).order_by(ChangeLogEntry.id.desc())
            )
        ).scalars()
        undo = _Undo(session, rules, job_id)
        for entry in list(entries):
            await undo.entry(entry)
        job.status, job.rolled_back_at = ROLLED_BACK, utc_now()
    report = RollbackReport(job_id, undo.restored, undo.skipped, len(undo.result.queued), already_rolled_back=False)
    return report, undo.result, job.location_id
