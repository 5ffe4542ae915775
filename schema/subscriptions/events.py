"""The events subscribers receive, one GraphQL type per bus topic, built from the bus's payloads."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.bookings.vocabulary import BookingChange, BookingStatus
from resolvers.event_streams import Event
from resolvers.ids import to_global_id
from resolvers.loading import load_now
from schema.bookings.types import Booking
from schema.enums import graphql_enum
from schema.inventory.types import StockItem
from schema.locations.types import Location, LocationStatus, location_by_id


def _id(type_name: str, key: str) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, key))


def _location_id(key: str | None) -> strawberry.ID | None:
    return None if key is None else _id("Location", key)


def _location_status(value: Any) -> LocationStatus | None:
    try:
        return LocationStatus(value)
    except ValueError:
        return None  # "unknown" (never seen before) or a status this schema does not name


def _booking_status(value: Any) -> BookingStatus | None:
    return None if value is None else BookingStatus(value)


graphql_enum(
    BookingChange,
    "What happened to a booking.",
    {
        BookingChange.CREATED: "New: its location confirmed one made through the gateway, or one made there arrived.",
        BookingChange.REJECTED: "Its location refused a booking made through the gateway; the booking is gone.",
        BookingChange.RESCHEDULED: "Its location took a new time or resource.",
        BookingChange.CANCELLED: "Its location took a cancellation.",
        BookingChange.CHANGE_REJECTED: "Its location refused a reschedule or cancellation; it is as it was.",
        BookingChange.SYNCED: "A change made at its location reached the gateway (pull, webhook or push).",
        BookingChange.DELETED: "Its location no longer has it (found by a full sync).",
        BookingChange.RESOLVED: "A conflict about it was settled.",
        BookingChange.RESTORED: "A rollback brought it back after a sync deleted it.",
        BookingChange.ROLLED_BACK: "A rollback undid a sync's change to it.",
    },
)


@strawberry.interface(description="What every subscription event carries.")
class SubscriptionEvent:
    occurred_at: datetime = strawberry.field(description="When the change happened (when it was published).")
    missed_events: int = strawberry.field(
        description="Events this subscription lost just before this one because it read too slowly (its queue "
        "was full and the oldest were dropped); 0 normally."
    )


@strawberry.enum(description="A step of a sync job.")
class SyncEventPhase(Enum):
    STARTED = strawberry.enum_value("started", description="The job began.")
    PROGRESS = strawberry.enum_value("progress", description="A batch or an entity type was done; counts so far.")
    COMPLETED = strawberry.enum_value("completed", description="The job finished.")
    FAILED = strawberry.enum_value("failed", description="The job stopped on an error (see `error`).")
    ROLLED_BACK = strawberry.enum_value("rolled_back", description="The job's changes were undone.")


@strawberry.type(description="A sync job's progress.")
class SyncEvent(SubscriptionEvent):
    job_id: strawberry.ID = strawberry.field(description="The sync job.")
    location_id: strawberry.ID = strawberry.field(description="The location being synced.")
    phase: SyncEventPhase = strawberry.field(description="Which step of the job this is.")
    entity_type: str | None = strawberry.field(description="The entity type being pulled, when one is.")
    pulled: int = strawberry.field(description="Changes read from the location so far.")
    applied: int = strawberry.field(description="Changes applied to the cache so far.")
    conflicts: int = strawberry.field(description="Conflicts found so far.")
    errors: int = strawberry.field(description="Errors so far.")
    error: str | None = strawberry.field(description="Why the job failed, for FAILED.")

    @classmethod
    def of(cls, event: Event) -> SyncEvent:
        p = event.payload
        return cls(
            occurred_at=event.occurred_at,
            missed_events=event.missed,
            job_id=_id("SyncJob", str(p["jobId"])),
            location_id=_id("Location", p["locationId"]),
            phase=SyncEventPhase(p["phase"]),
            entity_type=p.get("entityType"),
            pulled=int(p.get("pulled") or 0),
            applied=int(p.get("applied") or 0),
            conflicts=int(p.get("conflicts") or 0),
            errors=int(p.get("errors") or 0),
            error=p.get("error"),
        )


@strawberry.enum(description="What happened to a conflict.")
class ConflictEventPhase(Enum):
    DETECTED = strawberry.enum_value("detected", description="Two concurrent changes were found.")
    RESOLVED = strawberry.enum_value("resolved", description="It was settled, by its strategy or by a person.")


@strawberry.type(description="A conflict detected or resolved.")
class ConflictEvent(SubscriptionEvent):
    conflict_id: strawberry.ID = strawberry.field(description="The conflict.")
    phase: ConflictEventPhase = strawberry.field(description="Detected or resolved.")
    conflict_type: str = strawberry.field(description="What kind of conflict, e.g. concurrent update or overlap.")
    entity_type: str = strawberry.field(description="The kind of entity, e.g. booking or customer.")
    entity_id: str = strawberry.field(description="The entity's network-wide key.")
    source_location_id: strawberry.ID = strawberry.field(description="Where the conflicting change came from.")
    target_location_id: strawberry.ID | None = strawberry.field(description="The other location involved, if any.")
    strategy: str | None = strawberry.field(description="hub_wins, node_wins, newest or manual, once decided.")
    status: str = strawberry.field(description="The conflict's status, e.g. pending or resolved.")

    @classmethod
    def of(cls, event: Event) -> ConflictEvent:
        p = event.payload
        return cls(
            occurred_at=event.occurred_at,
            missed_events=event.missed,
            conflict_id=_id("Conflict", str(p["conflictId"])),
            phase=ConflictEventPhase(p["phase"]),
            conflict_type=p["conflictType"],
            entity_type=p["entityType"],
            entity_id=str(p["entityId"]),
            source_location_id=_id("Location", p["sourceLocationId"]),
            target_location_id=_location_id(p.get("targetLocationId")),
            strategy=p.get("strategy"),
            status=p["status"],
        )


@strawberry.type(description="A booking was created, changed, cancelled or rejected.")
class BookingEvent(SubscriptionEvent):
    booking_id: strawberry.ID = strawberry.field(description="The booking.")
    change: BookingChange = strawberry.field(description="What happened to it.")
    status: BookingStatus | None = strawberry.field(
        description="Its status after the change, as `Booking.status`; null for REJECTED (it never existed at its "
        "location)."
    )
    service_location_id: strawberry.ID = strawberry.field(description="Where the service is delivered.")
    originating_location_id: strawberry.ID | None = strawberry.field(description="Where it was booked.")
    booking_key: strawberry.Private[str]

    @classmethod
    def of(cls, event: Event) -> BookingEvent:
        p = event.payload
        return cls(
            occurred_at=event.occurred_at,
            missed_events=event.missed,
            booking_id=_id("Booking", p["bookingId"]),
            change=BookingChange(p["change"]),
            status=_booking_status(p.get("status")),
            service_location_id=_id("Location", p["serviceLocationId"]),
            originating_location_id=_location_id(p.get("originatingLocationId")),
            booking_key=p["bookingId"],
        )

    @strawberry.field(description="The booking as the cache has it now; null when it no longer exists.")
    async def booking(self, info: Info) -> Booking | None:
        row = await info.context.loaders.booking_by_id.load(self.booking_key)
        return None if row is None else Booking.from_row(row)


@strawberry.type(description="An item's stock changed at a location.")
class StockEvent(SubscriptionEvent):
    item_id: strawberry.ID = strawberry.field(description="The stock item.")
    location_id: strawberry.ID = strawberry.field(description="The location holding it.")
    quantity: int = strawberry.field(description="Units on hand.")
    reserved: int = strawberry.field(description="Units promised to bookings or transfers.")
    available: int = strawberry.field(description="Units free to use: quantity minus reserved.")
    low: bool = strawberry.field(description="Available is at or under the reorder point.")
    item_key: strawberry.Private[str]

    @classmethod
    def of(cls, event: Event) -> StockEvent:
        p = event.payload
        quantity, reserved = int(p["quantity"]), int(p["reserved"])
        return cls(
            occurred_at=event.occurred_at,
            missed_events=event.missed,
            item_id=_id("StockItem", p["itemId"]),
            location_id=_id("Location", p["locationId"]),
            quantity=quantity,
            reserved=reserved,
            available=quantity - reserved,
            low=bool(p["low"]),
            item_key=p["itemId"],
        )

    @strawberry.field(graphql_type=StockItem | None, description="The item.")
    def item(self, info: Info) -> StockItem | Awaitable[StockItem | None] | None:
        return load_now(info.context.loaders.stock_item_by_id, self.item_key, _stock_item_or_none)


def _stock_item_or_none(row: Any) -> StockItem | None:
    return None if row is None else StockItem.from_row(row)


@strawberry.type(description="The gateway found a location online, degraded or offline.")
class LocationStatusEvent(SubscriptionEvent):
    location_id: strawberry.ID = strawberry.field(description="The location.")
    previous: LocationStatus | None = strawberry.field(description="Its status before; null when unknown.")
    status: LocationStatus = strawberry.field(description="Its status now.")
    location_key: strawberry.Private[str]

    @classmethod
    def of(cls, event: Event) -> LocationStatusEvent:
        p = event.payload
        return cls(
            occurred_at=event.occurred_at,
            missed_events=event.missed,
            location_id=_id("Location", p["locationId"]),
            previous=_location_status(p.get("previous")),
            status=LocationStatus(p["status"]),
            location_key=p["locationId"],
        )

    @strawberry.field(graphql_type=Location, description="The location as the cache has it now.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_key)
