"""resource.share and resource.unshare: the owner of staff, a room or equipment lends it to another
location, or stops; a refused change puts the cached share back as it was."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import ResourceShare
from sources.cache.revenue import SplitRules
from sources.connectors.base import Connector
from sources.connectors.errors import UpstreamRejected
from sources.connectors.records import RecordType
from sync.events import resource_event
from sync.outbox.messages.base import DeliveryEffects, Message


@dataclasses.dataclass(frozen=True, slots=True)
class ShareBefore:
    """The share as it was before the change."""

    rules: dict[str, Any]
    is_active: bool


@dataclasses.dataclass(frozen=True, slots=True)
class _ShareChange(Message[None]):
    entity_type: ClassVar[RecordType] = RecordType.RESOURCE
    shared: ClassVar[bool]  # whether the resource is shared after the change

    resource_id: str
    local_resource_id: str
    with_location_id: str
    rules: dict[str, Any]
    before: ShareBefore | None = None  # None: there was no share

    def entity_id(self, location_id: str) -> str:
        return self.resource_id

    async def delivered(self, session: AsyncSession, location_id: str, ack: None, split: SplitRules) -> DeliveryEffects:
        event = resource_event(self.resource_id, location_id, shared_with=self.with_location_id, shared=self.shared)
        return DeliveryEffects((event,))

    async def rejected(self, session: AsyncSession, location_id: str, error: UpstreamRejected) -> DeliveryEffects:
        share = (
            await session.execute(
                select(ResourceShare).where(
                    ResourceShare.resource_id == self.resource_id,
                    ResourceShare.location_id == self.with_location_id,
                )
            )
        ).scalar()
        before = self.before
        if before is None and share is not None:
            await session.delete(share)
        elif before is not None:
            if share is None:
                session.add(
                    ResourceShare(
                        resource_id=self.resource_id,
                        location_id=self.with_location_id,
                        rules=before.rules,
                        is_active=before.is_active,
                    )
                )
            else:
                share.rules, share.is_active = before.rules, before.is_active
        return DeliveryEffects()


@dataclasses.dataclass(frozen=True, slots=True)
class ResourceShareMessage(_ShareChange):
    op: ClassVar[str] = "resource.share"
    shared: ClassVar[bool] = True

    async def send(self, connector: Connector, key: str) -> None:
        await connector.share_resource(self.local_resource_id, self.with_location_id, self.rules, key)


@dataclasses.dataclass(frozen=True, slots=True)
class ResourceUnshareMessage(_ShareChange):
    op: ClassVar[str] = "resource.unshare"
    shared: ClassVar[bool] = False

    async def send(self, connector: Connector, key: str) -> None:
        await connector.unshare_resource(self.local_resource_id, self.with_location_id, key)
