"""A known-good starting point: the cache and a location agree on every record, at the location's versions.

The demo seeds each simulated location from the cache, so at that moment the two agree;
recording it lets the very first pull tell a site's edit from a network edit (without
it, the first sight of a record has to take the cache's values as the agreed ones), and
starts the delta cursors at the location's newest record instead of pulling it all again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select

from sources.cache.models import Booking, Customer, CustomerMapping, SyncState
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter
from sources.connectors.records import Cursor, EntityType, RecordType
from sync.apply.state import BOOKING_FIELDS, CUSTOMER_FIELDS, image_of
from sync.pull.cursors import save_cursor


@dataclass(frozen=True, slots=True)
class HeldRecord:
    local_id: str
    version: int
    changed_at: datetime


async def record_baseline(
    writer: CacheWriter,
    location_id: str,
    *,
    customers: Sequence[HeldRecord],
    bookings: Sequence[HeldRecord],
    cursors: Mapping[EntityType, Cursor | None],
) -> int:
    """Store the agreement for every record the location holds; returns how many."""
    versions = {(RecordType.CUSTOMER, record.local_id): record.version for record in customers}
    versions |= {(RecordType.BOOKING, record.local_id): record.version for record in bookings}
    now = utc_now()
    rows: list[dict[str, object]] = []
    async with writer.transaction() as session:
        mapped = await session.execute(
            select(CustomerMapping.local_customer_id, Customer)
            .join(Customer, Customer.id == CustomerMapping.customer_id)
            .where(CustomerMapping.location_id == location_id)
        )
        for local_id, customer in mapped:
            version = versions.get((RecordType.CUSTOMER, local_id))
            if version is not None:
                rows.append(
                    _row(
                        RecordType.CUSTOMER, customer.id, location_id, version, image_of(customer, CUSTOMER_FIELDS), now
                    )
                )
        held = await session.execute(select(Booking).where(Booking.service_location_id == location_id))
        for booking in held.scalars():
            version = versions.get((RecordType.BOOKING, booking.local_booking_id))
            if version is not None:
                rows.append(
                    _row(RecordType.BOOKING, booking.id, location_id, version, image_of(booking, BOOKING_FIELDS), now)
                )
        await session.execute(delete(SyncState).where(SyncState.location_id == location_id))
        if rows:
            await session.execute(insert(SyncState), rows)
        for kind, cursor in cursors.items():
            await save_cursor(session, location_id, kind, cursor, full=True)
    return len(rows)


def _row(
    entity_type: str, entity_id: str, location_id: str, version: int, base: dict[str, object], now: datetime
) -> dict[str, object]:
    return {
        "entity_type": entity_type,
        "entity_id": entity_id,
        "location_id": location_id,
        "remote_version": version,
        "base": base,
        "synced_at": now,
    }
