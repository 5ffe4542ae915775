"""Connector for salon/fitness booking platforms (Booksy-like REST API, OAuth2 client credentials).

The API is documented in `devnet.simulators.platform`. What this side adds: one access
token shared by every call (fetched under a lock, renewed shortly before it expires, and
fetched again once when the platform answers 401), pagination followed to the last page,
and the platform's vocabulary (``starts_at``, ``staff_id``, ``client_id``, decimal-string
prices, ``booked``/``finished``) turned into the gateway's records. Platforms keep no stock
and lend no staff: those operations raise `OperationNotSupported`.

Delta pulls read the platform's ``/v1/changes/{customers|appointments|staff}`` feed (at most
100 rows a page; no stock). Version tokens are the platform's ``revision``; a write that expects
one sends ``If-Match: "<revision>"``, and the platform's 412 ``precondition_failed`` becomes
``UpstreamRejected(STALE_VERSION)``. Answers arrive gzipped (httpx asks for it and decodes it).

Credentials: ``client_id`` and ``client_secret``. ``config.extra["page_size"]`` sets how many
rows a list page asks for (default 100, the platform's maximum).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

import httpx

from sources.cache.types import utc_now
from sources.connectors import platform_wire as wire
from sources.connectors.base import Capability, ConnectorConfig
from sources.connectors.errors import OperationNotSupported, RejectionCode, UpstreamRejected
from sources.connectors.http import LocationHttpClient
from sources.connectors.platform_session import PlatformSession
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
    RemoteRecord,
    RemoteResource,
    RemoteService,
    RemoteStockLevel,
    Slot,
    StockAck,
)

CAPABILITIES = frozenset(
    {
        Capability.READ_CATALOG,
        Capability.READ_BOOKINGS,
        Capability.READ_CUSTOMERS,
        Capability.AVAILABILITY,
        Capability.CREATE_BOOKING,
        Capability.CHANGE_BOOKING,
        Capability.WRITE_CUSTOMERS,
    }
)
MAX_PAGES = 10_000  # a platform that keeps saying "next page" is broken, not big
MAX_FEED_LIMIT = 100  # the platform's largest change-feed page


class PlatformConnector:
    def __init__(self, config: ConnectorConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._config = config
        self._session = PlatformSession(config, LocationHttpClient(config, transport=transport))
        self._page_size = int(config.extra.get("page_size", 100))

    @property
    def location_id(self) -> str:
        return self._config.location_id

    @property
    def capabilities(self) -> frozenset[Capability]:
        return CAPABILITIES

    @property
    def breaker_state(self) -> str:
        """closed | open | half_open: whether calls to the platform are being let through (admin health)."""
        return self._session.breaker_state

    # -- plumbing -------------------------------------------------------------------------

    def _when(self, value: datetime) -> str:
        try:
            return wire.time_out(value)
        except ValueError as error:
            raise UpstreamRejected(self.location_id, RejectionCode.INVALID_INPUT, str(error)) from error

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._session.answer(await self._session.call("GET", path, params=params), f"GET {path}")

    async def _write(
        self, method: str, path: str, body: dict[str, Any], idempotency_key: str, expected_version: int | None = None
    ) -> dict[str, Any]:
        what = f"{method} {path}"
        # The platform's optimistic lock: the revision we last saw, as an ETag.
        headers = None if expected_version is None else {"If-Match": f'"{expected_version}"'}
        response = await self._session.call(
            method, path, json=body, idempotency_key=idempotency_key, extra_headers=headers
        )
        payload = self._session.answer(response, what)
        return self._session.read(what, partial(wire.obj, payload, "the answer"))

    async def _all_pages(self, path: str, key: str, changed_since: datetime | None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"per_page": self._page_size}
        if changed_since is not None:
            params["updated_since"] = self._when(changed_since)
        rows: list[dict[str, Any]] = []
        page = 1
        for _ in range(MAX_PAGES):
            payload = await self._get(path, {**params, "page": page})
            rows.extend(self._session.read(f"GET {path} page {page}", partial(wire.items, payload, key)))
            following = payload.get("next_page") if isinstance(payload, dict) else None
            if following is None:
                return rows
            if not isinstance(following, int) or isinstance(following, bool) or following <= page:
                raise self._session.unavailable(f"GET {path}: next_page {following!r} after page {page}")
            page = following
        raise self._session.unavailable(f"GET {path}: still more pages after {MAX_PAGES}")

    def _ack(self, payload: dict[str, Any], what: str) -> BookingAck:
        def parse() -> BookingAck:
            booking = wire.booking_in(payload)
            return BookingAck(
                local_id=booking.local_id,
                local_customer_id=booking.local_customer_id,
                local_resource_id=booking.local_resource_id,
                status=booking.status,
                version=booking.version,
            )

        return self._session.read(what, parse)

    # -- reads ----------------------------------------------------------------------------

    async def check_health(self) -> LocationHealth:
        payload = await self._get("/v1/business")

        def parse() -> LocationHealth:
            business = wire.obj(payload, "the business")
            status = "online" if wire.string(business, "status") == "active" else "degraded"
            return LocationHealth(
                status=status, version=wire.optional_string(business, "api_version"), checked_at=utc_now()
            )

        return self._session.read("GET /v1/business", parse)

    async def list_services(self) -> list[RemoteService]:
        payload = await self._get("/v1/services")
        return self._session.read(
            "GET /v1/services", lambda: [wire.service_in(row) for row in wire.items(payload, "services")]
        )

    async def list_resources(self) -> list[RemoteResource]:
        payload = await self._get("/v1/staff")
        return self._session.read(
            "GET /v1/staff", lambda: [wire.resource_in(row) for row in wire.items(payload, "staff")]
        )

    async def list_bookings(self, changed_since: datetime | None) -> list[RemoteBooking]:
        rows = await self._all_pages("/v1/appointments", "appointments", changed_since)
        return self._session.read("GET /v1/appointments", lambda: [wire.booking_in(row) for row in rows])

    async def list_customers(self, changed_since: datetime | None) -> list[RemoteCustomer]:
        rows = await self._all_pages("/v1/customers", "customers", changed_since)
        return self._session.read("GET /v1/customers", lambda: [wire.customer_in(row) for row in rows])

    async def list_stock(self) -> list[RemoteStockLevel]:
        raise OperationNotSupported(self.location_id, "a booking platform keeps no stock")

    async def pull_changes(self, entity_type: EntityType, after: Cursor | None, limit: int) -> ChangePage:
        if entity_type is EntityType.SERVICES:
            # No change feed for the service menu: the whole menu, so what it no longer offers is retired.
            offered: list[RemoteRecord] = [*await self.list_services()]
            return ChangePage(records=offered, next_cursor=after, has_more=False, complete=True)
        collection = wire.FEEDS.get(entity_type)
        if collection is None:
            raise OperationNotSupported(self.location_id, "a booking platform keeps no stock")
        path = f"/v1/changes/{collection}"
        payload = await self._get(path, wire.feed_params(after, max(1, min(limit, MAX_FEED_LIMIT))))
        return self._session.read(f"GET {path}", lambda: wire.change_page_in(payload, collection, after))

    async def availability(self, local_service_id: str, start_at: datetime, end_at: datetime) -> list[Slot]:
        params = {"service_id": local_service_id, "start": self._when(start_at), "end": self._when(end_at)}
        payload = await self._get("/v1/availability", params)
        return self._session.read(
            "GET /v1/availability",
            lambda: [wire.slot_in(local_service_id, row) for row in wire.items(payload, "slots")],
        )

    # -- writes ---------------------------------------------------------------------------

    async def create_booking(self, request: BookingRequest) -> BookingAck:
        customer = request.customer
        body = {
            "service_id": request.local_service_id,
            "staff_id": request.local_resource_id,
            "starts_at": self._when(request.start_at),
            "ends_at": self._when(request.end_at),
            "client_id": request.local_customer_id,
            "client": {
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "email": customer.email,
                "mobile": customer.phone,
                "external_reference": customer.global_id,
            },
            "price": wire.price_out(request.price_minor, request.currency),
            "note": request.notes,
            "external_reference": request.global_id,
        }
        payload = await self._write("POST", "/v1/appointments", body, request.idempotency_key)
        return self._ack(payload, "POST /v1/appointments")

    async def reschedule_booking(
        self,
        local_id: str,
        start_at: datetime,
        end_at: datetime,
        local_resource_id: str | None,
        idempotency_key: str,
        expected_version: int | None = None,
    ) -> BookingAck:
        body = {"starts_at": self._when(start_at), "ends_at": self._when(end_at), "staff_id": local_resource_id}
        path = f"/v1/appointments/{_segment(local_id)}"
        payload = await self._write("PATCH", path, body, idempotency_key, expected_version)
        return self._ack(payload, f"PATCH {path}")

    async def cancel_booking(
        self, local_id: str, reason: str, idempotency_key: str, expected_version: int | None = None
    ) -> BookingAck:
        path = f"/v1/appointments/{_segment(local_id)}/cancel"
        payload = await self._write("POST", path, {"reason": reason}, idempotency_key, expected_version)
        return self._ack(payload, f"POST {path}")

    async def upsert_customer(
        self, local_id: str | None, details: CustomerDetails, idempotency_key: str, expected_version: int | None = None
    ) -> CustomerAck:
        body = {
            "first_name": details.first_name,
            "last_name": details.last_name,
            "email": details.email,
            "mobile": details.phone,
            "external_reference": details.global_id,
            "preferences": details.preferences,
        }
        if local_id is None:
            method, path, expected_version = "POST", "/v1/customers", None  # nothing to compare a new row with
        else:
            method, path = "PATCH", f"/v1/customers/{_segment(local_id)}"
        payload = await self._write(method, path, body, idempotency_key, expected_version)
        return self._session.read(
            f"{method} {path}",
            lambda: CustomerAck(local_id=wire.string(payload, "id"), version=wire.integer(payload, "revision")),
        )

    async def merge_customers(self, keep_local_id: str, remove_local_id: str, idempotency_key: str) -> None:
        path = f"/v1/customers/{_segment(keep_local_id)}/merge"
        await self._write("POST", path, {"client_id": remove_local_id}, idempotency_key)

    # -- what a platform does not do ------------------------------------------------------

    async def share_resource(
        self, local_resource_id: str, with_location_id: str, rules: dict[str, Any], idempotency_key: str
    ) -> None:
        raise OperationNotSupported(self.location_id, "a booking platform cannot share staff with other locations")

    async def unshare_resource(self, local_resource_id: str, with_location_id: str, idempotency_key: str) -> None:
        raise OperationNotSupported(self.location_id, "a booking platform cannot share staff with other locations")

    async def change_stock(self, sku: str, delta: int, reason: str, reference: str, idempotency_key: str) -> StockAck:
        raise OperationNotSupported(self.location_id, "a booking platform keeps no stock")

    async def reserve_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck:
        raise OperationNotSupported(self.location_id, "a booking platform keeps no stock")

    async def release_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck:
        raise OperationNotSupported(self.location_id, "a booking platform keeps no stock")

    async def aclose(self) -> None:
        await self._session.aclose()


def _segment(local_id: str) -> str:
    """A platform id as one path segment, so an odd id cannot reach another endpoint."""
    return quote(local_id, safe="")
