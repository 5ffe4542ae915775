"""The connector for BookingX sites running the network add-on (API under /wp-json/bookingx-network/v1).

The API is described in `devnet/simulators/bookingx.py`; this side turns the gateway's
calls into it and its answers into `sources.connectors.records`. Credentials: `api_key`
and `api_secret`; `extra["node_id"]` when the node's id is not the location id.

Delta pulls use the paged form of POST /sync (every entity type; at most 1,000 records a
page). Version tokens are the node's integer `version` on every record; a write that
expects one sends it as `"expected_version"` in the body, and the node's 409
STALE_VERSION becomes `UpstreamRejected(STALE_VERSION)`. Answers arrive gzipped (httpx
asks for it and decodes it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from sources.cache.types import utc_now
from sources.connectors import bookingx_answers as answers
from sources.connectors.base import Capability, ConnectorConfig
from sources.connectors.bookingx_answers import Fields, MalformedAnswer
from sources.connectors.bookingx_session import BookingXSession
from sources.connectors.errors import LocationUnavailable
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

T = TypeVar("T")
MAX_SYNC_LIMIT = 1000  # the node's largest page


def _segment(value: str) -> str:
    """A local id as one path segment, whatever characters the site put in it."""
    return quote(value, safe="")


class BookingXConnector:
    def __init__(self, config: ConnectorConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._config = config
        self._http = LocationHttpClient(config, transport=transport)
        self.session = BookingXSession(config, self._http)

    @property
    def location_id(self) -> str:
        return self._config.location_id

    @property
    def breaker_state(self) -> str:
        """The location's circuit breaker: closed, open or half_open."""
        return self._http.breaker_state

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset(Capability)

    async def _call(
        self,
        method: str,
        path: str,
        read: Callable[[Fields], T],
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        authenticated: bool = True,
    ) -> T:
        answer = await self.session.call(
            method, path, json=json, params=params, idempotency_key=idempotency_key, authenticated=authenticated
        )
        try:
            return read(Fields(answer))
        except MalformedAnswer as error:
            raise LocationUnavailable(self.location_id, f"{method} {path}: {error}") from error

    # -- reads ---------------------------------------------------------------------------------
    async def check_health(self) -> LocationHealth:
        def read(f: Fields) -> LocationHealth:
            return LocationHealth(
                status=f.identifier("status"), version=f.optional_text("version"), checked_at=utc_now()
            )

        return await self._call("GET", "/health", read, authenticated=False)

    async def list_services(self) -> list[RemoteService]:
        return await self._call("GET", "/services", lambda f: [answers.service(s) for s in f.items("services")])

    async def list_resources(self) -> list[RemoteResource]:
        # Staff lent in by other nodes are listed too ("owned": false); they belong to their owner's list.
        def read(f: Fields) -> list[RemoteResource]:
            return [answers.resource(r) for r in f.items("resources") if r.boolean("owned")]

        return await self._call("GET", "/resources", read)

    async def list_bookings(self, changed_since: datetime | None) -> list[RemoteBooking]:
        params = None if changed_since is None else {"changed_since": answers.iso(changed_since)}
        return await self._call(
            "GET", "/bookings", lambda f: [answers.booking(b) for b in f.items("bookings")], params=params
        )

    async def list_customers(self, changed_since: datetime | None) -> list[RemoteCustomer]:
        params = None if changed_since is None else {"changed_since": answers.iso(changed_since)}
        return await self._call(
            "GET", "/customers", lambda f: [answers.customer(c) for c in f.items("customers")], params=params
        )

    async def list_stock(self) -> list[RemoteStockLevel]:
        return await self._call("GET", "/inventory", lambda f: [answers.stock_level(s) for s in f.items("inventory")])

    async def pull_changes(self, entity_type: EntityType, after: Cursor | None, limit: int) -> ChangePage:
        body = {
            "entity_type": entity_type.value,
            "cursor": answers.cursor_body(after),
            "limit": max(1, min(limit, MAX_SYNC_LIMIT)),
        }
        # A pull changes nothing at the node: a fresh key lets the http client retry it like a GET.
        return await self._call(
            "POST",
            "/sync",
            lambda f: answers.change_page(entity_type, after, f),
            json=body,
            idempotency_key=f"pull-{uuid.uuid4()}",
        )

    async def availability(self, local_service_id: str, start_at: datetime, end_at: datetime) -> list[Slot]:
        params = {"service_id": local_service_id, "from": answers.iso(start_at), "to": answers.iso(end_at)}
        return await self._call(
            "GET",
            "/availability",
            lambda f: [answers.slot(local_service_id, s) for s in f.items("slots")],
            params=params,
        )

    # -- bookings ------------------------------------------------------------------------------
    async def create_booking(self, request: BookingRequest) -> BookingAck:
        return await self._call(
            "POST",
            "/bookings",
            answers.booking_ack,
            json=answers.booking_body(request),
            idempotency_key=request.idempotency_key,
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
        body = {
            "start_at": answers.iso(start_at),
            "end_at": answers.iso(end_at),
            "local_resource_id": local_resource_id,
            "expected_version": expected_version,
        }
        return await self._call(
            "PUT", f"/bookings/{_segment(local_id)}", answers.booking_ack, json=body, idempotency_key=idempotency_key
        )

    async def cancel_booking(
        self, local_id: str, reason: str, idempotency_key: str, expected_version: int | None = None
    ) -> BookingAck:
        return await self._call(
            "POST",
            f"/bookings/{_segment(local_id)}/cancel",
            answers.booking_ack,
            json={"reason": reason, "expected_version": expected_version},
            idempotency_key=idempotency_key,
        )

    # -- customers -----------------------------------------------------------------------------
    async def upsert_customer(
        self, local_id: str | None, details: CustomerDetails, idempotency_key: str, expected_version: int | None = None
    ) -> CustomerAck:
        body = {"local_customer_id": local_id, "expected_version": expected_version} | answers.customer_body(details)
        return await self._call("PUT", "/customers", answers.customer_ack, json=body, idempotency_key=idempotency_key)

    async def merge_customers(self, keep_local_id: str, remove_local_id: str, idempotency_key: str) -> None:
        body = {"keep_local_customer_id": keep_local_id, "remove_local_customer_id": remove_local_id}
        await self._call(
            "POST",
            "/customers/merge",
            lambda f: f.identifier("local_customer_id"),
            json=body,
            idempotency_key=idempotency_key,
        )

    # -- resources -----------------------------------------------------------------------------
    async def share_resource(
        self, local_resource_id: str, with_location_id: str, rules: dict[str, Any], idempotency_key: str
    ) -> None:
        await self._call(
            "POST",
            f"/resources/{_segment(local_resource_id)}/shares",
            lambda f: f.identifier("node_id"),
            json={"node_id": with_location_id, "sharing_rules": rules},
            idempotency_key=idempotency_key,
        )

    async def unshare_resource(self, local_resource_id: str, with_location_id: str, idempotency_key: str) -> None:
        path = f"/resources/{_segment(local_resource_id)}/shares/{_segment(with_location_id)}"
        await self.session.call("DELETE", path, idempotency_key=idempotency_key)

    # -- stock ---------------------------------------------------------------------------------
    async def change_stock(self, sku: str, delta: int, reason: str, reference: str, idempotency_key: str) -> StockAck:
        return await self._call(
            "POST",
            f"/inventory/{_segment(sku)}/adjust",
            answers.stock_ack,
            json={"delta": delta, "reason": reason, "reference": reference},
            idempotency_key=idempotency_key,
        )

    async def reserve_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck:
        return await self._call(
            "POST",
            f"/inventory/{_segment(sku)}/reserve",
            answers.stock_ack,
            json={"quantity": quantity, "reference": reference},
            idempotency_key=idempotency_key,
        )

    async def release_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck:
        return await self._call(
            "POST",
            f"/inventory/{_segment(sku)}/release",
            answers.stock_ack,
            json={"quantity": quantity, "reference": reference},
            idempotency_key=idempotency_key,
        )

    async def aclose(self) -> None:
        await self._http.aclose()
