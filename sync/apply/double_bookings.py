"""Double bookings: one shared resource booked at two locations for overlapping times.

Each site checked only its own diary, so the gateway finds the clash when it pulls the second
booking. It is recorded as a `double_booking` conflict; the booking strategy decides which
booking keeps the slot (`manual`: a person does, with `keep_one_booking`), and the other one is
cancelled at its location through the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import Booking, Conflict
from sources.cache.vocabulary import ACTIVE_BOOKING_STATUSES
from sources.connectors.records import RecordType
from sync.apply.batch import ApplyResult, ApplyRules, Batch
from sync.apply.booking_writes import push_booking, set_pulled_fields
from sync.apply.state import BOOKING_FIELDS, Image, image_of
from sync.conflicts.detect import Side, record_conflict, winner
from sync.errors import InvalidResolution
from sync.outbox.queue import Queued
from sync.types import ConflictChoice, Strategy

BOOKING = RecordType.BOOKING


async def cancel_for_clash(session: AsyncSession, batch: Batch, loser: Booking, result: ApplyResult) -> list[Queued]:
    held_there = image_of(loser, BOOKING_FIELDS)
    await set_pulled_fields(session, batch, loser, {"status": "cancelled"}, result)
    return await push_booking(session, loser, held_there, why="double booking")


async def settle_double_bookings(
    session: AsyncSession, batch: Batch, touched: Sequence[Booking], result: ApplyResult
) -> None:
    """Active bookings of one resource at two locations overlapping: a double booking to settle."""
    for booking in touched:
        if booking.status not in ACTIVE_BOOKING_STATUSES or booking.resource_id is None:
            continue
        other = (
            await session.execute(
                select(Booking)
                .where(
                    Booking.resource_id == booking.resource_id,
                    Booking.id != booking.id,
                    Booking.service_location_id != booking.service_location_id,
                    Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                    Booking.start_at < booking.end_at,
                    booking.start_at < Booking.end_at,
                )
                .limit(1)
            )
        ).scalar()
        if other is None:
            continue
        strategy = batch.rules.policy.for_entity(BOOKING)
        incoming = Side(image_of(booking, BOOKING_FIELDS), booking.version, booking.updated_at)
        held = Side(image_of(other, BOOKING_FIELDS), other.version, other.updated_at)
        decided = winner(strategy, incoming, held)
        loser = None if decided is Strategy.MANUAL else (other if decided is Strategy.NODE_WINS else booking)
        await record_conflict(
            session,
            conflict_type="double_booking",
            entity_type=BOOKING,
            entity_id=booking.id,
            source_location_id=booking.service_location_id,
            target_location_id=other.service_location_id,
            source={**incoming.data(), "booking_id": booking.id},
            target={**held.data(), "booking_id": other.id},
            base=None,
            strategy=strategy,
            resolved=None if loser is None else {"kept_booking_id": (booking if loser is other else other).id},
            job_id=batch.job_id,
            events=result.events,
        )
        result.conflicts += 1
        if loser is not None:
            result.queued += await cancel_for_clash(session, batch, loser, result)


async def keep_one_booking(
    session: AsyncSession,
    rules: ApplyRules,
    conflict: Conflict,
    choice: ConflictChoice | None,
    merged: Image | None,
) -> ApplyResult:
    """A double booking: the chosen side keeps the slot, the other booking is cancelled at its location."""
    if choice is None or merged is not None:
        raise InvalidResolution("a double booking is resolved by choosing which booking keeps the slot")
    keep_side = conflict.source_data if choice is ConflictChoice.LOCATION else conflict.target_data
    lose_side = conflict.target_data if choice is ConflictChoice.LOCATION else conflict.source_data
    loser = await session.get(Booking, lose_side.get("booking_id"))
    result = ApplyResult()
    if loser is not None and loser.status in ACTIVE_BOOKING_STATUSES:
        batch = Batch(loser.service_location_id, rules)
        result.queued += await cancel_for_clash(session, batch, loser, result)
    conflict.resolved_data = {"kept_booking_id": keep_side.get("booking_id")}
    return result
