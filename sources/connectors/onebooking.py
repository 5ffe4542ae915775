"""A OneBooking source website, seen from the gateway (which plays OneBooking Central).

Such a website pushes its bookings to the gateway (sync/onebooking.py) and exposes
nothing to read: the only thing the gateway can do there is sync an edit back, as a
signed `booking.updated` webhook (specs/onebooking-central.md, "Webhook Specification"):

    POST {base_url}/api/webhooks/onebooking
    X-Webhook-Signature: sha256=<hex HMAC-SHA256 of f"{timestamp}.{raw body}" under credentials["webhook_secret"]>
    X-Webhook-Timestamp: <unix seconds>
    X-Webhook-Id, Idempotency-Key: the gateway's idempotency key (the website dedupes on it; retries reuse it)

Reschedules send `activity_date` + `time_slot` in the website's local time, so the
config must name its timezone: `config.extra["timezone"]`. The webhook carries only a
start: the website keeps the booking's length and its resource, so `end_at` and
`local_resource_id` are not sent (a minute-precise start is required). The website's
answer carries no booking state, so a `BookingAck` here holds the local id given, the
status the change produced ("cancelled", or "confirmed" after a move), version 0
(unknown), local_customer_id "" (unknown) and no resource.

The website keeps no version tokens and its webhook has no way to name one, so an
`expected_version` is not checked there (its edit applies as the last writer), and there
is nothing to pull: every `pull_changes` raises `OperationNotSupported`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from identity.signatures import ONEBOOKING
from sources.cache.types import utc_now
from sources.connectors.base import Capability, ConnectorConfig
from sources.connectors.errors import LocationUnavailable, OperationNotSupported, RejectionCode, UpstreamRejected
from sources.connectors.http import LocationHttpClient
from sources.connectors.records import (
    BookingAck,
    BookingRequest,
    ChangePage,
    Cursor,
    CustomerAck,
    CustomerDetails,
    EntityType,
    LocationHealth,
    RemoteBooking,
    RemoteCustomer,
    RemoteResource,
    RemoteService,
    RemoteStockLevel,
    Slot,
    StockAck,
)

WEBHOOK_PATH = "/api/webhooks/onebooking"
HEALTH_PATH = "/api/onebooking/health"
UPDATED_BY = "gateway@onebooking"

# The website's error code -> what the gateway tells its caller.
_REJECTIONS = {
    "BOOKING_NOT_FOUND": RejectionCode.NOT_FOUND,
    "SLOT_UNAVAILABLE": RejectionCode.SLOT_UNAVAILABLE,
    "BOOKING_CONFLICT": RejectionCode.CONFLICT,
    "INVALID_PAYLOAD": RejectionCode.INVALID_INPUT,
    "AUTH_FAILED": RejectionCode.FORBIDDEN,
}


class WebhookSigningTransport(httpx.AsyncBaseTransport):
    """Signs every POST at the moment it is sent, over the exact bytes on the wire.

    Signing here rather than before the call means each retry of the HTTP client gets a
    fresh timestamp, and the signature can never disagree with how the body was encoded.
    """

    def __init__(self, secret: str, inner: httpx.AsyncBaseTransport, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret.encode()
        self._inner = inner
        self._clock = clock

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = await request.aread()
            timestamp = str(int(self._clock()))
            request.headers["X-Webhook-Timestamp"] = timestamp
            request.headers["X-Webhook-Signature"] = ONEBOOKING.sign(self._secret, body, timestamp)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class OneBookingConnector:
    def __init__(self, config: ConnectorConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        secret = config.credentials.get("webhook_secret")
        if not secret:
            raise ValueError(f"{config.location_id}: a OneBooking website needs credentials['webhook_secret']")
        try:
            self._zone = ZoneInfo(str(config.extra["timezone"]))
        except (KeyError, ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"{config.location_id}: a OneBooking website needs a valid extra['timezone']") from error
        self._config = config
        signer = WebhookSigningTransport(secret, transport or httpx.AsyncHTTPTransport())
        self._http = LocationHttpClient(config, transport=signer)

    @property
    def location_id(self) -> str:
        return self._config.location_id

    @property
    def breaker_state(self) -> str:
        """The location's circuit breaker: closed, open or half_open."""
        return self._http.breaker_state

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.CHANGE_BOOKING})

    # -- what the website offers -------------------------------------------------------------
    async def check_health(self) -> LocationHealth:
        body = await self._http.get_json(HEALTH_PATH)
        if not isinstance(body, dict) or not isinstance(body.get("status"), str):
            raise LocationUnavailable(self.location_id, f"GET {HEALTH_PATH}: no status in the answer")
        version = body.get("version")
        return LocationHealth(
            status="online" if body["status"] == "ok" else "degraded",
            version=version if isinstance(version, str) else None,
            checked_at=utc_now(),
        )

    async def reschedule_booking(
        self,
        local_id: str,
        start_at: datetime,
        end_at: datetime,
        local_resource_id: str | None,
        idempotency_key: str,
        expected_version: int | None = None,
    ) -> BookingAck:
        local_start = start_at.astimezone(self._zone)
        if local_start.second or local_start.microsecond:
            raise UpstreamRejected(
                self.location_id, RejectionCode.INVALID_INPUT, "a OneBooking website books to the minute"
            )
        data = {"activity_date": local_start.date().isoformat(), "time_slot": local_start.strftime("%H:%M")}
        await self._send_update(local_id, data, idempotency_key)
        return BookingAck(
            local_id=local_id, local_customer_id="", local_resource_id=None, status="confirmed", version=0
        )

    async def cancel_booking(
        self, local_id: str, reason: str, idempotency_key: str, expected_version: int | None = None
    ) -> BookingAck:
        data = {"status": "cancelled", **({"admin_notes": reason} if reason else {})}
        # The spec's event for a new status ("New status + notes").
        await self._send_update(local_id, data, idempotency_key, event="booking.status_changed")
        return BookingAck(
            local_id=local_id, local_customer_id="", local_resource_id=None, status="cancelled", version=0
        )

    async def send_booking_webhook(
        self, event: str, local_id: str, data: dict[str, str], idempotency_key: str, updated_by: str
    ) -> None:
        """Any of the spec's events to the website (an admin's notes, a test event), signed like every other."""
        await self._send_update(local_id, data, idempotency_key, event=event, updated_by=updated_by)

    async def _send_update(
        self,
        local_id: str,
        data: dict[str, str],
        idempotency_key: str,
        *,
        event: str = "booking.updated",
        updated_by: str = UPDATED_BY,
    ) -> None:
        payload = {
            "event": event,
            "source_booking_id": local_id,
            "updated_fields": sorted(data),
            "data": data,
            "updated_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "updated_by": updated_by,
        }
        headers = {"X-Webhook-Id": idempotency_key, "Idempotency-Key": idempotency_key}
        response = await self._http.request("POST", WEBHOOK_PATH, json=payload, headers=headers)
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise LocationUnavailable(
                self.location_id, f"POST {WEBHOOK_PATH}: HTTP {response.status_code} without a JSON object"
            )
        if response.is_success and body.get("success") is True:
            return
        rejection = _REJECTIONS.get(str(body.get("code")))
        if response.is_success or rejection is None:
            raise LocationUnavailable(
                self.location_id, f"POST {WEBHOOK_PATH}: unexpected answer HTTP {response.status_code}: {body!r:.200}"
            )
        raise UpstreamRejected(self.location_id, rejection, str(body.get("error") or body.get("code")))

    # -- what it does not: the website pushes its data to us ---------------------------------
    def _unsupported(self, what: str) -> NoReturn:
        raise OperationNotSupported(
            self.location_id, f"a OneBooking website pushes its bookings to the gateway; it cannot {what}"
        )

    async def list_services(self) -> list[RemoteService]:
        self._unsupported("list its services")

    async def list_resources(self) -> list[RemoteResource]:
        self._unsupported("list its resources")

    async def list_bookings(self, changed_since: datetime | None) -> list[RemoteBooking]:
        self._unsupported("list its bookings")

    async def list_customers(self, changed_since: datetime | None) -> list[RemoteCustomer]:
        self._unsupported("list its customers")

    async def list_stock(self) -> list[RemoteStockLevel]:
        self._unsupported("report stock")

    async def pull_changes(self, entity_type: EntityType, after: Cursor | None, limit: int) -> ChangePage:
        self._unsupported(f"be asked for its {entity_type.value}")

    async def availability(self, local_service_id: str, start_at: datetime, end_at: datetime) -> list[Slot]:
        self._unsupported("report availability")

    async def create_booking(self, request: BookingRequest) -> BookingAck:
        self._unsupported("take bookings from the gateway")

    async def upsert_customer(
        self, local_id: str | None, details: CustomerDetails, idempotency_key: str, expected_version: int | None = None
    ) -> CustomerAck:
        self._unsupported("take customer changes")

    async def merge_customers(self, keep_local_id: str, remove_local_id: str, idempotency_key: str) -> None:
        self._unsupported("merge customers")

    async def share_resource(
        self, local_resource_id: str, with_location_id: str, rules: dict[str, Any], idempotency_key: str
    ) -> None:
        self._unsupported("share resources")

    async def unshare_resource(self, local_resource_id: str, with_location_id: str, idempotency_key: str) -> None:
        self._unsupported("share resources")

    async def change_stock(self, sku: str, delta: int, reason: str, reference: str, idempotency_key: str) -> StockAck:
        self._unsupported("keep stock")

    async def reserve_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck:
        self._unsupported("keep stock")

    async def release_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck:
        self._unsupported("keep stock")

    async def aclose(self) -> None:
        await self._http.aclose()
