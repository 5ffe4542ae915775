"""Sync jobs with their steps, and the conflicts they found."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.ids import to_global_id
from resolvers.loading import BatchLoader
from resolvers.sync_admin.queries import SINGULARS
from schema.bookings.types import Booking
from schema.catalog.types import Resource
from schema.customers.types import Customer
from schema.locations.types import Location, location_by_id
from schema.relay import Node
from schema.sync.enums import (
    ConflictStatus,
    ConflictStrategy,
    ConflictType,
    EntityType,
    SyncJobStatus,
    SyncTrigger,
)

# A conflicting entity's node type, and how to fetch it, by the conflict's entity type.
ENTITY_NODES: dict[str, tuple[str, Callable[[Any], BatchLoader[str, Any]], Callable[[Any], Node]]] = {
    "customer": ("Customer", lambda loaders: loaders.customer_by_id, Customer.from_row),
    "booking": ("Booking", lambda loaders: loaders.booking_by_id, Booking.from_row),
    "resource": ("Resource", lambda loaders: loaders.resource_by_id, Resource.from_row),
}


@strawberry.type(description="One step of a sync job, e.g. the delta pull of one entity type.")
class SyncLog:
    sync_type: str = strawberry.field(description="What the step did, e.g. delta_pull or full_reconciliation.")
    operation: str = strawberry.field(description="Its direction or action, e.g. pull.")
    entity_count: int = strawberry.field(description="Records the step handled.")
    status: str = strawberry.field(
        description="running, completed, failed, or skipped (the location cannot be asked for that entity type; "
        "errorDetails says why)."
    )
    duration_ms: int | None = strawberry.field(description="How long it took, in milliseconds; null while running.")
    error_details: str | None = strawberry.field(description="Why it failed or was skipped, if it was.")
    started_at: datetime = strawberry.field(description="When it began.")
    completed_at: datetime | None = strawberry.field(description="When it ended; null while running.")

    @classmethod
    def from_row(cls, row: Any) -> SyncLog:
        row = row._mapping
        return cls(
            sync_type=row["sync_type"],
            operation=row["operation"],
            entity_count=row["entity_count"],
            status=row["status"],
            duration_ms=row["duration_ms"],
            error_details=row["error_details"],
            started_at=row["started_at"],
            completed_at=row["completed_at"],
        )


@strawberry.type(description="One run of sync against one location: what it pulled and applied, and how it ended.")
class SyncJob(Node):
    network_id: str = strawberry.field(description="Network-wide sync job id.")
    trigger: SyncTrigger = strawberry.field(description="What started it.")
    entity_types: list[EntityType] = strawberry.field(description="What it pulls, in the order it pulls them.")
    status: SyncJobStatus = strawberry.field(description="Running, completed, failed or rolled back.")
    full: bool = strawberry.field(
        description="A full reconciliation (compares everything, so it finds deletions) rather than a delta pull."
    )
    pulled_count: int = strawberry.field(description="Records the location sent.")
    applied_count: int = strawberry.field(description="Changes written to the cache.")
    deleted_count: int = strawberry.field(description="Records found deleted at the location (full runs only).")
    conflict_count: int = strawberry.field(description="Conflicts it found (resolved by strategy or pending).")
    error_count: int = strawberry.field(description="Steps or records that failed.")
    error_message: str | None = strawberry.field(description="Why it failed, if it did.")
    started_at: datetime = strawberry.field(description="When it began.")
    completed_at: datetime | None = strawberry.field(description="When it ended; null while running.")
    duration_ms: int | None = strawberry.field(description="How long it ran, in milliseconds; null while running.")
    rolled_back_at: datetime | None = strawberry.field(description="When rollbackSyncJob undid it, if it did.")
    location_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Any) -> SyncJob:
        row = row._mapping
        duration = row["duration_ms"]
        if duration is None and row["completed_at"] is not None:
            duration = int((row["completed_at"] - row["started_at"]).total_seconds() * 1000)
        return cls(
            id=strawberry.ID(to_global_id("SyncJob", row["id"])),
            network_id=row["id"],
            trigger=SyncTrigger(row["trigger"]),
            entity_types=[EntityType(SINGULARS[name]) for name in row["entity_types"]],
            status=SyncJobStatus(row["status"]),
            full=row["full"],
            pulled_count=row["pulled_count"],
            applied_count=row["applied_count"],
            deleted_count=row["deleted_count"],
            conflict_count=row["conflict_count"],
            error_count=row["error_count"],
            error_message=row["error_message"],
            started_at=row["started_at"],
            completed_at=row["completed_at"],
            duration_ms=duration,
            rolled_back_at=row["rolled_back_at"],
            location_id=row["location_id"],
        )

    @strawberry.field(graphql_type=Location, description="The location it synced.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_id)

    @strawberry.field(description="Its steps, in the order they ran.")
    async def logs(self, info: Info) -> list[SyncLog]:
        rows = await info.context.loaders.sync_logs_by_sync_job_id.load(self.network_id)
        return [SyncLog.from_row(row) for row in rows]

    @strawberry.field(description="The conflicts it found, oldest first.")
    async def conflicts(self, info: Info) -> list[Conflict]:
        rows = await info.context.loaders.conflicts_by_sync_job_id.load(self.network_id)
        return [Conflict.from_row(row) for row in rows]


def _changed_at(data: dict[str, Any]) -> datetime | None:
    value = data.get("changed_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@strawberry.type(description="One side of a conflict: the change, and where it came from.")
class ConflictSide:
    fields: JSON = strawberry.field(
        description="The record's fields as this side has them (at least the clashing ones), a JSON object."
    )
    version: int | None = strawberry.field(description="The record's version token after this side's change.")
    changed_at: datetime | None = strawberry.field(description="When this side's change was made.")
    location_id: strawberry.Private[str | None]

    @classmethod
    def from_data(cls, data: dict[str, Any] | None, location_id: str | None) -> ConflictSide:
        data = data or {}
        version = data.get("version")
        return cls(
            fields=data.get("fields", {}),
            version=version if isinstance(version, int) else None,
            changed_at=_changed_at(data),
            location_id=location_id,
        )

    @strawberry.field(
        graphql_type=Location | None,
        description="The location it came from; null for a write made through the gateway.",
    )
    def location(self, info: Info) -> Location | Awaitable[Location] | None:
        return None if self.location_id is None else location_by_id(info, self.location_id)


@strawberry.type(description="Two changes to one record that neither side made knowing the other.")
class Conflict(Node):
    network_id: str = strawberry.field(description="Network-wide conflict id.")
    conflict_type: ConflictType = strawberry.field(description="What kind of clash it is.")
    entity_type: EntityType = strawberry.field(description="What kind of record the two changes are to.")
    entity_id: strawberry.ID = strawberry.field(description="Global id of that record.")
    status: ConflictStatus = strawberry.field(description="Pending (waits for resolveConflict) or resolved.")
    source: ConflictSide = strawberry.field(description="The location's change that arrived and clashed.")
    target: ConflictSide = strawberry.field(description="What the network held: the change it clashed with.")
    base: JSON | None = strawberry.field(
        description="The fields as both sides last agreed on them, a JSON object; null when not known."
    )
    resolution_strategy: ConflictStrategy | None = strawberry.field(
        description="How it is decided: MANUAL waits for a person; the others decided it when it was found."
    )
    resolved_data: JSON | None = strawberry.field(description="The field values applied on resolution, a JSON object.")
    resolved_by: str | None = strawberry.field(description="Who resolved it: a person, or the strategy.")
    resolved_at: datetime | None = strawberry.field(description="When it was resolved.")
    created_at: datetime = strawberry.field(description="When it was found.")
    entity_kind: strawberry.Private[str]
    entity_key: strawberry.Private[str]
    sync_job_key: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Any) -> Conflict:
        row = row._mapping
        entity_type = row["entity_type"]
        node_type = ENTITY_NODES[entity_type][0] if entity_type in ENTITY_NODES else entity_type.capitalize()
        strategy = row["resolution_strategy"]
        base = row["base_data"]  # the agreed fields, flat or wrapped like a side's data
        return cls(
            id=strawberry.ID(to_global_id("Conflict", row["id"])),
            network_id=row["id"],
            conflict_type=ConflictType(row["conflict_type"]),
            entity_type=EntityType(entity_type),
            entity_id=strawberry.ID(to_global_id(node_type, row["entity_id"])),
            status=ConflictStatus(row["status"]),
            source=ConflictSide.from_data(row["source_data"], row["source_location_id"]),
            target=ConflictSide.from_data(row["target_data"], row["target_location_id"]),
            base=None if base is None else base.get("fields", base),
            resolution_strategy=None if strategy is None else ConflictStrategy(strategy),
            resolved_data=row["resolved_data"],
            resolved_by=row["resolved_by"],
            resolved_at=row["resolved_at"],
            created_at=row["created_at"],
            entity_kind=entity_type,
            entity_key=row["entity_id"],
            sync_job_key=row["sync_job_id"],
        )

    @strawberry.field(description="The record itself as the cache has it now; null if it no longer exists.")
    async def entity(self, info: Info) -> Node | None:
        if self.entity_kind not in ENTITY_NODES:
            return None
        _, loader_of, convert = ENTITY_NODES[self.entity_kind]
        row = await loader_of(info.context.loaders).load(self.entity_key)
        return None if row is None else convert(row)

    @strawberry.field(description="The sync job that found it; null when it was found outside a sync job.")
    async def sync_job(self, info: Info) -> SyncJob | None:
        if self.sync_job_key is None:
            return None
        row = await info.context.loaders.sync_job_by_id.load(self.sync_job_key)
        return None if row is None else SyncJob.from_row(row)
