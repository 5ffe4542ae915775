"""OneBooking Central's inbound API (specs/onebooking-central.md): source websites push their bookings.

POST /api/bookings/sync, `X-API-Key` (website.website_of), the body of push_model.SyncBooking.
    200 {"success": true, "booking_id": "<network booking id>", "message": "..."}
    401 AUTH_FAILED, 404 WEBSITE_NOT_FOUND (a retired website's key), 400 INVALID_PAYLOAD,
    409 DUPLICATE_BOOKING (booking.created for a booking the gateway has), 429 RATE_LIMITED (Retry-After:
    keyed by the website), 500 SERVER_ERROR. Every refusal but 429 leaves one audit entry, nothing else.

Choices the spec leaves open:
- Amounts are JSON numbers in the currency's major units, read exactly and kept in minor units:
  45.5 GBP -> 4550 (more decimals than the currency has is INVALID_PAYLOAD). `currency` defaults
  to the website's own and must equal it.
- `package_name` names one of the website's services; the booking lasts its duration from
  `activity_date` + `time_slot`, local time at the website.
- The website's customer is known by their email, lowercased (by phone without one); one the
  location already knows under another id is that same network customer.
- Transport, addons, guest count, booking ref, payment id, country code, special requests and the
  website's status word are kept as the booking's source details (GET /api/bookings shows them).
- Once per event (sync.webhooks.receipts): a booking.created is one event per booking (a second copy,
  however concurrent, is 409 DUPLICATE_BOOKING); any other event is identified by its exact body, so
  a replay is answered 200 again with the same booking id and applies nothing.
- Order: the website sends no event id or version. An event is dated by the body's optional
  `updated_at` (else a booking.created by its `created_at`, else by when it arrived); cancellation
  and refund are terminal (the spec has no event that reinstates a booking), dated after anything:
  an update arriving after them (a late or replayed one) is stale. A stale event is answered 200,
  kept in the change log and not applied.
- An update/cancel/refund for a booking not seen yet creates it: pushes may arrive out of order.

A push is taken in as a pull of the website would be (sync.apply.inbound): the same apply pipeline,
the network's rules, the app's one cache writer, the same bookingEvents, the outbox woken for what it
queued. The website has nothing to pull, so no delta pull follows.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.principal import location_principal
from shims.common.callers import services_of, spend
from shims.common.endpoint import Endpoint, HeaderDoc, request_id_of
from shims.common.parsing import json_body, validated
from shims.common.refusal import Refusal
from shims.onebooking.errors import DUPLICATE_BOOKING, INVALID_PAYLOAD, ONEBOOKING_ERRORS, RATE_LIMITED
from shims.onebooking.push_model import CANCELLING_EVENTS, LOCAL_ID_MAX, STATUSES, SyncBooking, SyncCustomer
from shims.onebooking.website import KIND, website_of
from sources.cache.models import Booking, CustomerMapping, Location, Resource, Service
from sources.cache.money import InexactAmount, to_minor_units
from sources.cache.types import utc_now
from sources.connectors.records import RemoteBooking, RemoteCustomer
from sync.apply.inbound import apply_inbound
from sync.webhooks.receipts import Delivery, DuplicateDelivery, body_sha256
from sync.webhooks.refusals import record_refusal

SYNC_PATH = "/api/bookings/sync"
# A cancellation's or refund's place in the booking's order: after any update the website can date.
TERMINAL = datetime(9000, 1, 1, tzinfo=UTC)


class SyncAnswer(BaseModel):
    success: Literal[True] = True
    booking_id: str = Field(max_length=64)
    message: str = Field(max_length=200)


def _minor_units(amount: Decimal, currency: str) -> int:
    try:
        return to_minor_units(amount, currency)
    except InexactAmount as inexact:
        raise Refusal(400, INVALID_PAYLOAD, f"total_amount: {inexact}") from None


def _local_start(day: date, slot: str, zone: ZoneInfo) -> datetime:
    naive = datetime.combine(day, time.fromisoformat(slot))
    moment = naive.replace(tzinfo=zone)
    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise Refusal(400, INVALID_PAYLOAD, f"{day} {slot} does not exist in {zone.key} (the clocks change)")
    return moment.astimezone(UTC)


def _customer_local_id(customer: SyncCustomer) -> str:
    if customer.email:
        email = customer.email.lower()
        return email if len(email) <= LOCAL_ID_MAX else f"email-{hashlib.sha256(email.encode()).hexdigest()[:32]}"
    assert customer.phone is not None  # SyncCustomer requires one of the two
    return customer.phone


def _occurred_at(push: SyncBooking, arrived_at: datetime) -> datetime:
    if push.event in CANCELLING_EVENTS:
        return TERMINAL
    if push.updated_at is not None:
        return push.updated_at
    if push.event == "booking.created" and push.created_at is not None:
        return push.created_at
    return arrived_at


def _delivery(website_id: str, push: SyncBooking, raw: bytes, arrived_at: datetime) -> Delivery:
    digest = body_sha256(raw)
    # A booking is created once: every booking.created for it is the same event, whatever else it says.
    event_id = f"booking.created:{push.source_booking_id}" if push.event == "booking.created" else f"body:{digest}"
    return Delivery(
        source=f"{KIND}:{website_id}",
        event_id=event_id,
        payload_sha256=digest,
        entity_type="booking",
        entity_id=push.source_booking_id,
        occurred_at=_occurred_at(push, arrived_at),
    )


async def _booking_id(session: AsyncSession, website_id: str, local_id: str) -> str | None:
    return await session.scalar(
        select(Booking.id)
        .where(Booking.service_location_id == website_id, Booking.local_booking_id == local_id)
        .limit(1)
    )


async def _records(
    session: AsyncSession, website: Location, push: SyncBooking, now: datetime
) -> tuple[RemoteCustomer, RemoteBooking]:
    """The push as the website's records, in its local ids; INVALID_PAYLOAD where it does not fit the website."""
    currency = push.currency or website.currency
    if currency != website.currency:
        raise Refusal(400, INVALID_PAYLOAD, f"currency: {website.id} takes {website.currency}")
    price_minor = _minor_units(push.total_amount - push.discount_amount, currency)
    start_at = _local_start(push.activity_date, push.time_slot, ZoneInfo(website.timezone))
    customer_local_id = _customer_local_id(push.customer)
    service = (
        await session.execute(
            select(Service.local_service_id, Service.duration_minutes)
            .where(Service.location_id == website.id, Service.name == push.package_name)
            .order_by(Service.is_active.desc(), Service.local_service_id)
            .limit(1)
        )
    ).first()
    if service is None:
        raise Refusal(400, INVALID_PAYLOAD, f"package_name: {push.package_name!r} is not a package here")
    # The website names no resource: one the gateway knows the booking by (a booking made before the website
    # pushed) is kept.
    resource = await session.scalar(
        select(Resource.local_resource_id)
        .join(Booking, Booking.resource_id == Resource.id)
        .where(Booking.service_location_id == website.id, Booking.local_booking_id == push.source_booking_id)
        .limit(1)
    )
    # The website has no loyalty scheme: keep the points the location's mapping already has.
    points = await session.scalar(
        select(CustomerMapping.loyalty_points).where(
            CustomerMapping.location_id == website.id, CustomerMapping.local_customer_id == customer_local_id
        )
    )
    first_name, _, last_name = " ".join(push.customer.name.split()).partition(" ")
    customer = RemoteCustomer(
        local_id=customer_local_id,
        first_name=first_name,
        last_name=last_name,
        email=push.customer.email,
        phone=push.customer.phone,
        loyalty_points=points or 0,
        updated_at=now,
    )
    booking = RemoteBooking(
        local_id=push.source_booking_id,
        local_customer_id=customer_local_id,
        local_service_id=service.local_service_id,
        local_resource_id=resource,
        start_at=start_at,
        end_at=start_at + timedelta(minutes=service.duration_minutes),
        status="cancelled" if push.event in CANCELLING_EVENTS else STATUSES[push.status],
        price_minor=price_minor,
        currency=currency,
        notes=push.customer.special_requests or "",
        version=0,  # the website keeps no version: the cache counts its own
        updated_at=now,
        details=push.details(),
        payment=push.payment(price_minor),
    )
    return customer, booking


def _answer(booking_id: str, message: str) -> JSONResponse:
    return JSONResponse(SyncAnswer(booking_id=booking_id, message=message).model_dump())


async def _sync(request: Request, raw: bytes, website: Location) -> JSONResponse:
    services = services_of(request)
    push = validated(SyncBooking, json_body(raw))
    now = utc_now()
    async with AsyncSession(services.engine) as session:
        known = await _booking_id(session, website.id, push.source_booking_id)
        if push.event == "booking.created" and known is not None:
            raise Refusal(409, DUPLICATE_BOOKING, "Booking already exists (use an update event)")
        customer, booking = await _records(session, website, push, now)
    delivery = _delivery(website.id, push, raw, now)
    try:
        result = await apply_inbound(
            services.sync, website.id, customers=[customer], bookings=[booking], delivery=delivery
        )
    except DuplicateDelivery:
        if push.event == "booking.created":
            raise Refusal(409, DUPLICATE_BOOKING, "Booking already exists (use an update event)") from None
        async with AsyncSession(services.engine) as session:
            replayed = await _booking_id(session, website.id, push.source_booking_id)
        await _audit(request, website.id, 200, "DUPLICATE_DELIVERY", "an exact copy of an event already received")
        return _answer(replayed or "", "Booking already synced (this event was received before)")
    if result.stale:
        return _answer(known or "", "Booking not changed: a newer event for it was applied already")
    return _answer(result.booking_ids[push.source_booking_id], "Booking synced successfully")


async def _audit(request: Request, website_id: str | None, status: int, code: str, reason: str) -> None:
    await record_refusal(
        services_of(request).writer,
        sender=f"{KIND}:{website_id or 'unknown'}",
        endpoint=f"POST {SYNC_PATH}",
        status=status,
        code=code,
        reason=reason,
        location_id=website_id,
        request_id=request_id_of(request),
    )


async def sync_booking(request: Request) -> JSONResponse:
    raw = await request.body()
    website_id: str | None = None
    try:
        website = await website_of(request)
        website_id = website.id
        # Keyed by the website it authenticated as: one busy website does not slow the others down.
        spend(request, location_principal(website.id), code=RATE_LIMITED)
        return await _sync(request, raw, website)
    except Refusal as refusal:
        # A flood is refused without writing anything: the limit is there to spare the gateway.
        if refusal.status != 429:
            await _audit(request, website_id, refusal.status, refusal.code, refusal.message)
        raise


def push_endpoint() -> Endpoint:
    return Endpoint(
        method="POST",
        path=SYNC_PATH,
        handler=sync_booking,
        errors=ONEBOOKING_ERRORS,
        summary="A source website pushes a new or changed booking",
        tag="onebooking",
        request_model=SyncBooking,
        response_model=SyncAnswer,
        refusals={
            404: "WEBSITE_NOT_FOUND: the key is a retired website's",
            409: "DUPLICATE_BOOKING: booking.created for a booking the gateway has",
        },
        security=["apiKey"],
        headers={"X-API-Key": HeaderDoc("The website's API key")},
    )
