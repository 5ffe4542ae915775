"""POST /api/webhooks/{platform}?location=<location id>: one router for every platform's webhooks.

The platform (the path) says how the delivery is signed and spelled (shims/platforms/registry.py); the
`location` query parameter names the platform location it belongs to (the URL given to the platform when the
webhook is set up), whose `webhook_secret` (credential store; a rotated-out one during its grace) signs it.

In order, each refusal leaving one audit entry (`webhook.refused`) and nothing else:
    404 UNKNOWN_PLATFORM, 400 INVALID_LOCATION (no or a malformed `location`), 404 UNKNOWN_LOCATION (no
    platform location has that id), 413 (body over MAX_WEBHOOK_BYTES), 401 WEBHOOK_NOT_CONFIGURED (the location
    has no webhook secret), 401 MISSING_SIGNATURE / BAD_SIGNATURE / MISSING_TIMESTAMP / BAD_TIMESTAMP / EXPIRED
    (HMAC-SHA256 over the raw body, constant-time, 5-minute window where the platform signs a timestamp),
    429 RATE_LIMITED (the location's requests), 400 INVALID_JSON, 422 INVALID_EVENT, 503 LOCATION_UNAVAILABLE (a
    thin event's record could not be fetched), 409 DUPLICATE_EVENT (the event id was received before).
Accepted: the event's records go through the pull pipeline with the receipt in the same transaction (one
application per event id; an event older than the newest applied for its record is kept as stale and
changes nothing), then a delta pull of the location starts at once (trigger "webhook").
200 {"received": true, "platform", "location_id", "event_id", "outcome": "applied" | "stale",
     "booking_ids": [...], "customer_ids": [...]} (the network ids the event touched).
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.principal import location_principal
from resolvers.services import Services
from shims.common.callers import services_of, spend
from shims.common.endpoint import request_id_of
from shims.common.parsing import json_body, parse_query, validated
from shims.common.refusal import Refusal
from shims.platforms.answers import payload_too_large
from shims.platforms.event import LOCAL_ID_MAX, Facts, MalformedEvent, Platform, PlatformEvent
from shims.platforms.hydrate import hydrated, with_known_points
from shims.platforms.registry import PLATFORMS
from sources.cache.models import Location
from sources.cache.types import utc_now
from sources.network.model import SLUG
from sync.apply.inbound import apply_inbound
from sync.webhooks.receipts import Delivery, DuplicateDelivery, body_sha256
from sync.webhooks.refusals import record_refusal
from sync.webhooks.verify import SignatureRejected, verify

WEBHOOK_PATH = "/api/webhooks/{platform}"
# Platform events are a record or two: a quarter of the app's limit is plenty, and what is refused here is audited.
MAX_WEBHOOK_BYTES = 256 * 1024
SECRET_NAME = "webhook_secret"
SOURCE_MAX = 64  # webhook_receipts.source


class WebhookQuery(BaseModel):
    location: str = Field(
        min_length=1,
        max_length=64,
        pattern=SLUG,
        description="Id of the platform location the delivery belongs to (part of the URL given to the platform)",
    )


class WebhookAnswer(BaseModel):
    received: Literal[True] = True
    platform: str = Field(max_length=32)
    location_id: str = Field(max_length=64)
    event_id: str = Field(max_length=200)
    outcome: Literal["applied", "stale"] = Field(
        description="applied: the event's records went in (or already matched); stale: a newer event for the same "
        "record was applied before, so this one was recorded and changed nothing"
    )
    booking_ids: list[str] = Field(max_length=10, description="Network ids of the bookings the event applied")
    customer_ids: list[str] = Field(max_length=10, description="Network ids of the customers the event applied")


def source_of(platform: Platform, location_id: str) -> str:
    """The receipts' sender: `<platform>:<location>`, hashed where that would not fit the column."""
    source = f"{platform.name}:{location_id}"
    if len(source) <= SOURCE_MAX:
        return source
    return f"{platform.name}:{hashlib.sha256(location_id.encode()).hexdigest()[:32]}"


async def take_webhook(request: Request, name: str) -> Response:
    """The delivery applied once, or refused with one audit entry for it."""
    services = services_of(request)
    given = request.query_params.get("location", "")[:LOCAL_ID_MAX]
    platform = PLATFORMS.get(name)
    try:
        if platform is None:
            raise Refusal(404, "UNKNOWN_PLATFORM", f"no webhooks are taken from {name[:64]!r}; see /openapi.json")
        return await _deliver(request, services, platform)
    except Refusal as refusal:
        await record_refusal(
            services.writer,
            sender=f"{name[:32]}:{given or '?'}",
            endpoint=request.url.path,
            status=refusal.status,
            code=refusal.code,
            reason=refusal.message,
            location_id=given or None,
            request_id=request_id_of(request),
        )
        if refusal.status == 413:
            return JSONResponse(payload_too_large(MAX_WEBHOOK_BYTES), status_code=413)
        raise


async def platform_webhook(request: Request) -> Response:
    return await take_webhook(request, request.path_params["platform"])


async def _platform_location(services: Services, location_id: str) -> Location:
    async with AsyncSession(services.engine) as session:
        location = await session.get(Location, location_id)
    if location is None or location.kind != "platform" or location.retired_at is not None:
        raise Refusal(404, "UNKNOWN_LOCATION", f"no platform location has id {location_id!r}")
    return location


async def _verified(request: Request, services: Services, platform: Platform, location: Location) -> bytes:
    raw = await request.body()
    if len(raw) > MAX_WEBHOOK_BYTES:
        raise Refusal(413, "PAYLOAD_TOO_LARGE", f"a webhook body is at most {MAX_WEBHOOK_BYTES} bytes")
    now = utc_now()
    secrets = await services.credentials.in_force(location.id, SECRET_NAME, now=now)
    if not secrets:
        raise Refusal(401, "WEBHOOK_NOT_CONFIGURED", f"{location.id} has no webhook secret to verify deliveries with")
    timestamp = request.headers.get(platform.timestamp_header) if platform.timestamp_header else None
    try:
        verify(
            platform.scheme,
            secrets,
            raw,
            request.headers.get(platform.signature_header, "")[:512],
            timestamp=None if timestamp is None else timestamp[:32],
            now=now,
        )
    except SignatureRejected as rejected:
        raise Refusal(401, rejected.reason.value, rejected.message) from None
    return raw


async def _event(services: Services, platform: Platform, location: Location, raw: bytes) -> PlatformEvent:
    body = validated(platform.body, json_body(raw, code="INVALID_JSON"), status=422, code="INVALID_EVENT")
    try:
        event = platform.normalise(body, Facts(location.id, location.currency))
    except MalformedEvent as malformed:
        raise Refusal(422, "INVALID_EVENT", str(malformed)) from None
    if event.thin:
        event = await hydrated(services, location.id, event)
    return await with_known_points(services.engine, location.id, event)


async def _deliver(request: Request, services: Services, platform: Platform) -> Response:
    query = parse_query(request, WebhookQuery, code="INVALID_LOCATION")
    location = await _platform_location(services, query.location)
    raw = await _verified(request, services, platform, location)
    # Counted once the sender proved who it is: a forger cannot spend a location's requests.
    spend(request, location_principal(location.id))
    event = await _event(services, platform, location, raw)
    delivery = Delivery(
        source=source_of(platform, location.id),
        event_id=event.event_id,
        payload_sha256=body_sha256(raw),
        entity_type=event.subject.value,
        entity_id=event.local_id,
        occurred_at=event.occurred_at,
    )
    try:
        result = await apply_inbound(
            services.sync, location.id, customers=event.customers, bookings=event.bookings, delivery=delivery
        )
    except DuplicateDelivery:
        raise Refusal(409, "DUPLICATE_EVENT", f"event {event.event_id!r} was received before") from None
    # The platform may have changed more than this event says: pull now, not at the next scheduled sync.
    services.sync.request(location.id, "webhook")
    answer = WebhookAnswer(
        platform=platform.name,
        location_id=location.id,
        event_id=event.event_id,
        outcome="stale" if result.stale else "applied",
        booking_ids=sorted(result.booking_ids.values())[:10],
        customer_ids=sorted(result.customer_ids.values())[:10],
    )
    return JSONResponse(answer.model_dump(mode="json"))
