"""rollbackSyncJob: undo what one sync job applied, in the cache and at the locations."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.sync_admin import queries as sync_resolvers
from resolvers.sync_admin.answers import RollbackReport
from schema.payloads import MutationError
from schema.permissions import Permission, requires
from schema.sync.payloads import attempt, load_sync_job
from schema.sync.types import SyncJob
from schema.write_inputs import key_for


@strawberry.input(description="The sync job to undo.")
class RollbackSyncJobInput:
    id: strawberry.ID = strawberry.field(description="Global id of the sync job; it must have ended.")


@strawberry.type(description="The answer to rollbackSyncJob.")
class RollbackSyncJobPayload:
    errors: list[MutationError] = strawberry.field(
        description="Expected failures, e.g. CONFLICT while the job is still running."
    )
    restored_count: int | None = strawberry.field(
        description="Records put back as they were before the job; null when the request was refused."
    )
    skipped_count: int | None = strawberry.field(
        description="Records changed again after the job, so left as they are; null when the request was refused."
    )
    compensation_count: int | None = strawberry.field(
        description="Writes queued to locations to undo what the job applied there; null when the request was refused."
    )
    already_rolled_back: bool | None = strawberry.field(
        description="The job had been rolled back before: nothing changed this time; null when the request was refused."
    )
    job_key: strawberry.Private[str | None]

    @classmethod
    def of(cls, report: RollbackReport | None, errors: list[MutationError]) -> RollbackSyncJobPayload:
        return cls(
            errors=errors,
            restored_count=None if report is None else report.restored,
            skipped_count=None if report is None else report.skipped,
            compensation_count=None if report is None else report.compensations,
            already_rolled_back=None if report is None else report.already_rolled_back,
            job_key=None if report is None else report.job_id,
        )

    @strawberry.field(description="The job as it is now (ROLLED_BACK); null when the request was refused.")
    async def sync_job(self, info: Info) -> SyncJob | None:
        return await load_sync_job(info, self.job_key)


@strawberry.type
class SyncJobRollbackMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.SETTLE_SYNC)],
        description="Rolls back an ended sync job: restores the before-image of every record it changed in the "
        "cache (unless changed again since) and queues compensating writes to the locations. Rolling back twice "
        "is harmless: the second time changes nothing and says so.",
    )
    async def rollback_sync_job(
        self, info: Info, input: Annotated[RollbackSyncJobInput, strawberry.argument(description="The job.")]
    ) -> RollbackSyncJobPayload:
        async def perform() -> RollbackReport:
            return await sync_resolvers.rollback_sync_job(info.context, key_for(input.id, "SyncJob", "id"))

        report, errors = await attempt(info, perform)
        return RollbackSyncJobPayload.of(report, errors)
