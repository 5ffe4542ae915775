"""A thin event (it names a record, not its contents) made whole from the platform location's connector, and
customers from platforms that keep no loyalty points given the points the gateway holds for them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.services import Services
from shims.common.refusal import Refusal
from shims.platforms.event import PlatformEvent, Subject
from sources.cache.models import CustomerMapping
from sources.connectors.errors import ConnectorError

# The record changed at (or just before) the event's time; a little earlier covers clocks that disagree.
CHANGED_SINCE_MARGIN = timedelta(minutes=5)


async def hydrated(services: Services, location_id: str, event: PlatformEvent) -> PlatformEvent:
    """The event with its record as the location has it now; none when the location no longer has it (the pull
    this delivery starts settles that)."""
    connector = services.connectors.get(location_id)
    if connector is None:
        raise Refusal(503, "LOCATION_UNAVAILABLE", f"{location_id} has no connector to fetch the event's record")
    since = event.occurred_at - CHANGED_SINCE_MARGIN
    try:
        if event.subject is Subject.BOOKING:
            bookings = [b for b in await connector.list_bookings(since) if b.local_id == event.local_id]
            return dataclasses.replace(event, bookings=bookings, thin=False)
        customers = [c for c in await connector.list_customers(since) if c.local_id == event.local_id]
        return dataclasses.replace(event, customers=customers, thin=False)
    except ConnectorError as failure:
        # The platform retries a delivery it did not get a 2xx for: nothing was applied, so that is safe.
        raise Refusal(503, "LOCATION_UNAVAILABLE", f"the event's record could not be fetched: {failure}") from None


async def with_known_points(engine: AsyncEngine, location_id: str, event: PlatformEvent) -> PlatformEvent:
    if event.points_known or not event.customers:
        return event
    local_ids = [customer.local_id for customer in event.customers]
    async with engine.connect() as connection:
        points = dict(
            (
                await connection.execute(
                    select(CustomerMapping.local_customer_id, CustomerMapping.loyalty_points).where(
                        CustomerMapping.location_id == location_id, CustomerMapping.local_customer_id.in_(local_ids)
                    )
                )
            ).all()
        )
    customers = [dataclasses.replace(c, loyalty_points=points.get(c.local_id, 0)) for c in event.customers]
    return dataclasses.replace(event, customers=customers, points_known=True)
