"""The hotel PMS connector against the simulated PMS served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from devnet.simulators.pms import pms_app, pms_local_ids
from devnet.simulators.pms_api import PmsHotel
from devnet.simulators.server import SimulatedLocation
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoredService
from sources.connectors.base import Capability, Connector, ConnectorConfig
from sources.connectors.errors import LocationUnavailable, OperationNotSupported, RejectionCode, UpstreamRejected
from sources.connectors.pms import PmsConnector
from sources.connectors.records import BookingRequest, CustomerAck, CustomerDetails

pytestmark = pytest.mark.asyncio

HOTEL_ID = "17"
API_KEY = "be-key-17"
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Clock:
    """The PMS's clock, so a test can age every token at once."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Hotel:
    store: LocationStore
    state: PmsHotel
    location: SimulatedLocation
    connector: Connector
    clock: Clock

    def connect(self, api_key: str) -> PmsConnector:
        return PmsConnector(config(self.location.url, api_key))


def config(url: str, api_key: str = API_KEY) -> ConnectorConfig:
    return ConnectorConfig(
        location_id="hotel-london",
        kind="pms",
        base_url=url,
        credentials={"api_key": api_key},
        timeout_seconds=2.0,
        max_attempts=2,
        backoff_base_seconds=0.01,
        extra={"hotel_id": HOTEL_ID, "timezone": "Europe/London"},
    )


def build_store() -> LocationStore:
    store = LocationStore(
        "hotel-london",
        timezone="Europe/London",
        currency="GBP",
        opening_hours=[[0, 24]] * 7,
        new_id=pms_local_ids(3),
    )
    for local_id, code, name, rate in (("RT-1", "STD", "Standard Double", 9500), ("RT-2", "DLX", "Deluxe King", 16000)):
        store.services[local_id] = StoredService(local_id, name, "room", code, 1200, rate, "GBP")
    for local_id, code in (("R-101", "STD"), ("R-102", "STD"), ("R-201", "DLX"), ("R-202", "DLX")):
        store.resources[local_id] = StoredResource(local_id, "room", f"Room {local_id[2:]}", f"{code} room", code, 2)
    for local_id, first, last in (("G-1001", "Ada", "Lovelace"), ("G-1002", "Alan", "Turing")):
        store.customers[local_id] = StoredCustomer(local_id, first, last, f"{first.lower()}@example.org", None)
        store.customers[local_id].updated_at = LONG_AGO
    # Ada: R-101 for the nights of 10 and 11 March 2027 (GMT, so local = UTC).
    store.bookings["RSV-2027-000001"] = StoredBooking(
        "RSV-2027-000001", "G-1001", "RT-1", "R-101", utc("2027-03-10T15:00"), utc("2027-03-12T11:00"), "confirmed",
        19000, "GBP", updated_at=LONG_AGO,
    )  # fmt: skip
    store.bookings["RSV-2027-000002"] = StoredBooking(
        "RSV-2027-000002", "G-1002", "RT-2", "R-201", utc("2027-03-11T15:00"), utc("2027-03-12T11:00"), "cancelled",
        16000, "GBP", updated_at=LONG_AGO,
    )  # fmt: skip
    return store


@pytest_asyncio.fixture
async def hotel() -> AsyncIterator[Hotel]:
    store, clock = build_store(), Clock()
    app = pms_app(
        store, hotel_id=HOTEL_ID, api_key=API_KEY, jwt_secret="s3cret-signing-key-for-the-pms-tests", clock=clock
    )
    location = SimulatedLocation("hotel-london", app)
    await location.start()
    connector = PmsConnector(config(location.url))
    yield Hotel(store, app.state.hotel, location, connector, clock)
    await connector.aclose()
    await location.stop()


def stay_request(
    key: str, start: str, end: str, *, room: str | None = "R-102", room_type: str = "RT-1", guest: str | None = None
) -> BookingRequest:
    return BookingRequest(
        global_id=f"bkg_{key}",
        idempotency_key=key,
        customer=CustomerDetails("cus_grace", "Grace", "Hopper", "grace@example.org", None),
        local_customer_id=guest,
        local_service_id=room_type,
        local_resource_id=room,
        start_at=utc(start),
        end_at=utc(end),
        price_minor=19000,
        currency="GBP",
    )


async def rejection(call: Callable[[], Any]) -> RejectionCode:
    with pytest.raises(UpstreamRejected) as caught:
        await call()
    return caught.value.code


# -- auth ------------------------------------------------------------------------------------
async def test_token_is_bought_once_and_reused(hotel: Hotel) -> None:
    await asyncio.gather(*(hotel.connector.list_services() for _ in range(5)))
    await hotel.connector.list_resources()
    await hotel.connector.check_health()
    assert hotel.state.tokens.issued == 1


async def test_expired_token_is_replaced_once_and_the_call_retried(hotel: Hotel) -> None:
    await hotel.connector.list_services()
    hotel.clock.now += 700  # past the 600 s lifetime
    seen = hotel.location.controls.requests_seen
    services = await hotel.connector.list_services()
    assert len(services) == 2
    assert hotel.state.tokens.issued == 2
    assert hotel.location.controls.requests_seen - seen == 3  # refused call, new token, retried call


async def test_wrong_api_key_is_forbidden(hotel: Hotel) -> None:
    connector = hotel.connect(api_key="not-the-key")
    try:
        assert await rejection(connector.list_services) is RejectionCode.FORBIDDEN
    finally:
        await connector.aclose()
    assert hotel.state.tokens.issued == 0


async def test_validate_token_tells_valid_from_expired(hotel: Hotel) -> None:
    async with httpx.AsyncClient(base_url=f"{hotel.location.url}/api/booking-engine") as client:
        token = (await client.post("/auth/token", json={"api_key": API_KEY})).json()["token"]
        valid = (await client.post("/auth/validate-token", json={"token": token})).json()
        hotel.clock.now += 601
        expired = (await client.post("/auth/validate-token", json={"token": token})).json()
        refused = await client.get(f"/room-types/{HOTEL_ID}", headers={"Authorization": f"Bearer {token}"})
    assert valid["valid"] is True and valid["hotel_id"] == HOTEL_ID
    assert expired == {"valid": False, "reason": "token expired"}
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"


# -- catalog and health ----------------------------------------------------------------------
async def test_room_types_are_services_priced_per_night(hotel: Hotel) -> None:
    services = sorted(await hotel.connector.list_services(), key=lambda service: service.local_id)
    assert [(s.local_id, s.skill, s.price_minor, s.currency) for s in services] == [
        ("RT-1", "STD", 9500, "GBP"),
        ("RT-2", "DLX", 16000, "GBP"),
    ]
    assert services[0].duration_minutes == 20 * 60  # 15:00 to 11:00 next day


async def test_rooms_are_resources_of_their_room_type(hotel: Hotel) -> None:
    rooms = sorted(await hotel.connector.list_resources(), key=lambda room: room.local_id)
    assert [(r.local_id, r.kind, r.skill, r.name) for r in rooms] == [
        ("R-101", "room", "STD", "Room 101"),
        ("R-102", "room", "STD", "Room 102"),
        ("R-201", "room", "DLX", "Room 201"),
        ("R-202", "room", "DLX", "Room 202"),
    ]


async def test_health_reports_status_and_version(hotel: Hotel) -> None:
    health = await hotel.connector.check_health()
    assert (health.status, health.version) == ("online", "2.4.1")
    hotel.state.status = "degraded"
    assert (await hotel.connector.check_health()).status == "degraded"


# -- availability ----------------------------------------------------------------------------
async def test_availability_excludes_a_room_booked_for_those_nights(hotel: Hotel) -> None:
    slots = await hotel.connector.availability("RT-1", utc("2027-03-11T15:00"), utc("2027-03-13T11:00"))
    assert [(s.local_resource_id, s.start_at, s.end_at) for s in slots] == [
        ("R-102", utc("2027-03-11T15:00"), utc("2027-03-13T11:00"))
    ]
    # A cancelled reservation holds no room.
    deluxe = await hotel.connector.availability("RT-2", utc("2027-03-11T15:00"), utc("2027-03-12T11:00"))
    assert [s.local_resource_id for s in deluxe] == ["R-201", "R-202"]


async def test_checkout_morning_is_free_for_the_next_arrival(hotel: Hotel) -> None:
    slots = await hotel.connector.availability("RT-1", utc("2027-03-12T15:00"), utc("2027-03-13T11:00"))
    assert [s.local_resource_id for s in slots] == ["R-101", "R-102"]
    ack = await hotel.connector.create_booking(
        stay_request("k-next", "2027-03-12T15:00", "2027-03-13T11:00", room="R-101")
    )
    assert ack.local_resource_id == "R-101"


# -- reservations ----------------------------------------------------------------------------
async def test_two_night_stay_runs_from_check_in_to_check_out_local_time_across_dst(hotel: Hotel) -> None:
    # Clocks go forward on 28 March 2027: arrival 15:00 GMT, departure 11:00 BST = 10:00 UTC.
    ack = await hotel.connector.create_booking(stay_request("k-dst", "2027-03-27T15:00", "2027-03-29T10:00"))
    assert re.fullmatch(r"RSV-\d{4}-\d{6}", ack.local_id)
    assert (ack.status, ack.local_resource_id, ack.version) == ("confirmed", "R-102", 1)
    stored = hotel.store.bookings[ack.local_id]
    assert (stored.start_at, stored.end_at) == (utc("2027-03-27T15:00"), utc("2027-03-29T10:00"))
    listed = {b.local_id: b for b in await hotel.connector.list_bookings(None)}[ack.local_id]
    assert (listed.start_at, listed.end_at) == (utc("2027-03-27T15:00"), utc("2027-03-29T10:00"))
    assert (listed.price_minor, listed.global_id, listed.status) == (19000, "bkg_k-dst", "confirmed")
    guest = hotel.store.customers[ack.local_customer_id]
    assert re.fullmatch(r"G-\d+", guest.local_id) and (guest.last_name, guest.global_id) == ("Hopper", "cus_grace")


async def test_retried_reservation_with_the_same_key_is_made_once(hotel: Hotel) -> None:
    request = stay_request("k-once", "2027-04-01T14:00", "2027-04-03T10:00")
    writes, bookings = hotel.store.write_count, len(hotel.store.bookings)
    first = await hotel.connector.create_booking(request)
    again = await hotel.connector.create_booking(request)
    assert again == first
    assert (hotel.store.write_count - writes, len(hotel.store.bookings) - bookings) == (1, 1)


async def test_overlapping_reservation_on_the_same_room_is_slot_unavailable(hotel: Hotel) -> None:
    request = stay_request("k-clash", "2027-03-11T15:00", "2027-03-13T11:00", room="R-101")
    assert await rejection(lambda: hotel.connector.create_booking(request)) is RejectionCode.SLOT_UNAVAILABLE
    assert len(hotel.store.bookings) == 2


async def test_reservation_without_a_room_gets_a_free_room_of_its_type(hotel: Hotel) -> None:
    ack = await hotel.connector.create_booking(
        stay_request("k-any", "2027-03-10T15:00", "2027-03-12T11:00", room=None, guest="G-1002")
    )
    assert (ack.local_resource_id, ack.local_customer_id) == ("R-102", "G-1002")
    full = stay_request("k-full", "2027-03-11T15:00", "2027-03-12T11:00", room=None)
    assert await rejection(lambda: hotel.connector.create_booking(full)) is RejectionCode.SLOT_UNAVAILABLE


async def test_stay_without_a_night_is_invalid_input(hotel: Hotel) -> None:
    request = stay_request("k-day", "2027-03-20T09:00", "2027-03-20T17:00")
    assert await rejection(lambda: hotel.connector.create_booking(request)) is RejectionCode.INVALID_INPUT


async def test_reschedule_moves_the_stay_at_the_booked_nightly_rate(hotel: Hotel) -> None:
    connector = hotel.connector
    ack = await connector.reschedule_booking(
        "RSV-2027-000001", utc("2027-03-20T15:00"), utc("2027-03-23T11:00"), None, "k-move"
    )
    assert (ack.version, ack.local_resource_id) == (2, "R-101")
    moved = hotel.store.bookings["RSV-2027-000001"]
    assert (moved.start_at, moved.end_at, moved.price_minor) == (
        utc("2027-03-20T15:00"),
        utc("2027-03-23T11:00"),
        28500,
    )
    await connector.create_booking(stay_request("k-102", "2027-03-20T15:00", "2027-03-21T11:00", room="R-102"))
    code = await rejection(
        lambda: connector.reschedule_booking(
            "RSV-2027-000001", utc("2027-03-20T15:00"), utc("2027-03-23T11:00"), "R-102", "k-move-2"
        )
    )
    assert code is RejectionCode.SLOT_UNAVAILABLE


async def test_cancel_frees_the_room(hotel: Hotel) -> None:
    ack = await hotel.connector.cancel_booking("RSV-2027-000001", "guest called", "k-cancel")
    assert (ack.status, ack.version) == ("cancelled", 2)
    slots = await hotel.connector.availability("RT-1", utc("2027-03-10T15:00"), utc("2027-03-12T11:00"))
    assert [s.local_resource_id for s in slots] == ["R-101", "R-102"]
    assert "guest called" in hotel.store.bookings["RSV-2027-000001"].notes


async def test_cancel_of_unknown_booking_is_not_found(hotel: Hotel) -> None:
    code = await rejection(lambda: hotel.connector.cancel_booking("RSV-2027-999999", "", "k-none"))
    assert code is RejectionCode.NOT_FOUND


async def test_moving_a_cancelled_reservation_is_a_conflict(hotel: Hotel) -> None:
    code = await rejection(
        lambda: hotel.connector.reschedule_booking(
            "RSV-2027-000002", utc("2027-05-01T15:00"), utc("2027-05-02T11:00"), None, "k-zombie"
        )
    )
    assert code is RejectionCode.CONFLICT


async def test_bookings_changed_since_lists_only_later_changes(hotel: Hotel) -> None:
    since = datetime(2026, 6, 1, tzinfo=UTC)
    assert await hotel.connector.list_bookings(since) == []
    await hotel.connector.cancel_booking("RSV-2027-000001", "", "k-delta")
    changed = await hotel.connector.list_bookings(since)
    assert [(b.local_id, b.status, b.version) for b in changed] == [("RSV-2027-000001", "cancelled", 2)]


# -- guests ----------------------------------------------------------------------------------
async def test_new_guest_is_created_then_updated(hotel: Hotel) -> None:
    details = CustomerDetails("cus_kat", "Katherine", "Johnson", "kj@example.org", None)
    created = await hotel.connector.upsert_customer(None, details, "k-guest")
    guest_id = created.local_id
    assert await hotel.connector.upsert_customer(None, details, "k-guest") == created  # replay
    changed = CustomerDetails("cus_kat", "Katherine", "Johnson", "katherine@example.org", "+44 20 7946 0000")
    assert await hotel.connector.upsert_customer(guest_id, changed, "k-guest-2") == CustomerAck(guest_id, 2)
    guests = await hotel.connector.list_customers(datetime(2026, 6, 1, tzinfo=UTC))
    assert [(g.local_id, g.email, g.phone) for g in guests] == [(guest_id, "katherine@example.org", "+44 20 7946 0000")]
    assert hotel.store.customers[guest_id].global_id == "cus_kat"


async def test_update_of_unknown_guest_is_not_found(hotel: Hotel) -> None:
    details = CustomerDetails("cus_x", "X", "Y", None, None)
    code = await rejection(lambda: hotel.connector.upsert_customer("G-1", details, "k-ghost"))
    assert code is RejectionCode.NOT_FOUND


# -- what a hotel does not do, and outages ----------------------------------------------------
async def test_stock_sharing_and_merge_are_not_supported(hotel: Hotel) -> None:
    connector = hotel.connector
    calls: list[Callable[[], Any]] = [
        connector.list_stock,
        lambda: connector.change_stock("towel", 1, "restock", "r", "k1"),
        lambda: connector.reserve_stock("towel", 1, "r", "k2"),
        lambda: connector.release_stock("towel", 1, "r", "k3"),
        lambda: connector.share_resource("R-101", "hotel-paris", {}, "k4"),
        lambda: connector.unshare_resource("R-101", "hotel-paris", "k5"),
        lambda: connector.merge_customers("G-1001", "G-1002", "k6"),
    ]
    for call in calls:
        with pytest.raises(OperationNotSupported):
            await call()
    assert not {Capability.READ_STOCK, Capability.WRITE_STOCK, Capability.SHARE_RESOURCES} & connector.capabilities
    assert hotel.location.controls.requests_seen == 0


async def test_stopped_hotel_is_location_unavailable(hotel: Hotel) -> None:
    await hotel.connector.list_services()
    await hotel.location.stop()
    with pytest.raises(LocationUnavailable):
        await hotel.connector.list_bookings(None)


# -- unreadable answers (fake transport) -------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"room_types": [{"id": "RT-1", "name": "Standard"}]}),
        (
            200,
            {"room_types": [{"id": "RT-1", "code": "STD", "name": "S", "rate_per_night": "95.001", "currency": "GBP"}]},
        ),
        (200, {"rooms": []}),
        (400, {"error": {"code": "TEAPOT", "message": "?"}}),
        (404, "<html>Not Found</html>"),
    ],
)
async def test_unreadable_answer_is_location_unavailable(status: int, body: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/token"):
            return httpx.Response(200, json={"token": "t", "expires_in": 600})
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    connector = PmsConnector(config("http://pms.invalid"), transport=httpx.MockTransport(answer))
    try:
        with pytest.raises(LocationUnavailable, match="unreadable answer"):
            await connector.list_services()
    finally:
        await connector.aclose()


async def test_a_stale_version_is_a_409_version_conflict_and_the_reservation_stays(hotel: Hotel) -> None:
    async with httpx.AsyncClient(base_url=f"{hotel.location.url}/api/booking-engine") as client:
        token = (await client.post("/auth/token", json={"api_key": API_KEY})).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        stale = await client.delete("/bookings/RSV-2027-000001", params={"version": "4"}, headers=auth)
        feed = (await client.get(f"/sync/{HOTEL_ID}/reservations", params={"limit": 1}, headers=auth)).json()
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "VERSION_CONFLICT")
    assert hotel.store.bookings["RSV-2027-000001"].status == "confirmed"
    assert [row["id"] for row in feed["reservations"]] == ["RSV-2027-000001"]
    assert feed["meta"] == {"has_more": True, "last": {"updated_at": LONG_AGO.isoformat(), "id": "RSV-2027-000001"}}
    code = await rejection(lambda: hotel.connector.cancel_booking("RSV-2027-000001", "", "k-stale", expected_version=4))
    assert code is RejectionCode.STALE_VERSION
    ack = await hotel.connector.cancel_booking("RSV-2027-000001", "", "k-fresh", expected_version=1)
    assert (ack.status, ack.version) == ("cancelled", 2)
