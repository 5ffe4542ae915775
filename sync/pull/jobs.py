"""Sync jobs and their logs: one running job per location, every step recorded, every phase published."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from sources.cache.models import Location, SyncJob, SyncLog
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter
from subscriptions.bus import Event, EventBus
from sync.errors import SyncInProgress
from sync.events import sync_job_event

RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
ROLLED_BACK = "rolled_back"


@dataclass
class Counts:
    pulled: int = 0
    applied: int = 0
    deleted: int = 0
    conflicts: int = 0
    errors: int = 0

    def add(self, other: Counts) -> None:
        self.pulled += other.pulled
        self.applied += other.applied
        self.deleted += other.deleted
        self.conflicts += other.conflicts
        self.errors += other.errors


@dataclass
class JobRun:
    id: str
    location_id: str
    started_at: datetime
    counts: Counts = field(default_factory=Counts)


class SyncJobStore:
    def __init__(self, writer: CacheWriter, bus: EventBus, *, abandoned_after: timedelta) -> None:
        self.writer = writer
        self.bus = bus
        self.abandoned_after = abandoned_after

    async def _publish(self, run: JobRun, phase: str, entity_type: str | None, error: str | None = None) -> None:
        counts = run.counts
        topic, payload = sync_job_event(
            run.id,
            run.location_id,
            phase,
            entity_type,
            pulled=counts.pulled,
            applied=counts.applied,
            conflicts=counts.conflicts,
            errors=counts.errors,
            error=error,
        )
        await self.bus.publish(Event(topic, payload))

    async def open(self, location_id: str, entity_types: list[str], trigger: str, full: bool) -> JobRun:
        """A new running job; SyncInProgress when the location has one (a job older than the limit is dead)."""
        now = utc_now()
        run = JobRun(f"job_{uuid.uuid4().hex[:16]}", location_id, now)
        try:
            async with self.writer.transaction() as session:
                await session.execute(
                    update(SyncJob)
                    .where(
                        SyncJob.location_id == location_id,
                        SyncJob.status == RUNNING,
                        SyncJob.started_at < now - self.abandoned_after,
                    )
                    .values(status=FAILED, error_message="abandoned: its process stopped", completed_at=now)
                )
                running = (
                    await session.execute(
                        select(SyncJob.id).where(SyncJob.location_id == location_id, SyncJob.status == RUNNING)
                    )
                ).scalar()
                if running is not None:
                    raise SyncInProgress(location_id, running)
                session.add(
                    SyncJob(
                        id=run.id,
                        location_id=location_id,
                        trigger=trigger,
                        entity_types=entity_types,
                        status=RUNNING,
                        full=full,
                        started_at=now,
                    )
                )
        except IntegrityError:
            # Another gateway process opened one between our check and our insert (the unique index said no).
            raise SyncInProgress(location_id, None) from None
        await self._publish(run, "started", None)
        return run

    async def step(
        self,
        run: JobRun,
        entity_type: str,
        operation: str,
        counts: Counts,
        started_at: datetime,
        error: str | None = None,
    ) -> None:
        run.counts.add(counts)
        now = utc_now()
        async with self.writer.transaction() as session:
            session.add(
                SyncLog(
                    sync_job_id=run.id,
                    location_id=run.location_id,
                    sync_type=entity_type,
                    operation=operation,
                    entity_count=counts.pulled,
                    status=FAILED if error else COMPLETED,
                    duration_ms=int((now - started_at).total_seconds() * 1000),
                    error_details=error,
                    started_at=started_at,
                    completed_at=now,
                )
            )
        await self._publish(run, "progress", entity_type, error)

    async def close(self, run: JobRun, error: str | None) -> None:
        now = utc_now()
        counts = run.counts
        async with self.writer.transaction() as session:
            job = await session.get_one(SyncJob, run.id)
            job.status = FAILED if error else COMPLETED
            job.pulled_count, job.applied_count, job.deleted_count = counts.pulled, counts.applied, counts.deleted
            job.conflict_count, job.error_count = counts.conflicts, counts.errors + (1 if error else 0)
            job.error_message = error
            job.completed_at = now
            job.duration_ms = int((now - run.started_at).total_seconds() * 1000)
            if not error:
                await session.execute(update(Location).where(Location.id == run.location_id).values(last_sync_at=now))
        await self._publish(run, FAILED if error else COMPLETED, None, error)

    async def rolled_back(self, job_id: str, location_id: str) -> None:
        await self._publish(JobRun(job_id, location_id, utc_now()), ROLLED_BACK, None)
