"""Passing a customer's network record on to the locations that know them, as far as their consent allows."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.consents import may_share
from sources.cache.models import Customer, CustomerMapping, Location
from sync.conflicts.propagate import Writable, propagation
from sync.outbox.messages import CustomerUpsertMessage
from sync.outbox.queue import Queued


async def push_customer(
    session: AsyncSession,
    customer: Customer,
    *,
    writable: Writable,
    consent_required: bool,
    only: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    to_new_locations: bool = False,
    why: str = "propagate",
) -> list[Queued]:
    """Queue the customer's record for each location that knows them (and, if asked, every other one).

    Without a data-sharing consent in force (sources/cache/consents.py) only the customer's home location
    (primary) may get it: their data goes nowhere else, whoever asks.
    """
    mappings = dict(
        (
            await session.execute(
                select(CustomerMapping.location_id, CustomerMapping.local_customer_id).where(
                    CustomerMapping.customer_id == customer.id
                )
            )
        ).all()
    )
    targets: set[str] = set(mappings) if only is None else set(only)
    if to_new_locations:
        targets |= set((await session.execute(select(Location.id))).scalars())
    targets -= set(exclude)
    if not await may_share(session, customer.id, required=consent_required):
        targets &= {customer.primary_location_id}
    return [
        await propagation(session, location_id, CustomerUpsertMessage.of(customer, mappings.get(location_id)), why)
        for location_id in sorted(targets)
        if writable(location_id)
    ]
