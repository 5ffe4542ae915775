"""A OneBooking source website (specs/onebooking-central.md): the gateway plays OneBooking Central.

The website owns its bookings and pushes them to Central (`OneBookingPusher`,
devnet/simulators/onebooking_push.py); Central syncs admin edits back by calling the
website's webhook, which this app serves:

POST /api/webhooks/onebooking   (the spec's app/api/webhooks/onebooking/route.ts)
    headers  X-Webhook-Signature: sha256=<hex HMAC-SHA256 of f"{timestamp}.{raw body}" under the shared secret>
             X-Webhook-Timestamp: <unix seconds>, accepted within ±300 s of the website's clock
             X-Webhook-Id: <event id, stable across retries>; a replay is applied once (store idempotency key)
             The signature is checked by the spec's own verifyWebhookSignature (onebooking_inbox), and every
             delivery is recorded in the app's WebhookInbox; `inbox.fail_first = N` answers each event's
             first N deliveries 503 SERVER_ERROR (checked, nothing applied).
    body     {"event": "booking.updated" | "booking.status_changed", "source_booking_id": "...",
              "updated_fields": [...], "data": {...}, "updated_at": "...", "updated_by": "..."}
             data.status == "cancelled" cancels; data.activity_date ("YYYY-MM-DD") and/or data.time_slot
             ("HH:MM"), local time at the website, move the booking (a missing one keeps its current value)
             and keep its length. Other data fields (admin_notes...) are accepted: this website has nowhere
             to keep them.
    200 {"success": true, "message": "Booking updated"}
    errors {"success": false, "error": "<what>", "code": "<CODE>"}:
        401 AUTH_FAILED (bad signature, missing or stale timestamp), 400 INVALID_PAYLOAD,
        404 BOOKING_NOT_FOUND, 409 SLOT_UNAVAILABLE, 409 BOOKING_CONFLICT (e.g. moving a cancelled booking)

GET /api/onebooking/health   200 {"status": "ok", "version": "<version>"}
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devnet.simulators.onebooking_inbox import ReceivedWebhook, WebhookInbox, verify_webhook_signature
from devnet.simulators.onebooking_push import OneBookingPusher
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoreError

__all__ = [
    "OneBookingPusher",
    "ReceivedWebhook",
    "WebhookInbox",
    "onebooking_app",
    "onebooking_local_ids",
    "verify_webhook_signature",
    "webhook_inbox",
]

WEBHOOK_PATH = "/api/webhooks/onebooking"
HEALTH_PATH = "/api/onebooking/health"
TIMESTAMP_TOLERANCE_SECONDS = 300
WEBHOOK_EVENTS = frozenset({"booking.updated", "booking.status_changed"})
DEFAULT_VERSION = "1.0.0"

# StoreError code -> (HTTP status, the website's error code).
_STORE_ERRORS = {
    "NOT_FOUND": (404, "BOOKING_NOT_FOUND"),
    "SLOT_UNAVAILABLE": (409, "SLOT_UNAVAILABLE"),
    "CONFLICT": (409, "BOOKING_CONFLICT"),
    "INVALID_INPUT": (400, "INVALID_PAYLOAD"),
}


class _Refused(Exception):
    def __init__(self, status: int, code: str, error: str) -> None:
        super().__init__(error)
        self.status, self.code, self.error = status, code, error


def _failure(status: int, code: str, error: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": error, "code": code}, status_code=status)


def _signed_by(secret: str, body: bytes, signature: str | None, timestamp: str | None) -> bool:
    if not signature or not timestamp:
        return False
    try:
        payload = body.decode()
    except UnicodeDecodeError:
        return False
    return verify_webhook_signature(payload, signature, secret, timestamp)


def _verify(secret: str, body: bytes, signature: str | None, timestamp: str | None, now: float) -> None:
    """The spec's verifyWebhookSignature, plus a replay window."""
    if not signature or not timestamp:
        raise _Refused(401, "AUTH_FAILED", "X-Webhook-Signature and X-Webhook-Timestamp are required")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise _Refused(401, "AUTH_FAILED", "X-Webhook-Timestamp is not unix seconds") from None
    if abs(now - sent_at) > TIMESTAMP_TOLERANCE_SECONDS:
        raise _Refused(401, "AUTH_FAILED", "X-Webhook-Timestamp is outside the accepted window")
    if not _signed_by(secret, body, signature, timestamp):
        raise _Refused(401, "AUTH_FAILED", "invalid webhook signature")


def _local_start(day: str, slot: str, zone: ZoneInfo) -> datetime:
    """A wall-clock date and time at the website; a time the clocks skip (DST) does not exist."""
    try:
        naive = datetime.combine(date.fromisoformat(day), clock_time.fromisoformat(slot))
    except ValueError:
        raise _Refused(400, "INVALID_PAYLOAD", "activity_date must be YYYY-MM-DD and time_slot HH:MM") from None
    moment = naive.replace(tzinfo=zone)
    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise _Refused(400, "INVALID_PAYLOAD", f"{day} {slot} does not exist in {zone.key} (clock change)")
    return moment


def _apply_update(store: LocationStore, payload: Any, event_id: str | None) -> None:
    if not isinstance(payload, dict):
        raise _Refused(400, "INVALID_PAYLOAD", "the body must be a JSON object")
    if payload.get("event") not in WEBHOOK_EVENTS:
        raise _Refused(400, "INVALID_PAYLOAD", f"event must be one of {sorted(WEBHOOK_EVENTS)}")
    local_id, data = payload.get("source_booking_id"), payload.get("data")
    if not isinstance(local_id, str) or not isinstance(data, dict):
        raise _Refused(400, "INVALID_PAYLOAD", "source_booking_id (string) and data (object) are required")
    booking = store.bookings.get(local_id)
    if booking is None:
        raise _Refused(404, "BOOKING_NOT_FOUND", f"no booking {local_id}")
    status = data.get("status")
    if status is not None and status != "cancelled":
        raise _Refused(400, "INVALID_PAYLOAD", "the only status this website takes from Central is 'cancelled'")
    day, slot = data.get("activity_date"), data.get("time_slot")
    if day is not None or slot is not None:
        current = booking.start_at.astimezone(store.zone)
        day = current.date().isoformat() if day is None else day
        slot = current.strftime("%H:%M") if slot is None else slot
        if not isinstance(day, str) or not isinstance(slot, str):
            raise _Refused(400, "INVALID_PAYLOAD", "activity_date and time_slot must be strings")
        start = _local_start(day, slot, store.zone)
        # One event may carry several changes: each gets its own key so a replay skips each once.
        store.reschedule_booking(
            key=None if event_id is None else f"{event_id}:schedule",
            local_id=local_id,
            start_at=start,
            end_at=start + (booking.end_at - booking.start_at),
            local_resource_id=None,
        )
    if status == "cancelled":
        reason = data.get("admin_notes") or data.get("reason") or ""
        store.cancel_booking(
            key=None if event_id is None else f"{event_id}:status", local_id=local_id, reason=str(reason)
        )


def onebooking_app(
    store: LocationStore,
    *,
    webhook_secret: str,
    version: str = DEFAULT_VERSION,
    clock: Callable[[], float] = time.time,
    inbox: WebhookInbox | None = None,
) -> Starlette:
    """The website's HTTP side: the webhook Central calls, and a health check. Every webhook delivery is
    recorded in `inbox` (webhook_inbox(app) finds it again)."""
    received = inbox if inbox is not None else WebhookInbox()

    async def answer(request: Request, body: bytes, event_key: str) -> JSONResponse:
        event_id = request.headers.get("x-webhook-id")
        try:
            _verify(
                webhook_secret,
                body,
                request.headers.get("x-webhook-signature"),
                request.headers.get("x-webhook-timestamp"),
                clock(),
            )
            if received.attempt(event_key) <= received.fail_first:
                return _failure(503, "SERVER_ERROR", "the website is briefly down (simulated)")
            try:
                payload = json.loads(body)
            except ValueError:
                raise _Refused(400, "INVALID_PAYLOAD", "the body is not JSON") from None
            _apply_update(store, payload, event_id)
        except _Refused as refused:
            return _failure(refused.status, refused.code, refused.error)
        except StoreError as error:
            status, code = _STORE_ERRORS.get(error.code, (409, error.code))
            return _failure(status, code, error.message)
        return JSONResponse({"success": True, "message": "Booking updated"})

    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        event_key = request.headers.get("x-webhook-id") or hashlib.sha256(body).hexdigest()
        replay = received.seen_applied(event_key)
        response = await answer(request, body, event_key)
        signature, timestamp = request.headers.get("x-webhook-signature"), request.headers.get("x-webhook-timestamp")
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        received.record(
            ReceivedWebhook(
                event_id=request.headers.get("x-webhook-id"),
                body=body,
                signature=signature,
                timestamp=timestamp,
                verified=_signed_by(webhook_secret, body, signature, timestamp),
                status=response.status_code,
                replay=replay and response.status_code == 200,
                payload=payload if isinstance(payload, dict) else {},
            ),
            event_key,
        )
        return response

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": version})

    app = Starlette(
        routes=[Route(WEBHOOK_PATH, webhook, methods=["POST"]), Route(HEALTH_PATH, health, methods=["GET"])]
    )
    app.state.webhook_inbox = received
    return app


def webhook_inbox(app: Any) -> WebhookInbox:
    """The inbox of a website app, also through the simulator's controls (SimulatedLocation.app)."""
    inner = getattr(app, "app", app) if not hasattr(app, "state") else app
    inbox: WebhookInbox = inner.state.webhook_inbox
    return inbox


def onebooking_local_ids(seed: int) -> Callable[[str], str]:
    """New ids in the website's style: bookings "OB-1A2B3C4D", customers "ob-<10 hex>", others "ob-<kind>-<hex>".

    Wider than the demo network's OneBooking ids ("OB-12345", "ob-<6 hex>"), so a store seeded from
    the demo cache never hands out an id it already holds.
    """
    rng = random.Random(seed)
    issued: set[str] = set()

    def new_id(kind: str) -> str:
        while True:
            if kind == "booking":
                candidate = f"OB-{rng.getrandbits(32):08X}"
            elif kind == "customer":
                candidate = f"ob-{rng.getrandbits(40):010x}"
            else:
                candidate = f"ob-{kind}-{rng.getrandbits(32):08x}"
            if candidate not in issued:
                issued.add(candidate)
                return candidate

    return new_id
