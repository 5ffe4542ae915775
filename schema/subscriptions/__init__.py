"""The Subscription root: sync, conflict, booking, stock and location status events, over any transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.event_streams import Event, about_location
from resolvers.ids import key_of
from schema.permissions import Permission, requires
from schema.subscriptions.events import (
    BookingEvent,
    ConflictEvent,
    LocationStatusEvent,
    StockEvent,
    SubscriptionEvent,
    SyncEvent,
)
from schema.subscriptions.streams import event_stream

LocationArgument = Annotated[
    strawberry.ID | None, strawberry.argument(description="Only events about this location (a Location id).")
]


def _about(location_id: strawberry.ID | None) -> Callable[[Event], bool]:
    return about_location(None if location_id is None else key_of(str(location_id), "Location"))


@strawberry.type(
    description="Events pushed over WebSocket (graphql-transport-ws, or legacy graphql-ws), SSE (graphql-sse) "
    "or multipart HTTP (Apollo). Each subscriber sees only events about locations it may see."
)
class Subscription:
    @strawberry.subscription(
        permission_classes=[requires(Permission.VIEW_SYNC)],
        description="Sync jobs starting, progressing, completing, failing or rolled back.",
    )
    async def sync_events(
        self, info: Info[Context, None], location_id: LocationArgument = None
    ) -> AsyncIterator[SyncEvent]:
        return event_stream(info, "sync.job", _about(location_id), SyncEvent.of)

    @strawberry.subscription(
        permission_classes=[requires(Permission.VIEW_SYNC)], description="Conflicts detected and resolved."
    )
    async def conflict_events(
        self, info: Info[Context, None], location_id: LocationArgument = None
    ) -> AsyncIterator[ConflictEvent]:
        return event_stream(info, "conflict", _about(location_id), ConflictEvent.of)

    @strawberry.subscription(
        permission_classes=[requires(Permission.VIEW_BOOKINGS)],
        description="Bookings created, changed, cancelled or rejected; with `locationId`, those served at that "
        "location or booked from it.",
    )
    async def booking_events(
        self, info: Info[Context, None], location_id: LocationArgument = None
    ) -> AsyncIterator[BookingEvent]:
        return event_stream(info, "booking.changed", _about(location_id), BookingEvent.of)

    @strawberry.subscription(permission_classes=[requires(Permission.VIEW_STOCK)], description="Stock levels changed.")
    async def stock_events(
        self,
        info: Info[Context, None],
        low_stock_only: Annotated[
            bool, strawberry.argument(description="Only changes that leave the level at or under its reorder point.")
        ] = False,
        location_id: LocationArgument = None,
    ) -> AsyncIterator[StockEvent]:
        about = _about(location_id)
        if low_stock_only:
            return event_stream(info, "stock.changed", lambda e: bool(e.payload.get("low")) and about(e), StockEvent.of)
        return event_stream(info, "stock.changed", about, StockEvent.of)

    @strawberry.subscription(
        permission_classes=[requires(Permission.VIEW_NETWORK)],
        description="Locations going online, degraded or offline, as the heartbeat finds them.",
    )
    async def location_status_events(
        self, info: Info[Context, None], location_id: LocationArgument = None
    ) -> AsyncIterator[LocationStatusEvent]:
        return event_stream(info, "location.status", _about(location_id), LocationStatusEvent.of)


__all__ = ["Subscription", "SubscriptionEvent"]
