"""Services (the catalogue): the location that offers a service alone names and prices it, so its word is applied.

The network never changes a location's service, so a pull has no second side to conflict with.
A new price lands on the cached service, which is where a new booking's price is taken from;
bookings already made keep the price they were made at (it is stored on each booking). A
service the location stops offering is retired (inactive, kept: bookings and revenue lines name
it), never deleted.
"""

from __future__ import annotations

from collections.abc import Sequence, Set

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import log_change
from sources.cache.models import ChangeLogEntry, Conflict, Service
from sources.connectors.base import Capability
from sources.connectors.records import EntityType, RecordType, RemoteRecord, RemoteService
from sync.apply.batch import ApplyResult, ApplyRules, Batch, derived_id
from sync.apply.entity import HeldByTheOwnerOnly, Undo, restore, undoable_update
from sync.apply.state import Image, image_of
from sync.errors import InvalidResolution
from sync.types import ConflictChoice

SERVICE = RecordType.SERVICE
SERVICE_FIELDS = ("name", "category", "skill", "duration_minutes", "price_minor", "currency", "is_active")


class Services(HeldByTheOwnerOnly):
    pulled_as = EntityType.SERVICES
    record_types = (SERVICE,)
    reads = Capability.READ_CATALOG
    remote_type: type[RemoteRecord] = RemoteService

    def key_of(self, record: RemoteService) -> str:
        return record.local_id

    async def apply(
        self, session: AsyncSession, batch: Batch, records: Sequence[RemoteService], result: ApplyResult
    ) -> None:
        location_id = batch.location_id
        known = {
            service.local_service_id: service
            for service in (await session.execute(select(Service).where(Service.location_id == location_id))).scalars()
        }
        for remote in records:
            after: Image = {name: getattr(remote, name) for name in SERVICE_FIELDS}
            service = known.get(remote.local_id)
            if service is None:
                service = Service(
                    id=derived_id("svc", location_id, remote.local_id),
                    location_id=location_id,
                    local_service_id=remote.local_id,
                    **after,
                )
                session.add(service)
                await session.flush()
                known[remote.local_id] = service
                await self._log(session, service.id, location_id, "create", None, after, batch.job_id)
                result.created += 1
                continue
            before = image_of(service, SERVICE_FIELDS)
            if before == after:
                result.unchanged += 1
                continue
            for name, value in after.items():
                setattr(service, name, value)
            await self._log(session, service.id, location_id, "update", before, after, batch.job_id)
            result.updated += 1

    async def reconcile(
        self, session: AsyncSession, location_id: str, seen: Set[str], job_id: str, result: ApplyResult
    ) -> None:
        offered = await session.execute(select(Service).where(Service.location_id == location_id, Service.is_active))
        for service in offered.scalars():
            if service.local_service_id in seen:
                continue
            # Bookings and revenue lines still name it: retire it rather than delete it.
            service.is_active = False
            await self._log(
                session, service.id, location_id, "update", {"is_active": True}, {"is_active": False}, job_id
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
        raise InvalidResolution("a service is the location's alone: it has no conflicts to resolve")

    async def roll_back(self, undo: Undo, entry: ChangeLogEntry) -> bool:
        service = await undo.session.get(Service, entry.entity_id)
        if not undoable_update(service, entry):
            return False
        restore(service, entry.before)
        await undo.log(entry)
        return True

    @staticmethod
    async def _log(
        session: AsyncSession,
        service_id: str,
        location_id: str,
        operation: str,
        before: Image | None,
        after: Image,
        job_id: str | None,
    ) -> None:
        await log_change(
            session,
            entity_type=SERVICE,
            entity_id=service_id,
            location_id=location_id,
            operation=operation,
            before=before,
            after=after,
            sync_job_id=job_id,
        )
