"""Bookings a location reports: new ones recorded, changes applied or held as conflicts, clashes found.

A clash is two locations each confirming a booking of one shared resource at overlapping
times (each site checked only its own diary). It is recorded as a `double_booking`
conflict; the booking strategy decides which booking keeps the slot, the other one is
cancelled at its location through the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.booking_revenue import replace_revenue_entries
from sources.cache.journal import log_change
from sources.cache.models import Booking, CustomerMapping, Resource, Service, SyncState
from sources.cache.vocabulary import ACTIVE_BOOKING_STATUSES
from sources.connectors.records import RemoteBooking
from sync.apply.batch import ApplyResult, Batch, derived_id, weigh
from sync.apply.state import BOOKING_FIELDS, Image, agree, image_of, load_states, row_value
from sync.conflicts.detect import Side, record_conflict, winner
from sync.conflicts.propagate import push_booking
from sync.events import booking_event
from sync.outbox.queue import supersede
from sync.types import Strategy

MONEY_FIELDS = ("price_minor", "status", "start_at")


async def change_booking(
    session: AsyncSession,
    booking: Booking,
    fields: Image,
    *,
    location_id: str | None,
    job_id: str | None,
    share_bp: int,
) -> None:
    """Set fields of a cached booking: a new version, a change-log entry, revenue redone when it earns otherwise."""
    before = image_of(booking, BOOKING_FIELDS)
    for name, value in fields.items():
        setattr(booking, name, row_value(name, value))
    booking.version += 1
    await session.flush()
    await log_change(
        session,
        entity_type="booking",
        entity_id=booking.id,
        location_id=location_id,
        operation="update",
        before=before,
        after=image_of(booking, BOOKING_FIELDS),
        version=booking.version,
        sync_job_id=job_id,
    )
    if any(name in fields for name in MONEY_FIELDS):
        await replace_revenue_entries(session, booking, share_bp)


async def _set_fields(
    session: AsyncSession, batch: Batch, booking: Booking, fields: Image, result: ApplyResult
) -> None:
    await change_booking(
        session,
        booking,
        fields,
        location_id=batch.location_id,
        job_id=batch.job_id,
        share_bp=batch.rules.originating_share_bp,
    )
    result.updated += 1
    result.events.append(booking_event(booking, "synced"))


async def _known(
    session: AsyncSession,
    batch: Batch,
    booking: Booking,
    remote: RemoteBooking,
    node: Image,
    state: SyncState | None,
    result: ApplyResult,
) -> bool:
    """Apply a change to a booking the cache has; whether it changed."""
    location_id = batch.location_id
    if booking.local_booking_id != remote.local_id:
        booking.local_booking_id = remote.local_id
    hub = image_of(booking, BOOKING_FIELDS)
    verdict = await weigh(
        session,
        batch,
        entity_type="booking",
        entity_id=booking.id,
        state=state,
        hub=Side(hub, booking.version, booking.updated_at),
        node=Side(node, remote.version, remote.updated_at),
        result=result,
    )
    if verdict is None or verdict.pending:
        return False
    if verdict.apply:
        await _set_fields(session, batch, booking, verdict.apply, result)
        booking.updated_at = remote.updated_at  # its source's change time: what `newest` compares
    else:
        result.unchanged += 1
    await agree(session, "booking", booking.id, location_id, remote.version, node)
    if verdict.push_back and verdict.conflict_id is not None:
        await supersede(session, "booking", booking.id, location_id, "conflict settled")
        result.queued += await push_booking(session, booking, node, why="conflict")
    return bool(verdict.apply)


async def _create(
    session: AsyncSession, batch: Batch, remote: RemoteBooking, values: Image, result: ApplyResult
) -> Booking:
    location_id = batch.location_id
    booking = Booking(
        id=remote.global_id or derived_id("bkg", location_id, remote.local_id),
        originating_location_id=location_id,
        service_location_id=location_id,
        local_booking_id=remote.local_id,
        version=max(remote.version, 1),
        **{name: row_value(name, value) for name, value in values.items()},
    )
    session.add(booking)
    await session.flush()
    await log_change(
        session,
        entity_type="booking",
        entity_id=booking.id,
        location_id=location_id,
        operation="create",
        before=None,
        after=values,
        version=booking.version,
        sync_job_id=batch.job_id,
    )
    await replace_revenue_entries(session, booking, batch.rules.originating_share_bp)
    await agree(session, "booking", booking.id, location_id, remote.version, values)
    result.created += 1
    result.events.append(booking_event(booking, "created"))
    return booking


async def _clashes(session: AsyncSession, batch: Batch, touched: Sequence[Booking], result: ApplyResult) -> None:
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
        strategy = batch.rules.policy.for_entity("booking")
        incoming = Side(image_of(booking, BOOKING_FIELDS), booking.version, booking.updated_at)
        held = Side(image_of(other, BOOKING_FIELDS), other.version, other.updated_at)
        decided = winner(strategy, incoming, held)
        loser = None if decided is Strategy.MANUAL else (other if decided is Strategy.NODE_WINS else booking)
        await record_conflict(
            session,
            conflict_type="double_booking",
            entity_type="booking",
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


async def cancel_for_clash(session: AsyncSession, batch: Batch, loser: Booking, result: ApplyResult) -> list[Any]:
    held_there = image_of(loser, BOOKING_FIELDS)
    await _set_fields(session, batch, loser, {"status": "cancelled"}, result)
    return await push_booking(session, loser, held_there, why="double booking")


async def apply_bookings(
    session: AsyncSession, batch: Batch, bookings: Sequence[RemoteBooking], result: ApplyResult
) -> None:
    if not bookings:
        return
    location_id = batch.location_id
    services = dict(
        (
            await session.execute(
                select(Service.local_service_id, Service.id).where(Service.location_id == location_id)
            )
        ).all()
    )
    resources = dict(
        (
            await session.execute(
                select(Resource.local_resource_id, Resource.id).where(Resource.location_id == location_id)
            )
        ).all()
    )
    customers = dict(
        (
            await session.execute(
                select(CustomerMapping.local_customer_id, CustomerMapping.customer_id).where(
                    CustomerMapping.location_id == location_id,
                    # Only the customers these bookings name: a delta pull must not read every mapping.
                    CustomerMapping.local_customer_id.in_({booking.local_customer_id for booking in bookings}),
                )
            )
        ).all()
    )
    statement = select(Booking).where(
        Booking.service_location_id == location_id,
        Booking.local_booking_id.in_([booking.local_id for booking in bookings]),
    )
    if batch.lock_rows:
        statement = statement.with_for_update()
    known = {booking.local_booking_id: booking for booking in (await session.execute(statement)).scalars()}
    states = await load_states(session, "booking", location_id, (b.id for b in known.values()))
    touched: list[Booking] = []
    for remote in bookings:
        service_id = services.get(remote.local_service_id)
        customer_id = customers.get(remote.local_customer_id)
        if service_id is None or customer_id is None:
            # The location speaks of a service or customer we have not pulled yet; the next pull brings it.
            continue
        resource_id = None
        if remote.local_resource_id is not None:
            resource_id = resources.get(remote.local_resource_id, remote.local_resource_id)
        node = image_of_remote(remote, customer_id, service_id, resource_id)
        booking = known.get(remote.local_id)
        if booking is None and remote.global_id is not None:
            booking = await session.get(Booking, remote.global_id)
        if booking is None:
            booking = await _create(session, batch, remote, node, result)
            touched.append(booking)
        else:
            state = states.get(booking.id)
            if state is None and booking.id not in states:
                state = await session.get(SyncState, ("booking", booking.id, location_id))
            if await _known(session, batch, booking, remote, node, state, result):
                touched.append(booking)
        result.booking_ids[remote.local_id] = booking.id
    await _clashes(session, batch, touched, result)


def image_of_remote(remote: RemoteBooking, customer_id: str, service_id: str, resource_id: str | None) -> Image:
    return {
        "customer_id": customer_id,
        "service_id": service_id,
        "resource_id": resource_id,
        "start_at": remote.start_at.isoformat(),
        "end_at": remote.end_at.isoformat(),
        "status": remote.status,
        "price_minor": remote.price_minor,
        "currency": remote.currency,
        "notes": remote.notes,
    }
