"""The BookingX connector against a real BookingX node simulator on 127.0.0.1 (MockTransport only for garbage)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

from devnet.simulators.bookingx import bookingx_app, bookingx_local_ids
from devnet.simulators.bookingx_wire import BookingXNode
from devnet.simulators.server import SimulatedLocation
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoredService, StoredStock
from sources.cache.types import utc_now
from sources.connectors.base import Capability, ConnectorConfig
from sources.connectors.bookingx import BookingXConnector
from sources.connectors.bookingx_session import PREFIX, handshake_signature
from sources.connectors.errors import LocationUnavailable, RejectionCode, UpstreamRejected
from sources.connectors.records import BookingRequest, CustomerAck, CustomerDetails

pytestmark = pytest.mark.asyncio

DUBLIN = ZoneInfo("Europe/Dublin")
API_KEY, API_SECRET = "bkx_key_dublin", "s3cret-dublin"
LONG_AGO = (utc_now() - timedelta(days=30)).replace(microsecond=0)  # before any test runs


def at(hour: int, minute: int = 0) -> datetime:
    """Monday 3 June 2030 in Dublin (UTC+1 then)."""
    return datetime(2030, 6, 3, hour, minute, tzinfo=DUBLIN)


def build_store() -> LocationStore:
    store = LocationStore(
        "dublin", timezone="Europe/Dublin", currency="EUR", opening_hours=[[9, 18]] * 7, new_id=bookingx_local_ids(7)
    )
    store.services["SV-10"] = StoredService("SV-10", "Cut & finish", "hair", "hair", 30, 4500, "EUR")
    store.services["SV-11"] = StoredService("SV-11", "Deep tissue massage", "body", "massage", 60, 7000, "EUR")
    store.resources["S-100"] = StoredResource("S-100", "staff", "Aoife Byrne", "Senior stylist", "hair")
    store.resources["S-101"] = StoredResource("S-101", "staff", "Ciara Walsh", "Therapist", "massage")
    store.resources["res_galway_7"] = StoredResource(
        "res_galway_7", "staff", "Niamh Kelly", "Colourist", "colour", owned=False
    )
    store.customers["C-1001"] = StoredCustomer(
        "C-1001", "Sean", "Murphy", "sean@example.ie", "+353871234567", 120, global_id="cus_sean", updated_at=LONG_AGO
    )
    store.customers["C-1002"] = StoredCustomer(
        "C-1002", "Sean", "Murphy", "smurphy@example.ie", None, 30, global_id="cus_sean2", updated_at=LONG_AGO
    )
    store.bookings["BK-50001"] = StoredBooking(
        "BK-50001", "C-1001", "SV-10", "S-100", at(10), at(10, 30), "confirmed", 4500, "EUR",
        global_id="bkg_seeded", updated_at=LONG_AGO,
    )  # fmt: skip
    store.bookings["BK-50002"] = StoredBooking(
        "BK-50002", "C-1002", "SV-11", "S-101", at(15), at(16), "confirmed", 7000, "EUR", updated_at=LONG_AGO
    )
    store.stock["SHAMPOO-250"] = StoredStock("SHAMPOO-250", 10, 2, 3, date(2031, 1, 31), LONG_AGO)
    return store


def config(url: str, **credentials: str) -> ConnectorConfig:
    creds = {"api_key": API_KEY, "api_secret": API_SECRET} | credentials
    return ConnectorConfig(location_id="dublin", kind="bookingx", base_url=url, credentials=creds, max_attempts=1)


@dataclass
class Node:
    location: SimulatedLocation
    store: LocationStore
    state: BookingXNode
    connector: BookingXConnector


async def start_node(token_ttl_seconds: int = 900) -> Node:
    store = build_store()
    app = bookingx_app(
        store, node_id="dublin", api_key=API_KEY, api_secret=API_SECRET, token_ttl_seconds=token_ttl_seconds
    )
    location = SimulatedLocation("dublin", app)
    await location.start()
    return Node(location, store, app.state.node, BookingXConnector(config(location.url)))


@pytest_asyncio.fixture
async def node() -> AsyncIterator[Node]:
    started = await start_node()
    yield started
    await started.connector.aclose()
    await started.location.stop()


def customer(global_id: str = "cus_new", first: str = "Orla", email: str | None = "orla@example.ie") -> CustomerDetails:
    return CustomerDetails(global_id, first, "Doyle", email, None, {"stylist": "S-100"})


def booking_request(start: datetime, minutes: int = 30, *, key: str = "idem-1", **overrides: Any) -> BookingRequest:
    fields: dict[str, Any] = {
        "global_id": "bkg_gateway_1",
        "idempotency_key": key,
        "customer": customer(),
        "local_customer_id": None,
        "local_service_id": "SV-10",
        "local_resource_id": "S-100",
        "start_at": start,
        "end_at": start + timedelta(minutes=minutes),
        "price_minor": 4500,
        "currency": "EUR",
        "notes": "first visit",
        "originating_location_id": "galway",
    }
    return BookingRequest(**(fields | overrides))


async def rejected(call: Any) -> RejectionCode:
    with pytest.raises(UpstreamRejected) as caught:
        await call
    return caught.value.code


# -- auth ------------------------------------------------------------------------------------------
async def test_first_call_handshakes_and_later_calls_reuse_the_token(node: Node) -> None:
    await node.connector.list_services()
    await node.connector.list_resources()
    await node.connector.list_bookings(None)
    assert node.state.tokens.issued == 1
    assert node.connector.session.node_version == "2.1.0"


async def test_concurrent_first_calls_share_one_handshake(node: Node) -> None:
    await asyncio.gather(*(node.connector.list_services() for _ in range(8)))
    assert node.state.tokens.issued == 1


async def test_expired_token_is_replaced_by_one_handshake_and_the_call_repeated(node: Node) -> None:
    await node.connector.list_services()
    node.state.tokens.expire_all()
    seen = node.location.controls.requests_seen
    services = await node.connector.list_services()
    assert [s.local_id for s in services] == ["SV-10", "SV-11"]
    assert node.state.tokens.issued == 2
    assert node.location.controls.requests_seen - seen == 3  # refused call, handshake, repeated call


async def test_token_is_renewed_before_the_nodes_expiry() -> None:
    short = await start_node(token_ttl_seconds=1)
    try:
        await short.connector.list_services()
        await asyncio.sleep(1.0)
        seen = short.location.controls.requests_seen
        await short.connector.list_services()
        assert short.state.tokens.issued == 2
        assert short.location.controls.requests_seen - seen == 2  # handshake, call: no 401 in between
    finally:
        await short.connector.aclose()
        await short.location.stop()


async def test_wrong_secret_is_forbidden(node: Node) -> None:
    connector = BookingXConnector(config(node.location.url, api_secret="guess"))
    try:
        assert await rejected(connector.list_services()) == RejectionCode.FORBIDDEN
    finally:
        await connector.aclose()
    assert node.state.tokens.issued == 0


async def test_wrong_api_key_and_missing_credentials_are_forbidden(node: Node) -> None:
    for credentials in ({"api_key": "bkx_key_galway"}, {"api_secret": ""}):
        connector = BookingXConnector(config(node.location.url, **credentials))
        try:
            assert await rejected(connector.list_bookings(None)) == RejectionCode.FORBIDDEN
        finally:
            await connector.aclose()


async def test_handshake_with_a_stale_timestamp_is_refused(node: Node) -> None:
    stale = int(time.time()) - 301
    payload = {"node_id": "dublin", "api_key": API_KEY, "timestamp": stale}
    async with httpx.AsyncClient(base_url=node.location.url) as client:
        signed = payload | {"signature": handshake_signature(API_SECRET, stale, API_KEY)}
        answer = await client.post(f"{PREFIX}/handshake", json=signed)
    assert answer.status_code == 403
    assert answer.json()["code"] == "FORBIDDEN"


async def test_calls_without_a_valid_token_are_auth_failed(node: Node) -> None:
    async with httpx.AsyncClient(base_url=node.location.url) as client:
        missing = await client.get(f"{PREFIX}/bookings")
        unknown = await client.get(f"{PREFIX}/bookings", headers={"Authorization": "Bearer forged"})
    for answer in (missing, unknown):
        assert answer.status_code == 401
        assert answer.json()["code"] == "AUTH_FAILED"


async def test_a_token_refused_right_after_a_handshake_is_forbidden() -> None:
    handshakes = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal handshakes
        if request.url.path.endswith("/handshake"):
            handshakes += 1
            return httpx.Response(200, json={"token": f"t{handshakes}", "expires_in": 900, "node_id": "dublin"})
        return httpx.Response(401, json={"code": "AUTH_FAILED", "message": "no"})

    connector = BookingXConnector(config("http://dublin.test"), transport=httpx.MockTransport(handler))
    try:
        assert await rejected(connector.list_services()) == RejectionCode.FORBIDDEN
    finally:
        await connector.aclose()
    assert handshakes == 2


# -- reads -----------------------------------------------------------------------------------------
async def test_lists_services_resources_customers_and_stock(node: Node) -> None:
    services = await node.connector.list_services()
    resources = await node.connector.list_resources()
    customers = await node.connector.list_customers(None)
    stock = await node.connector.list_stock()
    assert {(s.local_id, s.skill, s.duration_minutes, s.price_minor, s.currency) for s in services} == {
        ("SV-10", "hair", 30, 4500, "EUR"),
        ("SV-11", "massage", 60, 7000, "EUR"),
    }
    # Staff lent in from Galway are Galway's to list.
    assert sorted((r.local_id, r.kind, r.skill) for r in resources) == [
        ("S-100", "staff", "hair"),
        ("S-101", "staff", "massage"),
    ]
    sean = next(c for c in customers if c.local_id == "C-1001")
    assert (sean.email, sean.loyalty_points, sean.updated_at) == ("sean@example.ie", 120, LONG_AGO)
    assert [(s.sku, s.quantity, s.reserved, s.reorder_point, s.expires_on) for s in stock] == [
        ("SHAMPOO-250", 10, 2, 3, date(2031, 1, 31))
    ]


async def test_bookings_come_back_in_utc_with_their_global_id(node: Node) -> None:
    bookings = {b.local_id: b for b in await node.connector.list_bookings(None)}
    seeded = bookings["BK-50001"]
    assert seeded.start_at == datetime(2030, 6, 3, 9, 0, tzinfo=UTC)
    assert seeded.start_at.tzinfo == UTC
    assert (seeded.global_id, seeded.local_customer_id, seeded.local_resource_id) == ("bkg_seeded", "C-1001", "S-100")
    assert bookings["BK-50002"].global_id is None  # made at the location, never seen by the gateway


async def test_changed_since_returns_only_what_changed_after_the_cursor(node: Node) -> None:
    cursor = utc_now()
    ack = await node.connector.create_booking(booking_request(at(11)))
    await node.connector.upsert_customer("C-1002", customer("cus_sean2", "Seán"), "idem-upsert")
    changed_bookings = await node.connector.list_bookings(cursor)
    changed_customers = await node.connector.list_customers(cursor)
    assert [b.local_id for b in changed_bookings] == [ack.local_id]
    assert sorted(c.local_id for c in changed_customers) == sorted([ack.local_customer_id, "C-1002"])
    assert len(await node.connector.list_bookings(None)) == 3


async def test_availability_lists_free_slots_and_leaves_out_the_booked_one(node: Node) -> None:
    slots = await node.connector.availability("SV-10", at(9), at(12))
    assert all(slot.local_resource_id == "S-100" and slot.local_service_id == "SV-10" for slot in slots)
    assert all(slot.end_at - slot.start_at == timedelta(minutes=30) for slot in slots)
    # Every quarter hour from 9:00 to 11:30 but 9:45, 10:00 and 10:15, which overlap the 10:00-10:30 booking.
    free = [(9, 0), (9, 15), (9, 30), (10, 30), (10, 45), (11, 0), (11, 15), (11, 30)]
    assert [slot.start_at for slot in slots] == [at(h, m).astimezone(UTC) for h, m in free]


async def test_availability_for_an_unknown_service_is_not_found(node: Node) -> None:
    assert await rejected(node.connector.availability("SV-99", at(9), at(12))) == RejectionCode.NOT_FOUND


# -- bookings --------------------------------------------------------------------------------------
async def test_create_booking_returns_the_nodes_ids_and_a_retry_does_not_book_twice(node: Node) -> None:
    request = booking_request(at(11))
    before = node.store.write_count
    first = await node.connector.create_booking(request)
    again = await node.connector.create_booking(request)
    assert again == first
    assert first.local_id.startswith("BK-") and first.local_customer_id.startswith("C-")
    assert (first.local_resource_id, first.status, first.version) == ("S-100", "confirmed", 1)
    assert node.store.write_count == before + 1
    made = [b for b in node.store.bookings.values() if b.global_id == "bkg_gateway_1"]
    assert [b.local_id for b in made] == [first.local_id]
    assert node.store.customers[first.local_customer_id].global_id == "cus_new"


async def test_booking_for_a_customer_the_node_already_maps_reuses_their_local_id(node: Node) -> None:
    ack = await node.connector.create_booking(booking_request(at(11), customer=customer("cus_sean", "Sean")))
    assert ack.local_customer_id == "C-1001"
    assert len(node.store.customers) == 2


async def test_overlapping_booking_is_slot_unavailable_and_writes_nothing(node: Node) -> None:
    before = node.store.write_count
    code = await rejected(node.connector.create_booking(booking_request(at(10, 15))))
    assert code == RejectionCode.SLOT_UNAVAILABLE
    assert node.store.write_count == before
    assert len(node.store.bookings) == 2


async def test_reschedule_moves_the_booking_and_bumps_its_version(node: Node) -> None:
    ack = await node.connector.reschedule_booking("BK-50001", at(14), at(14, 30), None, "idem-move")
    assert (ack.local_id, ack.version, ack.local_resource_id) == ("BK-50001", 2, "S-100")
    moved = {b.local_id: b for b in await node.connector.list_bookings(None)}["BK-50001"]
    assert (moved.start_at, moved.end_at) == (at(14).astimezone(UTC), at(14, 30).astimezone(UTC))


async def test_reschedule_onto_a_taken_slot_is_slot_unavailable(node: Node) -> None:
    await node.connector.create_booking(booking_request(at(14)))
    code = await rejected(node.connector.reschedule_booking("BK-50001", at(14), at(14, 30), "S-100", "idem-move"))
    assert code == RejectionCode.SLOT_UNAVAILABLE


async def test_cancel_frees_the_slot(node: Node) -> None:
    ack = await node.connector.cancel_booking("BK-50001", "customer is ill", "idem-cancel")
    assert (ack.status, ack.version) == ("cancelled", 2)
    starts = {slot.start_at for slot in await node.connector.availability("SV-10", at(9), at(12))}
    assert at(10).astimezone(UTC) in starts
    assert "customer is ill" in node.store.bookings["BK-50001"].notes


async def test_cancel_of_unknown_booking_is_not_found(node: Node) -> None:
    assert await rejected(node.connector.cancel_booking("BK-1", "typo", "idem-cancel")) == RejectionCode.NOT_FOUND


async def test_moving_a_cancelled_booking_is_a_conflict(node: Node) -> None:
    await node.connector.cancel_booking("BK-50001", "", "idem-cancel")
    code = await rejected(node.connector.reschedule_booking("BK-50001", at(14), at(14, 30), None, "idem-move"))
    assert code == RejectionCode.CONFLICT


# -- customers -------------------------------------------------------------------------------------
async def test_upsert_creates_a_customer_then_updates_the_same_one(node: Node) -> None:
    created = await node.connector.upsert_customer(None, customer(), "idem-create")
    local_id = created.local_id
    assert local_id.startswith("C-") and local_id in node.store.customers
    same = await node.connector.upsert_customer(local_id, customer(email="orla.doyle@example.ie"), "idem-update")
    assert same == CustomerAck(local_id, created.version + 1)
    stored = node.store.customers[local_id]
    assert (stored.email, stored.global_id, stored.preferences) == (
        "orla.doyle@example.ie",
        "cus_new",
        {"stylist": "S-100"},
    )
    assert len(node.store.customers) == 3


async def test_upsert_of_an_unknown_local_customer_is_not_found(node: Node) -> None:
    assert await rejected(node.connector.upsert_customer("C-9", customer(), "idem-x")) == RejectionCode.NOT_FOUND


async def test_merge_moves_bookings_and_points_to_the_kept_customer(node: Node) -> None:
    await node.connector.merge_customers("C-1001", "C-1002", "idem-merge")
    customers = {c.local_id: c for c in await node.connector.list_customers(None)}
    assert list(customers) == ["C-1001"]
    assert customers["C-1001"].loyalty_points == 150
    bookings = {b.local_id: b for b in await node.connector.list_bookings(None)}
    assert bookings["BK-50002"].local_customer_id == "C-1001"


async def test_merge_with_an_unknown_customer_is_not_found(node: Node) -> None:
    assert await rejected(node.connector.merge_customers("C-1001", "C-7", "idem-merge")) == RejectionCode.NOT_FOUND


# -- resources -------------------------------------------------------------------------------------
async def test_share_then_unshare_a_resource(node: Node) -> None:
    await node.connector.share_resource("S-100", "galway", {"max_hours_per_week": 10}, "idem-share")
    assert node.store.shares == {("S-100", "galway"): {"max_hours_per_week": 10}}
    await node.connector.unshare_resource("S-100", "galway", "idem-unshare")
    assert node.store.shares == {}


async def test_sharing_an_unknown_or_borrowed_resource_is_refused(node: Node) -> None:
    unknown = await rejected(node.connector.share_resource("S-999", "galway", {}, "idem-1"))
    borrowed = await rejected(node.connector.share_resource("res_galway_7", "cork", {}, "idem-2"))
    assert (unknown, borrowed) == (RejectionCode.NOT_FOUND, RejectionCode.FORBIDDEN)


# -- stock -----------------------------------------------------------------------------------------
async def test_adjust_reserve_and_release_stock(node: Node) -> None:
    added = await node.connector.change_stock("SHAMPOO-250", 5, "delivery", "PO-77", "idem-a")
    reserved = await node.connector.reserve_stock("SHAMPOO-250", 3, "BK-50001", "idem-r")
    released = await node.connector.release_stock("SHAMPOO-250", 2, "BK-50001", "idem-l")
    assert [(a.quantity, a.reserved) for a in (added, reserved, released)] == [(15, 2), (15, 5), (15, 3)]
    again = await node.connector.change_stock("SHAMPOO-250", 5, "delivery", "PO-77", "idem-a")
    assert again.quantity == 15  # the same delivery delivered twice is counted once


async def test_stock_beyond_what_is_free_is_insufficient(node: Node) -> None:
    too_many = await rejected(node.connector.reserve_stock("SHAMPOO-250", 9, "BK-1", "idem-r"))
    below_reserved = await rejected(node.connector.change_stock("SHAMPOO-250", -9, "shrinkage", "", "idem-a"))
    assert (too_many, below_reserved) == (RejectionCode.INSUFFICIENT_STOCK, RejectionCode.INSUFFICIENT_STOCK)
    assert (node.store.stock["SHAMPOO-250"].quantity, node.store.stock["SHAMPOO-250"].reserved) == (10, 2)


async def test_stock_transferred_in_opens_a_level_and_unknown_skus_are_not_found(node: Node) -> None:
    opened = await node.connector.change_stock("CONDITIONER-500", 4, "transfer in", "TR-1", "idem-t")
    assert (opened.sku, opened.quantity, opened.reserved) == ("CONDITIONER-500", 4, 0)
    assert await rejected(node.connector.reserve_stock("WAX-50", 1, "BK-1", "idem-r")) == RejectionCode.NOT_FOUND
    over_release = await rejected(node.connector.release_stock("SHAMPOO-250", 5, "BK-1", "idem-l"))
    assert over_release == RejectionCode.INVALID_INPUT


# -- health and outages ----------------------------------------------------------------------------
async def test_health_reports_the_nodes_status_and_version(node: Node) -> None:
    health = await node.connector.check_health()
    assert (health.status, health.version) == ("online", "2.1.0")
    assert abs((utc_now() - health.checked_at).total_seconds()) < 5
    node.state.status = "degraded"
    assert (await node.connector.check_health()).status == "degraded"
    assert node.connector.capabilities == frozenset(Capability)


async def test_stopped_node_is_unavailable(node: Node) -> None:
    await node.connector.list_services()
    await node.location.stop()
    with pytest.raises(LocationUnavailable):
        await node.connector.list_services()
    with pytest.raises(LocationUnavailable):
        await node.connector.check_health()
    await node.location.start()
    assert len(await node.connector.list_services()) == 2


def _garbage(respond: Callable[[], httpx.Response]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/handshake"):
            return httpx.Response(200, json={"token": "t", "expires_in": 900, "node_id": "dublin", "version": "2.1.0"})
        return respond()

    return httpx.MockTransport(handler)


GOOD_BOOKING = {
    "local_booking_id": "BK-1",
    "global_booking_id": None,
    "local_customer_id": "C-1",
    "local_service_id": "SV-10",
    "local_resource_id": "S-100",
    "start_at": "2030-06-03T10:00:00+01:00",
    "end_at": "2030-06-03T10:30:00+01:00",
    "status": "confirmed",
    "price_minor": 4500,
    "currency": "EUR",
    "notes": "",
    "version": 1,
    "updated_at": "2030-06-01T08:00:00+00:00",
}


@pytest.mark.parametrize(
    "respond",
    [
        pytest.param(lambda: httpx.Response(200, text="<html>maintenance</html>"), id="not-json"),
        pytest.param(lambda: httpx.Response(200, json=[GOOD_BOOKING]), id="list-not-object"),
        pytest.param(lambda: httpx.Response(200, json={"items": [GOOD_BOOKING]}), id="no-bookings-key"),
        pytest.param(
            lambda: httpx.Response(200, json={"bookings": [GOOD_BOOKING | {"start_at": "2030-06-03T10:00:00"}]}),
            id="naive-time",
        ),
        pytest.param(lambda: httpx.Response(200, json={"bookings": [GOOD_BOOKING | {"version": "1"}]}), id="str-int"),
        pytest.param(lambda: httpx.Response(404, text="<h1>Not Found</h1>"), id="html-404"),
        pytest.param(lambda: httpx.Response(409, json={"code": "rest_no_route"}), id="unknown-code"),
    ],
)
async def test_malformed_answer_is_unavailable(respond: Callable[[], httpx.Response]) -> None:
    connector = BookingXConnector(config("http://dublin.test"), transport=_garbage(respond))
    try:
        with pytest.raises(LocationUnavailable):
            await connector.list_bookings(None)
    finally:
        await connector.aclose()


async def test_well_formed_mock_answer_is_read() -> None:
    """The garbage cases above differ from this one answer only in what they break."""
    transport = _garbage(lambda: httpx.Response(200, json={"bookings": [GOOD_BOOKING]}))
    connector = BookingXConnector(config("http://dublin.test"), transport=transport)
    try:
        [booking] = await connector.list_bookings(None)
    finally:
        await connector.aclose()
    assert booking.start_at == datetime(2030, 6, 3, 9, tzinfo=UTC)


# -- the node's own network endpoints --------------------------------------------------------------
async def _authorized(node: Node) -> httpx.AsyncClient:
    token = await node.connector.session.token()
    return httpx.AsyncClient(base_url=node.location.url + PREFIX, headers={"Authorization": f"Bearer {token}"})


async def test_sync_returns_what_changed_since_the_cursor(node: Node) -> None:
    cursor = utc_now()
    await node.connector.reserve_stock("SHAMPOO-250", 1, "BK-50001", "idem-r")
    async with await _authorized(node) as client:
        answer = (await client.post("/sync", json={"since": cursor.isoformat()})).json()
        everything = (await client.post("/sync", json={"since": None, "entities": ["bookings"]})).json()
    assert (answer["bookings"], answer["customers"]) == ([], [])
    assert [level["reserved"] for level in answer["inventory"]] == [3]
    assert sorted(b["local_booking_id"] for b in everything["bookings"]) == ["BK-50001", "BK-50002"]
    assert "customers" not in everything


async def test_lent_in_staff_registered_by_the_hub_is_not_the_nodes_own(node: Node) -> None:
    staff = {"global_resource_id": "res_cork_3", "owning_node_id": "cork", "name": "Emer Ryan", "skill": "hair"}
    async with await _authorized(node) as client:
        created = await client.post("/staff", json=staff, headers={"Idempotency-Key": "lend-1"})
        listed = (await client.get("/resources")).json()["resources"]
    assert created.status_code == 201
    assert {r["local_resource_id"]: r["owned"] for r in listed}["res_cork_3"] is False
    assert "res_cork_3" not in {r.local_id for r in await node.connector.list_resources()}
    slots = await node.connector.availability("SV-10", at(10), at(10, 30))
    assert {slot.local_resource_id for slot in slots} == {"res_cork_3"}  # Aoife is booked; Emer is lent in


async def test_analytics_counts_bookings_by_status_and_earned_revenue(node: Node) -> None:
    await node.connector.cancel_booking("BK-50002", "", "idem-cancel")
    async with await _authorized(node) as client:
        figures = (await client.get("/analytics")).json()
    assert figures["bookings"] == {"total": 2, "by_status": {"confirmed": 1, "cancelled": 1}}
    assert figures["revenue"] == {"amount_minor": 4500, "currency": "EUR"}


async def test_conflict_resolution_applies_the_hubs_data_unless_the_node_won(node: Node) -> None:
    resolved = {"first_name": "Seán", "email": "sean.murphy@example.ie"}
    base = {"conflict_id": "cf_1", "entity_type": "customer", "local_id": "C-1001", "resolved_data": resolved}
    async with await _authorized(node) as client:
        kept = (await client.post("/sync/conflict-resolve", json=base | {"strategy": "node_wins"})).json()
        assert node.store.customers["C-1001"].email == "sean@example.ie"
        taken = (await client.post("/sync/conflict-resolve", json=base | {"strategy": "hub_wins"})).json()
        bad = await client.post("/sync/conflict-resolve", json=base | {"strategy": "coin_toss"})
    assert (kept["applied"], taken["applied"]) == (False, True)
    assert (taken["entity"]["first_name"], node.store.customers["C-1001"].email) == ("Seán", "sean.murphy@example.ie")
    assert (bad.status_code, bad.json()["code"]) == (422, "INVALID_INPUT")


async def test_bad_input_and_unknown_paths_answer_json_errors(node: Node) -> None:
    async with await _authorized(node) as client:
        naive = await client.get(
            "/availability", params={"service_id": "SV-10", "from": "2030-06-03T09:00:00", "to": "x"}
        )
        not_json = await client.post("/bookings", content=b"{", headers={"content-type": "application/json"})
        no_route = await client.get("/nowhere")
    assert [(a.status_code, a.json()["code"]) for a in (naive, not_json, no_route)] == [
        (422, "INVALID_INPUT"),
        (422, "INVALID_INPUT"),
        (404, "NO_ROUTE"),
    ]


async def test_local_ids_are_prefixed_counters_and_never_reuse_a_stored_id() -> None:
    first, second = bookingx_local_ids(3), bookingx_local_ids(3)
    issued = [first("booking"), first("customer"), first("booking")]
    assert issued == [second("booking"), second("customer"), second("booking")]
    assert issued[0].startswith("BK-") and issued[1].startswith("C-")
    assert int(issued[2][3:]) > int(issued[0][3:])
    store = build_store()
    upcoming = bookingx_local_ids(7)("booking")
    store.bookings[upcoming] = StoredBooking(
        upcoming, "C-1001", "SV-10", "S-100", at(12), at(12, 30), "confirmed", 1, "EUR"
    )
    bookingx_app(store, node_id="dublin", api_key=API_KEY, api_secret=API_SECRET)
    made = store.create_booking(
        key=None, local_customer_id="C-1001", customer={}, local_service_id="SV-10", local_resource_id="S-100",
        start_at=at(13), end_at=at(13, 30), price_minor=4500, currency="EUR",
    )  # fmt: skip
    assert made.local_id != upcoming and len(store.bookings) == 4


async def test_paged_sync_speaks_cursors_and_refuses_a_stale_expected_version_with_409(node: Node) -> None:
    page = {"entity_type": "customers", "cursor": None, "limit": 1}
    async with await _authorized(node) as client:
        first = (await client.post("/sync", json=page)).json()
        second = (await client.post("/sync", json=page | {"cursor": first["next_cursor"]})).json()
        stale = await client.put("/customers", json={"local_customer_id": "C-1001", "expected_version": 7})
        fresh = await client.put("/customers", json={"local_customer_id": "C-1001", "expected_version": 1})
    assert [c["local_customer_id"] for c in first["records"] + second["records"]] == ["C-1001", "C-1002"]
    assert first["next_cursor"] == {"changed_at": LONG_AGO.isoformat(), "key": "C-1001"}
    assert (first["has_more"], second["has_more"]) == (True, False)
    assert (stale.status_code, stale.json()["code"]) == (409, "STALE_VERSION")
    assert (fresh.status_code, fresh.json()["version"]) == (200, 2)
