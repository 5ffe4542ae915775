"""rollbackSyncJob: put back what a job applied, from the before-images in the change log.

Entries are undone newest first, each by the entity type it belongs to. A record changed
again after the job (its values are no longer what the job wrote) is left alone and counted
as skipped: rolling back must not destroy a later change. What the job took from a location
is compensated there through the outbox (the customer's old values sent back, a booking it
brought in cancelled, a moved booking moved back, stock counted back), so the next pull does
not bring it again. A job rolled back already is reported as such and nothing happens:
rolling back twice is harmless.
"""

from __future__ import annotations

from sqlalchemy import select

from sources.cache.models import ChangeLogEntry, SyncJob
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter
from sync.apply.batch import ApplyResult, ApplyRules
from sync.apply.entity import Undo
from sync.apply.registry import owning
from sync.errors import JobStillRunning, SyncJobNotFound
from sync.pull.jobs import ROLLED_BACK, RUNNING
from sync.types import RollbackReport


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
        undo = Undo(session, rules, job_id, ApplyResult())
        restored = skipped = 0
        for entry in list(entries):
            entity = owning(entry.entity_type)
            if entity is not None and await entity.roll_back(undo, entry):
                restored += 1
            else:
                skipped += 1
        job.status, job.rolled_back_at = ROLLED_BACK, utc_now()
    report = RollbackReport(job_id, restored, skipped, len(undo.result.queued), already_rolled_back=False)
    return report, undo.result, job.location_id
