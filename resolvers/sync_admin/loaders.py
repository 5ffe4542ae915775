"""The sync administration domain's DataLoaders: jobs, their logs and the conflicts they found."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from resolvers.loading import RowByKeyLoader, RowsByKeyLoader
from sources.cache.models import Conflict, SyncJob, SyncLog

sync_jobs = SyncJob.__table__
sync_logs = SyncLog.__table__
conflicts = Conflict.__table__


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
