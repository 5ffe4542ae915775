"""Bookings: owned by their service location; new ones recorded, changes applied or held as conflicts.

Bookings made at a location get a network id derived from the location and its local id, so
re-applying is idempotent; the bookings a pull touched are checked for double bookings
(`double_bookings.py`); changing a cached booking and telling its owner is `booking_writes.py`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence, Set

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.booking_revenue import replace_revenue_entries
from sources.cache.journal import log_change
from sources.cache.models import (
    Booking,
    ChangeLogEntry,
    Conflict,
    CustomerMapping,
    Resource,
    RevenueEntry,
    Service,
    SyncState,
)
from sources.cache.payments import take_report
from sources.cache.suppression import suppressed_ids
from sources.connectors.base import Capability
from sources.connectors.records import EntityType, RecordType, RemoteBooking, RemoteRecord
from sync.apply.batch import ApplyResult, ApplyRules, Batch, derived_id, judge_change
from sync.apply.booking_writes import change_booking, push_booking, set_pulled_fields
from sync.apply.double_bookings import keep_one_booking, settle_double_bookings
from sync.apply.entity import Undo, check_fields, chosen_fields, restore, still_as_written
from sync.apply.state import BOOKING_FIELDS, Image, agree, image_of, json_value, load_states, row_value
from sync.conflicts.detect import Side
from sync.errors import InvalidResolution
from sync.events import BookingChange, booking_event
from sync.outbox.queue import Queued, supersede
from sync.types import ConflictChoice

BOOKING = RecordType.BOOKING
BOOKING_ROW = ("id", "originating_location_id", "service_location_id", "local_booking_id", "version", *BOOKING_FIELDS)
# What a resolution may set on a booking: who, what and the price stay as the booking was made.
BOOKING_RESOLVABLE = ("start_at", "end_at", "resource_id", "status", "notes")


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


class Bookings:
    pulled_as = EntityType.BOOKINGS
    record_types = (BOOKING,)
    reads = Capability.READ_BOOKINGS
    remote_type: type[RemoteRecord] = RemoteBooking

    def key_of(self, record: RemoteBooking) -> str:
        return record.local_id

    # -- pull --------------------------------------------------------------------------------------
    async def apply(
        self, session: AsyncSession, batch: Batch, records: Sequence[RemoteBooking], result: ApplyResult
    ) -> None:
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
                        CustomerMapping.local_customer_id.in_({booking.local_customer_id for booking in records}),
                    )
                )
            ).all()
        )
        statement = select(Booking).where(
            Booking.service_location_id == location_id,
            Booking.local_booking_id.in_([booking.local_id for booking in records]),
        )
        if batch.lock_rows:
            statement = statement.with_for_update()
        known = {booking.local_booking_id: booking for booking in (await session.execute(statement)).scalars()}
        states = await load_states(session, BOOKING, location_id, (b.id for b in known.values()))
        erased = await suppressed_ids(session, [*customers.values(), *result.customer_ids.values()])
        touched: list[Booking] = []
        for remote in records:
            service_id = services.get(remote.local_service_id)
            # A customer the location knows under another id comes through the batch's own matching.
            customer_id = customers.get(remote.local_customer_id) or result.customer_ids.get(remote.local_customer_id)
            if service_id is None or customer_id is None:
                # The location speaks of a service or customer we have not pulled yet; the next pull brings it.
                continue
            if customer_id in erased:
                # An erased customer's bookings keep their money and times; their notes and the source's details
                # about them (which may name the person) are not taken back.
                remote = dataclasses.replace(remote, notes="", details=None)
            resource_id = None
            if remote.local_resource_id is not None:
                resource_id = resources.get(remote.local_resource_id, remote.local_resource_id)
            there = image_of_remote(remote, customer_id, service_id, resource_id)
            booking = known.get(remote.local_id)
            if booking is None and remote.global_id is not None:
                booking = await session.get(Booking, remote.global_id)
            if booking is None:
                booking = await self._create(session, batch, remote, there, result)
                touched.append(booking)
            else:
                state = states.get(booking.id)
                if state is None and booking.id not in states:
                    state = await session.get(SyncState, (BOOKING, booking.id, location_id))
                if await self._known(session, batch, booking, remote, there, state, result):
                    touched.append(booking)
            result.booking_ids[remote.local_id] = booking.id
        await settle_double_bookings(session, batch, touched, result)

    async def _known(
        self,
        session: AsyncSession,
        batch: Batch,
        booking: Booking,
        remote: RemoteBooking,
        there: Image,
        state: SyncState | None,
        result: ApplyResult,
    ) -> bool:
        """Apply a change to a booking the cache has; whether it changed."""
        location_id = batch.location_id
        if booking.local_booking_id != remote.local_id:
            booking.local_booking_id = remote.local_id
        verdict = await judge_change(
            session,
            batch,
            entity_type=BOOKING,
            entity_id=booking.id,
            state=state,
            network=Side(image_of(booking, BOOKING_FIELDS), booking.version, booking.updated_at),
            location=Side(there, remote.version, remote.updated_at),
            result=result,
        )
        if verdict is None or verdict.pending:
            return False
        # The source's own extra details are its alone: no conflict to judge, the latest applied is kept.
        details_changed = remote.details is not None and remote.details != booking.source_details
        if details_changed:
            booking.source_details = remote.details
        # So is what it says of the payment: its revenue entries follow (sources.cache.payments).
        payment_changed = take_report(booking, remote.payment, remote.updated_at)
        if verdict.apply:
            await set_pulled_fields(session, batch, booking, verdict.apply, result)
            booking.updated_at = remote.updated_at  # its source's change time: what `newest` compares
        elif details_changed or payment_changed:
            result.updated += 1
            result.events.append(booking_event(booking, BookingChange.SYNCED))
        else:
            result.unchanged += 1
        if payment_changed:
            await session.flush()
            await replace_revenue_entries(session, booking, batch.rules.split)
        await agree(session, BOOKING, booking.id, location_id, remote.version, there)
        if verdict.push_back and verdict.conflict_id is not None:
            await supersede(session, BOOKING, booking.id, location_id, "conflict settled")
            result.queued += await push_booking(session, booking, there, why="conflict")
        return bool(verdict.apply) or details_changed or payment_changed

    async def _create(
        self, session: AsyncSession, batch: Batch, remote: RemoteBooking, values: Image, result: ApplyResult
    ) -> Booking:
        location_id = batch.location_id
        booking = Booking(
            id=remote.global_id or derived_id("bkg", location_id, remote.local_id),
            originating_location_id=location_id,
            service_location_id=location_id,
            local_booking_id=remote.local_id,
            version=max(remote.version, 1),
            source_details=remote.details,
            **{name: row_value(name, value) for name, value in values.items()},
        )
        take_report(booking, remote.payment, remote.updated_at)
        session.add(booking)
        await session.flush()
        await log_change(
            session,
            entity_type=BOOKING,
            entity_id=booking.id,
            location_id=location_id,
            operation="create",
            before=None,
            after=values,
            version=booking.version,
            sync_job_id=batch.job_id,
        )
        await replace_revenue_entries(session, booking, batch.rules.split)
        await agree(session, BOOKING, booking.id, location_id, remote.version, values)
        result.created += 1
        result.events.append(booking_event(booking, BookingChange.CREATED))
        return booking

    async def reconcile(
        self, session: AsyncSession, location_id: str, seen: Set[str], job_id: str, result: ApplyResult
    ) -> None:
        bookings = (
            await session.execute(
                # A booking still on its way there has no local id yet: it is not missing, it is pending.
                select(Booking).where(Booking.service_location_id == location_id, Booking.local_booking_id != "")
            )
        ).scalars()
        for booking in bookings:
            if booking.local_booking_id in seen:
                continue
            await log_change(
                session,
                entity_type=BOOKING,
                entity_id=booking.id,
                location_id=location_id,
                operation="delete",
                before=image_of(booking, BOOKING_ROW),
                after=None,
                version=booking.version,
                sync_job_id=job_id,
            )
            result.events.append(booking_event(booking, BookingChange.DELETED))
            await session.execute(delete(RevenueEntry).where(RevenueEntry.booking_id == booking.id))
            await session.execute(
                delete(SyncState).where(SyncState.entity_type == BOOKING, SyncState.entity_id == booking.id)
            )
            await session.delete(booking)
            result.deleted += 1

    # -- conflicts and rollback --------------------------------------------------------------------
    async def resolve(
        self,
        session: AsyncSession,
        rules: ApplyRules,
        conflict: Conflict,
        choice: ConflictChoice | None,
        merged: Image | None,
    ) -> ApplyResult:
        if conflict.conflict_type == "double_booking":
            return await keep_one_booking(session, rules, conflict, choice, merged)
        fields = chosen_fields(conflict, choice, merged)
        result = ApplyResult()
        booking = await session.get(Booking, conflict.entity_id)
        if booking is None:
            raise InvalidResolution(f"booking {conflict.entity_id} no longer exists")
        check_fields(fields, BOOKING_RESOLVABLE if choice is None else BOOKING_FIELDS, "booking")
        before = image_of(booking, BOOKING_FIELDS)
        await change_booking(session, booking, fields, location_id=None, job_id=None, split=rules.split)
        owner = booking.service_location_id
        await supersede(session, BOOKING, booking.id, owner, "conflict resolved")
        if choice is ConflictChoice.LOCATION and conflict.source_location_id == owner:
            await agree(session, BOOKING, booking.id, owner, int(conflict.source_data.get("version", 0)), fields)
        else:
            there = (conflict.source_data or {}).get("fields") or before
            result.queued += await self.propagate(session, rules, booking.id, why="resolve", held={**before, **there})
        result.events.append(booking_event(booking, BookingChange.RESOLVED))
        conflict.resolved_data = fields
        return result

    async def roll_back(self, undo: Undo, entry: ChangeLogEntry) -> bool:
        session = undo.session
        if entry.operation == "delete":
            if await session.get(Booking, entry.entity_id) is not None:
                return False
            restored = Booking()
            restore(restored, entry.before)
            session.add(restored)
            await session.flush()
            await replace_revenue_entries(session, restored, undo.rules.split)
            await undo.log(entry, restored.version)
            undo.result.events.append(booking_event(restored, BookingChange.RESTORED))
            return True
        booking = await session.get(Booking, entry.entity_id)
        if booking is None or not still_as_written(booking, entry.after):
            return False
        there = {name: json_value(getattr(booking, name)) for name in BOOKING_FIELDS}
        if entry.operation == "create":
            # It came from the location: taking it back means cancelling it there too.
            booking.status = "cancelled"
        else:
            restore(booking, {name: value for name, value in (entry.before or {}).items() if name in BOOKING_FIELDS})
        booking.version += 1
        await session.flush()
        await replace_revenue_entries(session, booking, undo.rules.split)
        await undo.log(entry, booking.version)
        undo.result.queued += await self.propagate(session, undo.rules, booking.id, why="rollback", held=there)
        undo.result.events.append(booking_event(booking, BookingChange.ROLLED_BACK))
        return True

    async def propagate(
        self,
        session: AsyncSession,
        rules: ApplyRules,
        entity_id: str,
        *,
        why: str,
        held: Image | None = None,
        exclude: Collection[str] = (),
    ) -> list[Queued]:
        """To its owner: cancel or move the booking there (`held`: what the owner holds, else its last agreement)."""
        booking = await session.get(Booking, entity_id)
        if booking is None or booking.service_location_id in exclude:
            return []
        if held is None:
            state = await session.get(SyncState, (BOOKING, booking.id, booking.service_location_id))
            held = state.base if state is not None else image_of(booking, BOOKING_FIELDS)
        return await push_booking(session, booking, held, why=why)
