"""OneBooking Central's inbound API (specs/onebooking-central.md): source websites push their bookings.

POST /api/bookings/sync
    X-API-Key: the website's key: the credential store's current (or in-grace) inbound key of a
    location of kind "onebooking" that is not retired (that location is the website).
    Body: the spec's booking (event, source_booking_id, booking_ref, package_name,
    package_price, activity_date, time_slot, guest_count, total_amount, discount_amount,
    currency, status, customer {name, email, phone, ...}, created_at; transport, addons
    and payment fields are accepted and not kept).
    200 {"success": true, "booking_id": "<network booking id>", "message": "Booking synced successfully"}
    errors {"success": false, "error": "<what>", "code": ...}: 401 AUTH_FAILED, 400 INVALID_PAYLOAD,
    409 DUPLICATE_BOOKING (booking.created for a booking we already have), 429 RATE_LIMITED (with
    Retry-After: the website spent its requests for now), 500 SERVER_ERROR.

Choices the spec leaves open:
- Amounts are JSON numbers in the currency's major units, read exactly (never through a
  float) and kept in minor units: 45.5 GBP -> 4550. More decimals than the currency has
  is INVALID_PAYLOAD. `currency` defaults to the location's own and must equal it.
- `package_name` must be the name of one of the location's services; the booking lasts
  that service's duration from `activity_date` + `time_slot`, local time at the location.
- The website's customer is known at the location by their email, lowercased, or by
  their phone when there is no email (an email longer than a local id can hold is hashed).
- `booking.updated`/`booking.cancelled`/`booking.refunded` for a booking we have not seen
  creates it: pushes may arrive out of order.

A push is taken in as a pull of the website would be (`sync.apply.inbound`): the same apply
pipeline, the network's rules, the app's one cache writer, the same events to subscribers and
the outbox woken for what it queued. Everything it uses comes from the app's services.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.principal import location_principal
from resolvers.services import Services
from shims.common.endpoint import Endpoint, ErrorShape
from shims.common.refusal import Refusal
from shims.limits import retry_after, retry_after_headers
from sources.cache.models import Booking, CustomerMapping, Location, Service
from sources.cache.money import InexactAmount, to_minor_units
from sources.cache.types import utc_now
from sources.connectors.records import RemoteBooking, RemoteCustomer
from sync.apply.inbound import apply_inbound

logger = logging.getLogger(__name__)

SYNC_PATH = "/api/bookings/sync"
LOCAL_ID_MAX = 64
# The website's status words -> the gateway's.
_STATUSES = {
    "pending": "pending",
    "confirmed": "confirmed",
    "paid": "confirmed",
    "completed": "completed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "refunded": "cancelled",
    "no_show": "no_show",
}
_CANCELLING_EVENTS = frozenset({"booking.cancelled", "booking.refunded"})


class SyncCustomer(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, min_length=1, max_length=32)
    special_requests: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _reachable(self) -> SyncCustomer:
        if not self.email and not self.phone:
            raise ValueError("the customer needs an email or a phone")
        return self


class SyncBooking(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event: Literal["booking.created", "booking.updated", "booking.cancelled", "booking.refunded"]
    source_booking_id: str = Field(min_length=1, max_length=LOCAL_ID_MAX)
    booking_ref: str = Field(min_length=1, max_length=64)
    package_name: str = Field(min_length=1, max_length=200)
    package_price: Decimal = Field(ge=0)
    activity_date: date
    time_slot: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    guest_count: int = Field(ge=1)
    total_amount: Decimal = Field(ge=0)
    discount_amount: Decimal = Field(default=Decimal(0), ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    status: str = "confirmed"
    customer: SyncCustomer
    created_at: datetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SyncBooking:
        if self.status not in _STATUSES:
            raise ValueError(f"status must be one of {sorted(_STATUSES)}")
        if self.discount_amount > self.total_amount:
            raise ValueError("discount_amount is more than total_amount")
        return self


class _Refused(Exception):
    """An expected refusal, answered with the spec's error body."""

    def __init__(self, status: int, code: str, error: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status, self.code, self.error, self.headers = status, code, error, headers


def _failure(status: int, code: str, error: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"success": False, "error": error, "code": code}, status_code=status, headers=headers)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _parse(raw: bytes) -> SyncBooking:
    try:
        # Decimals straight from the text: an amount never passes through a float.
        body = json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)
    except ValueError:
        raise _Refused(400, "INVALID_PAYLOAD", "the body is not JSON") from None
    try:
        return SyncBooking.model_validate(body)
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
            for problem in error.errors()[:10]
        ]
        raise _Refused(400, "INVALID_PAYLOAD", "; ".join(problems)) from None


async def _website(services: Services, api_key: str | None) -> Location:
    if not api_key:
        raise _Refused(401, "AUTH_FAILED", "Missing API key")
    # The store compares keyed hashes in constant time, and accepts a rotated-out key during its grace.
    location_id = await services.credentials.verify(api_key, kind="onebooking")
    if location_id is None:
        raise _Refused(401, "AUTH_FAILED", "Invalid API key")
    async with AsyncSession(services.engine) as session:
        website = await session.get(Location, location_id)
    if website is None:
        raise _Refused(401, "AUTH_FAILED", "Invalid API key")
    return website


def _minor_units(amount: Decimal, currency: str) -> int:
    try:
        return to_minor_units(amount, currency)
    except InexactAmount as inexact:
        raise _Refused(400, "INVALID_PAYLOAD", f"total_amount: {inexact}") from None


def _local_start(day: date, slot: str, zone: ZoneInfo) -> datetime:
    naive = datetime.combine(day, time.fromisoformat(slot))
    moment = naive.replace(tzinfo=zone)
    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise _Refused(400, "INVALID_PAYLOAD", f"{day} {slot} does not exist in {zone.key} (the clocks change)")
    return moment.astimezone(UTC)


def _customer_local_id(customer: SyncCustomer) -> str:
    if customer.email:
        email = customer.email.lower()
        return email if len(email) <= LOCAL_ID_MAX else f"email-{hashlib.sha256(email.encode()).hexdigest()[:32]}"
    assert customer.phone is not None  # SyncCustomer requires one of the two
    return customer.phone


def _services(request: Request) -> Services:
    """The app's services, opened once by its lifespan (one cache writer, one bus, the sync engine and its rules)."""
    services: Services = request.app.state.services
    return services


async def _sync(request: Request) -> JSONResponse:
    services = _services(request)
    engine = services.engine
    website = await _website(services, request.headers.get("x-api-key"))
    # Keyed by the website it authenticated as: one busy website does not slow the others down.
    wait = retry_after(request, location_principal(website.id))
    if wait is not None:
        raise _Refused(429, "RATE_LIMITED", f"Too many requests: try again in {wait} s", retry_after_headers(wait))
    push = _parse(await request.body())
    currency = push.currency or website.currency
    if currency != website.currency:
        raise _Refused(400, "INVALID_PAYLOAD", f"currency: {website.id} takes {website.currency}")
    price_minor = _minor_units(push.total_amount - push.discount_amount, currency)
    start_at = _local_start(push.activity_date, push.time_slot, ZoneInfo(website.timezone))
    customer_local_id = _customer_local_id(push.customer)

    async with AsyncSession(engine) as session:
        if push.event == "booking.created":
            known = await session.scalar(
                select(Booking.id)
                .where(Booking.service_location_id == website.id, Booking.local_booking_id == push.source_booking_id)
                .limit(1)
            )
            if known is not None:
                raise _Refused(409, "DUPLICATE_BOOKING", "Booking already exists (use an update event)")
        service = (
            await session.execute(
                select(Service.local_service_id, Service.duration_minutes)
                .where(Service.location_id == website.id, Service.name == push.package_name)
                .order_by(Service.is_active.desc(), Service.local_service_id)
                .limit(1)
            )
        ).first()
        if service is None:
            raise _Refused(400, "INVALID_PAYLOAD", f"package_name: {push.package_name!r} is not a package here")
        # The website has no loyalty scheme: keep the points the location's mapping already has.
        points = await session.scalar(
            select(CustomerMapping.loyalty_points).where(
                CustomerMapping.location_id == website.id, CustomerMapping.local_customer_id == customer_local_id
            )
        )

    now = utc_now()
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
        local_resource_id=None,
        start_at=start_at,
        end_at=start_at + timedelta(minutes=service.duration_minutes),
        status="cancelled" if push.event in _CANCELLING_EVENTS else _STATUSES[push.status],
        price_minor=price_minor,
        currency=currency,
        notes=push.customer.special_requests or "",
        version=0,  # the website keeps no version: the cache counts its own
        updated_at=now,
    )
    result = await apply_inbound(services.sync, website.id, customers=[customer], bookings=[booking])
    return JSONResponse(
        {
            "success": True,
            "booking_id": result.booking_ids[push.source_booking_id],
            "message": "Booking synced successfully",
        }
    )


async def sync_booking(request: Request) -> JSONResponse:
    try:
        return await _sync(request)
    except _Refused as refused:
        return _failure(refused.status, refused.code, refused.error, refused.headers)
    except Exception:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        logger.exception("POST %s failed (request %s)", SYNC_PATH, request_id)
        return _failure(500, "SERVER_ERROR", f"Internal server error (request {request_id})")


class OneBookingError(BaseModel):
    """The spec's error body."""

    success: Literal[False] = False
    error: str
    code: str


class SyncAnswer(BaseModel):
    success: Literal[True] = True
    booking_id: str
    message: str


def _render(refusal: Refusal) -> dict[str, Any]:
    return {"success": False, "error": refusal.message, "code": refusal.code}


ONEBOOKING_ERRORS = ErrorShape(render=_render, model=OneBookingError)


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
        refusals={409: "DUPLICATE_BOOKING: booking.created for a booking the gateway has"},
        security=["apiKey"],
    )
