"""The sync administration domain's DataLoaders: jobs, their logs, the conflicts they found, the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from resolvers.loading import RowByKeyLoader, RowsByKeyLoader
from sources.cache.models import Conflict, OutboxMessage, SyncJob, SyncLog

sync_jobs = SyncJob.__table__
sync_logs = SyncLog.__table__
conflicts = Conflict.__table__
outbox = OutboxMessage.__table__

# An outbox message as the API shows it: not the payload, which can be large and is not part of the API.
OUTBOX_MESSAGE_COLUMNS = (
    outbox.c.id,
    outbox.c.location_id,
    outbox.c.entity_type,
    outbox.c.entity_id,
    outbox.c.operation,
    outbox.c.status,
    outbox.c.attempts,
    outbox.c.last_error,
    outbox.c.created_at,
    outbox.c.next_attempt_at,
    outbox.c.delivered_at,
)


class SyncJobByIdLoader(RowByKeyLoader):
    key_column = sync_jobs.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(sync_jobs).where(sync_jobs.c.id.in_(keys), self.scope.sync_jobs())


class ConflictByIdLoader(RowByKeyLoader):
    key_column = conflicts.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(conflicts).where(conflicts.c.id.in_(keys), self.scope.conflicts())


class SyncLogsBySyncJobIdLoader(RowsByKeyLoader):
    key_name = "sync_job_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(sync_logs)
            .where(sync_logs.c.sync_job_id.in_(keys), self.scope.sync_logs())
            .order_by(sync_logs.c.sync_job_id, sync_logs.c.started_at, sync_logs.c.id)
        )


class ConflictsBySyncJobIdLoader(RowsByKeyLoader):
    key_name = "sync_job_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(conflicts)
            .where(conflicts.c.sync_job_id.in_(keys), self.scope.conflicts())
            .order_by(conflicts.c.sync_job_id, conflicts.c.created_at, conflicts.c.id)
        )


class OutboxMessageByIdLoader(RowByKeyLoader):
    key_column = outbox.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(*OUTBOX_MESSAGE_COLUMNS).where(outbox.c.id.in_(keys), self.scope.outbox())
