"""Which locations an event concerns, and so who may see it and which location filters it matches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from subscriptions.bus import Event

if TYPE_CHECKING:
    from resolvers.context import Principal

NETWORK_ADMIN = "network_admin"

# The payload fields that name a location, per topic.
LOCATION_FIELDS: dict[str, tuple[str, ...]] = {
    "sync.job": ("locationId",),
    "conflict": ("sourceLocationId", "targetLocationId"),
    "booking.changed": ("serviceLocationId", "originatingLocationId"),
    "stock.changed": ("locationId",),
    "location.status": ("locationId",),
    "customer.changed": ("locationId",),
    "resource.changed": ("locationId",),
}


def event_locations(event: Event) -> frozenset[str]:
    fields = LOCATION_FIELDS.get(event.topic, ())
    return frozenset(value for name in fields if isinstance(value := event.payload.get(name), str) and value)


def concerns(event: Event, location_id: str) -> bool:
    """The event is about that location (for a booking: served there or booked from there)."""
    return location_id in event_locations(event)


def visible_to(principal: Principal, event: Event) -> bool:
    """The one rule for subscriptions: a network admin sees every event; anyone else only events about at
    least one of their own locations (an event naming no location is the network's, so admins only)."""
    if NETWORK_ADMIN in principal.roles:
        return True
    return not event_locations(event).isdisjoint(principal.location_ids)
