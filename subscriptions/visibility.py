"""Which locations an event concerns, and so who may see it and which location filters it matches."""

from __future__ import annotations

from subscriptions.bus import Event

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


def visible_to(location_ids: frozenset[str] | None, event: Event) -> bool:
    """The one rule for subscriptions, given the subscriber's row scope (the locations it may see, None for
    every location): an event is visible when it is about at least one of them (an event naming no location
    is the network's, so only a scope over every location sees it)."""
    if location_ids is None:
        return True
    return not event_locations(event).isdisjoint(location_ids)
