"""Resources lent in to a location, with what it takes to judge a booking of them: the terms, the owner's
timezone, and the borrower's bookings of them around the time asked about.

Availability (slots offered) and the booking writes (resolvers/bookings/slots.py, under the claim's lock)
both ask `loans_at` and then `Loan.refused`, so a slot a borrower is shown is one it may book.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from resolvers.bookings.vocabulary import ACTIVE_BOOKING_STATUSES
from resolvers.catalog.sharing_rules import Refusal, SharingTerms, refusal, stored_terms
from resolvers.errors import SlotUnavailableError
from sources.cache.models import Booking, Location, Resource, ResourceShare

# Every ISO week a booking touches starts less than this before it and ends less than this after it.
WEEK_REACH = timedelta(days=8)


@dataclass(frozen=True, slots=True)
class Loan:
    """A resource lent in to a location (the borrower) and everything needed to judge a booking of it there."""

    resource_id: str
    resource_name: str
    location_id: str
    terms: SharingTerms
    zone: ZoneInfo
    booked: tuple[tuple[datetime, datetime], ...]  # the borrower's active bookings of it, near the time asked

    def refusal(self, start: datetime, end: datetime, now: datetime) -> Refusal | None:
        return refusal(self.terms, self.zone, start, end, now, self.booked)

    def refused(self, start: datetime, end: datetime, now: datetime) -> SlotUnavailableError | None:
        """SLOT_UNAVAILABLE naming the rule (details: rule, resourceId) when the terms do not allow the booking."""
        found = self.refusal(start, end, now)
        if found is None:
            return None
        return SlotUnavailableError(
            f"{self.resource_name} is lent here under sharing rules and `{found.rule.value}` refuses this time: "
            f"{found.message}",
            field="startAt",
            rule=found.rule.value,
            resourceId=self.resource_id,
        )


async def loans_at(
    executor: AsyncSession | AsyncConnection,
    location_ids: Iterable[str],
    start: datetime,
    end: datetime,
    *,
    resource_ids: Collection[str] | None = None,
    ignore_booking_id: str | None = None,
) -> dict[tuple[str, str], Loan]:
    """(borrowing location, resource) → the loan, for every active share to the locations (of `resource_ids`
    when given), with the borrower's bookings of it in the ISO weeks [start, end) touches, `ignore_booking_id`
    left out (the booking being moved). One statement, two when a loan has a weekly maximum."""
    borrowers = sorted(set(location_ids))
    if not borrowers or (resource_ids is not None and not resource_ids):
        return {}
    statement = (
        select(
            ResourceShare.location_id,
            ResourceShare.resource_id,
            ResourceShare.rules,
            Resource.name,
            Location.timezone,
        )
        .join(Resource, Resource.id == ResourceShare.resource_id)
        .join(Location, Location.id == Resource.location_id)
        .where(ResourceShare.location_id.in_(borrowers), ResourceShare.is_active)
    )
    if resource_ids is not None:
        statement = statement.where(ResourceShare.resource_id.in_(sorted(resource_ids)))
    shares = [
        (row.location_id, row.resource_id, row.name, stored_terms(row.rules or {}), ZoneInfo(row.timezone))
        for row in (await executor.execute(statement)).all()
    ]
    booked: dict[tuple[str, str], list[tuple[datetime, datetime]]] = defaultdict(list)
    capped = [
        (location_id, resource_id)
        for location_id, resource_id, _, terms, _ in shares
        if terms.max_hours_per_week is not None
    ]
    if capped:
        bookings = select(Booking.service_location_id, Booking.resource_id, Booking.start_at, Booking.end_at).where(
            Booking.service_location_id.in_(sorted({location_id for location_id, _ in capped})),
            Booking.resource_id.in_(sorted({resource_id for _, resource_id in capped})),
            Booking.status.in_(ACTIVE_BOOKING_STATUSES),
            Booking.start_at < end + WEEK_REACH,
            Booking.end_at > start - WEEK_REACH,
        )
        if ignore_booking_id is not None:
            bookings = bookings.where(Booking.id != ignore_booking_id)
        for row in (await executor.execute(bookings)).all():
            booked[row.service_location_id, row.resource_id].append((row.start_at, row.end_at))
    return {
        (location_id, resource_id): Loan(
            resource_id, name, location_id, terms, zone, tuple(booked.get((location_id, resource_id), ()))
        )
        for location_id, resource_id, name, terms, zone in shares
    }
