"""Root fields for sync jobs and conflicts."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.ids import keys_of
from resolvers.sync_admin.queries import ConflictFilter, SyncJobFilter, list_conflicts, list_sync_jobs
from schema.arguments import After, Before, First, IdArgument, Last, id_strings, page_args
from schema.nodes import resolve_typed_node
from schema.permissions import Permission, requires
from schema.relay import Connection, build_connection
from schema.sync.enums import ConflictStatus, EntityType, SyncJobStatus, SyncTrigger
from schema.sync.types import Conflict, SyncJob


@strawberry.input(description="Which sync jobs to list; all conditions must hold.")
class SyncJobFilterInput:
    location_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="For any of these locations.")
    statuses: list[SyncJobStatus] | None = strawberry.field(default=None, description="In any of these statuses.")
    triggers: list[SyncTrigger] | None = strawberry.field(default=None, description="Started by any of these.")

    def to_filter(self) -> SyncJobFilter:
        return SyncJobFilter(
            location_ids=keys_of(id_strings(self.location_ids), "Location", "locationIds"),
            statuses=[str(status.value) for status in self.statuses] if self.statuses else None,
            triggers=[str(trigger.value) for trigger in self.triggers] if self.triggers else None,
        )


@strawberry.input(description="Which conflicts to list; all conditions must hold.")
class ConflictFilterInput:
    statuses: list[ConflictStatus] | None = strawberry.field(default=None, description="In any of these statuses.")
    entity_types: list[EntityType] | None = strawberry.field(
        default=None, description="About records of any of these types."
    )
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="With either side from any of these locations."
    )

    def to_filter(self) -> ConflictFilter:
        return ConflictFilter(
            statuses=[str(status.value) for status in self.statuses] if self.statuses else None,
            entity_types=[str(kind.value) for kind in self.entity_types] if self.entity_types else None,
            location_ids=keys_of(id_strings(self.location_ids), "Location", "locationIds"),
        )


@strawberry.type
class SyncQueries:
    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_SYNC)],
        description="Sync jobs across the network, newest first, with their steps and conflicts.",
    )
    async def sync_jobs(
        self,
        info: Info,
        filter: Annotated[SyncJobFilterInput | None, strawberry.argument(description="Which jobs.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[SyncJob]:
        where = filter.to_filter() if filter else SyncJobFilter()
        result = await list_sync_jobs(info.context, where, page_args(first, after, last, before))
        return build_connection(result, SyncJob.from_row)

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_SYNC)],
        description="One sync job by id; null with a NOT_FOUND error if there is none.",
    )
    async def sync_job(self, info: Info, id: IdArgument) -> SyncJob | None:
        return await resolve_typed_node(info, SyncJob, str(id))

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_SYNC)],
        description="Conflicts across the network, newest first; pending ones wait for resolveConflict.",
    )
    async def conflicts(
        self,
        info: Info,
        filter: Annotated[ConflictFilterInput | None, strawberry.argument(description="Which conflicts.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Conflict]:
        where = filter.to_filter() if filter else ConflictFilter()
        result = await list_conflicts(info.context, where, page_args(first, after, last, before))
        return build_connection(result, Conflict.from_row)

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_SYNC)],
        description="One conflict by id; null with a NOT_FOUND error if there is none.",
    )
    async def conflict(self, info: Info, id: IdArgument) -> Conflict | None:
        return await resolve_typed_node(info, Conflict, str(id))
