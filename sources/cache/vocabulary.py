"""The closed sets of values the cache's rows hold, defined once for every layer that reads them.

They live here, at the lowest layer that needs them: `sync/` applies and decides on booking
statuses as much as `resolvers/` lists and books by them, and `sync/` never imports `resolvers/`.
The resolvers' domains re-export what they own from here (`resolvers/bookings/vocabulary.py`).
"""

from __future__ import annotations

from enum import StrEnum


class BookingStatus(StrEnum):
    """Where a booking is in its life (`bookings.status`)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


# A booking in one of these holds its slot: it can still be changed, cancelled or moved, and no other
# booking of the same resource may overlap it. Plain strings, so they bind as SQL parameters anywhere.
ACTIVE_BOOKING_STATUSES: tuple[str, ...] = (BookingStatus.PENDING.value, BookingStatus.CONFIRMED.value)

# A booking in one of these earns its locations revenue (a cancelled one earns nothing).
EARNING_BOOKING_STATUSES: frozenset[str] = frozenset(
    status.value for status in BookingStatus if status is not BookingStatus.CANCELLED
)


class LocationStatus(StrEnum):
    """How a location answers, as the heartbeat last found it (`locations.status`)."""

    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"
