"""Fill a simulated location's own store with what the demo network says it holds.

The demo cache is the record of what each location had when it joined; a simulator
starts from that location's slice of it, in that location's own ids. From then on the
two are separate systems: changes at the location reach the gateway only through its API.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoredService, StoredStock
from sources.cache.models import (
    Booking,
    Customer,
    CustomerMapping,
    Location,
    Resource,
    ResourceShare,
    Service,
    StockItem,
    StockLevel,
)


async def seed_store(engine: AsyncEngine, location_id: str, new_id: Callable[[str], str]) -> LocationStore:
    async with AsyncSession(engine) as connection:
        location = (await connection.execute(select(Location).where(Location.id == location_id))).scalar_one()
        store = LocationStore(
            location_id,
            timezone=location.timezone,
            currency=location.currency,
            opening_hours=location.opening_hours,
            new_id=new_id,
        )
        for service in (await connection.execute(select(Service).where(Service.location_id == location_id))).scalars():
            store.services[service.local_service_id] = StoredService(
                local_id=service.local_service_id,
                name=service.name,
                category=service.category,
                skill=service.skill,
                duration_minutes=service.duration_minutes,
                price_minor=service.price_minor,
                currency=service.currency,
                is_active=service.is_active,
            )
        owned = await connection.execute(select(Resource).where(Resource.location_id == location_id))
        local_resource_ids: dict[str, str] = {}
        for resource in owned.scalars():
            local_resource_ids[resource.id] = resource.local_resource_id
            store.resources[resource.local_resource_id] = StoredResource(
                local_id=resource.local_resource_id,
                kind=resource.kind,
                name=resource.name,
                title=resource.title,
                skill=resource.skill,
                capacity=resource.capacity,
                is_active=resource.is_active,
            )
        lent_in = await connection.execute(
            select(Resource, ResourceShare.rules)
            .join(ResourceShare, ResourceShare.resource_id == Resource.id)
            .where(ResourceShare.location_id == location_id, ResourceShare.is_active)
        )
        for resource, _rules in lent_in:
            # Borrowed staff and rooms are known here by their network id.
            local_resource_ids[resource.id] = resource.id
            store.resources[resource.id] = StoredResource(
                local_id=resource.id,
                kind=resource.kind,
                name=resource.name,
                title=resource.title,
                skill=resource.skill,
                owned=False,
            )
        customers = await connection.execute(
            select(Customer, CustomerMapping.local_customer_id, CustomerMapping.loyalty_points)
            .join(CustomerMapping, CustomerMapping.customer_id == Customer.id)
            .where(CustomerMapping.location_id == location_id)
        )
        local_customer_ids: dict[str, str] = {}
        for customer, local_id, points in customers:
            local_customer_ids[customer.id] = local_id
            store.customers[local_id] = StoredCustomer(
                local_id=local_id,
                first_name=customer.first_name,
                last_name=customer.last_name,
                email=customer.email,
                phone=customer.phone,
                loyalty_points=points,
                preferences=dict(customer.preferences or {}),
                global_id=customer.id,
                updated_at=customer.updated_at,
            )
        services = {
            service.id: service.local_service_id
            for service in (await connection.execute(select(Service.id, Service.local_service_id))).all()
        }
        bookings = await connection.execute(select(Booking).where(Booking.service_location_id == location_id))
        for booking in bookings.scalars():
            store.bookings[booking.local_booking_id] = StoredBooking(
                local_id=booking.local_booking_id,
                local_customer_id=local_customer_ids.get(booking.customer_id, booking.customer_id),
                local_service_id=services[booking.service_id],
                local_resource_id=local_resource_ids.get(booking.resource_id or "", booking.resource_id),
                start_at=booking.start_at,
                end_at=booking.end_at,
                status=booking.status,
                price_minor=booking.price_minor,
                currency=booking.currency,
                notes=booking.notes,
                version=booking.version,
                global_id=booking.id,
                updated_at=booking.updated_at,
                payment_status=booking.reported_payment,
                paid_minor=booking.reported_paid_minor or 0,
            )
        levels = await connection.execute(
            select(StockLevel, StockItem.sku)
            .join(StockItem, StockItem.id == StockLevel.item_id)
            .where(StockLevel.location_id == location_id)
        )
        for level, sku in levels:
            store.stock[sku] = StoredStock(
                sku=sku,
                quantity=level.quantity,
                reserved=level.reserved,
                reorder_point=level.reorder_point,
                expires_on=level.expires_on,
                updated_at=level.updated_at,
                version=level.version,
            )
    return store
