"""triggerSync: pull a location's changes now instead of at its next scheduled sync."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.sync_admin import queries as sync_resolvers
from schema.payloads import MutationError
from schema.permissions import Permission, requires
from schema.sync.enums import EntityType
from schema.sync.payloads import attempt, load_sync_job
from schema.sync.types import SyncJob
from schema.write_inputs import key_for


@strawberry.input(description="Which location to sync, what to pull, and whether to wait for the job to end.")
class TriggerSyncInput:
    location_id: strawberry.ID = strawberry.field(description="Global id of the location to pull changes from.")
    entity_types: list[EntityType] | None = strawberry.field(
        default=None,
        description="What to pull (customers, services, bookings, resources, inventory), pulled in the network's "
        "priority order; leave out for everything the location gives.",
    )
    full: bool = strawberry.field(
        default=False,
        description="A full reconciliation: compare everything, which also finds records deleted at the location.",
    )
    wait: bool = strawberry.field(
        default=False,
        description=f"Answer when the job has ended (up to {sync_resolvers.WAIT_SECONDS:.0f} s; after that the "
        "job is returned still running). By default the answer comes at once, with the job running; "
        "follow it with syncEvents or syncJob.",
    )


@strawberry.type(description="The answer to triggerSync.")
class TriggerSyncPayload:
    errors: list[MutationError] = strawberry.field(
        description="Expected failures, e.g. SYNC_IN_PROGRESS when a job for the location is running already."
    )
    job_key: strawberry.Private[str | None]

    @strawberry.field(description="The job it started, as it is now; null when the request was refused.")
    async def sync_job(self, info: Info) -> SyncJob | None:
        return await load_sync_job(info, self.job_key)


@strawberry.type
class SyncTriggerMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.OPERATE_SYNC)],
        description="Starts a sync job for one location now (one job per location at a time). Safe to repeat: "
        "while a job runs, another request is refused with SYNC_IN_PROGRESS.",
    )
    async def trigger_sync(
        self, info: Info, input: Annotated[TriggerSyncInput, strawberry.argument(description="The sync.")]
    ) -> TriggerSyncPayload:
        async def perform() -> str:
            return await sync_resolvers.trigger_sync(
                info.context,
                key_for(input.location_id, "Location", "locationId"),
                None if input.entity_types is None else [str(kind.value) for kind in input.entity_types],
                full=input.full,
                wait=input.wait,
            )

        job_key, errors = await attempt(info, perform)
        return TriggerSyncPayload(errors=errors, job_key=job_key)
