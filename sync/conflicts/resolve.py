"""resolveConflict: a person picks a side (or writes merged values); the result reaches every location.

The chosen values are applied to the cache record and sent, through the outbox, to the
locations that hold the entity and do not have them yet. For a double booking the choice
says which booking keeps the slot; the other is cancelled at its location.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import log_change
from sources.cache.models import Booking, Conflict, Customer, ResourceShare
from sources.cache.types import utc_now
from sources.cache.vocabulary import ACTIVE_BOOKING_STATUSES
from sources.cache.writer import CacheWriter
from sync.apply.batch import ApplyResult, ApplyRules, Batch
from sync.apply.bookings import cancel_for_clash, change_booking
from sync.apply.state import BOOKING_FIELDS, CUSTOMER_FIELDS, Image, agree, image_of
from sync.conflicts.detect import conflict_event
from sync.conflicts.propagate import push_booking, push_customer
from sync.errors import ConflictAlreadyResolved, ConflictNotFound, InvalidResolution
from sync.events import booking_event
from sync.outbox.queue import supersede
from sync.types import ConflictChoice

# What a resolution may set on a booking: who, what and the price stay as the booking was made.
BOOKING_RESOLVABLE = ("start_at", "end_at", "resource_id", "status", "notes")


def _chosen(conflict: Conflict, choice: ConflictChoice | None, merged: dict[str, Any] | None) -> Image:
    if (choice is None) == (merged is None):
        raise InvalidResolution("give either a side to keep or the merged data, not both")
    if merged is not None:
        return dict(merged)
    data = conflict.source_data if choice is ConflictChoice.SOURCE else conflict.target_data
    return dict((data or {}).get("fields") or {})


def _check_fields(fields: Image, allowed: tuple[str, ...], entity: str) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise InvalidResolution(f"a {entity} has no field(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    if not fields:
        raise InvalidResolution("the resolution sets no field")


async def _customer(
    session: AsyncSession, rules: ApplyRules, conflict: Conflict, fields: Image, choice: ConflictChoice | None
) -> ApplyResult:
    result = ApplyResult()
    _check_fields(fields, CUSTOMER_FIELDS, "customer")
    customer = await session.get(Customer, conflict.entity_id)
    if customer is None:
        raise InvalidResolution(f"customer {conflict.entity_id} no longer exists")
    before = image_of(customer, CUSTOMER_FIELDS)
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.version += 1
    await log_change(
        session,
        entity_type="customer",
        entity_id=customer.id,
        location_id=None,
        operation="update",
        before=before,
        after=image_of(customer, CUSTOMER_FIELDS),
        version=customer.version,
    )
    source = conflict.source_location_id
    exclude: list[str] = []
    if choice is ConflictChoice.SOURCE:
        # The source location holds these values already, at the version the conflict recorded.
        await agree(session, "customer", customer.id, source, int(conflict.source_data.get("version", 0)), fields)
        exclude.append(source)
    await supersede(session, "customer", customer.id, source, "conflict resolved")
    if rules.writable is not None:
        result.queued += await push_customer(session, customer, writable=rules.writable, exclude=exclude, why="resolve")
    result.events.append(("customer.changed", {"customerId": customer.id, "locationId": None}))
    return result


async def _booking(
    session: AsyncSession, rules: ApplyRules, conflict: Conflict, fields: Image, choice: ConflictChoice | None
) -> ApplyResult:
    result = ApplyResult()
    booking = await session.get(Booking, conflict.entity_id)
    if booking is None:
        raise InvalidResolution(f"booking {conflict.entity_id} no longer exists")
    allowed = BOOKING_RESOLVABLE if choice is None else BOOKING_FIELDS
    _check_fields(fields, allowed, "booking")
    before = image_of(booking, BOOKING_FIELDS)
    await change_booking(session, booking, fields, location_id=None, job_id=None, share_bp=rules.originating_share_bp)
    owner = booking.service_location_id
    await supersede(session, "booking", booking.id, owner, "conflict resolved")
    if choice is ConflictChoice.SOURCE and conflict.source_location_id == owner:
        await agree(session, "booking", booking.id, owner, int(conflict.source_data.get("version", 0)), fields)
    else:
        there = (conflict.source_data or {}).get("fields") or before
        result.queued += await push_booking(session, booking, {**before, **there}, why="resolve")
    result.events.append(booking_event(booking, "resolved"))
    return result


async def _double_booking(
    session: AsyncSession, rules: ApplyRules, conflict: Conflict, choice: ConflictChoice | None
) -> ApplyResult:
    if choice is None:
        raise InvalidResolution("a double booking is resolved by choosing which booking keeps the slot")
    keep_side = conflict.source_data if choice is ConflictChoice.SOURCE else conflict.target_data
    lose_side = conflict.target_data if choice is ConflictChoice.SOURCE else conflict.source_data
    loser = await session.get(Booking, lose_side.get("booking_id"))
    result = ApplyResult()
    if loser is not None and loser.status in ACTIVE_BOOKING_STATUSES:
        batch = Batch(loser.service_location_id, rules)
        result.queued += await cancel_for_clash(session, batch, loser, result)
    conflict.resolved_data = {"kept_booking_id": keep_side.get("booking_id")}
    return result


async def _resource(session: AsyncSession, conflict: Conflict, fields: Image) -> ApplyResult:
    """Sharing rules: fields named `sharing.<location>.<rule>` (the shape demo conflicts have)."""
    for name, value in fields.items():
        parts = name.split(".")
        if len(parts) != 3 or parts[0] != "sharing":
            raise InvalidResolution(f"a resource conflict sets sharing.<location>.<rule>, not {name}")
        share = (
            await session.execute(
                select(ResourceShare).where(
                    ResourceShare.resource_id == conflict.entity_id, ResourceShare.location_id == parts[1]
                )
            )
        ).scalar()
        if share is None:
            raise InvalidResolution(f"{conflict.entity_id} is not shared with {parts[1]}")
        share.rules = {**share.rules, parts[2]: value}
    return ApplyResult()


async def resolve_conflict(
    writer: CacheWriter,
    rules: ApplyRules,
    conflict_id: str,
    *,
    choice: ConflictChoice | None,
    merged: dict[str, Any] | None,
    resolved_by: str,
) -> ApplyResult:
    async with writer.transaction() as session:
        statement = select(Conflict).where(Conflict.id == conflict_id)
        if writer.locks_rows:
            statement = statement.with_for_update()
        conflict = (await session.execute(statement)).scalar()
        if conflict is None:
            raise ConflictNotFound(f"no conflict {conflict_id}")
        if conflict.status != "pending":
            raise ConflictAlreadyResolved(f"conflict {conflict_id} was resolved already ({conflict.resolved_by})")
        if conflict.conflict_type == "double_booking":
            if merged is not None:
                raise InvalidResolution("a double booking is resolved by choosing which booking keeps the slot")
            result = await _double_booking(session, rules, conflict, choice)
        else:
            fields = _chosen(conflict, choice, merged)
            if conflict.entity_type == "customer":
                result = await _customer(session, rules, conflict, fields, choice)
            elif conflict.entity_type == "booking":
                result = await _booking(session, rules, conflict, fields, choice)
            elif conflict.entity_type == "resource":
                result = await _resource(session, conflict, fields)
            else:
                raise InvalidResolution(f"conflicts on {conflict.entity_type} cannot be resolved here")
            conflict.resolved_data = fields
        conflict.status = "resolved"
        conflict.resolved_by = resolved_by
        conflict.resolved_at = utc_now()
        conflict.resolution_strategy = "manual"  # a person decided it, whatever held it pending
        await session.flush()
        result.events.append(conflict_event(conflict, "resolved"))
    return result
