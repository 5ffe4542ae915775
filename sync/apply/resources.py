"""Resources (staff, rooms, equipment): the location that has them alone changes them, so its word is applied.

The network changes them only through the owner (shares go through the outbox and the location
applies them), so a pull has no second side to conflict with; the conflicts a resource has are
about its sharing rules, recorded elsewhere and resolved here.
"""

from __future__ import annotations

from collections.abc import Sequence, Set

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import log_change
from sources.cache.models import ChangeLogEntry, Conflict, Resource, ResourceShare
from sources.connectors.base import Capability
from sources.connectors.records import EntityType, RecordType, RemoteRecord, RemoteResource
from sync.apply.batch import ApplyResult, ApplyRules, Batch, derived_id
from sync.apply.entity import HeldByTheOwnerOnly, Undo, chosen_fields, restore, undoable_update
from sync.apply.state import Image, image_of
from sync.errors import InvalidResolution
from sync.events import resource_event
from sync.types import ConflictChoice

RESOURCE = RecordType.RESOURCE
RESOURCE_FIELDS = ("kind", "name", "title", "skill", "capacity", "is_active")


class Resources(HeldByTheOwnerOnly):
    pulled_as = EntityType.RESOURCES
    record_types = (RESOURCE,)
    reads = Capability.READ_CATALOG
    remote_type: type[RemoteRecord] = RemoteResource

    def key_of(self, record: RemoteResource) -> str:
        return record.local_id

    async def apply(
        self, session: AsyncSession, batch: Batch, records: Sequence[RemoteResource], result: ApplyResult
    ) -> None:
        location_id = batch.location_id
        known = {
            resource.local_resource_id: resource
            for resource in (
                await session.execute(select(Resource).where(Resource.location_id == location_id))
            ).scalars()
        }
        for remote in records:
            after: Image = {name: getattr(remote, name) for name in RESOURCE_FIELDS}
            resource = known.get(remote.local_id)
            if resource is None:
                resource = Resource(
                    id=derived_id("res", location_id, remote.local_id),
                    location_id=location_id,
                    local_resource_id=remote.local_id,
                    **after,
                )
                session.add(resource)
                await session.flush()
                await log_change(
                    session,
                    entity_type=RESOURCE,
                    entity_id=resource.id,
                    location_id=location_id,
                    operation="create",
                    before=None,
                    after=after,
                    sync_job_id=batch.job_id,
                )
                result.created += 1
                continue
            before = image_of(resource, RESOURCE_FIELDS)
            if before == after:
                result.unchanged += 1
                continue
            for name, value in after.items():
                setattr(resource, name, value)
            await log_change(
                session,
                entity_type=RESOURCE,
                entity_id=resource.id,
                location_id=location_id,
                operation="update",
                before=before,
                after=after,
                sync_job_id=batch.job_id,
            )
            result.updated += 1
            result.events.append(resource_event(resource.id, location_id))

    async def reconcile(
        self, session: AsyncSession, location_id: str, seen: Set[str], job_id: str, result: ApplyResult
    ) -> None:
        resources = (
            await session.execute(select(Resource).where(Resource.location_id == location_id, Resource.is_active))
        ).scalars()
        for resource in resources:
            if resource.local_resource_id in seen:
                continue
            # Bookings and shares still name it: retire it rather than delete it.
            resource.is_active = False
            await log_change(
                session,
                entity_type=RESOURCE,
                entity_id=resource.id,
                location_id=location_id,
                operation="update",
                before={"is_active": True},
                after={"is_active": False},
                sync_job_id=job_id,
            )
            result.deleted += 1

    async def resolve(
        self,
        session: AsyncSession,
        rules: ApplyRules,
        conflict: Conflict,
        choice: ConflictChoice | None,
        merged: Image | None,
    ) -> ApplyResult:
        """Sharing rules: fields named `sharing.<location>.<rule>` (the shape demo conflicts have)."""
        fields = chosen_fields(conflict, choice, merged)
        for name, value in fields.items():
            parts = name.split(".")
            if len(parts) != 3 or parts[0] != "sharing":
                raise InvalidResolution(f"a resource conflict sets sharing.<location>.<rule>, not {name}")
            share = (
                await session.execute(
                    select(ResourceShare).where(
                        ResourceShare.resource_id == conflict.entity_id, ResourceShare.location_id == parts[1]
                    )
                )
            ).scalar()
            if share is None:
                raise InvalidResolution(f"{conflict.entity_id} is not shared with {parts[1]}")
            share.rules = {**share.rules, parts[2]: value}
        conflict.resolved_data = fields
        return ApplyResult()

    async def roll_back(self, undo: Undo, entry: ChangeLogEntry) -> bool:
        resource = await undo.session.get(Resource, entry.entity_id)
        if not undoable_update(resource, entry):
            return False
        restore(resource, entry.before)
        await undo.log(entry)
        return True
