"""Network health for operators' dashboards."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers.locations.health import LocationHealth as LocationHealthData
from schema.locations.types import Location, LocationStatus, location_by_id
from schema.sync.types import SyncJob


@strawberry.type(description="How one location is doing.")
class LocationHealth:
    status: LocationStatus = strawberry.field(description="Reachability as last observed.")
    last_heartbeat_at: datetime | None = strawberry.field(description="Last successful health check.")
    last_sync_at: datetime | None = strawberry.field(description="Last completed sync.")
    pending_conflicts: int = strawberry.field(description="Conflicts waiting for a person to resolve them.")
    queue_depth: int = strawberry.field(description="Writes waiting in the outbox for this location.")
    dead_letters: int = strawberry.field(description="Writes given up on after repeated failures (replayable).")
    syncing: bool = strawberry.field(description="A sync job for this location is running now.")
    location_id: strawberry.Private[str]
    last_sync_job_id: strawberry.Private[str | None]

    @classmethod
    def from_data(cls, data: LocationHealthData) -> LocationHealth:
        return cls(
            status=LocationStatus(data.status),
            last_heartbeat_at=data.last_heartbeat_at,
            last_sync_at=data.last_sync_at,
            pending_conflicts=data.pending_conflicts,
            queue_depth=data.queue_depth,
            dead_letters=data.dead_letters,
            syncing=data.syncing,
            location_id=data.location_id,
            last_sync_job_id=data.last_sync_job_id,
        )

    @strawberry.field(graphql_type=Location, description="The location.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_id)

    @strawberry.field(description="Its most recently started sync job (the running one while syncing); null if none.")
    async def last_sync_job(self, info: Info) -> SyncJob | None:
        if self.last_sync_job_id is None:
            return None
        row = await info.context.loaders.sync_job_by_id.load(self.last_sync_job_id)
        return None if row is None else SyncJob.from_row(row)


@strawberry.type(description="The state of the whole network.")
class NetworkHealth:
    checked_at: datetime = strawberry.field(description="When this report was made.")
    locations: list[LocationHealth] = strawberry.field(description="Every location, by id.")

    @strawberry.field(description="Locations currently online.")
    def online_count(self) -> int:
        return sum(1 for entry in self.locations if entry.status is LocationStatus.ONLINE)

    @strawberry.field(description="Conflicts pending over the whole network.")
    def pending_conflicts(self) -> int:
        return sum(entry.pending_conflicts for entry in self.locations)

    @strawberry.field(description="Writes waiting in the outbox over the whole network.")
    def queue_depth(self) -> int:
        return sum(entry.queue_depth for entry in self.locations)
