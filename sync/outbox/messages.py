"""What each kind of outbox message does: send it to the location, then settle the cache.

`send` talks to the location only (no database); `delivered` and `rejected` run inside
one cache transaction with the message's status change. A rejected write is undone in
the cache (its before-image travels in the payload), so nothing half-written remains.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.booking_revenue import replace_revenue_entries
from sources.cache.journal import audit, log_change
from sources.cache.models import Booking, CustomerMapping, Resource, ResourceShare, StockLevel, StockMovement
from sources.cache.vocabulary import ACTIVE_BOOKING_STATUSES
from sources.connectors.base import Connector
from sources.connectors.errors import RejectionCode, UpstreamRejected
from sources.connectors.records import BookingRequest, CustomerDetails
from sync.apply.state import BOOKING_FIELDS, CUSTOMER_FIELDS, agree, image_of
from sync.events import booking_event, stock_event

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Settlement:
    """What the cache change means for subscribers: (topic, payload) events to publish after commit."""

    events: tuple[tuple[str, dict[str, Any]], ...] = ()
    # The location changed the record since the gateway last saw it: pull from it to settle the clash.
    resync_location_id: str | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    send: Callable[[Connector, Payload, str], Awaitable[Payload]]
    delivered: Callable[[AsyncSession, str, Payload, Payload, int], Awaitable[Settlement]]
    rejected: Callable[[AsyncSession, str, Payload, UpstreamRejected], Awaitable[Settlement]]
    prepare: Callable[[AsyncSession, Payload], Awaitable[Payload]] | None = None


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _local_booking_id(session: AsyncSession, payload: Payload) -> Payload:
    """A change may have been queued before the create it follows was delivered: read the id now."""
    local_id = (
        await session.execute(select(Booking.local_booking_id).where(Booking.id == payload["booking_id"]))
    ).scalar()
    return {**payload, "local_booking_id": local_id or payload.get("local_booking_id", "")}


# -- bookings ---------------------------------------------------------------------------------
async def _send_create_booking(connector: Connector, payload: Payload, key: str) -> Payload:
    ack = await connector.create_booking(
        BookingRequest(
            global_id=payload["booking_id"],
            idempotency_key=key,
            customer=CustomerDetails(**payload["customer"]),
            local_customer_id=payload.get("local_customer_id"),
            local_service_id=payload["local_service_id"],
            local_resource_id=payload.get("local_resource_id"),
            start_at=_time(payload["start_at"]),
            end_at=_time(payload["end_at"]),
            price_minor=payload["price_minor"],
            currency=payload["currency"],
            notes=payload.get("notes", ""),
            originating_location_id=payload.get("originating_location_id"),
        )
    )
    return asdict(ack)


async def _delivered_create_booking(
    session: AsyncSession, location_id: str, payload: Payload, ack: Payload, share_bp: int
) -> Settlement:
    booking = await session.get_one(Booking, payload["booking_id"])
    booking.local_booking_id = ack["local_id"]
    booking.status = ack["status"] if ack["status"] in ACTIVE_BOOKING_STATUSES else "confirmed"
    booking.version = max(booking.version, ack["version"])
    if booking.resource_id is None and ack.get("local_resource_id"):
        resource = (
            await session.execute(
                select(Resource.id).where(
                    Resource.location_id == location_id, Resource.local_resource_id == ack["local_resource_id"]
                )
            )
        ).scalar()
        booking.resource_id = resource or ack["local_resource_id"]
    mapping = (
        await session.execute(
            select(CustomerMapping).where(
                CustomerMapping.customer_id == booking.customer_id, CustomerMapping.location_id == location_id
            )
        )
    ).scalar()
    if mapping is None and ack.get("local_customer_id"):
        session.add(
            CustomerMapping(
                customer_id=booking.customer_id,
                location_id=location_id,
                local_customer_id=ack["local_customer_id"],
                loyalty_points=0,
            )
        )
    await session.flush()
    await replace_revenue_entries(session, booking, share_bp)
    await log_change(
        session,
        entity_type="booking",
        entity_id=booking.id,
        location_id=location_id,
        operation="create",
        before=None,
        after={
            "status": booking.status,
            "start_at": booking.start_at,
            "end_at": booking.end_at,
            "resource_id": booking.resource_id,
            "local_booking_id": booking.local_booking_id,
        },
        version=booking.version,
    )
    await agree(session, "booking", booking.id, location_id, ack["version"], image_of(booking, BOOKING_FIELDS))
    return Settlement((booking_event(booking, "created"),))


async def _rejected_create_booking(
    session: AsyncSession, location_id: str, payload: Payload, error: UpstreamRejected
) -> Settlement:
    # The booking never existed at its owner: remove the claim entirely.
    await session.execute(delete(Booking).where(Booking.id == payload["booking_id"]))
    return Settlement(
        (
            (
                "booking.changed",
                {
                    "bookingId": payload["booking_id"],
                    "change": "rejected",
                    "status": "rejected",
                    "serviceLocationId": location_id,
                    "originatingLocationId": payload.get("originating_location_id"),
                },
            ),
        )
    )


async def _send_reschedule(connector: Connector, payload: Payload, key: str) -> Payload:
    ack = await connector.reschedule_booking(
        payload["local_booking_id"],
        _time(payload["start_at"]),
        _time(payload["end_at"]),
        payload.get("local_resource_id"),
        key,
        expected_version=payload.get("expected_version"),
    )
    return asdict(ack)


async def _delivered_booking_change(
    session: AsyncSession, location_id: str, payload: Payload, ack: Payload, share_bp: int
) -> Settlement:
    booking = await session.get_one(Booking, payload["booking_id"])
    booking.version = max(booking.version + 1, ack.get("version") or 0)
    await replace_revenue_entries(session, booking, share_bp)
    await log_change(
        session,
        entity_type="booking",
        entity_id=booking.id,
        location_id=location_id,
        operation="update",
        before=payload["before"],
        after={
            "status": booking.status,
            "start_at": booking.start_at,
            "end_at": booking.end_at,
            "resource_id": booking.resource_id,
        },
        version=booking.version,
    )
    if ack.get("version") is not None:
        await agree(session, "booking", booking.id, location_id, ack["version"], image_of(booking, BOOKING_FIELDS))
    return Settlement((booking_event(booking, payload.get("change", "updated")),))


async def _rejected_booking_change(
    session: AsyncSession, location_id: str, payload: Payload, error: UpstreamRejected
) -> Settlement:
    if error.code is RejectionCode.STALE_VERSION:
        # Not a refusal of the change itself: the location moved on. Keep ours; the pull finds the conflict.
        return Settlement(resync_location_id=location_id)
    booking = await session.get_one(Booking, payload["booking_id"])
    before = payload["before"]
    booking.status = before["status"]
    booking.start_at = _time(before["start_at"])
    booking.end_at = _time(before["end_at"])
    booking.resource_id = before["resource_id"]
    return Settlement((booking_event(booking, "change_rejected"),))


async def _send_cancel(connector: Connector, payload: Payload, key: str) -> Payload:
    ack = await connector.cancel_booking(
        payload["local_booking_id"], payload.get("reason", ""), key, expected_version=payload.get("expected_version")
    )
    return asdict(ack)


# -- customers --------------------------------------------------------------------------------
async def _send_customer(connector: Connector, payload: Payload, key: str) -> Payload:
    ack = await connector.upsert_customer(
        payload.get("local_customer_id"),
        CustomerDetails(**payload["details"]),
        key,
        expected_version=payload.get("expected_version"),
    )
    return {"local_customer_id": ack.local_id, "version": ack.version}


async def _delivered_customer(
    session: AsyncSession, location_id: str, payload: Payload, ack: Payload, share_bp: int
) -> Settlement:
    mapping = (
        await session.execute(
            select(CustomerMapping).where(
                CustomerMapping.customer_id == payload["customer_id"], CustomerMapping.location_id == location_id
            )
        )
    ).scalar()
    if mapping is None:
        session.add(
            CustomerMapping(
                customer_id=payload["customer_id"],
                location_id=location_id,
                local_customer_id=ack["local_customer_id"],
                loyalty_points=0,
            )
        )
    if ack.get("version") is not None:
        details = payload["details"]
        image = {name: details.get(name) for name in CUSTOMER_FIELDS}
        await agree(session, "customer", payload["customer_id"], location_id, ack["version"], image)
    return Settlement((("customer.changed", {"customerId": payload["customer_id"], "locationId": location_id}),))


async def _rejected_customer(
    session: AsyncSession, location_id: str, payload: Payload, error: UpstreamRejected
) -> Settlement:
    # The network record stays as the caller set it; the location keeps its own until a person looks.
    await audit(
        session,
        actor="gateway",
        action="customer.update_rejected",
        entity_type="customer",
        entity_id=payload["customer_id"],
        location_id=location_id,
        request_id=None,
        details={"code": error.code.value, "message": error.message},
    )
    if error.code is RejectionCode.STALE_VERSION:
        return Settlement(resync_location_id=location_id)
    return Settlement()


async def _send_merge(connector: Connector, payload: Payload, key: str) -> Payload:
    await connector.merge_customers(payload["keep_local_id"], payload["remove_local_id"], key)
    return {}


async def _settled_quietly(
    session: AsyncSession, location_id: str, payload: Payload, ack: Payload, share_bp: int
) -> Settlement:
    return Settlement(((payload.get("event_topic", "customer.changed"), payload.get("event", {})),))


# -- resources --------------------------------------------------------------------------------
async def _send_share(connector: Connector, payload: Payload, key: str) -> Payload:
    await connector.share_resource(payload["local_resource_id"], payload["with_location_id"], payload["rules"], key)
    return {}


async def _send_unshare(connector: Connector, payload: Payload, key: str) -> Payload:
    await connector.unshare_resource(payload["local_resource_id"], payload["with_location_id"], key)
    return {}


async def _rejected_share(
    session: AsyncSession, location_id: str, payload: Payload, error: UpstreamRejected
) -> Settlement:
    share = (
        await session.execute(
            select(ResourceShare).where(
                ResourceShare.resource_id == payload["resource_id"],
                ResourceShare.location_id == payload["with_location_id"],
            )
        )
    ).scalar()
    before = payload.get("before")
    if before is None and share is not None:
        await session.delete(share)
    elif before is not None:
        if share is None:
            session.add(
                ResourceShare(
                    resource_id=payload["resource_id"],
                    location_id=payload["with_location_id"],
                    rules=before["rules"],
                    is_active=before["is_active"],
                )
            )
        else:
            share.rules, share.is_active = before["rules"], before["is_active"]
    return Settlement()


# -- stock ------------------------------------------------------------------------------------
async def _send_stock(connector: Connector, payload: Payload, key: str) -> Payload:
    kind, sku, amount = payload["kind"], payload["sku"], payload["quantity"]
    if kind == "change":
        ack = await connector.change_stock(sku, amount, payload["reason"], payload.get("reference", ""), key)
    elif kind == "reserve":
        ack = await connector.reserve_stock(sku, amount, payload.get("reference", ""), key)
    else:
        ack = await connector.release_stock(sku, amount, payload.get("reference", ""), key)
    return asdict(ack)


async def _stock_level(session: AsyncSession, payload: Payload, location_id: str) -> StockLevel:
    return (
        await session.execute(
            select(StockLevel).where(StockLevel.item_id == payload["item_id"], StockLevel.location_id == location_id)
        )
    ).scalar_one()


async def _delivered_stock(
    session: AsyncSession, location_id: str, payload: Payload, ack: Payload, share_bp: int
) -> Settlement:
    level = await _stock_level(session, payload, location_id)
    # The owner's counts are the truth once it has applied our change.
    before = {"quantity": level.quantity, "reserved": level.reserved}
    level.quantity, level.reserved = ack["quantity"], ack["reserved"]
    level.version += 1
    await log_change(
        session,
        entity_type="stock_level",
        entity_id=f"{level.item_id}@{location_id}",
        location_id=location_id,
        operation="update",
        before=before,
        after={"quantity": level.quantity, "reserved": level.reserved},
        version=level.version,
    )
    return Settlement((stock_event(level),))


async def _rejected_stock(
    session: AsyncSession, location_id: str, payload: Payload, error: UpstreamRejected
) -> Settlement:
    level = await _stock_level(session, payload, location_id)
    undo = payload["cache_delta"]
    level.quantity -= undo["quantity"]
    level.reserved -= undo["reserved"]
    if payload["kind"] == "change":
        session.add(
            StockMovement(
                item_id=payload["item_id"],
                location_id=location_id,
                delta=-payload["quantity"],
                reason="adjustment",
                reference=f"undo {payload.get('reference', '')}: {error.code}",
            )
        )
    return Settlement((stock_event(level),))


OPERATIONS: dict[str, Operation] = {
    "booking.create": Operation(_send_create_booking, _delivered_create_booking, _rejected_create_booking),
    "booking.reschedule": Operation(
        _send_reschedule, _delivered_booking_change, _rejected_booking_change, prepare=_local_booking_id
    ),
    "booking.cancel": Operation(
        _send_cancel, _delivered_booking_change, _rejected_booking_change, prepare=_local_booking_id
    ),
    "customer.upsert": Operation(_send_customer, _delivered_customer, _rejected_customer),
    "customer.merge": Operation(_send_merge, _settled_quietly, _rejected_customer),
    "resource.share": Operation(_send_share, _settled_quietly, _rejected_share),
    "resource.unshare": Operation(_send_unshare, _settled_quietly, _rejected_share),
    "stock.change": Operation(_send_stock, _delivered_stock, _rejected_stock),
}
