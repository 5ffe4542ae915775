"""The bookings domain's words, defined once: statuses, sort orders and the relations a booking has.

Statuses come from the cache's vocabulary (sync/ needs them too and never imports resolvers/), the
changes a booking event names from sync/'s events (it publishes them); the sorts and relation names are
this domain's own. schema/ and the REST shims use these, not copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from resolvers.pagination import SortOrder
from sources.cache.models import Booking
from sources.cache.vocabulary import ACTIVE_BOOKING_STATUSES, BookingStatus
from sync.events import BookingChange

__all__ = [
    "ACTIVE_BOOKING_STATUSES",
    "BOOKING_SORT_ORDERS",
    "BookingChange",
    "BookingRelation",
    "BookingSort",
    "BookingStatus",
]

bookings = Booking.__table__


class BookingSort(StrEnum):
    START_AT_ASC = "START_AT_ASC"
    START_AT_DESC = "START_AT_DESC"
    CREATED_AT_DESC = "CREATED_AT_DESC"


BOOKING_SORT_ORDERS: Mapping[BookingSort, SortOrder] = {
    BookingSort.START_AT_ASC: SortOrder("start_at", (bookings.c.start_at, bookings.c.id)),
    BookingSort.START_AT_DESC: SortOrder("start_at_desc", (bookings.c.start_at, bookings.c.id), descending=True),
    BookingSort.CREATED_AT_DESC: SortOrder("created_at_desc", (bookings.c.created_at, bookings.c.id), descending=True),
}


class BookingRelation(StrEnum):
    """What a caller may select on a booking besides its own fields; each is loaded by one loader."""

    CUSTOMER = "customer"
    SERVICE = "service"
    RESOURCE = "resource"
    SERVICE_LOCATION = "service_location"
    ORIGINATING_LOCATION = "originating_location"
    REVENUE_SPLIT = "revenue_split"
