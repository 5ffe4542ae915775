"""POST /api/bookings/sync's rules (specs/onebooking-central.md): each event applied once however many copies
arrive, no older event over newer data, a customer the website already knows is that customer, the source's
details kept and read back, refusals leaving only an audit entry; and website registration and the test
webhook."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cache_helpers import count, rows
from live_helpers import wait_for
from onebooking_helpers import (
    BOOKINGS,
    SALFORD,
    bearer,
    credential,
    inbox,
    new_bookings,
    pusher,
    refusals,
    running_central,
    token,
    website_store,
)
from sqlalchemy import select, update
from ws_helpers import GraphQLSocket

from conftest import RunningGateway
from devnet.simulators.store import LocationStore
from identity.principal import Role
from resolvers.ids import to_global_id
from shims.onebooking.push import SYNC_PATH
from sources.cache.models import Booking, ChangeLogEntry, Customer, CustomerMapping, Location


@pytest.fixture(scope="module")
def central(own_database_url: str) -> Iterator[RunningGateway]:
    yield from running_central(own_database_url)


async def _post(central: RunningGateway, body: Any, key: str | None = None, **kwargs: Any) -> httpx.Response:
    headers = {"X-API-Key": credential(central, SALFORD, "inbound_api_key") if key is None else key}
    async with httpx.AsyncClient(base_url=central.url, timeout=30) as client:
        if isinstance(body, bytes):
            return await client.post(SYNC_PATH, content=body, headers=headers, **kwargs)
        return await client.post(SYNC_PATH, json=body, headers=headers, **kwargs)


def _booking(central: RunningGateway, booking_id: str) -> Any:
    [booking] = rows(central, select(Booking).where(Booking.id == booking_id))
    return booking


def _reachable_by_email(store: LocationStore, local_id: str) -> bool:
    booking = store.bookings.get(local_id)
    customer = None if booking is None else store.customers.get(booking.local_customer_id)
    return customer is not None and bool(customer.email)


def _changes(central: RunningGateway, booking_id: str) -> int:
    return count(central, ChangeLogEntry, ChangeLogEntry.entity_id == booking_id)


@pytest.mark.asyncio
async def test_twenty_concurrent_creates_of_one_booking_make_it_once(central: RunningGateway) -> None:
    store = website_store(central)
    [local_id] = new_bookings(store, 1, tag="Twenty", day_offset=60)
    body = pusher(central).payload(local_id, "booking.created")
    answers = await asyncio.gather(*(_post(central, body) for _ in range(20)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [409] * 19, [answer.text for answer in answers]
    assert {answer.json()["code"] for answer in answers if answer.status_code == 409} == {"DUPLICATE_BOOKING"}
    assert count(central, Booking, Booking.service_location_id == SALFORD, Booking.local_booking_id == local_id) == 1


@pytest.mark.asyncio
async def test_an_exact_replay_of_an_update_is_applied_once_and_audited(central: RunningGateway) -> None:
    store = website_store(central)
    [local_id] = new_bookings(store, 1, tag="Replay", day_offset=61)
    website = pusher(central)
    booking_id = (await website.push(local_id, "booking.created")).json()["booking_id"]
    update_body = {
        **website.payload(local_id, "booking.updated"),
        "total_amount": 99,
        "updated_at": "2031-01-01T10:00:00Z",
    }
    first = await _post(central, update_body)
    assert first.status_code == 200, first.text
    changes, audited = _changes(central, booking_id), refusals(central)

    again = await _post(central, update_body)
    assert again.status_code == 200, again.text
    assert again.json()["booking_id"] == booking_id
    assert _changes(central, booking_id) == changes
    assert refusals(central) == audited + 1
    assert _booking(central, booking_id).price_minor == 9900


@pytest.mark.asyncio
async def test_an_update_arriving_after_the_cancellation_does_not_bring_the_booking_back(
    central: RunningGateway,
) -> None:
    store = website_store(central)
    [local_id] = new_bookings(store, 1, tag="Late", day_offset=62)
    website = pusher(central)
    created = website.payload(local_id, "booking.created")
    booking_id = (await _post(central, created)).json()["booking_id"]
    late_update = {**website.payload(local_id, "booking.updated"), "guest_count": 3}
    store.cancel_booking(key=None, local_id=local_id)
    assert (await website.push(local_id, "booking.cancelled")).status_code == 200

    answer = await _post(central, late_update)
    assert answer.status_code == 200, answer.text
    assert answer.json()["booking_id"] == booking_id
    booking = _booking(central, booking_id)
    assert booking.status == "cancelled"
    assert booking.source_details["guest_count"] == 1
    # Kept for people to see, beside the booking's real changes.
    assert (
        count(central, ChangeLogEntry, ChangeLogEntry.entity_id == local_id, ChangeLogEntry.operation == "stale") == 1
    )


@pytest.mark.asyncio
async def test_an_older_update_never_overwrites_a_newer_one(central: RunningGateway) -> None:
    store = website_store(central)
    [local_id] = new_bookings(store, 1, tag="Older", day_offset=63)
    website = pusher(central)
    booking_id = (await website.push(local_id, "booking.created")).json()["booking_id"]
    newer = {**website.payload(local_id, "booking.updated"), "total_amount": 80, "updated_at": "2031-01-02T10:00:00Z"}
    older = {**website.payload(local_id, "booking.updated"), "total_amount": 0, "updated_at": "2031-01-01T10:00:00Z"}
    assert (await _post(central, newer)).status_code == 200
    stale = await _post(central, older)
    assert stale.status_code == 200, stale.text
    assert "newer event" in stale.json()["message"]
    assert _booking(central, booking_id).price_minor == 8000


def _subscribers(central: RunningGateway) -> int:
    async def counted() -> int:
        return int(central.app.state.services.bus.subscriber_count("booking.changed"))

    return central.run(counted())


@pytest.mark.asyncio
async def test_a_push_for_a_customer_the_website_already_knows_is_that_customer(central: RunningGateway) -> None:
    # The demo's website bookings were made before it pushed: their customers are mapped under the website's
    # own ids, while pushes name customers by email.
    store = website_store(central)
    never_pushed = select(Booking.id, Booking.local_booking_id).where(
        Booking.service_location_id == SALFORD,
        Booking.source_details.is_(None),
        Booking.status == "confirmed",
        Booking.resource_id.is_not(None),
    )
    booking_id, local_id = next(
        (booking_id, local_id)
        for booking_id, local_id in rows(central, never_pushed.order_by(Booking.local_booking_id))
        if _reachable_by_email(store, local_id)
    )
    known = store.bookings[local_id]
    customer_id, resource_id = _booking(central, booking_id).customer_id, _booking(central, booking_id).resource_id
    customers, mappings = count(central, Customer), count(central, CustomerMapping)

    watching = _subscribers(central)
    with GraphQLSocket(central.url, token=central.admin_token) as subscriber:
        operation = subscriber.subscribe(
            "subscription($l: ID) { bookingEvents(locationId: $l) { bookingId change } }", {"l": f"Location:{SALFORD}"}
        )
        wait_for(lambda: _subscribers(central) == watching + 1, 5, "the subscription")
        body = {**pusher(central).payload(known.local_id, "booking.updated"), "guest_count": 4}
        answer = await _post(central, body)
        assert answer.status_code == 200, answer.text
        event = subscriber.next(operation, seconds=5.0)["bookingEvents"]
    assert answer.json()["booking_id"] == booking_id
    assert event == {"bookingId": to_global_id("Booking", booking_id), "change": "SYNCED"}
    assert _booking(central, booking_id).customer_id == customer_id
    assert _booking(central, booking_id).resource_id == resource_id  # the website names none: it is kept
    assert (count(central, Customer), count(central, CustomerMapping)) == (customers, mappings)


@pytest.mark.asyncio
async def test_transport_addons_guests_ref_and_payment_are_kept_and_read_back(central: RunningGateway) -> None:
    store = website_store(central)
    [local_id] = new_bookings(store, 1, tag="Details", day_offset=64)
    body = {
        **pusher(central).payload(local_id, "booking.created"),
        "booking_ref": "SQ-DETAILS-1",
        "guest_count": 2,
        "discount_amount": 5,
        "transport": {"type": "hotel_pickup", "hotel_name": "Lowry Hotel", "room_number": "1205", "non_players": 1},
        "addons": [{"name": "Photo Package", "quantity": 1, "unit_price": 12.5}],
        "stripe_payment_intent_id": "pi_123",
        "customer": {"name": "Dee Tails", "email": "dee.tails@example.com", "country_code": "+44"},
    }
    assert (await _post(central, body)).status_code == 200
    async with httpx.AsyncClient(base_url=central.url, timeout=30) as client:
        listed = (await client.get(BOOKINGS, params={"search": "sq-details"}, headers=central.headers)).json()
    [booking] = listed["bookings"]
    assert booking["booking_ref"] == "SQ-DETAILS-1"
    assert (booking["guest_count"], booking["discount_amount"]) == (2, 5)
    assert (booking["transport_type"], booking["hotel_name"], booking["room_number"]) == (
        "hotel_pickup",
        "Lowry Hotel",
        "1205",
    )
    assert (booking["non_players"], booking["private_passengers"], booking["transport_cost"]) == (1, 0, 0)
    assert booking["addons"] == [{"name": "Photo Package", "quantity": 1, "unit_price": 12.5}]
    assert booking["stripe_payment_intent_id"] == "pi_123"
    assert (booking["customer_name"], booking["customer_email"]) == ("Dee Tails", "dee.tails@example.com")
    assert booking["customer_country_code"] == "+44"
    assert booking["total_amount"] == body["total_amount"]


REFUSED: dict[str, tuple[Any, str | None, int, str]] = {
    "not-json": (b"{not json", None, 400, "INVALID_PAYLOAD"),
    "no-customer": ({"event": "booking.created", "source_booking_id": "x"}, None, 400, "INVALID_PAYLOAD"),
    "tampered-key": (None, "gwk_tampered", 401, "AUTH_FAILED"),
    "replayed-create": (None, None, 409, "DUPLICATE_BOOKING"),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
async def test_a_refused_push_leaves_nothing_but_an_audit_entry(
    central: RunningGateway, case: tuple[Any, str | None, int, str]
) -> None:
    body, key, status, code = case
    store = website_store(central)
    [local_id] = new_bookings(store, 1, tag=f"Refused {code}", day_offset=65)
    website = pusher(central)
    if code == "DUPLICATE_BOOKING":
        assert (await website.push(local_id, "booking.created")).status_code == 200
    bookings, changes, customers, audited = (
        count(central, Booking),
        count(central, ChangeLogEntry),
        count(central, Customer),
        refusals(central),
    )

    answer = await _post(central, website.payload(local_id, "booking.created") if body is None else body, key)
    assert (answer.status_code, answer.json()["code"], answer.json()["success"]) == (status, code, False)
    assert (count(central, Booking), count(central, ChangeLogEntry), count(central, Customer)) == (
        bookings,
        changes,
        customers,
    )
    assert refusals(central) == audited + 1


@pytest.mark.asyncio
async def test_a_registered_website_gets_its_key_once_and_a_retired_one_is_not_found(central: RunningGateway) -> None:
    spec = {
        "id": "hanuman-world",
        "name": "Hanuman World Phuket",
        "domain": "hanumanworld.com",
        "webhook_url": "https://hanumanworld.example/api/webhooks/onebooking",
        "timezone": "Asia/Bangkok",
        "currency": "THB",
        "latitude": 7.9,
        "longitude": 98.3,
        "packages": [{"name": "World A+", "duration_minutes": 180, "price": 3490}],
    }
    async with httpx.AsyncClient(base_url=central.url, timeout=30) as client:
        manager = bearer(token(central, Role.HUB_ADMINISTRATOR))
        refused = await client.post("/api/websites", json=spec, headers=manager)
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
        made = await client.post("/api/websites", json=spec, headers=central.headers)
        assert made.status_code == 201, made.text
        again = await client.post("/api/websites", json=spec, headers=central.headers)
        assert (again.status_code, again.json()["code"]) == (409, "CONFLICT")
    registered = made.json()
    assert registered["website_id"] == "hanuman-world" and registered["webhook_secret"].startswith("whsec_")
    assert count(central, Location, Location.id == "hanuman-world", Location.kind == "onebooking") == 1

    body = {
        "event": "booking.created",
        "source_booking_id": "0b8f7c3e-hw-000023",
        "booking_ref": "HW-000023",
        "package_name": "World A+",
        "package_price": 3490,
        "activity_date": "2031-03-01",
        "time_slot": "10:00",
        "guest_count": 2,
        "total_amount": 6980,
        "currency": "THB",
        "customer": {"name": "John Doe", "email": "john.hw@example.com"},
    }
    pushed = await _post(central, body, registered["api_key"])
    assert pushed.status_code == 200, pushed.text
    booking = _booking(central, pushed.json()["booking_id"])
    assert (booking.service_location_id, booking.price_minor, booking.currency) == ("hanuman-world", 698_000, "THB")
    assert booking.start_at == datetime(2031, 3, 1, 3, 0, tzinfo=UTC)  # 10:00 in Bangkok
    assert booking.end_at - booking.start_at == timedelta(hours=3)

    async def retire() -> None:
        async with central.engine.begin() as connection:
            await connection.execute(
                update(Location).where(Location.id == "hanuman-world").values(retired_at=datetime.now(UTC))
            )

    central.run(retire())
    gone = await _post(central, {**body, "event": "booking.updated"}, registered["api_key"])
    assert (gone.status_code, gone.json()["code"]) == (404, "WEBSITE_NOT_FOUND")


@pytest.mark.asyncio
async def test_a_test_webhook_reaches_the_website_signed_and_says_so(central: RunningGateway) -> None:
    store = website_store(central)
    [local_id] = new_bookings(store, 1, tag="Test hook", day_offset=67)
    booking_id = (await pusher(central).push(local_id, "booking.created")).json()["booking_id"]
    received = inbox(central)
    already = len(received.deliveries)
    asked = {"website_id": SALFORD, "booking_id": booking_id, "event": "booking.updated"}
    async with httpx.AsyncClient(base_url=central.url, timeout=30) as client:
        answer = await client.post("/api/admin/test-webhook", json=asked, headers=central.headers)
        unknown = await client.post(
            "/api/admin/test-webhook", json={**asked, "website_id": "nowhere"}, headers=central.headers
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"success": True, "delivered": True, "status": "delivered", "code": None, "reason": None}
    wait_for(lambda: len(received.deliveries) > already, 5, "the test event")
    [delivery] = received.deliveries[already:]
    assert delivery.verified and delivery.applied
    assert (delivery.payload["event"], delivery.payload["source_booking_id"]) == ("booking.updated", local_id)
    assert store.bookings[local_id].status == "confirmed"
    assert (unknown.status_code, unknown.json()["code"]) == (404, "WEBSITE_NOT_FOUND")


@pytest.mark.asyncio
async def test_a_nul_character_in_a_shim_body_is_invalid_payload_and_sends_nothing(central: RunningGateway) -> None:
    """PostgreSQL stores no NUL: found by the API fuzzer as a 500 on this endpoint, now refused for every body."""
    received = inbox(central)
    already = len(received.deliveries)
    async with httpx.AsyncClient(base_url=central.url, timeout=30) as client:
        answers = [
            await client.post("/api/admin/test-webhook", json=asked, headers=central.headers)
            for asked in (
                {"website_id": "\x00salford", "booking_id": "b-1"},
                {"website_id": SALFORD, "booking_id": "b\x00"},
            )
        ]
    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [(400, "INVALID_PAYLOAD")] * 2
    assert "website_id" in answers[0].text and "booking_id" in answers[1].text
    assert len(received.deliveries) == already
