"""`availability`: free slots pooled across locations, asked live from the locations that own them."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.availability.queries import AvailabilityQuery, LocationSlots, pooled_availability
from resolvers.catalog.loaders import ResourceByLocalIdLoader
from resolvers.ids import key_of
from resolvers.loading import load_now
from resolvers.locations.nearby import GeoPoint
from schema.bookings.booking_create import GeoPointInput
from schema.catalog.types import Resource, Service
from schema.locations.types import Location, location_by_id
from schema.permissions import Permission, requires


@strawberry.enum(description="Where a location's part of an answer came from.")
class DataSource(Enum):
    LIVE = strawberry.enum_value("live", description="Asked from the location just now.")
    UNAVAILABLE = strawberry.enum_value("unavailable", description="The location could not be asked; see `error`.")


@strawberry.input(description="What to find free slots for, when, and how far away. Give serviceId or category.")
class AvailabilityInput:
    service_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of one service: only its location is asked."
    )
    category: str | None = strawberry.field(
        default=None, description="Without serviceId: every active service of this catalogue category, everywhere."
    )
    start: datetime = strawberry.field(
        name="from", description="Window start, with a timezone offset; slots already begun are left out."
    )
    end: datetime = strawberry.field(
        name="to", description="Window end, with a timezone offset; in the future, at most 14 days after `from`."
    )
    near: GeoPointInput | None = strawberry.field(
        default=None, description="Where the customer is: locations are then sorted nearest first and cut by distance."
    )
    max_distance_km: float = strawberry.field(
        default=50.0, description="With `near`: leave out locations farther than this, in km."
    )
    limit_per_location: int = strawberry.field(
        default=50, description="At most this many slots per location and service, earliest first (1 to 500)."
    )


@strawberry.type(description="A free start time for a service on one resource.")
class AvailableSlot:
    start_at: datetime = strawberry.field(description="When the booking would start.")
    end_at: datetime = strawberry.field(description="When it would end.")
    location_id: strawberry.Private[str]
    local_resource_id: strawberry.Private[str]

    @strawberry.field(
        graphql_type=Resource | None,
        description="The staff member, room or equipment that is free (possibly lent in from another location); "
        "null when the cache does not know it yet.",
    )
    def resource(self, info: Info) -> Resource | Awaitable[Resource | None] | None:
        loader = info.context.loaders.get(ResourceByLocalIdLoader)
        return load_now(loader, (self.location_id, self.local_resource_id), _resource_or_none)


def _resource_or_none(row: object) -> Resource | None:
    return None if row is None else Resource.from_row(row)


@strawberry.type(description="One location's free slots for one of its services, as the location gave them.")
class LocationAvailability:
    distance_km: float | None = strawberry.field(description="Distance from `near` in km; null without `near`.")
    source: DataSource = strawberry.field(description="LIVE, or UNAVAILABLE when the location could not be asked.")
    error: str | None = strawberry.field(description="What failed when the location could not be asked.")
    slots: list[AvailableSlot] = strawberry.field(
        description="Free slots, earliest first, at most `limitPerLocation`; empty when UNAVAILABLE."
    )
    total_available: int = strawberry.field(
        description="How many free slots the location reported, before `limitPerLocation` was applied."
    )
    location_id: strawberry.Private[str]
    service_row: strawberry.Private[object]

    @strawberry.field(graphql_type=Location, description="The location asked.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_id)

    @strawberry.field(description="The location's service the slots are for.")
    def service(self) -> Service:
        return Service.from_row(self.service_row)

    @classmethod
    def of(cls, answer: LocationSlots) -> LocationAvailability:
        location_id = answer.location.id
        return cls(
            distance_km=answer.distance_km,
            source=DataSource.UNAVAILABLE if answer.error is not None else DataSource.LIVE,
            error=answer.error,
            slots=[
                AvailableSlot(
                    start_at=slot.start_at,
                    end_at=slot.end_at,
                    location_id=location_id,
                    local_resource_id=slot.local_resource_id,
                )
                for slot in answer.slots
            ],
            total_available=answer.found,
            location_id=location_id,
            service_row=answer.service,
        )


@strawberry.type(description="Free slots pooled across the network's locations.")
class PooledAvailability:
    locations: list[LocationAvailability] = strawberry.field(
        description="Best first: nearest first with `near` (then most slots, then location id), else most slots "
        "first. A location offering several services of the category appears once per service."
    )

    @strawberry.field(description="How many slots `locations` holds altogether.")
    def total_slots(self) -> int:
        return sum(len(entry.slots) for entry in self.locations)


@strawberry.type
class AvailabilityQueries:
    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_AVAILABILITY)],
        description="Free slots for a service, or for a category across locations, asked live from every location "
        "that owns them, in parallel. A location that cannot be asked is reported UNAVAILABLE; OneBooking "
        "source websites cannot report availability and are left out.",
    )
    async def availability(
        self,
        info: Info,
        input: Annotated[AvailabilityInput, strawberry.argument(description="What, when and where.")],
    ) -> PooledAvailability:
        near = input.near
        query = AvailabilityQuery(
            service_id=None if input.service_id is None else key_of(str(input.service_id), "Service", "serviceId"),
            category=input.category,
            start_at=input.start,
            end_at=input.end,
            near=None if near is None else GeoPoint(latitude=near.latitude, longitude=near.longitude),
            max_distance_km=input.max_distance_km,
            limit_per_location=input.limit_per_location,
        )
        answers = await pooled_availability(info.context, query)
        return PooledAvailability(locations=[LocationAvailability.of(answer) for answer in answers])
