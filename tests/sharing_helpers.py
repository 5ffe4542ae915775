"""A loan in the demo network for tests of sharing rules: a resource one BookingX location lends another, the
services that book it at both, and days far from the demo's bookings, on the owner's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clock import session_instant
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conftest import RunningGateway
from sources.cache.models import Booking, Location, Resource, ResourceShare, Service

# The demo's bookings fall within 60 days of the session's instant; these days are all after them.
FIRST_DAY_AHEAD = 63


@dataclass(frozen=True)
class DemoLoan:
    resource: str  # network key of the lent resource
    local_resource: str  # how its owner knows it
    owner: str
    borrower: str
    zone: ZoneInfo  # the owner's
    borrower_service: str  # network key of the shortest service at the borrower the resource delivers
    owner_service: str  # the same service at the owner
    duration: timedelta
    borrower_staff: tuple[str, ...]  # the borrower's own resources with the same skill

    def at(self, day: date, hh_mm: str) -> datetime:
        """The instant of `hh_mm` on `day` on the owner's clock."""
        return datetime.combine(day, time.fromisoformat(hh_mm), tzinfo=self.zone)


def tuesday(week: int) -> date:
    """The Tuesday of the `week`-th ISO week after the demo's bookings (every demo location is open on Tuesdays)."""
    day = (session_instant().astimezone(UTC) + timedelta(days=FIRST_DAY_AHEAD)).date()
    return day + timedelta(days=(1 - day.weekday()) % 7 + 7 * week)


async def _find(gateway: RunningGateway) -> DemoLoan:
    async with AsyncSession(gateway.engine) as connection:
        bookingx = set((await connection.execute(select(Location.id).where(Location.kind == "bookingx"))).scalars())
        rows = (
            await connection.execute(
                select(Resource, ResourceShare.location_id, Location.timezone)
                .join(ResourceShare, ResourceShare.resource_id == Resource.id)
                .join(Location, Location.id == Resource.location_id)
                .where(ResourceShare.is_active, Resource.is_active, Resource.kind == "staff")
                .order_by(Resource.id, ResourceShare.location_id)
            )
        ).all()
        services = (await connection.execute(select(Service).where(Service.is_active))).scalars().all()
        resources = (await connection.execute(select(Resource).where(Resource.is_active))).scalars().all()
    for resource, borrower, timezone in rows:
        if resource.location_id not in bookingx or borrower not in bookingx:
            continue

        def shortest(location_id: str, skill: Any = resource.skill) -> Service | None:
            offered = [s for s in services if s.location_id == location_id and s.skill == skill]
            return min(offered, key=lambda s: (s.duration_minutes, s.id), default=None)

        at_borrower, at_owner = shortest(borrower), shortest(resource.location_id)
        if at_borrower is None or at_owner is None or at_borrower.duration_minutes > 60:
            continue
        staff = tuple(sorted(r.id for r in resources if r.location_id == borrower and r.skill == resource.skill))
        return DemoLoan(
            resource=resource.id,
            local_resource=resource.local_resource_id,
            owner=resource.location_id,
            borrower=borrower,
            zone=ZoneInfo(timezone),
            borrower_service=at_borrower.id,
            owner_service=at_owner.id,
            duration=timedelta(minutes=at_borrower.duration_minutes),
            borrower_staff=staff,
        )
    raise AssertionError("the demo lends no staff between two BookingX locations")


def demo_loan(gateway: RunningGateway) -> DemoLoan:
    return gateway.run(_find(gateway))


async def _bookings_of(gateway: RunningGateway, resource_id: str) -> list[tuple[str, datetime, str]]:
    async with gateway.engine.connect() as connection:
        rows = await connection.execute(
            select(Booking.id, Booking.start_at, Booking.status)
            .where(Booking.resource_id == resource_id)
            .order_by(Booking.id)
        )
        return [(row.id, row.start_at, row.status) for row in rows]


def bookings_of(gateway: RunningGateway, resource_id: str) -> list[tuple[str, datetime, str]]:
    """Every booking of the resource in the cache: (id, start, status)."""
    return gateway.run(_bookings_of(gateway, resource_id))


def booked(payload: dict[str, Any]) -> str:
    """The id of the booking a createBooking payload made, delivered to its location."""
    assert payload["errors"] == [], payload
    assert [outcome["status"] for outcome in payload["outcomes"]] == ["DELIVERED"], payload
    booking_id: str = payload["booking"]["id"]
    return booking_id


def refused_naming(payload: dict[str, Any], rule: str) -> None:
    """The write was refused, SLOT_UNAVAILABLE at `startAt` naming the sharing rule, and went nowhere."""
    [error] = payload["errors"]
    assert payload["outcomes"] == [] and not payload.get("booking"), payload
    assert (error["code"], error["field"], error["sharingRule"]) == ("SLOT_UNAVAILABLE", "startAt", rule.upper())
    assert f"`{rule}`" in error["message"]
