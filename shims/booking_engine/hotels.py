"""The hotel's public information, from the cache: GET hotels/{hotel_id}, hotels/{hotel_id}/images,
room-types/{hotel_id} and amenities/{hotel_id}."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from resolvers.hotels import queries
from resolvers.money import from_minor_units
from resolvers.permissions import Permission
from shims.booking_engine.shape import (
    HOTEL_ERRORS,
    KEY_SCHEMA,
    PREFIX,
    TAG,
    TEXT_MAX,
    Success,
    answer,
    caller,
    hotel_of,
)
from shims.common.endpoint import Endpoint, Handler
from sources.connectors.pms_payloads import CHECK_IN_TIME, CHECK_OUT_TIME

AMOUNT_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,3})?$"
LIST_MAX = 500


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M")


class Hotel(BaseModel):
    id: str = Field(max_length=64)
    name: str = Field(max_length=TEXT_MAX)
    status: str = Field(max_length=20)
    town: str = Field(max_length=120)
    timezone: str = Field(max_length=64)
    currency: str = Field(min_length=3, max_length=3)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    tax_rate_percent: str = Field(pattern=AMOUNT_PATTERN)
    check_in_time: str = Field(pattern=r"^\d\d:\d\d$")
    check_out_time: str = Field(pattern=r"^\d\d:\d\d$")


class HotelAnswer(BaseModel):
    hotel: Hotel


class RoomType(BaseModel):
    id: str = Field(max_length=64, description="The room type's id (a service of the hotel)")
    code: str | None = Field(max_length=50)
    name: str = Field(max_length=TEXT_MAX)
    description: str = Field(max_length=1000)
    rate_per_night: str = Field(pattern=AMOUNT_PATTERN)
    currency: str = Field(min_length=3, max_length=3)
    rooms: int = Field(ge=0, le=100_000)
    max_occupancy: int = Field(ge=0, le=1000)


class RoomTypesAnswer(BaseModel):
    hotel_id: str = Field(max_length=64)
    room_types: list[RoomType] = Field(max_length=LIST_MAX)


class Amenity(BaseModel):
    name: str = Field(max_length=1000)
    room_type_ids: list[str] = Field(max_length=LIST_MAX)


class AmenitiesAnswer(BaseModel):
    hotel_id: str = Field(max_length=64)
    amenities: list[Amenity] = Field(max_length=LIST_MAX)


class Image(BaseModel):
    url: str = Field(max_length=2000)
    caption: str = Field(max_length=TEXT_MAX)


class ImagesAnswer(BaseModel):
    hotel_id: str = Field(max_length=64)
    images: list[Image] = Field(max_length=LIST_MAX)


def amount(minor: int, currency: str) -> str:
    return str(from_minor_units(minor, currency))


async def hotel_info(request: Request) -> Response:
    context = await caller(request, Permission.VIEW_NETWORK, anonymous=True)
    hotel = await hotel_of(context, request.path_params["hotel_id"])
    info = Hotel(
        id=hotel.id,
        name=hotel.name,
        status=hotel.status,
        town=hotel.town,
        timezone=hotel.timezone,
        currency=hotel.currency,
        latitude=hotel.latitude,
        longitude=hotel.longitude,
        tax_rate_percent=str(Decimal(hotel.tax_rate_bp).scaleb(-2)),
        check_in_time=_clock(CHECK_IN_TIME),
        check_out_time=_clock(CHECK_OUT_TIME),
    )
    return answer(HotelAnswer(hotel=info))


async def room_types(request: Request) -> Response:
    context = await caller(request, Permission.VIEW_NETWORK, anonymous=True)
    hotel = await hotel_of(context, request.path_params["hotel_id"])
    rooms = await queries.rooms(context, hotel.id)
    listed = [
        RoomType(
            id=row.id,
            code=row.skill,
            name=row.name,
            description=row.description or "",
            rate_per_night=amount(row.price_minor, row.currency),
            currency=row.currency,
            rooms=sum(1 for room in rooms if room.skill == row.skill),
            max_occupancy=max((room.capacity for room in rooms if room.skill == row.skill), default=0),
        )
        for row in await queries.room_types(context, hotel.id)
    ]
    return answer(RoomTypesAnswer(hotel_id=hotel.id, room_types=listed))


async def amenities(request: Request) -> Response:
    context = await caller(request, Permission.VIEW_NETWORK, anonymous=True)
    hotel = await hotel_of(context, request.path_params["hotel_id"])
    found = queries.amenities_of(await queries.room_types(context, hotel.id))
    listed = [Amenity(name=item.name, room_type_ids=item.room_type_ids) for item in found]
    return answer(AmenitiesAnswer(hotel_id=hotel.id, amenities=listed))


async def images(request: Request) -> Response:
    context = await caller(request, Permission.VIEW_NETWORK, anonymous=True)
    hotel = await hotel_of(context, request.path_params["hotel_id"])
    # Neither the cache nor the PMS API holds pictures: the list is honest, and empty.
    return answer(ImagesAnswer(hotel_id=hotel.id, images=[]))


def public_get(path: str, handler: Handler, summary: str, model: type[BaseModel], **more: Any) -> Endpoint:
    refusals = {403: "FORBIDDEN: the role may not read the catalogue", 404: "HOTEL_NOT_FOUND: no hotel has that id"}
    return Endpoint(
        method="GET",
        path=f"{PREFIX}/{path}",
        handler=handler,
        errors=HOTEL_ERRORS,
        summary=summary,
        tag=TAG,
        response_model=Success[model],  # type: ignore[valid-type]
        refusals={**refusals, **more.pop("refusals", {})},
        security=["bearer"],
        path_schemas={"hotel_id": KEY_SCHEMA},
        description="Anonymous callers are served when the gateway's public availability is on.",
        **more,
    )


def endpoints() -> list[Endpoint]:
    return [
        public_get("hotels/{hotel_id}", hotel_info, "The hotel: name, place, currency, check-in times", HotelAnswer),
        public_get("hotels/{hotel_id}/images", images, "The hotel's pictures", ImagesAnswer),
        public_get("room-types/{hotel_id}", room_types, "The hotel's room types and rates", RoomTypesAnswer),
        public_get("amenities/{hotel_id}", amenities, "What the hotel's rooms have", AmenitiesAnswer),
    ]
