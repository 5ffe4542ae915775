"""Claiming a resource for a time range in the cache: the rule that a slot is never booked twice, and that a
resource lent in is booked only within its sharing rules (resolvers/catalog/loans.py).

On PostgreSQL the candidate resources are locked (FOR UPDATE, in id order so two
claims never deadlock) before the overlap check, so competing claims queue per
resource; on SQLite the cache writer already runs one write transaction at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.bookings.vocabulary import ACTIVE_BOOKING_STATUSES
from resolvers.catalog.loans import loans_at
from resolvers.clock import utc_now
from resolvers.errors import InvalidInputError, SlotUnavailableError
from sources.cache.models import Booking, Location, Resource, ResourceShare, Service


def local_resource_ref(resource: Resource, location_id: str) -> str:
    """How the location knows the resource: its own id for its own, the network id for one lent in."""
    return resource.local_resource_id if resource.location_id == location_id else resource.id


# The longest booking a service may be stretched to (a hotel stay of many nights).
LONGEST_BOOKING = timedelta(days=60)


class Timed(Protocol):
    """What booked_end needs of a service: a Service, or a row of the services table."""

    @property
    def name(self) -> str: ...

    @property
    def duration_minutes(self) -> int: ...


def booked_end(service: Timed, start_at: datetime, end_at: datetime | None) -> tuple[datetime, int]:
    """When a booking of the service from `start_at` ends, and how many of the service's prices it costs: the
    service's duration once, or until `end_at` when asked, one more price per day added beyond the duration (a
    stay's nights, the clocks changing included)."""
    duration = timedelta(minutes=service.duration_minutes)
    if end_at is None:
        return start_at + duration, 1
    if end_at < start_at + duration:
        raise InvalidInputError(f"{service.name} lasts at least {service.duration_minutes} minutes", field="endAt")
    if end_at - start_at > LONGEST_BOOKING:
        raise InvalidInputError(f"a booking lasts at most {LONGEST_BOOKING.days} days", field="endAt")
    return end_at, 1 + round((end_at - start_at - duration) / timedelta(days=1))


def within_opening_hours(location: Location, start: datetime, end: datetime) -> bool:
    hours: Any = location.opening_hours
    if not hours:
        return True
    zone = ZoneInfo(location.timezone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    today = hours[local_start.weekday()]
    if today is None or local_start.date() != (local_end - timedelta(microseconds=1)).date():
        return False
    midnight = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(hours=today[0]) <= local_start and local_end <= midnight + timedelta(hours=today[1])


async def eligible_resources(session: AsyncSession, service: Service, location_id: str) -> list[Resource]:
    """Active resources with the service's skill, owned by the location or lent to it."""
    lent_in = select(ResourceShare.resource_id).where(ResourceShare.location_id == location_id, ResourceShare.is_active)
    statement = select(Resource).where(
        Resource.is_active,
        or_(Resource.location_id == location_id, Resource.id.in_(lent_in)),
    )
    if service.skill is not None:
        statement = statement.where(Resource.skill == service.skill)
    return list((await session.execute(statement.order_by(Resource.id))).scalars())


async def claim_resource(
    session: AsyncSession,
    candidates: Sequence[Resource],
    location_id: str,
    start: datetime,
    end: datetime,
    *,
    lock_rows: bool,
    ignore_booking_id: str | None = None,
) -> Resource:
    """The first candidate free for [start, end) that the location may book then (a resource lent in only
    within its sharing rules); raises SlotUnavailableError when none is, naming the rule when a free resource
    was refused by one."""
    if not candidates:
        raise SlotUnavailableError("no resource here can deliver this service")
    ids = sorted(resource.id for resource in candidates)
    if lock_rows:
        await session.execute(select(Resource.id).where(Resource.id.in_(ids)).order_by(Resource.id).with_for_update())
    overlapping = select(Booking.resource_id).where(
        Booking.resource_id.in_(ids),
        Booking.status.in_(ACTIVE_BOOKING_STATUSES),
        Booking.start_at < end,
        Booking.end_at > start,
    )
    if ignore_booking_id is not None:
        overlapping = overlapping.where(Booking.id != ignore_booking_id)
    busy = set((await session.execute(overlapping)).scalars())
    free = [resource for resource in sorted(candidates, key=lambda r: r.id) if resource.id not in busy]
    # Read under the lock, so two borrowers' claims cannot both take the last hours of a weekly maximum.
    loans = await loans_at(
        session, [location_id], start, end, resource_ids=[r.id for r in free], ignore_booking_id=ignore_booking_id
    )
    now = utc_now()
    refusals = []
    for resource in free:
        loan = loans.get((location_id, resource.id))
        refused = None if loan is None else loan.refused(start, end, now)
        if refused is None:
            return resource
        refusals.append(refused)
    if refusals:
        raise refusals[0]
    if len(candidates) == 1:
        raise SlotUnavailableError(f"{candidates[0].name} is already booked then", resourceId=candidates[0].id)
    raise SlotUnavailableError("everyone who can deliver this service is booked then")
