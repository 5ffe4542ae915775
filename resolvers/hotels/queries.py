"""What a hotel offers, from the cache, and which of its rooms are free for a stay, asked live through the
pooled availability every other location answers (resolvers/availability)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row

from resolvers.availability.queries import AvailabilityQuery, LocationSlots, pooled_availability
from resolvers.bookings.slots import booked_end
from resolvers.context import Context
from resolvers.errors import LocationUnavailableError, NotFoundError
from resolvers.hotels.stays import stay_window
from resolvers.scope import scoped
from sources.cache.models import Resource, Service

services = Service.__table__
resources = Resource.__table__
# Every free room a hotel names for a stay: far more than any hotel of the demo has.
ROOMS_ASKED = 500


@dataclass(frozen=True, slots=True)
class Amenity:
    name: str
    room_type_ids: list[str]


@dataclass(frozen=True, slots=True)
class RoomTypePrice:
    room_type: Row[Any]
    nights: int
    total_minor: int


@dataclass(frozen=True, slots=True)
class RoomTypeAvailability:
    price: RoomTypePrice
    rooms: list[Row[Any]]  # free for the whole stay, and big enough for the guests


async def room_types(context: Context, hotel_id: str, *, active_only: bool = True) -> list[Row[Any]]:
    """The hotel's room types (its services), cheapest first."""
    statement = scoped(select(services), context.scope.services()).where(services.c.location_id == hotel_id)
    if active_only:
        statement = statement.where(services.c.is_active.is_(True))
    async with context.engine.connect() as connection:
        rows = (await connection.execute(statement.order_by(services.c.price_minor, services.c.id))).all()
    return list(rows)


async def room_type(context: Context, hotel_id: str, room_type_id: str) -> Row[Any]:
    for row in await room_types(context, hotel_id):
        if row.id == room_type_id:
            return row
    raise NotFoundError(f"the hotel has no room type {room_type_id!r}", id=room_type_id, field="room_type_id")


async def rooms(context: Context, hotel_id: str) -> list[Row[Any]]:
    statement = scoped(select(resources), context.scope.resources()).where(
        resources.c.location_id == hotel_id, resources.c.kind == "room", resources.c.is_active.is_(True)
    )
    async with context.engine.connect() as connection:
        return list((await connection.execute(statement.order_by(resources.c.name, resources.c.id))).all())


def amenities_of(types: list[Row[Any]]) -> list[Amenity]:
    """What the rooms have: the features each room type's description lists (comma-separated), with the room
    types that have each, in the order first named."""
    found: dict[str, list[str]] = {}
    for row in types:
        for feature in (part.strip() for part in (row.description or "").split(",")):
            if feature and row.id not in found.setdefault(feature, []):
                found[feature].append(row.id)
    return [Amenity(name, ids) for name, ids in found.items()]


def price_of(row: Row[Any], start_at: datetime, end_at: datetime) -> RoomTypePrice:
    """A stay's price as createBooking would charge it (resolvers.bookings.slots.booked_end)."""
    _, periods = booked_end(row, start_at, end_at)
    return RoomTypePrice(row, periods, row.price_minor * periods)


async def pricing(context: Context, hotel: Row[Any], check_in: date, check_out: date) -> list[RoomTypePrice]:
    start_at, end_at = stay_window(hotel.timezone, check_in, check_out)
    return [price_of(row, start_at, end_at) for row in await room_types(context, hotel.id)]


async def availability(
    context: Context,
    hotel: Row[Any],
    check_in: date,
    check_out: date,
    *,
    guests: int = 1,
    room_type_id: str | None = None,
) -> list[RoomTypeAvailability]:
    """Each room type's rooms free for the whole stay, as the hotel says now; LOCATION_UNAVAILABLE when it
    cannot say (availability is never answered from the cache)."""
    start_at, end_at = stay_window(hotel.timezone, check_in, check_out)
    types = await room_types(context, hotel.id)
    if room_type_id is not None:
        types = [row for row in types if row.id == room_type_id]
        if not types:
            raise NotFoundError(f"the hotel has no room type {room_type_id!r}", id=room_type_id, field="room_type")
    answers: list[list[LocationSlots]] = await asyncio.gather(
        *(
            pooled_availability(
                context,
                AvailabilityQuery(
                    service_id=row.id,
                    category=None,
                    start_at=start_at,
                    end_at=end_at,
                    limit_per_location=ROOMS_ASKED,
                ),
            )
            for row in types
        )
    )
    by_local_id = {room.local_resource_id: room for room in await rooms(context, hotel.id)}
    result: list[RoomTypeAvailability] = []
    for row, answer in zip(types, answers, strict=True):
        here = [slots for slots in answer if slots.location.id == hotel.id]
        failed = [slots.error for slots in here if slots.error is not None]
        if failed or not here:
            raise LocationUnavailableError(f"{hotel.name} cannot say what is free: {', '.join(failed) or 'not asked'}")
        free_ids = {slot.local_resource_id for slot in here[0].slots}
        free = [by_local_id[i] for i in sorted(free_ids) if i in by_local_id and by_local_id[i].capacity >= guests]
        result.append(RoomTypeAvailability(price_of(row, start_at, end_at), free))
    return result
