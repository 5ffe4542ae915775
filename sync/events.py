"""The domain events the cache's changes publish on the bus (payload shapes are the subscriptions' contract)."""

from __future__ import annotations

from typing import Any

from sources.cache.models import Booking, StockLevel

DomainEvent = tuple[str, dict[str, Any]]


def booking_event(booking: Booking, change: str) -> DomainEvent:
    return (
        "booking.changed",
        {
            "bookingId": booking.id,
            "change": change,
            "status": booking.status,
            "serviceLocationId": booking.service_location_id,
            "originatingLocationId": booking.originating_location_id,
        },
    )


def stock_event(level: StockLevel) -> DomainEvent:
    return (
        "stock.changed",
        {
            "itemId": level.item_id,
            "locationId": level.location_id,
            "quantity": level.quantity,
            "reserved": level.reserved,
            "low": level.quantity - level.reserved <= level.reorder_point,
        },
    )
