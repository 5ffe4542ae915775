"""What a stay costs and which rooms are free for it: GET pricing (from the cache) and availability (asked of
the hotel live, as every availability is)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import Response

from resolvers.errors import NotFoundError
from resolvers.hotels import queries
from resolvers.hotels.stays import MAX_NIGHTS
from resolvers.permissions import Permission
from shims.booking_engine.hotels import AMOUNT_PATTERN, LIST_MAX, amount, public_get
from shims.booking_engine.shape import INVALID, KEY_PATTERN, TEXT_MAX, answer, caller, hotel_of
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_query
from shims.common.refusal import Refusal

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
# JSON Schema has no bounds for a date: the document gives a date of 2000-2099 as a pattern instead of a format
# (only 29 February is left out of it, and accepted all the same), so a client and a fuzzer see the bounds.
DATE_PATTERN = (
    r"^20[0-9]{2}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))$"
)


def _date_document(schema: dict[str, Any]) -> None:
    for variant in [schema, *schema.get("anyOf", [])]:
        if variant.get("format") == "date":
            del variant["format"]
            variant["pattern"] = DATE_PATTERN


def bounded_date(description: str = "", **more: Any) -> Any:
    """A date field within EARLIEST..LATEST, the bounds in the document too."""
    return Field(ge=EARLIEST, le=LATEST, description=description, json_schema_extra=_date_document, **more)


class StayQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check_in: date = bounded_date("Arrival, hotel-local (YYYY-MM-DD)")
    check_out: date = bounded_date(f"Departure, 1 to {MAX_NIGHTS} nights later")

    @model_validator(mode="after")
    def _nights(self) -> StayQuery:
        nights = (self.check_out - self.check_in).days
        if not 1 <= nights <= MAX_NIGHTS:
            raise ValueError(f"check_out must be 1 to {MAX_NIGHTS} nights after check_in")
        return self


class AvailabilityQuery(StayQuery):
    guests: int = Field(default=1, ge=1, le=20, description="Guests sharing one room")
    room_type: str | None = Field(default=None, pattern=KEY_PATTERN, description="Only this room type")


class Price(BaseModel):
    room_type_id: str = Field(max_length=64)
    name: str = Field(max_length=TEXT_MAX)
    rate_per_night: str = Field(pattern=AMOUNT_PATTERN)
    nights: int = Field(ge=1, le=MAX_NIGHTS + 1)
    total: str = Field(pattern=AMOUNT_PATTERN)
    currency: str = Field(min_length=3, max_length=3)


class PricingAnswer(BaseModel):
    hotel_id: str = Field(max_length=64)
    check_in: date
    check_out: date
    tax_included: bool = True
    room_types: list[Price] = Field(max_length=LIST_MAX)


class FreeRoom(BaseModel):
    room_id: str = Field(max_length=64)
    name: str = Field(max_length=TEXT_MAX)
    max_occupancy: int = Field(ge=0, le=1000)


class RoomTypeAvailability(Price):
    available_count: int = Field(ge=0, le=100_000)
    available_rooms: list[FreeRoom] = Field(max_length=LIST_MAX)


class AvailabilityAnswer(BaseModel):
    hotel_id: str = Field(max_length=64)
    check_in: date
    check_out: date
    guests: int = Field(ge=1, le=20)
    source: str = Field(max_length=10, description="Always `live`: the hotel was asked just now")
    room_types: list[RoomTypeAvailability] = Field(max_length=LIST_MAX)


def _price(price: queries.RoomTypePrice) -> Price:
    row = price.room_type
    return Price(
        room_type_id=row.id,
        name=row.name,
        rate_per_night=amount(row.price_minor, row.currency),
        nights=price.nights,
        total=amount(price.total_minor, row.currency),
        currency=row.currency,
    )


async def pricing(request: Request) -> Response:
    context = await caller(request, Permission.VIEW_NETWORK, anonymous=True)
    hotel = await hotel_of(context, request.path_params["hotel_id"])
    stay = parse_query(request, StayQuery, code=INVALID)
    prices = await queries.pricing(context, hotel, stay.check_in, stay.check_out)
    return answer(
        PricingAnswer(
            hotel_id=hotel.id,
            check_in=stay.check_in,
            check_out=stay.check_out,
            room_types=[_price(price) for price in prices],
        )
    )


async def availability(request: Request) -> Response:
    context = await caller(request, Permission.VIEW_AVAILABILITY, anonymous=True)
    hotel = await hotel_of(context, request.path_params["hotel_id"])
    asked = parse_query(request, AvailabilityQuery, code=INVALID)
    try:
        found = await queries.availability(
            context, hotel, asked.check_in, asked.check_out, guests=asked.guests, room_type_id=asked.room_type
        )
    except NotFoundError as error:
        raise Refusal(404, "ROOM_TYPE_NOT_FOUND", error.message) from None
    listed = [
        RoomTypeAvailability(
            **_price(item.price).model_dump(),
            available_count=len(item.rooms),
            available_rooms=[FreeRoom(room_id=r.id, name=r.name, max_occupancy=r.capacity) for r in item.rooms],
        )
        for item in found
    ]
    return answer(
        AvailabilityAnswer(
            hotel_id=hotel.id,
            check_in=asked.check_in,
            check_out=asked.check_out,
            guests=asked.guests,
            source="live",
            room_types=listed,
        )
    )


def endpoints() -> list[Endpoint]:
    return [
        public_get(
            "availability/{hotel_id}",
            availability,
            "Rooms free for a stay, by room type, as the hotel says now",
            AvailabilityAnswer,
            query_model=AvailabilityQuery,
            refusals={
                404: "HOTEL_NOT_FOUND; ROOM_TYPE_NOT_FOUND: the hotel has no such room type",
                503: "LOCATION_UNAVAILABLE: the hotel cannot be asked now",
            },
        ),
        public_get(
            "hotels/{hotel_id}/pricing",
            pricing,
            "What a stay costs in each room type",
            PricingAnswer,
            query_model=StayQuery,
        ),
    ]
