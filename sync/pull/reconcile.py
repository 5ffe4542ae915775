"""Full reconciliation: what the location no longer has is removed from the cache.

A delta pull shows changed records, never deleted ones; after a full pull the gateway
knows every record the location holds, so anything cached for it beyond those is gone
there. Removals are logged with their before-image, so rolling the job back restores them.
"""

from __future__ import annotations

from collections.abc import Set

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import log_change
from sources.cache.models import Booking, CustomerMapping, Resource, RevenueEntry, SyncState
from sources.cache.writer import CacheWriter
from sources.connectors.records import EntityType
from sync.apply.batch import ApplyResult
from sync.apply.state import BOOKING_FIELDS, image_of
from sync.events import booking_event

BOOKING_ROW = ("id", "originating_location_id", "service_location_id", "local_booking_id", "version", *BOOKING_FIELDS)
MAPPING_ROW = ("customer_id", "location_id", "local_customer_id", "loyalty_points")


async def _customers(session: AsyncSession, location_id: str, seen: Set[str], job_id: str, result: ApplyResult) -> None:
    mappings = (
        await session.execute(select(CustomerMapping).where(CustomerMapping.location_id == location_id))
    ).scalars()
    for mapping in mappings:
        if mapping.local_customer_id in seen:
            continue
        await log_change(
            session,
            entity_type="customer_mapping",
            entity_id=mapping.customer_id,
            location_id=location_id,
            operation="delete",
            before=image_of(mapping, MAPPING_ROW),
            after=None,
            sync_job_id=job_id,
        )
        await session.execute(
            delete(SyncState).where(
                SyncState.entity_type == "customer",
                SyncState.entity_id == mapping.customer_id,
                SyncState.location_id == location_id,
            )
        )
        await session.delete(mapping)
        result.deleted += 1


async def _bookings(session: AsyncSession, location_id: str, seen: Set[str], job_id: str, result: ApplyResult) -> None:
    bookings = (
        await session.execute(
            # A booking still on its way there has no local id yet: it is not missing, it is pending.
            select(Booking).where(Booking.service_location_id == location_id, Booking.local_booking_id != "")
        )
    ).scalars()
    for booking in bookings:
        if booking.local_booking_id in seen:
            continue
        await log_change(
            session,
            entity_type="booking",
            entity_id=booking.id,
            location_id=location_id,
            operation="delete",
            before=image_of(booking, BOOKING_ROW),
            after=None,
            version=booking.version,
            sync_job_id=job_id,
        )
        result.events.append(booking_event(booking, "deleted"))
        await session.execute(delete(RevenueEntry).where(RevenueEntry.booking_id == booking.id))
        await session.execute(
            delete(SyncState).where(SyncState.entity_type == "booking", SyncState.entity_id == booking.id)
        )
        await session.delete(booking)
        result.deleted += 1


async def _resources(session: AsyncSession, location_id: str, seen: Set[str], job_id: str, result: ApplyResult) -> None:
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
            entity_type="resource",
            entity_id=resource.id,
            location_id=location_id,
            operation="update",
            before={"is_active": True},
            after={"is_active": False},
            sync_job_id=job_id,
        )
        result.deleted += 1


async def remove_missing(
    writer: CacheWriter, location_id: str, kind: EntityType, seen: Set[str], job_id: str
) -> ApplyResult:
    """Remove from the cache what the location did not list in a full pull (stock levels are kept: see note)."""
    result = ApplyResult()
    async with writer.transaction() as session:
        if kind is EntityType.CUSTOMERS:
            await _customers(session, location_id, seen, job_id, result)
        elif kind is EntityType.BOOKINGS:
            await _bookings(session, location_id, seen, job_id, result)
        elif kind is EntityType.RESOURCES:
            await _resources(session, location_id, seen, job_id, result)
        # Inventory: a sku a location stops listing keeps its last level; stock history refers to it.
    return result
