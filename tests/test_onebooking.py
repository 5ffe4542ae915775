"""OneBooking source websites: the website's signed webhook, the gateway's connector to it, and the website's
pusher (specs/onebooking-central.md); the gateway's /api/bookings/sync shim is tests/test_onebooking_push.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from devnet.simulators.onebooking import OneBookingPusher, onebooking_app, onebooking_local_ids
from devnet.simulators.server import SimulatedLocation
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoredService
from sources.connectors.base import Capability, Connector, ConnectorConfig
from sources.connectors.errors import LocationUnavailable, OperationNotSupported, RejectionCode, UpstreamRejected
from sources.connectors.onebooking import OneBookingConnector
from sources.connectors.records import BookingRequest, CustomerDetails

SECRET = "whsec_test_secret"
ZONE = "Asia/Bangkok"
WEBHOOK = "/api/webhooks/onebooking"
# A Monday, 10:00 in Bangkok (UTC+7, no DST).
MONDAY_10 = datetime(2030, 3, 4, 3, 0, tzinfo=UTC)


# -- the website ------------------------------------------------------------------------------
def _website_store() -> LocationStore:
    store = LocationStore(
        "hanuman-world", timezone=ZONE, currency="THB", opening_hours=[[8, 18]] * 7, new_id=onebooking_local_ids(1)
    )
    store.services["svc-a"] = StoredService("svc-a", "World A+", "adventure", "guide", 60, 349_000, "THB")
    store.resources["guide-1"] = StoredResource("guide-1", "staff", "Somchai", "Guide", "guide")
    store.resources["guide-2"] = StoredResource("guide-2", "staff", "Ploy", "Guide", "guide")
    store.customers["ob-c1"] = StoredCustomer("ob-c1", "John", "Doe", "john@example.com", "1234567890")
    for local_id, start in (("OB-1", MONDAY_10), ("OB-2", MONDAY_10 + timedelta(hours=2))):
        store.bookings[local_id] = StoredBooking(
            local_id, "ob-c1", "svc-a", "guide-1", start, start + timedelta(hours=1), "confirmed", 349_000, "THB"
        )
    return store


@pytest.fixture
def store() -> LocationStore:
    return _website_store()


@pytest_asyncio.fixture
async def website(store: LocationStore) -> AsyncIterator[SimulatedLocation]:
    site = SimulatedLocation("hanuman-world", onebooking_app(store, webhook_secret=SECRET, version="2.4.1"))
    await site.start()
    try:
        yield site
    finally:
        await site.stop()


def _config(url: str, secret: str = SECRET) -> ConnectorConfig:
    return ConnectorConfig(
        location_id="hanuman-world",
        kind="onebooking",
        base_url=url,
        credentials={"webhook_secret": secret},
        max_attempts=2,
        backoff_base_seconds=0.01,
        extra={"timezone": ZONE},
    )


@pytest_asyncio.fixture
async def connector(website: SimulatedLocation) -> AsyncIterator[OneBookingConnector]:
    client = OneBookingConnector(_config(website.url))
    try:
        yield client
    finally:
        await client.aclose()


def _signed(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    sent_at = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), sent_at.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "X-Webhook-Signature": f"sha256={digest}",
        "X-Webhook-Timestamp": sent_at,
        "Content-Type": "application/json",
    }


CANCEL_OB_1 = json.dumps(
    {
        "event": "booking.updated",
        "source_booking_id": "OB-1",
        "updated_fields": ["status", "admin_notes"],
        "data": {"status": "cancelled", "admin_notes": "Customer requested cancellation due to flight change"},
        "updated_at": "2030-02-20T15:30:00Z",
        "updated_by": "admin@onebooking.co",
    }
).encode()


@pytest.mark.asyncio
async def test_webhook_with_a_valid_signature_updates_the_booking(
    website: SimulatedLocation, store: LocationStore
) -> None:
    async with httpx.AsyncClient(base_url=website.url) as client:
        response = await client.post(WEBHOOK, content=CANCEL_OB_1, headers=_signed(CANCEL_OB_1))
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Booking updated"}
    assert store.bookings["OB-1"].status == "cancelled"
    assert "flight change" in store.bookings["OB-1"].notes


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "headers",
    [
        # Built when the test runs: a timestamp taken at collection would age while other tests run.
        pytest.param(lambda: _signed(CANCEL_OB_1, secret="not-the-secret"), id="wrong-secret"),
        pytest.param(lambda: _signed(CANCEL_OB_1 + b" "), id="signature-of-other-bytes"),
        pytest.param(lambda: _signed(CANCEL_OB_1, timestamp=int(time.time()) - 301), id="stale-timestamp"),
        # Well past the window: a timestamp truncated to the second and a slow request must not bring it back in.
        pytest.param(lambda: _signed(CANCEL_OB_1, timestamp=int(time.time()) + 310), id="future-timestamp"),
        pytest.param(lambda: {"Content-Type": "application/json"}, id="unsigned"),
    ],
)
async def test_webhook_without_a_valid_fresh_signature_is_refused(
    website: SimulatedLocation, store: LocationStore, headers: Callable[[], dict[str, str]]
) -> None:
    async with httpx.AsyncClient(base_url=website.url) as client:
        response = await client.post(WEBHOOK, content=CANCEL_OB_1, headers=headers())
    assert response.status_code == 401
    assert response.json()["code"] == "AUTH_FAILED"
    assert response.json()["success"] is False
    assert store.bookings["OB-1"].status == "confirmed"
    assert store.write_count == 0


@pytest.mark.asyncio
async def test_cancel_through_the_connector_lands_in_the_website(
    connector: OneBookingConnector, store: LocationStore
) -> None:
    ack = await connector.cancel_booking("OB-1", "flight change", "idem-cancel-1")
    assert (ack.local_id, ack.status, ack.version, ack.local_customer_id) == ("OB-1", "cancelled", 0, "")
    assert store.bookings["OB-1"].status == "cancelled"
    assert store.bookings["OB-2"].status == "confirmed"


@pytest.mark.asyncio
async def test_reschedule_through_the_connector_moves_the_booking_in_local_time(
    connector: OneBookingConnector, store: LocationStore
) -> None:
    # 14:30 in Bangkok is 07:30 UTC; the website keeps the booking's hour-long length.
    new_start = datetime(2030, 3, 5, 7, 30, tzinfo=UTC)
    ack = await connector.reschedule_booking("OB-1", new_start, new_start + timedelta(hours=1), None, "idem-move-1")
    assert ack.status == "confirmed"
    moved = store.bookings["OB-1"]
    assert (moved.start_at, moved.end_at) == (new_start, new_start + timedelta(hours=1))
    assert moved.start_at.astimezone(store.zone).strftime("%Y-%m-%d %H:%M") == "2030-03-05 14:30"


@pytest.mark.asyncio
async def test_replayed_webhook_is_applied_once(connector: OneBookingConnector, store: LocationStore) -> None:
    new_start = MONDAY_10 + timedelta(days=1)
    for _ in range(3):  # each delivery is signed afresh, as an outbox retry would be
        await connector.reschedule_booking("OB-1", new_start, new_start + timedelta(hours=1), None, "idem-move-2")
    assert store.write_count == 1
    assert store.bookings["OB-1"].version == 2
    assert store.bookings["OB-1"].start_at == new_start


@pytest.mark.asyncio
async def test_reschedule_onto_a_taken_slot_is_slot_unavailable(
    connector: OneBookingConnector, store: LocationStore
) -> None:
    taken = store.bookings["OB-2"].start_at
    with pytest.raises(UpstreamRejected) as rejected:
        await connector.reschedule_booking("OB-1", taken, taken + timedelta(hours=1), None, "idem-move-3")
    assert rejected.value.code is RejectionCode.SLOT_UNAVAILABLE
    assert store.bookings["OB-1"].start_at == MONDAY_10


@pytest.mark.asyncio
async def test_change_to_an_unknown_booking_is_not_found(connector: OneBookingConnector) -> None:
    with pytest.raises(UpstreamRejected) as rejected:
        await connector.cancel_booking("OB-404", "", "idem-cancel-2")
    assert rejected.value.code is RejectionCode.NOT_FOUND


@pytest.mark.asyncio
async def test_connector_with_the_wrong_secret_is_forbidden(website: SimulatedLocation, store: LocationStore) -> None:
    client = OneBookingConnector(_config(website.url, secret="rotated-away"))
    try:
        with pytest.raises(UpstreamRejected) as rejected:
            await client.cancel_booking("OB-1", "", "idem-cancel-3")
    finally:
        await client.aclose()
    assert rejected.value.code is RejectionCode.FORBIDDEN
    assert store.bookings["OB-1"].status == "confirmed"


@pytest.mark.asyncio
async def test_health_reports_the_website_online_with_its_version(connector: OneBookingConnector) -> None:
    health = await connector.check_health()
    assert (health.status, health.version) == ("online", "2.4.1")


@pytest.mark.asyncio
async def test_website_that_is_down_is_unavailable(connector: OneBookingConnector, website: SimulatedLocation) -> None:
    await website.stop()
    with pytest.raises(LocationUnavailable):
        await connector.cancel_booking("OB-1", "", "idem-cancel-4")


@pytest.mark.asyncio
async def test_webhook_answer_that_is_not_json_is_unavailable() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>ok</html>"))
    client = OneBookingConnector(_config("http://website.invalid"), transport=transport)
    try:
        with pytest.raises(LocationUnavailable, match="without a JSON object"):
            await client.cancel_booking("OB-1", "", "idem-cancel-5")
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_webhook_is_signed_over_the_bytes_sent_and_carries_its_event_id() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"success": True, "message": "Booking updated"})

    client = OneBookingConnector(_config("http://website.invalid"), transport=httpx.MockTransport(answer))
    try:
        await client.cancel_booking("OB-1", "no show", "idem-cancel-6")
    finally:
        await client.aclose()
    request = seen[0]
    assert request.headers["X-Webhook-Id"] == "idem-cancel-6"
    assert (
        request.headers["X-Webhook-Signature"]
        == _signed(request.content, timestamp=int(request.headers["X-Webhook-Timestamp"]))["X-Webhook-Signature"]
    )
    assert json.loads(request.content)["data"] == {"status": "cancelled", "admin_notes": "no show"}


UNSUPPORTED = [
    pytest.param(lambda c: c.list_services(), id="list_services"),
    pytest.param(lambda c: c.list_resources(), id="list_resources"),
    pytest.param(lambda c: c.list_bookings(None), id="list_bookings"),
    pytest.param(lambda c: c.list_customers(None), id="list_customers"),
    pytest.param(lambda c: c.list_stock(), id="list_stock"),
    pytest.param(lambda c: c.availability("svc-a", MONDAY_10, MONDAY_10 + timedelta(days=1)), id="availability"),
    pytest.param(
        lambda c: c.create_booking(
            BookingRequest(
                global_id="bkg_1",
                idempotency_key="k",
                customer=CustomerDetails("cus_1", "A", "B", None, None),
                local_customer_id=None,
                local_service_id="svc-a",
                local_resource_id=None,
                start_at=MONDAY_10,
                end_at=MONDAY_10 + timedelta(hours=1),
                price_minor=1,
                currency="THB",
            )
        ),
        id="create_booking",
    ),
    pytest.param(
        lambda c: c.upsert_customer(None, CustomerDetails("cus_1", "A", "B", None, None), "k"), id="upsert_customer"
    ),
    pytest.param(lambda c: c.merge_customers("a", "b", "k"), id="merge_customers"),
    pytest.param(lambda c: c.share_resource("guide-1", "elsewhere", {}, "k"), id="share_resource"),
    pytest.param(lambda c: c.unshare_resource("guide-1", "elsewhere", "k"), id="unshare_resource"),
    pytest.param(lambda c: c.change_stock("SKU", 1, "count", "ref", "k"), id="change_stock"),
    pytest.param(lambda c: c.reserve_stock("SKU", 1, "ref", "k"), id="reserve_stock"),
    pytest.param(lambda c: c.release_stock("SKU", 1, "ref", "k"), id="release_stock"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("call", UNSUPPORTED)
async def test_what_a_website_cannot_do_is_not_supported(
    connector: OneBookingConnector, call: Callable[[Connector], Awaitable[Any]]
) -> None:
    website_as_seen: Connector = connector  # mypy checks the connector against the protocol here
    assert website_as_seen.capabilities == frozenset({Capability.CHANGE_BOOKING})
    with pytest.raises(OperationNotSupported):
        await call(website_as_seen)


# -- the website's pusher, unit ---------------------------------------------------------------
@pytest.mark.asyncio
async def test_pusher_retries_failures_with_the_spec_delays_and_stops_at_a_final_answer(store: LocationStore) -> None:
    answers = iter([httpx.Response(503), httpx.Response(429), httpx.Response(400, json={"code": "INVALID_PAYLOAD"})])
    bodies: list[dict[str, Any]] = []
    slept: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        assert request.headers["X-API-Key"] == "hw_sk_test"
        return next(answers)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    pusher = OneBookingPusher(
        store,
        gateway_url="http://central.invalid",
        api_key="hw_sk_test",
        website="hanuman-world",
        transport=httpx.MockTransport(answer),
        sleep=sleep,
    )
    response = await pusher.push("OB-1", "booking.created")
    assert response.status_code == 400
    assert slept == [1.0, 5.0]
    assert bodies[0] == bodies[2]
    assert bodies[0]["booking_ref"] == "HW-1"
    assert (bodies[0]["activity_date"], bodies[0]["time_slot"]) == ("2030-03-04", "10:00")
    assert (bodies[0]["package_name"], bodies[0]["package_price"], bodies[0]["total_amount"]) == (
        "World A+",
        3490,
        3490,
    )


@pytest.mark.asyncio
async def test_pusher_gives_up_after_the_last_delay(store: LocationStore) -> None:
    slept: list[float] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    pusher = OneBookingPusher(
        store,
        gateway_url="http://central.invalid",
        api_key="k",
        website="w",
        transport=httpx.MockTransport(refuse),
        sleep=sleep,
    )
    with pytest.raises(httpx.ConnectError):
        await pusher.push("OB-1", "booking.created")
    assert slept == [1.0, 5.0, 30.0, 300.0]
