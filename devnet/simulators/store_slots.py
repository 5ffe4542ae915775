"""When a location can take a booking: opening hours, overlaps, the 15-minute grid of starts.

Pure functions over the store's records; the store calls them under its lock.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from devnet.simulators.store_records import ACTIVE_STATUSES, SLOT_STEP, OpeningHours, StoredBooking


def overlaps(
    bookings: Iterable[StoredBooking], resource_id: str, start: datetime, end: datetime, ignore: str | None = None
) -> bool:
    """An active booking on the resource overlaps [start, end) (a booking may end when the next starts)."""
    return any(
        booking.local_resource_id == resource_id
        and booking.status in ACTIVE_STATUSES
        and booking.local_id != ignore
        and booking.start_at < end
        and start < booking.end_at
        for booking in bookings
    )


def within_opening_hours(zone: ZoneInfo, opening_hours: OpeningHours, start: datetime, end: datetime) -> bool:
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    hours = opening_hours[local_start.weekday()]
    if hours is None or local_start.date() != (local_end - timedelta(microseconds=1)).date():
        return False
    midnight = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
    opens, closes = midnight + timedelta(hours=hours[0]), midnight + timedelta(hours=hours[1])
    return opens <= local_start and local_end <= closes


def grid(
    zone: ZoneInfo, opening_hours: OpeningHours, start: datetime, end: datetime, duration: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """Every (start, end) on a 15-minute local grid from `start` that ends by `end` and fits opening hours."""
    first = start.astimezone(zone).replace(second=0, microsecond=0)
    first += timedelta(minutes=(-first.minute) % 15)
    for step in itertools.count():
        slot_start = first + step * SLOT_STEP
        slot_end = slot_start + duration
        if slot_end > end:
            return
        if within_opening_hours(zone, opening_hours, slot_start, slot_end):
            yield slot_start, slot_end
