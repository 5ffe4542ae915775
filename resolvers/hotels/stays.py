"""A stay at a hotel: check-in and check-out dates, hotel-local, as the instants a booking holds (check-in at
15:00 on arrival, check-out at 11:00 on departure, the PMS's own times: sources/connectors/pms_payloads.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.engine import Row

from resolvers.context import Context
from resolvers.errors import InvalidInputError, NotFoundError
from sources.cache.models import Location, Resource
from sources.connectors.pms_payloads import stay_bounds
from sources.connectors.pms_payloads import stay_dates as pms_stay_dates

# The longest stay the booking engine books or prices: two weeks, the longest window availability asks for.
MAX_NIGHTS = 14
HOTEL_KIND = "pms"

locations = Location.__table__
resources = Resource.__table__


def stay_window(timezone: str, check_in: date, check_out: date) -> tuple[datetime, datetime]:
    """The stay as UTC instants; INVALID_INPUT unless it lasts 1 to MAX_NIGHTS nights."""
    nights = (check_out - check_in).days
    if nights < 1:
        raise InvalidInputError("check_out must be after check_in", field="check_out")
    if nights > MAX_NIGHTS:
        raise InvalidInputError(f"a stay lasts at most {MAX_NIGHTS} nights", field="check_out")
    return stay_bounds(ZoneInfo(timezone), check_in, check_out)


def stay_dates(timezone: str, start_at: datetime, end_at: datetime) -> tuple[date, date]:
    """The hotel-local check-in and check-out dates of a booking."""
    return pms_stay_dates(ZoneInfo(timezone), start_at, end_at)


def nights_of(timezone: str, start_at: datetime, end_at: datetime) -> int:
    check_in, check_out = stay_dates(timezone, start_at, end_at)
    return max(1, (check_out - check_in).days)


def today_at(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


async def require_hotel(context: Context, hotel_id: str) -> Row[Any]:
    """The hotel's location row: a location of kind `pms`, not retired, with at least one active room, that the
    caller's scope shows; NOT_FOUND otherwise (a salon, a made-up id and a hidden hotel alike)."""
    has_rooms = exists().where(
        resources.c.location_id == locations.c.id, resources.c.kind == "room", resources.c.is_active.is_(True)
    )
    statement = select(locations).where(
        locations.c.id == hotel_id,
        locations.c.kind == HOTEL_KIND,
        locations.c.retired_at.is_(None),
        has_rooms,
        context.scope.locations(),
    )
    async with context.engine.connect() as connection:
        hotel = (await connection.execute(statement)).first()
    if hotel is None:
        raise NotFoundError(f"no hotel has id {hotel_id!r}", id=hotel_id, field="hotel_id")
    return hotel


def span(check_in: date, check_out: date) -> list[date]:
    """The nights of a stay, by the date each begins."""
    return [check_in + timedelta(days=night) for night in range((check_out - check_in).days)]
