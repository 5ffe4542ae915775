"""Apply what a location says it holds to the cache: the location owns it, so its word wins.

Used by live refresh (records a connector pulled) and by pushes (a source website
posting a booking). Customers found here for the first time are matched to a known
network customer by email, otherwise created; bookings made at the location get a
network id derived from the location and its local id, so re-applying is idempotent.
Detecting concurrent edits (conflicts) belongs to the sync engine, not here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.booking_revenue import replace_revenue_entries
from sources.cache.journal import log_change
from sources.cache.models import (
    Booking,
    Customer,
    CustomerMapping,
    Resource,
    Service,
    StockItem,
    StockLevel,
)
from sources.cache.writer import CacheWriter
from sources.connectors.records import RemoteBooking, RemoteCustomer, RemoteStockLevel

BOOKING_FIELDS = (
    "customer_id",
    "service_id",
    "resource_id",
    "start_at",
    "end_at",
    "status",
    "price_minor",
    "currency",
    "notes",
)


def derived_id(prefix: str, location_id: str, local_id: str) -> str:
    digest = hashlib.sha256(f"{location_id}\x00{local_id}".encode()).hexdigest()[:12]
    return f"{prefix}_{digest}"


@dataclass
class ApplyResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    booking_ids: dict[str, str] = field(default_factory=dict)  # local booking id -> network id
    customer_ids: dict[str, str] = field(default_factory=dict)  # local customer id -> network id


def _image(row: Any, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


async def _apply_customers(
    session: AsyncSession, location_id: str, customers: Sequence[RemoteCustomer], result: ApplyResult
) -> None:
    if not customers:
        return
    local_ids = [customer.local_id for customer in customers]
    mapped = {
        mapping.local_customer_id: mapping
        for mapping in (
            await session.execute(
                select(CustomerMapping).where(
                    CustomerMapping.location_id == location_id, CustomerMapping.local_customer_id.in_(local_ids)
                )
            )
        ).scalars()
    }
    for remote in customers:
        mapping = mapped.get(remote.local_id)
        if mapping is not None:
            customer = await session.get_one(Customer, mapping.customer_id)
            mapping.loyalty_points = remote.loyalty_points
            names = ("first_name", "last_name", "email", "phone")
            before = _image(customer, names)
            after = {
                "first_name": remote.first_name,
                "last_name": remote.last_name,
                "email": remote.email,
                "phone": remote.phone,
            }
            if before == after:
                result.unchanged += 1
            else:
                for name, value in after.items():
                    setattr(customer, name, value)
                customer.version += 1
                await log_change(
                    session,
                    entity_type="customer",
                    entity_id=customer.id,
                    location_id=location_id,
                    operation="update",
                    before=before,
                    after=after,
                    version=customer.version,
                )
                result.updated += 1
            result.customer_ids[remote.local_id] = customer.id
            continue
        existing = None
        if remote.email:
            existing = (
                (await session.execute(select(Customer).where(func.lower(Customer.email) == remote.email.lower())))
                .scalars()
                .first()
            )
        if existing is None:
            existing = Customer(
                id=derived_id("cus", location_id, remote.local_id),
                primary_location_id=location_id,
                first_name=remote.first_name,
                last_name=remote.last_name,
                email=remote.email,
                phone=remote.phone,
                preferences={},
                consents={},
            )
            session.add(existing)
            await session.flush()
            await log_change(
                session,
                entity_type="customer",
                entity_id=existing.id,
                location_id=location_id,
                operation="create",
                before=None,
                after=_image(existing, ("first_name", "last_name", "email", "phone")),
            )
            result.created += 1
        session.add(
            CustomerMapping(
                customer_id=existing.id,
                location_id=location_id,
                local_customer_id=remote.local_id,
                loyalty_points=remote.loyalty_points,
            )
        )
        await session.flush()
        result.customer_ids[remote.local_id] = existing.id


async def _resource_ids(session: AsyncSession, location_id: str) -> dict[str, str]:
    rows = await session.execute(
        select(Resource.id, Resource.local_resource_id).where(Resource.location_id == location_id)
    )
    ids = {local: global_id for global_id, local in rows}
    return ids


async def _apply_bookings(
    session: AsyncSession,
    location_id: str,
    bookings: Sequence[RemoteBooking],
    originating_share_bp: int,
    result: ApplyResult,
) -> None:
    if not bookings:
        return
    services = dict(
        (
            await session.execute(
                select(Service.local_service_id, Service.id).where(Service.location_id == location_id)
            )
        ).all()
    )
    resources = await _resource_ids(session, location_id)
    customers = dict(
        (
            await session.execute(
                select(CustomerMapping.local_customer_id, CustomerMapping.customer_id).where(
                    CustomerMapping.location_id == location_id,
                    # Only the customers these bookings name: a delta pull must not read every mapping.
                    CustomerMapping.local_customer_id.in_({booking.local_customer_id for booking in bookings}),
                )
            )
        ).all()
    )
    local_ids = [booking.local_id for booking in bookings]
    known = {
        booking.local_booking_id: booking
        for booking in (
            await session.execute(
                select(Booking).where(
                    Booking.service_location_id == location_id, Booking.local_booking_id.in_(local_ids)
                )
            )
        ).scalars()
    }
    for remote in bookings:
        service_id = services.get(remote.local_service_id)
        customer_id = customers.get(remote.local_customer_id)
        if service_id is None or customer_id is None:
            # The location speaks of a service or customer we have not pulled yet; the next refresh brings it.
            continue
        resource_id = None
        if remote.local_resource_id is not None:
            resource_id = resources.get(remote.local_resource_id, remote.local_resource_id)
        values = {
            "customer_id": customer_id,
            "service_id": service_id,
            "resource_id": resource_id,
            "start_at": remote.start_at,
            "end_at": remote.end_at,
            "status": remote.status,
            "price_minor": remote.price_minor,
            "currency": remote.currency,
            "notes": remote.notes,
        }
        booking = known.get(remote.local_id)
        if booking is None and remote.global_id is not None:
            booking = await session.get(Booking, remote.global_id)
        if booking is None:
            booking = Booking(
                id=remote.global_id or derived_id("bkg", location_id, remote.local_id),
                originating_location_id=location_id,
                service_location_id=location_id,
                local_booking_id=remote.local_id,
                version=max(remote.version, 1),
                **values,
            )
            session.add(booking)
            await session.flush()
            await log_change(
                session,
                entity_type="booking",
                entity_id=booking.id,
                location_id=location_id,
                operation="create",
                before=None,
                after=values,
                version=booking.version,
            )
            await replace_revenue_entries(session, booking, originating_share_bp)
            result.created += 1
        else:
            before = _image(booking, BOOKING_FIELDS)
            if before == values and booking.local_booking_id == remote.local_id:
                result.unchanged += 1
            else:
                money_changed = (before["price_minor"], before["status"], before["start_at"]) != (
                    values["price_minor"],
                    values["status"],
                    values["start_at"],
                )
                for name, value in values.items():
                    setattr(booking, name, value)
                booking.local_booking_id = remote.local_id
                booking.version = max(booking.version + 1, remote.version)
                await session.flush()
                await log_change(
                    session,
                    entity_type="booking",
                    entity_id=booking.id,
                    location_id=location_id,
                    operation="update",
                    before=before,
                    after=values,
                    version=booking.version,
                )
                if money_changed:
                    await replace_revenue_entries(session, booking, originating_share_bp)
                result.updated += 1
        result.booking_ids[remote.local_id] = booking.id


async def _apply_stock(
    session: AsyncSession, location_id: str, levels: Sequence[RemoteStockLevel], result: ApplyResult
) -> None:
    if not levels:
        return
    items = dict((await session.execute(select(StockItem.sku, StockItem.id))).all())
    known = {
        level.item_id: level
        for level in (await session.execute(select(StockLevel).where(StockLevel.location_id == location_id))).scalars()
    }
    names = ("quantity", "reserved", "reorder_point", "expires_on")
    for remote in levels:
        item_id = items.get(remote.sku)
        if item_id is None:
            continue
        after = {
            "quantity": remote.quantity,
            "reserved": remote.reserved,
            "reorder_point": remote.reorder_point,
            "expires_on": remote.expires_on,
        }
        level = known.get(item_id)
        if level is None:
            level = StockLevel(item_id=item_id, location_id=location_id, **after)
            session.add(level)
            await session.flush()
            await log_change(
                session,
                entity_type="stock_level",
                entity_id=f"{item_id}@{location_id}",
                location_id=location_id,
                operation="create",
                before=None,
                after=after,
            )
            result.created += 1
            continue
        before = _image(level, names)
        if before == after:
            result.unchanged += 1
            continue
        for name, value in after.items():
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
        )
        result.updated += 1


async def apply_location_changes(
    writer: CacheWriter,
    location_id: str,
    *,
    customers: Sequence[RemoteCustomer] = (),
    bookings: Sequence[RemoteBooking] = (),
    stock: Sequence[RemoteStockLevel] = (),
    originating_share_bp: int = 2_000,
) -> ApplyResult:
    """Apply one location's records in one transaction: all of them land, or none."""
    result = ApplyResult()
    async with writer.transaction() as session:
        await _apply_customers(session, location_id, customers, result)
        await _apply_bookings(session, location_id, bookings, originating_share_bp, result)
        await _apply_stock(session, location_id, stock, result)
    return result
