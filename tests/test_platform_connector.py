"""The booking-platform connector against the Booksy-like simulator served on 127.0.0.1.

The store is built by hand: a London salon open 9-18, two hair stylists, a massage
room, two customers, a few bookings on 8 July 2031 (BST, so local times are UTC+1 and
the connector's UTC conversion is visible).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from devnet.simulators.platform import platform_app, platform_auth, platform_local_ids
from devnet.simulators.platform_auth import PlatformAuth
from devnet.simulators.server import SimulatedLocation
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoredService
from sources.connectors.base import Capability, ConnectorConfig
from sources.connectors.errors import LocationUnavailable, OperationNotSupported, RejectionCode, UpstreamRejected
from sources.connectors.platform import PlatformConnector
from sources.connectors.records import BookingRequest, CustomerAck, CustomerDetails

LOCATION = "salon-soho"
CLIENT_ID = "gateway"
CLIENT_SECRET = "s3cret-platform"
DAY = datetime(2031, 7, 8, tzinfo=UTC)  # a Tuesday in British Summer Time
LONG_AGO = datetime(2030, 1, 1, tzinfo=UTC)


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    """A UTC moment on the test day (local London time is one hour later)."""
    return DAY + timedelta(days=days, hours=hour, minutes=minute)


def build_store(extra_bookings: int = 0) -> LocationStore:
    store = LocationStore(
        LOCATION, timezone="Europe/London", currency="GBP", opening_hours=[[9, 18]] * 7, new_id=platform_local_ids(3)
    )
    store.services["svc_cut"] = StoredService("svc_cut", "Cut & finish", "hair", "hair", 45, 1999, "GBP")
    store.services["svc_massage"] = StoredService("svc_massage", "Deep tissue", "body", "massage", 60, 6000, "GBP")
    store.resources["sta_ann"] = StoredResource("sta_ann", "staff", "Ann", "Senior stylist", "hair")
    store.resources["sta_bob"] = StoredResource("sta_bob", "staff", "Bob", "Stylist", "hair")
    store.resources["roo_1"] = StoredResource("roo_1", "room", "Room 1", "Treatment room", "massage")
    store.customers["cl_alice"] = StoredCustomer(
        "cl_alice", "Alice", "Able", "alice@example.com", "+447700900001", loyalty_points=40, updated_at=LONG_AGO
    )
    store.customers["cl_bea"] = StoredCustomer(
        "cl_bea", "Bea", "Bright", "bea@example.com", None, loyalty_points=5, updated_at=LONG_AGO
    )
    store.bookings["bk_1"] = StoredBooking(
        "bk_1", "cl_alice", "svc_cut", "sta_ann", at(9), at(9, 45), "pending", 1999, "GBP", "fringe only",
        global_id="bkg_global_1", updated_at=LONG_AGO,
    )  # fmt: skip
    store.bookings["bk_2"] = StoredBooking(
        "bk_2", "cl_bea", "svc_massage", "roo_1", at(10), at(11), "completed", 6000, "GBP", updated_at=LONG_AGO
    )
    for n in range(extra_bookings):
        start = at(8, days=n + 1)  # 09:00 local on the following days, one each
        store.bookings[f"bk_x{n:02d}"] = StoredBooking(
            f"bk_x{n:02d}", "cl_bea", "svc_cut", "sta_bob", start, start + timedelta(minutes=45), "confirmed", 1999,
            "GBP", updated_at=LONG_AGO + timedelta(minutes=n),
        )  # fmt: skip
    return store


@dataclass
class Platform:
    location: SimulatedLocation
    app: Starlette
    connector: PlatformConnector

    @property
    def auth(self) -> PlatformAuth:
        return platform_auth(self.app)


@asynccontextmanager
async def running_platform(
    store: LocationStore,
    *,
    client_secret: str = CLIENT_SECRET,
    rate_limit_per_second: float = 100.0,
    burst: int = 100,
    token_ttl_seconds: int = 3600,
    page_size: int = 100,
) -> AsyncIterator[Platform]:
    app = platform_app(
        store,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        rate_limit_per_second=rate_limit_per_second,
        burst=burst,
        token_ttl_seconds=token_ttl_seconds,
    )
    location = SimulatedLocation(LOCATION, app)
    await location.start()
    config = ConnectorConfig(
        location_id=LOCATION,
        kind="platform",
        base_url=location.url,
        credentials={"client_id": CLIENT_ID, "client_secret": client_secret},
        extra={"page_size": page_size},
    )
    connector = PlatformConnector(config)
    try:
        yield Platform(location, app, connector)
    finally:
        await connector.aclose()
        await location.stop()


def booking_request(key: str, *, resource: str | None = "sta_bob", start: datetime | None = None) -> BookingRequest:
    start = start or at(12)
    return BookingRequest(
        global_id="bkg_from_gateway",
        idempotency_key=key,
        customer=CustomerDetails("cus_global_9", "Cara", "Cole", "cara@example.com", "+447700900009"),
        local_customer_id=None,
        local_service_id="svc_cut",
        local_resource_id=resource,
        start_at=start,
        end_at=start + timedelta(minutes=45),
        price_minor=1999,
        currency="GBP",
        notes="first visit",
    )


# -- auth -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_one_token_is_fetched_and_shared_by_every_call() -> None:
    async with running_platform(build_store()) as platform:
        connector = platform.connector
        await asyncio.gather(
            connector.list_services(), connector.list_resources(), connector.check_health(), connector.list_services()
        )
        await connector.list_customers(None)
        assert platform.auth.tokens_issued == 1


@pytest.mark.asyncio
async def test_token_about_to_expire_is_renewed_before_use() -> None:
    async with running_platform(build_store(), token_ttl_seconds=1) as platform:
        await platform.connector.list_services()
        await asyncio.sleep(1.05)
        services = await platform.connector.list_services()
        assert len(services) == 2
        assert platform.auth.tokens_issued == 2


@pytest.mark.asyncio
async def test_revoked_token_is_replaced_once_and_the_call_retried() -> None:
    async with running_platform(build_store()) as platform:
        await platform.connector.list_services()
        platform.auth.revoke_all()
        health = await platform.connector.check_health()
        assert health.status == "online"
        assert health.version == "2.3"
        assert platform.auth.tokens_issued == 2


@pytest.mark.asyncio
async def test_wrong_client_secret_is_forbidden() -> None:
    async with running_platform(build_store(), client_secret="not-the-secret") as platform:
        with pytest.raises(UpstreamRejected) as refused:
            await platform.connector.list_services()
        assert refused.value.code is RejectionCode.FORBIDDEN
        assert platform.auth.tokens_issued == 0


@pytest.mark.asyncio
async def test_token_endpoint_takes_a_form_body_and_refuses_other_grants() -> None:
    async with running_platform(build_store()) as platform, httpx.AsyncClient(base_url=platform.location.url) as http:
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        granted = await http.post("/oauth/token", data=form)
        assert granted.status_code == 200
        assert granted.json()["token_type"] == "Bearer"
        assert granted.json()["expires_in"] == 3600
        refused = await http.post("/oauth/token", data={**form, "grant_type": "password"})
        assert (refused.status_code, refused.json()["error"]) == (400, "unsupported_grant_type")
        anonymous = await http.get("/v1/services")
        assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_token")


# -- reads ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_booking_listing_follows_every_page() -> None:
    store = build_store(extra_bookings=12)
    async with running_platform(store, page_size=5) as platform:
        bookings = await platform.connector.list_bookings(None)
        assert sorted(b.local_id for b in bookings) == sorted(store.bookings)
        assert len(bookings) == 14  # three pages of at most five


@pytest.mark.asyncio
async def test_changed_since_lists_only_later_changes() -> None:
    store = build_store(extra_bookings=3)
    store.bookings["bk_2"].updated_at = datetime(2031, 1, 1, tzinfo=UTC)
    store.customers["cl_bea"].updated_at = datetime(2031, 1, 1, tzinfo=UTC)
    async with running_platform(store, page_size=2) as platform:
        since = datetime(2030, 6, 1, tzinfo=UTC)
        assert [b.local_id for b in await platform.connector.list_bookings(since)] == ["bk_2"]
        assert [c.local_id for c in await platform.connector.list_customers(since)] == ["cl_bea"]


@pytest.mark.asyncio
async def test_appointments_are_normalised_to_utc_minor_units_and_our_statuses() -> None:
    async with running_platform(build_store()) as platform:
        bookings = {b.local_id: b for b in await platform.connector.list_bookings(None)}
        async with httpx.AsyncClient(base_url=platform.location.url) as http:
            form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
            token = (await http.post("/oauth/token", data=form)).json()["access_token"]
            raw = await http.get("/v1/appointments", headers={"Authorization": f"Bearer {token}"})
    wire = {row["id"]: row for row in raw.json()["appointments"]}
    # What the platform says ...
    assert wire["bk_1"]["starts_at"] == "2031-07-08T10:00:00+01:00"
    assert wire["bk_1"]["price"] == {"amount": "19.99", "currency": "GBP"}
    assert (wire["bk_1"]["status"], wire["bk_2"]["status"]) == ("booked", "finished")
    # ... and what the gateway gets.
    first = bookings["bk_1"]
    assert first.start_at == at(9) and first.start_at.utcoffset() == timedelta(0)
    assert first.end_at == at(9, 45)
    assert (first.price_minor, first.currency) == (1999, "GBP")
    assert (first.status, bookings["bk_2"].status) == ("pending", "completed")
    assert (first.local_customer_id, first.local_service_id, first.local_resource_id) == (
        "cl_alice",
        "svc_cut",
        "sta_ann",
    )
    assert (first.notes, first.version, first.global_id) == ("fringe only", 1, "bkg_global_1")
    assert bookings["bk_2"].global_id is None


@pytest.mark.asyncio
async def test_services_staff_and_customers_are_normalised() -> None:
    async with running_platform(build_store()) as platform:
        services = {s.local_id: s for s in await platform.connector.list_services()}
        resources = {r.local_id: r for r in await platform.connector.list_resources()}
        customers = {c.local_id: c for c in await platform.connector.list_customers(None)}
    cut = services["svc_cut"]
    assert (cut.name, cut.skill, cut.duration_minutes, cut.price_minor, cut.currency) == (
        "Cut & finish", "hair", 45, 1999, "GBP"
    )  # fmt: skip
    assert services["svc_massage"].price_minor == 6000
    assert (resources["roo_1"].kind, resources["roo_1"].name, resources["roo_1"].skill) == ("room", "Room 1", "massage")
    assert resources["sta_ann"].title == "Senior stylist"
    alice = customers["cl_alice"]
    assert (alice.phone, alice.loyalty_points, alice.updated_at) == ("+447700900001", 40, LONG_AGO)


@pytest.mark.asyncio
async def test_availability_lists_free_starts_in_utc_per_staff_member() -> None:
    async with running_platform(build_store()) as platform:
        slots = await platform.connector.availability("svc_cut", at(8), at(11))  # 09:00-12:00 local
    by_staff: dict[str, list[datetime]] = {}
    for slot in slots:
        assert slot.local_service_id == "svc_cut"
        assert slot.end_at - slot.start_at == timedelta(minutes=45)
        assert slot.start_at.utcoffset() == timedelta(0)
        by_staff.setdefault(slot.local_resource_id, []).append(slot.start_at)
    assert set(by_staff) == {"sta_ann", "sta_bob"}  # the massage room does not cut hair
    assert at(9) in by_staff["sta_bob"]
    assert at(9) not in by_staff["sta_ann"]  # Ann has Alice then
    assert at(9, 45) in by_staff["sta_ann"]
    assert min(by_staff["sta_bob"]) == at(8)  # opening time, 09:00 local


@pytest.mark.asyncio
async def test_availability_for_an_unknown_service_is_not_found() -> None:
    async with running_platform(build_store()) as platform:
        with pytest.raises(UpstreamRejected) as refused:
            await platform.connector.availability("svc_nope", at(8), at(11))
        assert refused.value.code is RejectionCode.NOT_FOUND


# -- writes ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_create_booking_is_applied_once_per_idempotency_key() -> None:
    store = build_store()
    async with running_platform(store) as platform:
        first = await platform.connector.create_booking(booking_request("key-1"))
        again = await platform.connector.create_booking(booking_request("key-1"))
        assert again == first
        assert store.write_count == 1
        stored = store.bookings[first.local_id]
        assert first.local_id.startswith("bksy_bk_")
        assert (stored.start_at, stored.local_resource_id, stored.price_minor) == (at(12), "sta_bob", 1999)
        assert (first.status, first.version, first.local_resource_id) == ("confirmed", 1, "sta_bob")
        customer = store.customers[first.local_customer_id]
        assert (customer.first_name, customer.phone, customer.global_id) == ("Cara", "+447700900009", "cus_global_9")
        listed = {b.local_id: b for b in await platform.connector.list_bookings(None)}
        assert listed[first.local_id].global_id == "bkg_from_gateway"


@pytest.mark.asyncio
async def test_booking_a_taken_slot_is_slot_unavailable() -> None:
    store = build_store()
    async with running_platform(store) as platform:
        with pytest.raises(UpstreamRejected) as refused:
            await platform.connector.create_booking(booking_request("key-2", resource="sta_ann", start=at(9, 15)))
        assert refused.value.code is RejectionCode.SLOT_UNAVAILABLE
        assert store.write_count == 0


@pytest.mark.asyncio
async def test_platform_picks_a_free_stylist_when_none_is_asked_for() -> None:
    async with running_platform(build_store()) as platform:
        ack = await platform.connector.create_booking(booking_request("key-3", resource=None, start=at(9)))
        assert ack.local_resource_id == "sta_bob"  # Ann is with Alice


@pytest.mark.asyncio
async def test_reschedule_then_cancel_a_booking() -> None:
    store = build_store()
    async with running_platform(store) as platform:
        moved = await platform.connector.reschedule_booking("bk_1", at(13), at(13, 45), "sta_bob", "move-1")
        assert (moved.local_id, moved.local_resource_id, moved.version) == ("bk_1", "sta_bob", 2)
        assert (store.bookings["bk_1"].start_at, store.bookings["bk_1"].end_at) == (at(13), at(13, 45))
        cancelled = await platform.connector.cancel_booking("bk_1", "client ill", "cancel-1")
        assert (cancelled.status, cancelled.version) == ("cancelled", 3)
        assert store.bookings["bk_1"].status == "cancelled"
        with pytest.raises(UpstreamRejected) as refused:
            await platform.connector.reschedule_booking("bk_1", at(14), at(14, 45), None, "move-2")
        assert refused.value.code is RejectionCode.CONFLICT


@pytest.mark.asyncio
async def test_rescheduling_onto_a_busy_stylist_is_slot_unavailable_and_unknown_booking_not_found() -> None:
    async with running_platform(build_store()) as platform:
        await platform.connector.create_booking(booking_request("key-4", resource="sta_bob", start=at(12)))
        with pytest.raises(UpstreamRejected) as busy:
            await platform.connector.reschedule_booking("bk_1", at(12, 30), at(13, 15), "sta_bob", "move-3")
        assert busy.value.code is RejectionCode.SLOT_UNAVAILABLE
        with pytest.raises(UpstreamRejected) as missing:
            await platform.connector.cancel_booking("bk_nope", "", "cancel-2")
        assert missing.value.code is RejectionCode.NOT_FOUND


@pytest.mark.asyncio
async def test_customers_are_created_updated_and_merged() -> None:
    store = build_store()
    async with running_platform(store) as platform:
        connector = platform.connector
        details = CustomerDetails("cus_global_7", "Dee", "Dale", "dee@example.com", None, {"tea": "green"})
        ack = await connector.upsert_customer(None, details, "cust-1")
        created = ack.local_id
        assert created.startswith("bksy_")
        assert await connector.upsert_customer(None, details, "cust-1") == ack
        assert store.write_count == 1
        assert (store.customers[created].global_id, store.customers[created].preferences) == (
            "cus_global_7", {"tea": "green"}
        )  # fmt: skip
        renamed = CustomerDetails("cus_global_1", "Alice", "Able-Baker", "alice@new.example", "+447700900002")
        assert await connector.upsert_customer("cl_alice", renamed, "cust-2") == CustomerAck("cl_alice", 2)
        assert (store.customers["cl_alice"].last_name, store.customers["cl_alice"].email) == (
            "Able-Baker", "alice@new.example"
        )  # fmt: skip
        await connector.merge_customers("cl_alice", "cl_bea", "merge-1")
        assert "cl_bea" not in store.customers
        assert store.customers["cl_alice"].loyalty_points == 45
        assert store.bookings["bk_2"].local_customer_id == "cl_alice"
        with pytest.raises(UpstreamRejected) as missing:
            await connector.upsert_customer("cl_nope", renamed, "cust-3")
        assert missing.value.code is RejectionCode.NOT_FOUND


# -- limits and outages ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_rate_limited_platform_still_answers_sequential_reads() -> None:
    # A token every 0.2 s: more than the http client's own backoff would wait over its three
    # attempts (at most 0.05 + 0.1 s), so only honouring Retry-After gets all ten through.
    async with running_platform(build_store(), rate_limit_per_second=5.0, burst=2) as platform:
        for _ in range(10):
            services = await platform.connector.list_services()
            assert {s.local_id for s in services} == {"svc_cut", "svc_massage"}
        assert platform.auth.rate_limited > 0  # the limit was really hit, and waited out


@pytest.mark.asyncio
async def test_rate_limited_answer_says_when_to_come_back() -> None:
    store = build_store()
    async with (
        running_platform(store, rate_limit_per_second=4.0, burst=1) as platform,
        httpx.AsyncClient(base_url=platform.location.url) as http,
    ):
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        headers = {"Authorization": f"Bearer {(await http.post('/oauth/token', data=form)).json()['access_token']}"}
        assert (await http.get("/v1/services", headers=headers)).status_code == 200
        limited = await http.get("/v1/services", headers=headers)
    assert (limited.status_code, limited.json()["error"]) == (429, "rate_limited")
    assert 0 < float(limited.headers["Retry-After"]) <= 0.3


@pytest.mark.asyncio
async def test_platform_has_no_stock_and_shares_no_staff() -> None:
    async with running_platform(build_store()) as platform:
        connector = platform.connector
        assert {Capability.READ_STOCK, Capability.WRITE_STOCK, Capability.SHARE_RESOURCES}.isdisjoint(
            connector.capabilities
        )
        assert Capability.CREATE_BOOKING in connector.capabilities
        with pytest.raises(OperationNotSupported):
            await connector.list_stock()
        with pytest.raises(OperationNotSupported):
            await connector.change_stock("SKU-1", 1, "delivery", "ref", "stock-1")
        with pytest.raises(OperationNotSupported):
            await connector.reserve_stock("SKU-1", 1, "ref", "stock-2")
        with pytest.raises(OperationNotSupported):
            await connector.release_stock("SKU-1", 1, "ref", "stock-3")
        with pytest.raises(OperationNotSupported):
            await connector.share_resource("sta_ann", "salon-kings-cross", {}, "share-1")
        with pytest.raises(OperationNotSupported):
            await connector.unshare_resource("sta_ann", "salon-kings-cross", "share-2")
        assert platform.location.controls.requests_seen == 0


@pytest.mark.asyncio
async def test_stopped_platform_is_location_unavailable() -> None:
    async with running_platform(build_store()) as platform:
        await platform.connector.list_services()
        await platform.location.stop()
        with pytest.raises(LocationUnavailable):
            await platform.connector.list_services()


def test_platform_ids_are_opaque_repeatable_and_never_reused() -> None:
    first, second = platform_local_ids(11), platform_local_ids(11)
    bookings = [first("booking") for _ in range(200)]
    assert bookings == [second("booking") for _ in range(200)]
    assert len(set(bookings)) == 200
    assert all(re.fullmatch(r"bksy_bk_[0-9a-f]{10}", b) for b in bookings)
    assert re.fullmatch(r"bksy_[0-9a-f]{10}", first("customer"))
    assert platform_local_ids(12)("booking") not in bookings


# -- malformed answers (fast edge cases on a mock transport) --------------------------------


def mock_connector(answer: Callable[[httpx.Request], httpx.Response]) -> PlatformConnector:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 600})
        return answer(request)

    config = ConnectorConfig(
        location_id=LOCATION,
        kind="platform",
        base_url="http://platform.invalid",
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        max_attempts=1,
    )
    return PlatformConnector(config, transport=httpx.MockTransport(handler))


def appointment(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": "bk_1", "client_id": "cl_1", "service_id": "svc_1", "staff_id": "sta_1",
        "starts_at": "2031-07-08T10:00:00+01:00", "ends_at": "2031-07-08T10:45:00+01:00", "status": "booked",
        "price": {"amount": "19.99", "currency": "GBP"}, "note": "", "revision": 1, "external_reference": None,
        "updated_at": "2031-07-01T08:00:00Z",
    }  # fmt: skip
    row.update(changes)
    return row


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "change",
    [
        {"price": {"amount": "19.995", "currency": "GBP"}},  # finer than a penny
        {"price": {"amount": 19.99, "currency": "GBP"}},  # a float, not a decimal string
        {"starts_at": "2031-07-08T10:00:00"},  # no offset
        {"status": "rescheduled"},
        {"revision": None},
    ],
)
async def test_unreadable_appointment_is_location_unavailable(change: dict[str, Any]) -> None:
    connector = mock_connector(
        lambda request: httpx.Response(200, json={"appointments": [appointment(**change)], "next_page": None})
    )
    with pytest.raises(LocationUnavailable):
        await connector.list_bookings(None)
    await connector.aclose()


@pytest.mark.asyncio
async def test_non_json_answer_and_stuck_pagination_are_location_unavailable() -> None:
    html = mock_connector(lambda request: httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(LocationUnavailable, match="not JSON"):
        await html.list_services()
    await html.aclose()
    stuck = mock_connector(lambda request: httpx.Response(200, json={"appointments": [appointment()], "next_page": 1}))
    with pytest.raises(LocationUnavailable, match="next_page"):
        await stuck.list_bookings(None)
    await stuck.aclose()


@pytest.mark.asyncio
async def test_a_well_formed_mock_appointment_reads_exactly() -> None:
    connector = mock_connector(
        lambda request: httpx.Response(200, json={"appointments": [appointment()], "next_page": None})
    )
    [booking] = await connector.list_bookings(None)
    await connector.aclose()
    assert (booking.price_minor, booking.start_at, booking.status) == (1999, at(9), "pending")


@pytest.mark.asyncio
async def test_if_match_names_the_revision_and_a_moved_row_answers_412() -> None:
    store = build_store()
    async with running_platform(store) as platform, httpx.AsyncClient(base_url=platform.location.url) as http:
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        token = (await http.post("/oauth/token", data=form)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        feed = (await http.get("/v1/changes/customers", params={"limit": 1}, headers=auth)).json()
        store.edit_customer("cl_alice", phone="+447700900009")  # revision 2, at the salon's desk
        stale = await http.patch("/v1/customers/cl_alice", json={"last_name": "X"}, headers=auth | {"If-Match": '"1"'})
        fresh = await http.patch(
            "/v1/customers/cl_alice", json={"last_name": "Y"}, headers=auth | {"If-Match": 'W/"2"'}
        )
    assert (stale.status_code, stale.json()["error"]) == (412, "precondition_failed")
    assert (fresh.status_code, fresh.json()["revision"], fresh.json()["last_name"]) == (200, 3, "Y")
    assert [row["id"] for row in feed["customers"]] == ["cl_alice"] and feed["has_more"] is True
    assert feed["next"] == {"updated_after": "2030-01-01T00:00:00Z", "after_id": "cl_alice"}
