"""Subscribing for a caller: the bus's events it may see (the one visibility rule) and asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from resolvers.context import Context
from resolvers.scope import RowScope
from subscriptions.bus import Event, Subscription
from subscriptions.visibility import concerns, visible_to
from sync.events import BOOKING_CHANGED, LOCATION_STATUS

__all__ = ["Event", "Subscription", "about_location", "sees", "subscribe"]


def sees(scope: RowScope, event: Event) -> bool:
    """The one rule for subscriptions, the row scope's for events: an event is seen by whoever may see the
    rows it is about. Location status is the public catalogue's; a customer sees their own bookings' events,
    a staff member those of the bookings they serve; anyone else the events about their locations."""
    if event.topic == LOCATION_STATUS and (scope.public_only or scope.customer_id is not None):
        return True
    if scope.public_only:
        return False
    if scope.customer_id is not None:
        return event.topic == BOOKING_CHANGED and event.payload.get("customerId") == scope.customer_id
    if scope.resource_id is not None and event.topic != LOCATION_STATUS:
        served = event.topic == BOOKING_CHANGED and event.payload.get("resourceId") == scope.resource_id
        return served and visible_to(scope.location_ids, event)
    return visible_to(scope.location_ids, event)


def subscribe(context: Context, topics: str | Iterable[str], wanted: Callable[[Event], bool]) -> Subscription:
    """Subscribe now to `topics`, keeping the events the caller may see and `wanted` accepts."""
    scope = context.scope

    def accept(event: Event) -> bool:
        return sees(scope, event) and wanted(event)

    return context.bus.subscribe(topics, accept)


def about_location(location_id: str | None) -> Callable[[Event], bool]:
    """Events about that location (for a booking: served there or booked from there); every event without one."""
    if location_id is None:
        return lambda event: True
    return lambda event: concerns(event, location_id)
