"""Customers the network erased (GDPR): what a pull, push or webhook of them may still change.

Nothing personal a location still holds or sends comes back into the cache; the location's mapping (and its
loyalty points) is kept, so bookings there still name the anonymised customer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import CustomerMapping
from sources.cache.suppression import email_hash, suppressed_emails, suppressed_ids
from sources.connectors.records import RemoteCustomer


async def erased_among(
    session: AsyncSession, records: Sequence[RemoteCustomer], mapped: Mapping[str, CustomerMapping]
) -> dict[str, str]:
    """The records that are erased customers, by local id: known by their mapping, or new here with an erased
    customer's email."""
    by_id = await suppressed_ids(session, (mapping.customer_id for mapping in mapped.values()))
    by_email = await suppressed_emails(session, (record.email for record in records if record.local_id not in mapped))
    erased: dict[str, str] = {}
    for record in records:
        mapping = mapped.get(record.local_id)
        if mapping is not None:
            if mapping.customer_id in by_id:
                erased[record.local_id] = mapping.customer_id
        elif (customer_id := by_email.get(email_hash(record.email) or "")) is not None:
            erased[record.local_id] = customer_id
    return erased


async def map_erased(
    session: AsyncSession,
    location_id: str,
    remote: RemoteCustomer,
    mapping: CustomerMapping | None,
    customer_id: str,
) -> None:
    """Keep the location's mapping of an erased customer (its points too), and nothing else it sent."""
    if mapping is not None:
        mapping.loyalty_points = remote.loyalty_points
        return
    known_here = (
        await session.execute(
            select(CustomerMapping.id).where(
                CustomerMapping.customer_id == customer_id, CustomerMapping.location_id == location_id
            )
        )
    ).scalar()
    if known_here is None:
        session.add(
            CustomerMapping(
                customer_id=customer_id,
                location_id=location_id,
                local_customer_id=remote.local_id,
                loyalty_points=remote.loyalty_points,
            )
        )
        await session.flush()
