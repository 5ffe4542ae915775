"""The connector for hotel PMS properties (rht-hotel booking-engine API, see `devnet.simulators.pms`).

Mapping to the gateway's model: a room type is a Service (``skill`` = its code, price per
night, duration one night), a room is a Resource (kind ``room``, skill = its room type
code), a guest is a Customer, a reservation is a Booking on one room from check-in to
check-out. The PMS speaks hotel-local dates; a booking's ``start_at``/``end_at`` are
check-in 15:00 and check-out 11:00 local on those dates, in UTC. Times sent to the PMS are
read back as the hotel-local dates they fall on.

``availability(room_type, start_at, end_at)`` asks for one stay, check-in on the local
date of ``start_at`` and check-out on that of ``end_at`` (at least one night), and answers
one slot per free room covering the whole stay.

Delta pulls read the PMS's ``/sync/:hotel_id/(guests|reservations|rooms)`` feeds (at most 500 a
page). Version tokens are the PMS's integer ``version``; a write that expects one sends it as
``"version"`` in a PUT body or ``?version=`` on the cancelling DELETE, and the PMS's 409
VERSION_CONFLICT becomes `UpstreamRejected(STALE_VERSION)`. The PMS does not compress answers.

Config: ``credentials["api_key"]``, ``extra["hotel_id"]``, ``extra["timezone"]`` (IANA name).
Stock, resource sharing and customer merge do not exist at a hotel: `OperationNotSupported`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from sources.cache.types import utc_now
from sources.connectors.base import Capability, ConnectorConfig
from sources.connectors.errors import OperationNotSupported
from sources.connectors.pms_payloads import (
    FEEDS,
    Malformed,
    ack_from,
    as_object,
    booking_from,
    change_page_from,
    customer_from,
    feed_params,
    from_minor,
    guest_ack,
    guest_body,
    objects,
    resource_from,
    service_from,
    slots_from,
    stay_dates,
    string,
)
from sources.connectors.pms_session import PREFIX, PmsSession
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
        Capability.WRITE_CUSTOMERS,  # create and update; merge is not supported
    }
)
MAX_FEED_LIMIT = 500  # the PMS's largest change-feed page


def _since(changed_since: datetime | None) -> dict[str, Any]:
    return {} if changed_since is None else {"updated_since": changed_since.astimezone(UTC).isoformat()}


class PmsConnector:
    def __init__(self, config: ConnectorConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        api_key = config.credentials.get("api_key")
        hotel_id = config.extra.get("hotel_id")
        timezone = config.extra.get("timezone")
        if not api_key or hotel_id is None or not isinstance(timezone, str):
            raise ValueError(f"{config.location_id}: a PMS needs credentials api_key and extra hotel_id and timezone")
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"{config.location_id}: unknown timezone {timezone!r}") from error
        self._config = config
        self._hotel_id = str(hotel_id)
        self._session = PmsSession(config, api_key, transport)

    @property
    def location_id(self) -> str:
        return self._config.location_id

    @property
    def breaker_state(self) -> str:
        """The location's circuit breaker: closed, open or half_open."""
        return self._session.breaker_state

    @property
    def capabilities(self) -> frozenset[Capability]:
        return CAPABILITIES

    @contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        try:
            yield
        except Malformed as error:
            raise self._session.unreadable(what, error) from error

    def _unsupported(self, operation: str) -> OperationNotSupported:
        return OperationNotSupported(self.location_id, f"a hotel PMS has no {operation}")

    # -- reads -----------------------------------------------------------------------------
    async def check_health(self) -> LocationHealth:
        body = await self._session.call("GET", f"{PREFIX}/hotels/{self._hotel_id}")
        with self._reading("hotel"):
            hotel = as_object(body.get("hotel"), "hotel")
            status = string(hotel, "status")
            version = hotel.get("version")
        return LocationHealth(
            status="online" if status == "operational" else "degraded",
            version=version if isinstance(version, str) else None,
            checked_at=utc_now(),
        )

    async def list_services(self) -> list[RemoteService]:
        body = await self._session.call("GET", f"{PREFIX}/room-types/{self._hotel_id}")
        with self._reading("room types"):
            return [service_from(room_type) for room_type in objects(body, "room_types")]

    async def list_resources(self) -> list[RemoteResource]:
        body = await self._session.call("GET", f"{PREFIX}/rooms/{self._hotel_id}")
        with self._reading("rooms"):
            return [resource_from(room) for room in objects(body, "rooms")]

    async def list_bookings(self, changed_since: datetime | None) -> list[RemoteBooking]:
        params = {"hotel_id": self._hotel_id, **_since(changed_since)}
        body = await self._session.call("GET", f"{PREFIX}/bookings", params=params)
        with self._reading("bookings"):
            return [booking_from(booking, self._zone) for booking in objects(body, "bookings")]

    async def list_customers(self, changed_since: datetime | None) -> list[RemoteCustomer]:
        body = await self._session.call("GET", f"{PREFIX}/guests/{self._hotel_id}", params=_since(changed_since))
        with self._reading("guests"):
            return [customer_from(guest) for guest in objects(body, "guests")]

    async def list_stock(self) -> list[RemoteStockLevel]:
        raise self._unsupported("stock")

    async def pull_changes(self, entity_type: EntityType, after: Cursor | None, limit: int) -> ChangePage:
        if entity_type is EntityType.SERVICES:
            # No change feed for room types: the whole list, so what it no longer offers is retired.
            offered: list[RemoteRecord] = [*await self.list_services()]
            return ChangePage(records=offered, next_cursor=after, has_more=False, complete=True)
        feed = FEEDS.get(entity_type)
        if feed is None:
            raise self._unsupported("stock")
        path = f"{PREFIX}/sync/{self._hotel_id}/{feed}"
        body = await self._session.call("GET", path, params=feed_params(after, max(1, min(limit, MAX_FEED_LIMIT))))
        with self._reading(feed):
            return change_page_from(body, feed, after, self._zone)

    async def availability(self, local_service_id: str, start_at: datetime, end_at: datetime) -> list[Slot]:
        check_in, check_out = stay_dates(self._zone, start_at, end_at)
        check_out = max(check_out, check_in + timedelta(days=1))  # a window within one day: that night
        params = {
            "check_in": check_in.isoformat(),
            "check_out": check_out.isoformat(),
            "room_type_id": local_service_id,
        }
        body = await self._session.call("GET", f"{PREFIX}/availability/{self._hotel_id}", params=params)
        with self._reading("availability"):
            return slots_from(body, local_service_id, self._zone)

    # -- bookings --------------------------------------------------------------------------
    async def create_booking(self, request: BookingRequest) -> BookingAck:
        check_in, check_out = stay_dates(self._zone, request.start_at, request.end_at)
        payload = {
            "hotel_id": self._hotel_id,
            "room_type_id": request.local_service_id,
            "room_id": request.local_resource_id,
            "check_in": check_in.isoformat(),
            "check_out": check_out.isoformat(),
            "guest_id": request.local_customer_id,
            "guest": guest_body(request.customer),
            "total_amount": from_minor(request.price_minor, request.currency),
            "currency": request.currency,
            "special_requests": request.notes,
            "external_reference": request.global_id,
        }
        body = await self._session.call(
            "POST", f"{PREFIX}/bookings", json=payload, idempotency_key=request.idempotency_key
        )
        with self._reading("booking"):
            return ack_from(body)

    async def reschedule_booking(
        self,
        local_id: str,
        start_at: datetime,
        end_at: datetime,
        local_resource_id: str | None,
        idempotency_key: str,
        expected_version: int | None = None,
    ) -> BookingAck:
        check_in, check_out = stay_dates(self._zone, start_at, end_at)
        payload: dict[str, Any] = {"check_in": check_in.isoformat(), "check_out": check_out.isoformat()}
        if local_resource_id is not None:
            payload["room_id"] = local_resource_id
        if expected_version is not None:
            payload["version"] = expected_version
        path = f"{PREFIX}/bookings/{local_id}"
        body = await self._session.call("PUT", path, json=payload, idempotency_key=idempotency_key)
        with self._reading("booking"):
            return ack_from(body)

    async def cancel_booking(
        self, local_id: str, reason: str, idempotency_key: str, expected_version: int | None = None
    ) -> BookingAck:
        params: dict[str, Any] = {"reason": reason} if reason else {}
        if expected_version is not None:
            params["version"] = expected_version
        path = f"{PREFIX}/bookings/{local_id}"
        body = await self._session.call("DELETE", path, params=params or None, idempotency_key=idempotency_key)
        with self._reading("booking"):
            return ack_from(body)

    # -- guests ----------------------------------------------------------------------------
    async def upsert_customer(
        self, local_id: str | None, details: CustomerDetails, idempotency_key: str, expected_version: int | None = None
    ) -> CustomerAck:
        if local_id is None:
            payload = {"hotel_id": self._hotel_id, **guest_body(details)}
            body = await self._session.call("POST", f"{PREFIX}/guests", json=payload, idempotency_key=idempotency_key)
        else:
            changes = guest_body(details)
            if expected_version is not None:
                changes["version"] = expected_version
            path = f"{PREFIX}/guests/{local_id}"
            body = await self._session.call("PUT", path, json=changes, idempotency_key=idempotency_key)
        with self._reading("guest"):
            return guest_ack(body)

    # -- not at a hotel --------------------------------------------------------------------
    async def merge_customers(self, keep_local_id: str, remove_local_id: str, idempotency_key: str) -> None:
        raise self._unsupported("guest merge")

    async def share_resource(
        self, local_resource_id: str, with_location_id: str, rules: dict[str, Any], idempotency_key: str
    ) -> None:
        raise self._unsupported("room sharing")

    async def unshare_resource(self, local_resource_id: str, with_location_id: str, idempotency_key: str) -> None:
        raise self._unsupported("room sharing")

    async def change_stock(self, sku: str, delta: int, reason: str, reference: str, idempotency_key: str) -> StockAck:
        raise self._unsupported("stock")

    async def reserve_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck:
        raise self._unsupported("stock")

    async def release_stock(self, sku: str, quantity: int, reference: str, idempotency_key: str) -> StockAck:
        raise self._unsupported("stock")

    async def aclose(self) -> None:
        await self._session.aclose()
