"""Resources and stock a location reports: the location alone changes them, so its word is applied.

The network changes them only through the owner (shares and stock deltas go through the
outbox and the location applies them), so there is no second side to conflict with.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import log_change
from sources.cache.models import Resource, StockItem, StockLevel
from sources.connectors.records import RemoteResource, RemoteStockLevel
from sync.apply.batch import ApplyResult, Batch, derived_id
from sync.apply.state import Image, image_of
from sync.events import resource_event, stock_event

RESOURCE_FIELDS = ("kind", "name", "title", "skill", "capacity", "is_active")
STOCK_FIELDS = ("quantity", "reserved", "reorder_point", "expires_on")


async def apply_resources(
    session: AsyncSession, batch: Batch, resources: Sequence[RemoteResource], result: ApplyResult
) -> None:
    if not resources:
        return
    location_id = batch.location_id
    known = {
        resource.local_resource_id: resource
        for resource in (await session.execute(select(Resource).where(Resource.location_id == location_id))).scalars()
    }
    for remote in resources:
        after: Image = {
            "kind": remote.kind,
            "name": remote.name,
            "title": remote.title,
            "skill": remote.skill,
            "capacity": remote.capacity,
            "is_active": remote.is_active,
        }
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
                entity_type="resource",
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
            entity_type="resource",
            entity_id=resource.id,
            location_id=location_id,
            operation="update",
            before=before,
            after=after,
            sync_job_id=batch.job_id,
        )
        result.updated += 1
        result.events.append(resource_event(resource.id, location_id))


async def apply_stock(
    session: AsyncSession, batch: Batch, levels: Sequence[RemoteStockLevel], result: ApplyResult
) -> None:
    if not levels:
        return
    location_id = batch.location_id
    items = dict((await session.execute(select(StockItem.sku, StockItem.id))).all())
    known = {
        level.item_id: level
        for level in (await session.execute(select(StockLevel).where(StockLevel.location_id == location_id))).scalars()
    }
    for remote in levels:
        item_id = items.get(remote.sku)
        if item_id is None:
            continue
        values = {
            "quantity": remote.quantity,
            "reserved": remote.reserved,
            "reorder_point": remote.reorder_point,
            "expires_on": remote.expires_on,
        }
        level = known.get(item_id)
        if level is None:
            level = StockLevel(item_id=item_id, location_id=location_id, **values)
            session.add(level)
            await session.flush()
            await log_change(
                session,
                entity_type="stock_level",
                entity_id=f"{item_id}@{location_id}",
                location_id=location_id,
                operation="create",
                before=None,
                after=values,
                sync_job_id=batch.job_id,
            )
            result.created += 1
            result.events.append(stock_event(level))
            continue
        before = image_of(level, STOCK_FIELDS)
        after = image_of(remote, STOCK_FIELDS)
        if before == after:
            result.unchanged += 1
            continue
        for name, value in values.items():
            setattr(level, name, value)
        level.version += 1
        await log_change(
            session,
            entity_type="stock_level",
            entity_id=f"{item_id}@{location_id}",
            location_id=location_id,
            operation="update",
            before=before,
            after=after,
            version=level.version,
            sync_job_id=batch.job_id,
        )
        result.updated += 1
        result.events.append(stock_event(level))
