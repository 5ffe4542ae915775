"""Subscribing for a caller: the bus's events it may see (the one visibility rule) and asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from resolvers.context import Context
from subscriptions.bus import Event, Subscription
from subscriptions.visibility import concerns, visible_to

__all__ = ["Event", "Subscription", "about_location", "subscribe"]


def subscribe(context: Context, topics: str | Iterable[str], wanted: Callable[[Event], bool]) -> Subscription:
    """Subscribe now to `topics`, keeping the events the caller may see and `wanted` accepts."""
    location_ids = context.visible_location_ids

    def accept(event: Event) -> bool:
        return visible_to(location_ids, event) and wanted(event)

    return context.bus.subscribe(topics, accept)


def about_location(location_id: str | None) -> Callable[[Event], bool]:
    """Events about that location (for a booking: served there or booked from there); every event without one."""
    if location_id is None:
        return lambda event: True
    return lambda event: concerns(event, location_id)
