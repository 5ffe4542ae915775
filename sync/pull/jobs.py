"""Sync jobs and their logs: one running job per location, every step recorded, every phase published.

A running job is held by a lease (`sync_job_lease_seconds`) that the process running it renews
(`sync_job_lease_renew_seconds`). A job whose lease ran out lost its process: the next trigger for its
location takes it over (a conditional UPDATE on the owner it saw, so of several processes one wins) and
finishes it under the same id, from the cursors its batches advanced, its counts carried (each applied
batch adds to them in the batch's own transaction). The row never stops being `running` in between, so
the partial unique index keeps meaning one running job per location, across processes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.leases import expires, new_owner
from sources.cache.models import Location, SyncJob, SyncLog
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter
from subscriptions.bus import Event, EventBus
from sync.errors import SyncInProgress
from sync.events import sync_job_event

RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
SKIPPED = "skipped"  # a step of a job the location cannot be asked for (its log says why)
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
    owner: str = ""
    entity_types: list[str] = field(default_factory=list)
    full: bool = False
    resumed: bool = False  # taken over from a process that died: `done` says which entity types it finished
    done: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class JobLease:
    seconds: float = 10.0
    renew_every: float = 2.0


class SyncJobStore:
    def __init__(self, writer: CacheWriter, bus: EventBus, *, lease: JobLease) -> None:
        self.writer = writer
        self.bus = bus
        self.lease = lease

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
        """A running job for the location: a new one, or the location's job whose lease ran out, taken over
        (its own entity types and mode, not the ones asked for); SyncInProgress when its job is alive."""
        now = utc_now()
        run = JobRun(f"job_{uuid.uuid4().hex[:16]}", location_id, now, owner=new_owner())
        run.entity_types, run.full = entity_types, full
        try:
            async with self.writer.transaction() as session:
                running = (
                    await session.execute(
                        select(SyncJob).where(SyncJob.location_id == location_id, SyncJob.status == RUNNING)
                    )
                ).scalar()
                if running is not None:
                    run = await self._take_over(session, running, run.owner, trigger, now)
                else:
                    session.add(
                        SyncJob(
                            id=run.id,
                            location_id=location_id,
                            trigger=trigger,
                            entity_types=entity_types,
                            status=RUNNING,
                            full=full,
                            started_at=now,
                            lease_owner=run.owner,
                            lease_expires_at=expires(self.lease.seconds, now),
                        )
                    )
        except IntegrityError:
            # Another gateway process opened one between our check and our insert (the unique index said no).
            raise SyncInProgress(location_id, None) from None
        await self._publish(run, "started", None)
        return run

    async def _take_over(self, session: AsyncSession, job: SyncJob, owner: str, trigger: str, now: datetime) -> JobRun:
        if job.lease_expires_at is not None and job.lease_expires_at > now:
            raise SyncInProgress(job.location_id, job.id)
        same_owner = (
            SyncJob.lease_owner.is_(None) if job.lease_owner is None else SyncJob.lease_owner == job.lease_owner
        )
        taken = await session.execute(
            update(SyncJob)
            .where(
                SyncJob.id == job.id,
                SyncJob.status == RUNNING,
                same_owner,
                or_(SyncJob.lease_expires_at.is_(None), SyncJob.lease_expires_at <= now),
            )
            .values(lease_owner=owner, lease_expires_at=expires(self.lease.seconds, now))
        )
        if getattr(taken, "rowcount", 0) != 1:
            raise SyncInProgress(job.location_id, job.id)  # another process took it over first
        done = (
            await session.execute(
                select(SyncLog.sync_type).where(SyncLog.sync_job_id == job.id, SyncLog.status.in_((COMPLETED, SKIPPED)))
            )
        ).scalars()
        session.add(
            SyncLog(
                sync_job_id=job.id,
                location_id=job.location_id,
                sync_type="job",
                operation="takeover",
                entity_count=0,
                status=COMPLETED,
                error_details=f"lease expired: its process stopped; taken over by a {trigger} trigger",
                started_at=now,
                completed_at=now,
            )
        )
        counts = Counts(job.pulled_count, job.applied_count, job.deleted_count, job.conflict_count, job.error_count)
        return JobRun(
            job.id,
            job.location_id,
            job.started_at,
            counts,
            owner=owner,
            entity_types=list(job.entity_types),
            full=job.full,
            resumed=True,
            done=frozenset(done),
        )

    async def renew(self, run: JobRun) -> bool:
        """Extend the job's lease; False when another process took the job over (this one must stop)."""
        async with self.writer.transaction() as session:
            renewed = await session.execute(
                update(SyncJob)
                .where(SyncJob.id == run.id, SyncJob.status == RUNNING, SyncJob.lease_owner == run.owner)
                .values(lease_expires_at=expires(self.lease.seconds))
            )
        return bool(getattr(renewed, "rowcount", 0) == 1)

    async def expired(self) -> list[str]:
        """Locations whose running job's lease ran out (its process died): the recovery pass takes them over."""
        async with self.writer.engine.connect() as connection:
            found = await connection.execute(
                select(SyncJob.location_id).where(
                    SyncJob.status == RUNNING,
                    or_(SyncJob.lease_expires_at.is_(None), SyncJob.lease_expires_at <= utc_now()),
                )
            )
            return list(found.scalars())

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

    async def skip(self, run: JobRun, entity_type: str, operation: str, reason: str) -> None:
        """A step not taken: the location cannot be asked for this entity type (the log says why)."""
        now = utc_now()
        async with self.writer.transaction() as session:
            session.add(
                SyncLog(
                    sync_job_id=run.id,
                    location_id=run.location_id,
                    sync_type=entity_type,
                    operation=operation,
                    entity_count=0,
                    status=SKIPPED,
                    duration_ms=0,
                    error_details=reason,
                    started_at=now,
                    completed_at=now,
                )
            )
        await self._publish(run, "progress", entity_type)

    async def close(self, run: JobRun, error: str | None) -> None:
        now = utc_now()
        counts = run.counts
        async with self.writer.transaction() as session:
            job = await session.get_one(SyncJob, run.id)
            if job.status != RUNNING or job.lease_owner != run.owner:
                return  # another process took the job over (this one stalled past its lease): it closes it
            job.lease_owner = job.lease_expires_at = None
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
